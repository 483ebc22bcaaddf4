// The compare dashboard: run list, smoothed overlays, config diff and the accuracy figure.
#include "widgets/compare/compare_dashboard.hpp"

#include "widgets/compare/accuracy_vs_sparsity_model.hpp"
#include "widgets/compare/config_diff_model.hpp"
#include "widgets/common/curve_smoothing.hpp"
#include "widgets/common/xy_chart.hpp"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSlider>
#include <QSplitter>
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

CompareDashboard::CompareDashboard(QWidget* parent) : QWidget(parent) {
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
    auto* layout = new QHBoxLayout(this);
    auto* main = new QSplitter(Qt::Horizontal, this);
    main->addWidget(side);
    main->addWidget(right);
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
    refreshCurves();
}

bool CompareDashboard::openDatabase(const QString& path) {
    dbPath_ = path;
    reload();
    return message_->text().isEmpty();
}

void CompareDashboard::reload() {
    const QList<qint64> selected = selectedRuns();
    cache_.clear();
    runInfo_.clear();
    message_->clear();
    try {
        sessions::RunStore store(dbPath_.toStdString(), sessions::RunStore::Mode::ReadOnly);
        runInfo_ = store.listRuns();
    } catch (const std::exception& e) {
        message_->setText(QString::fromStdString(e.what()));
    }
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

const RecordedCurves* CompareDashboard::curves(qint64 id) {
    auto it = cache_.find(id);
    if (it != cache_.end()) return &it->second;
    try {
        return &cache_.emplace(id, readRecordedCurves(dbPath_.toStdString(), id)).first->second;
    } catch (const std::exception& e) {
        message_->setText(QString::fromStdString(e.what()));
        return nullptr;
    }
}

void CompareDashboard::refreshCurves() {
    const double w = smoothing();
    smoothingLabel_->setText(tr("Smoothing (EMA): %1").arg(w, 0, 'f', 2));
    const bool test = accuracyKind_->currentData().toString() == QStringLiteral("test");
    std::vector<XySeries> loss, accuracy;
    QStringList labels;
    std::vector<std::string> configs;
    for (qint64 id : selectedRuns()) {
        const auto info = std::find_if(runInfo_.begin(), runInfo_.end(), [&](const sessions::RunInfo& r) { return r.id == id; });
        if (info == runInfo_.end()) continue;
        labels << runLabel(*info);
        configs.push_back(info->config);
        const RecordedCurves* c = curves(id);
        if (!c) continue;
        loss.push_back({runLabel(*info), emaSmooth(c->trainLoss, w)});
        accuracy.push_back({runLabel(*info), emaSmooth(test ? c->testAccuracy : c->trainAccuracy, w)});
    }
    accuracy_->setMarkers(test); // evaluations are few: show them as points
    loss_->setSeries(loss);
    accuracy_->setSeries(accuracy);
    if (!diff_->setRuns(labels, configs)) message_->setText(diff_->error());
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
