#include "widgets/logic/neuron_tiles.hpp"

#include "widgets/logic/mask_fit.hpp" // kMaxPixelsPerEntry

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

namespace srigl::studio {

namespace {

void checkCount(int64_t neurons) {
    if (neurons < 0) throw std::invalid_argument("neuron tiles: negative neuron count " + std::to_string(neurons));
}

// The largest tiles for a given gap: every column count is tried (a few thousand at most).
NeuronTileGrid bestGrid(int64_t neurons, const NeuronTileShape& shape, double width, double height, double gap) {
    NeuronTileGrid best;
    best.neurons = neurons;
    best.gap = gap;
    const auto tw = static_cast<double>(shape.pixelWidth()), th = static_cast<double>(shape.pixelHeight());
    for (int64_t columns = 1; columns <= neurons; ++columns) {
        const int64_t rows = (neurons + columns - 1) / columns;
        if (columns > 1 && (neurons + columns - 2) / (columns - 1) == rows) continue; // same rows, narrower tiles
        const double across = (width - gap * static_cast<double>(columns - 1)) / static_cast<double>(columns) / tw;
        const double down = (height - gap * static_cast<double>(rows - 1)) / static_cast<double>(rows) / th;
        const double scale = std::min({across, down, kMaxPixelsPerEntry});
        if (scale > best.scale) {
            best.columns = columns;
            best.rows = rows;
            best.scale = scale;
        }
    }
    return best;
}

} // namespace

int64_t NeuronTileShape::inputAt(int64_t x, int64_t y) const {
    if (x < 0 || y < 0 || y >= height || x >= pixelWidth()) return -1;
    const int64_t plane = x / (width + kPlaneGap), column = x % (width + kPlaneGap);
    if (column >= width) return -1;
    const int64_t input = (plane * height + y) * width + column;
    return input < fanIn ? input : -1;
}

NeuronTileShape neuronTileShape(int64_t fanIn) {
    if (fanIn < 1) throw std::invalid_argument("neuron tiles: fan-in " + std::to_string(fanIn));
    NeuronTileShape s;
    s.fanIn = fanIn;
    for (const char* dataset : {"mnist", "cifar10"}) {
        const auto image = inputShapeForDataset(dataset);
        if (image && image->size() == fanIn) {
            s.planes = image->channels;
            s.height = image->height;
            s.width = image->width;
            return s;
        }
    }
    for (auto h = static_cast<int64_t>(std::sqrt(static_cast<double>(fanIn))); h >= 1; --h)
        if (fanIn % h == 0 && fanIn / h <= 2 * h) {
            s.height = h;
            s.width = fanIn / h;
            return s;
        }
    s.width = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(fanIn))));
    s.height = (fanIn + s.width - 1) / s.width;
    return s;
}

int64_t NeuronTileGrid::neuronAt(double x, double y) const {
    if (columns <= 0) return -1;
    const double px = x - originX, py = y - originY;
    if (px < 0 || py < 0) return -1;
    const auto column = static_cast<int64_t>(std::floor(px / (tileWidth + gap)));
    const auto row = static_cast<int64_t>(std::floor(py / (tileHeight + gap)));
    if (column >= columns || row >= rows) return -1;
    // In the gap right or below a tile.
    if (px - static_cast<double>(column) * (tileWidth + gap) >= tileWidth) return -1;
    if (py - static_cast<double>(row) * (tileHeight + gap) >= tileHeight) return -1;
    const int64_t neuron = row * columns + column;
    return neuron < neurons ? neuron : -1;
}

int64_t NeuronTileGrid::inputAt(const NeuronTileShape& shape, double x, double y) const {
    const int64_t neuron = neuronAt(x, y);
    if (neuron < 0 || !(scale > 0.0)) return -1;
    return shape.inputAt(static_cast<int64_t>(std::floor((x - tileX(neuron)) / scale)),
                         static_cast<int64_t>(std::floor((y - tileY(neuron)) / scale)));
}

NeuronTileGrid layoutNeuronTiles(int64_t neurons, const NeuronTileShape& shape, double viewWidth, double viewHeight,
                                 double gap) {
    checkCount(neurons);
    const double width = std::max(1.0, viewWidth), height = std::max(1.0, viewHeight);
    NeuronTileGrid g = bestGrid(neurons, shape, width, height, std::max(0.0, gap));
    const double side = g.scale * static_cast<double>(std::min(shape.pixelWidth(), shape.pixelHeight()));
    if (g.gap > 0.0 && (g.columns == 0 || side < 4.0 * g.gap)) g = bestGrid(neurons, shape, width, height, 0.0);
    if (g.columns == 0) return g;
    g.tileWidth = g.scale * static_cast<double>(shape.pixelWidth());
    g.tileHeight = g.scale * static_cast<double>(shape.pixelHeight());
    const double usedWidth = static_cast<double>(g.columns) * g.tileWidth + static_cast<double>(g.columns - 1) * g.gap;
    const double usedHeight = static_cast<double>(g.rows) * g.tileHeight + static_cast<double>(g.rows - 1) * g.gap;
    g.originX = (width - usedWidth) / 2.0;
    g.originY = (height - usedHeight) / 2.0;
    return g;
}

