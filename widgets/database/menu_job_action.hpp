// What every File menu job of the run database shares (import checkpoints, merge runs, save a
// copy): the menu action, the database it works on, the status-bar strip that follows its
// background job, and the message box a failure is explained in. A subclass adds what it asks the
// user, what it starts and what its end shows.
#pragma once

#include "widgets/jobs/status_job_strip.hpp"

#include <QObject>
#include <QString>

#include <functional>

class QAction;
class QMainWindow;
class QProgressBar;
class QPushButton;

namespace srigl::studio {

class BackgroundJob;

class MenuJobAction : public QObject {
    Q_OBJECT
public:
    // Shows a failure; the default is a warning message box. Tests answer it themselves.
    using Alert = std::function<void(const QString& title, const QString& text)>;

    QAction* action() const { return action_; }
    // The database the job works on (the one the window shows).
    void setDatabase(const QString& path) { dbPath_ = path; }
    void setAlert(Alert alert) { alert_ = std::move(alert); }
    // Asks a running job to stop; it ends through its job's finished(false, true, ...).
    void cancel();

    StatusJobStrip* strip() const { return strip_; }
    QProgressBar* progressBar() const { return strip_->progressBar(); }
    QPushButton* cancelButton() const { return strip_->cancelButton(); }

Q_SIGNALS:
    // The job ended and its end was shown: ok with what the status bar says, or why it did not
    // finish (after the alert, unless it was cancelled).
    void finished(bool ok, const QString& message);

protected:
    struct Texts {
        QString action, objectName, toolTip; // the menu entry
        QString stripTitle, cancelTip;        // the status-bar strip
    };
    MenuJobAction(QMainWindow* window, const Texts& texts);

    // Called once from the subclass's constructor with its runner (a child of this object): the
    // strip follows it, and its end calls ended() with the action enabled again.
    void follow(BackgroundJob* job, const QString& stripObjectName);
    // After the subclass started its job: when `started`, the action is off and the strip shows
    // `text` until the job ends. Returns `started`.
    bool began(bool started, const QString& text);
    void alert(const QString& title, const QString& text) const;

    // The menu entry was chosen: ask the user, then start the job (nothing while one runs).
    virtual void choose() = 0;
    virtual void ended(bool ok, bool cancelled, const QString& error) = 0;

    QMainWindow* window() const { return window_; }
    const QString& database() const { return dbPath_; }

private:
    QMainWindow* window_;
    QAction* action_;
    Texts texts_;
    StatusJobStrip* strip_ = nullptr;
    QString dbPath_;
    Alert alert_;
};

} // namespace srigl::studio
