// Training through a condensed constant fan-in layer: the backward kernels and the autograd Function
// against the dense masked layer (x @ (W*M)^T) in double, a finite-difference check, and SGD steps.
#include <torch/torch.h>

#include <QtTest>

#include "engine/kernels/condensed_autograd.hpp"
#include "engine/kernels/condensed_backward.hpp"
#include "engine/kernels/condensed_training.hpp"
#include "tests/support/guarded.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

using namespace srigl;
using namespace srigl::kernels;

namespace {

// A condensed layer as tensors: every row has k distinct random inputs in shuffled order (int64).
struct Layer {
    torch::Tensor values, indices, bias; // [rows, k] float, [rows, k] int64, [rows] float
    int64_t inFeatures = 0;

    int64_t rows() const { return values.size(0); }
    int64_t k() const { return values.size(1); }
    // The dense [rows, inFeatures] weight W*M the condensed layer stands for.
    torch::Tensor dense() const {
        return torch::zeros({rows(), inFeatures}, values.options()).scatter_(1, indices, values);
    }
};

// The kernels' view of a layer with these indices (int16 or int32, contiguous).
CondensedView viewOf(const Layer& l, const torch::Tensor& idx) {
    CondensedView v;
    v.values = l.values.data_ptr<float>();
    v.indices = idx.data_ptr();
    v.indices16 = idx.scalar_type() == torch::kShort;
    v.rows = l.rows();
    v.k = l.k();
    v.inFeatures = l.inFeatures;
    return v;
}

Layer makeLayer(int64_t rows, int64_t inFeatures, int64_t k, uint64_t seed) {
    torch::manual_seed(seed);
    Layer l;
    l.inFeatures = inFeatures;
    l.values = torch::randn({rows, k});
    l.bias = torch::randn({rows});
    std::vector<torch::Tensor> picks;
    for (int64_t r = 0; r < rows; ++r) picks.push_back(torch::randperm(inFeatures).slice(0, 0, k));
    l.indices = torch::stack(picks);
    return l;
}

std::vector<Isa> supportedIsas() {
    std::vector<Isa> out;
    for (Isa isa : {Isa::Portable, Isa::Avx2, Isa::Avx512})
        if (isaSupported(isa)) out.push_back(isa);
    return out;
}

// Largest |a - b| relative to the largest |b| (at least 1): float sums of a few hundred terms.
double relativeError(const torch::Tensor& a, const torch::Tensor& b) {
    const torch::Tensor bd = b.to(torch::kDouble);
    const double scale = std::max(1.0, bd.abs().max().item<double>());
    return (a.to(torch::kDouble) - bd).abs().max().item<double>() / scale;
}

template <typename Exception, typename F>
bool throwsA(F&& f) {
    try {
        f();
    } catch (const Exception&) {
        return true;
    } catch (...) {
        return false;
    }
    return false;
}

struct KernelResult {
    torch::Tensor y, gx, gv;
};

KernelResult runKernels(const Layer& l, const torch::Tensor& idx, const torch::Tensor& x, const torch::Tensor& gy,
                        Isa isa, int threads) {
    CondensedView v = viewOf(l, idx);
    v.bias = l.bias.data_ptr<float>();
    const int64_t batch = x.size(0);
    KernelResult r{torch::empty({batch, l.rows()}), torch::full({batch, l.inFeatures}, 7.0f),
                   torch::full({l.rows(), l.k()}, 7.0f)};
    condensedForward(v, x.data_ptr<float>(), batch, r.y.data_ptr<float>(), isa, threads);
    condensedGradInput(v, gy.data_ptr<float>(), batch, r.gx.data_ptr<float>(), isa, threads);
    condensedGradValues(v, x.data_ptr<float>(), gy.data_ptr<float>(), batch, r.gv.data_ptr<float>(), isa, threads);
    return r;
}

struct Shape {
    int64_t rows, inFeatures, k;
};

// The training passes (forward keeping xT, one backward for both gradients over the column layout).
KernelResult runTrainingPasses(const Layer& l, const torch::Tensor& idx, const torch::Tensor& x,
                               const torch::Tensor& gy, Isa isa, int threads) {
    CondensedView v = viewOf(l, idx);
    v.bias = l.bias.data_ptr<float>();
    const int64_t batch = x.size(0);
    const int64_t block = trainingBlock(batch);
    KernelResult r{torch::empty({batch, l.rows()}), torch::full({batch, l.inFeatures}, 7.0f),
                   torch::full({l.rows(), l.k()}, 7.0f)};
    torch::Tensor xT = torch::full({packedFloats(batch, l.inFeatures, block)}, 7.0f);
    condensedForwardTraining(v, x.data_ptr<float>(), batch, block, xT.data_ptr<float>(), r.y.data_ptr<float>(), isa,
                             threads);
    const ColumnLayout columns = buildColumnLayout(v);
    condensedBackwardTraining(v, &columns, xT.data_ptr<float>(), gy.data_ptr<float>(), batch, block,
                              r.gx.data_ptr<float>(), r.gv.data_ptr<float>(), isa, threads);
    return r;
}

} // namespace

