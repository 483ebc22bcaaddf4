// The menu entry, the strip and the alert of a File menu job.
#include "widgets/database/menu_job_action.hpp"

#include "widgets/jobs/background_job.hpp"

#include <QAction>
#include <QMainWindow>
#include <QMessageBox>
#include <QPushButton>

namespace srigl::studio {

MenuJobAction::MenuJobAction(QMainWindow* window, const Texts& texts)
    : QObject(window), window_(window), action_(new QAction(texts.action, this)), texts_(texts) {
    action_->setObjectName(texts.objectName);
    action_->setToolTip(texts.toolTip);
    connect(action_, &QAction::triggered, this, [this] { choose(); });
    alert_ = [this](const QString& title, const QString& text) { QMessageBox::warning(window_, title, text); };
}

void MenuJobAction::follow(BackgroundJob* job, const QString& stripObjectName) {
    // In the status bar, not a modal dialog: the rest of the Studio stays usable while the job runs.
    strip_ = new StatusJobStrip(job, texts_.stripTitle, texts_.cancelTip, window_);
    strip_->setObjectName(stripObjectName);
    connect(job, &BackgroundJob::finished, this, [this](bool ok, bool cancelled, const QString& error) {
        action_->setEnabled(true);
        ended(ok, cancelled, error);
    });
}

bool MenuJobAction::began(bool started, const QString& text) {
    if (!started) return false;
    action_->setEnabled(false);
    strip_->begin(text);
    return true;
}

void MenuJobAction::cancel() {
    strip_->cancelButton()->click(); // the job ends at its next look at the flag
}

void MenuJobAction::alert(const QString& title, const QString& text) const {
    if (alert_) alert_(title, text);
}

} // namespace srigl::studio
