// The timing panel dock: condensed against dense, CSR and structured on the CPU (and CUDA when the
// engine sees a GPU), for a synthetic constant fan-in layer or the selected run's classifier
// layers. The bench runs on a worker thread with progress and cancel; the results go to the
// database's timings table and are charted as speed-up against batch size and against sparsity
// (read back through the Studio's StoreReader).
#pragma once

#include "sessions/store/run_store.hpp"

#include <QWidget>

#include <vector>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLineEdit;
class QProgressBar;
class QSpinBox;
class QTableWidget;

namespace srigl::studio {

class BenchRunner;
class JobControls;
class StoreReader;
class XyChart;

class TimingPanel : public QWidget {
    Q_OBJECT
public:
    explicit TimingPanel(StoreReader& store, QWidget* parent = nullptr);

    // The database the bench writes to and the results are read from (it becomes the reader's).
    void openDatabase(const QString& path);
    // The run whose layers "Bench the selected run" times (0: none).
    void setRun(qint64 runId);

    // Starts the bench from the form; false with message() for a bad form or while one runs.
    bool start();
    void cancel();
    bool isRunning() const;
    // Reads the stored rows again; the table and charts are redrawn when they are back.
    void reloadResults();

    QLineEdit* sparsitiesEdit() const { return sparsities_; }
    QLineEdit* batchesEdit() const { return batches_; }
    QSpinBox* inEdit() const { return in_; }
    QSpinBox* outEdit() const { return out_; }
    QDoubleSpinBox* secondsEdit() const { return seconds_; }
    QCheckBox* runLayersCheck() const { return runLayers_; }
    QComboBox* variantCombo() const { return variant_; }
    QProgressBar* progressBar() const;
    QTableWidget* resultsTable() const { return table_; }
    XyChart* batchChart() const { return byBatch_; }
    XyChart* trainingChart() const { return trainingByBatch_; }
    XyChart* sparsityChart() const { return bySparsity_; }
    BenchRunner* runner() const { return runner_; }
    QString message() const;

Q_SIGNALS:
    void benchFinished(bool ok, bool cancelled);

private:
    void showMessage(const QString& text, bool error);
    void showResults(std::vector<sessions::TimingRecord> rows, bool ofRun);

    StoreReader& store_;
    QString dbPath_;
    qint64 runId_ = 0;
    std::vector<sessions::TimingRecord> rows_;
    std::vector<sessions::TimingRecord> trainingRows_; // kind train_step, synthetic layers
    BenchRunner* runner_ = nullptr;
    QComboBox* device_ = nullptr;
    QSpinBox* in_ = nullptr;
    QSpinBox* out_ = nullptr;
    QLineEdit* sparsities_ = nullptr;
    QLineEdit* batches_ = nullptr;
    QDoubleSpinBox* seconds_ = nullptr;
    QCheckBox* runLayers_ = nullptr;
    QComboBox* variant_ = nullptr;
    JobControls* controls_ = nullptr;
    QTableWidget* table_ = nullptr;
    XyChart* byBatch_ = nullptr;
    XyChart* trainingByBatch_ = nullptr;
    XyChart* bySparsity_ = nullptr;
};

} // namespace srigl::studio
