// The trainer's condensed path (sparse_compute=condensed) against the masked-dense path: same masks
// at every update, same losses, same optimizer state, checkpoints that move between the paths, and
// the invariants of constant fan-in training held on the condensed form itself.
#include <torch/torch.h>

#include <QtTest>

#include "engine/errors.hpp"
#include "engine/inference/condensed_model.hpp"
#include "engine/inference/layer_bench.hpp"
#include "engine/models/sparse_model.hpp"
#include "engine/training/atomic_archive.hpp"
#include "engine/training/checkpoint_model.hpp"
#include "engine/training/compute_path.hpp"
#include "engine/training/trainer_internals.hpp"
#include "tests/support/guarded.hpp"

#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>

#include <unistd.h>

using namespace srigl;

namespace {

RunConfig smallRun(const std::string& model, const std::string& compute) {
    RunConfig c;
    c.model = model;
    c.hidden = "300,100";
    c.synthetic_train = 2048;
    c.synthetic_test = 256;
    c.batch_size = 64;
    c.epochs = 16; // 512 steps
    c.max_steps = 500;
    c.sparsity = 0.9;
    c.delta_t = 50;
    c.t_end = 0.8;
    c.lr = model == "lenet5" ? 0.01 : 0.05;
    c.seed = 7;
    c.log_every = 1000;
    c.eval_every = 0;
    c.sparse_compute = compute;
    return c;
}

bool anyCondensed(Trainer& t) {
    for (auto& st : t.internals().layers)
        if (st.layer->isCondensed()) return true;
    return false;
}

double relative(double a, double b) { return std::fabs(a - b) / std::max(1e-12, std::fabs(b)); }

// Largest |a - b| over the largest |b|.
double maxRelative(const torch::Tensor& a, const torch::Tensor& b) {
    const double scale = std::max(1e-12, b.abs().max().item<double>());
    return (a - b).abs().max().item<double>() / scale;
}

// Steps both trainers in lockstep: losses within `lossTolerance` (relative) at every step, identical
// masks after every update. Returns the number of updates seen.
int64_t compareInLockstep(Trainer& dense, Trainer& condensed, double lossTolerance, int64_t lastStep = -1) {
    int64_t updates = 0;
    double worst = 0.0;
    while (lastStep < 0 || dense.step() < lastStep) {
        const bool a = dense.trainStep();
        const bool b = condensed.trainStep();
        if (a != b) throw std::runtime_error("the two paths stopped at different steps");
        if (!a) break;
        worst = std::max(worst, relative(condensed.lastLoss(), dense.lastLoss()));
        if (worst > lossTolerance)
            throw std::runtime_error("losses differ by " + std::to_string(worst) + " (relative) at step " +
                                     std::to_string(dense.step()));
        if (dense.internals().schedule->isUpdateStep(dense.step())) {
            ++updates;
            auto& dl = dense.internals().layers;
            auto& cl = condensed.internals().layers;
            for (size_t i = 0; i < dl.size(); ++i)
                if (!torch::equal(dl[i].layer->denseMaskMatrix(), cl[i].layer->denseMaskMatrix()))
                    throw std::runtime_error("masks of " + dl[i].name + " differ after the update at step " +
                                             std::to_string(dense.step()));
        }
    }
    qInfo("largest relative loss difference over %lld steps: %.2e", static_cast<long long>(dense.step()), worst);
    return updates;
}


// Every active row keeps exactly k distinct inputs in ascending order; ablated rows hold zeros and
// get no gradient; the layer keeps no more than its budget.
void requireCondensedInvariants(const SparseLayerState& st) {
    const auto& c = *st.layer->condensed;
    const auto idx = c.indices.to(torch::kLong);
    const auto alive = c.alive.squeeze(1) > 0;
    if (c.ablated != st.layer->outFeatures() - alive.sum().item<int64_t>())
        throw std::runtime_error(st.name + ": ablated count disagrees with the alive rows");
    if (c.k() != st.last.k) throw std::runtime_error(st.name + ": k is not the update's k");
    if (alive.sum().item<int64_t>() * c.k() > st.budget) throw std::runtime_error(st.name + " exceeds its budget");
    const auto liveIdx = idx.index({alive});
    if (liveIdx.size(0) > 0 && c.k() > 1 && !(liveIdx.slice(1, 1) > liveIdx.slice(1, 0, -1)).all().item<bool>())
        throw std::runtime_error(st.name + ": indices of an active row are not strictly ascending");
    if ((idx < 0).any().item<bool>() || (idx >= st.layer->fanIn()).any().item<bool>())
        throw std::runtime_error(st.name + ": index out of range");
    if (c.ablated > 0 && c.values.detach().index({~alive}).ne(0).any().item<bool>())
        throw std::runtime_error(st.name + ": an ablated row holds a weight");
    if (st.layer->weight.numel() != 0 || st.layer->mask.numel() != 0)
        throw std::runtime_error(st.name + ": the dense weight or mask still holds memory");
}

// Optimizer state of layer i in the dense [out, fan_in] layout, whichever path holds it.
torch::Tensor denseState(Trainer& t, size_t i, size_t which) {
    auto& st = t.internals().layers[i];
    auto state = t.internals().optimizer->state(st.paramIndex).at(which);
    if (st.layer->isCondensed()) return expandCondensed(*st.layer->condensed, state);
    return state.view({st.layer->outFeatures(), -1});
}

std::string scratchFile(const char* name) {
    const auto dir = std::filesystem::temp_directory_path() / ("srigl-condensed-trainer-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    return (dir / name).string();
}

// Loads `file` (then deletes it) into `resumed`, which must stand at step `at`, and trains to the end:
// every loss as the uninterrupted `reference` run's (`losses`, within 1e-4), the same last step and
// the same masks.
void continueAsReference(Trainer& resumed, const std::string& file, int64_t at, const std::vector<double>& losses,
                         Trainer& reference) {
    resumed.loadCheckpoint(file);
    std::filesystem::remove(file);
    if (resumed.step() != at) throw std::runtime_error("resumed at the wrong step");
    while (resumed.trainStep())
        if (relative(resumed.lastLoss(), losses.at(static_cast<size_t>(resumed.step() - 1))) > 1e-4)
            throw std::runtime_error("resumed run departs at step " + std::to_string(resumed.step()));
    if (resumed.step() != reference.step()) throw std::runtime_error("resumed run ended at another step");
    for (size_t i = 0; i < reference.internals().layers.size(); ++i)
        if (!torch::equal(resumed.internals().layers[i].layer->denseMaskMatrix(),
                          reference.internals().layers[i].layer->denseMaskMatrix()))
            throw std::runtime_error("masks differ at the end in " + reference.internals().layers[i].name);
}

bool archiveHas(const std::string& file, const std::string& key);

// Trains `first` to step 149 (inside the gradient window 148..150), checkpoints, resumes on `second`
// and finishes: the run must continue as the uninterrupted masked-dense run does. A condensed run
// writes its layers condensed (the layout of stop 40 and before, dense, when `denseLayout`).
void resumeOnTheOtherPath(const std::string& first, const std::string& second, bool denseLayout = false) {
    RunConfig base = smallRun("mlp", "masked_dense");
    base.grad_accumulation = 3;
    base.max_steps = 220;
    Trainer reference(base);
    std::vector<double> losses;
    while (reference.trainStep()) losses.push_back(reference.lastLoss());

    const std::string file = scratchFile((first + ".ckpt").c_str());
    RunConfig a = base;
    a.sparse_compute = first;
    {
        Trainer t(a);
        for (int step = 0; step < 149; ++step) t.trainStep();
        t.saveCheckpoint(file);
    }
    const bool condensedLayout = first == "condensed" && !denseLayout;
    if (archiveHas(file, "condensed.0.values") != condensedLayout || archiveHas(file, "model.fc1.weight") == condensedLayout ||
        archiveHas(file, "condensed.0.input.0") != condensedLayout) // step 149 lies inside the window 148..150
        throw std::runtime_error("the checkpoint is not in the expected layout");
    RunConfig b = base;
    b.sparse_compute = second;
    Trainer resumed(b);
    if (anyCondensed(resumed) != (second == "condensed")) throw std::runtime_error("resumed on the wrong path");
    continueAsReference(resumed, file, 149, losses, reference);
    // A masked-dense run that loaded condensed layers trains them densely, as its config says.
    if (anyCondensed(resumed) != (second == "condensed")) throw std::runtime_error("the resumed run left its path");
}

// Lowers the process-wide dense-form limits for one test (restored on exit, also on failure).
class LimitsLowered {
public:
    LimitsLowered(int64_t checkpoint, int64_t snapshot, int64_t mask = int64_t{1} << 26) : saved_(denseFormLimits()) {
        denseFormLimits().checkpoint = checkpoint;
        denseFormLimits().snapshot = snapshot;
        denseFormLimits().mask = mask;
    }
    ~LimitsLowered() { denseFormLimits() = saved_; }

private:
    DenseFormLimits saved_;
};

bool archiveHas(const std::string& file, const std::string& key) {
    torch::serialize::InputArchive archive;
    loadArchive(archive, file);
    torch::Tensor t;
    return archive.try_read(key, t) || archive.try_read(key, t, true);
}

// The message of the CheckpointError `load` refused with; "accepted" when it did not refuse.
template <class Load>
std::string checkpointRefusal(Load load) {
    try {
        load();
        return "accepted";
    } catch (const CheckpointError& e) {
        return e.what();
    }
}

// Why loading `file` into a fresh trainer did not refuse it as a corrupt `layer` ("" when it did:
// a CheckpointError naming the layer and "corrupt").
std::string corruptLayerNotRefused(const RunConfig& c, const std::string& file, const std::string& layer) {
    Trainer fresh(c);
    try {
        fresh.loadCheckpoint(file);
        return "the damaged checkpoint was accepted";
    } catch (const CheckpointError& e) {
        const std::string what = e.what();
        if (what.find(layer) != std::string::npos && what.find("corrupt") != std::string::npos) return "";
        return what;
    }
}

} // namespace

class TestCondensedTrainer : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void mlpMatchesMaskedDense();
    void lenet5MatchesMaskedDense();
    void adamwWithAblationMatchesMaskedDense();
    void optimizerStateRemappedAtUpdate();
    void invariantsHoldAfterEveryUpdate();
    void condensedNeedsConstantFanIn();
    void staticFanInTrainsCondensed();
    void planOfAModelBeyondMemoryNeedsNoWeights();
    void layerBeyondMemoryStartsCondensed();
    void condensedCheckpointLayoutResumesExactly();
    void convolutionCapturesResumeInsideTheWindow();
    void condensedLayoutOfAnotherModelIsRefused();
    void condensedLayoutOfAnNmLayerIsRefused();
    void corruptCondensedCheckpointIsRefused();
    void snapshotsSampleLayersBeyondTheLimit();
    void autoFollowsTheRule();
    void modelsTellTheirConvolutionsTheImageSize();
    void checkpointFromCondensedResumesMaskedDense();
    void checkpointFromMaskedDenseResumesCondensed();
    void denseLayoutOfEarlierCheckpointsResumesOnBothPaths();
    void readersExpandCondensedLayers();
};

