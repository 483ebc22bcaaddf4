// The mask inspector: a Dear ImGui panel in an ImGuiGlWidget. Per layer (combo) the neuron x input
// mask as textures (one, or tiles past the GPU's size limit) with zoom around the cursor (wheel) and pan
// (drag); fan-in bars beside it on the same rows, neurons whose fan-in differs from k in red and
// ablated neurons in purple; the last update's kept / pruned / regrown connections in colour; a
// tooltip with neuron, input, weight and gradient (each when recorded at that step).
// The logic it draws from is GL-free: MaskInspection, MaskViewport.
#pragma once

#include "widgets/common/imgui_gl_widget.hpp"
#include "widgets/inspector/mask_tiles.hpp"
#include "widgets/inspector/mask_viewport.hpp"
#include "widgets/inspector/snapshot_source.hpp"

#include <QString>

#include <memory>
#include <vector>

namespace srigl::studio {

class MaskInspectorWidget : public ImGuiGlWidget {
    Q_OBJECT
public:
    explicit MaskInspectorWidget(QWidget* parent = nullptr);

    const InspectorFrame* frame() const { return frame_.get(); }
    const MaskViewport& viewport() const { return viewport_; }
    QString message() const { return message_; }
    // Textures of the current picture: more than one when the layer is larger than the GPU's
    // largest texture (or than setTileLimit's side).
    int textureCount() const { return static_cast<int>(textures_.size()); }
    // The largest texture side used, below the GPU's own limit (0: the GPU's): lets the tiled path
    // be seen on any GPU.
    void setTileLimit(int side);
    // For frames of the live run: milliseconds from the trainer's publication to the first frame
    // that drew it, one entry per publication drawn (the Studio's latency target).
    const std::vector<double>& liveLatenciesMs() const { return liveLatenciesMs_; }

public Q_SLOTS:
    void setFrame(std::shared_ptr<const srigl::studio::InspectorFrame> frame);
    // Shown instead of (or above) the picture: why there is nothing (yet).
    void setMessage(const QString& message);
    void clearFrame();

Q_SIGNALS:
    void layerChosen(const QString& layer);
    // A neuron's fan-in bar was clicked (or its row right-clicked in the mask).
    void neuronClicked(const QString& layer, int neuron);

protected:
    void drawUi() override;
    void initializeResources() override;
    void releaseResources() override;

private:
    void uploadTexture();
    void drawHeader();
    void drawMask(float width, float height);
    void drawFanInBars(float width, float height);
    void drawTooltip(const MaskEntry& entry);
    void requestNeuron(int64_t row);

    std::shared_ptr<const InspectorFrame> frame_;
    QString message_;
    MaskViewport viewport_;
    std::vector<MaskTile> tiles_;       // the picture cut to the texture size limit
    std::vector<unsigned int> textures_; // one per tile
    bool textureDirty_ = false;
    int maxTextureSize_ = 0;
    int tileLimit_ = 0;
    QString textureError_;
    std::vector<double> liveLatenciesMs_;
    const InspectorFrame* latencyMeasured_ = nullptr; // the frame whose latency is recorded
};

} // namespace srigl::studio
