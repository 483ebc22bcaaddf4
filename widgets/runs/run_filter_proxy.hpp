// Filters and sorts the run browser: by status, by method and by free text (name, tags, notes,
// model, dataset), with numeric columns sorted as numbers.
#pragma once

#include <QSortFilterProxyModel>
#include <QString>

namespace srigl::studio {

class RunFilterProxy : public QSortFilterProxyModel {
    Q_OBJECT
public:
    explicit RunFilterProxy(QObject* parent = nullptr);

    // Empty: any. Status and method match exactly; text is a case-insensitive substring.
    void setStatusFilter(const QString& status);
    void setMethodFilter(const QString& method);
    void setTextFilter(const QString& text);

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;

private:
    QString status_, method_, text_;
};

} // namespace srigl::studio
