// The layer statistics dock: per layer of a run at a step, sparsity, k, active/ablated neurons,
// the update's SAD and the mask diversity, plus SAD per update and the ablation timeline as charts.
// It shows what the step scrubber selects (showRunStep) and otherwise follows the live run. The
// store is read on a background thread (a run's snapshots grow with its length); the result comes
// back by a queued call, and one for a run no longer shown is dropped.
#pragma once

#include "sessions/store/run_store.hpp"

#include <QElapsedTimer>
#include <QThreadPool>
#include <QWidget>

#include <memory>
#include <vector>

class QLabel;
class QTableWidget;

namespace srigl::studio {

class XyChart;

class LayerStatsPanel : public QWidget {
    Q_OBJECT
public:
    explicit LayerStatsPanel(QWidget* parent = nullptr);
    ~LayerStatsPanel() override; // waits for a read still running

    void openDatabase(const QString& path);
    qint64 runId() const { return runId_; }
    qint64 step() const { return step_; }
    QTableWidget* table() const { return table_; }
    XyChart* sadChart() const { return sad_; }
    XyChart* ablationChart() const { return ablation_; }
    QString message() const;
    bool loading() const { return busy_; }

public Q_SLOTS:
    // Shows the run at this step (the last snapshot at or before it; step < 0: the latest) and stops
    // following the live run until clearSelection().
    void showRunStep(qint64 runId, qint64 step);
    // The live run's latest update, unless a run/step was selected (re-read at most once a second).
    void followLiveRun(qint64 runId);
    void clearSelection();

Q_SIGNALS:
    // A read of the store for the shown run finished (and the panel shows it).
    void loaded();

private:
    // Asks for the run's snapshots; the panel shows them when the background read is back.
    void load(qint64 runId);
    void startRead();
    void render();

    QString dbPath_;
    qint64 runId_ = 0, step_ = -1;
    bool selected_ = false;
    std::vector<sessions::MaskRecord> records_;
    QString readError_;
    QThreadPool pool_;
    bool busy_ = false, pending_ = false;
    quint64 generation_ = 0; // reads for another run or database are dropped when they come back
    QElapsedTimer liveRead_;
    QLabel* title_ = nullptr;
    QTableWidget* table_ = nullptr;
    XyChart* sad_ = nullptr;
    XyChart* ablation_ = nullptr;
    QLabel* message_ = nullptr;
};

} // namespace srigl::studio
