// File > Merge runs from a database…: the runs of another SRigL Studio database (a cluster job's
// own) copied into the shown one, as `srigl runs merge` does (sessions/store/run_merge.hpp). The
// merge runs as a background job with its progress and a Cancel button in the status bar; the run
// browser then lists the new runs. Runs skipped (already here, still running) are listed with the
// reason in a message box; a failure says which runs were merged before it.
#pragma once

#include "widgets/database/menu_job_action.hpp"

#include <functional>

namespace srigl::studio {

class RunBrowserPanel;
class RunMergeRunner;

class RunMergeAction : public MenuJobAction {
    Q_OBJECT
public:
    // Asks for the database to merge from ("" : the user cancelled); the default is a file dialog.
    using Chooser = std::function<QString()>;

    RunMergeAction(QMainWindow* window, RunBrowserPanel* browser);

    void setChooser(Chooser chooser) { chooser_ = std::move(chooser); }
    // Starts merging the runs of `source` in the background; false while a merge runs.
    bool mergeFrom(const QString& source);
    RunMergeRunner* runner() const { return runner_; }

protected:
    void choose() override;
    void ended(bool ok, bool cancelled, const QString& error) override;

private:
    RunBrowserPanel* browser_;
    RunMergeRunner* runner_;
    QString source_; // of the merge that runs
    Chooser chooser_;
};

} // namespace srigl::studio
