// The session store: every run with its config, metrics, mask snapshots and checkpoints in one
// SQLite file (WAL, foreign keys, versioned schema). Several readers may use it while one process
// writes. No Qt, no Torch: the Studio and the CLI both read it.
#pragma once

#include "engine/config/run_config.hpp" // plain header (no Torch); code that stores runs handles configs
#include "engine/training/training_observer.hpp"
#include "sessions/store/sqlite_db.hpp"

#include <memory>
#include <optional>
#include <limits>
#include <string>
#include <vector>

namespace srigl::sessions {

// Imported: made from checkpoints trained elsewhere (srigl import), never trained here.
enum class RunStatus { Running, Finished, Failed, Interrupted, Stopped, Imported };
std::string toString(RunStatus status);
RunStatus parseRunStatus(const std::string& text);

struct RunInfo {
    int64_t id = 0;
    std::string name;
    int64_t createdAt = 0;  // unix milliseconds
    int64_t finishedAt = 0; // 0 while running
    RunStatus status = RunStatus::Running;
    std::vector<std::string> tags;
    std::string notes;
    std::string config; // the full RunConfig as JSON
    std::string engineVersion, host, device, blas;
    int64_t threads = 0;
    std::string method, model, dataset;
    double sparsity = 0.0;
    int64_t steps = 0;
    double testAccuracy = -1.0; // -1: not known yet
    int64_t pid = 0;            // the writing process while running
    std::string uuid;           // random identity, carried by the run's checkpoints
    std::string error;          // why a failed run failed, or what its record misses ("" otherwise)
    int64_t heardAt = 0;        // unix ms of its writer's last write (0: never stamped, schema < 10)
    std::string origin;         // a run merged from another database (srigl runs merge): its path, else ""
    int64_t originId = 0;       // and the run's id there
};

// The config a resumed run had before `--set` overrides changed it at `step`.
struct ConfigChange {
    int64_t step = 0;
    std::string config; // the config before the change
    int64_t createdAt = 0;
};

struct NewRun {
    std::string name, config, engineVersion, host, device, blas, method, model, dataset;
    int64_t threads = 0;
    double sparsity = 0.0;
};

struct Metric {
    int64_t step = 0;
    std::string key;
    double value = 0.0;
};

struct MaskRecord {
    int64_t step = 0;
    LayerMaskSnapshot mask;
    LayerUpdateStats stats;
};

// A snapshot's statistics without its mask (RunStore::maskStats): what tables and charts of the
// updates need, without reading and decompressing every mask of a run.
struct MaskStatsRecord {
    int64_t step = 0;
    LayerUpdateStats stats; // with the layer's name, outFeatures and fanIn
    bool hasMask = true;    // false: statistics only, the layer was too large to snapshot
    int64_t rowStride = 1;  // > 1: the mask holds every rowStride-th neuron (LayerMaskSnapshot)
};

// Statistics of a layer's active weights at one step.
struct WeightStatsRecord {
    int64_t step = 0;
    LayerWeightStats stats; // count is the histogram's total when read back
};

// A layer's active weights at one step, in the order of the set bits of its mask at that step (the
// latest mask snapshot at or before it). Stored as float16: about 3 significant digits.
struct WeightValuesRecord {
    int64_t step = 0;
    std::string layer;
    std::vector<float> values;
};

// The dense gradient a mask update grew by (RigL, SRigL: summed over the accumulation window),
// row-major [out, fan_in] like LayerWeightSnapshot, for every entry (growth looks at the inactive
// ones). Stored as float16 relative to the layer's largest |gradient|, so tiny gradients keep
// about 3 significant digits of that scale instead of underflowing.
struct GradientRecord {
    int64_t step = 0;
    std::string layer;
    int64_t outFeatures = 0, fanIn = 0;
    std::vector<float> values;
};

// One benchmark measurement of a layer: medians in microseconds of each variant of the same
// function (NaN: that variant did not run). runId 0: a standalone `srigl bench`, not tied to a run.
struct TimingRecord {
    int64_t runId = 0;
    int64_t createdAt = 0; // unix milliseconds; 0 on insert means now
    std::string device;    // "cpu" or "cuda"
    std::string layer;     // the run's layer name, or e.g. "linear 3072x768"
    int64_t inFeatures = 0, outFeatures = 0, batch = 0;
    double sparsity = 0.0;
    double denseUs = 0.0, csrUs = 0.0, structuredUs = 0.0, condensedUs = 0.0;
    int64_t threads = 0;
    std::string blas, cpu, kernel;
    // "inference" (a forward pass), "train_step" (one SGD step of a layer or model) or "train_update"
    // (a model's step with a mask update); training rows time dense, masked-dense and condensed.
    std::string kind = "inference";
    double maskedUs = std::numeric_limits<double>::quiet_NaN();
};

struct RunFilter {
    std::string status; // exact status name, or empty
    std::string method;
    std::string tag;
    std::string text; // substring of name, notes or config
    int64_t sweep = 0; // runs of this sweep only; 0: any
};

class RunStore {
public:
    static constexpr int kSchemaVersion = 11;
    // PRAGMA application_id of our databases ("SRGL"): another application's SQLite file is known
    // before anything in it is touched.
    static constexpr int32_t kApplicationId = 0x5352474C;
    // ReadWrite creates the file when it does not exist; ReadWriteExisting never creates one (a
    // resume at a mistyped path); ReadOnly never writes, not even the WAL switch or a migration.
    enum class Mode { ReadWrite, ReadOnly, ReadWriteExisting };

