// The compare dashboard dock: pick runs (here or from the run browser), overlay their loss and
// accuracy curves with EMA smoothing, list only the config keys that differ, and plot the final
// test accuracy against sparsity per method from every finished run of the database. A second page
// puts the selected runs' fan-in and out-degree histograms of one layer side by side. The run list,
// the curves and the masks are read through the Studio's StoreReader; the charts follow when they
// are back.
#pragma once

#include "sessions/store/run_store.hpp"
#include "widgets/live/recorded_curves.hpp"

#include <QList>
#include <QWidget>

#include <map>
#include <optional>
#include <vector>

class QComboBox;
class QLabel;
class QListWidget;
class QSlider;
class QTableView;
class QTabWidget;

namespace srigl::studio {

class ConfigDiffModel;
class DegreeComparisonPanel;
class StoreReader;
class XyChart;

class CompareDashboard : public QWidget {
    Q_OBJECT
public:
    explicit CompareDashboard(StoreReader& store, QWidget* parent = nullptr);

    // Lists the runs of this database (it becomes the reader's); message() says when it cannot be
    // read.
    void openDatabase(const QString& path);
    // Reads the run list and every selected run's curves again (runs may still be training).
    void reload();

    // Runs not listed yet (the list is still being read) are checked when the list arrives.
    void setSelectedRuns(const QList<qint64>& ids);
    QList<qint64> selectedRuns() const;
    void setSmoothing(double weight); // [0, 0.99]
    double smoothing() const;

    ConfigDiffModel* diffModel() const { return diff_; }
    XyChart* lossChart() const { return loss_; }
    XyChart* accuracyChart() const { return accuracy_; }
    XyChart* accuracyVsSparsityChart() const { return figure_; }
    QComboBox* modelFilter() const { return modelFilter_; }
    DegreeComparisonPanel* degreeComparison() const { return degrees_; }
    // Brings the fan-in and out-degree page to the front (it reads the masks once shown).
    void showDegrees();
    QString message() const;
    // A read is on its way (the run list or curves).
    bool loading() const;

Q_SIGNALS:
    // A read came back and is shown (or its error is).
    void loaded();

private:
    void showRuns(std::vector<sessions::RunInfo> runs);
    void refreshCurves();
    void refreshFigure();
    void refreshDegrees();
    // Asks for the curves of the selected runs not read yet.
    void readMissingCurves(const QList<qint64>& ids);

    StoreReader& store_;
    quint64 listRequest_ = 0, curvesRequest_ = 0;
    std::optional<QList<qint64>> wanted_; // setSelectedRuns() while the list was being read
    QList<qint64> curvesAsked_;
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
    QTabWidget* pages_ = nullptr;
    DegreeComparisonPanel* degrees_ = nullptr;
    std::vector<sessions::RunInfo> runInfo_;
    std::map<qint64, RecordedCurves> cache_;
    bool updating_ = false;
};

} // namespace srigl::studio