// Holds with Debian 12's LibTorch 1.13 (the largest difference over the 500 steps is 1.6e-6). With
// Debian 13's LibTorch 2.6 this run turns chaotic after step 395 (scripts/check_libtorch2.sh): there
// the masked-dense path alone, on 1 and on 2 threads, differs by 3e-4 at step 445, and so does the
// condensed one from it, with the same masks at every update (docs/sparse_training.md, "Exactness").
void TestCondensedTrainer::mlpMatchesMaskedDense() {
    guarded([] {
        Trainer dense(smallRun("mlp", "masked_dense"));
        Trainer condensed(smallRun("mlp", "condensed"));
        QVERIFY(!anyCondensed(dense));
        QVERIFY(anyCondensed(condensed));
        QVERIFY(compareInLockstep(dense, condensed, 1e-4) >= 7);
    });
}

// LeNet-5 is chaotic in float32: its max-pool winners and ReLU edges turn rounding differences
// (condensed kernels and im2col sum in another order than BLAS and LibTorch's convolution) into
// different gradients within tens of steps, and the masked-dense path alone differs between 1 and 2
// threads the same way (docs/sparse_training.md). What holds, for `auto` (the layers its rule picks,
// conv2 among them) and for `condensed` (every sparse layer): the losses agree to 1e-4 over the first 40
// steps, and the first update's masks agree on at least 98% of every layer's connections.
void TestCondensedTrainer::lenet5MatchesMaskedDense() {
    guarded([] {
        RunConfig a = smallRun("lenet5", "masked_dense");
        for (const char* compute : {"auto", "condensed"}) {
            Trainer dense(a);
            Trainer other(smallRun("lenet5", compute));
            QVERIFY(other.internals().layers[2].layer->isCondensed()); // fc1 400 -> 120
            QVERIFY(other.internals().layers[1].layer->isCondensed()); // conv2, through the direct kernels
            compareInLockstep(dense, other, 1e-4, 40);
            while (dense.step() < 50) QVERIFY(dense.trainStep() && other.trainStep()); // step 50: the first update
            for (size_t i = 0; i < dense.internals().layers.size(); ++i) {
                const auto& x = dense.internals().layers[i];
                const auto& y = other.internals().layers[i];
                const auto differ = (x.layer->denseMaskMatrix() != y.layer->denseMaskMatrix()).sum().item<int64_t>();
                qInfo("%s %s: %lld of %lld mask entries differ after the first update", compute, x.name.c_str(),
                      static_cast<long long>(differ), static_cast<long long>(x.budget));
                QVERIFY2(differ <= std::max<int64_t>(8, x.budget / 50),
                         (x.name + ": " + std::to_string(differ) + " mask entries differ").c_str());
            }
        }
    });
}

