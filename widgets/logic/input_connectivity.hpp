// What the first layer reads of an image input: how many connections each pixel (Linear) or each
// channel and kernel position (conv) keeps, how that changed since the previous snapshot, and one
// neuron's incoming mask and weights laid out as the image (its receptive field), with RGBA
// pictures of each. This is where DST shows that MNIST's border pixels lose their connections.
#pragma once

#include "engine/training/training_observer.hpp"
#include "widgets/logic/colour_maps.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace srigl::studio {

struct InputShape {
    int64_t channels = 0, height = 0, width = 0;
    int64_t size() const { return channels * height * width; }
    bool operator==(const InputShape& o) const {
        return channels == o.channels && height == o.height && width == o.width;
    }
};
// MNIST, Fashion-MNIST and the synthetic digits: 1 x 28 x 28; CIFAR-10 and synthetic_cifar: 3 x 32 x 32.
// Names as the engine accepts them ("Fashion-MNIST", "cifar-10", ...); none for anything else.
std::optional<InputShape> inputShapeForDataset(const std::string& dataset);
// The same from a run's config JSON (RunInfo::config); none when it is not JSON or names no image set.
std::optional<InputShape> inputShapeFromConfig(const std::string& configJson);

// `channels` planes of height x width values, [c][y][x].
struct PlaneGrid {
    int64_t channels = 0, height = 0, width = 0;
    std::vector<float> values;
    std::vector<uint8_t> present; // empty: every value is shown; otherwise 0 marks a masked-out position
    float at(int64_t c, int64_t y, int64_t x) const { return values[static_cast<size_t>(index(c, y, x))]; }
    bool shown(int64_t c, int64_t y, int64_t x) const {
        return present.empty() || present[static_cast<size_t>(index(c, y, x))] != 0;
    }
    int64_t index(int64_t c, int64_t y, int64_t x) const { return (c * height + y) * width + x; }
};

// How a first layer's fan-in maps onto the input: a Linear layer reads every pixel (fan_in = C*H*W,
// planes H x W); a conv layer reads C x kh x kw per position (planes kh x kw). Both flatten
// channel-major, so input column c*h*w + y*w + x is plane c, row y, column x.
enum class FirstLayerKind { Linear, Conv };
struct InputLayout {
    FirstLayerKind kind = FirstLayerKind::Linear;
    InputShape input;
    int64_t planeHeight = 0, planeWidth = 0;
};
// weightShape: LayerUpdateStats::shape when known ([out, C, kh, kw] for a conv). Without it a fan-in
// of C*H*W is a Linear layer and C times a square a conv with that square kernel. Throws
// std::invalid_argument when the fan-in fits neither.
InputLayout inputLayout(const LayerMaskSnapshot& first, const InputShape& input,
                        const std::vector<int64_t>& weightShape = {});

struct InputConnectivity {
    std::string layer;
    InputLayout layout;
    PlaneGrid connections; // connections reading each position
    int64_t maxConnections = 0;
    int64_t unconnected = 0; // positions that no connection reads
    // Connections now minus those at the previous snapshot, per position; none without a previous one.
    std::optional<PlaneGrid> change;
    int64_t maxAbsChange = 0;
    int64_t gained = 0, lost = 0; // sums of the positive and of the negative changes
};
// previous: the snapshot before (may be null). Throws std::invalid_argument on a malformed mask or a
// previous mask of another shape.
InputConnectivity inputConnectivity(const LayerMaskSnapshot& first, const InputShape& input,
                                    const LayerMaskSnapshot* previous = nullptr,
                                    const std::vector<int64_t>& weightShape = {});

struct ReceptiveField {
    int64_t neuron = -1;
    int64_t fanIn = 0;
    bool ablated = false;
    PlaneGrid mask;                   // 1 where the neuron reads; masked out elsewhere
    std::optional<PlaneGrid> weights; // the stored weight where it reads; masked out elsewhere
    float maxAbsWeight = 0.0f;
};
// weights: the layer's active weights in the order of the mask's set bits (WeightValuesRecord::values
// at this snapshot's step), or null. Throws std::invalid_argument for a neuron out of range or a
// weight count that does not match the mask.
ReceptiveField receptiveField(const InputLayout& layout, const LayerMaskSnapshot& mask, int64_t neuron,
                              const std::vector<float>* weights = nullptr);

// Pictures of a grid: its planes side by side, one pixel per value, a transparent column between
// planes; masked-out positions in kMaskedOutColour. renderPlanes maps [lo, hi] onto the map.
constexpr int kPlaneGap = 1;
RgbaImage renderPlanes(const PlaneGrid& grid, ColourMap map, double lo, double hi);
RgbaImage renderCounts(const PlaneGrid& grid, double max);   // sequential over [0, max]
RgbaImage renderSigned(const PlaneGrid& grid, double limit); // diverging over [-limit, limit], 0 white

} // namespace srigl::studio