class TestCondensedTraining : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void kernelsMatchDenseReference();
    void int32IndicesBeyondInt16Range();
    void twoThreadsMatchOneThreadExactly();
    void autogradMatchesMaskedDense();
    void finiteDifferencesAgreeInDouble();
    void sgdStepsMatchMaskedDenseLinear();
    void environmentChoosesTheFunctionsIsa();
    void rejectsBadInputs();
    void emptyBatchGivesZeroWeightGradient();
    void trainingPassesMatchDenseReference();
    void trainingPassesSplitExactlyAcrossThreads();
    void cachedLayoutFollowsIndicesChangedInPlace();
    void cachedLayoutFollowsReplacedIndices();
    void trainingPassesRejectBadArguments();
};

// The kernels' forward, grad_input and grad_values for one layer and batch against the dense
// reference in double, with int16 and int32 indices, on every ISA this CPU runs and 1 and 2 threads.
template <typename Runner>
void requireMatchesReference(const Layer& l, const Shape& s, const torch::Tensor& w, int64_t batch, Runner run) {
    const torch::Tensor x = torch::randn({batch, s.inFeatures}), gy = torch::randn({batch, s.rows});
    const torch::Tensor xd = x.to(torch::kDouble), gyd = gy.to(torch::kDouble);
    const torch::Tensor yRef = torch::addmm(l.bias.to(torch::kDouble), xd, w.t());
    const torch::Tensor gxRef = gyd.mm(w);
    const torch::Tensor gvRef = gyd.t().mm(xd).gather(1, l.indices);
    for (auto type : {torch::kShort, torch::kInt}) {
        const torch::Tensor idx = l.indices.to(type);
        for (Isa isa : supportedIsas())
            for (int threads : {1, 2}) {
                const KernelResult r = run(l, idx, x, gy, isa, threads);
                const QByteArray where = QString("%1x%2 k=%3 batch=%4 %5 %6 threads=%7")
                                             .arg(s.rows).arg(s.inFeatures).arg(s.k).arg(batch)
                                             .arg(type == torch::kShort ? "int16" : "int32")
                                             .arg(QString::fromStdString(toString(isa))).arg(threads)
                                             .toUtf8();
                QVERIFY2(relativeError(r.y, yRef) < 1e-5, where.constData());
                QVERIFY2(relativeError(r.gx, gxRef) < 1e-5, where.constData());
                QVERIFY2(relativeError(r.gv, gvRef) < 1e-5, where.constData());
            }
    }
}

// Forward, grad_input and grad_values of the raw kernels against the dense weight in double: odd
// shapes, k = 1, k = fan-in, small (per-sample) and blocked batches, int16 and int32 indices, 1 and 2
// threads (the large shapes are big enough for chooseThreads to use two), every ISA this CPU runs.
void TestCondensedTraining::kernelsMatchDenseReference() {
    guarded([] {
        const std::vector<Shape> shapes = {{13, 29, 1}, {13, 29, 29}, {37, 301, 7}, {64, 96, 17}, {256, 515, 64},
                                           {1030, 301, 128}};
        uint64_t seed = 1;
        for (const auto& s : shapes) {
            const Layer l = makeLayer(s.rows, s.inFeatures, s.k, seed++);
            const torch::Tensor w = l.dense().to(torch::kDouble);
            for (int64_t batch : {1, 2, 5, 37, 128}) {
                if (s.rows >= 1000 && batch > 5) continue; // the per-sample path is what this shape is for
                requireMatchesReference(l, s, w, batch, runKernels);
            }
        }
    });
}

