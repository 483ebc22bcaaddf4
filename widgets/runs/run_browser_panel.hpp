// The run browser dock: every run of the database in a sortable, filterable table (status,
// method, text), tags and notes edited in place, delete with confirmation.
#pragma once

#include <QWidget>

#include <functional>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableView;

namespace srigl::sessions {
struct RunInfo;
}

namespace srigl::studio {

class RunFilterProxy;
class RunTableModel;
class StoreReader;

class RunBrowserPanel : public QWidget {
    Q_OBJECT
public:
    explicit RunBrowserPanel(StoreReader& store, QWidget* parent = nullptr);

    // Opens the database in the background (RunTableModel::open): the table fills when it has
    // been read, and the message says why when it cannot be opened.
    void openDatabase(const QString& path);
    void reload();
    // Makes a run that was just recorded (an import) the current row: its row is read again (the
    // table needs no full reload), and selected once it is back, clearing the filters if they hide
    // it. The inspector and the analysis docks follow the selection as for a click.
    void showRun(qint64 runId);

    RunTableModel* model() const { return model_; }
    RunFilterProxy* proxy() const { return proxy_; }
    QTableView* view() const { return view_; }
    QComboBox* statusFilter() const { return status_; }
    QComboBox* methodFilter() const { return method_; }
    QLineEdit* textFilter() const { return text_; }

    // Asked before a delete or a release; the default shows a QMessageBox. Tests answer it themselves.
    using Confirm = std::function<bool(const QString& title, const QString& question)>;
    void setConfirm(Confirm confirm) { confirm_ = std::move(confirm); }
    // Deletes the selected runs after confirmation; returns how many were deleted.
    int deleteSelected();
    QString message() const;
    // The current row's run when it can be continued from its checkpoint (stopped or
    // interrupted, and recorded here, not merged from another database), else 0.
    qint64 continuableRun() const;
    // The current row's run when another machine trains it (RunTableModel::trainedElsewhere), else 0.
    qint64 releasableRun() const;
    // Releases releasableRun() after confirmation, saying when it was last heard from; returns
    // whether it was released.
    bool releaseSelected();

Q_SIGNALS:
    // "Continue training" was chosen for this run (the main window continues it in the live session).
    void continueRequested(qint64 runId);

private:
    const sessions::RunInfo* currentRun() const;
    void showMessage(const QString& text, bool error);
    void fitColumns();
    void showCount();
    void selectShownRun();

    RunTableModel* model_ = nullptr;
    RunFilterProxy* proxy_ = nullptr;
    QTableView* view_ = nullptr;
    QComboBox* status_ = nullptr;
    QComboBox* method_ = nullptr;
    QLineEdit* text_ = nullptr;
    QPushButton* delete_ = nullptr;
    QLabel* message_ = nullptr;
    Confirm confirm_;
    qint64 showRun_ = 0; // asked for by showRun(), not selected yet
};

} // namespace srigl::studio