void TestCondensedTrainer::adamwWithAblationMatchesMaskedDense() {
    guarded([] {
        RunConfig a = smallRun("mlp", "masked_dense");
        a.optimizer = "adamw";
        a.lr = 2e-3;
        a.sparsity = 0.99;
        a.gamma_sal = 0.9;
        a.grad_accumulation = 3;
        a.max_steps = 300;
        RunConfig b = a;
        b.sparse_compute = "condensed";
        Trainer dense(a);
        Trainer condensed(b);
        QCOMPARE(compareInLockstep(dense, condensed, 1e-4), int64_t{4});
        int64_t ablated = 0;
        for (auto& st : condensed.internals().layers)
            if (st.layer->isCondensed()) ablated += st.layer->condensed->ablated;
        QVERIFY2(ablated > 0, "the run was meant to ablate neurons");
    });
}

// Right after an update, the condensed optimizer state spread out equals the masked-dense one:
// kept connections carried their state, grown ones started from zero, dropped ones lost it.
void TestCondensedTrainer::optimizerStateRemappedAtUpdate() {
    guarded([] {
        RunConfig a = smallRun("mlp", "masked_dense");
        a.sparsity = 0.99;
        a.gamma_sal = 0.9;
        RunConfig b = a;
        b.sparse_compute = "condensed";
        Trainer dense(a);
        Trainer condensed(b);
        for (int step = 0; step < 100; ++step) {
            dense.trainStep();
            condensed.trainStep();
        }
        for (size_t i = 0; i < dense.internals().layers.size(); ++i) {
            auto& st = condensed.internals().layers[i];
            if (!st.layer->isCondensed()) continue;
            requireCondensedInvariants(st);
            QVERIFY(st.last.pruned > 0);
            const auto expected = denseState(dense, i, 0);
            QVERIFY2(maxRelative(denseState(condensed, i, 0), expected) < 1e-4, st.name.c_str());
            QVERIFY(denseState(condensed, i, 0).masked_select(~st.layer->denseMaskMatrix()).eq(0).all().item<bool>());
            QVERIFY(maxRelative(st.layer->denseWeightMatrix(), dense.internals().layers[i].layer->denseWeightMatrix()) < 1e-4);
        }
    });
}

void TestCondensedTrainer::invariantsHoldAfterEveryUpdate() {
    guarded([] {
        RunConfig b = smallRun("mlp", "condensed");
        b.sparsity = 0.99;
        b.gamma_sal = 0.9;
        b.max_steps = 250;
        Trainer t(b);
        while (t.trainStep()) {
            if (!t.internals().schedule->isUpdateStep(t.step())) continue;
            for (auto& st : t.internals().layers)
                if (st.layer->isCondensed()) requireCondensedInvariants(st);
        }
        // Snapshots, stats and weights come out in the dense layout the recorder and Studio read.
        const auto stats = t.layerStats();
        const auto masks = t.maskSnapshot();
        const auto weights = t.weightSnapshots();
        bool sawAblated = false;
        for (size_t i = 0; i < stats.size(); ++i) {
            auto& st = t.internals().layers[i];
            QCOMPARE(masks[i].fanIn, st.layer->fanIn());
            QCOMPARE(static_cast<int64_t>(weights[i].values.size()), st.layer->outFeatures() * st.layer->fanIn());
            if (!st.layer->isCondensed()) continue;
            QCOMPARE(stats[i].compute, std::string("condensed"));
            const LayerUpdateStats expanded =
                describeMask(st.name, st.layer->denseMaskMatrix().view(st.layer->weightShape()));
            QCOMPARE(stats[i].sparsity, expanded.sparsity);
            QCOMPARE(stats[i].active, expanded.active);
            QCOMPARE(stats[i].fanInMin, expanded.fanInMin);
            QCOMPARE(stats[i].shape, expanded.shape);
            QCOMPARE(stats[i].fanInMax, st.layer->condensed->k());
            QCOMPARE(stats[i].ablated, st.layer->condensed->ablated);
            QCOMPARE(static_cast<int64_t>(masks[i].ablated.size()), st.layer->condensed->ablated);
            // The snapshot made from the indices packs the same bits as the dense mask would.
            const torch::Tensor dense = st.layer->denseMaskMatrix().contiguous().view({-1});
            std::vector<uint8_t> packed(static_cast<size_t>((dense.numel() + 7) / 8), 0);
            const bool* bit = dense.data_ptr<bool>();
            for (int64_t e = 0; e < dense.numel(); ++e)
                if (bit[e]) packed[static_cast<size_t>(e / 8)] |= static_cast<uint8_t>(1u << (e % 8));
            QVERIFY(masks[i].bits == packed);
            const torch::Tensor emptyRows = (dense.view({st.layer->outFeatures(), -1}).sum(1) == 0).nonzero().flatten();
            QCOMPARE(static_cast<int64_t>(masks[i].ablated.size()), emptyRows.numel());
            for (int64_t a = 0; a < emptyRows.numel(); ++a)
                QCOMPARE(masks[i].ablated[static_cast<size_t>(a)], emptyRows[a].item<int64_t>());
            sawAblated = sawAblated || emptyRows.numel() > 0;
        }
        QVERIFY2(sawAblated, "the run ablated no neuron: the ablated rows' bits went untested");
    });
}

