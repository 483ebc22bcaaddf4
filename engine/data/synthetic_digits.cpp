// Rendering of the synthetic digits: Hershey glyphs on a 2x canvas, one affine warp down to 28x28
// (rotation, scale, shear, translation), then clutter strokes and sensor-like noise. Needs OpenCV
// (SRIGL_HAVE_OPENCV); a build without it keeps the function, which then says what to use instead.
#include "engine/data/synthetic_digits.hpp"

#ifdef SRIGL_HAVE_OPENCV

#include "engine/data/seed_mix.hpp"
#include "engine/runtime/worker_pool.hpp"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

namespace srigl {

namespace {

constexpr int kSide = 28;
constexpr int kCanvas = 56; // glyphs are drawn at twice the size so the warp's downscale smooths them
constexpr double kPi = 3.14159265358979323846;

// Random numbers of one sample. Shape choices come from std::mt19937_64 through hand-written
// conversions, because the standard distributions differ between libstdc++ and libc++. Pixel noise,
// about 800 draws an image, comes from a SplitMix64 counter keyed by the engine: a third of the
// cost of the Mersenne Twister, and noise needs no more quality than that.
class SampleRng {
public:
    explicit SampleRng(uint64_t seed) : engine_(seed), noiseKey_(engine_()) {}
    double uniform() { return double(engine_() >> 11) * (1.0 / 9007199254740992.0); }
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    int integer(int lo, int hiInclusive) { return lo + int(engine_() % uint64_t(hiInclusive - lo + 1)); }
    bool chance(double p) { return uniform() < p; }
    // An approximately standard-normal value: the centred, rescaled sum of the four 16-bit uniforms
    // in one 64-bit draw (Irwin-Hall). Noise needs the bell shape, not exact tails, and this is an
    // order of magnitude cheaper than Box-Muller's log and sincos.
    float normal()
    {
        constexpr float kScale = 1.7320508f / 65536.0f; // sqrt(3) / 65536: unit variance
        const uint64_t bits = splitMix64(noiseKey_ + noiseCounter_++ * 0x9E3779B97F4A7C15ull);
        const uint32_t sum = uint32_t(bits & 0xFFFF) + uint32_t((bits >> 16) & 0xFFFF) +
                             uint32_t((bits >> 32) & 0xFFFF) + uint32_t(bits >> 48);
        return (float(sum) - 2.0f * 65535.0f) * kScale;
    }

private:
    std::mt19937_64 engine_;
    uint64_t noiseKey_;
    uint64_t noiseCounter_ = 0;
};

const int kFonts[] = {
    cv::FONT_HERSHEY_SIMPLEX, cv::FONT_HERSHEY_PLAIN,         cv::FONT_HERSHEY_DUPLEX,
    cv::FONT_HERSHEY_COMPLEX, cv::FONT_HERSHEY_TRIPLEX,       cv::FONT_HERSHEY_COMPLEX_SMALL,
    cv::FONT_HERSHEY_SCRIPT_SIMPLEX, cv::FONT_HERSHEY_SCRIPT_COMPLEX,
};

// Draws the digit centred on the canvas, about 40 px tall (20 px after the 2x reduction, like MNIST).
void drawGlyph(cv::Mat& canvas, int digit, SampleRng& rng)
{
    int font = kFonts[rng.integer(0, int(std::size(kFonts)) - 1)];
    if (rng.chance(0.3))
        font |= cv::FONT_ITALIC;
    const int thickness = rng.integer(2, 6);
    const std::string text(1, char('0' + digit));
    int baseline = 0;
    const cv::Size unit = cv::getTextSize(text, font, 1.0, thickness, &baseline);
    const double targetHeight = rng.uniform(34.0, 44.0);
    const double fontScale = targetHeight / std::max(1, unit.height);
    const cv::Size size = cv::getTextSize(text, font, fontScale, thickness, &baseline);
    const cv::Point origin((kCanvas - size.width) / 2, (kCanvas + size.height) / 2);
    const double ink = rng.uniform(170.0, 255.0);
    cv::putText(canvas, text, origin, font, fontScale, cv::Scalar(ink), thickness, cv::LINE_8);
}

// Strokes that belong to no digit: short lines and arcs, fainter and thinner than the glyph, some
// crossing it. They make single pixels unreliable evidence, which is what gives sparsity work to do.
void drawClutter(cv::Mat& canvas, SampleRng& rng)
{
    const int strokes = rng.integer(0, 4);
    for (int s = 0; s < strokes; ++s) {
        const double ink = rng.uniform(70.0, 220.0);
        const int thickness = rng.integer(1, 3);
        const cv::Point a(rng.integer(0, kCanvas - 1), rng.integer(0, kCanvas - 1));
        if (rng.chance(0.6)) {
            const double angle = rng.uniform(0.0, 2.0 * kPi);
            const double length = rng.uniform(8.0, 26.0);
            const cv::Point b(a.x + int(length * std::cos(angle)), a.y + int(length * std::sin(angle)));
            cv::line(canvas, a, b, cv::Scalar(ink), thickness, cv::LINE_8);
        } else {
            const cv::Size axes(rng.integer(4, 14), rng.integer(4, 14));
            const double start = rng.uniform(0.0, 360.0);
            cv::ellipse(canvas, a, axes, rng.uniform(0.0, 180.0), start, start + rng.uniform(60.0, 200.0),
                        cv::Scalar(ink), thickness, cv::LINE_8);
        }
    }
}

// Maps the canvas onto the 28x28 output: halve, then rotate/scale/shear about the centre and shift.
cv::Mat randomWarp(SampleRng& rng)
{
    const double angle = rng.uniform(-20.0, 20.0) * kPi / 180.0;
    const double scaleX = rng.uniform(0.8, 1.2);
    const double scaleY = scaleX * rng.uniform(0.9, 1.1);
    const double shear = rng.uniform(-0.3, 0.3);
    const double shiftX = rng.uniform(-3.0, 3.0);
    const double shiftY = rng.uniform(-3.0, 3.0);

    // A = R * Sh * S * 0.5, applied to canvas coordinates relative to the canvas centre.
    const double c = std::cos(angle), s = std::sin(angle);
    const double m00 = 0.5 * scaleX, m01 = 0.5 * shear * scaleY, m11 = 0.5 * scaleY;
    const double a00 = c * m00, a01 = c * m01 - s * m11;
    const double a10 = s * m00, a11 = s * m01 + c * m11;
    const double cc = kCanvas / 2.0, oc = kSide / 2.0;
    cv::Mat warp = (cv::Mat_<double>(2, 3) << a00, a01, oc + shiftX - (a00 * cc + a01 * cc),
                                               a10, a11, oc + shiftY - (a10 * cc + a11 * cc));
    return warp;
}

void addNoise(cv::Mat& image, SampleRng& rng)
{
    const float sigma = float(rng.uniform(8.0, 36.0));
    const float background = float(rng.uniform(0.0, 30.0));
    const float contrast = float(rng.uniform(0.75, 1.0));
    for (int y = 0; y < kSide; ++y) {
        uint8_t* row = image.ptr<uint8_t>(y);
        for (int x = 0; x < kSide; ++x) {
            const float v = background + contrast * float(row[x]) + sigma * rng.normal();
            // min/max rather than clamp: branch-free, and dark pixels clip often enough to mispredict.
            row[x] = uint8_t(std::min(std::max(v + 0.5f, 0.0f), 255.0f));
        }
    }
}

} // namespace

DatasetSplit generateSyntheticDigits(int64_t count, uint64_t seed, SyntheticSplit split)
{
    if (count < 0)
        throw std::invalid_argument("generateSyntheticDigits: negative count");
    DatasetSplit out;
    out.images = torch::empty({count, 1, kSide, kSide}, torch::kUInt8);
    out.labels = torch::empty({count}, torch::kLong);
    uint8_t* pixels = out.images.data_ptr<uint8_t>();
    int64_t* labels = out.labels.data_ptr<int64_t>();

    const uint64_t stream = mixSeed(seed, static_cast<uint64_t>(split));
    // Samples are independent (each draws from its own generator), so threads change only the time.
    parallelFor(0, count, 256, [&](int64_t begin, int64_t end) {
        cv::Mat canvas(kCanvas, kCanvas, CV_8UC1);
        for (int64_t i = begin; i < end; ++i) {
            SampleRng rng(mixSeed(stream, uint64_t(i)));
            const int digit = int(i % 10);
            canvas.setTo(cv::Scalar(0));
            drawGlyph(canvas, digit, rng);
            drawClutter(canvas, rng);
            // Writes straight into the tensor's storage: no per-sample allocation or copy.
            cv::Mat image(kSide, kSide, CV_8UC1, pixels + i * kSide * kSide);
            cv::warpAffine(canvas, image, randomWarp(rng), image.size(), cv::INTER_LINEAR,
                           cv::BORDER_CONSTANT, cv::Scalar(0));
            addNoise(image, rng);
            labels[i] = digit;
        }
    });
    return out;
}

} // namespace srigl

#else // no OpenCV: the glyphs cannot be drawn

#include "engine/errors.hpp"

namespace srigl {

DatasetSplit generateSyntheticDigits(int64_t, uint64_t, SyntheticSplit)
{
    throw ConfigError("dataset", "the synthetic digits are drawn with OpenCV, which this build lacks; use "
                                 "dataset=synthetic_cifar, or mnist/fashion_mnist/cifar10 files");
}

} // namespace srigl

#endif
