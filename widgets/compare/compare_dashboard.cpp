// The compare dashboard: run list, smoothed overlays, config diff, the accuracy figure and the
// degree histograms page.
#include "widgets/compare/compare_dashboard.hpp"

#include "widgets/compare/accuracy_vs_sparsity_model.hpp"
#include "widgets/compare/config_diff_model.hpp"
#include "widgets/compare/degree_comparison_panel.hpp"
#include "widgets/common/curve_smoothing.hpp"
#include "widgets/common/store_reader.hpp"
#include "widgets/common/xy_chart.hpp"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSlider>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace srigl::studio {
namespace {

constexpr int kIdRole = Qt::UserRole + 1;

QString runLabel(const sessions::RunInfo& r) {
    return QStringLiteral("#%1 %2").arg(r.id).arg(QString::fromStdString(r.name));
}

} // namespace

CompareDashboard::CompareDashboard(StoreReader& store, QWidget* parent) : QWidget(parent), store_(store) {
    runs_ = new QListWidget(this);
    runs_->setObjectName(QStringLiteral("compareRuns"));
    smoothing_ = new QSlider(Qt::Horizontal, this);
    smoothing_->setRange(0, 99);
    smoothing_->setValue(60);
    smoothingLabel_ = new QLabel(this);
    accuracyKind_ = new QComboBox(this);
    accuracyKind_->addItem(tr("test accuracy"), QStringLiteral("test"));
    accuracyKind_->addItem(tr("train accuracy"), QStringLiteral("train"));
    modelFilter_ = new QComboBox(this);
    auto* reloadButton = new QPushButton(tr("Reload"), this);
    message_ = new QLabel(this);
    message_->setWordWrap(true);

    loss_ = new XyChart(tr("Training loss"), tr("step"), tr("loss"), this);
    accuracy_ = new XyChart(tr("Accuracy"), tr("step"), tr("accuracy"), this);
    figure_ = new XyChart(tr("Final test accuracy vs sparsity (finished runs)"), tr("sparsity"), tr("test accuracy"), this);
    loss_->setMarkers(false);
    accuracy_->setMarkers(false);
    diff_ = new ConfigDiffModel(this);
    diffView_ = new QTableView(this);
    diffView_->setModel(diff_);
    diffView_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);

    auto* side = new QWidget(this);
    auto* sideLayout = new QVBoxLayout(side);
    sideLayout->setContentsMargins(0, 0, 0, 0);
    sideLayout->addWidget(new QLabel(tr("Runs to compare:"), side));
    sideLayout->addWidget(runs_, 1);
    sideLayout->addWidget(smoothingLabel_);
    sideLayout->addWidget(smoothing_);
    sideLayout->addWidget(accuracyKind_);
    sideLayout->addWidget(new QLabel(tr("Figure: model / dataset"), side));
    sideLayout->addWidget(modelFilter_);
    sideLayout->addWidget(reloadButton);
    sideLayout->addWidget(message_);

    auto* top = new QSplitter(Qt::Horizontal, this);
    top->addWidget(loss_);
    top->addWidget(accuracy_);
    auto* bottom = new QSplitter(Qt::Horizontal, this);
    auto* diffBox = new QWidget(bottom);
    auto* diffLayout = new QVBoxLayout(diffBox);
    diffLayout->setContentsMargins(0, 0, 0, 0);
    diffLayout->addWidget(new QLabel(tr("Config keys that differ:"), diffBox));
    diffLayout->addWidget(diffView_);
    bottom->addWidget(diffBox);
    bottom->addWidget(figure_);
    auto* right = new QSplitter(Qt::Vertical, this);
    right->addWidget(top);
    right->addWidget(bottom);
    right->setStretchFactor(0, 3);
    right->setStretchFactor(1, 2);
    // The degrees get a page of their own: a column of two charts per run needs the full height.
    degrees_ = new DegreeComparisonPanel(store_, this);
    pages_ = new QTabWidget(this);
    pages_->setObjectName(QStringLiteral("comparePages"));
    pages_->addTab(right, tr("Curves and config"));
    pages_->addTab(degrees_, tr("Fan-in and out-degree"));
    auto* layout = new QHBoxLayout(this);
    auto* main = new QSplitter(Qt::Horizontal, this);
    main->addWidget(side);
    main->addWidget(pages_);
    main->setStretchFactor(1, 4);
    layout->addWidget(main);

    connect(runs_, &QListWidget::itemChanged, this, [this] {
        if (!updating_) refreshCurves();
    });
    connect(smoothing_, &QSlider::valueChanged, this, [this] { refreshCurves(); });
    connect(accuracyKind_, &QComboBox::currentIndexChanged, this, [this] { refreshCurves(); });
    connect(modelFilter_, &QComboBox::currentIndexChanged, this, [this] {
        if (!updating_) refreshFigure();
    });
    connect(reloadButton, &QPushButton::clicked, this, &CompareDashboard::reload);
    connect(reloadButton, &QPushButton::clicked, degrees_, &DegreeComparisonPanel::reread); // finished runs too
    refreshCurves();
}

void CompareDashboard::openDatabase(const QString& path) {
    degrees_->setRuns({}); // another database's run ids name other runs
    store_.setDatabase(path);
    reload();
}

void CompareDashboard::reload() {
    listRequest_ = store_.request(
        this, QStringLiteral("runs"), [](sessions::RunStore& store) { return store.listRuns(); },
        [this](std::vector<sessions::RunInfo> runs) {
            message_->clear();
            showRuns(std::move(runs));
            Q_EMIT loaded();
        },
        [this](const QString& error) {
            message_->setText(error);
            showRuns({});
            Q_EMIT loaded();
        });
}