void TestCondensedTraining::int32IndicesBeyondInt16Range() {
    guarded([] {
        Layer l = makeLayer(9, 40000, 5, 11);
        // The highest inputs are beyond int16: make sure some row reads them.
        l.indices.index_put_({0, 0}, 39999);
        l.indices.index_put_({1, 1}, 32768);
        const torch::Tensor idx = l.indices.to(torch::kInt);
        const torch::Tensor w = l.dense().to(torch::kDouble);
        for (int64_t batch : {1, 37}) {
            const torch::Tensor x = torch::randn({batch, l.inFeatures}), gy = torch::randn({batch, l.rows()});
            const torch::Tensor xd = x.to(torch::kDouble), gyd = gy.to(torch::kDouble);
            for (Isa isa : supportedIsas()) {
                const KernelResult r = runKernels(l, idx, x, gy, isa, 2);
                QVERIFY(relativeError(r.y, torch::addmm(l.bias.to(torch::kDouble), xd, w.t())) < 1e-5);
                QVERIFY(relativeError(r.gx, gyd.mm(w)) < 1e-5);
                QVERIFY(relativeError(r.gv, gyd.t().mm(xd).gather(1, l.indices)) < 1e-5);
            }
        }
    });
}

// Every gradient element is computed by one thread in a fixed order, so the split changes nothing.
void TestCondensedTraining::twoThreadsMatchOneThreadExactly() {
    guarded([] {
        const Layer l = makeLayer(256, 515, 64, 21);
        const torch::Tensor idx = l.indices.to(torch::kShort);
        for (int64_t batch : {2, 37, 128}) { // per sample, scatter, gather
            const torch::Tensor x = torch::randn({batch, l.inFeatures}), gy = torch::randn({batch, l.rows()});
            for (Isa isa : supportedIsas()) {
                const KernelResult one = runKernels(l, idx, x, gy, isa, 1);
                const KernelResult two = runKernels(l, idx, x, gy, isa, 2);
                QVERIFY(torch::equal(one.gx, two.gx));
                QVERIFY(torch::equal(one.gv, two.gv));
            }
        }
    });
}

// The Function's gradients for x, values and bias against autograd through x @ (W*M)^T + b, for 2-D
// and 3-D inputs, with and without bias, int16/int32/int64 indices, float32 (kernels) and float64.
void TestCondensedTraining::autogradMatchesMaskedDense() {
    guarded([] {
        const Layer l = makeLayer(23, 70, 9, 31);
        for (auto dtype : {torch::kFloat, torch::kDouble})
            for (auto indexType : {torch::kShort, torch::kInt, torch::kLong})
                for (bool useBias : {true, false})
                    for (const std::vector<int64_t>& shape :
                         {std::vector<int64_t>{37, 70}, std::vector<int64_t>{3, 5, 70}, std::vector<int64_t>{70}}) {
                        const torch::Tensor x0 = torch::randn(shape, torch::kDouble);
                        auto outShape = shape;
                        outShape.back() = l.rows();
                        const torch::Tensor gy = torch::randn(outShape, torch::kDouble);

                        // clone(): to() returns the tensor itself when the dtype already matches.
                        torch::Tensor x = x0.clone().to(dtype).requires_grad_(true);
                        torch::Tensor values = l.values.clone().to(dtype).requires_grad_(true);
                        torch::Tensor bias =
                            useBias ? l.bias.clone().to(dtype).requires_grad_(true) : torch::Tensor();
                        torch::Tensor y = condensedLinear(x, values, l.indices.to(indexType), bias);
                        QCOMPARE(y.sizes().vec(), outShape);
                        (y * gy.to(dtype)).sum().backward();

                        torch::Tensor xd = x0.clone().requires_grad_(true);
                        torch::Tensor wd = l.dense().to(torch::kDouble).requires_grad_(true);
                        torch::Tensor bd = l.bias.to(torch::kDouble).requires_grad_(true);
                        torch::Tensor yd = torch::matmul(xd, wd.t());
                        if (useBias) yd = yd + bd;
                        (yd * gy).sum().backward();

                        const double tol = dtype == torch::kFloat ? 1e-5 : 1e-12;
                        QVERIFY(relativeError(y.detach(), yd.detach()) < tol);
                        QVERIFY(relativeError(x.grad(), xd.grad()) < tol);
                        QVERIFY(relativeError(values.grad(), wd.grad().gather(1, l.indices)) < tol);
                        if (useBias) QVERIFY(relativeError(bias.grad(), bd.grad()) < tol);
                    }
    });
}

