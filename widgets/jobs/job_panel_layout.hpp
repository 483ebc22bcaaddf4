// The layout of the panels that run a BackgroundJob (the timing and init-variance docks): the
// form above its job controls on the left; on the right the results (charts) over their table,
// in splitters the user can drag. One place, so the docks look and resize alike.
#pragma once

#include <QStringList>

class QFormLayout;
class QTableWidget;
class QWidget;

namespace srigl::studio {

class JobControls;

// Lays out `panel` (which gets the layout) from its parts; the parts become its children.
void layOutJobPanel(QWidget* panel, QFormLayout* form, JobControls* controls, QWidget* results, QTableWidget* table);

// Two fields side by side as one form row (a layer's two sizes).
QWidget* fieldPair(QWidget* first, QWidget* second, QWidget* parent);

// A read-only table with these column titles, rows without numbers, columns sized to their contents.
QTableWidget* newResultsTable(const QStringList& columns, QWidget* parent);

} // namespace srigl::studio
