// The direct condensed convolution against LibTorch's dense conv2d with the masked weight: forward,
// grad_input, grad_values and grad_bias on odd shapes, paddings, kernels and strides 1-3, k = 1 and
// k = every tap, int16 and int32 indices, ablated rows, batch 1 and many, every instruction set this
// CPU runs; the result independent of the thread count; the double fallback; and bad input.
#include <torch/torch.h>

#include <QtTest>

#include "engine/kernels/condensed_conv.hpp"
#include "engine/kernels/condensed_conv_autograd.hpp"
#include "engine/models/condensed_weights.hpp"
#include "tests/support/guarded.hpp"

#include <algorithm>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using namespace srigl;
using namespace srigl::kernels;

namespace {

struct ConvCase {
    int64_t batch, channels, height, width, out, kernelH, kernelW, padding, k;
    bool ablate = false;
    int64_t stride = 1;

    int64_t outH() const { return (height + 2 * padding - kernelH) / stride + 1; }
    int64_t outW() const { return (width + 2 * padding - kernelW) / stride + 1; }
};

// A condensed Conv2d: every row keeps k distinct random taps (in shuffled order); ablated rows keep
// zero weights, as CondensedWeights stores them.
struct ConvLayer {
    torch::Tensor values, indices, bias; // [out, k], [out, k] int64, [out]
    int64_t taps = 0;

