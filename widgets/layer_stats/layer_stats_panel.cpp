// The layer statistics dock.
#include "widgets/layer_stats/layer_stats_panel.hpp"

#include "widgets/common/store_reader.hpp"
#include "widgets/common/xy_chart.hpp"
#include "widgets/live/redraw_throttle.hpp"
#include "widgets/structure/histogram_chart.hpp"

#include <algorithm>
#include <limits>

#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

namespace srigl::studio {
namespace {

std::vector<XySeries> toXy(const std::vector<LayerSeries>& all) {
    std::vector<XySeries> out;
    for (const auto& s : all) out.push_back({QString::fromStdString(s.layer), s.points});
    return out;
}

// Bins of a layer's thresholds: enough to show the spread of a few hundred neurons, few enough to
// read.
constexpr int kThresholdBins = 24;

std::vector<HistogramBar> thresholdBars(const std::vector<float>& thresholds) {
    const RealHistogram h = realHistogram(thresholds, kThresholdBins);
    std::vector<HistogramBar> bars;
    for (size_t i = 0; i < h.counts.size(); ++i)
        bars.push_back({QString::number(h.lo + h.width * static_cast<double>(i), 'g', 3), h.counts[i]});
    return bars;
}

QString thresholdSummary(const std::vector<float>& t) {
    if (t.empty()) return QStringLiteral("\u2014");
    const ThresholdSummary s = summarizeThresholds(t);
    return QStringLiteral("%1 [%2, %3]").arg(s.mean, 0, 'g', 3).arg(s.min, 0, 'g', 3).arg(s.max, 0, 'g', 3);
}

} // namespace

LayerStatsPanel::LayerStatsPanel(StoreReader& store, QWidget* parent) : QWidget(parent), store_(store) {
    title_ = new QLabel(tr("No run selected."), this);
    table_ = new QTableWidget(0, 11, this);
    table_->setHorizontalHeaderLabels({tr("layer"), tr("snapshot step"), tr("shape"), tr("sparsity"), tr("k"), tr("active"),
                                       tr("ablated"), tr("SAD"), tr("pruned / regrown"), tr("log10 MD"),
                                       tr("threshold mean [min, max]")});
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->setToolTip(tr("log10 MD: mask diversity, the number of masks the layer's structure allows (log10)"));
    sad_ = new XyChart(tr("SAD per update"), tr("step"), tr("changed mask entries"), this);
    ablation_ = new XyChart(tr("Ablation timeline"), tr("step"), tr("ablated neurons"), this);
    message_ = new QLabel(this);
    message_->setWordWrap(true);
    auto* charts = new QSplitter(Qt::Horizontal, this);
    charts->addWidget(sad_);
    charts->addWidget(ablation_);
    // trainable_threshold: how the thresholds move, and how the selected layer's are spread.
    thresholdMeans_ = new XyChart(tr("Mean threshold of each layer's neurons"), tr("step"), tr("threshold"), this);
    thresholdHistogram_ = new HistogramChart(tr("Thresholds"), tr("threshold (bin start)"), this);
    thresholdHistogram_->setNamedBins(6);
    auto* thresholdSplit = new QSplitter(Qt::Horizontal, this);
    thresholdSplit->addWidget(thresholdMeans_);
    thresholdSplit->addWidget(thresholdHistogram_);
    thresholdCharts_ = thresholdSplit;
    thresholdCharts_->hide();
    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(table_);
    split->addWidget(charts);
    split->addWidget(thresholdCharts_);
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 2); // the charts need the height more than a few table rows
    split->setStretchFactor(2, 2);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(title_);
    layout->addWidget(split, 1);
    layout->addWidget(message_);
    liveRedraw_ = new RedrawThrottle(250, [this] { renderWhenVisible(); }, this);
    connect(table_, &QTableWidget::currentCellChanged, this, [this] { renderThresholdHistogram(); });
}

bool LayerStatsPanel::showsThresholds() const { return !thresholdCharts_->isHidden(); }

void LayerStatsPanel::renderThresholdHistogram() {
    if (rows_.empty()) return;
    const int current = table_->currentRow();
    const auto& row = rows_[static_cast<size_t>(current >= 0 && current < static_cast<int>(rows_.size()) ? current : 0)];
    thresholdHistogram_->setTitle(tr("Thresholds of %1 at step %2 (%3 neurons)")
                                      .arg(QString::fromStdString(row.name))
                                      .arg(row.step)
                                      .arg(row.thresholds.size()));
    thresholdHistogram_->setBars(thresholdBars(row.thresholds));
}

void LayerStatsPanel::openDatabase(const QString& path) {
    store_.setDatabase(path); // a read of the previous database still running is dropped when it ends
    request_ = 0;
    records_.clear();
    readError_.clear();
    message_->clear();
    runId_ = 0;
    selected_ = false;
    render();
}

QString LayerStatsPanel::message() const { return message_->text(); }

void LayerStatsPanel::showRunStep(qint64 runId, qint64 step) {
    selected_ = true;
    step_ = step;
    if (runId != runId_ || records_.empty()) load(runId);
    // The scrubber follows the live run's latest step at every publication: coalesced as they are.
    if (runId == liveRunId_ && runId > 0) {
        liveRedraw_->request();
        return;
    }
    liveRedraw_->cancel();
    render();
}

void LayerStatsPanel::followLiveRun(qint64 runId) {
    if (selected_ || runId <= 0) return;
    if (runId == runId_ && liveRead_.isValid() && liveRead_.elapsed() < 1000) return;
    liveRead_.start();
    step_ = -1;
    load(runId);
    render();
}

