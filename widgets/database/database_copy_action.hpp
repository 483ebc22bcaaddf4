// File > Save a copy of the database…: a consistent copy of the shown database, taken while runs
// train (sessions::copyDatabase; a copy of the file alone misses the commits still in its -wal).
// The copy runs as a background job with its progress and a Cancel button in the status bar; a
// failure (an existing file: a copy never replaces one; a full disk) is explained in a message box,
// and nothing is left at the chosen name.
#pragma once

#include "widgets/database/menu_job_action.hpp"

#include <functional>

namespace srigl::studio {

class DatabaseCopyRunner;

class DatabaseCopyAction : public MenuJobAction {
    Q_OBJECT
public:
    // Asks where the copy goes ("" : the user cancelled). The default is a save dialog in the
    // database's folder, proposing <name>-copy-<date>.db; tests answer it themselves.
    using Chooser = std::function<QString(const QString& suggested)>;

    explicit DatabaseCopyAction(QMainWindow* window);

    void setChooser(Chooser chooser) { chooser_ = std::move(chooser); }
    // Starts copying the database to `out` in the background; false while a copy runs.
    bool copyTo(const QString& out);
    DatabaseCopyRunner* runner() const { return runner_; }

protected:
    void choose() override;
    void ended(bool ok, bool cancelled, const QString& error) override;

private:
    DatabaseCopyRunner* runner_;
    QString out_; // of the copy that runs
    Chooser chooser_;
};

} // namespace srigl::studio
