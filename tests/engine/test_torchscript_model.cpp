// model=torchscript (engine/models/torchscript_model.hpp): modules that PyTorch itself scripted or
// traced (tests/support/torchscript_models.py) train under SRigL, SR-STE and trainable thresholds
// with valid masks, match the built-in model of the same architecture, keep BatchNorm's train/eval
// behaviour, resume from checkpoints, export as TorchScript, and refuse bad files by name.
#include <torch/script.h>
#include <torch/torch.h>

#include <QtTest>

#include "engine/errors.hpp"
#include "engine/models/torchscript_model.hpp"
#include "engine/nm/nm_layout.hpp"
#include "engine/sparsity/trainable_threshold.hpp"
#include "engine/training/checkpoint_model.hpp"
#include "engine/training/trainer_internals.hpp"
#include "tests/support/torch_python.hpp"

#include <QTemporaryDir>

#include <cmath>
#include <filesystem>

using namespace srigl;

namespace {

RunConfig scriptedRun(const std::string& file) {
    RunConfig c;
    c.model = "torchscript";
    c.model_path = file;
    c.synthetic_train = 1024;
    c.synthetic_test = 128;
    c.batch_size = 32;
    c.epochs = 10;
    c.max_steps = 100;
    c.sparsity = 0.9;
    c.delta_t = 20;
    c.t_end = 0.8;
    c.lr = 0.05;
    c.seed = 11;
    c.threads = 1;
    c.log_every = 1000;
    c.dense_reference_steps = 0;
    return c;
}

double relative(double a, double b) { return std::fabs(a - b) / std::max(1e-12, std::fabs(b)); }

// The ConfigError text of building a trainer for `config`, "" when it builds.
QString configError(const RunConfig& config) {
    try {
        Trainer t(config);
    } catch (const ConfigError& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

// Every active neuron keeps exactly k inputs, the layer keeps its budget, weights are zero outside
// the mask (ablated rows entirely).
void requireConstantFanIn(Trainer& t) {
    for (auto& st : t.internals().layers) {
        if (st.density >= 1.0) continue;
        const auto mask = st.layer->denseMaskMatrix();
        const auto counts = mask.sum(1);
        const int64_t k = st.last.k;
        QVERIFY2(k >= 1, st.name.c_str());
        QVERIFY2(((counts == 0) | (counts == k)).all().item<bool>(), st.name.c_str());
        QVERIFY2(counts.sum().item<int64_t>() <= st.budget, st.name.c_str());
        QVERIFY2(st.layer->denseWeightMatrix().masked_select(~mask).eq(0).all().item<bool>(), st.name.c_str());
    }
}

} // namespace

class TestTorchscriptModel : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void scriptedMlpTrainsLikeTheBuiltInMlp();
    void tracedMlpTrainsLikeTheScriptedOne();
    void sriglKeepsConstantFanInOnAScriptedCnn();
    void srsteGivesNmMasksThroughTheScriptedForward();
    void trainableThresholdsReachTheScriptedForward();
    void batchNormFollowsTrainAndEval();
    void patternsChooseTheSparseLayers();
    void resumesAndExportsTheScriptedModule();
    void badFilesAreRefusedByName();

private:
    std::string fixture(const char* name);
    QString folder_;
    bool looked_ = false;
};

std::string TestTorchscriptModel::fixture(const char* name) {
    if (!looked_) {
        folder_ = torchscriptFixtures(torchPython());
        looked_ = true;
    }
    return folder_.isEmpty() ? std::string() : (folder_ + "/" + name).toStdString();
}

#define FIXTURE(var, name)                                                                                     \
    const std::string var = fixture(name);                                                                     \
    SRIGL_REQUIRE_TORCH_PYTHON(QString::fromStdString(var))

void TestTorchscriptModel::scriptedMlpTrainsLikeTheBuiltInMlp() {
    // Same architecture, seed and path: the trainer initialises every sparse weight and bias from
    // the run's generators, so the two runs are the same run up to the interpreter's rounding.
    FIXTURE(file, "mlp.pt");
    RunConfig scripted = scriptedRun(file);
    RunConfig builtIn = scripted;
    builtIn.model = "mlp";
    builtIn.model_path.clear();
    builtIn.hidden = "300,100";
    builtIn.sparse_compute = "masked_dense";
    Trainer a(scripted), b(builtIn);
    QCOMPARE(a.internals().layers.size(), size_t{3});
    int64_t updates = 0;
    double worst = 0.0;
    while (true) {
        const bool more = a.trainStep();
        QCOMPARE(b.trainStep(), more);
        if (!more) break;
        worst = std::max(worst, relative(a.lastLoss(), b.lastLoss()));
        if (a.internals().schedule->isUpdateStep(a.step())) {
            ++updates;
            for (size_t i = 0; i < 3; ++i)
                QVERIFY(torch::equal(a.internals().layers[i].layer->denseMaskMatrix(),
                                     b.internals().layers[i].layer->denseMaskMatrix()));
            requireConstantFanIn(a);
        }
    }
    qInfo("largest relative loss difference over %lld steps: %.2e", static_cast<long long>(a.step()), worst);
    QCOMPARE(a.step(), int64_t{100});
    QVERIFY(updates >= 3);
    QVERIFY(worst <= 1e-4);
    for (const auto& st : a.internals().layers) QVERIFY(st.compute != "condensed");
}

void TestTorchscriptModel::tracedMlpTrainsLikeTheScriptedOne() {
    FIXTURE(scriptedFile, "mlp.pt");
    FIXTURE(tracedFile, "mlp_traced.pt");
    RunConfig c = scriptedRun(scriptedFile);
    c.max_steps = 40;
    Trainer a(c);
    c.model_path = tracedFile;
    Trainer b(c);
    while (a.trainStep()) {
        QVERIFY(b.trainStep());
        QVERIFY(relative(a.lastLoss(), b.lastLoss()) <= 1e-4);
    }
}

void TestTorchscriptModel::sriglKeepsConstantFanInOnAScriptedCnn() {
    FIXTURE(file, "cnn.pt");
    RunConfig c = scriptedRun(file);
    c.sparsity = 0.8;
    c.gamma_sal = 0.9; // ablation on, and likely to fire
    c.lr = 0.02;
    Trainer t(c);
    QCOMPARE(t.internals().layers.size(), size_t{3});
    QCOMPARE(t.internals().layers[0].name, std::string("conv1"));
    QCOMPARE(t.internals().layers[2].name, std::string("fc"));
    requireConstantFanIn(t);
    int64_t updates = 0;
    while (t.trainStep()) {
        QVERIFY(std::isfinite(t.lastLoss()));
        if (t.internals().schedule->isUpdateStep(t.step())) {
            ++updates;
            requireConstantFanIn(t);
        }
    }
    QVERIFY(updates >= 3);
}

void TestTorchscriptModel::srsteGivesNmMasksThroughTheScriptedForward() {
    FIXTURE(file, "cnn.pt");
    RunConfig c = scriptedRun(file);
    c.method = "srste";
    c.nm = "2:4";
    c.sparse_layers = "conv2, fc"; // conv1's fan-in 9 is no multiple of 4
    c.max_steps = 30;
    c.lr = 0.02;
    Trainer t(c);
    auto& layers = t.internals().layers;
    QCOMPARE(layers.size(), size_t{2});
    QCOMPARE(layers[0].name, std::string("conv2"));
    while (t.trainStep()) QVERIFY(std::isfinite(t.lastLoss()));
    for (auto& st : layers) {
        // Groups of 4 along the input channels (engine/nm/nm_layout.hpp).
        const auto groups = nm::toGroupRows(st.layer->mask.to(torch::kInt)).reshape({-1, 4}).sum(1);
        QVERIFY2(groups.eq(2).all().item<bool>(), st.name.c_str());
        QVERIFY(st.layer->straightThrough);
    }
    // The scripted forward computes with W * M although the stored weights stay dense.
    auto model = t.internals().model;
    model->eval();
    torch::NoGradGuard noGrad;
    const auto x = torch::randn({4, 1, 28, 28});
    const auto bound = model->forward(x);
    for (auto& st : layers) st.layer->weight.mul_(st.layer->maskFactor());
    QVERIFY(torch::allclose(bound, model->forward(x), 1e-5, 1e-6));
}

void TestTorchscriptModel::trainableThresholdsReachTheScriptedForward() {
    FIXTURE(file, "mlp.pt");
    RunConfig c = scriptedRun(file);
    c.method = "trainable_threshold";
    c.sparsity = 0.0;
    c.tt_alpha = 0.05; // a strong pull, so thresholds move within a few steps
    c.max_steps = 20;
    Trainer t(c);
    while (t.trainStep()) QVERIFY(std::isfinite(t.lastLoss()));
    // The scripted module computes with W * step(|W| - t), which it reads only when the model binds
    // it: its output equals the output with the masked weights stored, not with the dense ones.
    auto model = t.internals().model;
    model->eval();
    torch::NoGradGuard noGrad;
    const auto x = torch::randn({4, 1, 28, 28});
    const auto bound = model->forward(x);
    int64_t dropped = 0;
    for (auto& st : t.internals().layers) {
        const auto mask = thresholdMask(st.layer->weight, st.layer->threshold);
        dropped += mask.numel() - mask.sum().item<int64_t>();
        st.layer->weight.mul_(mask);
        st.layer->threshold.zero_(); // with thresholds at zero, the stored weights alone give that output
    }
    QVERIFY2(dropped > 0, "the thresholds masked nothing: the test would prove nothing");
    QVERIFY(torch::allclose(bound, model->forward(x), 1e-5, 1e-6));
}

void TestTorchscriptModel::batchNormFollowsTrainAndEval() {
    FIXTURE(file, "cnn.pt");
    RunConfig c = scriptedRun(file);
    c.max_steps = 5;
    Trainer t(c);
    auto model = t.internals().model;
    torch::Tensor mean, tracked;
    for (const auto& b : model->named_buffers())
        if (b.key() == "bn1.running_mean") mean = b.value();
        else if (b.key() == "bn1.num_batches_tracked") tracked = b.value();
    QVERIFY(mean.defined() && tracked.defined());
    QVERIFY(mean.eq(0).all().item<bool>());
    while (t.trainStep()) {
    }
    QCOMPARE(tracked.item<int64_t>(), int64_t{5}); // PyTorch's count of training batches
    QVERIFY(mean.abs().sum().item<double>() > 0.0);
    const auto before = mean.clone();
    t.evaluate(); // eval mode: running statistics are used, not updated
    QVERIFY(torch::equal(before, mean));
    QCOMPARE(tracked.item<int64_t>(), int64_t{5});
}

void TestTorchscriptModel::patternsChooseTheSparseLayers() {
    FIXTURE(file, "custom.pt");
    const InputShape mnist{1, 28, 28, 10};
    {
        TorchScriptModelImpl model(file, "", mnist); // only torch.nn's own layers by default
        const auto layers = model.sparseLayers();
        QCOMPARE(layers.size(), size_t{1});
        QCOMPARE(layers[0].name, std::string("head"));
    }
    {
        TorchScriptModelImpl model(file, "proj,head", mnist); // a user's layer by name
        const auto layers = model.sparseLayers();
        QCOMPARE(layers.size(), size_t{2});
        QCOMPARE(layers[0].name, std::string("proj"));
        QCOMPARE(layers[0].layer->weightShape(), (std::vector<int64_t>{64, 784}));
        // The rest of the module trains too, under its PyTorch names.
        bool shift = false;
        for (const auto& p : model.named_parameters()) shift = shift || p.key() == "proj.shift";
        QVERIFY(shift);
    }
    try {
        TorchScriptModelImpl model(file, "proj,nothing*", mnist);
        QFAIL("a pattern that names nothing was accepted");
    } catch (const ConfigError& e) {
        QCOMPARE(e.key(), std::string("sparse_layers"));
        QVERIFY2(QString(e.what()).contains("'nothing*'") && QString(e.what()).contains("proj, head"), e.what());
    }
    RunConfig c = scriptedRun(file);
    c.sparse_layers = "proj";
    c.max_steps = 25;
    Trainer t(c);
    QCOMPARE(t.internals().layers.size(), size_t{1});
    while (t.trainStep()) {
    }
    requireConstantFanIn(t);
}

void TestTorchscriptModel::resumesAndExportsTheScriptedModule() {
    FIXTURE(file, "cnn.pt");
    QTemporaryDir dir;
    const std::string checkpoint = (dir.path() + "/run.ckpt").toStdString();
    RunConfig c = scriptedRun(file);
    c.max_steps = 50;
    std::vector<double> losses;
    {
        Trainer reference(c);
        while (reference.trainStep()) losses.push_back(reference.lastLoss());
    }
    {
        Trainer first(c);
        for (int i = 0; i < 30; ++i) first.trainStep();
        first.saveCheckpoint(checkpoint);
    }
    Trainer resumed(c);
    resumed.loadCheckpoint(checkpoint);
    QCOMPARE(resumed.step(), int64_t{30});
    while (resumed.trainStep())
        QVERIFY2(relative(resumed.lastLoss(), losses.at(static_cast<size_t>(resumed.step() - 1))) <= 1e-4,
                 qPrintable(QString("step %1").arg(resumed.step())));
    resumed.saveCheckpoint(checkpoint);

    // The trained module handed back as TorchScript: its weights are W * M, and it computes what
    // the engine computes.
    CheckpointModel loaded = loadCheckpointModel(checkpoint);
    auto* scripted = asTorchScript(*loaded.model);
    QVERIFY(scripted);
    const std::string exported = (dir.path() + "/trained.pt").toStdString();
    scripted->saveScripted(exported);
    torch::jit::Module back = torch::jit::load(exported);
    back.eval();
    torch::NoGradGuard noGrad;
    const auto x = torch::randn({3, 1, 28, 28});
    const auto want = loaded.model->forward(x);
    QVERIFY(torch::allclose(back.forward({x}).toTensor(), want, 1e-5, 1e-6));
    for (const auto& named : loaded.model->sparseLayers()) {
        torch::Tensor w = back.attr(named.name).toModule().attr("weight").toTensor();
        QVERIFY(w.masked_select(~named.layer->mask).eq(0).all().item<bool>());
    }
}

void TestTorchscriptModel::badFilesAreRefusedByName() {
    FIXTURE(mlp, "mlp.pt");
    const auto refusal = [&](const std::string& file, const char* key, const char* text) {
        RunConfig c = scriptedRun(file);
        const QString error = configError(c);
        QVERIFY2(error.startsWith(QString(key) + ":"), qPrintable(error));
        QVERIFY2(error.contains(QString::fromStdString(file)), qPrintable(error));
        QVERIFY2(error.contains(text), qPrintable(error));
    };
    refusal(fixture("state_dict.pt"), "model_path", "is not a TorchScript module");
    refusal(fixture("truncated.pt"), "model_path", "is not a TorchScript module");
    refusal(fixture("no_layers.pt"), "model_path", "has no Linear or Conv2d layer");
    refusal(fixture("cifar_mlp.pt"), "model_path", "[2, 1, 28, 28]");
    refusal(fixture("cifar_mlp.pt"), "model_path", "[64, 3072]");
    refusal(fixture("missing.pt"), "model_path", "no such file");
    refusal(folder_.toStdString(), "model_path", "is not a file");

    RunConfig c = scriptedRun(mlp);
    c.sparse_compute = "condensed";
    QVERIFY(configError(c).startsWith("sparse_compute:"));
    c = scriptedRun("");
    QVERIFY(configError(c).startsWith("model_path:"));
    c = scriptedRun(mlp);
    c.model = "mlp";
    QVERIFY(configError(c).startsWith("model_path:"));
}

QTEST_GUILESS_MAIN(TestTorchscriptModel)
#include "test_torchscript_model.moc"
