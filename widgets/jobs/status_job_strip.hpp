// A job's strip in the main window's status bar (what runs, a bar, Cancel), for the File menu's
// jobs (checkpoint import, database copy): not a modal dialog, so the rest of the Studio stays
// usable while the job runs. Hidden until begin(), hidden again when the job ends.
#pragma once

#include <QString>
#include <QWidget>

class QLabel;
class QMainWindow;
class QProgressBar;
class QPushButton;

namespace srigl::studio {

class BackgroundJob;

class StatusJobStrip : public QWidget {
    Q_OBJECT
public:
    // Follows `job`: a report moves the bar and shows "<title>: <current>"; Cancel asks the job to
    // stop (and is disabled until the next begin()); the end hides the strip. Added to `window`'s
    // status bar.
    StatusJobStrip(BackgroundJob* job, const QString& title, const QString& cancelTip, QMainWindow* window);

    // The job was launched: the strip shows `text` and a busy bar until the first report.
    void begin(const QString& text);

    QProgressBar* progressBar() const { return progress_; }
    QPushButton* cancelButton() const { return cancel_; }

private:
    BackgroundJob* job_;
    QLabel* label_;
    QProgressBar* progress_;
    QPushButton* cancel_;
};

} // namespace srigl::studio
