// The colour maps of the structure pictures, Qt-free: a perceptual sequential map (viridis) for
// counts and a diverging one (blue < 0 < red, white at 0) for changes and weights, plus the colour
// of positions a mask leaves out, which neither map uses.
#pragma once

#include <cstdint>
#include <vector>

namespace srigl::studio {

enum class ColourMap { Sequential, Diverging };

struct Rgba {
    uint8_t r = 0, g = 0, b = 0, a = 255;
    bool operator==(const Rgba& o) const { return r == o.r && g == o.g && b == o.b && a == o.a; }
};

// Masked out: a mid grey, darker than the diverging map's white middle and unlike any viridis colour.
constexpr Rgba kMaskedOutColour{110, 110, 110, 255};
// Between channel panels: transparent, so the view's background shows.
constexpr Rgba kGapColour{0, 0, 0, 0};

// t in [0, 1] (clamped): the sequential map from low to high; the diverging map from most negative
// (0) through zero (0.5) to most positive (1).
Rgba colourAt(ColourMap map, double t);

// Row-major RGBA pixels, 4 bytes each.
struct RgbaImage {
    int width = 0, height = 0;
    std::vector<uint8_t> pixels;
    Rgba pixel(int x, int y) const;
};

// A horizontal colour bar, low on the left, `length` x `thickness` pixels.
RgbaImage colourBar(ColourMap map, int length, int thickness = 1);

} // namespace srigl::studio
