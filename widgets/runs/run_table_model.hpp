// The run browser's table: every run of a database (RunStore::listRuns) as rows, with tags and
// notes editable in place (written straight to the store).
#pragma once

#include "sessions/store/run_store.hpp"

#include <QAbstractTableModel>
#include <QString>
#include <QStringList>

#include <memory>
#include <vector>

namespace srigl::studio {

class RunTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Id, Name, Status, Method, Model, Dataset, Sparsity, Steps, TestAccuracy, Created, Tags, Notes, ColumnCount };
    // SortRole: numbers sort as numbers. FilterRole: the text the browser's search matches.
    enum Role { SortRole = Qt::UserRole + 1, FilterRole, RunIdRole };

    explicit RunTableModel(QObject* parent = nullptr);
    ~RunTableModel() override;

    // Opens (creating if needed) the database; false with lastError() when it cannot.
    bool open(const QString& path);
    QString path() const { return path_; }
    bool isOpen() const { return store_ != nullptr; }
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

    // Deletes the run from the store; refuses a running one (its session still writes to it).
    bool deleteRun(int64_t id);
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

private:
    bool fail(const std::exception& e);
    void applyLiveStep(sessions::RunInfo& info) const;

    std::unique_ptr<sessions::RunStore> store_;
    std::vector<sessions::RunInfo> runs_;
    QString path_;
    QString error_;
    int64_t liveRunId_ = 0;
    int64_t liveStep_ = 0;
};

// "a, b ,c" -> {"a", "b", "c"} (empty items dropped, duplicates removed).
QStringList parseTags(const QString& text);

} // namespace srigl::studio
