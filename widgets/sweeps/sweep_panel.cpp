// The sweep panel: the grid form, the job, the points table and the results chart.
#include "widgets/sweeps/sweep_panel.hpp"

#include "widgets/jobs/job_controls.hpp"
#include "widgets/jobs/job_panel_layout.hpp" // newResultsTable
#include "widgets/sweeps/sweep_job_runner.hpp"
#include "widgets/sweeps/sweep_results_view.hpp"

#include <QCheckBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <map>

namespace srigl::studio {
namespace {

// trainable_threshold points are steered to each sparsity (sessions::expandGrid: matched density).
const char* const kMethods[] = {"srigl", "rigl", "set", "static", "trainable_threshold"};

QString pointRunText(qint64 runId) { return runId > 0 ? QString::number(runId) : QStringLiteral("-"); }

} // namespace

SweepPanel::SweepPanel(QWidget* parent) : QWidget(parent) {
    job_ = new SweepJobRunner(this);
    auto* methods = new QWidget(this);
    auto* methodsRow = new QHBoxLayout(methods);
    methodsRow->setContentsMargins(0, 0, 0, 0);
    for (const char* m : kMethods) {
        auto* box = new QCheckBox(QString::fromLatin1(m), methods);
        box->setObjectName(QStringLiteral("sweepMethod_%1").arg(QString::fromLatin1(m)));
        box->setChecked(std::string(m) == "srigl" || std::string(m) == "rigl");
        methodsRow->addWidget(box);
        methods_.push_back(box);
    }
    sparsities_ = new QLineEdit(QStringLiteral("0.8,0.9,0.95,0.99"), this);
    sparsities_->setToolTip(tr("Comma-separated sparsities, each in [0, 1)"));
    seeds_ = new QSpinBox(this);
    seeds_->setRange(1, 20);
    seeds_->setValue(3);
    seeds_->setToolTip(tr("Seeds 1..n per method and sparsity: the error bars are their spread"));
    name_ = new QLineEdit(this);
    name_->setPlaceholderText(tr("method x sparsity x seed"));
    controls_ = new JobControls(
        job_, tr("Run sweep"),
        [](qint64, qint64, const QString& current) { return current.isEmpty() ? tr("Starting…") : current; }, this);
    pointBar_ = new QProgressBar(this);
    pointBar_->setRange(0, static_cast<int>(sessions::kSweepProgressPerPoint));
    pointBar_->setFormat(tr("this point %p%"));
    pointBar_->setValue(0);
    resume_ = new QPushButton(tr("Resume sweep"), this);
    resume_->setEnabled(false);
    auto* exportRow = new QWidget(this);
    auto* exportLayout = new QHBoxLayout(exportRow);
    exportLayout->setContentsMargins(0, 0, 0, 0);
    for (const QString& format : {QStringLiteral("PNG"), QStringLiteral("SVG"), QStringLiteral("CSV")}) {
        auto* button = new QPushButton(tr("Export %1…").arg(format), exportRow);
        button->setObjectName(QStringLiteral("sweepExport%1").arg(format));
        connect(button, &QPushButton::clicked, this, [this, format] { exportResults(format); });
        exportLayout->addWidget(button);
    }

    auto* form = new QFormLayout;
    form->addRow(tr("Methods"), methods);
    form->addRow(tr("Sparsities"), sparsities_);
    form->addRow(tr("Seeds"), seeds_);
    form->addRow(tr("Name"), name_);
    form->addRow(pointBar_);
    form->addRow(resume_);
    form->addRow(exportRow);
    table_ = newResultsTable({tr("point"), tr("assignment"), tr("run"), tr("status"), tr("test acc")}, this);
    results_ = new SweepResultsView(this);
    // Form and controls above, the chart over the table below: the panel shares the launcher's
    // column, so it must not be wider than the form.
    auto* results = new QSplitter(Qt::Vertical, this);
    results->addWidget(results_);
    results->addWidget(table_);
    results->setStretchFactor(0, 3);
    results->setStretchFactor(1, 2);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(controls_);
    layout->addWidget(results, 1);

    connect(controls_->runButton(), &QPushButton::clicked, this, [this] { startSweep(); });
    connect(resume_, &QPushButton::clicked, this, [this] { resumeSweep(); });
    connect(job_, &BackgroundJob::progress, this, &SweepPanel::progressed);
    connect(job_, &BackgroundJob::finished, this, &SweepPanel::ended);
}

bool SweepPanel::running() const { return job_->isRunning(); }
QString SweepPanel::message() const { return controls_->message(); }
void SweepPanel::cancel() { controls_->cancel(); }

void SweepPanel::setMethods(const QStringList& methods) {
    for (auto* box : methods_) box->setChecked(methods.contains(box->text()));
}
void SweepPanel::setSparsities(const QString& list) { sparsities_->setText(list); }
void SweepPanel::setSeeds(int seeds) { seeds_->setValue(seeds); }

bool SweepPanel::startSweep() {
    if (running()) return false;
    std::vector<std::string> methods, sparsities;
    for (auto* box : methods_)
        if (box->isChecked()) methods.push_back(box->text().toStdString());
    for (const QString& s : sparsities_->text().split(QLatin1Char(','), Qt::SkipEmptyParts))
        sparsities.push_back(s.trimmed().toStdString());
    if (methods.empty() || sparsities.empty()) {
        controls_->showMessage(tr("Choose at least one method and one sparsity."), true);
        return false;
    }
    sessions::SweepJobSettings settings;
    settings.dbPath = dbPath_.toStdString();
    settings.name = name_->text().toStdString();
    settings.base = baseConfig_ ? baseConfig_() : RunConfig{};
    settings.axes = sessions::methodSparsitySeedGrid(methods, sparsities, seeds_->value());
    const qint64 points = static_cast<qint64>(methods.size() * sparsities.size()) * seeds_->value();
    return launch(settings, tr("Starting a sweep of %1 points…").arg(points));
}

bool SweepPanel::resumeSweep() {
    if (running() || sweepId_ <= 0) return false;
    sessions::SweepJobSettings settings;
    settings.dbPath = dbPath_.toStdString();
    settings.resume = sweepId_;
    return launch(settings, tr("Continuing sweep %1…").arg(sweepId_));
}

bool SweepPanel::launch(const sessions::SweepJobSettings& settings, const QString& text) {
    if (dbPath_.isEmpty()) {
        controls_->showMessage(tr("A sweep records every point: open a database first."), true);
        return false;
    }
    if (!job_->start(settings)) return false;
    resume_->setEnabled(false);
    pointBar_->setValue(0);
    controls_->begin(0, text);
    return true;
}

void SweepPanel::progressed(qint64 done, qint64, const QString&) {
    pointBar_->setValue(static_cast<int>(done % sessions::kSweepProgressPerPoint));
}

void SweepPanel::ended(bool ok, bool cancelled, const QString& error) {
    if (!ok) {
        controls_->showMessage(error, !cancelled);
        return;
    }
    const auto& result = *job_->lastResult();
    sweepId_ = result.sweepId;
    showResult(result);
    int64_t finished = 0;
    for (const auto& p : result.points) finished += p.status == sessions::PointStatus::Finished;
    const auto total = static_cast<int64_t>(result.points.size());
    if (result.status == sessions::RunStatus::Stopped) {
        controls_->progressBar()->setRange(0, static_cast<int>(total));
        controls_->progressBar()->setValue(static_cast<int>(finished));
        controls_->showMessage(tr("Sweep %1 stopped: %2 of %3 points finished. Resume continues it (also: srigl sweep "
                                  "--resume %1).")
                                   .arg(sweepId_)
                                   .arg(finished)
                                   .arg(total),
                               false);
        resume_->setEnabled(true);
    } else {
        pointBar_->setValue(pointBar_->maximum());
        controls_->showMessage(tr("Sweep %1 finished: %2 of %3 points trained.").arg(sweepId_).arg(finished).arg(total),
                               finished < total);
    }
    Q_EMIT sweepEnded(sweepId_);
}

void SweepPanel::showResult(const sessions::SweepJobResult& result) {
    table_->setRowCount(static_cast<int>(result.points.size()));
    std::map<int64_t, double> accuracy;
    for (const auto& s : result.results.series)
        for (const auto& p : s.points)
            for (size_t i = 0; i < p.runIds.size(); ++i) accuracy[p.runIds[i]] = p.values[i];
    for (int row = 0; row < table_->rowCount(); ++row) {
        const auto& p = result.points[static_cast<size_t>(row)];
        const auto acc = accuracy.find(p.runId);
        const QStringList cells{QString::number(p.point + 1), QString::fromStdString(p.assignment), pointRunText(p.runId),
                                QString::fromStdString(sessions::toString(p.status)),
                                acc == accuracy.end() ? QStringLiteral("-")
                                                      : QString::number(100.0 * acc->second, 'f', 2) + QLatin1Char('%')};
        for (int c = 0; c < cells.size(); ++c) table_->setItem(row, c, new QTableWidgetItem(cells[c]));
    }
    table_->resizeColumnsToContents();
    results_->setResults(result.results, tr("Sweep %1: test accuracy by %2")
                                             .arg(result.sweepId)
                                             .arg(QString::fromStdString(result.results.seriesKey.empty()
                                                                             ? result.results.xKey
                                                                             : result.results.seriesKey)));
}

void SweepPanel::exportResults(const QString& format) {
    if (!results_->hasResults()) {
        controls_->showMessage(tr("Nothing to export yet: run a sweep first."), true);
        return;
    }
    const QString suffix = format.toLower();
    const QString path = QFileDialog::getSaveFileName(this, tr("Export sweep results"),
                                                      QStringLiteral("sweep_%1.%2").arg(sweepId_).arg(suffix),
                                                      tr("%1 files (*.%2)").arg(format, suffix));
    if (path.isEmpty()) return;
    QString error;
    const bool ok = format == QLatin1String("PNG")   ? results_->exportPng(path, &error)
                    : format == QLatin1String("SVG") ? results_->exportSvg(path, &error)
                                                     : results_->exportCsv(path, &error);
    controls_->showMessage(ok ? tr("Wrote %1").arg(path) : error, !ok);
}

} // namespace srigl::studio
