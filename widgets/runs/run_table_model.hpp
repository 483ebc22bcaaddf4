// The run browser's table: every run of a database (RunStore::listRuns) as rows, with tags and
// notes editable in place. Reads and edits go through the Studio's StoreReader: the rows follow
// when a read is back, and an edit shows at once while it is written.
#pragma once

#include "sessions/store/run_store.hpp"

#include <QAbstractTableModel>
#include <QString>
#include <QStringList>

#include <vector>

namespace srigl::studio {

// What the browser shows for a run without a name: "srigl 90% mnist".
QString unnamedRunLabel(const sessions::RunInfo& run);

class StoreReader;

class RunTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Id, Name, Status, Method, Model, Dataset, Sparsity, Steps, TestAccuracy, Created, Tags, Notes, ColumnCount };
    // SortRole: numbers sort as numbers. FilterRole: the text the browser's search matches.
    enum Role { SortRole = Qt::UserRole + 1, FilterRole, RunIdRole };

    explicit RunTableModel(StoreReader& store, QObject* parent = nullptr);
    ~RunTableModel() override;

    // Opens the database (creating it when missing, migrating an older one) on the reader's thread,
    // then makes it the reader's database and reads its runs; opened() says how it went. One that
    // cannot be opened leaves the model as it was, with lastError().
    void open(const QString& path);
    QString path() const { return path_; }
    // True once the rows of path() have been read.
    bool isOpen() const { return listed_; }
    QString lastError() const { return error_; }
    // Reads every run again (the store is shared with running sessions and the CLI).
    void reload();
    // Reads one run again (a live run's steps and status) without resetting the model, so an
    // edit in progress elsewhere in the table survives; a run not listed yet is appended.
    void refreshRun(int64_t id);
    // The live session's step for its run: the Steps cell follows it at once (the store learns of
    // progress only now and then), and a later read of the store never shows fewer steps while the
    // run is still running. id 0 forgets it.
    void setLiveStep(int64_t id, int64_t step);
    const sessions::RunInfo& run(int row) const { return runs_.at(static_cast<size_t>(row)); }
    int rowOfRun(int64_t id) const;
    // Running, by a process of another machine: its liveness is only known by when it was last
    // heard from, and only a person can say it is gone (releaseRun).
    static bool trainedElsewhere(const sessions::RunInfo& run);

    // Edits of a listed run: the row changes at once and the store is written on the reader's
    // thread; the row then shows what the store kept, or, when the store refuses, every row is read
    // again and errorOccurred says why. deleteRun refuses a running run (its session still writes).
    bool deleteRun(int64_t id);
    // A running run of another machine (which this one cannot check) marked interrupted, as `srigl
    // runs release` does; `force` even when it was heard from recently (the user was told).
    bool releaseRun(int64_t id, bool force);
    bool setTags(int64_t id, const QStringList& tags);
    bool setNotes(int64_t id, const QString& notes);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role) override;

Q_SIGNALS:
    void errorOccurred(const QString& message);
    // The database open() asked for is shown (ok), or could not be opened (see lastError()).
    void opened(const QString& path, bool ok);

private:
    void fail(const QString& message);
    void applyLiveStep(sessions::RunInfo& info) const;
    void readRuns();
    // Writes `edit` to the store; `done` gets what it returned while the row's database is shown.
    template <typename Edit, typename Done>
    void writeEdit(int64_t id, Edit edit, Done done);

    StoreReader& store_;
    std::vector<sessions::RunInfo> runs_;
    QString path_;
    QString opening_; // the path of the last open()
    bool listed_ = false;       // the rows are path_'s
    bool announceOpen_ = false; // opened() is still owed for path_
    QString error_;
    int64_t liveRunId_ = 0;
    int64_t liveStep_ = 0;
};

// "a, b ,c" -> {"a", "b", "c"} (empty items dropped, duplicates removed).
QStringList parseTags(const QString& text);

} // namespace srigl::studio
