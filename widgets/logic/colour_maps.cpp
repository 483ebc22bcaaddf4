// Both maps interpolate linearly between published anchor colours: viridis (matplotlib) sampled at
// 9 points, RdBu (ColorBrewer, 11 classes) reversed so that negative is blue. Nine anchors keep
// viridis' lightness monotonic, which is what makes counts readable.
#include "widgets/logic/colour_maps.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace srigl::studio {

namespace {

constexpr std::array<Rgba, 9> kViridis{{{68, 1, 84, 255},
                                        {71, 44, 122, 255},
                                        {59, 81, 139, 255},
                                        {44, 113, 142, 255},
                                        {33, 144, 141, 255},
                                        {39, 173, 129, 255},
                                        {92, 200, 99, 255},
                                        {170, 220, 50, 255},
                                        {253, 231, 37, 255}}};

constexpr std::array<Rgba, 11> kBlueWhiteRed{{{5, 48, 97, 255},
                                              {33, 102, 172, 255},
                                              {67, 147, 195, 255},
                                              {146, 197, 222, 255},
                                              {209, 229, 240, 255},
                                              {247, 247, 247, 255},
                                              {253, 219, 199, 255},
                                              {244, 165, 130, 255},
                                              {214, 96, 77, 255},
                                              {178, 24, 43, 255},
                                              {103, 0, 31, 255}}};

template <size_t N>
Rgba interpolate(const std::array<Rgba, N>& anchors, double t) {
    const double x = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * static_cast<double>(N - 1);
    const size_t i = std::min(static_cast<size_t>(x), N - 2);
    const double f = x - static_cast<double>(i);
    auto mix = [f](uint8_t a, uint8_t b) {
        return static_cast<uint8_t>(std::lround(static_cast<double>(a) + f * (static_cast<double>(b) - a)));
    };
    const Rgba& a = anchors[i];
    const Rgba& b = anchors[i + 1];
    return {mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b), 255};
}

} // namespace

Rgba colourAt(ColourMap map, double t) {
    return map == ColourMap::Sequential ? interpolate(kViridis, t) : interpolate(kBlueWhiteRed, t);
}

Rgba RgbaImage::pixel(int x, int y) const {
    const size_t p = (static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)) * 4;
    return {pixels[p], pixels[p + 1], pixels[p + 2], pixels[p + 3]};
}

RgbaImage colourBar(ColourMap map, int length, int thickness) {
    RgbaImage bar;
    bar.width = std::max(1, length);
    bar.height = std::max(1, thickness);
    bar.pixels.resize(static_cast<size_t>(bar.width * bar.height) * 4);
    for (int x = 0; x < bar.width; ++x) {
        const Rgba c = colourAt(map, bar.width > 1 ? static_cast<double>(x) / (bar.width - 1) : 0.5);
        for (int y = 0; y < bar.height; ++y) {
            const size_t p = (static_cast<size_t>(y * bar.width + x)) * 4;
            bar.pixels[p] = c.r;
            bar.pixels[p + 1] = c.g;
            bar.pixels[p + 2] = c.b;
            bar.pixels[p + 3] = c.a;
        }
    }
    return bar;
}

} // namespace srigl::studio
