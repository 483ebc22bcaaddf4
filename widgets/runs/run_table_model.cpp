// Run rows from the store; edits go to the store first and the row follows what it accepted.
#include "widgets/runs/run_table_model.hpp"

#include "sessions/store/sqlite_db.hpp"

#include <QDateTime>
#include <QSet>

#include <algorithm>

namespace srigl::studio {

QStringList parseTags(const QString& text) {
    QStringList out;
    for (const auto& part : text.split(QLatin1Char(','))) {
        const QString tag = part.trimmed();
        if (!tag.isEmpty() && !out.contains(tag)) out << tag;
    }
    return out;
}

RunTableModel::RunTableModel(QObject* parent) : QAbstractTableModel(parent) {}
RunTableModel::~RunTableModel() = default;

bool RunTableModel::fail(const std::exception& e) {
    error_ = QString::fromUtf8(e.what());
    Q_EMIT errorOccurred(error_);
    return false;
}

bool RunTableModel::open(const QString& path) {
    beginResetModel();
    runs_.clear();
    store_.reset();
    path_ = path;
    error_.clear();
    bool ok = true;
    try {
        store_ = std::make_unique<sessions::RunStore>(path.toStdString());
        runs_ = store_->listRuns();
    } catch (const std::exception& e) {
        ok = fail(e);
    }
    endResetModel();
    return ok;
}

void RunTableModel::reload() {
    if (!store_) return;
    try {
        auto runs = store_->listRuns();
        for (auto& r : runs) applyLiveStep(r);
        beginResetModel();
        runs_ = std::move(runs);
        endResetModel();
    } catch (const std::exception& e) {
        fail(e);
    }
}

void RunTableModel::refreshRun(int64_t id) {
    if (!store_) return;
    try {
        sessions::RunInfo info = store_->run(id);
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
    } catch (const std::exception& e) {
        fail(e);
    }
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

bool RunTableModel::deleteRun(int64_t id) {
    const int row = rowOfRun(id);
    if (!store_ || row < 0) return false;
    if (runs_[static_cast<size_t>(row)].status == sessions::RunStatus::Running) {
        error_ = tr("run %1 is still running: stop it first").arg(id);
        Q_EMIT errorOccurred(error_);
        return false;
    }
    try {
        store_->deleteRun(id);
    } catch (const std::exception& e) {
        return fail(e);
    }
    beginRemoveRows({}, row, row);
    runs_.erase(runs_.begin() + row);
    endRemoveRows();
    return true;
}

bool RunTableModel::setTags(int64_t id, const QStringList& tags) {
    const int row = rowOfRun(id);
    if (!store_ || row < 0) return false;
    auto& run = runs_[static_cast<size_t>(row)];
    try {
        std::vector<std::string> wanted;
        for (const auto& tag : tags) wanted.push_back(tag.toStdString());
        store_->setTags(id, wanted);
        run.tags = store_->run(id).tags;
    } catch (const std::exception& e) {
        return fail(e);
    }
    Q_EMIT dataChanged(index(row, Tags), index(row, Tags));
    return true;
}

bool RunTableModel::setNotes(int64_t id, const QString& notes) {
    const int row = rowOfRun(id);
    if (!store_ || row < 0) return false;
    try {
        store_->setNotes(id, notes.toStdString());
        runs_[static_cast<size_t>(row)].notes = notes.toStdString();
    } catch (const std::exception& e) {
        return fail(e);
    }
    Q_EMIT dataChanged(index(row, Notes), index(row, Notes));
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
    if (role == Qt::ToolTipRole && index.column() == Name) return text(r.config);
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