    // An existing file must be a SRigL Studio database (by application_id, or by its tables for
    // files of schema 1-5) of this or an older schema (migrated), never something else: that is
    // refused and left untouched. Throws StoreError.
    explicit RunStore(const std::string& path, Mode mode = Mode::ReadWrite);

    int schemaVersion();
    const std::string& path() const { return db_->path(); }

    // A new id every time, never one of a deleted run (an old writer of that run must not write
    // into a new one), and a random uuid. StoreError for text that is not UTF-8.
    int64_t createRun(const NewRun& run);
    // The id for a new run (createRun, a merged run), in the caller's transaction: above every id
    // ever handed out, and recorded as handed out.
    int64_t reserveRunId();
    // `error` says why a failed run failed, or for a run that trained, what of its history the
    // recorder could not store (shown by runs show and the Studio).
    void finishRun(int64_t id, RunStatus status, int64_t steps, double testAccuracy, const std::string& error = "");
    // A run continued from its checkpoint at `fromStep` (srigl train --resume ID), taken by this
    // process exclusively: StoreError when another live process is training it. What was recorded
    // after that step is dropped, as it will be recorded again (fromStep -1: everything, for a run
    // trained again from step 0). A non-empty `config` that differs
    // from the stored one (resume with --set overrides) replaces it; the old one is kept in
    // configHistory. A run merged from another database is refused: it continues there.
    void reopenRun(int64_t id, int64_t fromStep, const std::string& config = "");
    // RunTakenOver unless this process (host and pid) is the run's writer: another process claimed
    // it since (a release, then a resume). The recorder checks it in every batch's transaction.
    void requireClaim(int64_t id);
    // requireClaim, then stamps the run heard from now (writer_stamp.hpp), in the caller's
    // transaction if there is one. The recorder calls it with every batch and as its heartbeat.
    void heartbeat(int64_t id);
    // Marks a running run of another machine interrupted: its writer cannot be checked from here
    // (a killed job, a failed node), so a user says it is gone. Then a resume or a delete may claim
    // it; were its writer alive after all, it stops recording at its next batch (requireClaim).
    // StoreError for a run this machine trains (a live process: stop it instead), one that is not
    // running, and, unless `force`, one heard from in the last kQuietBeforeReleaseMs (its process is
    // most likely alive). Returns the run as it was.
    RunInfo releaseRun(int64_t id, bool force = false);
    std::vector<ConfigChange> configHistory(int64_t id);
    // The run's config as training uses it (e.g. with the checkpoint file chosen after createRun).
    void setConfig(int64_t id, const std::string& config);
    void addMetrics(int64_t id, const std::vector<Metric>& metrics);
    // Steps done so far, so a list of live (or killed) runs shows how far they got.
    void updateProgress(int64_t id, int64_t steps);
    // The sparsity the run is listed at (a method that learns its own sets what it reached).
    void setSparsity(int64_t id, double sparsity);
    // A record whose mask has no bits (a layer too large to snapshot, see Recorder) stores only its
    // statistics: maskStats lists it, the snapshot reads below do not. A sampled mask
    // (LayerMaskSnapshot::rowStride > 1) is stored with the layer's own out_features and its stride,
    // and read back as it was written.
    void addMasks(int64_t id, const std::vector<MaskRecord>& masks);
    void addCheckpoint(int64_t id, int64_t step, const std::string& path);
    void addWeightStats(int64_t id, const std::vector<WeightStatsRecord>& rows);
    void addWeightValues(int64_t id, const std::vector<WeightValuesRecord>& rows);
    // StoreError when a record's values do not fill its shape.
    void addGradients(int64_t id, const std::vector<GradientRecord>& rows);