// torch::autograd::gradcheck is Python-only: central differences in double on a small layer instead.
void TestCondensedTraining::finiteDifferencesAgreeInDouble() {
    guarded([] {
        const Layer l = makeLayer(5, 7, 3, 41);
        const torch::Tensor probe = torch::randn({4, 5}, torch::kDouble);
        std::vector<torch::Tensor> inputs = {torch::randn({4, 7}, torch::kDouble),
                                             l.values.to(torch::kDouble), l.bias.to(torch::kDouble)};
        auto loss = [&](const std::vector<torch::Tensor>& in) {
            return (condensedLinear(in[0], in[1], l.indices, in[2]) * probe).sum();
        };
        for (auto& t : inputs) t.requires_grad_(true);
        loss(inputs).backward();
        const double eps = 1e-6;
        for (size_t which = 0; which < inputs.size(); ++which) {
            const torch::Tensor analytic = inputs[which].grad().flatten();
            torch::NoGradGuard noGrad;
            for (int64_t e = 0; e < analytic.numel(); ++e) {
                std::vector<torch::Tensor> plus, minus;
                for (const auto& t : inputs) {
                    plus.push_back(t.detach().clone());
                    minus.push_back(t.detach().clone());
                }
                plus[which].view(-1)[e] += eps;
                minus[which].view(-1)[e] -= eps;
                const double numeric = (loss(plus).item<double>() - loss(minus).item<double>()) / (2 * eps);
                const double a = analytic[e].item<double>();
                QVERIFY2(std::abs(a - numeric) <= 1e-6 * std::max(1.0, std::abs(numeric)),
                         qPrintable(QString("input %1 element %2: analytic %3, numeric %4")
                                        .arg(which).arg(e).arg(a).arg(numeric)));
            }
        }
    });
}

// A two-layer condensed network and its masked dense twin (nn::Linear, gradient masked, W *= M after
// each step) trained with SGD + momentum on a tiny regression problem stay equal.
void TestCondensedTraining::sgdStepsMatchMaskedDenseLinear() {
    guarded([] {
        const Layer l1 = makeLayer(16, 12, 5, 51), l2 = makeLayer(3, 16, 7, 52);
        torch::manual_seed(53);
        const torch::Tensor x = torch::randn({32, 12}), target = torch::randn({32, 3});

        torch::Tensor v1 = l1.values.clone().requires_grad_(true), b1 = l1.bias.clone().requires_grad_(true);
        torch::Tensor v2 = l2.values.clone().requires_grad_(true), b2 = l2.bias.clone().requires_grad_(true);
        const torch::Tensor i1 = l1.indices.to(torch::kShort), i2 = l2.indices.to(torch::kShort);
        torch::optim::SGD condensedOpt({v1, b1, v2, b2}, torch::optim::SGDOptions(0.05).momentum(0.9));

        torch::nn::Linear d1(12, 16), d2(16, 3);
        const torch::Tensor m1 = torch::zeros({16, 12}).scatter_(1, l1.indices, 1.0f);
        const torch::Tensor m2 = torch::zeros({3, 16}).scatter_(1, l2.indices, 1.0f);
        {
            torch::NoGradGuard noGrad;
            d1->weight.copy_(l1.dense());
            d1->bias.copy_(l1.bias);
            d2->weight.copy_(l2.dense());
            d2->bias.copy_(l2.bias);
        }
        torch::optim::SGD denseOpt(std::vector<torch::Tensor>{d1->weight, d1->bias, d2->weight, d2->bias},
                                   torch::optim::SGDOptions(0.05).momentum(0.9));

        for (int step = 0; step < 6; ++step) {
            condensedOpt.zero_grad();
            const torch::Tensor hidden = torch::relu(condensedLinear(x, v1, i1, b1));
            const torch::Tensor lossC = torch::mse_loss(condensedLinear(hidden, v2, i2, b2), target);
            lossC.backward();
            condensedOpt.step();

            denseOpt.zero_grad();
            const torch::Tensor lossD = torch::mse_loss(d2->forward(torch::relu(d1->forward(x))), target);
            lossD.backward();
            {
                torch::NoGradGuard noGrad;
                d1->weight.grad().mul_(m1);
                d2->weight.grad().mul_(m2);
            }
            denseOpt.step();
            {
                torch::NoGradGuard noGrad;
                d1->weight.mul_(m1);
                d2->weight.mul_(m2);
            }
            QVERIFY(std::abs(lossC.item<double>() - lossD.item<double>()) <= 1e-5 * std::abs(lossD.item<double>()));
        }
        QVERIFY(relativeError(v1.detach(), d1->weight.detach().gather(1, l1.indices)) < 1e-5);
        QVERIFY(relativeError(v2.detach(), d2->weight.detach().gather(1, l2.indices)) < 1e-5);
        QVERIFY(relativeError(b1.detach(), d1->bias.detach()) < 1e-5);
        QVERIFY(relativeError(b2.detach(), d2->bias.detach()) < 1e-5);
    });
}

