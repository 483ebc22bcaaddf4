// The first layer's column counts, reshaped to the input's planes; one neuron's row the same way.
#include "widgets/logic/input_connectivity.hpp"

#include "sessions/mask/mask_bits.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <stdexcept>

namespace srigl::studio {

std::optional<InputShape> inputShapeForDataset(const std::string& dataset) {
    // The engine's canonical names (engine/data/dataset.cpp): lower case, '-' as '_'.
    std::string name;
    for (char c : dataset) name += c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "mnist" || name == "fashion_mnist" || name == "fashionmnist" || name == "synthetic")
        return InputShape{1, 28, 28};
    if (name == "cifar10" || name == "cifar_10" || name == "synthetic_cifar") return InputShape{3, 32, 32};
    return std::nullopt;
}

std::optional<InputShape> inputShapeFromConfig(const std::string& configJson) {
    const auto doc = nlohmann::json::parse(configJson, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object()) return std::nullopt;
    const auto it = doc.find("dataset");
    if (it == doc.end() || !it->is_string()) return std::nullopt;
    return inputShapeForDataset(it->get<std::string>());
}

InputLayout inputLayout(const LayerMaskSnapshot& first, const InputShape& input,
                        const std::vector<int64_t>& weightShape) {
    sessions::checkMask(first);
    if (input.channels <= 0 || input.height <= 0 || input.width <= 0)
        throw std::invalid_argument("the input shape of '" + first.name + "' is empty");
    InputLayout layout;
    layout.input = input;
    const auto describe = [&] {
        return "'" + first.name + "' has fan-in " + std::to_string(first.fanIn) + ", which is not a layer on a " +
               std::to_string(input.channels) + " x " + std::to_string(input.height) + " x " +
               std::to_string(input.width) + " input";
    };
    if (weightShape.size() == 4) {
        if (weightShape[1] != input.channels || weightShape[1] * weightShape[2] * weightShape[3] != first.fanIn)
            throw std::invalid_argument(describe());
        layout.kind = FirstLayerKind::Conv;
        layout.planeHeight = weightShape[2];
        layout.planeWidth = weightShape[3];
        return layout;
    }
    if (first.fanIn == input.size()) {
        layout.kind = FirstLayerKind::Linear;
        layout.planeHeight = input.height;
        layout.planeWidth = input.width;
        return layout;
    }
    const int64_t perChannel = first.fanIn / input.channels;
    const auto side = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(perChannel))));
    if (weightShape.size() == 2 || first.fanIn % input.channels != 0 || side * side != perChannel)
        throw std::invalid_argument(describe());
    layout.kind = FirstLayerKind::Conv;
    layout.planeHeight = side;
    layout.planeWidth = side;
    return layout;
}

namespace {

PlaneGrid emptyGrid(const InputLayout& layout) {
    PlaneGrid g;
    g.channels = layout.input.channels;
    g.height = layout.planeHeight;
    g.width = layout.planeWidth;
    g.values.assign(static_cast<size_t>(g.channels * g.height * g.width), 0.0f);
    return g;
}

} // namespace

InputConnectivity inputConnectivity(const LayerMaskSnapshot& first, const InputShape& input,
                                    const LayerMaskSnapshot* previous, const std::vector<int64_t>& weightShape) {
    InputConnectivity ic;
    ic.layer = first.name;
    ic.layout = inputLayout(first, input, weightShape);
    ic.connections = emptyGrid(ic.layout);
    const auto now = sessions::columnCounts(first);
    for (size_t c = 0; c < now.size(); ++c) {
        ic.connections.values[c] = static_cast<float>(now[c]);
        ic.maxConnections = std::max(ic.maxConnections, now[c]);
        ic.unconnected += now[c] == 0;
    }
    if (previous) {
        sessions::checkMask(*previous);
        if (previous->outFeatures != first.outFeatures || previous->fanIn != first.fanIn ||
            previous->rowStride != first.rowStride)
            throw std::invalid_argument("the previous mask of '" + first.name + "' has another shape");
        const auto before = sessions::columnCounts(*previous);
        PlaneGrid change = emptyGrid(ic.layout);
        for (size_t c = 0; c < now.size(); ++c) {
            const int64_t d = now[c] - before[c];
            change.values[c] = static_cast<float>(d);
            ic.maxAbsChange = std::max(ic.maxAbsChange, std::abs(d));
            (d > 0 ? ic.gained : ic.lost) += std::abs(d);
        }
        ic.change = std::move(change);
    }
    return ic;
}