bool CompareDashboard::loading() const { return store_.isPending(listRequest_) || store_.isPending(curvesRequest_); }

void CompareDashboard::showDegrees() { pages_->setCurrentWidget(degrees_); }

void CompareDashboard::showRuns(std::vector<sessions::RunInfo> runs) {
    const QList<qint64> selected = wanted_ ? *wanted_ : selectedRuns();
    wanted_.reset();
    cache_.clear(); // runs may still be training: their curves are read again
    runInfo_ = std::move(runs);
    updating_ = true;
    runs_->clear();
    for (const auto& r : runInfo_) {
        auto* item = new QListWidgetItem(QStringLiteral("%1  (%2, %3 %)")
                                             .arg(runLabel(r), QString::fromStdString(r.method))
                                             .arg(100.0 * r.sparsity, 0, 'g', 3),
                                         runs_);
        item->setData(kIdRole, static_cast<qint64>(r.id));
        item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
        item->setCheckState(selected.contains(r.id) ? Qt::Checked : Qt::Unchecked);
    }
    const QString model = modelFilter_->currentData().toString();
    modelFilter_->clear();
    modelFilter_->addItem(tr("all"), QString());
    for (const auto& m : accuracyVsSparsity(runInfo_).models) modelFilter_->addItem(QString::fromStdString(m), QString::fromStdString(m));
    modelFilter_->setCurrentIndex(std::max(0, modelFilter_->findData(model)));
    updating_ = false;
    refreshCurves();
    refreshFigure();
}

void CompareDashboard::setSelectedRuns(const QList<qint64>& ids) {
    if (store_.isPending(listRequest_)) wanted_ = ids;
    updating_ = true;
    for (int i = 0; i < runs_->count(); ++i) {
        auto* item = runs_->item(i);
        item->setCheckState(ids.contains(item->data(kIdRole).toLongLong()) ? Qt::Checked : Qt::Unchecked);
    }
    updating_ = false;
    refreshCurves();
}

QList<qint64> CompareDashboard::selectedRuns() const {
    QList<qint64> ids;
    for (int i = 0; i < runs_->count(); ++i)
        if (runs_->item(i)->checkState() == Qt::Checked) ids.append(runs_->item(i)->data(kIdRole).toLongLong());
    return ids;
}

void CompareDashboard::setSmoothing(double weight) { smoothing_->setValue(static_cast<int>(std::lround(weight * 100))); }

double CompareDashboard::smoothing() const { return smoothing_->value() / 100.0; }

QString CompareDashboard::message() const { return message_->text(); }

void CompareDashboard::readMissingCurves(const QList<qint64>& ids) {
    // Those runs are being read already: a new request would only drop that read.
    if (store_.isPending(curvesRequest_) && ids == curvesAsked_) return;
    curvesAsked_ = ids;
    curvesRequest_ = store_.request(
        this, QStringLiteral("curves"),
        [ids = std::vector<qint64>(ids.begin(), ids.end())](sessions::RunStore& store) {
            std::vector<RecordedCurves> out;
            for (qint64 id : ids) out.push_back(readRecordedCurves(store, id));
            return out;
        },
        [this](std::vector<RecordedCurves> curves) {
            for (auto& c : curves) cache_[c.runId] = std::move(c);
            refreshCurves();
            Q_EMIT loaded();
        },
        [this](const QString& error) {
            message_->setText(error);
            Q_EMIT loaded();
        });
}

void CompareDashboard::refreshCurves() {
    const double w = smoothing();
    smoothingLabel_->setText(tr("Smoothing (EMA): %1").arg(w, 0, 'f', 2));
    const bool test = accuracyKind_->currentData().toString() == QStringLiteral("test");
    std::vector<XySeries> loss, accuracy;
    QStringList labels;
    std::vector<std::string> configs;
    QList<qint64> missing;
    for (qint64 id : selectedRuns()) {
        const auto info = std::find_if(runInfo_.begin(), runInfo_.end(), [&](const sessions::RunInfo& r) { return r.id == id; });
        if (info == runInfo_.end()) continue;
        labels << runLabel(*info);
        configs.push_back(info->config);
        const auto c = cache_.find(id);
        if (c == cache_.end()) {
            missing.append(id);
            continue;
        }
        loss.push_back({runLabel(*info), emaSmooth(c->second.trainLoss, w)});
        accuracy.push_back({runLabel(*info), emaSmooth(test ? c->second.testAccuracy : c->second.trainAccuracy, w)});
    }
    if (!missing.isEmpty()) readMissingCurves(missing);
    accuracy_->setMarkers(test); // evaluations are few: show them as points
    loss_->setSeries(loss);
    accuracy_->setSeries(accuracy);
    if (!diff_->setRuns(labels, configs)) message_->setText(diff_->error());
    refreshDegrees();
}

void CompareDashboard::refreshDegrees() {
    std::vector<sessions::RunInfo> runs;
    for (qint64 id : selectedRuns()) {
        const auto info = std::find_if(runInfo_.begin(), runInfo_.end(), [&](const sessions::RunInfo& r) { return r.id == id; });
        if (info != runInfo_.end()) runs.push_back(*info);
    }
    degrees_->setRuns(runs); // reads only when the runs (or their progress) changed
}

void CompareDashboard::refreshFigure() {
    const auto figure = accuracyVsSparsity(runInfo_, modelFilter_->currentData().toString().toStdString());
    std::vector<XySeries> series;
    for (const auto& [method, points] : figure.methods) {
        XySeries s{QString::fromStdString(method), {}};
        for (const auto& p : points) s.points.push_back({p.sparsity, p.mean});
        series.push_back(std::move(s));
    }
    figure_->setSeries(series);
}

} // namespace srigl::studio
