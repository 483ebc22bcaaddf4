// Runs of another database brought into this one (srigl runs merge, the Studio's File → Merge runs
// from a database): a cluster's jobs often each record into their own database (a node's local
// disk, or to keep one file per job), and the researcher wants them side by side in one. Each run
// is copied whole (every metric, mask, weight, gradient, timing, tag and note) under a new id, in
// one transaction of its own, and remembers where it came from (RunInfo::origin): its checkpoint
// files stay the origin's, so it is never resumed here and deleting it here removes none of them.
// The source is only read.
#pragma once

#include "sessions/store/run_store.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace srigl::sessions {

struct MergedRun {
    int64_t sourceId = 0, id = 0; // its id in the source, and here
    std::string name;
};

struct SkippedRun {
    int64_t sourceId = 0;
    std::string reason; // "already here as run 7", "still running (process 12 on node07) ..."
};

struct MergeResult {
    std::vector<MergedRun> merged;
    std::vector<SkippedRun> skipped;
    bool stopped = false; // the progress callback asked to stop before every run was looked at
};

// Called after each run of the source with how many are done of how many; returning false stops
// the merge there (the runs merged so far stay, each whole; MergeResult::stopped says so).
using MergeProgress = std::function<bool(int64_t done, int64_t total)>;

// Copies the runs `ids` of the SRigL Studio database at `source` (none given: all of them) into
// `target`. Skipped, with the reason: a run that is still running, and one already here (the same
// uuid: a merge done twice copies nothing twice). StoreError, before anything is copied, for a
// source that is not ours, of another schema, the target itself, or an id it does not have; a
// failure while copying (a full disk) keeps the runs merged before it and rolls back the one it
// was copying, and the error names them (a second merge skips those).
MergeResult mergeRuns(RunStore& target, const std::string& source, const std::vector<int64_t>& ids = {},
                      const MergeProgress& progress = {});

} // namespace srigl::sessions