    torch::Tensor denseWeight(const ConvCase& c) const {
        return torch::zeros({values.size(0), taps}, values.options())
            .scatter_(1, indices, values)
            .view({values.size(0), c.channels, c.kernelH, c.kernelW});
    }
};

ConvLayer makeLayer(const ConvCase& c, uint64_t seed, torch::ScalarType dtype = torch::kFloat) {
    torch::manual_seed(seed);
    ConvLayer l;
    l.taps = c.channels * c.kernelH * c.kernelW;
    l.values = torch::randn({c.out, c.k}, dtype);
    l.bias = torch::randn({c.out}, dtype);
    std::vector<torch::Tensor> picks;
    for (int64_t r = 0; r < c.out; ++r) picks.push_back(torch::randperm(l.taps).slice(0, 0, c.k));
    l.indices = torch::stack(picks);
    if (c.ablate) l.values.index_put_({torch::arange(0, c.out, 3)}, 0.0);
    return l;
}

std::vector<Isa> isasHere() {
    std::vector<Isa> isas{Isa::Portable};
    for (Isa isa : {Isa::Avx2, Isa::Avx512})
        if (isaSupported(isa)) isas.push_back(isa);
    return isas;
}

void expectClose(const torch::Tensor& got, const torch::Tensor& want, const std::string& what,
                 double tolerance = 1e-4) {
    QCOMPARE(got.sizes().vec(), want.sizes().vec());
    const double scale = std::max(1.0, want.abs().max().item<double>());
    const double error = (got - want).abs().max().item<double>() / scale;
    QVERIFY2(error <= tolerance, (what + ": max error " + std::to_string(error)).c_str());
}

// Forward, grad_input, grad_values and grad_bias of the condensed layer against LibTorch's dense
// convolution of the same weights (int16 indices; the forward with int32 ones too).
void expectGradientsMatch(const ConvCase& c, Isa isa, uint64_t seed, const std::string& what) {
    const ConvLayer l = makeLayer(c, seed);
    const auto x0 = torch::randn({c.batch, c.channels, c.height, c.width});
    const auto upstream = torch::randn({c.batch, c.out, c.outH(), c.outW()});

    auto xd = x0.clone().requires_grad_(true);
    auto wd = l.denseWeight(c).requires_grad_(true);
    auto bd = l.bias.clone().requires_grad_(true);
    const auto yd = torch::conv2d(xd, wd, bd, c.stride, c.padding);
    (yd * upstream).sum().backward();

    auto xc = x0.clone().requires_grad_(true);
    auto vc = l.values.clone().requires_grad_(true);
    auto bc = l.bias.clone().requires_grad_(true);
    const auto yc =
        condensedConv2d(xc, vc, l.indices.to(torch::kShort), bc, c.kernelH, c.kernelW, c.padding, c.stride, isa);
    (yc * upstream).sum().backward();
    const std::string where = toString(isa) + " " + what;
    expectClose(yc, yd, "forward " + where);
    expectClose(condensedConv2d(x0, l.values, l.indices.to(torch::kInt), l.bias, c.kernelH, c.kernelW, c.padding,
                                c.stride, isa),
                yd, "forward (int32 indices) " + where);
    expectClose(xc.grad(), xd.grad(), "grad_input " + where);
    const auto denseGradAtTaps = wd.grad().view({c.out, -1}).gather(1, l.indices);
    expectClose(vc.grad(), denseGradAtTaps, "grad_values " + where);
    expectClose(bc.grad(), bd.grad(), "grad_bias " + where);
}

const std::vector<ConvCase>& cases() {
    static const std::vector<ConvCase> all = {
        {4, 1, 28, 28, 6, 5, 5, 2, 3, false},   // LeNet-5's conv1 at 88%
        {5, 6, 14, 14, 16, 5, 5, 0, 15, true},  // conv2 at 90%, ablated rows
        {1, 3, 7, 9, 5, 3, 3, 1, 1, false},     // k = 1, batch 1, odd sizes
        {3, 2, 5, 6, 4, 3, 2, 0, 12, false},    // k = every tap, rectangular kernel
        {2, 4, 9, 7, 7, 1, 1, 0, 3, true},      // 1x1 convolution
        {33, 3, 11, 13, 9, 3, 3, 2, 10, false}, // more images than grad_values' groups, wide padding
        {2, 40, 4, 4, 8, 3, 3, 1, 200, false},  // many channels on a tiny image
        {700, 2, 5, 5, 3, 3, 3, 0, 5, false},   // more images than stacked blocks: groups run 20, then 1 or 2
        // Borders shared between rows and images (ConvGeometry::sharedBorder) where padding <= kernel - 1.
        {37, 3, 4, 4, 5, 3, 3, 1, 10, true},    // stacked blocks of 5 and 4 images: a short block's next slot
        {3, 2, 5, 6, 4, 3, 2, 1, 5, true},      // rectangular kernel, padding = the narrower side less one
        {3, 2, 6, 5, 4, 1, 1, 1, 2, false},     // 1x1 with padding 1: too wide a border to share
        {2, 3, 5, 5, 4, 3, 3, 3, 9, false},     // 3x3 with padding 3: too wide a border to share
        {2, 2, 6, 7, 3, 2, 5, 2, 7, false},     // 2x5 with padding 2: too wide along one axis only
        // Strided: every tap reads a phase plane (condensed_conv.hpp).
        {3, 5, 9, 11, 7, 3, 3, 1, 12, true, 2},   // ResNet's 3x3 stride 2, odd sizes, ablated rows
        {2, 4, 8, 8, 6, 1, 1, 0, 2, false, 2},    // ResNet's 1x1 stride-2 downsample: one phase of four
        {2, 3, 13, 10, 5, 5, 5, 2, 20, true, 2},  // 5x5, padding 2
        {2, 3, 7, 8, 4, 2, 3, 1, 6, false, 2},    // rectangular kernel: two phases down, two across
        {33, 2, 9, 9, 4, 3, 3, 2, 18, false, 2},  // k = every tap, more images than groups
        {2, 2, 3, 3, 3, 3, 3, 0, 5, false, 2},    // a single output pixel, the last row and column unread
        {2, 3, 11, 7, 4, 3, 3, 0, 9, false, 3},   // stride 3, no padding
        {3, 2, 10, 9, 5, 5, 5, 1, 17, true, 3},   // 5x5 stride 3, ablated rows
        {1, 4, 7, 7, 3, 1, 1, 2, 3, false, 3},    // 1x1 stride 3 over a wide border (some outputs read zeros)
    };
    return all;
}

} // namespace

class TestCondensedConv : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void forwardMatchesDenseConvolution();
    void gradientsMatchDenseConvolution();
    void randomGeometriesMatchDenseConvolution();
    void resultsDoNotDependOnThreads();
    void doubleFallbackMatchesDenseConvolution();
    void captureGivesTheDenseGradientAtAnyStride();
    void badInputIsRefused();
};

