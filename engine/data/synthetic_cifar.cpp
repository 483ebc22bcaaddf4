// Painting of the synthetic CIFAR-shaped images, in plain C++ on a float canvas: background (tint,
// gradient, faint stripes), clutter, the class's textured shape, maybe an occluder, then contrast,
// noise and rounding to uint8. About 100,000 instructions (some 20 microseconds) an image.
#include "engine/data/synthetic_cifar.hpp"

#include "engine/data/seed_mix.hpp"
#include "engine/runtime/worker_pool.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

namespace srigl {

namespace {

constexpr int kSide = 32;
constexpr int kChannels = 3;
constexpr int kPlane = kSide * kSide;
constexpr float kPi = 3.14159265358979323846f;
// Mixed into the seed so that these images share no random stream with the digits' for the same seed.
constexpr uint64_t kStreamTag = 0x5359'4E43'4946'4152ull;

// Random numbers of one sample: a SplitMix64 counter, whose every output is specified bit for bit,
// through hand-written conversions (the standard distributions differ between libstdc++ and libc++).
// It is a fraction of the Mersenne Twister's cost to seed, which matters at 50,000 samples.
class SampleRng {
public:
    explicit SampleRng(uint64_t seed) : state_(seed) {}
    uint64_t next() {
        const uint64_t r = splitMix64(state_);
        state_ += 0x9E3779B97F4A7C15ull;
        return r;
    }
    float uniform() { return float(next() >> 40) * (1.0f / 16777216.0f); } // 24 bits: every value exact
    float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
    bool chance(float p) { return uniform() < p; }
    float sign() { return (next() >> 63) ? -1.0f : 1.0f; }

private:
    uint64_t state_;
};

// A cosine table indexed by the top bits of a 32-bit phase: stripes cost an add and a load a pixel
// instead of a call to cos, and the phase wraps by itself.
constexpr int kTableBits = 10;
struct CosineTable {
    std::array<float, 1 << kTableBits> value{};
    CosineTable() {
        for (size_t i = 0; i < value.size(); ++i)
            value[i] = float(std::cos(2.0 * 3.14159265358979323846 * double(i) / double(value.size())));
    }
    float operator()(uint32_t phase) const { return value[phase >> (32 - kTableBits)]; }
};

const CosineTable& cosine() {
    static const CosineTable table;
    return table;
}

// Plane-wave stripes in fixed point: phase(x, y) = start + x * dx + y * dy, one cycle = 2^32.
struct Stripes {
    uint32_t start = 0, dx = 0, dy = 0;
    uint32_t at(int x, int y) const { return start + uint32_t(x) * dx + uint32_t(y) * dy; }
};

uint32_t cyclesToPhase(double cycles) {
    // Through int64: a negative step wraps modulo 2^32, which is what the phase arithmetic needs.
    return uint32_t(int64_t(std::llround(cycles * 4294967296.0)));
}

Stripes makeStripes(double cyclesPerPixel, double angle, SampleRng& rng) {
    Stripes s;
    s.start = uint32_t(rng.next() >> 32);
    s.dx = cyclesToPhase(cyclesPerPixel * std::cos(angle));
    s.dy = cyclesToPhase(cyclesPerPixel * std::sin(angle));
    return s;
}

struct Rgb {
    float c[kChannels];
};

Rgb hsv(float h, float s, float v) {
    h -= std::floor(h);
    const float sector = h * 6.0f;
    const int i = std::min(int(sector), 5);
    const float f = sector - float(i);
    const float p = v * (1.0f - s), q = v * (1.0f - s * f), t = v * (1.0f - s * (1.0f - f));
    switch (i) {
    case 0:
        return {{v, t, p}};
    case 1:
        return {{q, v, p}};
    case 2:
        return {{p, v, t}};
    case 3:
        return {{p, q, v}};
    case 4:
        return {{t, p, v}};
    default:
        return {{v, p, q}};
    }
}

// Coverage of a pixel whose centre lies `inside` pixels within an edge: a one-pixel soft edge, so
// shapes keep their size and position below the pixel grid.
inline float ramp(float inside) { return std::min(std::max(inside + 0.5f, 0.0f), 1.0f); }

enum class Shape { Disk, Square, Ring, Cross, Diamond };

// Coverage at (u, v), coordinates in units of the shape's radius r (pixels), all shapes of about the
// same extent so size says nothing about the class. Squared distances avoid a sqrt a pixel:
// 1 - d^2 ~ 2 * (1 - d) near the edge. A template, so the per-pixel loop has no switch in it.
template <Shape S>
inline float coverage(float u, float v, float r) {
    const float au = std::fabs(u), av = std::fabs(v);
    if constexpr (S == Shape::Disk) {
        return ramp((1.0f - (u * u + v * v)) * 0.5f * r);
    } else if constexpr (S == Shape::Square) {
        return ramp((0.85f - std::max(au, av)) * r);
    } else if constexpr (S == Shape::Ring) {
        const float d2 = u * u + v * v;
        constexpr float kInner2 = 0.3f; // inner radius 0.55
        return std::min(ramp((1.0f - d2) * 0.5f * r), ramp((d2 - kInner2) * (0.5f / 0.55f) * r));
    } else if constexpr (S == Shape::Cross) {
        constexpr float kHalfWidth = 0.34f;
        const float across = std::min(ramp((1.0f - au) * r), ramp((kHalfWidth - av) * r));
        const float down = std::min(ramp((1.0f - av) * r), ramp((kHalfWidth - au) * r));
        return std::max(across, down);
    } else {
        return ramp((1.15f - (au + av)) * 0.70710678f * r); // diamond
    }
}

// What makes a class: a shape, a hue and stripes. Each cue alone is shared (shapes by pairs of
// classes, hues by classes five apart, frequencies and angles repeat), so a model has to combine
// them. Angles are used as +-angle at random, which makes every class invariant under the
// horizontal flip of CIFAR-style augmentation.
struct ClassStyle {
    Shape shape;
    float hue;
    float cyclesPerPixel;
    float angleDegrees; // of the wave vector: 0 gives upright bars, 90 level stripes
};

constexpr ClassStyle kStyles[10] = {
    {Shape::Disk, 0.00f, 0.10f, 0.0f},     // 0: red disk, wide upright bars
    {Shape::Disk, 0.15f, 0.25f, 45.0f},    // 1: yellow disk, fine diagonals
    {Shape::Square, 0.33f, 0.18f, 90.0f},  // 2: green square, level stripes
    {Shape::Square, 0.55f, 0.10f, 60.0f},  // 3: blue square, wide shallow stripes
    {Shape::Ring, 0.75f, 0.25f, 0.0f},     // 4: purple ring, fine upright bars
    {Shape::Ring, 0.00f, 0.14f, 30.0f},    // 5: red ring, steep stripes
    {Shape::Cross, 0.15f, 0.30f, 90.0f},   // 6: yellow cross, finest level stripes
    {Shape::Cross, 0.33f, 0.18f, 45.0f},   // 7: green cross, diagonals
    {Shape::Diamond, 0.55f, 0.10f, 90.0f}, // 8: blue diamond, wide level stripes
    {Shape::Diamond, 0.75f, 0.22f, 70.0f}, // 9: purple diamond, shallow stripes
};

// Blends `colour` into the canvas pixel with weight `alpha`.
inline void blend(float* canvas, int pixel, const Rgb& colour, float alpha) {
    for (int c = 0; c < kChannels; ++c) {
        float& p = canvas[c * kPlane + pixel];
        p += (colour.c[c] - p) * alpha;
    }
}

// A tinted field with a brightness gradient and faint stripes of any frequency and angle, so that
// neither the background's colour nor its texture is evidence of the class.
void paintBackground(float* canvas, SampleRng& rng) {
    const Rgb base = hsv(rng.uniform(), rng.uniform(0.0f, 0.45f), rng.uniform(0.15f, 0.85f));
    const float slopeX = rng.uniform(-0.014f, 0.014f), slopeY = rng.uniform(-0.014f, 0.014f);
    const float amplitude = rng.uniform(0.0f, 0.12f);
    Rgb tint = hsv(rng.uniform(), rng.uniform(0.2f, 0.8f), 1.0f);
    for (float& t : tint.c) t *= amplitude;
    const Stripes stripes = makeStripes(rng.uniform(0.04f, 0.35f), rng.uniform(0.0f, kPi), rng);
    const CosineTable& cos = cosine();
    for (int y = 0; y < kSide; ++y) {
        uint32_t phase = stripes.at(0, y);
        const float rowShade = slopeY * (float(y) - 15.5f);
        for (int x = 0; x < kSide; ++x, phase += stripes.dx) {
            const float wave = cos(phase);
            const float shade = rowShade + slopeX * (float(x) - 15.5f);
            for (int c = 0; c < kChannels; ++c)
                canvas[c * kPlane + y * kSide + x] = base.c[c] + shade + tint.c[c] * wave;
        }
    }
}

// One distractor: a blob or a stroke of any colour, sometimes the hue of another class.
void paintClutter(float* canvas, SampleRng& rng) {
    const Rgb colour = hsv(rng.uniform(), rng.uniform(0.3f, 1.0f), rng.uniform(0.2f, 1.0f));
    const float opacity = rng.uniform(0.5f, 1.0f);
    const float ax = rng.uniform(0.0f, float(kSide)), ay = rng.uniform(0.0f, float(kSide));
    float bx = ax, by = ay, halfWidth;
    if (rng.chance(0.5f)) {
        halfWidth = rng.uniform(1.5f, 4.5f); // a blob: a stroke of length 0
    } else {
        const float angle = rng.uniform(0.0f, 2.0f * kPi), length = rng.uniform(6.0f, 18.0f);
        bx = ax + length * std::cos(angle);
        by = ay + length * std::sin(angle);
        halfWidth = rng.uniform(0.6f, 1.4f);
    }
    const float dx = bx - ax, dy = by - ay, length2 = std::max(dx * dx + dy * dy, 1e-6f);
    const int x0 = std::max(0, int(std::floor(std::min(ax, bx) - halfWidth - 1.0f)));
    const int x1 = std::min(kSide - 1, int(std::ceil(std::max(ax, bx) + halfWidth + 1.0f)));
    const int y0 = std::max(0, int(std::floor(std::min(ay, by) - halfWidth - 1.0f)));
    const int y1 = std::min(kSide - 1, int(std::ceil(std::max(ay, by) + halfWidth + 1.0f)));
    for (int y = y0; y <= y1; ++y)
        for (int x = x0; x <= x1; ++x) {
            const float px = float(x) - ax, py = float(y) - ay;
            const float t = std::min(std::max((px * dx + py * dy) / length2, 0.0f), 1.0f);
            const float ex = px - t * dx, ey = py - t * dy;
            const float alpha = ramp(halfWidth - std::sqrt(ex * ex + ey * ey)) * opacity;
            if (alpha > 0.0f) blend(canvas, y * kSide + x, colour, alpha);
        }
}

// One drawn object: where it is, how it is turned and coloured.
struct ObjectPlacement {
    float r, cx, cy;
    float cosT, sinT, scaleU, scaleV; // pixel offset -> shape coordinates
    Rgb light;
    float darken; // stripe troughs are darken * light
    bool striped;
    Stripes stripes;
    float opacity;
    int x0, x1, y0, y1; // bounding box, inclusive
};

template <Shape S>
void paintShape(float* canvas, const ObjectPlacement& o) {
    const CosineTable& cos = cosine();
    for (int y = o.y0; y <= o.y1; ++y) {
        const float oy = float(y) - o.cy;
        uint32_t phase = o.stripes.at(o.x0, y);
        for (int x = o.x0; x <= o.x1; ++x, phase += o.stripes.dx) {
            const float ox = float(x) - o.cx;
            const float u = (o.cosT * ox + o.sinT * oy) * o.scaleU;
            const float v = (o.cosT * oy - o.sinT * ox) * o.scaleV;
            const float alpha = coverage<S>(u, v, o.r) * o.opacity;
            if (alpha <= 0.0f) continue;
            const float level = o.striped ? o.darken + (1.0f - o.darken) * (0.5f + 0.5f * cos(phase)) : 1.0f;
            blend(canvas, y * kSide + x, {{o.light.c[0] * level, o.light.c[1] * level, o.light.c[2] * level}}, alpha);
        }
    }
}

// The class's shape, anywhere near the centre, tilted a little (squares must stay apart from
// diamonds), filled with its stripes between a colour of its hue and a darker shade of it. One in
// five has a random hue and one in five no stripes, so neither cue decides alone.
void paintObject(float* canvas, int label, SampleRng& rng) {
    const ClassStyle& style = kStyles[label];
    ObjectPlacement o;
    o.r = rng.uniform(6.5f, 11.0f);
    o.cx = rng.uniform(9.5f, 21.5f);
    o.cy = rng.uniform(9.5f, 21.5f);
    const float tilt = rng.uniform(-15.0f, 15.0f) * (kPi / 180.0f);
    const float stretch = std::sqrt(rng.uniform(0.8f, 1.25f));
    // Rotate by -tilt, undo the stretch, divide by r.
    o.cosT = std::cos(tilt);
    o.sinT = std::sin(tilt);
    o.scaleU = 1.0f / (o.r * stretch);
    o.scaleV = stretch / o.r;

    const float hue = rng.chance(0.2f) ? rng.uniform() : style.hue + rng.uniform(-0.04f, 0.04f);
    o.light = hsv(hue, rng.uniform(0.55f, 1.0f), rng.uniform(0.6f, 1.0f));
    o.darken = rng.uniform(0.1f, 0.45f);
    o.striped = !rng.chance(0.2f);
    const float angle = rng.sign() * (style.angleDegrees + rng.uniform(-8.0f, 8.0f)) * (kPi / 180.0f);
    o.stripes = makeStripes(style.cyclesPerPixel * rng.uniform(0.85f, 1.15f), angle, rng);
    o.opacity = rng.uniform(0.8f, 1.0f);

    // Every shape lies within 1.15 radii of its centre at a tilt of at most 15 degrees (the
    // diamond's tips; a square's corner reaches 0.85 * (cos 15 + sin 15) = 1.04), plus the soft edge.
    const float extent = 1.15f * o.r * std::max(stretch, 1.0f / stretch) + 1.0f;
    o.x0 = std::max(0, int(std::floor(o.cx - extent)));
    o.x1 = std::min(kSide - 1, int(std::ceil(o.cx + extent)));
    o.y0 = std::max(0, int(std::floor(o.cy - extent)));
    o.y1 = std::min(kSide - 1, int(std::ceil(o.cy + extent)));
    switch (style.shape) {
    case Shape::Disk:
        paintShape<Shape::Disk>(canvas, o);
        break;
    case Shape::Square:
        paintShape<Shape::Square>(canvas, o);
        break;
    case Shape::Ring:
        paintShape<Shape::Ring>(canvas, o);
        break;
    case Shape::Cross:
        paintShape<Shape::Cross>(canvas, o);
        break;
    case Shape::Diamond:
        paintShape<Shape::Diamond>(canvas, o);
        break;
    }
}

// Contrast and brightness of the whole picture, sensor-like noise, rounding to bytes. The noise is a
// triangular variate per channel from two 10-bit fields of one 64-bit draw a pixel: noise needs the
// spread, not Gaussian tails, and this is far cheaper than Box-Muller.
void writeBytes(const float* canvas, uint8_t* out, SampleRng& rng) {
    const float contrast = rng.uniform(0.7f, 1.1f);
    const float brightness = rng.uniform(-0.08f, 0.08f);
    const float gain = 255.0f * contrast;
    const float offset = 255.0f * (0.5f - 0.5f * contrast + brightness) + 0.5f; // +0.5: round, not truncate
    constexpr float kUnitVariance = 1.0f / 418.05f; // std of the sum of two uniform 0..1023 draws
    const float sigma = 255.0f * rng.uniform(0.01f, 0.07f) * kUnitVariance;
    // Two passes, so that the second (most of the work) vectorises: the draws, then the arithmetic.
    int16_t noise[kChannels * kPlane];
    constexpr uint64_t kLowFields = 0x3FFull | (0x3FFull << 20) | (0x3FFull << 40); // bits 0, 20, 40
    for (int pixel = 0; pixel < kPlane; ++pixel) {
        const uint64_t bits = rng.next();
        // The three channels' pairs of fields added at once: 11-bit sums 20 bits apart cannot carry.
        const uint64_t sums = (bits & kLowFields) + ((bits >> 10) & kLowFields);
        for (int c = 0; c < kChannels; ++c)
            noise[c * kPlane + pixel] = int16_t(int((sums >> (20 * c)) & 0x7FFu) - 1023);
    }
    for (int k = 0; k < kChannels * kPlane; ++k) {
        // Truncate, then clamp as integers (the same bytes as clamping first, since truncation keeps
        // (-1, 0) at 0): min/max on ints vectorise where float-to-byte conversions do not.
        const int v = int(canvas[k] * gain + offset + sigma * float(noise[k]));
        out[k] = uint8_t(std::min(std::max(v, 0), 255));
    }
}

} // namespace

DatasetSplit generateSyntheticCifar(int64_t count, uint64_t seed, SyntheticSplit split) {
    if (count < 0) throw std::invalid_argument("generateSyntheticCifar: negative count");
    DatasetSplit out;
    out.images = torch::empty({count, kChannels, kSide, kSide}, torch::kUInt8);
    out.labels = torch::empty({count}, torch::kLong);
    uint8_t* pixels = out.images.data_ptr<uint8_t>();
    int64_t* labels = out.labels.data_ptr<int64_t>();

    const uint64_t stream = mixSeed(mixSeed(seed, kStreamTag), static_cast<uint64_t>(split));
    // Samples are independent, so threads change nothing but the time (50,000 take about 1 s on one core).
    parallelFor(0, count, 1024, [&](int64_t begin, int64_t end) {
        float canvas[kChannels * kPlane];
        for (int64_t i = begin; i < end; ++i) {
            SampleRng rng(mixSeed(stream, uint64_t(i)));
            const int label = int(i % 10);
            paintBackground(canvas, rng);
            const int clutter = 1 + int(rng.next() % 4);
            for (int k = 0; k < clutter; ++k) paintClutter(canvas, rng);
            paintObject(canvas, label, rng);
            if (rng.chance(0.3f)) paintClutter(canvas, rng); // an occluder in front of the object
            writeBytes(canvas, pixels + i * kChannels * kPlane, rng);
            labels[i] = label;
        }
    });
    return out;
}

} // namespace srigl