void TestCondensedTrainer::condensedNeedsConstantFanIn() {
    for (const char* method : {"rigl", "set", "static", "nm_ste"}) {
        RunConfig c = smallRun("mlp", "condensed");
        c.method = method;
        try {
            Trainer t(c);
            QFAIL(qPrintable(QString("sparse_compute=condensed was accepted for ") + method));
        } catch (const ConfigError& e) {
            QCOMPARE(e.key(), std::string("sparse_compute"));
            QVERIFY(std::string(e.what()).find("constant fan-in") != std::string::npos);
        }
    }
    RunConfig gpu = smallRun("mlp", "condensed");
    gpu.device = "cuda";
    QVERIFY_THROWS_EXCEPTION(ConfigError, planRun(gpu));
}

// auto: the layers the rule picks; methods without constant fan-in and dense layers never condense.
void TestCondensedTrainer::autoFollowsTheRule() {
    RunConfig c = smallRun("mlp", "auto");
    QCOMPARE(computePathFor(c, {{300, 784}, 0.1, true, false}), std::string("condensed"));
    QCOMPARE(computePathFor(c, {{300, 784}, 0.6, true, false}), std::string("masked_dense"));
    QCOMPARE(computePathFor(c, {{300, 784}, 0.2, true, false}), std::string("condensed")); // batch 64
    c.batch_size = 256;
    QCOMPARE(computePathFor(c, {{300, 784}, 0.2, true, false}), std::string("masked_dense"));
    QCOMPARE(computePathFor(c, {{300, 784}, 0.1, true, false}), std::string("condensed"));
    // Convolutions: by density against a threshold that falls with the output image size (lower on
    // AVX-512 CPUs), and rows of few taps at any density. Fields: shape, density, constant fan-in,
    // N:M, stride, output pixels, AVX-512.
    c.batch_size = 64;
    auto conv = [&](std::vector<int64_t> shape, double density, int64_t stride, int64_t pixels, bool avx512) {
        return computePathFor(c, {std::move(shape), density, true, false, stride, pixels, avx512});
    };
    for (bool avx512 : {false, true}) {
        QCOMPARE(conv({6, 1, 5, 5}, 0.8, 1, 784, avx512), std::string("condensed"));      // 20 taps
        QCOMPARE(conv({16, 6, 5, 5}, 0.5, 1, 100, avx512), std::string("condensed"));     // 75 taps
        QCOMPARE(conv({16, 6, 5, 5}, 0.8, 1, 100, avx512), std::string("masked_dense"));  // 120 taps
        QCOMPARE(conv({64, 3, 3, 3}, 0.9, 1, 1024, avx512), std::string("condensed"));    // 24 taps
        QCOMPARE(conv({64, 64, 3, 3}, 0.35, 1, 1024, avx512), std::string("condensed"));
        QCOMPARE(conv({64, 64, 3, 3}, 0.6, 1, 1024, avx512), std::string("masked_dense"));
        QCOMPARE(conv({128, 128, 3, 3}, 0.25, 1, 256, avx512), std::string("condensed"));
        QCOMPARE(conv({256, 256, 3, 3}, 0.1, 1, 64, avx512), std::string("condensed"));
        QCOMPARE(conv({512, 512, 3, 3}, 0.25, 1, 16, avx512), std::string("masked_dense"));
        QCOMPARE(conv({512, 512, 3, 3}, 0.06, 1, 16, avx512), std::string("condensed"));  // ERK at 90%
        QCOMPARE(conv({256, 128, 1, 1}, 0.5, 2, 64, avx512), std::string("condensed"));   // 64 taps
        QCOMPARE(conv({512, 256, 1, 1}, 0.25, 2, 16, avx512), std::string("masked_dense")); // 64 taps, 4x4
        QCOMPARE(conv({512, 256, 1, 1}, 0.1, 2, 16, avx512), std::string("condensed"));   // 26 taps
        // An image size nobody gave: only rows of few taps.
        QCOMPARE(conv({64, 64, 3, 3}, 0.1, 1, 0, avx512), std::string("masked_dense"));
        QCOMPARE(conv({64, 64, 3, 3}, 0.05, 1, 0, avx512), std::string("condensed"));
    }
    // Where the CPUs differ (measured Zen 3 / Zen 5: 1.38x / 0.9x at 50% on 32x32, 1.27x / 0.85x at
    // 25% on 8x8, 1.55x / 1.0x at 10% on 4x4).
    QCOMPARE(conv({64, 64, 3, 3}, 0.48, 1, 1024, false), std::string("condensed"));
    QCOMPARE(conv({64, 64, 3, 3}, 0.48, 1, 1024, true), std::string("masked_dense"));
    QCOMPARE(conv({256, 256, 3, 3}, 0.25, 1, 64, false), std::string("condensed"));
    QCOMPARE(conv({256, 256, 3, 3}, 0.25, 1, 64, true), std::string("masked_dense"));
    QCOMPARE(conv({512, 512, 3, 3}, 0.1, 1, 16, false), std::string("condensed"));
    QCOMPARE(conv({512, 512, 3, 3}, 0.1, 1, 16, true), std::string("masked_dense"));
    // ResNet's own 4x4 layers (3x3, padding 1, stride 1) share image borders in the kernels, cheaper
    // by 1.35-1.45x: condensed at uniform 90% (10% kept) on both, not at 15%. A strided layer onto 4x4
    // reads phase planes with one border row each: condensed at 10% too, not at 11.5%; one padded
    // wider than its kernel less one keeps the rule above.
    auto padded = [&](std::vector<int64_t> shape, double density, int64_t stride, int64_t padding, bool avx512) {
        return computePathFor(c, {std::move(shape), density, true, false, stride, 16, avx512, padding});
    };
    for (bool avx512 : {false, true}) {
        QCOMPARE(padded({512, 512, 3, 3}, 0.1, 1, 1, avx512), std::string("condensed"));
        QCOMPARE(padded({512, 512, 3, 3}, 0.15, 1, 1, avx512), std::string("masked_dense"));
        QCOMPARE(padded({512, 256, 3, 3}, 0.1, 2, 1, avx512), std::string("condensed"));
        QCOMPARE(padded({512, 256, 3, 3}, 0.115, 2, 1, avx512), std::string("masked_dense"));
        QCOMPARE(padded({512, 512, 3, 3}, 0.11, 1, 3, avx512), std::string("masked_dense"));
    }
    // The batch does not move them (a first stage under ERK at 90% keeps 48%: masked-dense on AVX-512
    // at batch 128 too, where it had looked faster condensed while LibTorch's tensors faulted).
    for (int64_t batch : {128, 256}) {
        c.batch_size = batch;
        QCOMPARE(conv({64, 64, 3, 3}, 0.48, 1, 1024, true), std::string("masked_dense"));
        QCOMPARE(conv({64, 64, 3, 3}, 0.4, 1, 1024, true), std::string("condensed"));
        QCOMPARE(conv({64, 64, 3, 3}, 0.48, 1, 1024, false), std::string("condensed"));
    }
    QCOMPARE(computePathFor(c, {{300, 32}, 0.1, true, false}), std::string("masked_dense"));
    QCOMPARE(computePathFor(c, {{300, 784}, 0.1, false, false}), std::string("masked_dense"));
    QCOMPARE(computePathFor(c, {{10, 100}, 1.0, true, false}), std::string("dense"));
    c.sparse_compute = "masked_dense";
    QCOMPARE(computePathFor(c, {{300, 784}, 0.1, true, false}), std::string("masked_dense"));
    c.sparse_compute = "condensed";
    QCOMPARE(computePathFor(c, {{6, 1, 5, 5}, 0.8, true, false}), std::string("condensed"));
}

