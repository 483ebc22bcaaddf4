// The copy action, its save dialog and the job's end.
#include "widgets/runs/database_copy_action.hpp"

#include "widgets/runs/database_copy_runner.hpp"

#include <QAction>
#include <QDate>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QMainWindow>
#include <QMessageBox>
#include <QPushButton>
#include <QStatusBar>

namespace srigl::studio {

DatabaseCopyAction::DatabaseCopyAction(QMainWindow* window)
    : QObject(window), window_(window), runner_(new DatabaseCopyRunner(this)),
      action_(new QAction(tr("Save a copy of the database…"), this)) {
    action_->setObjectName(QStringLiteral("copyDatabaseAction"));
    action_->setToolTip(tr("A consistent copy of every run, taken while runs train (a copy of the file alone misses "
                           "the newest commits, kept beside it in its -wal file)"));
    connect(action_, &QAction::triggered, this, &DatabaseCopyAction::choose);
    strip_ = new StatusJobStrip(runner_, tr("Copy"), tr("Stop the copy; nothing is written"), window);
    strip_->setObjectName(QStringLiteral("copyProgress"));
    connect(runner_, &BackgroundJob::finished, this, &DatabaseCopyAction::finish);

    chooser_ = [this](const QString& suggested) {
        // A copy never replaces a file: the dialog does not offer to, the copy refuses with the reason.
        return QFileDialog::getSaveFileName(window_, tr("Save a copy of the database"), suggested,
                                            tr("Run databases (*.db);;All files (*)"), nullptr,
                                            QFileDialog::DontConfirmOverwrite);
    };
    alert_ = [this](const QString& title, const QString& text) { QMessageBox::warning(window_, title, text); };
}

void DatabaseCopyAction::choose() {
    if (runner_->isRunning() || dbPath_.isEmpty() || !chooser_) return;
    const QFileInfo db(dbPath_);
    const QString suggested = db.absoluteDir().filePath(
        QStringLiteral("%1-copy-%2.db").arg(db.completeBaseName(), QDate::currentDate().toString(Qt::ISODate)));
    const QString out = chooser_(suggested);
    if (!out.isEmpty()) copyTo(out);
}

bool DatabaseCopyAction::copyTo(const QString& out) {
    if (out.isEmpty() || runner_->isRunning()) return false;
    if (!runner_->start({dbPath_.toStdString(), out.toStdString()})) return false;
    out_ = out;
    action_->setEnabled(false);
    strip_->begin(tr("Copying the database to %1…").arg(QFileInfo(out).fileName()));
    return true;
}

void DatabaseCopyAction::cancel() {
    strip_->cancelButton()->click();
}

void DatabaseCopyAction::finish(bool ok, bool cancelled, const QString& error) {
    action_->setEnabled(true);
    if (ok && runner_->lastResult()) {
        const auto& copy = *runner_->lastResult();
        const QString checkpoints = QFileInfo(dbPath_).absoluteDir().filePath(QStringLiteral("checkpoints"));
        const QString message =
            tr("Copied %n run(s) (%1 MiB) to %2. Checkpoint files are not in it: copy %3 beside it as well to "
               "continue runs from the copy.",
               nullptr, static_cast<int>(copy.runs))
                .arg(static_cast<double>(copy.bytes) / (1 << 20), 0, 'f', 1)
                .arg(out_, checkpoints);
        window_->statusBar()->showMessage(message, 15000);
        Q_EMIT finished(true, message);
        return;
    }
    if (cancelled) {
        const QString message = tr("Copy to %1 cancelled; nothing was written.").arg(out_);
        window_->statusBar()->showMessage(message, 10000);
        Q_EMIT finished(false, message);
        return;
    }
    const QString message = tr("Could not copy the database to %1; nothing was written.\n\n%2").arg(out_, error);
    window_->statusBar()->showMessage(tr("Copy of the database failed."), 10000);
    if (alert_) alert_(tr("Save a copy of the database"), message);
    Q_EMIT finished(false, message);
}

} // namespace srigl::studio
