// The launcher's config form: generated from the engine's key table, validated live with the
// engine's own messages (validateConfig and planRun), presets that all validate.
#include "engine/errors.hpp"
#include "widgets/launch/config_form.hpp"
#include "widgets/launch/launcher_panel.hpp"
#include "widgets/launch/presets.hpp"
#include "tests/support/torch_python.hpp"

#include <QCheckBox>
#include <QDir>
#include <QElapsedTimer>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QToolButton>
#include <QSignalSpy>
#include <QtTest>

#include <cstdio>

using namespace srigl;
using namespace srigl::studio;

namespace {

// What the engine itself says about a config (the form must show exactly this).
std::string engineMessage(const RunConfig& config) {
    try {
        planRun(config);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return {};
}

QString shownMessage(const ConfigForm& form) {
    return form.findChild<QLabel*>(QStringLiteral("validationMessage"))->text();
}

} // namespace

class TestConfigForm : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void everyConfigKeyHasAnEditor();
    void defaultConfigValidates();
    void outOfRangeValueShowsEngineMessage();
    void unparsableNumberNamesTheKey();
    void shapeErrorFromPlanRunIsShown();
    void memoryEstimateIsShownAndAHugeModelRefused();
    void typingValidatesLiveAfterAPause();
    void fixingTheValueClearsTheError();
    void setConfigRoundTripsEveryKey();
    void presetsIncludeDefaultMnistAndRiglVsSrigl();
    void everyPresetValidates();
    void launcherRefusesToStartAnInvalidConfig();
    void validationAcceptsEveryModel();
    void modelFromFileListsItsLayers();
};

void TestConfigForm::everyConfigKeyHasAnEditor() {
    ConfigForm form;
    for (const auto& key : configKeys()) {
        QWidget* w = form.editor(QString::fromStdString(key.name));
        QVERIFY2(w, key.name.c_str());
        if (!key.choices.empty()) {
            auto* combo = qobject_cast<QComboBox*>(w);
            QVERIFY2(combo, key.name.c_str());
            for (const auto& c : key.choices) QVERIFY2(combo->findText(QString::fromStdString(c)) >= 0, c.c_str());
        } else if (key.type == "bool") {
            QVERIFY2(qobject_cast<QCheckBox*>(w), key.name.c_str());
        } else {
            QVERIFY2(qobject_cast<QLineEdit*>(w), key.name.c_str());
        }
        QVERIFY(w->toolTip().contains(QString::fromStdString(key.help)));
    }
}

void TestConfigForm::defaultConfigValidates() {
    ConfigForm form;
    QVERIFY(form.isValid());
    QCOMPARE(form.config().dataset, std::string("synthetic")); // a first launch needs no download
    QCOMPARE(form.check().plan.size(), size_t(3));              // LeNet-300-100: fc1, fc2, fc3
    QVERIFY(shownMessage(form).contains(QStringLiteral("valid")));
    QVERIFY(form.findChild<QLabel*>(QStringLiteral("layerPlan"))->text().contains(QStringLiteral("fc1")));
    QVERIFY(!form.findChild<QLabel*>(QStringLiteral("layerPlan"))->text().contains(QStringLiteral("thresholds")));
    // trainable_threshold plans every layer at density 1: the plan says why, and names a target.
    form.setValue(QStringLiteral("method"), QStringLiteral("trainable_threshold"));
    form.validateNow();
    QVERIFY2(form.isValid(), qPrintable(shownMessage(form)));
    const QString plan = form.findChild<QLabel*>(QStringLiteral("layerPlan"))->text();
    QVERIFY2(plan.startsWith(QStringLiteral("thresholds learned per neuron")), qPrintable(plan));
    QVERIFY(plan.contains(QStringLiteral("density 1.000")));
    form.setValue(QStringLiteral("tt_target_density"), QStringLiteral("0.1"));
    form.validateNow();
    QVERIFY(form.findChild<QLabel*>(QStringLiteral("layerPlan"))->text().contains(QStringLiteral("steers them to 0.100")));
}

