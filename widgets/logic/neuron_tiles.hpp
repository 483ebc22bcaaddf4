// The inspector's neuron-tile view of a wide layer: each neuron's incoming mask drawn as its own
// small picture, the tiles in a grid that fills the view (a 300 x 784 layer becomes 300 pictures of
// 28 x 28). How a fan-in is shaped into a tile, where the tiles go in a view and what is under a
// point, and how the tiles are packed into GPU textures. Qt-free.
#pragma once

#include "widgets/logic/input_connectivity.hpp" // InputShape, kPlaneGap

#include <cstdint>
#include <vector>

namespace srigl::studio {

// A tile: `planes` planes of height x width inputs side by side, kPlaneGap entries apart, filled
// channel-major (input p*height*width + y*width + x is plane p, row y, column x) as the engine
// flattens an image.
struct NeuronTileShape {
    int64_t fanIn = 0;
    int64_t planes = 1, height = 0, width = 0;
    int64_t pixelWidth() const { return planes * width + (planes - 1) * kPlaneGap; }
    int64_t pixelHeight() const { return height; }
    // The input drawn at (x, y) of the tile, in entries; -1 between planes, past fan_in or outside.
    int64_t inputAt(int64_t x, int64_t y) const;
};

// 784 and 3072 inputs are the images the first layer reads (1 x 28 x 28: MNIST, Fashion-MNIST, the
// synthetic digits; 3 x 32 x 32: CIFAR-10), so the tile is the neuron's receptive field. Any other
// fan-in is the most nearly square rectangle: h x w = fanIn with h <= w <= 2h when one exists, else
// ceil(sqrt(fanIn)) columns with the last row partly empty. Throws std::invalid_argument for
// fanIn < 1.
NeuronTileShape neuronTileShape(int64_t fanIn);

// Where the tiles of `neurons` neurons go in a view: `columns` tiles across, row-major, every tile
// at the same scale (square inputs, as in the picture of an image) and `gap` pixels apart.
struct NeuronTileGrid {
    int64_t neurons = 0;
    int64_t columns = 0, rows = 0;
    double scale = 0.0; // screen pixels per input
    double tileWidth = 0.0, tileHeight = 0.0;
    double gap = 0.0;
    double originX = 0.0, originY = 0.0; // top-left corner of neuron 0's tile
    double tileX(int64_t neuron) const { return originX + static_cast<double>(neuron % columns) * (tileWidth + gap); }
    double tileY(int64_t neuron) const { return originY + static_cast<double>(neuron / columns) * (tileHeight + gap); }
    // The neuron whose tile holds (x, y); -1 in a gap, outside the grid or past the last neuron.
    int64_t neuronAt(double x, double y) const;
    // The input of that neuron drawn at (x, y); -1 where neuronAt is, or between planes.
    int64_t inputAt(const NeuronTileShape& shape, double x, double y) const;
};

// The grid with the largest tiles (at most kMaxPixelsPerEntry per input) that fits a view of
// viewWidth x viewHeight, centred. When tiles would come out under four gaps on a side, they touch
// instead (gaps would be most of the picture). Throws std::invalid_argument for a negative count.
NeuronTileGrid layoutNeuronTiles(int64_t neurons, const NeuronTileShape& shape, double viewWidth, double viewHeight,
                                 double gap = 2.0);

// The tile view's zoom and pan over the fitted grid: screen = (x, y) + zoom * fitted. zoom 1 and no
// offset is the fitted grid; zoomAt keeps the point under the cursor over the same input (the
// wheel), panBy moves the picture with the mouse (a drag).
struct TileViewTransform {
    double zoom = 1.0;
    double x = 0.0, y = 0.0;
    // zoom is kept in [1, maxZoom]; factor <= 0 changes nothing.
    void zoomAt(double px, double py, double factor, double maxZoom);
    void panBy(double dx, double dy);
    void reset() { *this = TileViewTransform{}; }
    bool fitted() const { return zoom == 1.0 && x == 0.0 && y == 0.0; }
    NeuronTileGrid apply(const NeuronTileGrid& fitted) const;
};

// How far the tile view zooms in: until an input is kMaxPixelsPerEntry pixels (at least 1: never
// below the fitted grid).
double maxTileZoom(const NeuronTileGrid& fitted);

// Tiles packed into textures of at most maxSide x maxSide texels, one texel per input, whole tiles
// only (so a tile is drawn from one texture), row-major within a texture and across textures.
struct NeuronTileAtlas {
    NeuronTileShape shape;
    int64_t neurons = 0;
    int64_t across = 0, down = 0; // tiles per texture row, tile rows per texture
    int64_t textures = 0;
    int64_t perTexture() const { return across * down; }
    int64_t textureOf(int64_t neuron) const { return neuron / perTexture(); }
    int64_t texelX(int64_t neuron) const { return (neuron % perTexture()) % across * shape.pixelWidth(); }
    int64_t texelY(int64_t neuron) const { return (neuron % perTexture()) / across * shape.pixelHeight(); }
    int64_t textureWidth(int64_t texture) const;
    int64_t textureHeight(int64_t texture) const;
};

// Throws std::invalid_argument when one tile is larger than maxSide or for a negative count.
NeuronTileAtlas neuronTileAtlas(int64_t neurons, const NeuronTileShape& shape, int64_t maxSide);

// The RGBA texels of one atlas texture, from the layer's picture (neurons x fan_in entries, 4 bytes
// each: MaskInspection::rgba): each neuron's row laid out as its tile; texels between planes and
// past fan_in are transparent, so the view's background shows. Throws std::invalid_argument for a
// texture out of range or a picture of another size.
std::vector<uint8_t> atlasPixels(const NeuronTileAtlas& atlas, int64_t texture, const std::vector<uint8_t>& layerRgba);

} // namespace srigl::studio