void TestCondensedConv::forwardMatchesDenseConvolution() {
    guarded([] {
        uint64_t seed = 1;
        for (const ConvCase& c : cases())
            for (auto indexType : {torch::kShort, torch::kInt})
                for (Isa isa : isasHere()) {
                    const ConvLayer l = makeLayer(c, seed++);
                    const auto x = torch::randn({c.batch, c.channels, c.height, c.width});
                    const auto want = torch::conv2d(x, l.denseWeight(c), l.bias, c.stride, c.padding);
                    const auto got = condensedConv2d(x, l.values, l.indices.to(indexType), l.bias, c.kernelH, c.kernelW,
                                                     c.padding, c.stride, isa);
                    expectClose(got, want, "forward " + toString(isa) + " case " + std::to_string(seed));
                    const auto noBias = condensedConv2d(x, l.values, l.indices.to(indexType), torch::Tensor(),
                                                        c.kernelH, c.kernelW, c.padding, c.stride, isa);
                    expectClose(noBias, torch::conv2d(x, l.denseWeight(c), {}, c.stride, c.padding),
                                "forward without bias");
                }
    });
}

void TestCondensedConv::gradientsMatchDenseConvolution() {
    guarded([] {
        uint64_t seed = 100;
        for (const ConvCase& c : cases())
            for (Isa isa : isasHere()) {
                expectGradientsMatch(c, isa, seed, "case " + std::to_string(seed));
                ++seed;
            }
        // Only the gradients asked for: the first layer's input needs none.
        const ConvCase c = cases()[0];
        const ConvLayer l = makeLayer(c, 7);
        auto v = l.values.clone().requires_grad_(true);
        auto x = torch::randn({c.batch, c.channels, c.height, c.width});
        condensedConv2d(x, v, l.indices, l.bias, c.kernelH, c.kernelW, c.padding).sum().backward();
        QVERIFY(v.grad().defined());
        QVERIFY(!x.grad().defined());
    });
}

// Geometries drawn at random (fixed seed), small enough to run in a second on every instruction set:
// image sides from 1, kernels up to 5 (rectangular), padding up to 3 (shared borders and wider ones),
// strides 1-3, batches that stack into short blocks, k from 1 to every tap, ablated rows.
void TestCondensedConv::randomGeometriesMatchDenseConvolution() {
    guarded([] {
        std::mt19937 draw(2026);
        auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(draw); };
        int tried = 0, shared = 0;
        while (tried < 60) {
            ConvCase c{pick(1, 19), pick(1, 5), pick(1, 9), pick(1, 9), pick(1, 6), pick(1, 5), pick(1, 5), pick(0, 3), 1,
                       pick(0, 1) == 1, pick(1, 3)};
            if (tried < 20) { // the first third with shared borders: stride 1, padding 1 .. kernel - 1
                c.stride = 1;
                c.kernelH = pick(2, 5);
                c.kernelW = pick(2, 5);
                c.padding = pick(1, std::min(c.kernelH, c.kernelW) - 1);
            }
            if (c.height + 2 * c.padding < c.kernelH || c.width + 2 * c.padding < c.kernelW) continue;
            c.k = pick(1, c.channels * c.kernelH * c.kernelW);
            const ConvGeometry g{c.batch, c.channels, c.height, c.width, c.kernelH, c.kernelW, c.padding, c.stride};
            shared += g.sharedBorder() ? 1 : 0;
            for (Isa isa : isasHere())
                expectGradientsMatch(c, isa, 500 + static_cast<uint64_t>(tried),
                                     QStringLiteral("random case %1: batch %2, %3 channels, %4x%5, kernel %6x%7, "
                                                    "padding %8, stride %9")
                                         .arg(tried)
                                         .arg(c.batch)
                                         .arg(c.channels)
                                         .arg(c.height)
                                         .arg(c.width)
                                         .arg(c.kernelH)
                                         .arg(c.kernelW)
                                         .arg(c.padding)
                                         .arg(c.stride)
                                         .toStdString());
            ++tried;
        }
        QVERIFY2(shared >= 20, qPrintable(QStringLiteral("only %1 shared-border geometries drawn").arg(shared)));
    });
}

