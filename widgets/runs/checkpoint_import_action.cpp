// The import action, its status-bar strip and the job's end.
#include "widgets/runs/checkpoint_import_action.hpp"

#include "widgets/jobs/status_job_strip.hpp"
#include "widgets/runs/import_runner.hpp"
#include "widgets/runs/run_browser_panel.hpp"

#include <QAction>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QMainWindow>
#include <QMessageBox>
#include <QPushButton>
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
    : QObject(window), window_(window), browser_(browser), runner_(new ImportRunner(this)),
      action_(new QAction(tr("Import checkpoint…"), this)) {
    action_->setObjectName(QStringLiteral("importCheckpointAction"));
    action_->setToolTip(tr("Record PyTorch checkpoints (torch.save of a state_dict) as one run whose masks the "
                           "Studio shows; several checkpoints of one training become one snapshot each"));
    connect(action_, &QAction::triggered, this, &CheckpointImportAction::choose);

    strip_ = new StatusJobStrip(runner_, tr("Import"), tr("Stop the import; nothing is recorded"), window);
    strip_->setObjectName(QStringLiteral("importProgress"));
    connect(runner_, &BackgroundJob::finished, this, &CheckpointImportAction::finish);

    chooser_ = [this]() -> std::optional<Choice> {
        const QStringList files =
            QFileDialog::getOpenFileNames(window_, tr("Import PyTorch checkpoints"), lastFolder_,
                                          tr("PyTorch checkpoints (*.pt *.pth *.tar);;All files (*)"));
        if (files.isEmpty()) return std::nullopt;
        lastFolder_ = QFileInfo(files.front()).absolutePath();
        bool ok = false;
        const QString name =
            QInputDialog::getText(window_, tr("Import checkpoint"),
                                  tr("Name of the run (empty: the first checkpoint's file name, in step order):"),
                                  QLineEdit::Normal, QString(), &ok);
        if (!ok) return std::nullopt;
        return Choice{files, name.trimmed()};
    };
    alert_ = [this](const QString& title, const QString& text) { QMessageBox::warning(window_, title, text); };
}

void CheckpointImportAction::choose() {
    if (runner_->isRunning()) return;
    if (const auto choice = chooser_ ? chooser_() : std::nullopt) importFiles(choice->files, choice->name);
}

bool CheckpointImportAction::importFiles(const QStringList& files, const QString& name) {
    if (files.isEmpty() || runner_->isRunning()) return false;
    sessions::ImportRequest request;
    request.dbPath = dbPath_.toStdString();
    for (const auto& f : files) request.files.push_back(f.toStdString());
    request.name = name.toStdString();
    if (!runner_->start(request)) return false;
    files_ = files;
    action_->setEnabled(false);
    strip_->begin(tr("Importing %1…").arg(fileNames(files)));
    return true;
}

void CheckpointImportAction::cancel() {
    strip_->cancelButton()->click();
}

void CheckpointImportAction::finish(bool ok, bool cancelled, const QString& error) {
    action_->setEnabled(true);
    const QString names = fileNames(files_);
    if (ok && runner_->lastResult()) {
        const auto& result = *runner_->lastResult();
        const auto id = static_cast<qint64>(result.runId);
        browser_->showRun(id);
        window_->statusBar()->showMessage(tr("Imported %1 as run %2 (%3 snapshot(s), %4% sparse)")
                                              .arg(names)
                                              .arg(id)
                                              .arg(result.snapshots.size())
                                              .arg(100.0 * result.sparsity, 0, 'f', 1),
                                          10000);
        Q_EMIT imported(id);
        return;
    }
    if (cancelled) {
        window_->statusBar()->showMessage(tr("Import of %1 cancelled; nothing was recorded.").arg(names), 10000);
    } else {
        window_->statusBar()->showMessage(tr("Import of %1 failed.").arg(names), 10000);
        if (alert_)
            alert_(tr("Import checkpoint"), tr("Could not import %1; nothing was recorded.\n\n%2").arg(names, error));
    }
    Q_EMIT failed(error, cancelled);
}

} // namespace srigl::studio