void TestConfigForm::outOfRangeValueShowsEngineMessage() {
    ConfigForm form;
    form.setValue(QStringLiteral("sparsity"), QStringLiteral("1.5"));
    form.validateNow();
    QVERIFY(!form.isValid());
    RunConfig bad;
    bad.sparsity = 1.5;
    const std::string expected = engineMessage(bad);
    QVERIFY(!expected.empty());
    QCOMPARE(shownMessage(form), QString::fromStdString(expected));
    QCOMPARE(form.check().key, std::string("sparsity"));
    QCOMPARE(form.editor(QStringLiteral("sparsity"))->property("invalid").toBool(), true);
    QCOMPARE(form.editor(QStringLiteral("lr"))->property("invalid").toBool(), false);
}

void TestConfigForm::unparsableNumberNamesTheKey() {
    ConfigForm form;
    form.setValue(QStringLiteral("lr"), QStringLiteral("fast"));
    form.validateNow();
    QVERIFY(!form.isValid());
    RunConfig c;
    std::string expected;
    try {
        applyOverride(c, "lr=fast");
    } catch (const ConfigError& e) {
        expected = e.what();
    }
    QCOMPARE(shownMessage(form), QString::fromStdString(expected));
    QVERIFY(shownMessage(form).startsWith(QStringLiteral("lr:")));
}

void TestConfigForm::shapeErrorFromPlanRunIsShown() {
    // Passes validateConfig, but the last layer (10 x 100) would keep k = 0 connections.
    ConfigForm form;
    form.setValue(QStringLiteral("distribution"), QStringLiteral("uniform"));
    form.setValue(QStringLiteral("sparsity"), QStringLiteral("0.999"));
    form.validateNow();
    QVERIFY(!form.isValid());
    QVERIFY(shownMessage(form).startsWith(QStringLiteral("sparsity: layer")));
    QCOMPARE(shownMessage(form).toStdString(), engineMessage(form.config()));
}

void TestConfigForm::memoryEstimateIsShownAndAHugeModelRefused() {
    ConfigForm form;
    form.validateNow();
    QVERIFY(form.isValid());
    const QString plan = form.findChild<QLabel*>(QStringLiteral("layerPlan"))->text();
    QVERIFY2(plan.contains(QStringLiteral("memory: at least")), qPrintable(plan));
    // LeNet-300-100 at 90%: at least its kept values and their gradients, far below 100 MiB.
    QVERIFY(form.check().memoryBytes >= 26620ull * 8);
    QVERIFY(form.check().memoryBytes < (uint64_t(100) << 20));
    if (form.check().availableBytes == 0) QSKIP("this machine's available memory is unknown: nothing is refused");
    if (form.check().availableBytes > (uint64_t(300) << 30)) QSKIP("this machine could hold the huge model");

    // The engine's refusal, before anything is launched, naming the key and the way out.
    form.setValue(QStringLiteral("model"), QStringLiteral("mlp"));
    form.setValue(QStringLiteral("hidden"), QStringLiteral("100000,100000,100000"));
    form.setValue(QStringLiteral("method"), QStringLiteral("dense"));
    form.validateNow();
    QVERIFY(!form.isValid());
    QCOMPARE(form.check().key, std::string("method"));
    QVERIFY2(shownMessage(form).contains(QStringLiteral("sparse_compute=condensed")), qPrintable(shownMessage(form)));
    QVERIFY(shownMessage(form).contains(QStringLiteral("GiB")));
}

void TestConfigForm::typingValidatesLiveAfterAPause() {
    ConfigForm form;
    form.show();
    QSignalSpy spy(&form, &ConfigForm::validated);
    auto* line = qobject_cast<QLineEdit*>(form.editor(QStringLiteral("delta_t")));
    line->clear();
    QTest::keyClicks(line, QStringLiteral("0"));
    QVERIFY(spy.wait(2000));
    QCOMPARE(spy.last().at(0).toBool(), false);
    QCOMPARE(spy.last().at(1).toString(), QStringLiteral("delta_t: must be >= 1"));
    QCOMPARE(shownMessage(form), QStringLiteral("delta_t: must be >= 1"));
}

