#include "engine/training/atomic_archive.hpp"

#include "engine/errors.hpp"

#include <c10/util/Exception.h>

#include <cstdio>

namespace srigl {

void saveArchiveAtomically(torch::serialize::OutputArchive& archive, const std::string& path) {
    const std::string tmp = path + ".tmp";
    try {
        archive.save_to(tmp);
    } catch (const c10::Error& e) {
        std::remove(tmp.c_str());
        throw CheckpointError("cannot write checkpoint '" + path + "': " + e.what_without_backtrace());
    } catch (const std::exception& e) {
        std::remove(tmp.c_str());
        throw CheckpointError("cannot write checkpoint '" + path + "': " + e.what());
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw CheckpointError("cannot move checkpoint into place at '" + path + "'");
    }
}

} // namespace srigl