ReceptiveField receptiveField(const InputLayout& layout, const LayerMaskSnapshot& mask, int64_t neuron,
                              const std::vector<float>* weights) {
    const auto counts = sessions::rowCounts(mask);
    if (neuron < 0 || neuron >= mask.outFeatures)
        throw std::invalid_argument(sessions::noSuchRow(mask, neuron));
    if (mask.fanIn != layout.input.channels * layout.planeHeight * layout.planeWidth)
        throw std::invalid_argument("the layout does not fit the mask of '" + mask.name + "'");
    int64_t start = 0, total = 0; // the neuron's first weight in mask order, and all of them
    for (int64_t r = 0; r < mask.outFeatures; ++r) {
        if (r == neuron) start = total;
        total += counts[static_cast<size_t>(r)];
    }
    if (weights) sessions::checkWeightCount("'" + mask.name + "'", total, weights->size());
    ReceptiveField f;
    f.neuron = neuron;
    f.fanIn = counts[static_cast<size_t>(neuron)];
    f.ablated = std::find(mask.ablated.begin(), mask.ablated.end(), neuron) != mask.ablated.end();
    f.mask = emptyGrid(layout);
    f.mask.present.assign(f.mask.values.size(), 0);
    if (weights) f.weights = f.mask;
    int64_t next = start;
    for (int64_t c = 0; c < mask.fanIn; ++c) {
        if (!sessions::maskBit(mask.bits, neuron * mask.fanIn + c)) continue;
        const auto i = static_cast<size_t>(c);
        f.mask.values[i] = 1.0f;
        f.mask.present[i] = 1;
        if (f.weights) {
            const float w = (*weights)[static_cast<size_t>(next++)];
            f.weights->values[i] = w;
            f.weights->present[i] = 1;
            f.maxAbsWeight = std::max(f.maxAbsWeight, std::fabs(w));
        }
    }
    return f;
}

RgbaImage renderPlanes(const PlaneGrid& grid, ColourMap map, double lo, double hi) {
    RgbaImage img;
    img.width = static_cast<int>(grid.channels * grid.width + std::max<int64_t>(0, grid.channels - 1) * kPlaneGap);
    img.height = static_cast<int>(grid.height);
    img.pixels.assign(static_cast<size_t>(img.width * img.height) * 4, 0); // gaps stay kGapColour
    const double span = hi > lo ? hi - lo : 0.0;
    for (int64_t c = 0; c < grid.channels; ++c)
        for (int64_t y = 0; y < grid.height; ++y)
            for (int64_t x = 0; x < grid.width; ++x) {
                // A flat range (all zero, or no change) sits at the map's middle for diverging maps
                // and at its low end for counts, so "nothing" looks like nothing in either.
                const double t =
                    span > 0.0 ? (grid.at(c, y, x) - lo) / span : (map == ColourMap::Diverging ? 0.5 : 0.0);
                const Rgba colour = grid.shown(c, y, x) ? colourAt(map, t) : kMaskedOutColour;
                const int64_t px = c * (grid.width + kPlaneGap) + x;
                const size_t p = static_cast<size_t>(y * img.width + px) * 4;
                img.pixels[p] = colour.r;
                img.pixels[p + 1] = colour.g;
                img.pixels[p + 2] = colour.b;
                img.pixels[p + 3] = colour.a;
            }
    return img;
}

RgbaImage renderCounts(const PlaneGrid& grid, double max) {
    return renderPlanes(grid, ColourMap::Sequential, 0.0, max);
}

RgbaImage renderSigned(const PlaneGrid& grid, double limit) {
    return renderPlanes(grid, ColourMap::Diverging, -std::fabs(limit), std::fabs(limit));
}

} // namespace srigl::studio
