// The job controls strip.
#include "widgets/jobs/job_controls.hpp"

#include "widgets/jobs/background_job.hpp"

#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QVBoxLayout>

#include <utility>

namespace srigl::studio {

JobControls::JobControls(BackgroundJob* job, const QString& runText, ProgressText progressText, QWidget* parent)
    : QWidget(parent), job_(job) {
    run_ = new QPushButton(runText, this);
    cancel_ = new QPushButton(tr("Cancel"), this);
    cancel_->setEnabled(false);
    progress_ = new QProgressBar(this);
    progress_->setRange(0, 1);
    progress_->setValue(0);
    message_ = new QLabel(this);
    message_->setWordWrap(true);
    message_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(run_);
    buttons->addWidget(cancel_);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(buttons);
    layout->addWidget(progress_);
    layout->addWidget(message_);

    connect(cancel_, &QPushButton::clicked, this, &JobControls::cancel);
    connect(job_, &BackgroundJob::progress, this,
            [this, progressText = std::move(progressText)](qint64 done, qint64 total, const QString& current) {
                progress_->setRange(0, static_cast<int>(total));
                progress_->setValue(static_cast<int>(done));
                showMessage(progressText(done, total, current), false);
            });
    connect(job_, &BackgroundJob::finished, this, [this](bool ok, bool, const QString&) { end(ok); });
}

void JobControls::begin(int steps, const QString& text) {
    run_->setEnabled(false);
    cancel_->setEnabled(true);
    progress_->setRange(0, steps);
    progress_->setValue(0);
    showMessage(text, false);
}

void JobControls::cancel() {
    if (!job_->isRunning()) return;
    job_->cancel();
    showMessage(tr("Cancelling…"), false);
}

void JobControls::end(bool ok) {
    run_->setEnabled(true);
    cancel_->setEnabled(false);
    if (progress_->maximum() == 0) progress_->setRange(0, 1); // still busy: no report came
    progress_->setValue(ok ? progress_->maximum() : 0);
}

void JobControls::showMessage(const QString& text, bool error) {
    message_->setText(text);
    message_->setStyleSheet(error ? QStringLiteral("color: #e05050;") : QString());
}

QString JobControls::message() const { return message_->text(); }

} // namespace srigl::studio