void LayerStatsPanel::showLive(std::shared_ptr<const sessions::LiveLayers> layers) {
    if (!layers) return;
    // The live run's publications are kept whatever is shown: a step of the live run selected on
    // the scrubber is often one the store does not hold yet.
    if (layers->runId != liveRunId_ || layers->sequence == 1) live_.clear(); // another run, or a new session
    liveRunId_ = layers->runId;
    for (const auto& s : layers->stats) {
        sessions::MaskStatsRecord r;
        r.step = layers->step;
        r.stats = s;
        live_.push_back(r);
    }
    if (selected_ && runId_ != liveRunId_) return; // the user looks at another run
    if (!selected_) {
        step_ = -1;
        if (runId_ != liveRunId_) {
            // Its history once from the store; the publications join it meanwhile.
            records_.clear();
            readError_.clear();
            message_->clear();
            runId_ = liveRunId_;
            if (runId_ > 0) load(runId_);
        }
    }
    mergeLive();
    liveRedraw_->request();
}

void LayerStatsPanel::renderWhenVisible() {
    if (isVisible()) render();
    else stale_ = true;
}

void LayerStatsPanel::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    if (stale_) render();
}

void LayerStatsPanel::mergeLive() {
    if (runId_ != liveRunId_ || live_.empty()) return;
    // Both are in step order and the recorder stores whole publications: the publications newer
    // than the newest stored step are the ones the store does not hold yet. Linear, not a search
    // per record: a long run has thousands of records and a publication comes many times a second.
    const int64_t stored = records_.empty() ? std::numeric_limits<int64_t>::min() : records_.back().step;
    auto newer = std::upper_bound(live_.begin(), live_.end(), stored,
                                  [](int64_t step, const sessions::MaskStatsRecord& r) { return step < r.step; });
    records_.insert(records_.end(), newer, live_.end());
}

void LayerStatsPanel::clearSelection() { selected_ = false; }

bool LayerStatsPanel::loading() const { return store_.isPending(request_); }

void LayerStatsPanel::load(qint64 runId) {
    if (runId == runId_ && loading()) return; // the read on its way is of this run: wait for it
    if (runId != runId_) {
        records_.clear();
        readError_.clear();
        message_->clear();
    }
    runId_ = runId;
    mergeLive(); // the live run's publications show before the store's answer
    // Only the statistics: the masks themselves (every snapshot's, decompressed) are never needed.
    request_ = store_.request(
        this, QStringLiteral("run stats"), [runId](sessions::RunStore& store) { return store.maskStats(runId); },
        [this, runId](std::vector<sessions::MaskStatsRecord> records) { showRead(runId, std::move(records), {}); },
        [this, runId](const QString& error) { showRead(runId, {}, error); });
}

void LayerStatsPanel::showRead(qint64 runId, std::vector<sessions::MaskStatsRecord> records, const QString& error) {
    if (runId != runId_) return;
    records_ = std::move(records);
    // The store lags the live slot by the recorder's write batch: keep what was published since.
    mergeLive();
    readError_ = error;
    message_->setText(error);
    render();
    Q_EMIT loaded();
}

void LayerStatsPanel::render() {
    stale_ = false;
    rows_ = layerStatsAt(records_, step_);
    const auto& rows = rows_;
    const int selected = table_->currentRow();
    if (runId_ <= 0) title_->setText(tr("No run selected."));
    else
        title_->setText(step_ < 0 ? tr("Run %1, latest update").arg(runId_) : tr("Run %1 at step %2").arg(runId_).arg(step_));
    if (runId_ > 0 && records_.empty() && !loading() && readError_.isEmpty())
        message_->setText(tr("This run has no mask snapshots."));
    else if (readError_.isEmpty())
        message_->setText(runId_ > 0 && records_.empty() ? tr("Reading the run's snapshots…") : QString());
    table_->setRowCount(static_cast<int>(rows.size()));
    for (int i = 0; i < static_cast<int>(rows.size()); ++i) {
        const auto& r = rows[static_cast<size_t>(i)];
        const QStringList cells{QString::fromStdString(r.name),
                                QString::number(r.step),
                                QStringLiteral("%1 x %2").arg(r.outFeatures).arg(r.fanIn),
                                QStringLiteral("%1 %").arg(100.0 * r.sparsity, 0, 'f', 2),
                                r.k > 0 ? QString::number(r.k) : QStringLiteral("\u2014"),
                                QString::number(r.active),
                                QString::number(r.ablated),
                                QString::number(r.sad),
                                QStringLiteral("%1 / %2").arg(r.pruned).arg(r.regrown),
                                QString::number(r.log10Diversity, 'f', 1),
                                thresholdSummary(r.thresholds)};
        for (int c = 0; c < cells.size(); ++c) table_->setItem(i, c, new QTableWidgetItem(cells[c]));
    }
    if (selected >= 0 && selected < table_->rowCount()) table_->setCurrentCell(selected, 0);
    sad_->setSeries(toXy(sadSeries(records_)));
    ablation_->setSeries(toXy(ablationTimeline(records_)));
    const bool thresholds =
        std::any_of(rows.begin(), rows.end(), [](const LayerStatsRow& r) { return !r.thresholds.empty(); });
    thresholdCharts_->setVisible(thresholds);
    if (thresholds) {
        thresholdMeans_->setSeries(toXy(thresholdMeans(records_)));
        renderThresholdHistogram();
    }
}

} // namespace srigl::studio
