// The run browser: filters above a table view over RunTableModel through RunFilterProxy.
#include "widgets/runs/run_browser_panel.hpp"

#include "widgets/runs/run_filter_proxy.hpp"
#include "widgets/runs/run_table_model.hpp"

#include "sessions/store/writer_stamp.hpp"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QShortcut>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>

namespace srigl::studio {

RunBrowserPanel::RunBrowserPanel(StoreReader& store, QWidget* parent)
    : QWidget(parent), model_(new RunTableModel(store, this)), proxy_(new RunFilterProxy(this)) {
    proxy_->setSourceModel(model_);

    status_ = new QComboBox(this);
    status_->setObjectName(QStringLiteral("statusFilter"));
    status_->addItem(tr("any status"), QString());
    for (auto s : {"running", "finished", "stopped", "failed", "interrupted", "imported"})
        status_->addItem(QString::fromLatin1(s), QString::fromLatin1(s));
    method_ = new QComboBox(this);
    method_->setObjectName(QStringLiteral("methodFilter"));
    method_->addItem(tr("any method"), QString());
    for (auto m : {"srigl", "rigl", "set", "static", "dense", "nm_ste", "srste", "nm_transposable", "trainable_threshold"}) method_->addItem(QString::fromLatin1(m), QString::fromLatin1(m));
    text_ = new QLineEdit(this);
    text_->setObjectName(QStringLiteral("textFilter"));
    text_->setPlaceholderText(tr("Search name, tags, notes, model, dataset…"));
    text_->setClearButtonEnabled(true);
    auto* refresh = new QPushButton(tr("Refresh"), this);
    delete_ = new QPushButton(tr("Delete…"), this);
    delete_->setToolTip(tr("Delete the selected runs and everything recorded for them (Del)"));

    connect(status_, &QComboBox::currentIndexChanged, this,
            [this] { proxy_->setStatusFilter(status_->currentData().toString()); });
    connect(method_, &QComboBox::currentIndexChanged, this,
            [this] { proxy_->setMethodFilter(method_->currentData().toString()); });
    connect(text_, &QLineEdit::textChanged, proxy_, &RunFilterProxy::setTextFilter);
    connect(refresh, &QPushButton::clicked, this, &RunBrowserPanel::reload);
    connect(delete_, &QPushButton::clicked, this, &RunBrowserPanel::deleteSelected);
    connect(model_, &RunTableModel::errorOccurred, this, [this](const QString& m) { showMessage(m, true); });
    for (auto changed : {&QAbstractItemModel::rowsInserted, &QAbstractItemModel::rowsRemoved})
        connect(model_, changed, this, &RunBrowserPanel::showCount);
    connect(model_, &QAbstractItemModel::modelReset, this, &RunBrowserPanel::showCount);
    // A run showRun() asked for is selected when its row arrives.
    connect(model_, &QAbstractItemModel::rowsInserted, this, &RunBrowserPanel::selectShownRun);
    connect(model_, &QAbstractItemModel::dataChanged, this, &RunBrowserPanel::selectShownRun);
    connect(model_, &QAbstractItemModel::modelReset, this, &RunBrowserPanel::selectShownRun);
    connect(model_, &RunTableModel::opened, this, [this](const QString&, bool ok) {
        if (ok) fitColumns();
    });

    view_ = new QTableView(this);
    view_->setObjectName(QStringLiteral("runTable"));
    view_->setModel(proxy_);
    view_->setSortingEnabled(true);
    view_->sortByColumn(RunTableModel::Id, Qt::DescendingOrder); // newest first
    view_->setSelectionBehavior(QAbstractItemView::SelectRows);
    view_->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed);
    view_->verticalHeader()->hide();
    view_->horizontalHeader()->setStretchLastSection(true); // notes take what is left
    view_->setWordWrap(false);
    view_->verticalHeader()->setDefaultSectionSize(view_->fontMetrics().height() + 8);
    view_->setAlternatingRowColors(true);
    view_->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(view_, &QWidget::customContextMenuRequested, this, [this](const QPoint& at) {
        QMenu menu(this);
        auto* resume = menu.addAction(tr("Continue training from its checkpoint"), this, [this] {
            if (const qint64 id = continuableRun()) Q_EMIT continueRequested(id);
        });
        resume->setEnabled(continuableRun() != 0);
        auto* release = menu.addAction(tr("Release (its machine's job is gone)…"), this, &RunBrowserPanel::releaseSelected);
        release->setEnabled(releasableRun() != 0);
        menu.addAction(tr("Delete…"), this, &RunBrowserPanel::deleteSelected);
        menu.exec(view_->viewport()->mapToGlobal(at));
    });
    auto* del = new QShortcut(QKeySequence::Delete, view_, nullptr, nullptr, Qt::WidgetShortcut);
    connect(del, &QShortcut::activated, this, &RunBrowserPanel::deleteSelected);

    message_ = new QLabel(this);
    message_->setObjectName(QStringLiteral("browserMessage"));
    message_->setWordWrap(true);

    auto* filters = new QHBoxLayout;
    filters->addWidget(status_);
    filters->addWidget(method_);
    filters->addWidget(text_, 1);
    filters->addWidget(refresh);
    filters->addWidget(delete_);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(filters);
    layout->addWidget(view_, 1);
    layout->addWidget(message_);

