// The AVX-512 kernels run on this AVX-512-less CPU: srigl_avx512_emulated compiles their source files
// against SIMDe (engine/kernels/avx512_intrinsics.hpp) into srigl::kernels::detail::emulated, and each
// is checked against the portable kernel on the same inputs: the forward's gemv and batched rows. int16 and int32
// indices, odd sizes, k = 1 and k = inFeatures, partial blocks and row ranges. Small shapes: emulated
// AVX-512 runs some hundred times slower than native code.
#include <QtTest>

#include "engine/kernels/condensed_kernels.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

// What srigl_avx512_emulated defines (the engine headers declare the native twins in internal::).
namespace srigl::kernels::detail::emulated {
void gemvRowsAvx512(const CondensedView& layer, const float* x, float* y, int64_t r0, int64_t r1);
void gemmRowsAvx512(const BatchedArgs& args, int64_t r0, int64_t r1);
} // namespace srigl::kernels::detail::emulated

using namespace srigl::kernels;
namespace internal = srigl::kernels::detail; // not plain `detail`: Torch has one too
namespace emulated = srigl::kernels::detail::emulated;

namespace {

struct Shape {
    int64_t rows, inFeatures, k;
};

// Odd sizes; k = 1, k = inFeatures, k past the 16- and 64-pair steps of the kernels; the last needs
// int32 indices.
const Shape kShapes[] = {{13, 37, 1}, {9, 29, 29}, {21, 70, 17}, {17, 150, 67}, {6, 40000, 33}};

std::vector<float> normals(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> out(n);
    for (auto& v : out) v = normal(rng);
    return out;
}

// A condensed layer with distinct indices per row, row 0 reading the first and the last input.
struct Layer {
    Shape shape;
    std::vector<float> values, bias;
    std::vector<int32_t> idx32;
    std::vector<int16_t> idx16;

    Layer(Shape s, uint32_t seed) : shape(s) {
        values = normals(static_cast<size_t>(s.rows * s.k), seed);
        bias = normals(static_cast<size_t>(s.rows), seed + 1);
        std::mt19937 rng(seed + 2);
        std::vector<int32_t> all(static_cast<size_t>(s.inFeatures));
        for (int64_t r = 0; r < s.rows; ++r) {
            std::iota(all.begin(), all.end(), 0);
            std::shuffle(all.begin(), all.end(), rng);
            if (r == 0) {
                std::iter_swap(all.begin(), std::find(all.begin(), all.end(), 0));
                if (s.k > 1) std::iter_swap(all.begin() + 1, std::find(all.begin(), all.end(), s.inFeatures - 1));
            }
            idx32.insert(idx32.end(), all.begin(), all.begin() + s.k);
        }
        if (s.inFeatures <= 32768) idx16.assign(idx32.begin(), idx32.end());
    }

    // The index widths this layer can use.
    std::vector<bool> widths() const { return idx16.empty() ? std::vector<bool>{false} : std::vector<bool>{true, false}; }

    CondensedView view(bool indices16, bool withBias) const {
        CondensedView v;
        v.values = values.data();
        v.indices = indices16 ? static_cast<const void*>(idx16.data()) : static_cast<const void*>(idx32.data());
        v.indices16 = indices16;
        v.rows = shape.rows;
        v.k = shape.k;
        v.inFeatures = shape.inFeatures;
        v.bias = withBias ? bias.data() : nullptr;
        return v;
    }
};

// Largest |a - b| relative to the largest |b| (at least 1), as the native kernel tests measure; NaN
// (an output a kernel skipped) counts as infinitely wrong.
double relativeError(const std::vector<float>& a, const std::vector<float>& b) {
    double worst = 0, scale = 1;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::isnan(a[i]) != std::isnan(b[i])) return INFINITY;
        if (std::isnan(a[i])) continue;
        worst = std::max(worst, std::fabs(static_cast<double>(a[i]) - b[i]));
        scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
    }
    return worst / scale;
}

constexpr double kTolerance = 1e-5;

QByteArray describe(const Shape& s, bool indices16, int64_t batch, int64_t block) {
    return QStringLiteral("rows=%1 in=%2 k=%3 idx=%4 batch=%5 block=%6")
        .arg(s.rows)
        .arg(s.inFeatures)
        .arg(s.k)
        .arg(indices16 ? 16 : 32)
        .arg(batch)
        .arg(block)
        .toUtf8();
}

// x [batch, n] in the forward's transposed blocks [ceil(batch / block)][n][block], zero past the batch.
std::vector<float> packed(const std::vector<float>& x, int64_t batch, int64_t n, int64_t block) {
    std::vector<float> xT(static_cast<size_t>((batch + block - 1) / block * n * block));
    internal::packTransposedPortable(x.data(), batch, n, block, xT.data(), 0, n);
    return xT;
}

} // namespace

class TestAvx512Emulation : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void forwardGemvMatchesPortable();
    void forwardBatchedRowsMatchPortable();
};

void TestAvx512Emulation::forwardGemvMatchesPortable() {
    uint32_t seed = 1;
    for (const Shape& s : kShapes) {
        const Layer l(s, seed++);
        const std::vector<float> x = normals(static_cast<size_t>(s.inFeatures), seed++);
        for (bool indices16 : l.widths())
            for (bool withBias : {false, true}) {
                const CondensedView v = l.view(indices16, withBias);
                // A range inside the rows as well: NaN outside it must stay NaN.
                for (auto [r0, r1] : {std::pair<int64_t, int64_t>{0, s.rows}, {1, s.rows - 1}}) {
                    std::vector<float> want(static_cast<size_t>(s.rows), NAN), got = want;
                    internal::gemvRowsPortable(v, x.data(), want.data(), r0, r1);
                    emulated::gemvRowsAvx512(v, x.data(), got.data(), r0, r1);
                    QVERIFY2(relativeError(got, want) < kTolerance, describe(s, indices16, 1, 0).constData());
                }
            }
    }
}

void TestAvx512Emulation::forwardBatchedRowsMatchPortable() {
    uint32_t seed = 100;
    for (const Shape& s : kShapes) {
        const Layer l(s, seed++);
        for (int64_t batch : {1, 5, 17, 40})
            for (int64_t block : {16, 32, 64}) {
                const std::vector<float> x = normals(static_cast<size_t>(batch * s.inFeatures), seed++);
                const std::vector<float> xT = packed(x, batch, s.inFeatures, block);
                for (bool indices16 : l.widths()) {
                    const CondensedView v = l.view(indices16, batch % 2 == 1);
                    internal::BatchedArgs args{&v, xT.data(), batch, block, nullptr};
                    // Whole rows, and a range from the second 8-row tile (the kernels' tile size).
                    for (int64_t r0 : {int64_t{0}, std::min<int64_t>(8, s.rows)}) {
                        std::vector<float> want(static_cast<size_t>(batch * s.rows), NAN), got = want;
                        args.y = want.data();
                        internal::gemmRowsPortable(args, r0, s.rows);
                        args.y = got.data();
                        emulated::gemmRowsAvx512(args, r0, s.rows);
                        QVERIFY2(relativeError(got, want) < kTolerance, describe(s, indices16, batch, block).constData());
                    }
                }
            }
    }
}





QTEST_GUILESS_MAIN(TestAvx512Emulation)
#include "test_avx512_emulation.moc"
