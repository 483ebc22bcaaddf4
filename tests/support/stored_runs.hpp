// Test helpers for suites that read a RunStore: runs written through a connection that is closed
// again (so the code under test reads them as another process would), and the StoreError a call
// throws.
#pragma once

#include "sessions/store/run_store.hpp"

#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <vector>

// A run with a name and an empty config, all the panels and jobs need of one.
inline srigl::sessions::NewRun minimalRun(const std::string& name = "") {
    srigl::sessions::NewRun run;
    run.name = name;
    run.config = "{}";
    return run;
}

// Creates `run` with its metrics and mask snapshots in the database at `path` (created when
// missing); returns the run's id.
inline int64_t storeRun(const std::string& path, const srigl::sessions::NewRun& run,
                        const std::vector<srigl::sessions::Metric>& metrics = {},
                        const std::vector<srigl::sessions::MaskRecord>& masks = {}) {
    srigl::sessions::RunStore store(path);
    const int64_t id = store.createRun(run);
    store.addMetrics(id, metrics);
    store.addMasks(id, masks);
    return id;
}

// The StoreError message `f` throws; nullopt when it does not throw; "<other exception: ...>" for any
// other exception type.
inline std::optional<std::string> storeErrorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const srigl::sessions::StoreError& e) {
        return std::string(e.what());
    } catch (const std::exception& e) {
        return std::string("<other exception: ") + e.what() + ">";
    }
    return std::nullopt;
}

inline bool isStoreError(const std::optional<std::string>& e) { return e && e->rfind("<other exception", 0) != 0; }