    std::vector<RunInfo> listRuns(const RunFilter& filter = {});
    RunInfo run(int64_t id); // StoreError when there is no such run
    std::vector<Metric> metrics(int64_t id);
    std::vector<MaskRecord> masks(int64_t id, const std::string& layer = "");
    // The statistics of every record of the run (every layer, also those stored without a mask), in
    // step and record order, without reading a mask blob.
    std::vector<MaskStatsRecord> maskStats(int64_t id);
    // Small indexed reads for viewers of a live run: the newest `count` snapshots of one layer at
    // or before `step` (newest first), every step with a snapshot, and the layers in record order.
    std::vector<MaskRecord> masksAtOrBefore(int64_t id, const std::string& layer, int64_t step, int count);
    std::vector<int64_t> maskSteps(int64_t id);
    std::vector<std::string> maskLayers(int64_t id);
    std::optional<std::pair<int64_t, std::string>> lastCheckpoint(int64_t id);
    std::vector<WeightStatsRecord> weightStats(int64_t id, const std::string& layer = "");
    // step < 0: every step.
    std::vector<WeightValuesRecord> weightValues(int64_t id, const std::string& layer = "", int64_t step = -1);
    // The same for gradients; empty where none were recorded (methods without one, the first
    // snapshot, runs recorded before schema 5).
    std::vector<GradientRecord> gradientValues(int64_t id, const std::string& layer = "", int64_t step = -1);
    void addTimings(const std::vector<TimingRecord>& rows);
    std::vector<TimingRecord> timings(int64_t runId = 0); // 0: every row

    void addTag(int64_t id, const std::string& tag);
    // Replaces the run's tags with exactly these, in one transaction (a failure keeps the old ones).
    void setTags(int64_t id, const std::vector<std::string>& tags);
    void setNotes(int64_t id, const std::string& notes);
    // Deletes the run and its records, and the checkpoint files recorded for it that no other run
    // shares and that still hold this run's checkpoint (returned; a file since taken by another
    // run, of any database, is kept; a merged copy's files are its origin's, all kept). StoreError
    // for a run that a live process is still training.
    std::vector<std::string> deleteRun(int64_t id);
    // Runs still marked running whose writing process (same host) is gone become interrupted.
    // Readers need not call it: run() and listRuns() report such runs as interrupted without writing.
    int markInterrupted();
    // True when a process (this host's, still alive) is training run `info`.
    static bool isLive(const RunInfo& info);
    bool integrityOk();
    // The connection, for companions that keep their own tables in this file (SweepStore).
    SqliteDb& database() { return *db_; }

private:
    // WAL on a local disk, a rollback journal on a network file system (journal_mode.hpp).
    void setJournal(const std::string& path);
    void createSchema();
    void requireRun(int64_t id);
    RunInfo readRun(Statement& st);

    std::unique_ptr<SqliteDb> db_;
};

// The SQL that takes a database from schema version-1 to `version` (1 creates the tables); what
// the store runs when it opens an older file. Tests build old databases with it. nullptr when
// there is no such version.
const char* migrationSql(int version);

// Where a recorded run's checkpoint goes when its config names none:
// <db dir>/checkpoints/run-ID-<uuid>.ckpt (the folder is created): two databases in one folder
// never share a file. Recorded runs are checkpointed so that a killed one can be resumed.
std::string defaultCheckpointPath(const std::string& dbPath, int64_t runId, const std::string& runUuid);

// A checkpoint path as stored with a run of the database at dbPath. Runs recorded before paths were
// stored absolutely hold them relative to the directory they were trained in; read from another
// one, such a file is found where its default lives (the database's checkpoints folder), or the
// path is returned as stored.
std::string locateCheckpoint(const std::string& dbPath, const std::string& stored);
constexpr int64_t kDefaultCheckpointEvery = 500;

// $SRIGL_DB, else $XDG_DATA_HOME/srigl-studio/runs.db, else ~/.local/share/srigl-studio/runs.db.
std::string defaultDatabasePath();

} // namespace srigl::sessions
