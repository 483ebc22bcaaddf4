// RunConfig: JSON round trip, unknown keys and wrong types, `key=value` overrides, validation
// (every message names its key), and planRun's model-aware checks (k >= 1, budgets).
#include <torch/torch.h>

#include <QtTest>

#include "engine/config/run_config.hpp"
#include "engine/errors.hpp"
#include "engine/training/trainer.hpp"

#include <QTemporaryDir>

#include <algorithm>
#include <fstream>
#include <functional>
#include <set>
#include <string>

using namespace srigl;

namespace {

// Runs `fn`, expects a ConfigError, returns it (key and message) for further checks.
struct Caught {
    bool thrown = false;
    bool otherException = false;
    std::string key;
    std::string message;
};

Caught catchConfigError(const std::function<void()>& fn) {
    Caught c;
    try {
        fn();
    } catch (const ConfigError& e) {
        c.thrown = true;
        c.key = e.key();
        c.message = e.what();
    } catch (const std::exception& e) {
        c.otherException = true;
        c.message = e.what();
    }
    return c;
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// Asserts fn throws ConfigError whose key() is `key` and whose message names it.
#define EXPECT_CONFIG_ERROR(expr, expectedKey)                                                             \
    do {                                                                                                   \
        Caught c_ = catchConfigError([&] { expr; });                                                       \
        QVERIFY2(c_.thrown, qPrintable(QString("expected ConfigError(%1) from %2%3")                       \
                                           .arg(QString::fromStdString(expectedKey), QString(#expr),       \
                                                c_.otherException ? QString(", got other exception: ") +  \
                                                                        QString::fromStdString(c_.message) \
                                                                  : QString())));                          \
        QCOMPARE(QString::fromStdString(c_.key), QString::fromStdString(expectedKey));                     \
        if (!std::string(expectedKey).empty())                                                             \
            QVERIFY2(contains(c_.message, expectedKey), c_.message.c_str());                               \
    } while (0)

const ConfigKey* findKey(const std::string& name) {
    for (const auto& k : configKeys())
        if (k.name == name) return &k;
    return nullptr;
}

RunConfig validBase() {
    RunConfig c; // the defaults must be a valid run
    return c;
}

// A config where every key differs from its default.
RunConfig everythingChanged() {
    RunConfig c;
    c.name = "run \"quoted\" \xce\xb1";
    c.model = "lenet5";
    c.model_path = "/models/my net.script.pt";
    c.sparse_layers = "features.*,classifier.0";
    c.hidden = "512,256,128";
    c.dataset = "fashion_mnist";
    c.data_dir = "/data/fashion mnist";
    c.synthetic_train = 1234;
    c.synthetic_test = 321;
    c.method = "rigl";
    c.sparsity = 0.987654321;
    c.distribution = "uniform";
    c.dense_first = true;
    c.dense_last = true;
    c.gamma_sal = 0.95;
    c.delta_t = 800;
    c.alpha = 0.123456789;
    c.t_end = 0.8;
    c.grad_accumulation = 8;
    c.sparse_compute = "masked_dense";
    c.static_fan_in = true;
    c.sparse_opt = true;
    c.ablate_unused = true;
    c.nm = "4:8";
    c.nm_update_every = 10;
    c.srste_decay = 1e-3;
    c.nm_solver = "exact";
    c.tt_alpha = 1e-3;
    c.tt_target_density = 0.25;
    c.tt_record_every = 9;
    c.epochs = 250;
    c.max_steps = 99999;
    c.batch_size = 512;
    c.optimizer = "adamw";
    c.lr = 3.3e-4;
    c.lr_schedule = "step";
    c.lr_milestones = "77,154";
    c.lr_gamma = 0.1;
    c.warmup_epochs = 2.5;
    c.weight_decay = 0.05;
    c.momentum = 0.85;
    c.nesterov = false;
    c.beta1 = 0.8;
    c.beta2 = 0.95;
    c.adam_eps = 1e-6;
    c.label_smoothing = 0.1;
    c.seed = 18446744073709551615ull; // the largest seed must survive JSON
    c.device = "cuda";
    c.threads = 3;
    c.log_every = 7;
    c.eval_every = 500;
    c.checkpoint = "/tmp/run.ckpt";
    c.checkpoint_every = 1000;
    c.dense_reference_steps = 5;
    return c;
}

} // namespace

class TestRunConfig : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void configKeysListEveryKeyWithDefault();
    void defaultsAreValid();
    void jsonRoundTripKeepsEveryKey();
    void jsonPartialObjectKeepsBase();
    void jsonUnknownKeyIsNamed();
    void jsonWrongTypeIsNamed();
    void jsonNotAnObject();
    void overrideString();
    void overrideInt();
    void overrideFloat();
    void overrideBool();
    void overrideBadValues();
    void validateSparsityRange();
    void validateUnknownChoices();
    void validateBatchSize();
    void validateDataDirForMnist();
    void validateGradAccumulation();
    void validateStepScheduleNeedsMilestones();
    void validateNmKeys();
    void planRunNmDensities();
    void planRunRejectsZeroFanIn();
    void planRunRejectsZeroFanInNamesLastLayer();
    void planRunErkBudgets();
    void planRunValidatesConfig();
    void deeplyNestedFileIsRefused();
    void deeplyNestedOverrideIsRefused();
    void oversizedFileIsRefused();
    void hugeValueMessageIsShort();
    void invalidUtf8OverrideNamesKey();
    void outOfRangeNumbersNameKey();
    void intListRefusesSpacesInsideANumber();
    void validateWarmupEpochsRange();
};

void TestRunConfig::configKeysListEveryKeyWithDefault() {
    const std::vector<std::string> required = {
        "model",  "dataset",   "data_dir",   "method",     "sparsity", "distribution", "gamma_sal",
        "delta_t", "alpha",    "t_end",      "epochs",     "max_steps", "batch_size",  "optimizer",
        "lr",     "weight_decay", "momentum", "seed",      "device",   "threads"};
    for (const auto& name : required) {
        const ConfigKey* k = findKey(name);
        QVERIFY2(k != nullptr, ("missing config key " + name).c_str());
    }
    const RunConfig defaults;
    std::set<std::string> seen;
    for (const auto& k : configKeys()) {
        QVERIFY2(seen.insert(k.name).second, ("duplicate key " + k.name).c_str());
        QVERIFY2(k.type == "string" || k.type == "int" || k.type == "float" || k.type == "bool",
                 ("bad type for " + k.name + ": " + k.type).c_str());
        // The documented default is the real default.
        QCOMPARE(QString::fromStdString(k.defaultValue), QString::fromStdString(configValue(defaults, k.name)));
        if (k.type != "string") QVERIFY2(!k.defaultValue.empty(), ("empty default for " + k.name).c_str());
        if (!k.choices.empty())
            QVERIFY2(std::find(k.choices.begin(), k.choices.end(), k.defaultValue) != k.choices.end(),
                     ("default of " + k.name + " is not one of its choices").c_str());
    }
    // Spot checks against the spec's defaults.
    QCOMPARE(QString::fromStdString(configValue(defaults, "method")), QString("srigl"));
    QCOMPARE(defaults.alpha, 0.3);
    QCOMPARE(defaults.delta_t, int64_t{100});
    QCOMPARE(defaults.gamma_sal, 0.3);
    QCOMPARE(defaults.t_end, 0.75);
    QCOMPARE(defaults.grad_accumulation, int64_t{1});
    QVERIFY(!defaults.dense_first);
    QVERIFY(!defaults.dense_last);
}

void TestRunConfig::defaultsAreValid() {
    validateConfig(validBase());
    auto plan = planRun(validBase());
    QVERIFY(!plan.empty());
}

void TestRunConfig::jsonRoundTripKeepsEveryKey() {
    const RunConfig defaults;
    const RunConfig changed = everythingChanged();
    // The fixture really differs from the defaults in every key (so the round trip tests each one).
    for (const auto& k : configKeys())
        QVERIFY2(configValue(changed, k.name) != configValue(defaults, k.name),
                 ("fixture leaves key at its default: " + k.name).c_str());

    for (int indent : {-1, 0, 2}) {
        const std::string text = configToJson(changed, indent);
        const RunConfig back = configFromJson(text); // base = defaults: every value must come from the text
        for (const auto& k : configKeys())
            QCOMPARE(QString::fromStdString(configValue(back, k.name)),
                     QString::fromStdString(configValue(changed, k.name)));
        // Exact doubles and the full uint64 seed, not just their printed forms.
        QCOMPARE(back.sparsity, changed.sparsity);
        QCOMPARE(back.alpha, changed.alpha);
        QCOMPARE(back.lr, changed.lr);
        QCOMPARE(back.adam_eps, changed.adam_eps);
        QCOMPARE(back.seed, changed.seed);
        QCOMPARE(back.name, changed.name);
        // And back to identical text.
        QCOMPARE(QString::fromStdString(configToJson(back, indent)), QString::fromStdString(text));
    }
    // Defaults round-trip too.
    const RunConfig d2 = configFromJson(configToJson(defaults));
    for (const auto& k : configKeys())
        QCOMPARE(QString::fromStdString(configValue(d2, k.name)), QString::fromStdString(configValue(defaults, k.name)));
}

void TestRunConfig::jsonPartialObjectKeepsBase() {
    RunConfig base;
    base.epochs = 17;
    base.optimizer = "adamw";
    const RunConfig c = configFromJson(R"({"sparsity": 0.95, "epochs": 3.0, "nesterov": false})", base);
    QCOMPARE(c.sparsity, 0.95);
    QCOMPARE(c.epochs, int64_t{3}); // an integral float is accepted for an int key
    QCOMPARE(c.nesterov, false);
    QCOMPARE(QString::fromStdString(c.optimizer), QString("adamw")); // untouched: from base
    const RunConfig empty = configFromJson("{}", base);
    QCOMPARE(empty.epochs, int64_t{17});
}

void TestRunConfig::jsonUnknownKeyIsNamed() {
    EXPECT_CONFIG_ERROR(configFromJson(R"({"sparsity": 0.5, "sparsityy": 0.5})"), std::string("sparsityy"));
    EXPECT_CONFIG_ERROR(configFromJson(R"({"learning_rate": 0.1})"), std::string("learning_rate"));
    // The message also helps: it lists the known keys.
    Caught c = catchConfigError([] { configFromJson(R"({"learning_rate": 0.1})"); });
    QVERIFY2(contains(c.message, "lr"), c.message.c_str());
}

void TestRunConfig::jsonWrongTypeIsNamed() {
    EXPECT_CONFIG_ERROR(configFromJson(R"({"sparsity": "high"})"), std::string("sparsity"));
    EXPECT_CONFIG_ERROR(configFromJson(R"({"epochs": 2.5})"), std::string("epochs"));
    EXPECT_CONFIG_ERROR(configFromJson(R"({"epochs": "5"})"), std::string("epochs"));
    EXPECT_CONFIG_ERROR(configFromJson(R"({"nesterov": 1})"), std::string("nesterov"));
    EXPECT_CONFIG_ERROR(configFromJson(R"({"nesterov": "true"})"), std::string("nesterov"));
    EXPECT_CONFIG_ERROR(configFromJson(R"({"model": 3})"), std::string("model"));
    EXPECT_CONFIG_ERROR(configFromJson(R"({"hidden": [300, 100]})"), std::string("hidden"));
    EXPECT_CONFIG_ERROR(configFromJson(R"({"seed": -1})"), std::string("seed"));
    EXPECT_CONFIG_ERROR(configFromJson(R"({"lr": null})"), std::string("lr"));
}

void TestRunConfig::jsonNotAnObject() {
    EXPECT_CONFIG_ERROR(configFromJson("[1, 2]"), std::string(""));
    EXPECT_CONFIG_ERROR(configFromJson("{\"lr\": 0.1"), std::string(""));
    EXPECT_CONFIG_ERROR(configFromJson(""), std::string(""));
}

void TestRunConfig::overrideString() {
    RunConfig c;
    applyOverride(c, "model=lenet5");
    QCOMPARE(QString::fromStdString(c.model), QString("lenet5"));
    applyOverride(c, "hidden=64,32");
    QCOMPARE(QString::fromStdString(c.hidden), QString("64,32"));
    applyOverride(c, "name=a=b"); // only the first '=' separates key and value
    QCOMPARE(QString::fromStdString(c.name), QString("a=b"));
    applyOverride(c, "data_dir=");
    QCOMPARE(QString::fromStdString(c.data_dir), QString(""));
}

void TestRunConfig::overrideInt() {
    RunConfig c;
    applyOverride(c, "epochs=7");
    QCOMPARE(c.epochs, int64_t{7});
    applyOverride(c, "delta_t=250");
    QCOMPARE(c.delta_t, int64_t{250});
    applyOverride(c, "seed=18446744073709551615");
    QCOMPARE(c.seed, uint64_t{18446744073709551615ull});
    QCOMPARE(QString::fromStdString(configValue(c, "seed")), QString("18446744073709551615"));
    applyOverride(c, "max_steps=0");
    QCOMPARE(c.max_steps, int64_t{0});
}

void TestRunConfig::overrideFloat() {
    RunConfig c;
    applyOverride(c, "lr=0.05");
    QCOMPARE(c.lr, 0.05);
    applyOverride(c, "sparsity=0.99");
    QCOMPARE(c.sparsity, 0.99);
    applyOverride(c, "weight_decay=1e-4");
    QCOMPARE(c.weight_decay, 1e-4);
    applyOverride(c, "alpha=1"); // an integer literal is a valid float
    QCOMPARE(c.alpha, 1.0);
}

void TestRunConfig::overrideBool() {
    RunConfig c;
    applyOverride(c, "nesterov=false");
    QCOMPARE(c.nesterov, false);
    applyOverride(c, "nesterov=true");
    QCOMPARE(c.nesterov, true);
    applyOverride(c, "dense_first=1");
    QCOMPARE(c.dense_first, true);
    applyOverride(c, "dense_first=0");
    QCOMPARE(c.dense_first, false);
    applyOverride(c, "dense_last=TRUE");
    QCOMPARE(c.dense_last, true);
}

void TestRunConfig::overrideBadValues() {
    RunConfig c;
    const RunConfig before = c;
    EXPECT_CONFIG_ERROR(applyOverride(c, "epochs=abc"), std::string("epochs"));
    EXPECT_CONFIG_ERROR(applyOverride(c, "epochs=2.5"), std::string("epochs"));
    EXPECT_CONFIG_ERROR(applyOverride(c, "epochs="), std::string("epochs"));
    EXPECT_CONFIG_ERROR(applyOverride(c, "lr=fast"), std::string("lr"));
    EXPECT_CONFIG_ERROR(applyOverride(c, "lr=0.1x"), std::string("lr"));
    EXPECT_CONFIG_ERROR(applyOverride(c, "nesterov=maybe"), std::string("nesterov"));
    EXPECT_CONFIG_ERROR(applyOverride(c, "seed=-3"), std::string("seed"));
    EXPECT_CONFIG_ERROR(applyOverride(c, "no_such_key=1"), std::string("no_such_key"));
    EXPECT_CONFIG_ERROR(applyOverride(c, "sparsity"), std::string(""));
    EXPECT_CONFIG_ERROR(applyOverride(c, "=0.5"), std::string(""));
    // A failed override leaves the config as it was.
    for (const auto& k : configKeys())
        QCOMPARE(QString::fromStdString(configValue(c, k.name)), QString::fromStdString(configValue(before, k.name)));
}

void TestRunConfig::validateSparsityRange() {
    RunConfig c = validBase();
    c.sparsity = 1.0;
    EXPECT_CONFIG_ERROR(validateConfig(c), std::string("sparsity"));
    c.sparsity = -0.1;
    EXPECT_CONFIG_ERROR(validateConfig(c), std::string("sparsity"));
    c.sparsity = 0.0;
    validateConfig(c);
    c.sparsity = 0.999;
    validateConfig(c);
}

void TestRunConfig::validateUnknownChoices() {
    {
        RunConfig c = validBase();
        c.method = "lottery";
        EXPECT_CONFIG_ERROR(validateConfig(c), std::string("method"));
        Caught e = catchConfigError([&] { validateConfig(c); });
        QVERIFY2(contains(e.message, "lottery") && contains(e.message, "srigl"), e.message.c_str());
    }
    {
        RunConfig c = validBase();
        c.distribution = "erdos";
        EXPECT_CONFIG_ERROR(validateConfig(c), std::string("distribution"));
    }
    {
        RunConfig c = validBase();
        c.model = "vgg16";
        EXPECT_CONFIG_ERROR(validateConfig(c), std::string("model"));
    }
    {
        RunConfig c = validBase();
        c.optimizer = "adam";
        EXPECT_CONFIG_ERROR(validateConfig(c), std::string("optimizer"));
    }
    {
        RunConfig c = validBase();
        c.dataset = "imagenet";
        EXPECT_CONFIG_ERROR(validateConfig(c), std::string("dataset"));
    }
}

void TestRunConfig::validateBatchSize() {
    RunConfig c = validBase();
    c.batch_size = 0;
    EXPECT_CONFIG_ERROR(validateConfig(c), std::string("batch_size"));
    c.batch_size = -4;
    EXPECT_CONFIG_ERROR(validateConfig(c), std::string("batch_size"));
    c.batch_size = 1;
    validateConfig(c);
}

void TestRunConfig::validateDataDirForMnist() {
    RunConfig c = validBase();
    c.dataset = "mnist";
    c.data_dir = "";
    EXPECT_CONFIG_ERROR(validateConfig(c), std::string("data_dir"));
    c.dataset = "cifar10";
    EXPECT_CONFIG_ERROR(validateConfig(c), std::string("data_dir"));
    c.dataset = "mnist";
    c.data_dir = "/some/dir"; // existence is the trainer's check, not validateConfig's
    validateConfig(c);
    c.dataset = "synthetic";
    c.data_dir = "";
    validateConfig(c);
}

void TestRunConfig::validateGradAccumulation() {
    RunConfig c = validBase();
    c.delta_t = 4;
    c.grad_accumulation = 5;
    EXPECT_CONFIG_ERROR(validateConfig(c), std::string("grad_accumulation"));
    c.grad_accumulation = 4;
    validateConfig(c);
    c.grad_accumulation = 0;
    EXPECT_CONFIG_ERROR(validateConfig(c), std::string("grad_accumulation"));
}

void TestRunConfig::validateNmKeys() {
    const RunConfig defaults;
    QCOMPARE(QString::fromStdString(defaults.nm), QString("2:4"));
    QCOMPARE(defaults.nm_update_every, int64_t{40});
    QCOMPARE(defaults.srste_decay, 2e-4);
    QCOMPARE(QString::fromStdString(defaults.nm_solver), QString("greedy_repair"));
    RunConfig c = validBase();
    for (const char* method : {"nm_ste", "srste", "nm_transposable"}) {
        c.method = method;
        validateConfig(c);
    }
    for (const char* bad : {"3:2", "0:4", "x", "4", "2:4:8"}) {
        c.nm = bad;
        EXPECT_CONFIG_ERROR(validateConfig(c), std::string("nm"));
    }
    c.nm = "2:128";
    c.method = "srste";
    validateConfig(c); // plain N:M allows any M ...
    c.method = "nm_transposable";
    EXPECT_CONFIG_ERROR(validateConfig(c), std::string("nm")); // ... transposable tiles need M <= 64
    c = validBase();
    c.nm_update_every = 0;
    EXPECT_CONFIG_ERROR(validateConfig(c), std::string("nm_update_every"));
    c = validBase();
    c.srste_decay = -1e-4;
    EXPECT_CONFIG_ERROR(validateConfig(c), std::string("srste_decay"));
    c = validBase();
    c.nm_solver = "ilp";
    EXPECT_CONFIG_ERROR(validateConfig(c), std::string("nm_solver"));
}

void TestRunConfig::planRunNmDensities() {
    RunConfig c = validBase();
    c.model = "mlp";
    c.hidden = "300,100";
    c.method = "srste";
    c.nm = "1:4";
    c.dense_last = true;
    const auto plan = planRun(c);
    QCOMPARE(plan.size(), size_t{3});
    QCOMPARE(plan[0].density, 0.25);
    QCOMPARE(plan[1].density, 0.25);
    QCOMPARE(plan[2].density, 1.0);
}

void TestRunConfig::validateStepScheduleNeedsMilestones() {
    RunConfig c = validBase();
    c.lr_schedule = "step";
    c.lr_milestones = "";
    EXPECT_CONFIG_ERROR(validateConfig(c), std::string("lr_milestones"));
    c.lr_milestones = "77,x";
    EXPECT_CONFIG_ERROR(validateConfig(c), std::string("lr_milestones"));
    c.lr_milestones = "154,77"; // not increasing
    EXPECT_CONFIG_ERROR(validateConfig(c), std::string("lr_milestones"));
    c.lr_milestones = "77, 154";
    validateConfig(c);
    // Milestones are irrelevant to other schedules.
    c.lr_schedule = "cosine";
    c.lr_milestones = "";
    validateConfig(c);
}

void TestRunConfig::planRunRejectsZeroFanIn() {
    RunConfig c = validBase();
    c.model = "mlp";
    c.hidden = "300,100";
    c.method = "srigl";
    c.sparsity = 0.999;
    c.distribution = "uniform";
    validateConfig(c); // the plain checks pass: only the model's shapes make it impossible
    Caught e = catchConfigError([&] { planRun(c); });
    QVERIFY2(e.thrown, e.otherException ? e.message.c_str() : "planRun accepted a layer with k = 0");
    QCOMPARE(QString::fromStdString(e.key), QString("sparsity"));
    // Every layer has k = 0 here; the message names one of them and says k = 0.
    QVERIFY2(contains(e.message, "fc1") || contains(e.message, "fc2") || contains(e.message, "fc3"), e.message.c_str());
    QVERIFY2(contains(e.message, "k = 0"), e.message.c_str());
}

void TestRunConfig::planRunRejectsZeroFanInNamesLastLayer() {
    // At 0.995 uniform: fc1 keeps floor(235200 * 0.005) = 1176 -> k = 3, fc2 150 -> k = 1,
    // fc3 (10 x 100) keeps 5 -> k = 0: only the last layer is impossible.
    RunConfig c = validBase();
    c.model = "mlp";
    c.hidden = "300,100";
    c.method = "srigl";
    c.sparsity = 0.995;
    c.distribution = "uniform";
    Caught e = catchConfigError([&] { planRun(c); });
    QVERIFY2(e.thrown, e.otherException ? e.message.c_str() : "planRun accepted fc3 with k = 0");
    QCOMPARE(QString::fromStdString(e.key), QString("sparsity"));
    QVERIFY2(contains(e.message, "fc3"), e.message.c_str());
    QVERIFY2(!contains(e.message, "fc1") && !contains(e.message, "fc2"), e.message.c_str());
    // ERK gives the small classifier a larger share (density ~0.09, k = 9): plannable.
    c.distribution = "erk";
    auto plan = planRun(c);
    QCOMPARE(plan.size(), size_t{3});
    for (const auto& l : plan) QVERIFY2(l.k >= 1, l.name.c_str());
    QVERIFY(plan[2].density > plan[0].density);
    // A dense last layer under uniform does not help: its 1000 weights take most of the 1331 kept,
    // and fc1 / fc2 share the rest (uniform is adjusted for forced-dense layers), so fc1 gets k = 0.
    c.distribution = "uniform";
    c.dense_last = true;
    Caught e2 = catchConfigError([&] { planRun(c); });
    QVERIFY2(e2.thrown, "planRun accepted a plan whose fc1 keeps k = 0");
    QCOMPARE(QString::fromStdString(e2.key), QString("sparsity"));
    QVERIFY2(contains(e2.message, "fc1"), e2.message.c_str());
    // Unstructured methods only need budget >= 1, so the same sparsity is fine for rigl.
    c.dense_last = false;
    c.method = "rigl";
    plan = planRun(c);
    QCOMPARE(plan.size(), size_t{3});
    QVERIFY(plan[2].budget >= 1);
}

void TestRunConfig::planRunErkBudgets() {
    RunConfig c = validBase();
    c.model = "mlp";
    c.hidden = "300,100";
    c.method = "srigl";
    c.distribution = "erk";
    c.sparsity = 0.9;
    const auto plan = planRun(c);
    QCOMPARE(plan.size(), size_t{3});
    const std::vector<std::vector<int64_t>> shapes = {{300, 784}, {100, 300}, {10, 100}};
    int64_t total = 0, kept = 0;
    for (size_t i = 0; i < plan.size(); ++i) {
        QVERIFY2(plan[i].shape == shapes[i], plan[i].name.c_str());
        const int64_t numel = plan[i].shape[0] * plan[i].shape[1];
        total += numel;
        kept += plan[i].budget;
        QVERIFY(plan[i].density > 0.0 && plan[i].density <= 1.0);
        QVERIFY(plan[i].budget <= numel);
        QVERIFY(std::abs(static_cast<double>(plan[i].budget) - numel * plan[i].density) < 1.0 + 1e-9);
        QCOMPARE(plan[i].k, plan[i].budget / plan[i].shape[0]);
        QVERIFY(plan[i].k >= 1);
    }
    QCOMPARE(total, int64_t{266200});
    // About 10% of all weights (floors lose less than one weight per layer).
    const double target = 0.1 * static_cast<double>(total);
    QVERIFY2(std::abs(static_cast<double>(kept) - target) <= static_cast<double>(plan.size()),
             qPrintable(QString("kept %1 of %2, expected about %3").arg(kept).arg(total).arg(target)));
    // ERK: the small classifier (10 x 100) would exceed density 1 and becomes dense; fc2 denser than fc1.
    QCOMPARE(plan[2].density, 1.0);
    QVERIFY(plan[1].density > plan[0].density);
}

void TestRunConfig::planRunValidatesConfig() {
    RunConfig c = validBase();
    c.method = "magic";
    EXPECT_CONFIG_ERROR(planRun(c), std::string("method"));
    c = validBase();
    c.hidden = "300,0";
    EXPECT_CONFIG_ERROR(planRun(c), std::string("hidden"));
}

namespace {

std::string writeText(const QTemporaryDir& dir, const std::string& name, const std::string& text) {
    const std::string path = dir.path().toStdString() + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

std::string nested(size_t depth, const std::string& inner = "0") {
    return std::string(depth, '[') + inner + std::string(depth, ']');
}

} // namespace

// Issue 14, defect 3: 100,000 levels of JSON overflowed the stack (SIGSEGV). The depth is checked
// before the parser builds anything; the message names the file.
void TestRunConfig::deeplyNestedFileIsRefused() {
    QTemporaryDir dir;
    const std::string path = writeText(dir, "deep.json", "{\"name\": " + nested(100000) + "}");
    Caught c = catchConfigError([&] { loadConfigFile(path); });
    QVERIFY2(c.thrown, c.message.c_str());
    QVERIFY2(contains(c.message, path), c.message.c_str());
    QVERIFY2(contains(c.message, "deeper than 64"), c.message.c_str());
    QVERIFY2(c.message.size() < 400, c.message.c_str());
    // Brackets inside strings are text, not nesting; 64 levels still load (and are then a wrong type).
    QCOMPARE(configFromJson("{\"name\": \"[\\\"" + std::string(100000, '[') + "\"}").name.size(), size_t(100002));
    EXPECT_CONFIG_ERROR(configFromJson("{\"name\": " + nested(63) + "}"), std::string("name"));
    // An unbalanced flood of openers is refused the same way, not parsed.
    Caught open = catchConfigError([] { configFromJson(std::string(200000, '{')); });
    QVERIFY2(open.thrown && contains(open.message, "deeper than 64"), open.message.c_str());
}

void TestRunConfig::deeplyNestedOverrideIsRefused() {
    RunConfig c;
    Caught caught = catchConfigError([&] { applyOverride(c, "lr=" + nested(100000)); });
    QVERIFY2(caught.thrown, caught.message.c_str());
    QCOMPARE(QString::fromStdString(caught.key), QString("lr"));
    QVERIFY2(caught.message.size() < 400, caught.message.substr(0, 400).c_str());
    EXPECT_CONFIG_ERROR(applyOverride(c, "epochs=" + nested(100000)), std::string("epochs"));
    QCOMPARE(c.lr, RunConfig{}.lr);
}

void TestRunConfig::oversizedFileIsRefused() {
    QTemporaryDir dir;
    // 2 MiB of valid JSON (one long name): refused for its size, naming the file.
    const std::string path = writeText(dir, "big.json", "{\"name\": \"" + std::string(2u << 20, 'x') + "\"}");
    Caught c = catchConfigError([&] { loadConfigFile(path); });
    QVERIFY2(c.thrown, c.message.substr(0, 400).c_str());
    QVERIFY2(contains(c.message, path), c.message.substr(0, 400).c_str());
    QVERIFY2(contains(c.message, "MiB"), c.message.substr(0, 400).c_str());
    QVERIFY2(c.message.size() < 400, c.message.substr(0, 400).c_str());
}

// Error messages quote values bounded: a 100 KB array or string is cut, with its length said.
void TestRunConfig::hugeValueMessageIsShort() {
    std::string bigArray = "[";
    for (int i = 0; i < 20000; ++i) bigArray += (i ? ",12345" : "12345");
    bigArray += "]";
    const std::vector<std::pair<std::string, std::function<void()>>> cases = {
        {"sparsity", [&] { configFromJson("{\"sparsity\": " + bigArray + "}"); }},
        {"name", [&] { configFromJson("{\"name\": {\"a\": " + bigArray + "}}"); }},
        {"epochs", [&] { RunConfig c; applyOverride(c, "epochs=" + std::string(100000, '7') + "x"); }},
        {"nesterov", [&] { RunConfig c; applyOverride(c, "nesterov=" + std::string(100000, 'y')); }},
        {"model", [&] { RunConfig c; c.model = std::string(100000, 'm'); validateConfig(c); }},
        {"nm", [&] { RunConfig c; c.nm = std::string(100000, '2'); validateConfig(c); }},
        {"hidden", [&] { RunConfig c; c.hidden = std::string(100000, 'h'); validateConfig(c); }},
        {"", [&] { RunConfig c; applyOverride(c, std::string(100000, 'k')); }},
        {"", [&] { configFromJson("{\"lr\": \"" + std::string(100000, 'z') + "\\q\"}"); }},
    };
    for (const auto& [key, fn] : cases) {
        Caught c = catchConfigError(fn);
        QVERIFY2(c.thrown, qPrintable(QString::fromStdString(key + ": " + c.message.substr(0, 200))));
        QCOMPARE(QString::fromStdString(c.key), QString::fromStdString(key));
        QVERIFY2(c.message.size() < 600, qPrintable(QString::fromStdString(key + ": " + c.message.substr(0, 600))));
    }
    // An unknown key that is itself huge is quoted bounded too.
    Caught unknown = catchConfigError([] { RunConfig c; applyOverride(c, std::string(100000, 'k') + "=1"); });
    QVERIFY2(unknown.thrown, unknown.message.substr(0, 200).c_str());
    QVERIFY2(unknown.message.size() < 2000, unknown.message.substr(0, 600).c_str());
}

// Issue 14, defect 11: `--set name=$'caf\xe9'` stored text that broke every JSON reader of the store.
void TestRunConfig::invalidUtf8OverrideNamesKey() {
    RunConfig c;
    Caught caught = catchConfigError([&] { applyOverride(c, "name=caf\xe9"); });
    QVERIFY2(caught.thrown, "invalid UTF-8 accepted");
    QCOMPARE(QString::fromStdString(caught.key), QString("name"));
    QVERIFY2(contains(caught.message, "UTF-8"), caught.message.c_str());
    QVERIFY2(contains(caught.message, "caf\\xe9"), caught.message.c_str());
    QCOMPARE(QString::fromStdString(c.name), QString());
    EXPECT_CONFIG_ERROR(applyOverride(c, "data_dir=/data/\xc0\xaf"), std::string("data_dir"));
    applyOverride(c, "name=caf\xc3\xa9"); // valid UTF-8 is kept as it is
    QCOMPARE(c.name, std::string("caf\xc3\xa9"));
    // Invalid UTF-8 in a config file is refused too (not a crash, not stored).
    EXPECT_CONFIG_ERROR(configFromJson("{\"name\": \"caf\xe9\"}"), std::string(""));
}

// Numbers JSON can write but a config cannot hold: a ConfigError naming the key, never a parser
// exception of another type, never a silent wrap to a negative value.
void TestRunConfig::outOfRangeNumbersNameKey() {
    RunConfig c;
    EXPECT_CONFIG_ERROR(applyOverride(c, "lr=1e999"), std::string("lr"));
    EXPECT_CONFIG_ERROR(applyOverride(c, "epochs=18446744073709551615"), std::string("epochs"));
    EXPECT_CONFIG_ERROR(configFromJson(R"({"epochs": 18446744073709551615})"), std::string("epochs"));
    EXPECT_CONFIG_ERROR(configFromJson(R"({"lr": -1e999})"), std::string(""));
    applyOverride(c, "seed=18446744073709551615"); // the one key that holds it
    QCOMPARE(c.seed, uint64_t{18446744073709551615ull});
}

// Audit defect: spaces were stripped from the whole item, so hidden "30 10" (a user's two layers
// written without the comma) trained one layer of 3010 neurons, and "1 0" one of 10, silently.
void TestRunConfig::intListRefusesSpacesInsideANumber() {
    QCOMPARE(parseIntList("hidden", " 300 , 100 "), (std::vector<int64_t>{300, 100}));
    QCOMPARE(parseIntList("hidden", "300,\t100\n"), (std::vector<int64_t>{300, 100}));
    EXPECT_CONFIG_ERROR(parseIntList("hidden", "30 10"), std::string("hidden"));
    RunConfig c = validBase();
    c.hidden = "1 0";
    EXPECT_CONFIG_ERROR(validateConfig(c), std::string("hidden"));
    c.hidden = "300,100";
    c.lr_schedule = "step";
    c.lr_milestones = "7 15";
    EXPECT_CONFIG_ERROR(validateConfig(c), std::string("lr_milestones"));
    c.lr_milestones = "7, 15";
    validateConfig(c);
}

// Audit defect: warmup_epochs = 1e300 passed validation and the schedule's int64 conversion of
// 1e300 * steps per epoch overflowed, so the run trained at full lr from step 1 (no warm-up).
void TestRunConfig::validateWarmupEpochsRange() {
    RunConfig c = validBase();
    c.warmup_epochs = 1e300;
    EXPECT_CONFIG_ERROR(validateConfig(c), std::string("warmup_epochs"));
    c.warmup_epochs = 1e6 + 1;
    EXPECT_CONFIG_ERROR(validateConfig(c), std::string("warmup_epochs"));
    c.warmup_epochs = -1.0;
    EXPECT_CONFIG_ERROR(validateConfig(c), std::string("warmup_epochs"));
    c.warmup_epochs = 1e6;
    validateConfig(c);
    c.warmup_epochs = 2.5;
    validateConfig(c);
}

QTEST_GUILESS_MAIN(TestRunConfig)
#include "test_run_config.moc"
