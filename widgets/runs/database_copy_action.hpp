// File > Save a copy of the database…: a consistent copy of the shown database, taken while runs
// train (sessions::copyDatabase; a copy of the file alone misses the commits still in its -wal).
// The copy runs as a background job with its progress and a Cancel button in the status bar; a
// failure (an existing file: a copy never replaces one; a full disk) is explained in a message box,
// and nothing is left at the chosen name.
#pragma once

#include "widgets/jobs/status_job_strip.hpp"

#include <QObject>
#include <QString>

#include <functional>

class QAction;
class QMainWindow;

namespace srigl::studio {

class DatabaseCopyRunner;

class DatabaseCopyAction : public QObject {
    Q_OBJECT
public:
    // Asks where the copy goes ("" : the user cancelled). The default is a save dialog in the
    // database's folder, proposing <name>-copy-<date>.db; tests answer it themselves.
    using Chooser = std::function<QString(const QString& suggested)>;
    // Shows a failure; the default is a warning message box.
    using Alert = std::function<void(const QString& title, const QString& text)>;

    explicit DatabaseCopyAction(QMainWindow* window);

    QAction* action() const { return action_; }
    // The database that is copied (the one the window shows).
    void setDatabase(const QString& path) { dbPath_ = path; }
    void setChooser(Chooser chooser) { chooser_ = std::move(chooser); }
    void setAlert(Alert alert) { alert_ = std::move(alert); }

    // Starts copying the database to `out` in the background; false while a copy runs.
    bool copyTo(const QString& out);
    void cancel();

    DatabaseCopyRunner* runner() const { return runner_; }
    StatusJobStrip* strip() const { return strip_; }

Q_SIGNALS:
    // The copy is in place (true), or nothing was written (false; the alert was shown unless cancelled).
    void finished(bool ok, const QString& message);

private:
    void choose();
    void finish(bool ok, bool cancelled, const QString& error);

    QMainWindow* window_;
    DatabaseCopyRunner* runner_;
    QAction* action_;
    StatusJobStrip* strip_;
    QString dbPath_;
    QString out_; // of the copy that runs
    Chooser chooser_;
    Alert alert_;
};

} // namespace srigl::studio
