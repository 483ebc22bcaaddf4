// What the mask inspector and the weight heatmap show of the live run, taken from the session's
// latest-value slot (sessions::LiveLayers) instead of the store: a mask update is on screen as
// soon as the trainer publishes it, without waiting for the recorder's write and a store read.
// A large layer's frame (inspection and picture) is built on a worker thread, publications that
// arrive while one is built coalesced (only the latest is built next); a small layer's (up to
// kInlineEntries connections, LeNet-300-100's fc1 has 235 200) on the UI thread at once.
#pragma once

#include "sessions/session/live_layers.hpp"
#include "widgets/inspector/snapshot_source.hpp"

#include <QObject>
#include <QString>
#include <QThreadPool>

#include <memory>

namespace srigl::studio {

// The frame of `layer` (empty or unknown: the first layer) in a publication. Throws
// std::invalid_argument when the publication has no mask of any layer.
InspectorFrame inspectorFrameFromLive(const sessions::LiveLayers& live, const std::string& layer);

class LiveFrameSource : public QObject {
    Q_OBJECT
public:
    // Measured on 2 Zen 3 cores: about 3 ms for 300 x 784, against 10-70 ms for the worker's
    // result to come back while the inspector draws at 30 fps (docs/studio.md).
    static constexpr int64_t kInlineEntries = int64_t(1) << 19;

    explicit LiveFrameSource(QObject* parent = nullptr);
    ~LiveFrameSource() override; // waits for a build still running

    // The publication shown (the latest given to show()).
    std::shared_ptr<const sessions::LiveLayers> layers() const { return wanted_; }
    QString layer() const { return layer_; }
    void show(std::shared_ptr<const sessions::LiveLayers> layers);
    void setLayer(const QString& layer);
    void clear();

Q_SIGNALS:
    void frameReady(std::shared_ptr<const srigl::studio::InspectorFrame> frame);
    void failed(const QString& message);

private:
    void build();
    void deliver(const std::shared_ptr<const InspectorFrame>& frame, const QString& error);

    std::shared_ptr<const sessions::LiveLayers> wanted_;
    QString layer_;
    bool busy_ = false;
    bool pending_ = false;
    quint64 generation_ = 0; // builds finished after clear() are dropped
    QThreadPool pool_;
};

} // namespace srigl::studio
