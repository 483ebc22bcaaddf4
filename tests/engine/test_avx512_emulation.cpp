// The AVX-512 kernels run on a CPU without AVX-512: srigl_avx512_emulated compiles their source files
// against SIMDe (engine/kernels/avx512_intrinsics.hpp) into srigl::kernels::detail::emulated, and each
// is checked against the portable kernel on the same inputs: the forward's batched rows, the backward's
// gather, the convolution's shifted sums and dots (batch 1 and the backward's scatter and dots run the
// AVX2 kernels on AVX-512 CPUs). int16 and int32 indices, odd sizes, k = 1 and k = inFeatures, partial
// blocks and row ranges. Small shapes: emulated AVX-512 runs some hundred times slower than native
// code. (On an AVX-512 CPU the native kernels run in every other kernel suite as well.)
#include <QtTest>

#include "engine/kernels/avx512_dispatch.hpp"
#include "engine/kernels/condensed_backward.hpp"
#include "engine/kernels/condensed_conv.hpp"
#include "engine/kernels/condensed_kernels.hpp"
#include "engine/kernels/condensed_training.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

// What srigl_avx512_emulated defines (the engine headers declare the native twins in internal::).
namespace srigl::kernels::detail::emulated {
void gemmRowsAvx512(const BatchedArgs& args, int64_t r0, int64_t r1);
void gatherColsAvx512(const GatherArgs& args, int64_t f0, int64_t f1);
void shiftedSumAvx512(const float* src, const int32_t* offset, const float* v, int64_t k, int64_t length, float init,
                      float* out);
void shiftedDotsAvx512(const float* g, const float* src, const int32_t* offset, int64_t k, int64_t length, float* acc);
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
    std::vector<bool> widths() const {
        return idx16.empty() ? std::vector<bool>{false} : std::vector<bool>{true, false};
    }

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

// The layer transposed into compressed columns (internal::Columns), entries of a column in row order.
struct ColumnStore {
    std::vector<int64_t> start;
    std::vector<int32_t> row;
    std::vector<float> value;

    explicit ColumnStore(const Layer& l) {
        const Shape& s = l.shape;
        start.assign(static_cast<size_t>(s.inFeatures + 1), 0);
        for (int32_t i : l.idx32) ++start[static_cast<size_t>(i) + 1];
        std::partial_sum(start.begin(), start.end(), start.begin());
        std::vector<int64_t> cursor(start.begin(), start.end() - 1);
        row.resize(l.idx32.size());
        value.resize(l.idx32.size());
        for (size_t e = 0; e < l.idx32.size(); ++e) {
            const auto at = static_cast<size_t>(cursor[static_cast<size_t>(l.idx32[e])]++);
            row[at] = static_cast<int32_t>(static_cast<int64_t>(e) / s.k);
            value[at] = l.values[e];
        }
    }
    internal::Columns columns() const { return {start.data(), row.data(), value.data()}; }
};

// A convolution's kept taps as the callers address them (condensed_conv.cpp, tapOffsets): channel c,
// tap (dy, dx) reads phase plane (c, dy % s, dx % s) at dy / s rows and dx / s columns.
struct ConvTaps {
    ConvGeometry g;
    std::vector<int32_t> offsets;
    int64_t imageFloats = 0, wide = 0;