void TestConfigForm::fixingTheValueClearsTheError() {
    ConfigForm form;
    form.setValue(QStringLiteral("epochs"), QStringLiteral("0"));
    form.validateNow();
    QVERIFY(!form.isValid());
    QVERIFY(form.editor(QStringLiteral("epochs"))->property("invalid").toBool());
    form.setValue(QStringLiteral("epochs"), QStringLiteral("2"));
    form.validateNow();
    QVERIFY(form.isValid());
    QCOMPARE(form.config().epochs, int64_t(2));
    QVERIFY(!form.editor(QStringLiteral("epochs"))->property("invalid").toBool());
}

void TestConfigForm::setConfigRoundTripsEveryKey() {
    RunConfig c;
    c.name = "round trip";
    c.method = "rigl";
    c.sparsity = 0.95;
    c.hidden = "64,32";
    c.dense_last = true; // (dense_first would leave no budget for fc2 at 95%: the engine says so)
    c.optimizer = "adamw";
    c.lr_schedule = "step";
    c.lr_milestones = "2,4";
    c.seed = 7;
    ConfigForm form;
    form.setConfig(c);
    QVERIFY2(form.isValid(), form.check().message.c_str());
    QCOMPARE(configToJson(form.config()), configToJson(c));
}

void TestConfigForm::presetsIncludeDefaultMnistAndRiglVsSrigl() {
    const auto presets = loadPresets();
    QVERIFY(presets.size() >= 4);
    QCOMPARE(presets.front().config.dataset, std::string("synthetic"));
    QCOMPARE(configToJson(presets.front().config), configToJson(defaultSessionConfig()));
    auto find = [&](const QString& text) {
        for (const auto& p : presets)
            if (p.name.contains(text)) return &p;
        return static_cast<const Preset*>(nullptr);
    };
    const Preset* mnist = find(QStringLiteral("SRigL 90% LeNet-300-100 on MNIST"));
    QVERIFY(mnist);
    QCOMPARE(mnist->config.dataset, std::string("mnist"));
    const Preset* rigl = find(QStringLiteral("RigL vs SRigL (1/2)"));
    const Preset* srigl = find(QStringLiteral("RigL vs SRigL (2/2)"));
    QVERIFY(rigl && srigl);
    QCOMPARE(rigl->config.method, std::string("rigl"));
    QCOMPARE(srigl->config.method, std::string("srigl"));
    // The pair differs in the method only (and the name), so the comparison is fair.
    RunConfig a = rigl->config, b = srigl->config;
    a.name = b.name = "";
    a.method = b.method = "";
    QCOMPARE(configToJson(a), configToJson(b));
}

void TestConfigForm::everyPresetValidates() {
    for (const auto& p : loadPresets()) {
        ConfigForm form;
        form.setConfig(p.config);
        QVERIFY2(form.isValid(), qPrintable(p.name + QStringLiteral(": ") + QString::fromStdString(form.check().message)));
    }
}

void TestConfigForm::launcherRefusesToStartAnInvalidConfig() {
    LauncherPanel launcher;
    QSignalSpy started(&launcher, &LauncherPanel::startRequested);
    QVERIFY(launcher.configToStart().has_value());
    launcher.form()->setValue(QStringLiteral("batch_size"), QStringLiteral("-3"));
    QVERIFY(!launcher.configToStart().has_value());
    auto* start = launcher.findChild<QPushButton*>(QStringLiteral("startRun"));
    QVERIFY(!start->isEnabled());
    launcher.choosePreset(0);
    QVERIFY(start->isEnabled());
    QTest::mouseClick(start, Qt::LeftButton);
    QCOMPARE(started.count(), 1);
}