// `auto` reads each convolution's output image size from the size its model says it feeds it: that
// size must be the one a forward pass really gives it (MNIST- and CIFAR-shaped inputs, every model
// with convolutions).
void TestCondensedTrainer::modelsTellTheirConvolutionsTheImageSize() {
    guarded([] {
        torch::NoGradGuard noGrad;
        const InputShape mnist{1, 28, 28, 10};
        const InputShape cifar{3, 32, 32, 10};
        for (const char* name : {"lenet5", "resnet18", "wrn22_2"}) {
            for (const InputShape& input : {mnist, cifar}) {
                auto model = buildModel(name, "", input);
                model->eval();
                int convs = 0;
                for (const auto& named : model->sparseLayers()) {
                    if (auto* conv = dynamic_cast<SparseConv2dImpl*>(named.layer)) {
                        conv->captureInput = true;
                        ++convs;
                    }
                }
                QVERIFY(convs >= 2);
                model->forward(torch::zeros({1, input.channels, input.height, input.width}));
                for (const auto& named : model->sparseLayers()) {
                    auto* conv = dynamic_cast<SparseConv2dImpl*>(named.layer);
                    if (!conv) continue;
                    const std::string where = std::string(name) + " " + named.name;
                    QVERIFY2(conv->capturedInput.defined(), where.c_str());
                    QCOMPARE(conv->inputHeight, conv->capturedInput.size(2));
                    QCOMPARE(conv->inputWidth, conv->capturedInput.size(3));
                    const auto out = conv->forward(conv->capturedInput);
                    QVERIFY2(conv->outputPixels() == out.size(2) * out.size(3), where.c_str());
                }
            }
        }
    });
}

// A checkpoint written on one path resumes on the other, also inside a gradient window.
void TestCondensedTrainer::checkpointFromCondensedResumesMaskedDense() {
    guarded([] { resumeOnTheOtherPath("condensed", "masked_dense"); });
}

void TestCondensedTrainer::checkpointFromMaskedDenseResumesCondensed() {
    guarded([] { resumeOnTheOtherPath("masked_dense", "condensed"); });
}

// Checkpoints of condensed runs written before stop 41 hold every condensed layer densely: they still
// resume on both paths.
void TestCondensedTrainer::denseLayoutOfEarlierCheckpointsResumesOnBothPaths() {
    guarded([] {
        LimitsLowered raised(std::numeric_limits<int64_t>::max(), int64_t{1} << 24);
        resumeOnTheOtherPath("condensed", "masked_dense", true);
        resumeOnTheOtherPath("condensed", "condensed", true);
    });
}

// static with static_fan_in: SRigL's initial constant fan-in mask, never updated, trained condensed.
void TestCondensedTrainer::staticFanInTrainsCondensed() {
    guarded([] {
        RunConfig a = smallRun("mlp", "masked_dense");
        a.method = "static";
        a.static_fan_in = true;
        a.max_steps = 200;
        // At lr 0.05 this run turns chaotic near step 165 (loss 0.13-0.23, jumping from step to step):
        // with OpenBLAS's AVX-512 sgemm (Zen 4, detected as Cooperlake) the two paths' last-bit
        // differences then grew from 4e-7 to 1.2e-4 within 20 steps, with its AVX2 one to 7e-6. A
        // smaller step keeps the comparison about the kernels, not about where the run turns chaotic.
        a.lr = 0.02;
        RunConfig b = a;
        b.sparse_compute = "condensed";
        Trainer dense(a);
        Trainer condensed(b);
        QVERIFY(anyCondensed(condensed));
        std::vector<torch::Tensor> initial;
        for (auto& st : condensed.internals().layers) initial.push_back(st.layer->denseMaskMatrix().clone());
        compareInLockstep(dense, condensed, 1e-4);
        auto& layers = condensed.internals().layers;
        for (size_t i = 0; i < layers.size(); ++i) {
            QVERIFY(torch::equal(layers[i].layer->denseMaskMatrix(), initial[i]));
            if (!layers[i].layer->isCondensed()) continue;
            const auto counts = initial[i].sum(1);
            QVERIFY((counts == layers[i].layer->condensed->k()).all().item<bool>());
        }
        // Without static_fan_in, static draws unstructured masks: condensed is refused.
        RunConfig unstructured = b;
        unstructured.static_fan_in = false;
        QVERIFY_THROWS_EXCEPTION(ConfigError, Trainer{unstructured});
    });
}

// Planning builds the model for its shapes only: the 784-65536-65536-10 MLP (17 GB of dense fc2
// weights, more than this machine's memory) plans at once. Before DeferredWeights this allocated and
// initialised every dense weight.
void TestCondensedTrainer::planOfAModelBeyondMemoryNeedsNoWeights() {
    guarded([] {
        RunConfig c = smallRun("mlp", "condensed");
        c.hidden = "65536,65536";
        c.sparsity = 0.99;
        const auto plan = planRun(c);
        QCOMPARE(plan.size(), size_t{3});
        QCOMPARE(plan[1].shape, (std::vector<int64_t>{65536, 65536}));
        for (const auto& layer : plan) QVERIFY(layer.k >= 1);
        QVERIFY(plan[1].density < 0.01);
        // A model built outside the guard still gets its weights (checkpoint readers, conversion).
        auto model = buildModel("mlp", "32,16", InputShape{});
        QCOMPARE(model->sparseLayers()[0].layer->weight.numel(), int64_t{32 * 784});
        {
            DeferredWeights deferred;
            auto shapesOnly = buildModel("mlp", "32,16", InputShape{});
            QCOMPARE(shapesOnly->sparseLayers()[0].layer->weight.numel(), int64_t{0});
            QCOMPARE(shapesOnly->sparseLayers()[0].layer->fanIn(), int64_t{784});
        }
        QVERIFY(!DeferredWeights::active());
    });
}

