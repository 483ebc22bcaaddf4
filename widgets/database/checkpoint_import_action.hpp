// File > Import checkpoint…: PyTorch checkpoints chosen in a file dialog become one recorded run
// (status imported), exactly as `srigl import` records them. The import runs as a background job
// with its progress and a Cancel button in the status bar; the new run is then selected in the run
// browser, which opens it in the inspector and the layer statistics. A failure is explained in a
// message box naming the files and the reason, and records nothing.
#pragma once

#include "widgets/database/menu_job_action.hpp"

#include <QStringList>

#include <functional>
#include <optional>

namespace srigl::studio {

class ImportRunner;
class RunBrowserPanel;

class CheckpointImportAction : public MenuJobAction {
    Q_OBJECT
public:
    struct Choice {
        QStringList files;
        QString name; // empty: the run is named after the first checkpoint, as `srigl import` does
    };
    // Asks which files to import and under which name (nullopt: the user cancelled). The default
    // shows a file dialog (several files, *.pt *.pth *.tar or any) and a name prompt; tests answer
    // it themselves.
    using Chooser = std::function<std::optional<Choice>()>;

    CheckpointImportAction(QMainWindow* window, RunBrowserPanel* browser);

    void setChooser(Chooser chooser) { chooser_ = std::move(chooser); }
    // Starts importing `files` as one run in the background; false when an import is running
    // already or there is nothing to import.
    bool importFiles(const QStringList& files, const QString& name = {});
    ImportRunner* runner() const { return runner_; }

Q_SIGNALS:
    // The run was recorded (and the browser asked to select it).
    void imported(qint64 runId);
    // Nothing was recorded: the import failed (the alert was shown) or was cancelled (it was not).
    void failed(const QString& message, bool cancelled);

protected:
    void choose() override;
    void ended(bool ok, bool cancelled, const QString& error) override;

private:
    RunBrowserPanel* browser_;
    ImportRunner* runner_;
    QStringList files_; // of the import that runs
    QString lastFolder_;
    Chooser chooser_;
};

} // namespace srigl::studio