void TileViewTransform::zoomAt(double px, double py, double factor, double maxZoom) {
    if (!(factor > 0.0)) return;
    const double next = std::clamp(zoom * factor, 1.0, std::max(1.0, maxZoom));
    const double f = next / zoom;
    // The fitted point under (px, py) stays there: p = t + z * q before and after.
    x = px - f * (px - x);
    y = py - f * (py - y);
    zoom = next;
    if (zoom == 1.0) x = y = 0.0; // back at the fit: exactly the fitted grid, not a drifted copy
}

void TileViewTransform::panBy(double dx, double dy) {
    x += dx;
    y += dy;
}

NeuronTileGrid TileViewTransform::apply(const NeuronTileGrid& fitted) const {
    NeuronTileGrid g = fitted;
    g.scale *= zoom;
    g.tileWidth *= zoom;
    g.tileHeight *= zoom;
    g.gap *= zoom;
    g.originX = x + zoom * fitted.originX;
    g.originY = y + zoom * fitted.originY;
    return g;
}

double maxTileZoom(const NeuronTileGrid& fitted) {
    return fitted.scale > 0.0 ? std::max(1.0, kMaxPixelsPerEntry / fitted.scale) : 1.0;
}

int64_t NeuronTileAtlas::textureWidth(int64_t texture) const {
    const int64_t tiles = std::min(perTexture(), neurons - texture * perTexture());
    return std::min(across, tiles) * shape.pixelWidth();
}

int64_t NeuronTileAtlas::textureHeight(int64_t texture) const {
    const int64_t tiles = std::min(perTexture(), neurons - texture * perTexture());
    return (tiles + across - 1) / across * shape.pixelHeight();
}

NeuronTileAtlas neuronTileAtlas(int64_t neurons, const NeuronTileShape& shape, int64_t maxSide) {
    checkCount(neurons);
    const int64_t tw = shape.pixelWidth(), th = shape.pixelHeight();
    if (tw < 1 || th < 1 || tw > maxSide || th > maxSide)
        throw std::invalid_argument("neuron tiles: a tile of " + std::to_string(tw) + " x " + std::to_string(th) +
                                    " does not fit textures of " + std::to_string(maxSide));
    NeuronTileAtlas a;
    a.shape = shape;
    a.neurons = neurons;
    if (neurons == 0) return a;
    // Near-square textures: about as many texels across as down.
    const auto square = static_cast<int64_t>(
        std::ceil(std::sqrt(static_cast<double>(neurons) * static_cast<double>(th) / static_cast<double>(tw))));
    a.across = std::clamp<int64_t>(square, 1, maxSide / tw);
    a.down = std::clamp<int64_t>((neurons + a.across - 1) / a.across, 1, maxSide / th);
    a.textures = (neurons + a.perTexture() - 1) / a.perTexture();
    return a;
}

std::vector<uint8_t> atlasPixels(const NeuronTileAtlas& atlas, int64_t texture, const std::vector<uint8_t>& layerRgba) {
    const NeuronTileShape& s = atlas.shape;
    if (texture < 0 || texture >= atlas.textures)
        throw std::invalid_argument("neuron tiles: no texture " + std::to_string(texture) + " of " +
                                    std::to_string(atlas.textures));
    if (layerRgba.size() != static_cast<size_t>(atlas.neurons * s.fanIn * 4))
        throw std::invalid_argument("neuron tiles: a picture of " + std::to_string(layerRgba.size()) + " bytes for " +
                                    std::to_string(atlas.neurons) + " x " + std::to_string(s.fanIn) + " entries");
    const int64_t width = atlas.textureWidth(texture), height = atlas.textureHeight(texture);
    std::vector<uint8_t> out(static_cast<size_t>(width * height * 4), 0); // transparent
    const int64_t first = texture * atlas.perTexture();
    const int64_t last = std::min(atlas.neurons, first + atlas.perTexture());
    for (int64_t n = first; n < last; ++n) {
        const uint8_t* row = layerRgba.data() + static_cast<size_t>(n * s.fanIn * 4);
        // Each plane row is a run of consecutive inputs: copied whole.
        for (int64_t p = 0; p < s.planes; ++p)
            for (int64_t y = 0; y < s.height; ++y) {
                const int64_t input = (p * s.height + y) * s.width;
                const int64_t count = std::min(s.width, s.fanIn - input);
                if (count <= 0) break;
                const int64_t x = atlas.texelX(n) + p * (s.width + kPlaneGap), ty = atlas.texelY(n) + y;
                std::memcpy(out.data() + static_cast<size_t>((ty * width + x) * 4),
                            row + static_cast<size_t>(input * 4), static_cast<size_t>(count * 4));
            }
    }
    return out;
}

} // namespace srigl::studio
