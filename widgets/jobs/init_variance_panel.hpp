// The init-variance dock (issue 6): the SRigL paper's argument that constant fan-in does not
// destabilise training, from the app. For one layer (out x in) and a sweep of sparsities it samples
// many random initialisations under dense, unstructured, constant fan-in and N:M masks (the
// engine's initOutputNormVariance, as `srigl analyze init-variance`) on a worker thread with
// progress and cancel, then charts the spread of the output norms ||W x|| against sparsity and
// lists every number in a table. A result is shown only once every sparsity finished.
#pragma once

#include "sessions/session/init_variance_job.hpp"

#include <QWidget>

#include <vector>

class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace srigl::studio {

class InitVarianceRunner;
class JobControls;
class XyChart;

class InitVariancePanel : public QWidget {
    Q_OBJECT
public:
    explicit InitVariancePanel(QWidget* parent = nullptr);

    // Starts the analysis from the form; false with message() for a form that does not parse or
    // while one runs. The engine's own checks fail the run at once (analysisFinished, message()).
    bool start();
    void cancel();
    bool isRunning() const;
    // The form as settings (throws std::invalid_argument naming the field that does not parse).
    sessions::InitVarianceJobSettings settings() const;
    // The points on the chart and in the table (the last analysis that finished).
    const std::vector<sessions::InitVariancePoint>& points() const { return points_; }

    QSpinBox* outEdit() const { return out_; }
    QSpinBox* inEdit() const { return in_; }
    QLineEdit* sparsitiesEdit() const { return sparsities_; }
    QLineEdit* nmEdit() const { return nm_; }
    QSpinBox* samplesEdit() const { return samples_; }
    QSpinBox* seedEdit() const { return seed_; }
    QComboBox* scaleCombo() const { return scale_; }
    QComboBox* spreadCombo() const { return spread_; }
    QPushButton* runButton() const;
    QPushButton* cancelButton() const;
    QProgressBar* progressBar() const;
    XyChart* chart() const { return chart_; }
    QTableWidget* table() const { return table_; }
    QString message() const;
    QString shownCaption() const; // what the shown result was computed for

Q_SIGNALS:
    void analysisFinished(bool ok, bool cancelled);

private:
    void setMessage(const QString& text, bool error);
    void showPoints(const std::vector<sessions::InitVariancePoint>& points, const QString& caption);
    void redrawChart();

    InitVarianceRunner* runner_ = nullptr;
    QSpinBox* out_ = nullptr;
    QSpinBox* in_ = nullptr;
    QLineEdit* sparsities_ = nullptr;
    QLineEdit* nm_ = nullptr;
    QSpinBox* samples_ = nullptr;
    QSpinBox* seed_ = nullptr;
    QComboBox* scale_ = nullptr;
    QComboBox* spread_ = nullptr;
    JobControls* controls_ = nullptr;
    QLabel* caption_ = nullptr;
    XyChart* chart_ = nullptr;
    QTableWidget* table_ = nullptr;
    std::vector<sessions::InitVariancePoint> points_;
    QString pendingCaption_; // caption of the analysis running now
};

} // namespace srigl::studio
