// The mask inspector: a Dear ImGui panel in an ImGuiGlWidget. Per layer (combo) the neuron x input
// mask as one texture (uploaded once per snapshot) with zoom around the cursor (wheel) and pan
// (drag); fan-in bars beside it on the same rows, neurons whose fan-in differs from k in red and
// ablated neurons in purple; the last update's kept / pruned / regrown connections in colour; a
// tooltip with neuron, input, weight (when recorded) and gradient (not recorded by the store).
// The logic it draws from is GL-free: MaskInspection, MaskViewport.
#pragma once

#include "widgets/imgui_gl_widget.hpp"
#include "widgets/mask_viewport.hpp"
#include "widgets/snapshot_source.hpp"

#include <QString>

#include <memory>

namespace srigl::studio {

class MaskInspectorWidget : public ImGuiGlWidget {
    Q_OBJECT
public:
    explicit MaskInspectorWidget(QWidget* parent = nullptr);

    const InspectorFrame* frame() const { return frame_.get(); }
    const MaskViewport& viewport() const { return viewport_; }
    QString message() const { return message_; }

public Q_SLOTS:
    void setFrame(std::shared_ptr<const srigl::studio::InspectorFrame> frame);
    // Shown instead of (or above) the picture: why there is nothing (yet).
    void setMessage(const QString& message);
    void clearFrame();

Q_SIGNALS:
    void layerChosen(const QString& layer);

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

    std::shared_ptr<const InspectorFrame> frame_;
    QString message_;
    MaskViewport viewport_;
    unsigned int texture_ = 0;
    bool textureDirty_ = false;
    int maxTextureSize_ = 0;
    QString textureError_;
};

} // namespace srigl::studio
