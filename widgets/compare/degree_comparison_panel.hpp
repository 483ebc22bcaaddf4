// The compare dashboard's fan-in and out-degree histograms: for the runs being compared, one column
// per run with the chosen layer's fan-in and out-degree histograms at the chosen point of training,
// every column on the same bins and (by default) the same count scale, so SRigL's constant fan-in
// shows as one bar beside RigL's and SET's spread. The masks are read through the StoreReader and
// the degrees computed on its thread; a newer read supersedes an older one.
#pragma once

#include "sessions/store/run_store.hpp"
#include "widgets/logic/degree_histograms.hpp"

#include <QString>
#include <QWidget>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

class QCheckBox;
class QComboBox;
class QHBoxLayout;
class QLabel;

namespace srigl::studio {

class HistogramChart;
class StoreReader;

// One run's side of the comparison, as read on the reader's thread.
struct RunDegrees {
    sessions::RunInfo run;
    int64_t step = -1; // the mask step shown
    std::optional<LayerDegrees> layer;
    std::optional<NextLayerUse> next; // how the run's next layer reads this one, when it has one
    std::string problem;              // why nothing (or no out-degree in the next layer) is shown
};

struct DegreeComparison {
    std::vector<std::string> layers; // common to the runs, the combo's choices
    std::string layer;               // the one shown
    std::vector<RunDegrees> runs;
};

class DegreeComparisonPanel : public QWidget {
    Q_OBJECT
public:
    explicit DegreeComparisonPanel(StoreReader& store, QWidget* parent = nullptr);

    // The runs to compare, in column order. Read again when they changed (another run, more steps,
    // a new status); while the panel is hidden, only once it is shown.
    void setRuns(const std::vector<sessions::RunInfo>& runs);
    // Reads the masks again even if the runs look the same (another database, a reload).
    void reread();

    // 1.0: each run's final mask (the default); 0.5: the mask in use half-way through training.
    void setFraction(double fraction);
    double fraction() const;
    void setLayer(const QString& layer);
    void setSharedCountAxis(bool shared);

    QComboBox* layerCombo() const { return layer_; }
    QComboBox* stepCombo() const { return step_; }
    int columns() const { return static_cast<int>(shownColumns_); }
    const HistogramChart* fanInChart(int column) const;
    const HistogramChart* outDegreeChart(int column) const;
    QString headingText(int column) const;
    QString stepText(int column) const;
    QString summaryText(int column) const;
    QString message() const;
    bool loading() const;

Q_SIGNALS:
    // A read came back and is drawn (or its error is shown).
    void shown();

protected:
    void showEvent(QShowEvent* event) override;

private:
    struct Column {
        QWidget* box = nullptr;
        QLabel* heading = nullptr;
        QLabel* step = nullptr;
        HistogramChart* fanIn = nullptr;
        HistogramChart* outDegree = nullptr;
        QLabel* summary = nullptr;
    };
    void read();
    void showComparison(DegreeComparison comparison);
    void render();
    Column& column(size_t i);

    StoreReader& store_;
    quint64 request_ = 0;
    std::vector<sessions::RunInfo> runs_;
    bool given_ = false; // setRuns() was called (runs_ is not just the initial empty list)
    std::optional<DegreeComparison> shown_;
    QString chosenLayer_;
    bool stale_ = false;
    QComboBox* layer_ = nullptr;
    QComboBox* step_ = nullptr;
    QCheckBox* sharedAxis_ = nullptr;
    QLabel* message_ = nullptr;
    QHBoxLayout* row_ = nullptr;
    std::vector<Column> columns_; // built as needed, hidden beyond shownColumns_
    size_t shownColumns_ = 0;
};

} // namespace srigl::studio
