// The run / cancel / progress / message strip of a panel whose work runs as a BackgroundJob (the
// timing and init-variance docks): one place that keeps the buttons, the bar and the message in
// step with the job, so every such panel starts, reports and ends the same way. The panel keeps
// what is its own: the form, the progress wording and what a finished job's result shows.
#pragma once

#include <QString>
#include <QWidget>

#include <functional>

class QLabel;
class QProgressBar;
class QPushButton;

namespace srigl::studio {

class BackgroundJob;

class JobControls : public QWidget {
    Q_OBJECT
public:
    // The message for a progress report, e.g. "3 of 5: sparsity 0.9".
    using ProgressText = std::function<QString(qint64 done, qint64 total, const QString& current)>;

    // Follows `job`: its reports move the bar and set the message; its end re-enables Run and
    // fills the bar (success) or empties it. Connected before the panel's own handler of
    // job->finished, so the panel sees the controls already idle when it handles the end.
    JobControls(BackgroundJob* job, const QString& runText, ProgressText progressText, QWidget* parent);

    // The job has just been launched: Run off, Cancel on, the bar at 0 of `steps` (0: busy
    // until the first report), `text` as the message.
    void begin(int steps, const QString& text);
    // Asks a running job to stop; it ends through finished(false, true, ...).
    void cancel();
    void showMessage(const QString& text, bool error);
    QString message() const;

    QPushButton* runButton() const { return run_; }
    QPushButton* cancelButton() const { return cancel_; }
    QProgressBar* progressBar() const { return progress_; }

private:
    void end(bool ok);

    BackgroundJob* job_;
    QPushButton* run_ = nullptr;
    QPushButton* cancel_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QLabel* message_ = nullptr;
};

} // namespace srigl::studio
