// The Studio's sweeps: a grid of methods x sparsities x seeds over the launcher's config, trained
// in the background point after point (every point a recorded run), with a bar for the whole grid
// and one for the current point, cancel after the current step, Resume for a stopped sweep, the
// table of points and the results chart with its PNG, SVG and CSV export.
#pragma once

#include "engine/config/run_config.hpp"
#include "sessions/session/sweep_job.hpp"

#include <QString>
#include <QWidget>

#include <functional>

class QCheckBox;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace srigl::studio {

class JobControls;
class SweepJobRunner;
class SweepResultsView;

class SweepPanel : public QWidget {
    Q_OBJECT
public:
    explicit SweepPanel(QWidget* parent = nullptr);

    void setDatabase(const QString& path) { dbPath_ = path; }
    // Where each point's other keys come from (the launcher's form); a default config without one.
    void setBaseConfigSource(std::function<RunConfig()> source) { baseConfig_ = std::move(source); }

    // Starts the grid of the form; false (with message()) for a bad form or while a sweep runs.
    bool startSweep();
    // Continues the last stopped sweep.
    bool resumeSweep();
    void cancel();
    bool running() const;
    QString message() const;
    qint64 sweepId() const { return sweepId_; }

    // The form, for tests and for a saved layout.
    void setMethods(const QStringList& methods);
    void setSparsities(const QString& list);
    void setSeeds(int seeds);
    QTableWidget* pointsTable() const { return table_; }
    SweepResultsView* resultsView() const { return results_; }
    QProgressBar* pointBar() const { return pointBar_; }
    JobControls* controls() const { return controls_; }
    QPushButton* resumeButton() const { return resume_; }

Q_SIGNALS:
    // A sweep ended (finished, stopped or failed); its runs are in the store.
    void sweepEnded(qint64 sweepId);

private:
    void progressed(qint64 done, qint64 total, const QString& current);
    void ended(bool ok, bool cancelled, const QString& error);
    void showResult(const sessions::SweepJobResult& result);
    void exportResults(const QString& format);
    bool launch(const sessions::SweepJobSettings& settings, const QString& text);

    QString dbPath_;
    std::function<RunConfig()> baseConfig_;
    qint64 sweepId_ = 0;
    SweepJobRunner* job_ = nullptr;
    std::vector<QCheckBox*> methods_;
    QLineEdit* sparsities_ = nullptr;
    QSpinBox* seeds_ = nullptr;
    QLineEdit* name_ = nullptr;
    JobControls* controls_ = nullptr;
    QProgressBar* pointBar_ = nullptr;
    QPushButton* resume_ = nullptr;
    QTableWidget* table_ = nullptr;
    SweepResultsView* results_ = nullptr;
};

} // namespace srigl::studio
