// Loads what the mask inspector and the weight heatmap show (one layer of one run at one step) on
// the Studio's StoreReader thread and hands it to the UI thread ready to draw: the MaskInspection
// and its RGBA picture. Requests that arrive while a load of the same run runs are coalesced: only
// the latest one is loaded next, so scrubbing through a live run's steps never queues up work or
// blocks the UI.
#pragma once

#include "widgets/inspector/mask_inspection.hpp"
#include "widgets/inspector/snapshot_reads.hpp"

#include <QMetaType>
#include <QObject>
#include <QString>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace srigl::studio {

class StoreReader;

struct InspectorFrame {
    int64_t runId = 0;
    int64_t step = 0;     // the step asked for
    int64_t maskStep = 0; // the snapshot shown: the latest at or before `step`
    std::string layer;
    std::vector<std::string> layers;
    LayerUpdateStats stats; // as recorded with the snapshot (k, pruned and regrown counts, ...)
    std::shared_ptr<const MaskInspection> inspection; // with maskStep's gradients, when recorded
    std::vector<uint8_t> rgba; // inspection->rgba(), built off the UI thread
    std::optional<std::vector<float>> weights; // active weights of maskStep, when recorded
    // When the trainer published it (frames of the live run): what the inspector's latency is
    // measured from. Unset for frames read from the store.
    std::chrono::steady_clock::time_point publishedAt{};
};

// The whole load: layer list, the layer at the step, its inspection and picture. Throws
// StoreError (store) or std::invalid_argument (inconsistent snapshot). An empty or unknown layer
// name picks the run's first layer.
InspectorFrame loadInspectorFrame(sessions::RunStore& store, int64_t runId, int64_t step, const std::string& layer);
// The same through a read-only connection of its own (tools and tests).
InspectorFrame loadInspectorFrame(const std::string& dbPath, int64_t runId, int64_t step, const std::string& layer);

class SnapshotSource : public QObject {
    Q_OBJECT
public:
    explicit SnapshotSource(StoreReader& store, QObject* parent = nullptr);

    // Another database clears the source; it becomes the reader's.
    void setDatabase(const QString& path);
    QString database() const { return dbPath_; }
    int64_t runId() const { return runId_; }
    int64_t step() const { return step_; }
    QString layer() const { return layer_; }
    bool loading() const;

public Q_SLOTS:
    void showRunStep(qint64 runId, qint64 step);
    void setLayer(const QString& layer);
    void clear();

Q_SIGNALS:
    void frameReady(std::shared_ptr<const srigl::studio::InspectorFrame> frame);
    void failed(const QString& message);
    void cleared();

private:
    void request();
    void startLoad();
    // A load came back: shown when it is of the run still shown, and the latest request follows.
    void loaded(int64_t runId, std::shared_ptr<const InspectorFrame> frame, const QString& error);

    StoreReader& store_;
    QString dbPath_;
    int64_t runId_ = 0;
    int64_t step_ = 0;
    QString layer_;
    quint64 load_ = 0;
    int64_t loadRunId_ = 0; // the run load_ reads
    bool pending_ = false;  // a request came while load_ ran
};

} // namespace srigl::studio

Q_DECLARE_METATYPE(std::shared_ptr<const srigl::studio::InspectorFrame>)
