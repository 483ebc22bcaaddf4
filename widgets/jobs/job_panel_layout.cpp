// The job panels' layout.
#include "widgets/jobs/job_panel_layout.hpp"

#include "widgets/jobs/job_controls.hpp"

#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

namespace srigl::studio {

void layOutJobPanel(QWidget* panel, QFormLayout* form, JobControls* controls, QWidget* results, QTableWidget* table) {
    auto* side = new QWidget(panel);
    auto* sideLayout = new QVBoxLayout(side);
    sideLayout->setContentsMargins(0, 0, 0, 0);
    sideLayout->addLayout(form);
    sideLayout->addWidget(controls);
    sideLayout->addStretch(1);
    auto* right = new QSplitter(Qt::Vertical, panel);
    right->addWidget(results);
    right->addWidget(table);
    right->setStretchFactor(0, 3);
    right->setStretchFactor(1, 2);
    auto* main = new QSplitter(Qt::Horizontal, panel);
    main->addWidget(side);
    main->addWidget(right);
    main->setStretchFactor(1, 4);
    auto* layout = new QHBoxLayout(panel);
    layout->addWidget(main);
}

QWidget* fieldPair(QWidget* first, QWidget* second, QWidget* parent) {
    auto* box = new QWidget(parent);
    auto* row = new QHBoxLayout(box);
    row->setContentsMargins(0, 0, 0, 0);
    row->addWidget(first);
    row->addWidget(second);
    return box;
}

QTableWidget* newResultsTable(const QStringList& columns, QWidget* parent) {
    auto* table = new QTableWidget(0, static_cast<int>(columns.size()), parent);
    table->setHorizontalHeaderLabels(columns);
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->verticalHeader()->hide();
    table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    return table;
}

} // namespace srigl::studio