// Without an explicit isa, condensedLinear follows detectIsa(): SRIGL_KERNEL_ISA=portable gives exactly
// the portable kernels' gradients (and the thread count never changes a result).
void TestCondensedTraining::environmentChoosesTheFunctionsIsa() {
    const char* saved = std::getenv("SRIGL_KERNEL_ISA");
    const std::string keep = saved ? saved : "";
    guarded([] {
        const Layer l = makeLayer(40, 90, 11, 81);
        const torch::Tensor idx = l.indices.to(torch::kShort);
        const torch::Tensor x0 = torch::randn({128, 90}), gy = torch::randn({128, 40});
        auto grads = [&](bool explicitPortable) {
            torch::Tensor x = x0.clone().requires_grad_(true), v = l.values.clone().requires_grad_(true);
            torch::Tensor y = explicitPortable ? condensedLinear(x, v, idx, l.bias, Isa::Portable, 1)
                                               : condensedLinear(x, v, idx, l.bias);
            y.backward(gy);
            return std::vector<torch::Tensor>{y.detach(), x.grad(), v.grad()};
        };
        setenv("SRIGL_KERNEL_ISA", "portable", 1);
        const auto fromEnvironment = grads(false), portable = grads(true);
        for (size_t i = 0; i < portable.size(); ++i) QVERIFY(torch::equal(fromEnvironment[i], portable[i]));
        const torch::Tensor w = l.dense().to(torch::kDouble);
        QVERIFY(relativeError(portable[1], gy.to(torch::kDouble).mm(w)) < 1e-5);
    });
    if (saved) setenv("SRIGL_KERNEL_ISA", keep.c_str(), 1);
    else unsetenv("SRIGL_KERNEL_ISA");
}

