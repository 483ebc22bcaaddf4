// The copy action's save dialog and the job's end.
#include "widgets/database/database_copy_action.hpp"

#include "widgets/database/database_copy_runner.hpp"

#include <QDate>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QMainWindow>
#include <QStatusBar>

namespace srigl::studio {

DatabaseCopyAction::DatabaseCopyAction(QMainWindow* window)
    : MenuJobAction(window, {tr("Save a copy of the database…"), QStringLiteral("copyDatabaseAction"),
                             tr("A consistent copy of every run, taken while runs train (a copy of the file alone "
                                "misses the newest commits, kept beside it in its -wal file)"),
                             tr("Copy"), tr("Stop the copy; nothing is written")}),
      runner_(new DatabaseCopyRunner(this)) {
    follow(runner_, QStringLiteral("copyProgress"));
    chooser_ = [this](const QString& suggested) {
        // A copy never replaces a file: the dialog does not offer to, the copy refuses with the reason.
        return QFileDialog::getSaveFileName(this->window(), tr("Save a copy of the database"), suggested,
                                            tr("Run databases (*.db);;All files (*)"), nullptr,
                                            QFileDialog::DontConfirmOverwrite);
    };
}

void DatabaseCopyAction::choose() {
    if (runner_->isRunning() || database().isEmpty() || !chooser_) return;
    const QFileInfo db(database());
    const QString suggested = db.absoluteDir().filePath(
        QStringLiteral("%1-copy-%2.db").arg(db.completeBaseName(), QDate::currentDate().toString(Qt::ISODate)));
    const QString out = chooser_(suggested);
    if (!out.isEmpty()) copyTo(out);
}

bool DatabaseCopyAction::copyTo(const QString& out) {
    if (out.isEmpty() || runner_->isRunning()) return false;
    out_ = out;
    return began(runner_->start({database().toStdString(), out.toStdString()}),
                 tr("Copying the database to %1…").arg(QFileInfo(out).fileName()));
}

void DatabaseCopyAction::ended(bool ok, bool cancelled, const QString& error) {
    if (ok && runner_->lastResult()) {
        const auto& copy = *runner_->lastResult();
        const QString checkpoints = QFileInfo(database()).absoluteDir().filePath(QStringLiteral("checkpoints"));
        const QString message =
            tr("Copied %n run(s) (%1 MiB) to %2. Checkpoint files are not in it: its runs name the same files "
               "as the original's (in %3), so continue a run from one of the two databases, not both.",
               nullptr, static_cast<int>(copy.runs))
                .arg(static_cast<double>(copy.bytes) / (1 << 20), 0, 'f', 1)
                .arg(out_, checkpoints);
        window()->statusBar()->showMessage(message, 15000);
        Q_EMIT finished(true, message);
        return;
    }
    if (cancelled) {
        const QString message = tr("Copy to %1 cancelled; nothing was written.").arg(out_);
        window()->statusBar()->showMessage(message, 10000);
        Q_EMIT finished(false, message);
        return;
    }
    const QString message = tr("Could not copy the database to %1; nothing was written.\n\n%2").arg(out_, error);
    window()->statusBar()->showMessage(tr("Copy of the database failed."), 10000);
    alert(tr("Save a copy of the database"), message);
    Q_EMIT finished(false, message);
}

} // namespace srigl::studio
