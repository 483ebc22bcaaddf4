// The compare dashboard dock: pick runs (here or from the run browser), overlay their loss and
// accuracy curves with EMA smoothing, list only the config keys that differ, and plot the final
// test accuracy against sparsity per method from every finished run of the database.
#pragma once

#include "sessions/store/run_store.hpp"
#include "widgets/live/recorded_curves.hpp"

#include <QList>
#include <QWidget>

#include <map>
#include <vector>

class QComboBox;
class QLabel;
class QListWidget;
class QSlider;
class QTableView;

namespace srigl::studio {

class ConfigDiffModel;
class XyChart;

class CompareDashboard : public QWidget {
    Q_OBJECT
public:
    explicit CompareDashboard(QWidget* parent = nullptr);

    // Lists the runs of this database (read-only); false with message() when it cannot be read.
    bool openDatabase(const QString& path);
    // Reads the run list and every selected run's curves again (runs may still be training).
    void reload();

    void setSelectedRuns(const QList<qint64>& ids);
    QList<qint64> selectedRuns() const;
    void setSmoothing(double weight); // [0, 0.99]
    double smoothing() const;

    ConfigDiffModel* diffModel() const { return diff_; }
    XyChart* lossChart() const { return loss_; }
    XyChart* accuracyChart() const { return accuracy_; }
    XyChart* accuracyVsSparsityChart() const { return figure_; }
    QComboBox* modelFilter() const { return modelFilter_; }
    QString message() const;

private:
    void refreshCurves();
    void refreshFigure();
    const RecordedCurves* curves(qint64 id);

    QString dbPath_;
    QListWidget* runs_ = nullptr;
    QSlider* smoothing_ = nullptr;
    QLabel* smoothingLabel_ = nullptr;
    QComboBox* accuracyKind_ = nullptr;
    QComboBox* modelFilter_ = nullptr;
    XyChart* loss_ = nullptr;
    XyChart* accuracy_ = nullptr;
    XyChart* figure_ = nullptr;
    ConfigDiffModel* diff_ = nullptr;
    QTableView* diffView_ = nullptr;
    QLabel* message_ = nullptr;
    std::vector<sessions::RunInfo> runInfo_;
    std::map<qint64, RecordedCurves> cache_;
    bool updating_ = false;
};

} // namespace srigl::studio
