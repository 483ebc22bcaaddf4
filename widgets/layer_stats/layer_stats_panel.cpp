// The layer statistics dock.
#include "widgets/layer_stats/layer_stats_panel.hpp"

#include "widgets/layer_stats/layer_stats_model.hpp"
#include "widgets/common/xy_chart.hpp"

#include <QHeaderView>
#include <QMetaObject>
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

} // namespace

LayerStatsPanel::LayerStatsPanel(QWidget* parent) : QWidget(parent) {
    pool_.setMaxThreadCount(1); // one read at a time; the newest request follows it
    title_ = new QLabel(tr("No run selected."), this);
    table_ = new QTableWidget(0, 10, this);
    table_->setHorizontalHeaderLabels({tr("layer"), tr("snapshot step"), tr("shape"), tr("sparsity"), tr("k"), tr("active"),
                                       tr("ablated"), tr("SAD"), tr("pruned / regrown"), tr("log10 MD")});
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
    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(table_);
    split->addWidget(charts);
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 2); // the charts need the height more than a few table rows
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(title_);
    layout->addWidget(split, 1);
    layout->addWidget(message_);
}

LayerStatsPanel::~LayerStatsPanel() { pool_.waitForDone(); }

void LayerStatsPanel::openDatabase(const QString& path) {
    dbPath_ = path;
    ++generation_; // a read of the previous database still running is dropped when it ends
    pending_ = false;
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

void LayerStatsPanel::clearSelection() { selected_ = false; }

void LayerStatsPanel::load(qint64 runId) {
    if (runId != runId_) {
        ++generation_; // a read of the previous run is no longer wanted
        records_.clear();
        readError_.clear();
        message_->clear();
    }
    runId_ = runId;
    if (busy_) {
        pending_ = true;
        return;
    }
    startRead();
}

void LayerStatsPanel::startRead() {
    busy_ = true;
    pending_ = false;
    const std::string db = dbPath_.toStdString();
    const qint64 runId = runId_;
    const quint64 generation = generation_;
    pool_.start([this, db, runId, generation] {
        auto records = std::make_shared<std::vector<sessions::MaskRecord>>();
        QString error;
        try {
            sessions::RunStore store(db, sessions::RunStore::Mode::ReadOnly);
            *records = store.masks(runId);
        } catch (const std::exception& e) {
            error = QString::fromStdString(e.what());
        }
        // `this` outlives the task (the destructor waits for the pool); a call still queued when
        // the panel is destroyed is dropped with it.
        QMetaObject::invokeMethod(
            this,
            [this, records, error, generation] {
                busy_ = false;
                if (generation == generation_) {
                    records_ = std::move(*records);
                    readError_ = error;
                    message_->setText(error);
                    render();
                    Q_EMIT loaded();
                }
                if (pending_ && runId_ > 0) startRead();
            },
            Qt::QueuedConnection);
    });
}

void LayerStatsPanel::render() {
    const auto rows = layerStatsAt(records_, step_);
    if (runId_ <= 0) title_->setText(tr("No run selected."));
    else
        title_->setText(step_ < 0 ? tr("Run %1, latest update").arg(runId_) : tr("Run %1 at step %2").arg(runId_).arg(step_));
    if (runId_ > 0 && records_.empty() && !busy_ && readError_.isEmpty())
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
                                QString::number(r.log10Diversity, 'f', 1)};
        for (int c = 0; c < cells.size(); ++c) table_->setItem(i, c, new QTableWidgetItem(cells[c]));
    }
    sad_->setSeries(toXy(sadSeries(records_)));
    ablation_->setSeries(toXy(ablationTimeline(records_)));
}

} // namespace srigl::studio