// Forward and both gradients are bit-identical on 1 and 2 threads (grad_values sums fixed groups of
// images in a fixed order; grad_input is written per image and input channel), strided or not, on
// every instruction set.
void TestCondensedConv::resultsDoNotDependOnThreads() {
    guarded([] {
        for (const ConvCase& c : {ConvCase{37, 6, 14, 14, 16, 5, 5, 1, 20, true},
                                  ConvCase{35, 8, 15, 15, 12, 3, 3, 1, 30, true, 2},
                                  ConvCase{34, 8, 16, 16, 12, 1, 1, 0, 3, false, 2},
                                  ConvCase{33, 4, 13, 14, 6, 5, 5, 2, 40, false, 3}})
            for (Isa isa : isasHere()) {
                const ConvLayer l = makeLayer(c, 11);
                const auto idx = l.indices.to(torch::kInt);
                const auto x = torch::randn({c.batch, c.channels, c.height, c.width});
                const ConvGeometry g{c.batch, c.channels, c.height, c.width, c.kernelH, c.kernelW, c.padding, c.stride};
                CondensedView view;
                view.values = l.values.data_ptr<float>();
                view.indices = idx.data_ptr();
                view.indices16 = false;
                view.rows = c.out;
                view.k = c.k;
                view.inFeatures = l.taps;
                view.bias = l.bias.data_ptr<float>();
                const auto gy = torch::randn({c.batch, c.out, g.outH(), g.outW()});
                std::vector<torch::Tensor> results[2];
                for (int threads : {1, 2}) {
                    auto y = torch::empty({c.batch, c.out, g.outH(), g.outW()});
                    auto gx = torch::empty_like(x);
                    auto gv = torch::empty_like(l.values);
                    condensedConvForward(view, g, x.data_ptr<float>(), y.data_ptr<float>(), isa, threads);
                    condensedConvBackward(view, g, x.data_ptr<float>(), gy.data_ptr<float>(), gx.data_ptr<float>(),
                                          gv.data_ptr<float>(), isa, threads);
                    results[threads - 1] = {y, gx, gv};
                }
                for (size_t i = 0; i < 3; ++i)
                    QVERIFY2(torch::equal(results[0][i], results[1][i]),
                             ("stride " + std::to_string(c.stride) + " " + toString(isa)).c_str());
            }
    });
}

// Other dtypes take the unfold path through condensedLinear: in double it matches conv2d to 1e-12.
void TestCondensedConv::doubleFallbackMatchesDenseConvolution() {
    guarded([] {
        for (const ConvCase& c : {ConvCase{3, 2, 6, 7, 4, 3, 3, 1, 5, true}, ConvCase{3, 2, 9, 7, 4, 3, 3, 1, 5, true, 2}}) {
            const ConvLayer l = makeLayer(c, 21, torch::kDouble);
            auto x = torch::randn({c.batch, c.channels, c.height, c.width}, torch::kDouble).requires_grad_(true);
            auto v = l.values.clone().requires_grad_(true);
            const auto y = condensedConv2d(x, v, l.indices, l.bias, c.kernelH, c.kernelW, c.padding, c.stride);
            expectClose(y, torch::conv2d(x, l.denseWeight(c), l.bias, c.stride, c.padding), "double forward", 1e-12);
            y.sum().backward();
            auto xd = x.detach().clone().requires_grad_(true);
            torch::conv2d(xd, l.denseWeight(c), l.bias, c.stride, c.padding).sum().backward();
            expectClose(x.grad(), xd.grad(), "double grad_input", 1e-12);
        }
    });
}

// The training layer's path (condensedConvolution, what SparseConv2d runs condensed): with `capture`
// set before a mask update, each step's dense weight gradient of the strided convolution is added to
// the capture (no unfolded patches kept), so growth sees the window's sum and the update step's own
// gradient; the values' gradient is that gradient at the kept taps.
void TestCondensedConv::captureGivesTheDenseGradientAtAnyStride() {
    guarded([] {
        for (const ConvCase& c : {ConvCase{3, 4, 9, 9, 6, 3, 3, 1, 10, true}, ConvCase{3, 4, 9, 9, 6, 3, 3, 1, 10, true, 2},
                                  ConvCase{2, 5, 8, 8, 7, 1, 1, 0, 2, false, 2}}) {
            const ConvLayer l = makeLayer(c, 41);
            const auto mask = torch::zeros({c.out, l.taps}, torch::kBool).scatter_(1, l.indices, true);
            auto layer = std::make_shared<CondensedWeights>(condenseLayer(l.denseWeight(c).view({c.out, -1}), mask));
            layer->capture = true;
            auto wd = l.denseWeight(c).requires_grad_(true);
            const std::string where = "stride " + std::to_string(c.stride) + " kernel " + std::to_string(c.kernelH);
            torch::Tensor windowGrad = torch::zeros({c.out, l.taps});
            for (int step = 0; step < 2; ++step) {
                const auto x = torch::randn({c.batch, c.channels, c.height, c.width});
                const auto gy = torch::randn({c.batch, c.out, c.outH(), c.outW()});
                layer->values.mutable_grad() = torch::Tensor();
                const auto y = condensedConvolution(layer, x, l.bias, c.kernelH, c.padding, c.stride);
                y.backward(gy);

                wd.mutable_grad() = torch::Tensor();
                const auto yd = torch::conv2d(x, wd, l.bias, c.stride, c.padding);
                yd.backward(gy);
                expectClose(y.detach(), yd.detach(), "forward " + where);
                const auto denseGrad = wd.grad().view({c.out, -1});
                windowGrad += denseGrad;
                expectClose(layer->lastGrad, denseGrad, "the step's dense gradient " + where);
                expectClose(denseGradient(*layer), windowGrad, "captured dense gradient over the window " + where);
                expectClose(layer->values.grad(), gatherCondensed(*layer, denseGrad), "grad_values " + where);
            }
            QVERIFY2(layer->inputs.empty() && layer->gradOutputs.empty(), "a convolution keeps no patches");
        }
    });
}