    ConvTaps(const ConvGeometry& geometry, int64_t k, uint32_t seed) : g(geometry) {
        const int64_t s = g.stride, plane = g.planeH() * g.planeW();
        // With shared borders (stride 1, padding 1 here) a pass reads planeTail() floats past the planes.
        imageFloats = g.channels * g.phasesH() * g.phasesW() * plane + g.planeTail();
        wide = (g.outH() - 1) * g.planeW() + g.outW();
        std::vector<int64_t> taps(static_cast<size_t>(g.taps()));
        std::iota(taps.begin(), taps.end(), 0);
        std::shuffle(taps.begin(), taps.end(), std::mt19937(seed));
        for (int64_t j = 0; j < k; ++j) {
            const int64_t tap = taps[static_cast<size_t>(j)], area = g.kernelH * g.kernelW;
            const int64_t c = tap / area, dy = tap % area / g.kernelW, dx = tap % g.kernelW;
            const int64_t phase = (c * g.phasesH() + dy % s) * g.phasesW() + dx % s;
            offsets.push_back(static_cast<int32_t>(phase * plane + dy / s * g.planeW() + dx / s));
        }
    }
};

QByteArray describe(const ConvTaps& c, int64_t length) {
    return QStringLiteral("stride=%1 padding=%2 k=%3 length=%4")
        .arg(c.g.stride)
        .arg(c.g.padding)
        .arg(c.offsets.size())
        .arg(length)
        .toUtf8();
}

std::vector<ConvTaps> convCases() {
    std::vector<ConvTaps> cases;
    uint32_t seed = 50;
    for (int64_t stride : {1, 2})
        for (int64_t padding : {0, 1})
            for (int64_t k : {1, 4, 7, 27}) {
                ConvGeometry g;
                g.batch = 1;
                g.channels = 3;
                g.height = 11 + stride; // outputs of 81..169 wide pixels: full vectors, 128-blocks, tails
                g.width = 13;
                g.kernelH = g.kernelW = 3;
                g.padding = padding;
                g.stride = stride;
                cases.emplace_back(g, k, seed++);
            }
    return cases;
}

} // namespace

class TestAvx512Emulation : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void forwardBatchedRowsMatchPortable();
    void gradInputGatherMatchesPortable();
    void convShiftedSumMatchesPortable();
    void convShiftedDotsMatchPortable();
    void wholeLinearPathsMatchPortable();
    void wholeConvolutionPathsMatchPortable();
};

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
                        QVERIFY2(relativeError(got, want) < kTolerance,
                                 describe(s, indices16, batch, block).constData());
                    }
                }
            }
    }
}

void TestAvx512Emulation::gradInputGatherMatchesPortable() {
    uint32_t seed = 300;
    for (const Shape& s : kShapes) {
        const Layer l(s, seed++);
        const ColumnStore store(l);
        for (int64_t batch : {4, 16, 37, 70})
            for (int64_t block : {16, 32}) {
                const std::vector<float> gy = normals(static_cast<size_t>(batch * s.rows), seed++);
                const std::vector<float> gyT = packed(gy, batch, s.rows, block);
                // Input ranges as the dispatch splits them, and one whose parts are not multiples of 16.
                const int64_t cut = std::min<int64_t>(24, s.inFeatures);
                std::vector<float> want(static_cast<size_t>(batch * s.inFeatures), NAN), got = want;
                for (int64_t blk = 0; blk * block < batch; ++blk) {
                    internal::GatherArgs args;
                    args.cols = store.columns();
                    args.gyT = gyT.data() + blk * s.rows * block;
                    args.block = block;
                    args.inFeatures = s.inFeatures;
                    args.b0 = blk * block;
                    args.nb = std::min(block, batch - args.b0);
                    for (auto [f0, f1] : {std::pair<int64_t, int64_t>{0, cut}, {cut, s.inFeatures}}) {
                        args.gx = want.data();
                        internal::gatherColsPortable(args, f0, f1);
                        args.gx = got.data();
                        emulated::gatherColsAvx512(args, f0, f1);
                    }
                }
                QVERIFY2(relativeError(got, want) < kTolerance, describe(s, false, batch, block).constData());
            }
    }
}

void TestAvx512Emulation::convShiftedSumMatchesPortable() {
    for (const ConvTaps& c : convCases()) {
        const std::vector<float> image = normals(static_cast<size_t>(c.imageFloats), 60);
        const std::vector<float> v = normals(c.offsets.size(), 61);
        const auto k = static_cast<int64_t>(c.offsets.size());
        // Every prefix length up to the whole wide output: full 128-blocks, single vectors, tails.
        for (int64_t length : {int64_t{1}, int64_t{15}, int64_t{16}, int64_t{47}, c.wide}) {
            std::vector<float> want(static_cast<size_t>(c.wide + 16), NAN), got = want;
            internal::shiftedSumPortable(image.data(), c.offsets.data(), v.data(), k, length, 0.5f, want.data());
            emulated::shiftedSumAvx512(image.data(), c.offsets.data(), v.data(), k, length, 0.5f, got.data());
            QVERIFY2(relativeError(got, want) < kTolerance, describe(c, length).constData());
        }
    }
}

