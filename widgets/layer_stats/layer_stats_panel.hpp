// The layer statistics dock: per layer of a run at a step, sparsity, k, active/ablated neurons,
// the update's SAD and the mask diversity, plus SAD per update and the ablation timeline as charts;
// for trainable_threshold runs also the thresholds (mean per layer over time, and the histogram of
// the selected layer's per-neuron thresholds at the step).
// It shows what the step scrubber selects (showRunStep) and otherwise follows the live run. Only
// the snapshots' statistics are read (RunStore::maskStats, no mask), through the Studio's
// StoreReader; a read for a run no longer shown is dropped.
#pragma once

#include "sessions/session/live_layers.hpp"
#include "sessions/store/run_store.hpp"
#include "widgets/layer_stats/layer_stats_model.hpp"

#include <QElapsedTimer>
#include <QWidget>

#include <memory>
#include <vector>

class QLabel;
class QTableWidget;

namespace srigl::studio {

class HistogramChart;
class RedrawThrottle;
class StoreReader;
class XyChart;

class LayerStatsPanel : public QWidget {
    Q_OBJECT
public:
    explicit LayerStatsPanel(StoreReader& store, QWidget* parent = nullptr);

    // Shows nothing until a run is chosen; the database becomes the reader's.
    void openDatabase(const QString& path);
    qint64 runId() const { return runId_; }
    qint64 step() const { return step_; }
    QTableWidget* table() const { return table_; }
    XyChart* sadChart() const { return sad_; }
    XyChart* ablationChart() const { return ablation_; }
    XyChart* thresholdChart() const { return thresholdMeans_; }
    HistogramChart* thresholdHistogram() const { return thresholdHistogram_; }
    // Whether the threshold charts are shown (the run has thresholds).
    bool showsThresholds() const;
    QString message() const;
    bool loading() const;

public Q_SLOTS:
    // Shows the run at this step (the last snapshot at or before it; step < 0: the latest) and stops
    // following the live run until clearSelection().
    void showRunStep(qint64 runId, qint64 step);
    // The live run's latest update, unless a run/step was selected (re-read at most once a second).
    void followLiveRun(qint64 runId);
    // The live run's publication (its start, each mask update), straight from the session's slot:
    // its statistics join the run's history at once, without a store read, and are drawn within a
    // quarter of a second (redraws coalesced). The stored history of the run is read once, when
    // the panel first follows it.
    void showLive(std::shared_ptr<const srigl::sessions::LiveLayers> layers);
    void clearSelection();

Q_SIGNALS:
    // A read of the store for the shown run finished (and the panel shows it).
    void loaded();

protected:
    // Hidden (a tab behind another), live publications only update the records; the table and
    // charts are drawn when the panel is shown.
    void showEvent(QShowEvent* event) override;

private:
    // Asks for the run's snapshot statistics; the panel shows them when the read is back.
    void load(qint64 runId);
    void showRead(qint64 runId, std::vector<sessions::MaskStatsRecord> records, const QString& error);
    // For the live run: records_ plus every kept publication the store does not hold yet (steps
    // ascending, none twice).
    void mergeLive();
    void render();
    // The histogram of the selected table row's thresholds (the first row when none is selected).
    void renderThresholdHistogram();
    // render() now when visible, else when shown.
    void renderWhenVisible();

    StoreReader& store_;
    qint64 runId_ = 0, step_ = -1;
    bool selected_ = false;
    std::vector<sessions::MaskStatsRecord> records_;
    std::vector<LayerStatsRow> rows_; // the table's rows as last rendered
    std::vector<sessions::MaskStatsRecord> live_; // this session's publications, kept across store reads
    qint64 liveRunId_ = -1;                        // the run they belong to (0: not recorded)
    QString readError_;
    quint64 request_ = 0; // a newer one supersedes it: a run no longer shown is never drawn
    QElapsedTimer liveRead_;
    QLabel* title_ = nullptr;
    QTableWidget* table_ = nullptr;
    XyChart* sad_ = nullptr;
    XyChart* ablation_ = nullptr;
    QWidget* thresholdCharts_ = nullptr; // hidden unless the run has thresholds
    XyChart* thresholdMeans_ = nullptr;
    HistogramChart* thresholdHistogram_ = nullptr;
    QLabel* message_ = nullptr;
    bool stale_ = false; // records changed while hidden
    // The live run redraws at most four times a second: the table and charts cover the whole run,
    // and their QtCharts series cost more to rebuild than the inspector's frame.
    RedrawThrottle* liveRedraw_ = nullptr;
};

} // namespace srigl::studio
