// Run filtering on top of RunTableModel's roles.
#include "widgets/runs/run_filter_proxy.hpp"

#include "widgets/runs/run_table_model.hpp"

namespace srigl::studio {

RunFilterProxy::RunFilterProxy(QObject* parent) : QSortFilterProxyModel(parent) {
    setSortRole(RunTableModel::SortRole);
    setDynamicSortFilter(true);
}

void RunFilterProxy::setStatusFilter(const QString& status) {
    status_ = status;
    invalidateFilter();
}

void RunFilterProxy::setMethodFilter(const QString& method) {
    method_ = method;
    invalidateFilter();
}

void RunFilterProxy::setTextFilter(const QString& text) {
    text_ = text.trimmed();
    invalidateFilter();
}

bool RunFilterProxy::filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const {
    const QAbstractItemModel* m = sourceModel();
    auto cell = [&](int column, int role) { return m->data(m->index(sourceRow, column, sourceParent), role); };
    if (!status_.isEmpty() && cell(RunTableModel::Status, Qt::DisplayRole).toString() != status_) return false;
    if (!method_.isEmpty() && cell(RunTableModel::Method, Qt::DisplayRole).toString() != method_) return false;
    if (!text_.isEmpty() &&
        !cell(RunTableModel::Name, RunTableModel::FilterRole).toString().contains(text_, Qt::CaseInsensitive))
        return false;
    return true;
}

} // namespace srigl::studio