void TestAvx512Emulation::convShiftedDotsMatchPortable() {
    for (const ConvTaps& c : convCases()) {
        const std::vector<float> image = normals(static_cast<size_t>(c.imageFloats), 70);
        const std::vector<float> g = normals(static_cast<size_t>(c.wide), 71);
        const auto k = static_cast<int64_t>(c.offsets.size());
        for (int64_t length : {int64_t{1}, int64_t{16}, int64_t{47}, c.wide}) {
            std::vector<float> want = normals(c.offsets.size(), 72), got = want;
            internal::shiftedDotsPortable(g.data(), image.data(), c.offsets.data(), k, length, want.data());
            emulated::shiftedDotsAvx512(g.data(), image.data(), c.offsets.data(), k, length, got.data());
            QVERIFY2(relativeError(got, want) < kTolerance, describe(c, length).constData());
        }
    }
}

// From here on Isa::Avx512 runs the emulated kernels (avx512_dispatch.hpp), so the public functions
// take their AVX-512 paths on this CPU: the batch blocks of 16 and 32, the 16-aligned splits over
// threads, the packing. Each is compared with the portable path, and with itself on another thread
// count (results must not depend on it).
// Calls of each emulated kernel through dispatch: the whole-path tests check that Isa::Avx512 reached
// every one of them (a path that quietly ran the AVX2 or portable kernels would pass the comparisons).
enum Kernel { Gemm, Gather, ShiftedSum, ShiftedDots, KernelCount };
std::atomic<int> calls[KernelCount];

template <Kernel K, auto F>
struct Counted {
    template <typename... A>
    static void run(A... a) {
        ++calls[K];
        F(a...);
    }
};

static void installEmulatedKernels() {
    internal::Avx512Kernels k;
    k.gemm = Counted<Gemm, emulated::gemmRowsAvx512>::run;
    k.gather = Counted<Gather, emulated::gatherColsAvx512>::run;
    k.shiftedSum = Counted<ShiftedSum, emulated::shiftedSumAvx512>::run;
    k.shiftedDots = Counted<ShiftedDots, emulated::shiftedDotsAvx512>::run;
    internal::emulateAvx512(k);
}

// run(isa, threads) gives a path's outputs: with Isa::Avx512 they must match the portable path's, and
// be the same on 1 and 2 threads.
template <typename Run>
bool avx512PathMatchesPortable(Run run, const QByteArray& what) {
    const auto want = run(Isa::Portable, 1);
    const auto one = run(Isa::Avx512, 1), two = run(Isa::Avx512, 2);
    for (size_t i = 0; i < want.size(); ++i) {
        if (relativeError(one[i], want[i]) >= kTolerance) {
            qWarning("output %zu differs from the portable path's: %s", i, what.constData());
            return false;
        }
        if (one[i] != two[i]) {
            qWarning("output %zu depends on the thread count: %s", i, what.constData());
            return false;
        }
    }
    return true;
}