void TestCondensedTraining::rejectsBadInputs() {
    guarded([] {
        const Layer l = makeLayer(4, 10, 3, 61);
        const torch::Tensor idx = l.indices.to(torch::kShort);
        CondensedView v = viewOf(l, idx);
        std::vector<float> x(20, 1.0f), gy(8, 1.0f), gx(20), gv(12);
        using E = std::invalid_argument;
        // Null buffers, k < 1, a missing values array, an instruction set the CPU lacks.
        QVERIFY(throwsA<E>([&] { condensedGradInput(v, nullptr, 2, gx.data(), Isa::Portable); }));
        QVERIFY(throwsA<E>([&] { condensedGradInput(v, gy.data(), 2, nullptr, Isa::Portable); }));
        QVERIFY(throwsA<E>([&] { condensedGradValues(v, nullptr, gy.data(), 2, gv.data(), Isa::Portable); }));
        QVERIFY(throwsA<E>([&] { condensedGradValues(v, x.data(), gy.data(), 2, nullptr, Isa::Portable); }));
        CondensedView noK = v;
        noK.k = 0;
        QVERIFY(throwsA<E>([&] { condensedGradInput(noK, gy.data(), 2, gx.data(), Isa::Portable); }));
        QVERIFY(throwsA<E>([&] { condensedGradValues(noK, x.data(), gy.data(), 2, gv.data(), Isa::Portable); }));
        CondensedView noValues = v;
        noValues.values = nullptr;
        QVERIFY(throwsA<E>([&] { condensedGradValues(noValues, x.data(), gy.data(), 2, gv.data(), Isa::Portable); }));
        if (!isaSupported(Isa::Avx512))
            QVERIFY(throwsA<E>([&] { condensedGradInput(v, gy.data(), 2, gx.data(), Isa::Avx512); }));

        // The Torch entry point: wrong input width, mismatched shapes and dtypes, indices out of range.
        const torch::Tensor xt = torch::randn({2, 10});
        QVERIFY(throwsA<E>([&] { condensedLinear(torch::randn({2, 9}), l.values, idx, l.bias); }));
        QVERIFY(throwsA<E>([&] { condensedLinear(xt, l.values, idx.slice(1, 0, 2), l.bias); }));
        QVERIFY(throwsA<E>([&] { condensedLinear(xt, l.values, idx.to(torch::kFloat), l.bias); }));
        QVERIFY(throwsA<E>([&] { condensedLinear(xt.to(torch::kDouble), l.values, idx, l.bias); }));
        QVERIFY(throwsA<E>([&] { condensedLinear(xt, l.values, idx, torch::randn({5})); }));
        QVERIFY(throwsA<E>([&] { condensedLinear(xt, l.values.flatten(), idx, l.bias); }));
        QVERIFY(throwsA<E>([&] { condensedLinear(xt, l.values, idx.clone().fill_(10), l.bias); }));
        QVERIFY(throwsA<E>([&] { condensedLinear(xt, l.values, idx.clone().fill_(-1), l.bias); }));
        if (!isaSupported(Isa::Avx512))
            QVERIFY(throwsA<E>([&] { condensedLinear(xt, l.values, idx, l.bias, Isa::Avx512); }));
        // The message names the problem.
        try {
            condensedLinear(xt, l.values, idx.clone().fill_(10), l.bias);
        } catch (const E& e) {
            QVERIFY(QString(e.what()).contains("indices must lie in [0, 10)"));
        }
    });
}

void TestCondensedTraining::emptyBatchGivesZeroWeightGradient() {
    guarded([] {
        const Layer l = makeLayer(6, 11, 4, 71);
        torch::Tensor values = l.values.clone().requires_grad_(true);
        torch::Tensor bias = l.bias.clone().requires_grad_(true);
        torch::Tensor x = torch::randn({0, 11}).requires_grad_(true);
        torch::Tensor y = condensedLinear(x, values, l.indices.to(torch::kShort), bias);
        QCOMPARE(y.sizes().vec(), (std::vector<int64_t>{0, 6}));
        y.sum().backward();
        QVERIFY(torch::equal(values.grad(), torch::zeros_like(values)));
        QVERIFY(torch::equal(bias.grad(), torch::zeros_like(bias)));
        QCOMPARE(x.grad().numel(), int64_t(0));
    });
}

// The training passes against the dense weight in double: odd shapes, k = 1, k = fan-in, ablated rows
// (values all zero), blocked batches of every block width with partial blocks, int16 and int32
// indices, 1 and 2 threads, every ISA this CPU runs.
void TestCondensedTraining::trainingPassesMatchDenseReference() {
    guarded([] {
        const std::vector<Shape> shapes = {{13, 29, 1}, {13, 29, 29}, {37, 301, 7}, {64, 96, 17}, {256, 515, 64}};
        uint64_t seed = 101;
        for (const auto& s : shapes) {
            Layer l = makeLayer(s.rows, s.inFeatures, s.k, seed++);
            l.values.index_put_({torch::indexing::Slice(0, torch::indexing::None, 5)}, 0.0f); // ablated rows
            const torch::Tensor w = l.dense().to(torch::kDouble);
            for (int64_t batch : {4, 5, 15, 16, 37, 64, 100}) {
                requireMatchesReference(l, s, w, batch, runTrainingPasses);
            }
        }
        // Inputs beyond the int16 range, int32 indices.
        Layer wide = makeLayer(9, 40000, 5, 111);
        wide.indices.index_put_({0, 0}, 39999);
        wide.indices.index_put_({1, 1}, 32768);
        const torch::Tensor w = wide.dense().to(torch::kDouble);
        const torch::Tensor x = torch::randn({37, wide.inFeatures}), gy = torch::randn({37, wide.rows()});
        for (Isa isa : supportedIsas()) {
            const KernelResult r = runTrainingPasses(wide, wide.indices.to(torch::kInt), x, gy, isa, 2);
            QVERIFY(relativeError(r.y, torch::addmm(wide.bias.to(torch::kDouble), x.to(torch::kDouble), w.t())) < 1e-5);
            QVERIFY(relativeError(r.gx, gy.to(torch::kDouble).mm(w)) < 1e-5);
            QVERIFY(relativeError(r.gv, gy.to(torch::kDouble).t().mm(x.to(torch::kDouble)).gather(1, wide.indices)) <
                    1e-5);
        }
    });
}

