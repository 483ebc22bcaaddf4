// The timing panel.
#include "widgets/timing/timing_panel.hpp"

#include "widgets/timing/bench_runner.hpp"
#include "widgets/jobs/job_controls.hpp"
#include "widgets/jobs/job_panel_layout.hpp"
#include "widgets/timing/timing_series.hpp"
#include "widgets/common/store_reader.hpp"
#include "widgets/common/xy_chart.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QTabWidget>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>

#include <cmath>

namespace srigl::studio {
namespace {

// "0.5, 0.9" -> numbers; empty with *error set on a bad entry.
std::vector<double> parseList(const QString& text, const QString& what, QString* error) {
    std::vector<double> out;
    for (const QString& part : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        bool ok = false;
        const double v = part.trimmed().toDouble(&ok);
        if (!ok) {
            *error = QObject::tr("%1: '%2' is not a number").arg(what, part.trimmed());
            return {};
        }
        out.push_back(v);
    }
    if (out.empty()) *error = QObject::tr("%1: give at least one value").arg(what);
    return out;
}

QString us(double v) { return std::isnan(v) ? QStringLiteral("n/a") : QString::number(v, 'f', v < 100 ? 1 : 0); }
QString ratio(double a, double b) {
    return std::isnan(a) || std::isnan(b) || b <= 0 ? QStringLiteral("n/a") : QStringLiteral("%1x").arg(a / b, 0, 'f', 2);
}

} // namespace

TimingPanel::TimingPanel(StoreReader& store, QWidget* parent) : QWidget(parent), store_(store) {
    runner_ = new BenchRunner(this);
    device_ = new QComboBox(this);
    device_->addItem(QStringLiteral("cpu"));
    if (sessions::benchCudaAvailable()) device_->addItem(QStringLiteral("cuda"));
    in_ = new QSpinBox(this);
    in_->setRange(1, 65536);
    in_->setValue(1024);
    out_ = new QSpinBox(this);
    out_->setRange(1, 65536);
    out_->setValue(1024);
    sparsities_ = new QLineEdit(QStringLiteral("0.5, 0.8, 0.9, 0.95"), this);
    batches_ = new QLineEdit(QStringLiteral("1, 16, 64, 256"), this);
    seconds_ = new QDoubleSpinBox(this);
    seconds_->setRange(0.01, 10.0);
    seconds_->setSingleStep(0.05);
    seconds_->setValue(0.1);
    seconds_->setSuffix(QStringLiteral(" s"));
    runLayers_ = new QCheckBox(tr("Bench the selected run's layers"), this);
    runLayers_->setEnabled(false);
    variant_ = new QComboBox(this);
    variant_->addItem(tr("condensed"), static_cast<int>(TimingVariant::Condensed));
    variant_->addItem(tr("CSR"), static_cast<int>(TimingVariant::Csr));
    variant_->addItem(tr("structured"), static_cast<int>(TimingVariant::Structured));
    controls_ = new JobControls(
        runner_, tr("Run bench"),
        [](qint64 done, qint64 total, const QString& current) {
            return tr("Timing %1 (%2 of %3)…").arg(current).arg(done + 1).arg(total);
        },
        this);

    auto* form = new QFormLayout;
    form->addRow(tr("Device"), device_);
    form->addRow(tr("Layer in x out"), fieldPair(in_, out_, this));
    form->addRow(tr("Sparsities"), sparsities_);
    form->addRow(tr("Batch sizes"), batches_);
    form->addRow(tr("Time per variant"), seconds_);
    form->addRow(runLayers_);
    form->addRow(tr("Chart speed-up of"), variant_);

    table_ = newResultsTable({tr("device"), tr("layer"), tr("shape"), tr("batch"), tr("sparsity"), tr("dense µs"),
                              tr("CSR µs"), tr("structured µs"), tr("condensed µs"), tr("x dense")},
                             this);
    byBatch_ = new XyChart(tr("Speed-up over dense vs batch size"), tr("batch size"), tr("x dense"), this);
    byBatch_->setLogX(true);
    bySparsity_ = new XyChart(tr("Speed-up over dense vs sparsity"), tr("sparsity"), tr("x dense"), this);
    // `srigl bench --training` rows: one SGD step of the layer, condensed against dense.
    trainingByBatch_ = new XyChart(tr("Training step: condensed over dense vs batch size"), tr("batch size"),
                                   tr("x dense"), this);
    trainingByBatch_->setLogX(true);
    auto* inference = new QSplitter(Qt::Horizontal, this);
    inference->addWidget(byBatch_);
    inference->addWidget(bySparsity_);
    // Tabs, not a third chart beside the two: the panel must fit a 1440 px wide screen.
    auto* charts = new QTabWidget(this);
    charts->addTab(inference, tr("Inference"));
    charts->addTab(trainingByBatch_, tr("Training step"));
    layOutJobPanel(this, form, controls_, charts, table_);

    connect(controls_->runButton(), &QPushButton::clicked, this, [this] { start(); });
    connect(variant_, &QComboBox::currentIndexChanged, this, &TimingPanel::reloadResults);
    connect(runLayers_, &QCheckBox::toggled, this, &TimingPanel::reloadResults);
    connect(runner_, &BenchRunner::finished, this, [this](bool ok, bool cancelled, const QString& error) {
        if (ok) showMessage(tr("Stored %1 timings.").arg(runner_->lastResult()->size()), false);
        else showMessage(error, !cancelled);
        reloadResults();
        Q_EMIT benchFinished(ok, cancelled);
    });
}

void TimingPanel::openDatabase(const QString& path) {
    dbPath_ = path;
    store_.setDatabase(path);
    reloadResults();
}

void TimingPanel::setRun(qint64 runId) {
    runId_ = runId;
    runLayers_->setEnabled(runId > 0);
    runLayers_->setText(runId > 0 ? tr("Bench run %1's layers").arg(runId) : tr("Bench the selected run's layers"));
    if (runId <= 0) runLayers_->setChecked(false);
    if (runLayers_->isChecked()) reloadResults();
}

QString TimingPanel::message() const { return controls_->message(); }
QProgressBar* TimingPanel::progressBar() const { return controls_->progressBar(); }
bool TimingPanel::isRunning() const { return runner_->isRunning(); }

bool TimingPanel::start() {
    if (runner_->isRunning()) {
        showMessage(tr("A bench is already running."), true);
        return false;
    }
    QString error;
    sessions::BenchJobSettings s;
    s.device = device_->currentText().toStdString();
    s.inFeatures = in_->value();
    s.outFeatures = out_->value();
    s.secondsPerVariant = seconds_->value();
    s.dbPath = dbPath_.toStdString();
    s.runId = runLayers_->isChecked() ? runId_ : 0;
    s.sparsities = parseList(sparsities_->text(), tr("sparsities"), &error);
    s.batches.clear();
    if (error.isEmpty())
        for (double b : parseList(batches_->text(), tr("batch sizes"), &error)) {
            if (b != std::floor(b) || b < 1) error = tr("batch sizes: %1 is not a positive whole number").arg(b);
            s.batches.push_back(static_cast<int64_t>(b));
        }
    if (error.isEmpty())
        for (double sp : s.sparsities)
            if (!(sp >= 0 && sp < 1)) error = tr("sparsities: %1 is not in [0, 1)").arg(sp);
    if (!error.isEmpty()) {
        showMessage(error, true);
        return false;
    }
    runner_->start(s);
    controls_->begin(0, tr("Preparing the bench…")); // busy until the first progress report
    return true;
}

void TimingPanel::cancel() { controls_->cancel(); }

void TimingPanel::showMessage(const QString& text, bool error) { controls_->showMessage(text, error); }

void TimingPanel::reloadResults() {
    if (dbPath_.isEmpty()) {
        showResults({}, false);
        return;
    }
    const bool ofRun = runLayers_->isChecked() && runId_ > 0;
    const qint64 runId = ofRun ? runId_ : 0;
    store_.request(
        this, QStringLiteral("timings"), [runId](sessions::RunStore& store) { return store.timings(runId); },
        [this, ofRun](std::vector<sessions::TimingRecord> rows) { showResults(std::move(rows), ofRun); },
        [this](const QString&) { showResults({}, false); }); // a database not created yet has no timings
}

void TimingPanel::showResults(std::vector<sessions::TimingRecord> rows, bool ofRun) {
    rows_.clear();
    trainingRows_.clear();
    for (auto& r : rows) {
        if (!ofRun && r.runId != 0) continue;
        if (r.kind == "inference") rows_.push_back(std::move(r));
        else if (r.kind == "train_step" && r.layer.rfind("linear", 0) == 0) trainingRows_.push_back(std::move(r));
    }
    table_->setRowCount(static_cast<int>(rows_.size()));
    for (int i = 0; i < static_cast<int>(rows_.size()); ++i) {
        const auto& r = rows_[static_cast<size_t>(i)];
        const QStringList cells{QString::fromStdString(r.device), QString::fromStdString(r.layer),
                                QStringLiteral("%1 x %2").arg(r.inFeatures).arg(r.outFeatures), QString::number(r.batch),
                                QStringLiteral("%1 %").arg(100 * r.sparsity, 0, 'g', 3), us(r.denseUs), us(r.csrUs),
                                us(r.structuredUs), us(r.condensedUs), ratio(r.denseUs, r.condensedUs)};
        for (int c = 0; c < cells.size(); ++c) table_->setItem(i, c, new QTableWidgetItem(cells[c]));
    }
    const auto variant = static_cast<TimingVariant>(variant_->currentData().toInt());
    const std::string device = device_->currentText().toStdString();
    auto toXy = [](const std::vector<TimingLine>& lines) {
        std::vector<XySeries> out;
        for (const auto& l : lines) out.push_back({QString::fromStdString(l.name), l.points});
        return out;
    };
    byBatch_->setSeries(toXy(speedupLines(rows_, TimingAxis::Batch, variant, device)));
    bySparsity_->setSeries(toXy(speedupLines(rows_, TimingAxis::Sparsity, variant, device)));
    trainingByBatch_->setSeries(toXy(speedupLines(trainingRows_, TimingAxis::Batch, TimingVariant::Condensed, device)));
}

} // namespace srigl::studio
