// The merge action's file dialog and the job's end.
#include "widgets/database/run_merge_action.hpp"

#include "widgets/runs/run_browser_panel.hpp"
#include "widgets/database/run_merge_runner.hpp"

#include <QFileDialog>
#include <QFileInfo>
#include <QMainWindow>
#include <QStatusBar>

namespace srigl::studio {

RunMergeAction::RunMergeAction(QMainWindow* window, RunBrowserPanel* browser)
    : MenuJobAction(window, {tr("Merge runs from a database…"), QStringLiteral("mergeRunsAction"),
                             tr("Copy the runs of another database (a cluster job's own, say) into this one; runs "
                                "already here or still running are skipped, and the other database is only read"),
                             tr("Merge"), tr("Stop after the run being copied; merged runs stay")}),
      browser_(browser), runner_(new RunMergeRunner(this)) {
    follow(runner_, QStringLiteral("mergeProgress"));
    chooser_ = [this] {
        return QFileDialog::getOpenFileName(this->window(), tr("Merge runs from a database"),
                                            QFileInfo(database()).absolutePath(),
                                            tr("Run databases (*.db);;All files (*)"));
    };
}

void RunMergeAction::choose() {
    if (runner_->isRunning() || database().isEmpty() || !chooser_) return;
    const QString source = chooser_();
    if (!source.isEmpty()) mergeFrom(source);
}

bool RunMergeAction::mergeFrom(const QString& source) {
    if (source.isEmpty() || runner_->isRunning()) return false;
    source_ = source;
    return began(runner_->start({database().toStdString(), source.toStdString()}),
                 tr("Merging the runs of %1…").arg(QFileInfo(source).fileName()));
}

void RunMergeAction::ended(bool ok, bool cancelled, const QString& error) {
    browser_->reload(); // merged runs are listed, also those of a cancelled or failed merge
    const QString name = QFileInfo(source_).fileName();
    if (!ok || !runner_->lastResult()) {
        const QString message = cancelled ? tr("Merge from %1 cancelled: %2.").arg(name, error)
                                          : tr("Could not merge the runs of %1.\n\n%2").arg(source_, error);
        window()->statusBar()->showMessage(cancelled ? message : tr("Merge from %1 failed.").arg(name), 10000);
        if (!cancelled) alert(tr("Merge runs"), message);
        Q_EMIT finished(false, message);
        return;
    }
    const auto& result = *runner_->lastResult();
    const QString message =
        tr("Merged %1 run(s) from %2; %3 skipped.")
            .arg(QString::number(result.merged.size()), name, QString::number(result.skipped.size()));
    window()->statusBar()->showMessage(message, 15000);
    if (!result.skipped.empty()) {
        QStringList lines;
        for (const auto& s : result.skipped) lines << tr("run %1: %2").arg(s.sourceId).arg(QString::fromStdString(s.reason));
        alert(tr("Merge runs"), message + QStringLiteral("\n\n") + lines.join(QLatin1Char('\n')));
    }
    Q_EMIT finished(true, message);
}

} // namespace srigl::studio