// Every output element is computed by one thread in a fixed order: the split changes no bit, and the
// training forward gives the bits of condensedForward.
void TestCondensedTraining::trainingPassesSplitExactlyAcrossThreads() {
    guarded([] {
        const Layer l = makeLayer(256, 515, 64, 121);
        const torch::Tensor idx = l.indices.to(torch::kShort);
        for (int64_t batch : {4, 37, 128}) {
            const torch::Tensor x = torch::randn({batch, l.inFeatures}), gy = torch::randn({batch, l.rows()});
            for (Isa isa : supportedIsas()) {
                const KernelResult one = runTrainingPasses(l, idx, x, gy, isa, 1);
                const KernelResult two = runTrainingPasses(l, idx, x, gy, isa, 2);
                QVERIFY(torch::equal(one.y, two.y));
                QVERIFY(torch::equal(one.gx, two.gx));
                QVERIFY(torch::equal(one.gv, two.gv));
                QVERIFY(torch::equal(one.y, runKernels(l, idx, x, gy, isa, 1).y));
            }
        }
    });
}

namespace {

// condensedLinear's gradients (float32, kernels) against x @ (W*M)^T in double for the given indices.
void checkAutogradAgainstDense(const Layer& l, const torch::Tensor& indices, int64_t batch, const char* what) {
    const torch::Tensor x0 = torch::randn({batch, l.inFeatures}), gy = torch::randn({batch, l.rows()});
    torch::Tensor x = x0.clone().requires_grad_(true);
    torch::Tensor values = l.values.clone().requires_grad_(true);
    torch::Tensor bias = l.bias.clone().requires_grad_(true);
    torch::Tensor y = condensedLinear(x, values, indices, bias);
    y.backward(gy);

    Layer ref = l;
    ref.indices = indices.to(torch::kLong);
    const torch::Tensor w = ref.dense().to(torch::kDouble);
    const torch::Tensor xd = x0.to(torch::kDouble), gyd = gy.to(torch::kDouble);
    QVERIFY2(relativeError(y.detach(), torch::addmm(l.bias.to(torch::kDouble), xd, w.t())) < 1e-5, what);
    QVERIFY2(relativeError(x.grad(), gyd.mm(w)) < 1e-5, what);
    QVERIFY2(relativeError(values.grad(), gyd.t().mm(xd).gather(1, ref.indices)) < 1e-5, what);
}

} // namespace

// The column layout is cached per indices: a mask update that writes new indices into the same tensor
// (copy_, or straight through its data pointer without a version bump) must not reuse the old one.
void TestCondensedTraining::cachedLayoutFollowsIndicesChangedInPlace() {
    guarded([] {
        const Layer l = makeLayer(96, 200, 12, 131);
        const Layer other = makeLayer(96, 200, 12, 132);
        for (auto type : {torch::kShort, torch::kInt}) {
            torch::Tensor indices = l.indices.to(type);
            for (int64_t batch : {3, 40, 128}) {
                checkAutogradAgainstDense(l, indices, batch, "first indices");
                checkAutogradAgainstDense(l, indices, batch, "first indices, cached");
                indices.copy_(other.indices); // in place, version bumped
                checkAutogradAgainstDense(l, indices, batch, "after copy_");
                // In place behind autograd's back: same storage, same version.
                const torch::Tensor back = l.indices.to(type);
                std::memcpy(indices.data_ptr(), back.data_ptr(), static_cast<size_t>(back.nbytes()));
                checkAutogradAgainstDense(l, indices, batch, "after a raw write");
                // Only one row changes.
                indices[5].copy_(other.indices[5]);
                checkAutogradAgainstDense(l, indices, batch, "after one row changed");
                indices.copy_(l.indices);
            }
        }
    });
}

