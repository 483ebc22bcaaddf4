// The global step scrubber: a slider over the mask-update steps of the selected run (finished or
// live). It shows the latest step and, for a live run, follows each new one, until the user moves
// it; "Latest" follows again. The steps are read through the Studio's StoreReader (again every
// second while the run is live), and every change of the selected step emits stepSelected.
#pragma once

#include <QString>
#include <QTimer>
#include <QWidget>

#include <cstdint>
#include <vector>

class QLabel;
class QSlider;
class QToolButton;

namespace srigl::studio {

class StoreReader;

class StepScrubber : public QWidget {
    Q_OBJECT
public:
    explicit StepScrubber(StoreReader& store, QWidget* parent = nullptr);

    // The run to scrub (dbPath becomes the reader's database; empty: no reads, only setSteps). The
    // same run again only updates `live`; another run starts over (following its latest step).
    void setRun(const QString& dbPath, qint64 runId, bool live);
    // The live run ended: one last read of its steps, then no more polling.
    void setLive(bool live);
    void clear();
    // The steps of `runId` (from the store's read, and for the live run from its publications;
    // tests call it directly). Steps of another run than the current one are ignored; a live run's
    // steps are merged, never dropped.
    void setSteps(qint64 runId, const std::vector<int64_t>& steps);
    // As the user does: selects the stored step at or before `step` and stops following.
    void selectStep(qint64 step);
    void setFollowLatest(bool follow);
    void setPollInterval(int ms) { poll_.setInterval(ms); }

    qint64 runId() const { return runId_; }
    bool live() const { return live_; }
    bool followsLatest() const { return following_; }
    qint64 selectedStep() const; // -1 when there is no step
    const std::vector<int64_t>& steps() const { return steps_; }
    QSlider* slider() const { return slider_; }

Q_SIGNALS:
    void stepSelected(qint64 runId, qint64 step);

private:
    void readSteps();
    void select(int index);
    void userMoved(int index);
    void refreshLabel();

    QString dbPath_;
    qint64 runId_ = 0;
    bool live_ = false;
    bool following_ = true;
    std::vector<int64_t> steps_;
    int index_ = -1;
    qint64 emittedRun_ = 0, emittedStep_ = -1;
    bool updating_ = false; // the slider is being moved by code, not by the user
    StoreReader& store_;
    quint64 read_ = 0;
    QString readDb_;
    qint64 readRun_ = 0; // what read_ reads
    QSlider* slider_ = nullptr;
    QLabel* label_ = nullptr;
    QToolButton* previous_ = nullptr;
    QToolButton* next_ = nullptr;
    QToolButton* latest_ = nullptr;
    QTimer poll_;
};

} // namespace srigl::studio