void TestAvx512Emulation::wholeLinearPathsMatchPortable() {
    installEmulatedKernels();
    for (auto& c : calls) c = 0;
    QVERIFY(isaSupported(Isa::Avx512));
    QVERIFY(detectIsa() == Isa::Avx512 || qEnvironmentVariableIsSet("SRIGL_KERNEL_ISA"));
    // The last shape is large enough (batch 64: 430K multiply-adds) for the kernels to use 2 threads.
    const Shape shapes[] = {{13, 37, 1}, {21, 70, 17}, {6, 40000, 33}, {96, 700, 70}};
    uint32_t seed = 500;
    for (const Shape& s : shapes) {
        const Layer l(s, seed++);
        for (int64_t batch : {int64_t{1}, int64_t{3}, int64_t{17}, int64_t{64}, int64_t{70}}) {
            const std::vector<float> x = normals(static_cast<size_t>(batch * s.inFeatures), seed++);
            const std::vector<float> gy = normals(static_cast<size_t>(batch * s.rows), seed++);
            for (bool indices16 : l.widths()) {
                const CondensedView v = l.view(indices16, true);
                const QByteArray what = describe(s, indices16, batch, 0);
                auto run = [&](Isa isa, int threads) {
                    std::vector<float> y(static_cast<size_t>(batch * s.rows), NAN);
                    std::vector<float> gx(static_cast<size_t>(batch * s.inFeatures), NAN);
                    std::vector<float> gv(static_cast<size_t>(s.rows * s.k), NAN);
                    condensedForward(v, x.data(), batch, y.data(), isa, threads);
                    condensedGradInput(v, gy.data(), batch, gx.data(), isa, threads);
                    condensedGradValues(v, x.data(), gy.data(), batch, gv.data(), isa, threads);
                    // The training passes (the forward keeping xT, the fused backward over the cached
                    // column layout) dispatch through the same table.
                    const int64_t block = trainingBlock(batch);
                    std::vector<float> ty(y.size(), NAN), tgx(gx.size(), NAN), tgv(gv.size(), NAN);
                    if (block > 0) {
                        std::vector<float> xT(static_cast<size_t>(packedFloats(batch, s.inFeatures, block)));
                        const ColumnLayout columns = buildColumnLayout(v);
                        condensedForwardTraining(v, x.data(), batch, block, xT.data(), ty.data(), isa, threads);
                        condensedBackwardTraining(v, &columns, xT.data(), gy.data(), batch, block, tgx.data(),
                                                  tgv.data(), isa, threads);
                    } else {
                        ty = y, tgx = gx, tgv = gv;
                    }
                    return std::vector<std::vector<float>>{y, gx, gv, ty, tgx, tgv};
                };
                QVERIFY(avx512PathMatchesPortable(run, what));
            }
        }
    }
    for (Kernel k : {Gemm, Gather}) QVERIFY2(calls[k] > 0, "an AVX-512 kernel was never dispatched");
}

void TestAvx512Emulation::wholeConvolutionPathsMatchPortable() {
    installEmulatedKernels();
    for (auto& c : calls) c = 0;
    // 3x3 at strides 1 and 2 (padded), and the 1x1 stride-2 shortcut.
    const ConvGeometry geometries[] = {{4, 8, 16, 16, 3, 3, 1, 1}, {3, 4, 9, 9, 3, 3, 1, 2}, {2, 6, 8, 8, 1, 1, 0, 2}};
    uint32_t seed = 900;
    for (const ConvGeometry& g : geometries) {
        const int64_t rows = 5, taps = g.taps();
        for (int64_t k : {int64_t{1}, taps / 3, taps}) {
            const Layer l({rows, taps, k}, seed++);
            const CondensedView v = l.view(true, true);
            const std::vector<float> x = normals(static_cast<size_t>(g.batch * g.channels * g.height * g.width), seed++);
            const int64_t outSize = g.batch * rows * g.outH() * g.outW();
            const std::vector<float> gy = normals(static_cast<size_t>(outSize), seed++);
            const QByteArray what = QStringLiteral("conv %1x%2 stride %3, %4 channels, k=%5")
                                        .arg(g.kernelH)
                                        .arg(g.kernelW)
                                        .arg(g.stride)
                                        .arg(g.channels)
                                        .arg(k)
                                        .toUtf8();
            auto run = [&](Isa isa, int threads) {
                std::vector<float> y(static_cast<size_t>(outSize), NAN);
                std::vector<float> gx(x.size(), NAN), gv(static_cast<size_t>(rows * k), NAN);
                condensedConvForward(v, g, x.data(), y.data(), isa, threads);
                condensedConvBackward(v, g, x.data(), gy.data(), gx.data(), gv.data(), isa, threads);
                return std::vector<std::vector<float>>{y, gx, gv};
            };
            QVERIFY(avx512PathMatchesPortable(run, what));
        }
    }
    for (Kernel c : {ShiftedSum, ShiftedDots}) QVERIFY2(calls[c] > 0, "an AVX-512 kernel was never dispatched");
}

QTEST_GUILESS_MAIN(TestAvx512Emulation)
#include "test_avx512_emulation.moc"