// A layer whose dense form would take 1 GiB (16384 x 16384) is drawn directly in the condensed form
// at 99%: its dense weight and mask never hold memory, it trains, and its statistics come from the
// condensed form.
void TestCondensedTrainer::layerBeyondMemoryStartsCondensed() {
    guarded([] {
        RunConfig c = smallRun("mlp", "auto");
        c.hidden = "16384,16384";
        c.sparsity = 0.99;
        c.max_steps = 3;
        c.batch_size = 16;
        Trainer t(c);
        auto& big = t.internals().layers[1];
        QCOMPARE(big.compute, std::string("condensed"));
        QVERIFY(big.layer->isCondensed());
        QCOMPARE(big.layer->weight.numel(), int64_t{0});
        QCOMPARE(big.layer->mask.numel(), int64_t{0});
        QCOMPARE(big.layer->condensed->k(), big.last.k);
        QVERIFY(!big.gradSum.defined());
        // N(0, 2 / k) initialisation.
        const double sd = big.layer->condensed->values.detach().std().item<double>();
        QVERIFY(std::fabs(sd / std::sqrt(2.0 / static_cast<double>(big.last.k)) - 1.0) < 0.02);
        while (t.trainStep()) {
        }
        QCOMPARE(t.step(), int64_t{3});
        for (const auto& st : t.internals().layers)
            if (st.layer->isCondensed()) requireCondensedInvariants(st);
    });
}

// Layers beyond the checkpoint limit are written condensed (values, indices, alive and the captures
// of an open gradient window, no dense weight or mask): resumed inside the window, the run continues
// as the uninterrupted one does.
void TestCondensedTrainer::condensedCheckpointLayoutResumesExactly() {
    guarded([] {
        LimitsLowered lowered(0, int64_t{1} << 26);
        RunConfig c = smallRun("mlp", "condensed");
        c.grad_accumulation = 3;
        c.max_steps = 220;
        c.gamma_sal = 0.9; // ablation, so k and the rows' state change between updates
        Trainer reference(c);
        std::vector<double> losses;
        while (reference.trainStep()) losses.push_back(reference.lastLoss());

        const std::string file = scratchFile("condensed-layout.ckpt");
        {
            Trainer t(c);
            for (int step = 0; step < 149; ++step) t.trainStep();
            t.saveCheckpoint(file);
        }
        QVERIFY(archiveHas(file, "condensed.0.values"));
        QVERIFY(archiveHas(file, "condensed.0.input.0")); // step 149 lies inside the window 148..150
        QVERIFY(!archiveHas(file, "model.fc1.weight"));
        Trainer resumed(c);
        continueAsReference(resumed, file, 149, losses, reference);
        for (size_t i = 0; i < reference.internals().layers.size(); ++i) {
            const auto& a = resumed.internals().layers[i];
            const auto& b = reference.internals().layers[i];
            if (a.layer->isCondensed()) {
                requireCondensedInvariants(a);
                QVERIFY(torch::equal(resumed.internals().optimizer->state(a.paramIndex).at(0),
                                     reference.internals().optimizer->state(b.paramIndex).at(0)));
            }
        }
    });
}

// A convolution captures its window's dense gradient, not patches: written with the condensed layout
// inside a window (captured_grad), it resumes as the uninterrupted run continues, and no captures
// outlive the update.
void TestCondensedTrainer::convolutionCapturesResumeInsideTheWindow() {
    guarded([] {
        LimitsLowered lowered(0, int64_t{1} << 26);
        RunConfig c = smallRun("lenet5", "condensed");
        c.grad_accumulation = 3;
        c.max_steps = 130; // updates at steps 50 and 100 (t_end 0.8: up to step 104)
        Trainer reference(c);
        std::vector<double> losses;
        while (reference.trainStep()) losses.push_back(reference.lastLoss());

        const std::string file = scratchFile("condensed-conv-window.ckpt");
        {
            Trainer t(c);
            for (int step = 0; step < 99; ++step) t.trainStep(); // inside the window 98..100
            auto& conv2 = *t.internals().layers[1].layer->condensed;
            QVERIFY(conv2.capturedGrad.defined() && conv2.inputs.empty());
            {
                // A damaged capture is refused by name, not added into the next update.
                const std::string damaged = scratchFile("condensed-conv-damaged.ckpt");
                const auto saved = conv2.capturedGrad.clone();
                conv2.capturedGrad[0][0] = std::nanf("");
                t.saveCheckpoint(damaged);
                conv2.capturedGrad.copy_(saved);
                const std::string why = corruptLayerNotRefused(c, damaged, "conv2");
                QVERIFY2(why.empty(), ("a non-finite captured gradient: " + why).c_str());
                std::filesystem::remove(damaged);
            }
            t.saveCheckpoint(file);
            t.trainStep();
            t.trainStep(); // step 100: the update consumes the window
            QVERIFY(!conv2.capturedGrad.defined() && !conv2.lastGrad.defined());
        }
        QVERIFY(archiveHas(file, "condensed.1.captured_grad"));
        Trainer resumed(c);
        continueAsReference(resumed, file, 99, losses, reference);
    });
}

// A condensed layer is checked against the model's layer by name: another model's checkpoint with
// layers of the same shapes in another order is refused, not loaded into the wrong layer.
void TestCondensedTrainer::condensedLayoutOfAnotherModelIsRefused() {
    guarded([] {
        RunConfig c = smallRun("mlp", "condensed");
        c.max_steps = 20;
        c.hidden = "100,100";
        const std::string file = scratchFile("renamed.ckpt");
        {
            Trainer t(c);
            for (int step = 0; step < 5; ++step) t.trainStep();
            t.internals().layers[1].name = "fc9"; // fc2 stored under another name
            t.saveCheckpoint(file);
        }
        for (const char* compute : {"condensed", "masked_dense"}) {
            RunConfig m = c;
            m.sparse_compute = compute;
            Trainer other(m);
            const std::string what = checkpointRefusal([&] { other.loadCheckpoint(file); });
            QVERIFY2(what.find("'fc9'") != std::string::npos && what.find("fc2") != std::string::npos, what.c_str());
        }
        const std::string what = checkpointRefusal([&] { loadCheckpointModel(file); });
        QVERIFY2(what.find("'fc9'") != std::string::npos, what.c_str());
        std::filesystem::remove(file);
    });
}

