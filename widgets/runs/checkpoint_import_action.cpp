// The import action, its status-bar strip and the job's end.
#include "widgets/runs/checkpoint_import_action.hpp"

#include "widgets/runs/import_runner.hpp"
#include "widgets/runs/run_browser_panel.hpp"

#include <QAction>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QMainWindow>
#include <QMessageBox>
#include <QProgressBar>
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

    // In the status bar, not a modal dialog: the rest of the Studio stays usable while files load.
    strip_ = new QWidget(window);
    strip_->setObjectName(QStringLiteral("importProgress"));
    label_ = new QLabel(strip_);
    progress_ = new QProgressBar(strip_);
    progress_->setMaximumWidth(160);
    progress_->setTextVisible(false);
    cancel_ = new QPushButton(tr("Cancel"), strip_);
    cancel_->setToolTip(tr("Stop the import; nothing is recorded"));
    connect(cancel_, &QPushButton::clicked, this, &CheckpointImportAction::cancel);
    auto* layout = new QHBoxLayout(strip_);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(label_);
    layout->addWidget(progress_);
    layout->addWidget(cancel_);
    window->statusBar()->addPermanentWidget(strip_);
    strip_->hide();

    connect(runner_, &BackgroundJob::progress, this, [this](qint64 done, qint64 total, const QString& current) {
        progress_->setRange(0, static_cast<int>(total));
        progress_->setValue(static_cast<int>(done));
        label_->setText(tr("Import: %1").arg(current));
    });
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
    label_->setText(tr("Importing %1…").arg(fileNames(files)));
    progress_->setRange(0, 0); // busy until the job's first report
    cancel_->setEnabled(true);
    strip_->show();
    return true;
}

void CheckpointImportAction::cancel() {
    runner_->cancel();
    cancel_->setEnabled(false); // the job ends at its next look at the flag
}

void CheckpointImportAction::finish(bool ok, bool cancelled, const QString& error) {
    strip_->hide();
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
