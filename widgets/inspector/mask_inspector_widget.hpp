// The mask inspector: a Dear ImGui panel in an ImGuiGlWidget. Per layer (combo) one of two views:
// - the matrix: the neuron x input mask filling the view ("Fit": cells between 1:4 and 4:1, and
//   blocks of connections per screen cell where the layer has more rows or columns than the view has
//   pixels, the aggregation named in the header), as textures (one, or tiles past the GPU's size
//   limit) with zoom around the cursor (wheel) back to single connections and pan (drag); fan-in bars
//   beside it on the same rows, neurons whose fan-in differs from k in red and ablated neurons in
//   purple; a tooltip with neuron, input, weight and gradient (each when recorded at that step), or
//   with the block's neurons, inputs and counts;
// - neuron tiles: each neuron's incoming mask as a small picture (the receptive field for 28 x 28
//   and 3 x 32 x 32 inputs), the tiles in a grid that fills the view, with zoom around the cursor
//   (wheel), pan (drag) and back to the fit (double-click); a click opens the neuron.
// Both show the last update's kept / pruned / regrown connections in colour. The logic it draws
// from is GL-free: MaskInspection, MaskViewport, and logic/ (mask_fit, mask_blocks, neuron_tiles).
#pragma once

#include "widgets/common/imgui_gl_widget.hpp"
#include "widgets/inspector/mask_tiles.hpp"
#include "widgets/inspector/mask_viewport.hpp"
#include "widgets/inspector/snapshot_source.hpp"
#include "sessions/mask/mask_blocks.hpp"
#include "widgets/logic/neuron_tiles.hpp"

#include <QRectF>
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
    // Textures of the current picture, one connection per texel: more than one when the layer is
    // larger than the GPU's largest texture (or than setTileLimit's side).
    int textureCount() const { return static_cast<int>(exact_.ids.size()); }
    // The largest texture side used, below the GPU's own limit (0: the GPU's): lets the tiled path
    // be seen on any GPU.
    void setTileLimit(int side);
    // For frames of the live run: milliseconds from the trainer's publication to the first frame
    // that drew it, one entry per publication drawn (the Studio's latency target).
    const std::vector<double>& liveLatenciesMs() const { return liveLatenciesMs_; }
    // The neuron-tile view instead of the matrix (the header's toggle).
    void setTileView(bool on);
    bool tileView() const { return tileView_; }
    // Where the last frame drew the picture (matrix or tiles), in widget coordinates, and the tile
    // grid it drew in tile view: what a click at a point of the widget lands on.
    QRectF pictureArea() const { return pictureArea_; }
    const NeuronTileGrid& tileGrid() const { return tileGrid_; }

public Q_SLOTS:
    void setFrame(std::shared_ptr<const srigl::studio::InspectorFrame> frame);
    // Shown instead of (or above) the picture: why there is nothing (yet).
    void setMessage(const QString& message);
    void clearFrame();

Q_SIGNALS:
    void layerChosen(const QString& layer);
    // A neuron's fan-in bar or tile was clicked (or its row right-clicked in the mask).
    void neuronClicked(const QString& layer, int neuron);

protected:
    void drawUi() override;
    void initializeResources() override;
    void releaseResources() override;

private:
    // A picture as GL textures (texels; one texture per tile): texture i draws tiles[i] of it and
    // holds held[i], which is the tile plus, when sampled linearly, a texel of each neighbouring
    // tile, so that seams blend as they would in one texture.
    struct GlPicture {
        std::vector<MaskTile> tiles;
        std::vector<MaskTile> held;
        std::vector<unsigned int> ids;
    };
    // How a texture is sampled: texel for pixel (entries of at least a pixel), linearly from a few
    // texels per cell (blocks: sharp edges at fractional cell sizes), or from mipmaps (neuron tiles,
    // which may be drawn smaller than a texel per input).
    enum class Sampling { Nearest, SharpEdges, Mipmapped };
    void uploadTile(GlPicture& into, const uint8_t* rgba, int64_t rowLength, const MaskTile& tile, const MaskTile& held,
                    Sampling sampling);
    void uploadTiled(GlPicture& into, const uint8_t* rgba, int64_t width, int64_t height, Sampling sampling);
    void releasePicture(GlPicture& picture);
    int textureSide() const;
    void uploadTexture();
    void uploadBlocks();
    void uploadAtlas();
    void drawHeader();
    void drawMask(float width, float height);
    // The textures of `picture` from the viewport's origin, each texel texelWidth x texelHeight pixels.
    void drawPicture(const GlPicture& picture, double texelWidth, double texelHeight, float x0, float y0, float width,
                     float height);
    void drawNeuronTiles(float width, float height);
    void drawFanInBars(float width, float height);
    void drawTooltip(const MaskEntry& entry);
    void drawBlockTooltip(const MaskCell& cell);
    void drawTileTooltip(int64_t neuron, int64_t input);
    void requestNeuron(int64_t row);

    std::shared_ptr<const InspectorFrame> frame_;
    QString message_;
    MaskViewport viewport_;
    GlPicture exact_;  // the picture, one connection per texel, cut to the texture size limit
    GlPicture blocks_; // the aggregated picture, one block per texel, when cells stand for blocks
    std::unique_ptr<sessions::MaskBlocks> blockCounts_;             // what blocks_ shows
    int64_t blockTexelsAcross_ = 1, blockTexelsDown_ = 1; // texels per block in blocks_
    std::vector<uint8_t> blockTexels_; // kept between uploads: no new allocation per zoom step or snapshot
    GlPicture atlas_;                  // the neuron tiles, whole tiles per texture (tile view)
    NeuronTileAtlas atlasLayout_;
    bool atlasBuilt_ = false; // atlas_ is for this frame (or tileError_ says why not)
    QString tileError_;
    bool tileView_ = false;
    NeuronTileGrid tileGrid_;
    TileViewTransform tileTransform_; // the tile view's zoom and pan, kept across live frames
    QRectF pictureArea_;
    bool textureDirty_ = false;
    int maxTextureSize_ = 0;
    int tileLimit_ = 0;
    QString textureError_;
    std::vector<double> liveLatenciesMs_;
    const InspectorFrame* latencyMeasured_ = nullptr; // the frame whose latency is recorded
};

} // namespace srigl::studio