// No run writes an N:M layer condensed, and its N:M check runs on the dense form only: a file that
// holds one condensed (made here by condensing the trainer's layer by hand) is refused by name.
void TestCondensedTrainer::condensedLayoutOfAnNmLayerIsRefused() {
    guarded([] {
        RunConfig c = smallRun("mlp", "masked_dense");
        c.method = "nm_ste";
        c.nm = "2:4";
        c.max_steps = 20;
        const std::string file = scratchFile("nm-condensed.ckpt");
        {
            Trainer t(c);
            for (int step = 0; step < 5; ++step) t.trainStep();
            auto& fc1 = t.internals().layers[0];
            QVERIFY(fc1.nm);
            t.internals().condense(fc1); // 2:4 keeps 392 of 784 inputs in every row: constant fan-in
            t.saveCheckpoint(file);
        }
        QVERIFY(archiveHas(file, "condensed.0.values"));
        Trainer fresh(c);
        const std::string what = checkpointRefusal([&] { fresh.loadCheckpoint(file); });
        QVERIFY2(what.find("fc1") != std::string::npos && what.find("N:M") != std::string::npos, what.c_str());
        std::filesystem::remove(file);
    });
}

// The readers (export, convert, bench --run) get a condensed run's layers expanded, equal to what the
// trainer computes with; a layer too large to expand is refused by name.
void TestCondensedTrainer::readersExpandCondensedLayers() {
    guarded([] {
        RunConfig c = smallRun("mlp", "condensed");
        c.max_steps = 160; // updates at steps 50, 100 and 150
        c.sparsity = 0.99;
        c.gamma_sal = 0.9; // ablates neurons, which the readers must keep ablated
        const std::string file = scratchFile("reader.ckpt");
        Trainer t(c);
        while (t.trainStep()) {
        }
        t.saveCheckpoint(file);
        QVERIFY(anyCondensed(t));
        int64_t ablated = 0;
        for (auto& st : t.internals().layers)
            if (st.layer->isCondensed()) ablated += st.layer->condensed->ablated;
        QVERIFY2(ablated > 0, "no ablated neuron to carry over");
        QVERIFY(!archiveHas(file, "model.fc1.weight"));
        const CheckpointModel loaded = loadCheckpointModel(file);
        QCOMPARE(loaded.step, t.step());
        const auto named = loaded.model->sparseLayers();
        QCOMPARE(named.size(), t.internals().layers.size());
        for (size_t i = 0; i < named.size(); ++i) {
            const auto& st = t.internals().layers[i];
            QVERIFY(!named[i].layer->isCondensed());
            QVERIFY2(torch::equal(named[i].layer->weightMatrix(), st.layer->denseWeightMatrix()), st.name.c_str());
            QVERIFY2(torch::equal(named[i].layer->maskMatrix(), st.layer->denseMaskMatrix()), st.name.c_str());
        }
        // The model computes what the trainer's does (eval mode, the same batch).
        const auto x = torch::randn({5, 784});
        {
            torch::NoGradGuard noGrad;
            t.internals().model->eval();
            QVERIFY(torch::allclose(loaded.model->forward(x), t.internals().model->forward(x), 1e-5, 1e-5));
        }
        const int64_t belowFc1 = 300 * 784 - 1;
        const std::string what = checkpointRefusal([&] { loadCheckpointModel(file, BeyondDense::Refuse, belowFc1); });
        QVERIFY2(what.find("fc1") != std::string::npos && what.find("300 x 784") != std::string::npos, what.c_str());
        // Kept in its training form instead (the condensed export): fc1 only, and the condensed model
        // made from it computes what the one made from the expanded layers does.
        const CheckpointModel kept = loadCheckpointModel(file, BeyondDense::KeepCondensed, belowFc1);
        const auto keptLayers = kept.model->sparseLayers();
        QVERIFY(keptLayers[0].layer->isCondensed() && keptLayers[0].layer->weight.numel() == 0);
        QVERIFY(!keptLayers[1].layer->isCondensed());
        QVERIFY(torch::equal(keptLayers[0].layer->condensed->values, t.internals().layers[0].layer->condensed->values));
        const CondensedModel fromForm(kept.model), fromDense(loaded.model);
        QCOMPARE(fromForm.layers().size(), fromDense.layers().size());
        for (size_t i = 0; i < fromForm.layers().size(); ++i) {
            const auto& a = fromForm.layers()[i];
            const auto& b = fromDense.layers()[i];
            QVERIFY2(a.rowIds == b.rowIds && a.k == b.k && a.inFeatures == b.inFeatures, a.name.c_str());
            QVERIFY2(torch::equal(a.values, b.values) && torch::equal(a.indices, b.indices) && torch::equal(a.bias, b.bias),
                     a.name.c_str());
        }
        QVERIFY(torch::equal(fromForm.forward(x), fromDense.forward(x)));

        // `srigl bench --run` of such a run: the held layer is timed condensed only, checked against
        // LibTorch's gather, and so is the whole model, checked against its own forward; every dense
        // time is NaN. A check that fails times nothing.
        BenchSettings quick;
        quick.targetSeconds = 0.0;
        quick.warmup = 1;
        quick.minReps = 3;
        const auto cases = classifierBenchLayers(*kept.model);
        QCOMPARE(cases.size(), size_t{3});
        QVERIFY(cases[0].held && !cases[0].layer.weight.defined() && cases[0].layer.name == "fc1");
        QVERIFY(!cases[1].held && cases[1].layer.weight.defined() && cases[1].layer.mask.defined());
        const CondensedLinear& fc1 = *cases[0].held;
        QCOMPARE(fc1.outFeatures, int64_t{300});
        QCOMPARE(fc1.rows(), 300 - t.internals().layers[0].layer->condensed->ablated); // its active neurons
        for (const int64_t batch : {1, 5}) {
            const LayerTiming lt = benchModelLayer(cases[0], batch, quick);
            QCOMPARE(lt.inFeatures, int64_t{784});
            QCOMPARE(lt.outFeatures, int64_t{300});
            QCOMPARE(lt.k, fc1.k);
            QVERIFY(lt.condensedUs > 0 && lt.condensedError <= 1e-5);
            QVERIFY(std::isnan(lt.denseUs) && std::isnan(lt.csrUs) && std::isnan(lt.structuredUs));
            const ModelTiming mt = benchModel(fromForm, inputShapeOf(c.dataset), batch, quick, false);
            QVERIFY(mt.condensedUs > 0 && mt.error <= 1e-5 && std::isnan(mt.denseUs));
        }
        BenchSettings strict = quick;
        strict.tolerance = -1.0;
        QVERIFY_EXCEPTION_THROWN(benchCondensedOnly(fc1, 2, strict), InferenceError);
        std::filesystem::remove(file);
    });
}

