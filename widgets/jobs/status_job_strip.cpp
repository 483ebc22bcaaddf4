// The status-bar strip of a File menu job.
#include "widgets/jobs/status_job_strip.hpp"

#include "widgets/jobs/background_job.hpp"

#include <QHBoxLayout>
#include <QLabel>
#include <QMainWindow>
#include <QProgressBar>
#include <QPushButton>
#include <QStatusBar>

namespace srigl::studio {

StatusJobStrip::StatusJobStrip(BackgroundJob* job, const QString& title, const QString& cancelTip, QMainWindow* window)
    : QWidget(window), job_(job), label_(new QLabel(this)), progress_(new QProgressBar(this)),
      cancel_(new QPushButton(tr("Cancel"), this)) {
    progress_->setMaximumWidth(160);
    progress_->setTextVisible(false);
    cancel_->setToolTip(cancelTip);
    connect(cancel_, &QPushButton::clicked, this, [this] {
        job_->cancel();
        cancel_->setEnabled(false); // the job ends at its next look at the flag
    });
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(label_);
    layout->addWidget(progress_);
    layout->addWidget(cancel_);
    window->statusBar()->addPermanentWidget(this);
    hide();
    connect(job, &BackgroundJob::progress, this, [this, title](qint64 done, qint64 total, const QString& current) {
        progress_->setRange(0, static_cast<int>(total));
        progress_->setValue(static_cast<int>(done));
        label_->setText(tr("%1: %2").arg(title, current));
    });
    connect(job, &BackgroundJob::finished, this, &QWidget::hide);
}

void StatusJobStrip::begin(const QString& text) {
    label_->setText(text);
    progress_->setRange(0, 0); // busy until the job's first report
    cancel_->setEnabled(true);
    show();
}

} // namespace srigl::studio
