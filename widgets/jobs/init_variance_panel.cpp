// The init-variance panel.
#include "widgets/jobs/init_variance_panel.hpp"

#include "widgets/jobs/init_variance_runner.hpp"
#include "widgets/jobs/init_variance_series.hpp"
#include "widgets/jobs/job_controls.hpp"
#include "widgets/jobs/job_panel_layout.hpp"
#include "widgets/common/xy_chart.hpp"

#include <QChart>
#include <QComboBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>

#include <stdexcept>

namespace srigl::studio {

InitVariancePanel::InitVariancePanel(QWidget* parent) : QWidget(parent) {
    runner_ = new InitVarianceRunner(this);
    // The engine decides what is valid (out, in >= 1, ...): the spin boxes allow its error cases
    // through so that its message is what the user reads.
    out_ = new QSpinBox(this);
    out_->setRange(0, 65536);
    out_->setValue(100);
    in_ = new QSpinBox(this);
    in_->setRange(0, 65536);
    in_->setValue(300);
    sparsities_ = new QLineEdit(QStringLiteral("0.5, 0.75, 0.9, 0.95, 0.99"), this);
    sparsities_->setToolTip(tr("One sparsity or a comma-separated sweep, each in [0, 1)"));
    nm_ = new QLineEdit(this);
    nm_->setPlaceholderText(tr("auto (closest to each density)"));
    nm_->setToolTip(tr("N:M kept per group of M along the inputs, e.g. 2:4; empty picks M = 4, 8, ... per sparsity"));
    samples_ = new QSpinBox(this);
    samples_->setRange(0, 100000);
    samples_->setValue(200);
    samples_->setToolTip(tr("Random initialisations (masks and weights drawn afresh) per mask and sparsity, "
                            "16 random inputs each"));
    seed_ = new QSpinBox(this);
    seed_->setRange(0, 1000000);
    seed_->setValue(1);
    scale_ = new QComboBox(this);
    scale_->addItem(tr("per neuron: N(0, 2 / k_i)"));
    scale_->addItem(tr("layer average: N(0, 2 / (density x in))"));
    spread_ = new QComboBox(this);
    for (InitSpread s : {InitSpread::Variance, InitSpread::Std, InitSpread::RelativeStd})
        spread_->addItem(spreadName(s), static_cast<int>(s));
    controls_ = new JobControls(
        runner_, tr("Run"),
        [](qint64 done, qint64 total, const QString& current) {
            return tr("%1 of %2: %3").arg(done).arg(total).arg(current);
        },
        this);

    auto* form = new QFormLayout;
    form->addRow(tr("Layer out x in"), fieldPair(out_, in_, this));
    form->addRow(tr("Sparsities"), sparsities_);
    form->addRow(tr("N:M"), nm_);
    form->addRow(tr("Initialisations"), samples_);
    form->addRow(tr("Seed"), seed_);
    form->addRow(tr("Init scale"), scale_);
    form->addRow(tr("Chart"), spread_);

    caption_ = new QLabel(tr("Nothing computed yet: choose a layer and sparsities, then Run."), this);
    caption_->setWordWrap(true);
    chart_ = new XyChart(spreadName(InitSpread::Variance), tr("sparsity"), tr("spread of ||y||"), this);
    table_ = newResultsTable(initVarianceColumns(), this);
    auto* results = new QWidget(this);
    auto* resultsLayout = new QVBoxLayout(results);
    resultsLayout->setContentsMargins(0, 0, 0, 0);
    resultsLayout->addWidget(caption_);
    resultsLayout->addWidget(chart_, 1);
    layOutJobPanel(this, form, controls_, results, table_);

    connect(controls_->runButton(), &QPushButton::clicked, this, [this] { start(); });
    connect(spread_, &QComboBox::currentIndexChanged, this, &InitVariancePanel::redrawChart);
    connect(runner_, &InitVarianceRunner::finished, this, [this](bool ok, bool cancelled, const QString& error) {
        if (ok) {
            showPoints(*runner_->lastResult(), pendingCaption_);
            setMessage(tr("done: %1 sparsities").arg(points_.size()), false);
        } else {
            // The chart and table keep the last complete result; nothing of this one is shown.
            setMessage(cancelled ? tr("cancelled; nothing of this run is shown") : error, !cancelled);
        }
        Q_EMIT analysisFinished(ok, cancelled);
    });
}

sessions::InitVarianceJobSettings InitVariancePanel::settings() const {
    sessions::InitVarianceJobSettings s;
    s.out = out_->value();
    s.in = in_->value();
    s.sparsities.clear();
    for (const QString& part : sparsities_->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        bool ok = false;
        const double v = part.trimmed().toDouble(&ok);
        if (!ok) throw std::invalid_argument(tr("sparsities: '%1' is not a number").arg(part.trimmed()).toStdString());
        s.sparsities.push_back(v);
    }
    if (s.sparsities.empty()) throw std::invalid_argument(tr("sparsities: give at least one sparsity").toStdString());
    s.nm = nm_->text().trimmed().toStdString();
    s.samples = samples_->value();
    s.seed = static_cast<uint64_t>(seed_->value());
    s.layerAverageScale = scale_->currentIndex() == 1;
    return s;
}

bool InitVariancePanel::start() {
    if (runner_->isRunning()) {
        setMessage(tr("an analysis is already running"), true);
        return false;
    }
    sessions::InitVarianceJobSettings s;
    try {
        s = settings();
    } catch (const std::invalid_argument& e) {
        setMessage(QString::fromStdString(e.what()), true);
        return false;
    }
    pendingCaption_ = tr("Linear %1 -> %2, %3 initialisations x %4 inputs each, seed %5, %6 scale, N:M %7")
                          .arg(s.in)
                          .arg(s.out)
                          .arg(s.samples)
                          .arg(s.inputs)
                          .arg(s.seed)
                          .arg(s.layerAverageScale ? tr("layer-average") : tr("per-neuron"))
                          .arg(s.nm.empty() ? tr("auto") : QString::fromStdString(s.nm));
    runner_->start(s);
    controls_->begin(static_cast<int>(s.sparsities.size()), tr("starting..."));
    return true;
}

void InitVariancePanel::cancel() { controls_->cancel(); }

bool InitVariancePanel::isRunning() const { return runner_->isRunning(); }

QString InitVariancePanel::message() const { return controls_->message(); }

QPushButton* InitVariancePanel::runButton() const { return controls_->runButton(); }

QPushButton* InitVariancePanel::cancelButton() const { return controls_->cancelButton(); }

QProgressBar* InitVariancePanel::progressBar() const { return controls_->progressBar(); }

QString InitVariancePanel::shownCaption() const { return caption_->text(); }

void InitVariancePanel::setMessage(const QString& text, bool error) { controls_->showMessage(text, error); }

void InitVariancePanel::showPoints(const std::vector<sessions::InitVariancePoint>& points, const QString& caption) {
    points_ = points;
    caption_->setText(caption);
    const auto rows = initVarianceRows(points_);
    table_->setRowCount(static_cast<int>(rows.size()));
    for (int r = 0; r < static_cast<int>(rows.size()); ++r)
        for (int c = 0; c < static_cast<int>(rows[static_cast<size_t>(r)].size()); ++c) {
            auto* item = new QTableWidgetItem(rows[static_cast<size_t>(r)][c]);
            if (c != 1) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            table_->setItem(r, c, item);
        }
    redrawChart();
}

void InitVariancePanel::redrawChart() {
    const auto spread = static_cast<InitSpread>(spread_->currentData().toInt());
    chart_->chart()->setTitle(tr("%1 at initialisation").arg(spreadName(spread)));
    chart_->setSeries(initVarianceSeries(points_, spread));
}

} // namespace srigl::studio
