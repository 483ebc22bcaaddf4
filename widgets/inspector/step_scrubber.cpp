// Slider + buttons; steps read with snapshot_reads' maskSteps through the StoreReader.
#include "widgets/inspector/step_scrubber.hpp"

#include "widgets/common/store_reader.hpp"
#include "widgets/inspector/snapshot_reads.hpp"

#include <QHBoxLayout>
#include <QLabel>
#include <QSlider>
#include <QToolButton>

#include <algorithm>
#include <iterator>

namespace srigl::studio {

StepScrubber::StepScrubber(StoreReader& store, QWidget* parent) : QWidget(parent), store_(store) {
    setObjectName(QStringLiteral("stepScrubber"));
    previous_ = new QToolButton(this);
    previous_->setArrowType(Qt::LeftArrow);
    previous_->setToolTip(tr("Previous mask update"));
    next_ = new QToolButton(this);
    next_->setArrowType(Qt::RightArrow);
    next_->setToolTip(tr("Next mask update"));
    slider_ = new QSlider(Qt::Horizontal, this);
    slider_->setObjectName(QStringLiteral("stepSlider"));
    slider_->setMinimumWidth(240);
    slider_->setPageStep(10);
    latest_ = new QToolButton(this);
    latest_->setText(tr("Latest"));
    latest_->setCheckable(true);
    latest_->setChecked(true);
    latest_->setToolTip(tr("Follow the run's latest mask update"));
    label_ = new QLabel(this);
    label_->setMinimumWidth(200);

    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(4, 0, 4, 0);
    layout->addWidget(new QLabel(tr("Step"), this));
    layout->addWidget(previous_);
    layout->addWidget(slider_, 1);
    layout->addWidget(next_);
    layout->addWidget(latest_);
    layout->addWidget(label_);

    connect(slider_, &QSlider::valueChanged, this, &StepScrubber::userMoved);
    connect(previous_, &QToolButton::clicked, this, [this] { userMoved(std::max(0, index_ - 1)); });
    connect(next_, &QToolButton::clicked, this,
            [this] { userMoved(std::min(static_cast<int>(steps_.size()) - 1, index_ + 1)); });
    connect(latest_, &QToolButton::toggled, this, &StepScrubber::setFollowLatest);
    poll_.setInterval(1000);
    connect(&poll_, &QTimer::timeout, this, &StepScrubber::readSteps);
    refreshLabel();
}

qint64 StepScrubber::selectedStep() const {
    return index_ >= 0 && index_ < static_cast<int>(steps_.size()) ? steps_[static_cast<size_t>(index_)] : -1;
}

void StepScrubber::setRun(const QString& dbPath, qint64 runId, bool live) {
    if (dbPath == dbPath_ && runId == runId_) {
        setLive(live);
        return;
    }
    dbPath_ = dbPath;
    if (!dbPath.isEmpty()) store_.setDatabase(dbPath);
    runId_ = runId;
    steps_.clear();
    index_ = -1;
    setFollowLatest(true);
    live_ = live;
    select(-1);
    readSteps();
    if (live_) poll_.start();
    else poll_.stop();
}

void StepScrubber::setLive(bool live) {
    if (live == live_) return;
    live_ = live;
    if (live_) poll_.start();
    else poll_.stop();
    readSteps(); // the last steps of a run that just ended, or the first of one that resumed
}

void StepScrubber::clear() {
    dbPath_.clear();
    runId_ = 0;
    live_ = false;
    poll_.stop();
    steps_.clear();
    index_ = -1;
    emittedRun_ = 0;
    emittedStep_ = -1;
    select(-1);
}

void StepScrubber::readSteps() {
    if (dbPath_.isEmpty() || runId_ == 0) return;
    // A poll while this run's steps are being read waits for them; another run's read is superseded.
    if (store_.isPending(read_) && readRun_ == runId_ && readDb_ == dbPath_) return;
    const qint64 runId = runId_;
    readRun_ = runId;
    readDb_ = dbPath_;
    // A failed read (a run deleted meanwhile, a database being created) shows nothing: the next poll
    // tries again.
    read_ = store_.request(
        this, QStringLiteral("steps"), [runId](sessions::RunStore& store) { return maskSteps(store, runId); },
        [this, runId](std::vector<int64_t> steps) { setSteps(runId, steps); });
}

void StepScrubber::setSteps(qint64 runId, const std::vector<int64_t>& steps) {
    if (runId != runId_) return;
    const qint64 selected = selectedStep();
    if (live_) {
        // A live run's steps arrive from its published masks ahead of the store: a store read that
        // lags behind must not take the latest step away again.
        std::vector<int64_t> merged;
        std::set_union(steps_.begin(), steps_.end(), steps.begin(), steps.end(), std::back_inserter(merged));
        steps_ = std::move(merged);
    } else {
        steps_ = steps;
    }
    int index = -1;
    if (!steps_.empty()) {
        if (following_ || selected < 0) {
            index = static_cast<int>(steps_.size()) - 1;
        } else {
            const auto it = std::upper_bound(steps_.begin(), steps_.end(), selected);
            index = std::max(0, static_cast<int>(it - steps_.begin()) - 1);
        }
    }
    select(index);
}

void StepScrubber::selectStep(qint64 step) {
    if (steps_.empty()) return;
    const auto it = std::upper_bound(steps_.begin(), steps_.end(), step);
    userMoved(std::max(0, static_cast<int>(it - steps_.begin()) - 1));
}

void StepScrubber::setFollowLatest(bool follow) {
    following_ = follow;
    if (latest_->isChecked() != follow) {
        const bool blocked = latest_->blockSignals(true);
        latest_->setChecked(follow);
        latest_->blockSignals(blocked);
    }
    if (follow && !steps_.empty()) select(static_cast<int>(steps_.size()) - 1);
}

void StepScrubber::userMoved(int index) {
    if (updating_ || steps_.empty()) return;
    setFollowLatest(false);
    select(std::clamp(index, 0, static_cast<int>(steps_.size()) - 1));
}

void StepScrubber::select(int index) {
    index_ = index;
    updating_ = true;
    slider_->setRange(0, std::max(0, static_cast<int>(steps_.size()) - 1));
    slider_->setValue(std::max(0, index));
    updating_ = false;
    slider_->setEnabled(!steps_.empty());
    previous_->setEnabled(index_ > 0);
    next_->setEnabled(index_ >= 0 && index_ + 1 < static_cast<int>(steps_.size()));
    refreshLabel();
    const qint64 step = selectedStep();
    if (step >= 0 && (runId_ != emittedRun_ || step != emittedStep_)) {
        emittedRun_ = runId_;
        emittedStep_ = step;
        Q_EMIT stepSelected(runId_, step);
    }
}

void StepScrubber::refreshLabel() {
    if (runId_ == 0) label_->setText(tr("no run selected"));
    else if (steps_.empty()) label_->setText(tr("run %1: no mask snapshots yet").arg(runId_));
    else
        label_->setText(tr("run %1 · step %2 (%3 of %4)%5")
                            .arg(runId_)
                            .arg(selectedStep())
                            .arg(index_ + 1)
                            .arg(steps_.size())
                            .arg(live_ ? tr(" · live") : QString()));
}

} // namespace srigl::studio