    confirm_ = [this](const QString& title, const QString& question) {
        return QMessageBox::question(this, title, question, QMessageBox::Yes | QMessageBox::No, QMessageBox::No) ==
               QMessageBox::Yes;
    };
}

void RunBrowserPanel::openDatabase(const QString& path) { model_->open(path); }

const sessions::RunInfo* RunBrowserPanel::currentRun() const {
    const QModelIndex current = view_->currentIndex();
    if (!current.isValid()) return nullptr;
    const int row = proxy_->mapToSource(current).row();
    if (row < 0 || row >= model_->rowCount()) return nullptr;
    return &model_->run(row);
}

qint64 RunBrowserPanel::continuableRun() const {
    const auto* run = currentRun();
    if (!run) return 0;
    const bool stopped = run->status == sessions::RunStatus::Stopped || run->status == sessions::RunStatus::Interrupted;
    // A run merged from another database continues there, where its checkpoints are its own.
    return stopped && run->origin.empty() ? run->id : 0;
}

qint64 RunBrowserPanel::releasableRun() const {
    const auto* run = currentRun();
    return run && RunTableModel::trainedElsewhere(*run) ? run->id : 0;
}

bool RunBrowserPanel::releaseSelected() {
    const auto* run = currentRun();
    if (!run || !RunTableModel::trainedElsewhere(*run)) {
        showMessage(tr("Only a run that another machine trains can be released: select one marked running there."),
                    false);
        return false;
    }
    const qint64 id = run->id;
    const int64_t now = sessions::nowMs();
    const QString heard = QString::fromStdString(sessions::heardAgoText(run->heardAt, now));
    const bool recent = run->heardAt > 0 && now - run->heardAt < sessions::kQuietBeforeReleaseMs;
    QString question = tr("Run %1 is marked running by process %2 on %3, last heard from %4. This machine cannot check "
                          "that process.")
                           .arg(QString::number(id), QString::number(run->pid), QString::fromStdString(run->host),
                                heard);
    if (recent)
        question += tr("\n\nIt wrote to the database %1: it is most likely still training, and a release stops its "
                       "recording and checkpoints.").arg(heard);
    question += tr("\n\nRelease it if that job is gone (killed, or its node failed)? It becomes interrupted, to be "
                   "continued or deleted here; were it alive after all, it stops at its next write.");
    if (!confirm_ || !confirm_(tr("Release run"), question)) return false;
    // The user was told when it was last heard from: a yes is their word, as --force is.
    if (!model_->releaseRun(id, true)) return false;
    showMessage(tr("Released run %1: it is interrupted now; continue it from its checkpoint or delete it.").arg(id),
                false);
    return true;
}

void RunBrowserPanel::reload() {
    model_->reload();
}

void RunBrowserPanel::showRun(qint64 runId) {
    showRun_ = runId;
    model_->refreshRun(runId);
}

void RunBrowserPanel::selectShownRun() {
    if (showRun_ == 0) return;
    const int row = model_->rowOfRun(showRun_);
    if (row < 0) return; // not read yet
    QModelIndex index = proxy_->mapFromSource(model_->index(row, 0));
    if (!index.isValid()) {
        // Filtered out (say, "finished" while an import is "imported"): the filters make way.
        status_->setCurrentIndex(0);
        method_->setCurrentIndex(0);
        text_->clear();
        index = proxy_->mapFromSource(model_->index(row, 0));
        if (!index.isValid()) return;
    }
    showRun_ = 0;
    view_->selectionModel()->setCurrentIndex(index, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    view_->scrollTo(index);
}

void RunBrowserPanel::showCount() {
    if (model_->isOpen()) // a database that failed to open keeps its error on show
        showMessage(tr("%n run(s) in %1", nullptr, model_->rowCount()).arg(model_->path()), false);
}

void RunBrowserPanel::fitColumns() {
    view_->resizeColumnsToContents();
    // Names are long ("SRigL 90% LeNet-300-100 on synthetic digits"): wide, but not everything.
    view_->setColumnWidth(RunTableModel::Name, std::clamp(view_->columnWidth(RunTableModel::Name), 240, 380));
}

int RunBrowserPanel::deleteSelected() {
    std::vector<int64_t> ids;
    for (const auto& index : view_->selectionModel()->selectedRows())
        ids.push_back(index.data(RunTableModel::RunIdRole).toLongLong());
    if (ids.empty()) {
        showMessage(tr("Select the runs to delete first."), false);
        return 0;
    }
    std::sort(ids.begin(), ids.end());
    QStringList names;
    for (auto id : ids) names << QString::number(id);
    const QString question = tr("Delete %n run(s) (%1) and everything recorded for them? This cannot be undone.",
                                nullptr, static_cast<int>(ids.size()))
                                 .arg(names.join(QStringLiteral(", ")));
    if (!confirm_ || !confirm_(tr("Delete runs"), question)) return 0;
    int deleted = 0;
    for (auto id : ids) deleted += model_->deleteRun(id) ? 1 : 0;
    if (deleted == static_cast<int>(ids.size())) showMessage(tr("Deleted %n run(s).", nullptr, deleted), false);
    return deleted;
}

QString RunBrowserPanel::message() const {
    return message_->text();
}

void RunBrowserPanel::showMessage(const QString& text, bool error) {
    message_->setText(text);
    message_->setStyleSheet(error ? QStringLiteral("color: #d9453b; font-weight: bold;") : QString());
}

} // namespace srigl::studio