void TestConfigForm::validationAcceptsEveryModel() {
    // The form validates on the UI thread after each pause in typing; planRun builds the model
    // (no data) to check its shapes, for every model. The time is printed for a reader; it is not
    // asserted (a timed unit test fails whenever the machine is busy: speed belongs to benchmarks).
    ConfigForm form;
    for (const char* model : {"mlp", "lenet5", "resnet18", "wrn22_2"}) {
        form.setValue(QStringLiteral("model"), QString::fromLatin1(model));
        form.setValue(QStringLiteral("dataset"), QStringLiteral("cifar10"));
        form.setValue(QStringLiteral("data_dir"), QStringLiteral("data/cifar10"));
        form.validateNow(); // the first build of a model type warms up allocators
        QElapsedTimer t;
        t.start();
        form.validateNow();
        const double ms = static_cast<double>(t.nsecsElapsed()) / 1e6;
        std::printf("validate %s: %.1f ms\n", model, ms);
        QVERIFY2(form.isValid(), form.check().message.c_str());
    }
}

void TestConfigForm::modelFromFileListsItsLayers() {
    const QString fixtures = torchscriptFixtures(torchPython());
    SRIGL_REQUIRE_TORCH_PYTHON(fixtures);
    ConfigForm form;
    auto* browse = form.findChild<QToolButton*>(QStringLiteral("model_pathBrowse"));
    QVERIFY(browse);
    QCOMPARE(browse->text(), QStringLiteral("From file…"));
    auto* hidden = form.findChild<QLineEdit*>(QStringLiteral("hidden"));
    QVERIFY(hidden && hidden->isEnabled()); // the default model is the MLP
    form.setValue(QStringLiteral("model"), QStringLiteral("torchscript"));
    QVERIFY(!hidden->isEnabled()); // a module's own layers decide its sizes
    form.setValue(QStringLiteral("model_path"), fixtures + "/cnn.pt");
    form.validateNow();
    QVERIFY2(form.isValid(), form.check().message.c_str());
    // The layers found in the module, with their sparsities, before Start.
    const QString plan = form.findChild<QLabel*>(QStringLiteral("layerPlan"))->text();
    for (const char* layer : {"conv1", "conv2", "fc"}) QVERIFY2(plan.contains(QLatin1String(layer)), qPrintable(plan));
    QCOMPARE(form.check().plan.size(), size_t{3});
    // With SRIGL_SCREENSHOT_DIR set: docs/studio.md's picture of the form with a TorchScript module.
    if (const QString shots = qEnvironmentVariable("SRIGL_SCREENSHOT_DIR"); !shots.isEmpty()) {
        form.resize(760, 900);
        form.show();
        QVERIFY(QTest::qWaitForWindowExposed(&form));
        QTest::qWait(200);
        QVERIFY(form.grab().save(QDir(shots).filePath(QStringLiteral("studio_launcher_torchscript.png"))));
        form.hide();
    }
    form.setValue(QStringLiteral("sparse_layers"), QStringLiteral("conv2,fc"));
    form.validateNow();
    QCOMPARE(form.check().plan.size(), size_t{2});
    // A file that is no module: the engine's message, naming the key.
    form.setValue(QStringLiteral("model_path"), fixtures + "/state_dict.pt");
    form.validateNow();
    QVERIFY(!form.isValid());
    QVERIFY2(shownMessage(form).startsWith(QStringLiteral("model_path:")), qPrintable(shownMessage(form)));
    // Another model drops the file and the layer choice.
    form.setValue(QStringLiteral("model"), QStringLiteral("mlp"));
    form.validateNow();
    QVERIFY2(form.isValid(), form.check().message.c_str());
    QVERIFY(form.value(QStringLiteral("model_path")).isEmpty());
    QVERIFY(form.value(QStringLiteral("sparse_layers")).isEmpty());
    QVERIFY(hidden->isEnabled());
}

QTEST_MAIN(TestConfigForm)
#include "test_config_form.moc"
