// The import action, its status-bar strip and the job's end.
#include "widgets/database/checkpoint_import_action.hpp"

#include "widgets/database/import_runner.hpp"
#include "widgets/runs/run_browser_panel.hpp"

#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QMainWindow>
#include <QStatusBar>

namespace srigl::studio {
namespace {

QString fileNames(const QStringList& files) {
    QStringList names;
    for (const auto& f : files) names << QFileInfo(f).fileName();
    return names.join(QStringLiteral(", "));
}

} // namespace

CheckpointImportAction::CheckpointImportAction(QMainWindow* window, RunBrowserPanel* browser)
    : MenuJobAction(window, {tr("Import checkpoint…"), QStringLiteral("importCheckpointAction"),
                             tr("Record PyTorch checkpoints (torch.save of a state_dict) as one run whose masks the "
                                "Studio shows; several checkpoints of one training become one snapshot each"),
                             tr("Import"), tr("Stop the import; nothing is recorded")}),
      browser_(browser), runner_(new ImportRunner(this)) {
    follow(runner_, QStringLiteral("importProgress"));
    chooser_ = [this]() -> std::optional<Choice> {
        const QStringList files =
            QFileDialog::getOpenFileNames(this->window(), tr("Import PyTorch checkpoints"), lastFolder_,
                                          tr("PyTorch checkpoints (*.pt *.pth *.tar);;All files (*)"));
        if (files.isEmpty()) return std::nullopt;
        lastFolder_ = QFileInfo(files.front()).absolutePath();
        bool ok = false;
        const QString name =
            QInputDialog::getText(this->window(), tr("Import checkpoint"),
                                  tr("Name of the run (empty: the first checkpoint's file name, in step order):"),
                                  QLineEdit::Normal, QString(), &ok);
        if (!ok) return std::nullopt;
        return Choice{files, name.trimmed()};
    };
}

void CheckpointImportAction::choose() {
    if (runner_->isRunning()) return;
    if (const auto choice = chooser_ ? chooser_() : std::nullopt) importFiles(choice->files, choice->name);
}

bool CheckpointImportAction::importFiles(const QStringList& files, const QString& name) {
    if (files.isEmpty() || runner_->isRunning()) return false;
    sessions::ImportRequest request;
    request.dbPath = database().toStdString();
    for (const auto& f : files) request.files.push_back(f.toStdString());
    request.name = name.toStdString();
    files_ = files;
    return began(runner_->start(request), tr("Importing %1…").arg(fileNames(files)));
}

void CheckpointImportAction::ended(bool ok, bool cancelled, const QString& error) {
    const QString names = fileNames(files_);
    if (ok && runner_->lastResult()) {
        const auto& result = *runner_->lastResult();
        const auto id = static_cast<qint64>(result.runId);
        browser_->showRun(id);
        // One arg() pass: a file name holding "%2" is shown as it is, not filled in.
        const QString message = tr("Imported %1 as run %2 (%3 snapshot(s), %4% sparse)")
                                    .arg(names, QString::number(id), QString::number(result.snapshots.size()),
                                         QString::number(100.0 * result.sparsity, 'f', 1));
        window()->statusBar()->showMessage(message, 10000);
        Q_EMIT imported(id);
        Q_EMIT finished(true, message);
        return;
    }
    if (cancelled) {
        window()->statusBar()->showMessage(tr("Import of %1 cancelled; nothing was recorded.").arg(names), 10000);
    } else {
        window()->statusBar()->showMessage(tr("Import of %1 failed.").arg(names), 10000);
        alert(tr("Import checkpoint"), tr("Could not import %1; nothing was recorded.\n\n%2").arg(names, error));
    }
    Q_EMIT failed(error, cancelled);
    Q_EMIT finished(false, error);
}

} // namespace srigl::studio
