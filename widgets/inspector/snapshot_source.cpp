// Loads through the Studio's StoreReader, results back on the UI thread.
#include "widgets/inspector/snapshot_source.hpp"

#include "widgets/common/store_reader.hpp"

#include <algorithm>

namespace srigl::studio {

InspectorFrame loadInspectorFrame(sessions::RunStore& store, int64_t runId, int64_t step, const std::string& layer) {
    InspectorFrame f;
    f.runId = runId;
    f.step = step;
    f.layers = maskLayers(store, runId);
    if (f.layers.empty()) throw sessions::StoreError("run " + std::to_string(runId) + " has no mask snapshots yet");
    f.layer = std::find(f.layers.begin(), f.layers.end(), layer) != f.layers.end() ? layer : f.layers.front();
    LayerAtStep at = layerAtStep(store, runId, f.layer, step);
    f.maskStep = at.current.step;
    f.stats = at.current.stats;
    f.weights = at.weights;
    std::optional<LayerMaskSnapshot> previous;
    if (at.previous) previous = std::move(at.previous->mask);
    auto inspection = std::make_shared<MaskInspection>(std::move(at.current.mask), std::move(previous),
                                                       at.current.stats.k, std::move(at.weights));
    if (at.gradients) inspection->setGradients(std::move(*at.gradients));
    f.rgba = inspection->rgba();
    f.inspection = std::move(inspection);
    return f;
}

InspectorFrame loadInspectorFrame(const std::string& dbPath, int64_t runId, int64_t step, const std::string& layer) {
    sessions::RunStore store(dbPath, sessions::RunStore::Mode::ReadOnly);
    return loadInspectorFrame(store, runId, step, layer);
}

SnapshotSource::SnapshotSource(StoreReader& store, QObject* parent) : QObject(parent), store_(store) {
    qRegisterMetaType<std::shared_ptr<const InspectorFrame>>();
}

bool SnapshotSource::loading() const { return store_.isPending(load_); }

void SnapshotSource::setDatabase(const QString& path) {
    if (path == dbPath_) return;
    dbPath_ = path;
    store_.setDatabase(path); // a load of the previous database is dropped
    clear();
}

void SnapshotSource::clear() {
    runId_ = 0;
    step_ = 0;
    pending_ = false;
    Q_EMIT cleared();
}

void SnapshotSource::showRunStep(qint64 runId, qint64 step) {
    runId_ = runId;
    step_ = step;
    request();
}

void SnapshotSource::setLayer(const QString& layer) {
    if (layer == layer_) return;
    layer_ = layer;
    if (runId_ != 0) request();
}

void SnapshotSource::request() {
    if (dbPath_.isEmpty() || runId_ == 0) return;
    // Another step or layer of the run being loaded waits for that load, so that a live run's
    // steady stream of steps still shows frames; another run supersedes it at once.
    if (loading() && loadRunId_ == runId_) {
        pending_ = true;
        return;
    }
    startLoad();
}

void SnapshotSource::startLoad() {
    pending_ = false;
    const std::string layer = layer_.toStdString();
    const int64_t runId = runId_, step = step_;
    loadRunId_ = runId;
    load_ = store_.request(
        this, QStringLiteral("frame"),
        [runId, step, layer](sessions::RunStore& store) {
            return std::make_shared<const InspectorFrame>(loadInspectorFrame(store, runId, step, layer));
        },
        [this, runId](std::shared_ptr<const InspectorFrame> frame) { loaded(runId, std::move(frame), {}); },
        [this, runId](const QString& error) { loaded(runId, nullptr, error); });
}

void SnapshotSource::loaded(int64_t runId, std::shared_ptr<const InspectorFrame> frame, const QString& error) {
    if (runId == runId_) { // not cleared meanwhile
        if (frame) Q_EMIT frameReady(std::move(frame));
        else Q_EMIT failed(error);
    }
    if (pending_) startLoad();
}

} // namespace srigl::studio
