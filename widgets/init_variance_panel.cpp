// The init-variance panel.
#include "widgets/init_variance_panel.hpp"

#include "widgets/init_variance_runner.hpp"
#include "widgets/init_variance_series.hpp"
#include "widgets/xy_chart.hpp"

#include <QChart>
#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
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
    run_ = new QPushButton(tr("Run"), this);
    cancel_ = new QPushButton(tr("Cancel"), this);
    cancel_->setEnabled(false);
    progress_ = new QProgressBar(this);
    progress_->setRange(0, 1);
    progress_->setValue(0);
    message_ = new QLabel(this);
    message_->setWordWrap(true);
    message_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* form = new QFormLayout;
    form->addRow(tr("Layer out x in"), [&] {
        auto* box = new QWidget(this);
        auto* h = new QHBoxLayout(box);
        h->setContentsMargins(0, 0, 0, 0);
        h->addWidget(out_);
        h->addWidget(in_);
        return box;
    }());
    form->addRow(tr("Sparsities"), sparsities_);
    form->addRow(tr("N:M"), nm_);
    form->addRow(tr("Initialisations"), samples_);
    form->addRow(tr("Seed"), seed_);
    form->addRow(tr("Init scale"), scale_);
    form->addRow(tr("Chart"), spread_);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(run_);
    buttons->addWidget(cancel_);
    auto* side = new QWidget(this);
    auto* sideLayout = new QVBoxLayout(side);
    sideLayout->setContentsMargins(0, 0, 0, 0);
    sideLayout->addLayout(form);
    sideLayout->addLayout(buttons);
    sideLayout->addWidget(progress_);
    sideLayout->addWidget(message_);
    sideLayout->addStretch(1);

    caption_ = new QLabel(tr("Nothing computed yet: choose a layer and sparsities, then Run."), this);
    caption_->setWordWrap(true);
    chart_ = new XyChart(spreadName(InitSpread::Variance), tr("sparsity"), tr("spread of ||y||"), this);
    const QStringList columns = initVarianceColumns();
    table_ = new QTableWidget(0, static_cast<int>(columns.size()), this);
    table_->setHorizontalHeaderLabels(columns);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    auto* results = new QWidget(this);
    auto* resultsLayout = new QVBoxLayout(results);
    resultsLayout->setContentsMargins(0, 0, 0, 0);
    resultsLayout->addWidget(caption_);
    resultsLayout->addWidget(chart_, 1);
    auto* right = new QSplitter(Qt::Vertical, this);
    right->addWidget(results);
    right->addWidget(table_);
    right->setStretchFactor(0, 3);
    right->setStretchFactor(1, 2);
    auto* main = new QSplitter(Qt::Horizontal, this);
    main->addWidget(side);
    main->addWidget(right);
    main->setStretchFactor(1, 4);
    auto* layout = new QHBoxLayout(this);
    layout->addWidget(main);

    connect(run_, &QPushButton::clicked, this, [this] { start(); });
    connect(cancel_, &QPushButton::clicked, this, &InitVariancePanel::cancel);
    connect(spread_, &QComboBox::currentIndexChanged, this, &InitVariancePanel::redrawChart);
    connect(runner_, &InitVarianceRunner::progress, this, [this](qint64 done, qint64 total, const QString& current) {
        progress_->setRange(0, static_cast<int>(total));
        progress_->setValue(static_cast<int>(done));
        setMessage(tr("%1 of %2: %3").arg(done).arg(total).arg(current), false);
    });
    connect(runner_, &InitVarianceRunner::finished, this, [this](bool ok, bool cancelled, const QString& error) {
        run_->setEnabled(true);
        cancel_->setEnabled(false);
        if (ok) {
            showPoints(runner_->lastPoints(), pendingCaption_);
            progress_->setValue(progress_->maximum());
            setMessage(tr("done: %1 sparsities").arg(points_.size()), false);
        } else {
            progress_->setValue(0);
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
    progress_->setRange(0, static_cast<int>(s.sparsities.size()));
    progress_->setValue(0);
    setMessage(tr("starting..."), false);
    run_->setEnabled(false);
    cancel_->setEnabled(true);
    runner_->start(s);
    return true;
}

void InitVariancePanel::cancel() { runner_->cancel(); }

bool InitVariancePanel::isRunning() const { return runner_->isRunning(); }

QString InitVariancePanel::message() const { return message_->text(); }

QString InitVariancePanel::shownCaption() const { return caption_->text(); }

void InitVariancePanel::setMessage(const QString& text, bool error) {
    message_->setText(text);
    message_->setStyleSheet(error ? QStringLiteral("color: #e05050;") : QString());
}

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
