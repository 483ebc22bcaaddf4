// One worker thread (a QThreadPool of one), results posted back to the UI thread.
#include "widgets/inspector/snapshot_source.hpp"

#include <QMetaObject>

#include <algorithm>
#include <exception>

namespace srigl::studio {

InspectorFrame loadInspectorFrame(const std::string& dbPath, int64_t runId, int64_t step, const std::string& layer) {
    sessions::RunStore store(dbPath, sessions::RunStore::Mode::ReadOnly);
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

SnapshotSource::SnapshotSource(QObject* parent) : QObject(parent) {
    qRegisterMetaType<std::shared_ptr<const InspectorFrame>>();
    pool_.setMaxThreadCount(1);
}

SnapshotSource::~SnapshotSource() { pool_.waitForDone(); }

void SnapshotSource::setDatabase(const QString& path) {
    if (path == dbPath_) return;
    dbPath_ = path;
    clear();
}

void SnapshotSource::clear() {
    ++generation_;
    runId_ = 0;
    step_ = 0;
    pending_ = false;
    Q_EMIT cleared();
}

void SnapshotSource::showRunStep(qint64 runId, qint64 step) {
    if (runId != runId_) ++generation_; // a load of the previous run is no longer wanted
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
    if (busy_) {
        pending_ = true;
        return;
    }
    startLoad();
}

void SnapshotSource::startLoad() {
    busy_ = true;
    pending_ = false;
    const std::string db = dbPath_.toStdString(), layer = layer_.toStdString();
    const int64_t runId = runId_, step = step_;
    const quint64 generation = generation_;
    pool_.start([this, db, runId, step, layer, generation] {
        std::shared_ptr<const InspectorFrame> frame;
        QString error;
        try {
            frame = std::make_shared<const InspectorFrame>(loadInspectorFrame(db, runId, step, layer));
        } catch (const std::exception& e) {
            error = QString::fromStdString(e.what());
        }
        // `this` outlives the task (the destructor waits for the pool); a call still queued when
        // the source is destroyed is dropped with it.
        QMetaObject::invokeMethod(
            this,
            [this, frame, error, generation] {
                busy_ = false;
                if (generation == generation_) {
                    if (frame) Q_EMIT frameReady(frame);
                    else Q_EMIT failed(error);
                }
                if (pending_) startLoad();
            },
            Qt::QueuedConnection);
    });
}

} // namespace srigl::studio