// Damage the condensed form in a checkpoint (an index outside the fan-in, a NaN): refused by name.
void TestCondensedTrainer::corruptCondensedCheckpointIsRefused() {
    guarded([] {
        LimitsLowered lowered(0, int64_t{1} << 26);
        RunConfig c = smallRun("mlp", "condensed");
        c.max_steps = 20;
        Trainer t(c);
        for (int step = 0; step < 5; ++step) t.trainStep();
        auto& c0 = *t.internals().layers[0].layer->condensed;
        for (int damage = 0; damage < 3; ++damage) {
            const std::string file = scratchFile("corrupt-condensed.ckpt");
            const auto savedIndices = c0.indices.clone();
            const auto savedValues = c0.values.detach().clone();
            torch::NoGradGuard noGrad;
            if (damage == 0) c0.indices[0][0] = static_cast<int16_t>(c0.fanIn + 3);
            else if (damage == 1) c0.values[1][1] = std::nanf("");
            // As int32, 65536 past an index it would wrap back to when narrowed to int16.
            else c0.indices = (c0.indices.to(torch::kInt) + torch::full_like(c0.indices, 65536, torch::kInt)).contiguous();
            t.saveCheckpoint(file);
            c0.indices = savedIndices;
            c0.values.copy_(savedValues);
            const std::string why = corruptLayerNotRefused(c, file, "fc1");
            QVERIFY2(why.empty(), ("a damaged condensed layer: " + why).c_str());
            std::filesystem::remove(file);
        }
    });
}

// Recorders get no weight or gradient snapshot of a condensed layer beyond the snapshot limit (it
// would have to be expanded), and no mask snapshot beyond the (larger) mask limit; a direct request
// names the reason.
void TestCondensedTrainer::snapshotsSampleLayersBeyondTheLimit() {
    guarded([] {
        RunConfig c = smallRun("mlp", "condensed");
        c.max_steps = 160; // updates at steps 50, 100 and 150
        c.sparsity = 0.99;
        c.gamma_sal = 0.9; // ablates neurons: a sampled row must stay ablated
        Trainer t(c);
        while (t.trainStep()) {
        }
        const auto all = t.maskSnapshot();
        QCOMPARE(all.size(), size_t{3});
        for (const auto& s : all) QVERIFY(!s.sampled());
        auto names = [](const std::vector<LayerMaskSnapshot>& snapshots) {
            std::vector<std::string> out;
            for (const auto& s : snapshots) out.push_back(s.name + (s.sampled() ? "/" + std::to_string(s.rowStride) : ""));
            return out;
        };
        auto weightNames = [](const std::vector<LayerWeightSnapshot>& snapshots) {
            std::vector<std::string> out;
            for (const auto& s : snapshots) out.push_back(s.name);
            return out;
        };
        {
            // fc2 (100 x 300) fits both limits, fc1 (300 x 784) neither: its weights are left out and its
            // mask is sampled, 38 whole rows of 784 in 30000 entries: every 8th of its 300 neurons.
            LimitsLowered lowered(int64_t{1} << 28, 100 * 300, 100 * 300);
            QCOMPARE(names(t.maskSnapshot()), (std::vector<std::string>{"fc1/8", "fc2", "fc3"}));
            QCOMPARE(weightNames(t.weightSnapshots()), (std::vector<std::string>{"fc2", "fc3"}));
            QVERIFY_EXCEPTION_THROWN(t.weightSnapshot("fc1"), ConfigError);
            QCOMPARE(t.weightSnapshot("fc2").fanIn, int64_t{300});
        }
        {
            // fc1 beyond the weights' limit but within the masks': its mask is drawn whole, its weights not.
            LimitsLowered lowered(int64_t{1} << 28, 100 * 300, 784 * 300);
            QCOMPARE(names(t.maskSnapshot()), (std::vector<std::string>{"fc1", "fc2", "fc3"}));
            QCOMPARE(weightNames(t.weightSnapshots()), (std::vector<std::string>{"fc2", "fc3"}));
        }
        {
            // A row wider than the limit: fc1 keeps its statistics only; fc2 is two rows, every 50th,
            // and fc3 (10 x 100) seven rows, every 2nd.
            LimitsLowered lowered(int64_t{1} << 28, 100 * 300, 700);
            QCOMPARE(names(t.maskSnapshot()), (std::vector<std::string>{"fc2/50", "fc3/2"}));
        }
        // Every sampled row is the layer's row, bit for bit, and the sampled ablated rows are the
        // layer's ablated neurons among them, at several strides.
        int64_t ablatedSampled = 0;
        for (const int64_t rowsKept : {150, 100, 60, 38, 20, 7, 1}) {
            LimitsLowered lowered(int64_t{1} << 28, 1, 784 * rowsKept + 783);
            const LayerMaskSnapshot s = t.maskSnapshot().front();
            const LayerMaskSnapshot& full = all.front();
            const int64_t stride = (300 + rowsKept - 1) / rowsKept;
            QCOMPARE(s.name, std::string("fc1"));
            QCOMPARE(s.rowStride, stride);
            QCOMPARE(s.outFeatures, (300 + stride - 1) / stride);
            QVERIFY(s.outFeatures <= rowsKept);
            QCOMPARE(s.layerRows(), int64_t{300});
            QCOMPARE(s.fanIn, int64_t{784});
            QCOMPARE(s.bits.size(), static_cast<size_t>((s.outFeatures * 784 + 7) / 8));
            auto bit = [](const LayerMaskSnapshot& m, int64_t i) { return (m.bits[size_t(i / 8)] >> (i % 8)) & 1; };
            for (int64_t row = 0; row < s.outFeatures; ++row)
                for (int64_t col = 0; col < 784; ++col)
                    QVERIFY2(bit(s, row * 784 + col) == bit(full, s.neuronOf(row) * 784 + col),
                             qPrintable(QString("stride %1, row %2, input %3").arg(stride).arg(row).arg(col)));
            std::vector<int64_t> expected;
            for (int64_t r : full.ablated)
                if (r % stride == 0) expected.push_back(r / stride);
            QCOMPARE(s.ablated, expected);
            ablatedSampled += static_cast<int64_t>(expected.size());
        }
        QVERIFY2(ablatedSampled > 0, "no sampled row was ablated: the ablated rows were not checked");
    });
}

QTEST_GUILESS_MAIN(TestCondensedTrainer)
#include "test_condensed_trainer.moc"