void TestCondensedConv::badInputIsRefused() {
    guarded([] {
        const ConvCase c{2, 2, 6, 6, 3, 3, 3, 0, 4};
        const ConvLayer l = makeLayer(c, 31);
        const auto x = torch::randn({c.batch, c.channels, c.height, c.width});
        auto expectRefused = [](const std::function<void()>& call, const char* needle) {
            try {
                call();
            } catch (const std::invalid_argument& e) {
                QVERIFY2(std::string(e.what()).find(needle) != std::string::npos, e.what());
                return;
            }
            QFAIL(("no error; expected one naming: " + std::string(needle)).c_str());
        };
        auto outOfRange = l.indices.clone();
        outOfRange[1][2] = l.taps; // one past the last tap
        expectRefused([&] { condensedConv2d(x, l.values, outOfRange, l.bias, 3, 3, 0); }, "tap index");
        expectRefused([&] { condensedConv2d(x.flatten(1), l.values, l.indices, l.bias, 3, 3, 0); }, "shape [batch");
        expectRefused([&] { condensedConv2d(x, l.values, l.indices, l.bias, 7, 7, 0); }, "larger than the padded");
        expectRefused([&] { condensedConv2d(x, l.values, l.indices.slice(1, 0, 2), l.bias, 3, 3, 0); },
                      "shape of values");
        expectRefused([&] { condensedConv2d(x, l.values, l.indices, torch::randn({5}), 3, 3, 0); }, "bias");
        expectRefused([&] { condensedConv2d(x, l.values, l.indices, l.bias, 3, 3, 0, 0); }, "stride must be >= 1");
        // A layer whose taps do not match the input's channels is caught by the kernel's geometry check.
        const ConvGeometry g{2, 2, 6, 6, 3, 3, 0};
        CondensedView wrong;
        const auto idx = l.indices.to(torch::kInt);
        wrong.values = l.values.data_ptr<float>();
        wrong.indices = idx.data_ptr();
        wrong.indices16 = false;
        wrong.rows = c.out;
        wrong.k = c.k;
        wrong.inFeatures = l.taps + 1;
        auto y = torch::empty({2, c.out, 4, 4});
        expectRefused([&] { condensedConvForward(wrong, g, x.data_ptr<float>(), y.data_ptr<float>(), Isa::Portable); },
                      "inFeatures");
        // The kernels check every index themselves (int16 and int32, both ends), forward and backward.
        wrong.inFeatures = l.taps;
        auto past = idx.clone();
        past[c.out - 1][c.k - 1] = l.taps;
        wrong.indices = past.data_ptr();
        expectRefused([&] { condensedConvForward(wrong, g, x.data_ptr<float>(), y.data_ptr<float>(), Isa::Portable); },
                      "tap index lies outside");
        auto negative = l.indices.to(torch::kShort);
        negative[0][0] = -1;
        wrong.indices = negative.data_ptr();
        wrong.indices16 = true;
        auto gx = torch::empty_like(x);
        expectRefused(
            [&] {
                condensedConvBackward(wrong, g, x.data_ptr<float>(), y.data_ptr<float>(), gx.data_ptr<float>(), nullptr,
                                      Isa::Portable);
            },
            "tap index lies outside");
    });
}

QTEST_GUILESS_MAIN(TestCondensedConv)
#include "test_condensed_conv.moc"
