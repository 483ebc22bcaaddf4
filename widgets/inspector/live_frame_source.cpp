// Inspector frames from live publications, built off the UI thread.
#include "widgets/inspector/live_frame_source.hpp"

#include <QMetaObject>

#include <stdexcept>

namespace srigl::studio {

namespace {

// The layer a frame shows: `layer`, or the first when it is empty or unknown.
const LayerMaskSnapshot* shownMask(const sessions::LiveLayers& live, const std::string& layer) {
    const LayerMaskSnapshot* mask = live.mask(layer);
    if (!mask && live.masks && !live.masks->empty()) mask = &live.masks->front();
    return mask;
}

// The frame, or null and why (on either thread).
std::shared_ptr<const InspectorFrame> tryFrame(const sessions::LiveLayers& live, const std::string& layer, QString& error) {
    try {
        return std::make_shared<const InspectorFrame>(inspectorFrameFromLive(live, layer));
    } catch (const std::exception& e) {
        error = QString::fromStdString(e.what());
        return nullptr;
    }
}

} // namespace

InspectorFrame inspectorFrameFromLive(const sessions::LiveLayers& live, const std::string& layer) {
    if (!live.masks || live.masks->empty()) throw std::invalid_argument("the live run has published no mask yet");
    InspectorFrame f;
    f.runId = live.runId;
    f.step = live.step;
    f.maskStep = live.step;
    f.publishedAt = live.publishedAt;
    for (const auto& m : *live.masks) f.layers.push_back(m.name);
    const LayerMaskSnapshot* mask = shownMask(live, layer);
    f.layer = mask->name;
    if (const auto* stats = live.layerStats(f.layer)) f.stats = *stats;
    std::optional<LayerMaskSnapshot> previous;
    if (const auto* p = live.previousMask(f.layer)) previous = *p;
    // The inspector takes the active weights in mask order, as the store keeps them.
    if (const auto* w = live.weight(f.layer); w && w->values.size() == size_t(mask->outFeatures * mask->fanIn)) {
        std::vector<float> active;
        for (size_t i = 0; i < w->values.size(); ++i)
            if (mask->bits[i >> 3] >> (i & 7) & 1) active.push_back(w->values[i]);
        f.weights = std::move(active);
    }
    auto inspection = std::make_shared<MaskInspection>(*mask, std::move(previous), f.stats.k, f.weights);
    if (const auto* g = live.gradient(f.layer)) inspection->setGradients(g->values);
    f.rgba = inspection->rgba();
    f.inspection = std::move(inspection);
    return f;
}

LiveFrameSource::LiveFrameSource(QObject* parent) : QObject(parent) {
    qRegisterMetaType<std::shared_ptr<const InspectorFrame>>();
    pool_.setMaxThreadCount(1);
}

LiveFrameSource::~LiveFrameSource() { pool_.waitForDone(); }

void LiveFrameSource::show(std::shared_ptr<const sessions::LiveLayers> layers) {
    wanted_ = std::move(layers);
    if (!wanted_) return;
    if (busy_) {
        pending_ = true;
        return;
    }
    // A small layer's frame takes a few milliseconds to build: less than the trip to the worker
    // and back, which waits behind whatever the UI thread does meanwhile (a frame being drawn).
    // Built here, it is on screen with the next frame.
    const std::string layer = layer_.toStdString();
    const LayerMaskSnapshot* mask = shownMask(*wanted_, layer);
    if (mask && mask->outFeatures * mask->fanIn <= kInlineEntries) {
        QString error;
        deliver(tryFrame(*wanted_, layer, error), error);
        return;
    }
    build();
}

void LiveFrameSource::setLayer(const QString& layer) {
    if (layer == layer_) return;
    layer_ = layer;
    if (wanted_) show(wanted_);
}

void LiveFrameSource::clear() {
    ++generation_;
    wanted_.reset();
    pending_ = false;
}

void LiveFrameSource::build() {
    busy_ = true;
    pending_ = false;
    const std::string layer = layer_.toStdString();
    const quint64 generation = generation_;
    pool_.start([this, layers = wanted_, layer, generation] {
        QString error;
        auto frame = tryFrame(*layers, layer, error);
        // `this` outlives the task (the destructor waits for the pool).
        QMetaObject::invokeMethod(
            this,
            [this, frame, error, generation] {
                busy_ = false;
                if (generation == generation_) deliver(frame, error);
                if (pending_ && wanted_) build();
            },
            Qt::QueuedConnection);
    });
}

void LiveFrameSource::deliver(const std::shared_ptr<const InspectorFrame>& frame, const QString& error) {
    if (frame) Q_EMIT frameReady(frame);
    else Q_EMIT failed(error);
}

} // namespace srigl::studio
