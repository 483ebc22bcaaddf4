// Run rows from the store; an edit shows at once, and the row follows what the store kept.
#include "widgets/runs/run_table_model.hpp"

#include "widgets/common/store_reader.hpp"

#include "sessions/store/writer_stamp.hpp"

#include <QDateTime>
#include <QFont>
#include <QSet>

#include <algorithm>
#include <utility>

namespace srigl::studio {

QString unnamedRunLabel(const sessions::RunInfo& r) {
    return QStringLiteral("%1 %2% %3")
        .arg(QString::fromStdString(r.method), QString::number(100.0 * r.sparsity, 'g', 4),
             QString::fromStdString(r.dataset));
}

QStringList parseTags(const QString& text) {
    QStringList out;
    for (const auto& part : text.split(QLatin1Char(','))) {
        const QString tag = part.trimmed();
        if (!tag.isEmpty() && !out.contains(tag)) out << tag;
    }
    return out;
}

RunTableModel::RunTableModel(StoreReader& store, QObject* parent) : QAbstractTableModel(parent), store_(store) {}
RunTableModel::~RunTableModel() = default;

void RunTableModel::fail(const QString& message) {
    error_ = message;
    Q_EMIT errorOccurred(error_);
}

void RunTableModel::open(const QString& path) {
    opening_ = path;
    // A read-write open creates a missing file, migrates an older one and refuses one that is not a
    // runs database, before the reader's read-only connection is pointed at it.
    store_.write(
        this, path, sessions::RunStore::Mode::ReadWrite, [](sessions::RunStore& store) { return store.schemaVersion(); },
        [this, path](int) {
            if (path != opening_) return; // another open() came after this one
            store_.setDatabase(path);
            path_ = path;
            error_.clear();
            listed_ = false;
            beginResetModel();
            runs_.clear();
            endResetModel();
            announceOpen_ = true;
            readRuns();
        },
        [this, path](const QString& message) {
            if (path != opening_) return;
            fail(message);
            Q_EMIT opened(path, false);
        });
}

void RunTableModel::reload() {
    if (!path_.isEmpty()) readRuns();
}

void RunTableModel::readRuns() {
    store_.request(
        this, QStringLiteral("runs"), [](sessions::RunStore& store) { return store.listRuns(); },
        [this](std::vector<sessions::RunInfo> runs) {
            for (auto& r : runs) applyLiveStep(r);
            beginResetModel();
            runs_ = std::move(runs);
            listed_ = true;
            endResetModel();
            if (std::exchange(announceOpen_, false)) Q_EMIT opened(path_, true);
        },
        [this](const QString& message) {
            fail(message);
            if (std::exchange(announceOpen_, false)) Q_EMIT opened(path_, false);
        });
}

void RunTableModel::refreshRun(int64_t id) {
    if (path_.isEmpty()) return;
    store_.request(
        this, QStringLiteral("run %1").arg(id), [id](sessions::RunStore& store) { return store.run(id); },
        [this, id](sessions::RunInfo info) {
            applyLiveStep(info);
            const int row = rowOfRun(id);
            if (row >= 0) {
                runs_[static_cast<size_t>(row)] = std::move(info);
                Q_EMIT dataChanged(index(row, 0), index(row, ColumnCount - 1));
            } else {
                beginInsertRows({}, rowCount(), rowCount());
                runs_.push_back(std::move(info));
                endInsertRows();
            }
        },
        [this](const QString& message) { fail(message); });
}

void RunTableModel::applyLiveStep(sessions::RunInfo& info) const {
    if (info.id == liveRunId_ && info.status == sessions::RunStatus::Running) info.steps = std::max(info.steps, liveStep_);
}

void RunTableModel::setLiveStep(int64_t id, int64_t step) {
    if (id != liveRunId_) liveStep_ = 0;
    liveRunId_ = id;
    liveStep_ = std::max(liveStep_, step);
    const int row = id == 0 ? -1 : rowOfRun(id);
    if (row < 0) return;
    auto& r = runs_[static_cast<size_t>(row)];
    const int64_t before = r.steps;
    applyLiveStep(r);
    if (r.steps != before) Q_EMIT dataChanged(index(row, Steps), index(row, Steps));
}

int RunTableModel::rowOfRun(int64_t id) const {
    for (size_t i = 0; i < runs_.size(); ++i)
        if (runs_[i].id == id) return static_cast<int>(i);
    return -1;
}

template <typename Edit, typename Done>
void RunTableModel::writeEdit(int64_t id, Edit edit, Done done) {
    const QString path = path_;
    store_.write(
        this, path, sessions::RunStore::Mode::ReadWriteExisting,
        [id, edit = std::move(edit)](sessions::RunStore& store) { return edit(store, id); },
        [this, path, done = std::move(done)](auto kept) {
            if (path == path_) done(std::move(kept));
        },
        [this, path](const QString& message) {
            fail(message);
            if (path == path_) reload(); // the rows show what the store has again
        });
}

bool RunTableModel::deleteRun(int64_t id) {
    const int row = rowOfRun(id);
    if (row < 0) return false;
    if (runs_[static_cast<size_t>(row)].status == sessions::RunStatus::Running) {
        error_ = tr("run %1 is still running: stop it first").arg(id);
        Q_EMIT errorOccurred(error_);
        return false;
    }
    beginRemoveRows({}, row, row);
    runs_.erase(runs_.begin() + row);
    endRemoveRows();
    writeEdit(
        id, [](sessions::RunStore& store, int64_t run) { return store.deleteRun(run); },
        [](const std::vector<std::string>&) {});
    return true;
}

bool RunTableModel::trainedElsewhere(const sessions::RunInfo& run) {
    return run.status == sessions::RunStatus::Running && run.host != sessions::hostName();
}

bool RunTableModel::releaseRun(int64_t id, bool force) {
    const int row = rowOfRun(id);
    if (row < 0) return false;
    if (!trainedElsewhere(runs_[static_cast<size_t>(row)])) {
        fail(tr("run %1 is not being trained by another machine: nothing to release").arg(id));
        return false;
    }
    runs_[static_cast<size_t>(row)].status = sessions::RunStatus::Interrupted;
    Q_EMIT dataChanged(index(row, 0), index(row, ColumnCount - 1));
    writeEdit(
        id,
        [force](sessions::RunStore& store, int64_t run) {
            store.releaseRun(run, force);
            return store.run(run);
        },
        [this, id](sessions::RunInfo kept) {
            const int r = rowOfRun(id);
            if (r < 0) return;
            runs_[static_cast<size_t>(r)] = std::move(kept);
            Q_EMIT dataChanged(index(r, 0), index(r, ColumnCount - 1));
        });
    return true;
}

bool RunTableModel::setTags(int64_t id, const QStringList& tags) {
    const int row = rowOfRun(id);
    if (row < 0) return false;
    std::vector<std::string> wanted;
    for (const auto& tag : tags) wanted.push_back(tag.toStdString());
    auto& shown = runs_[static_cast<size_t>(row)].tags;
    shown = wanted;
    std::sort(shown.begin(), shown.end()); // the store's order
    shown.erase(std::unique(shown.begin(), shown.end()), shown.end());
    Q_EMIT dataChanged(index(row, Tags), index(row, Tags));
    writeEdit(
        id,
        [wanted](sessions::RunStore& store, int64_t run) {
            store.setTags(run, wanted);
            return store.run(run).tags;
        },
        [this, id](std::vector<std::string> kept) {
            const int r = rowOfRun(id);
            if (r < 0) return;
            runs_[static_cast<size_t>(r)].tags = std::move(kept);
            Q_EMIT dataChanged(index(r, Tags), index(r, Tags));
        });
    return true;
}

bool RunTableModel::setNotes(int64_t id, const QString& notes) {
    const int row = rowOfRun(id);
    if (row < 0) return false;
    runs_[static_cast<size_t>(row)].notes = notes.toStdString();
    Q_EMIT dataChanged(index(row, Notes), index(row, Notes));
    writeEdit(
        id,
        [text = notes.toStdString()](sessions::RunStore& store, int64_t run) {
            store.setNotes(run, text);
            return true;
        },
        [](bool) {});
    return true;
}

int RunTableModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(runs_.size());
}

int RunTableModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant RunTableModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount()) return {};
    const auto& r = runs_[static_cast<size_t>(index.row())];
    const auto text = [](const std::string& s) { return QString::fromStdString(s); };
    QStringList tags;
    for (const auto& t : r.tags) tags << text(t);

    if (role == RunIdRole) return QVariant::fromValue<qlonglong>(r.id);
    if (role == FilterRole) {
        return QStringList{text(r.name), text(r.method), text(r.model), text(r.dataset), tags.join(QLatin1Char(' ')),
                           text(r.notes), text(sessions::toString(r.status))}
            .join(QLatin1Char('\n'));
    }
    if (role == SortRole) {
        switch (index.column()) {
        case Id: return QVariant::fromValue<qlonglong>(r.id);
        case Sparsity: return r.sparsity;
        case Steps: return QVariant::fromValue<qlonglong>(r.steps);
        case TestAccuracy: return r.testAccuracy;
        case Created: return QVariant::fromValue<qlonglong>(r.createdAt);
        default: return data(index, Qt::DisplayRole).toString().toLower();
        }
    }
    if (role == Qt::TextAlignmentRole) {
        switch (index.column()) {
        case Id: case Sparsity: case Steps: case TestAccuracy:
            return QVariant::fromValue<int>(Qt::AlignRight | Qt::AlignVCenter);
        default: return {};
        }
    }
    if (role == Qt::ToolTipRole && index.column() == Name) {
        if (r.origin.empty()) return text(r.config);
        // One arg() pass: a stored text holding "%2" is shown as it is, not filled in.
        return tr("Merged from %1, where it is run %2 (continue it there)\n\n%3")
            .arg(text(r.origin), QString::number(r.originId), text(r.config));
    }
    if (index.column() == Status && r.status == sessions::RunStatus::Running) {
        const int64_t now = sessions::nowMs();
        const bool silent = r.heardAt > 0 && now - r.heardAt >= sessions::kQuietBeforeReleaseMs;
        if (role == Qt::ToolTipRole)
            return tr("Trained by process %1 on %2; last heard from %3")
                       .arg(QString::number(r.pid), text(r.host), text(sessions::heardAgoText(r.heardAt, now))) +
                   (trainedElsewhere(r) && silent ? tr("\nIf that job is gone, release the run (right-click).")
                                                  : QString());
        // A run of another machine that has gone quiet may be dead: shown apart from live ones.
        if (role == Qt::FontRole && trainedElsewhere(r) && silent) {
            QFont italic;
            italic.setItalic(true);
            return italic;
        }
    }
    // A run without a name is shown by what it is (in italics, so it is not taken for a name).
    if (role == Qt::FontRole && index.column() == Name && r.name.empty()) {
        QFont italic;
        italic.setItalic(true);
        return italic;
    }
    if (role == Qt::DisplayRole && index.column() == Name && r.name.empty()) return unnamedRunLabel(r);
    if (role != Qt::DisplayRole && role != Qt::EditRole) return {};
    switch (index.column()) {
    case Id: return QVariant::fromValue<qlonglong>(r.id);
    case Name: return text(r.name);
    case Status: return text(sessions::toString(r.status));
    case Method: return text(r.method);
    case Model: return text(r.model);
    case Dataset: return text(r.dataset);
    case Sparsity: return QString::number(r.sparsity, 'f', 3);
    case Steps: return QVariant::fromValue<qlonglong>(r.steps);
    case TestAccuracy: return r.testAccuracy < 0 ? QStringLiteral("–") : QString::number(r.testAccuracy, 'f', 4);
    case Created: return QDateTime::fromMSecsSinceEpoch(r.createdAt).toString(QStringLiteral("yyyy-MM-dd hh:mm"));
    case Tags: return tags.join(QStringLiteral(", "));
    case Notes: return text(r.notes);
    default: return {};
    }
}

QVariant RunTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    static const QStringList names = {tr("ID"),      tr("Name"),     tr("Status"), tr("Method"),
                                      tr("Model"),   tr("Dataset"),  tr("Sparsity"), tr("Steps"),
                                      tr("Test acc."), tr("Created"), tr("Tags"),   tr("Notes")};
    return section >= 0 && section < names.size() ? names[section] : QVariant();
}

Qt::ItemFlags RunTableModel::flags(const QModelIndex& index) const {
    Qt::ItemFlags f = QAbstractTableModel::flags(index);
    if (index.column() == Tags || index.column() == Notes) f |= Qt::ItemIsEditable;
    return f;
}

bool RunTableModel::setData(const QModelIndex& index, const QVariant& value, int role) {
    if (!index.isValid() || role != Qt::EditRole) return false;
    const int64_t id = runs_[static_cast<size_t>(index.row())].id;
    if (index.column() == Tags) return setTags(id, parseTags(value.toString()));
    if (index.column() == Notes) return setNotes(id, value.toString());
    return false;
}

} // namespace srigl::studio