// A new indices tensor (the trainer's mask update replaces it), also one of another layer of the same
// shape, and the same indices read against another inFeatures.
void TestCondensedTraining::cachedLayoutFollowsReplacedIndices() {
    guarded([] {
        const Layer a = makeLayer(64, 150, 10, 141);
        const Layer b = makeLayer(64, 150, 10, 142);
        for (int step = 0; step < 3; ++step) {
            checkAutogradAgainstDense(a, a.indices.to(torch::kShort), 64, "layer a");
            checkAutogradAgainstDense(b, b.indices.to(torch::kShort), 64, "layer b");
            checkAutogradAgainstDense(a, b.indices.to(torch::kShort), 64, "a's values at b's indices");
        }
        Layer wider = a;
        wider.inFeatures = 160;
        checkAutogradAgainstDense(wider, a.indices.to(torch::kShort), 64, "more inputs");
        // Indices cached for 160 inputs are out of range for 150 and must still be rejected there.
        Layer narrow = makeLayer(64, 150, 10, 143);
        torch::Tensor outOfRange = narrow.indices.clone();
        outOfRange.index_put_({0, 0}, 155);
        Layer atWide = narrow;
        atWide.inFeatures = 160;
        checkAutogradAgainstDense(atWide, outOfRange.to(torch::kShort), 64, "in range for 160");
        const torch::Tensor x = torch::randn({64, 150});
        QVERIFY(throwsA<std::invalid_argument>(
            [&] { condensedLinear(x, narrow.values, outOfRange.to(torch::kShort), narrow.bias); }));
    });
}

void TestCondensedTraining::trainingPassesRejectBadArguments() {
    guarded([] {
        const Layer l = makeLayer(16, 40, 4, 151);
        const torch::Tensor idx = l.indices.to(torch::kShort);
        CondensedView v = viewOf(l, idx);
        QCOMPARE(trainingBlock(3), int64_t(0));
        QVERIFY(trainingBlock(4) > 0);
        const torch::Tensor x = torch::randn({8, 40}), gy = torch::randn({8, 16});
        torch::Tensor y = torch::empty({8, 16}), xT = torch::empty({packedFloats(8, 40, 8)});
        torch::Tensor gx = torch::empty({8, 40}), gv = torch::empty({16, 4});
        QVERIFY(throwsA<std::invalid_argument>([&] {
            condensedForwardTraining(v, x.data_ptr<float>(), 8, 12, xT.data_ptr<float>(), y.data_ptr<float>(),
                                     Isa::Portable, 1);
        }));
        // grad_input without a layout, or with another layer's.
        QVERIFY(throwsA<std::invalid_argument>([&] {
            condensedBackwardTraining(v, nullptr, xT.data_ptr<float>(), gy.data_ptr<float>(), 8, 8,
                                      gx.data_ptr<float>(), gv.data_ptr<float>(), Isa::Portable, 1);
        }));
        ColumnLayout mismatched = buildColumnLayout(v);
        mismatched.inFeatures = 39;
        QVERIFY(throwsA<std::invalid_argument>([&] {
            condensedBackwardTraining(v, &mismatched, xT.data_ptr<float>(), gy.data_ptr<float>(), 8, 8,
                                      gx.data_ptr<float>(), gv.data_ptr<float>(), Isa::Portable, 1);
        }));
        if (!isaSupported(Isa::Avx512))
            QVERIFY(throwsA<std::invalid_argument>([&] {
                condensedForwardTraining(v, x.data_ptr<float>(), 8, 16, xT.data_ptr<float>(), y.data_ptr<float>(),
                                         Isa::Avx512, 1);
            }));
    });
}

QTEST_GUILESS_MAIN(TestCondensedTraining)
#include "test_condensed_training.moc"
