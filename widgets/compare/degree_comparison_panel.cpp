// Columns are built once per run count and reused; the bins and the count scale are recomputed
// from all columns together on every render, which is what makes the runs comparable.
#include "widgets/compare/degree_comparison_panel.hpp"

#include "widgets/common/store_reader.hpp"
#include "widgets/logic/degree_comparison.hpp"
#include "widgets/runs/run_table_model.hpp"
#include "widgets/structure/degree_histogram_view.hpp"
#include "widgets/structure/histogram_chart.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QScrollArea>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <exception>

namespace srigl::studio {
namespace {

RunDegrees readRun(sessions::RunStore& store, int64_t id, const std::vector<std::string>& layers,
                   const std::string& layer, double fraction) {
    RunDegrees r;
    r.run = store.run(id);
    if (layers.empty()) {
        r.problem = "No mask snapshots recorded (yet).";
        return r;
    }
    if (layer.empty()) {
        r.problem = "No layer in common with the other runs.";
        return r;
    }
    r.step = maskStepAt(store.maskSteps(id), r.run.steps, fraction);
    auto records = store.masksAtOrBefore(id, layer, r.step, 1);
    if (records.empty()) {
        r.problem = "No snapshot of " + layer + " at or before step " + std::to_string(r.step) + ".";
        return r;
    }
    r.step = records[0].step;
    r.layer = layerDegrees(records[0].mask);
    // The out-degree that matters is how the next layer reads these neurons, as in the structure
    // dock; the last layer falls back to the out-degree of its own inputs.
    const auto at = std::find(layers.begin(), layers.end(), layer);
    if (at != layers.end() && at + 1 != layers.end()) {
        auto next = store.masksAtOrBefore(id, *(at + 1), r.step, 1);
        if (!next.empty()) {
            try {
                r.next = nextLayerUse(records[0].mask, next[0].mask, next[0].stats.shape);
            } catch (const std::exception& e) {
                r.problem = std::string("Out-degree of the inputs shown: ") + e.what();
            }
        }
    }
    return r;
}

DegreeComparison readComparison(sessions::RunStore& store, const std::vector<int64_t>& ids, const std::string& wanted,
                                double fraction) {
    DegreeComparison out;
    std::vector<std::vector<std::string>> layers;
    for (int64_t id : ids) layers.push_back(store.maskLayers(id));
    out.layers = commonLayers(layers);
    const bool known = std::find(out.layers.begin(), out.layers.end(), wanted) != out.layers.end();
    out.layer = known ? wanted : out.layers.empty() ? std::string() : out.layers.front();
    for (size_t i = 0; i < ids.size(); ++i) {
        try {
            out.runs.push_back(readRun(store, ids[i], layers[i], out.layer, fraction));
        } catch (const std::exception& e) {
            // One unreadable run (deleted meanwhile, a malformed mask) leaves the others on screen.
            RunDegrees failed;
            failed.run.id = ids[i];
            failed.problem = e.what();
            out.runs.push_back(std::move(failed));
        }
    }
    return out;
}

std::vector<int64_t> idsOf(const std::vector<sessions::RunInfo>& runs) {
    std::vector<int64_t> ids;
    for (const auto& r : runs) ids.push_back(r.id);
    return ids;
}

// What a re-read depends on: a run that trained on (more steps, finished) may have newer masks.
bool sameRuns(const std::vector<sessions::RunInfo>& a, const std::vector<sessions::RunInfo>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
        return x.id == y.id && x.steps == y.steps && x.status == y.status && x.finishedAt == y.finishedAt;
    });
}

} // namespace

DegreeComparisonPanel::DegreeComparisonPanel(StoreReader& store, QWidget* parent) : QWidget(parent), store_(store) {
    layer_ = new QComboBox(this);
    layer_->setObjectName(QStringLiteral("compareDegreeLayer"));
    layer_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    step_ = new QComboBox(this);
    step_->setObjectName(QStringLiteral("compareDegreeStep"));
    step_->addItem(tr("final mask"), 1.0);
    step_->addItem(tr("at 75 % of training"), 0.75);
    step_->addItem(tr("at 50 % of training"), 0.5);
    step_->addItem(tr("at 25 % of training"), 0.25);
    step_->addItem(tr("initial mask"), 0.0);
    sharedAxis_ = new QCheckBox(tr("Same count axis"), this);
    sharedAxis_->setChecked(true);
    sharedAxis_->setToolTip(tr("Off: each chart scales to its own tallest bar (a spread next to a spike stays readable)."));
    message_ = new QLabel(tr("Tick runs to compare their degrees."), this);
    message_->setWordWrap(true);

    auto* header = new QHBoxLayout;
    header->addWidget(new QLabel(tr("Layer"), this));
    header->addWidget(layer_);
    header->addSpacing(12);
    header->addWidget(new QLabel(tr("Step"), this));
    header->addWidget(step_);
    header->addSpacing(12);
    header->addWidget(sharedAxis_);
    header->addStretch(1);

    auto* content = new QWidget(this);
    row_ = new QHBoxLayout(content);
    row_->setContentsMargins(0, 0, 0, 0);
    auto* area = new QScrollArea(this);
    area->setWidgetResizable(true);
    area->setFrameShape(QFrame::NoFrame);
    area->setWidget(content);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(header);
    layout->addWidget(message_);
    layout->addWidget(area, 1);

    connect(layer_, &QComboBox::textActivated, this, &DegreeComparisonPanel::setLayer);
    connect(step_, &QComboBox::currentIndexChanged, this, [this] { read(); });
    connect(sharedAxis_, &QCheckBox::toggled, this, [this] { render(); });
}

void DegreeComparisonPanel::setRuns(const std::vector<sessions::RunInfo>& runs) {
    // The dashboard calls this on every change of its own (a smoothing step too): read only for news.
    if (given_ && sameRuns(runs, runs_)) return;
    given_ = true;
    runs_ = runs;
    read();
}

void DegreeComparisonPanel::reread() { read(); }

void DegreeComparisonPanel::setFraction(double fraction) {
    int best = 0;
    for (int i = 1; i < step_->count(); ++i)
        if (std::abs(step_->itemData(i).toDouble() - fraction) < std::abs(step_->itemData(best).toDouble() - fraction))
            best = i;
    step_->setCurrentIndex(best); // reads when it changed
}

double DegreeComparisonPanel::fraction() const { return step_->currentData().toDouble(); }

void DegreeComparisonPanel::setLayer(const QString& layer) {
    chosenLayer_ = layer;
    read();
}

void DegreeComparisonPanel::setSharedCountAxis(bool shared) { sharedAxis_->setChecked(shared); }

void DegreeComparisonPanel::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    if (stale_) read();
}

bool DegreeComparisonPanel::loading() const { return store_.isPending(request_); }

QString DegreeComparisonPanel::message() const { return message_->text(); }

void DegreeComparisonPanel::read() {
    if (runs_.empty()) {
        stale_ = false;
        shown_.reset();
        request_ = 0;
        render();
        Q_EMIT shown();
        return;
    }
    // A hidden panel (another tab, a closed dock) reads nothing: masks are the heaviest records.
    if (!isVisible()) {
        stale_ = true;
        return;
    }
    stale_ = false;
    const std::vector<int64_t> ids = idsOf(runs_);
    request_ = store_.request(
        this, QStringLiteral("degrees"),
        [ids, layer = chosenLayer_.toStdString(), fraction = fraction()](sessions::RunStore& store) {
            return readComparison(store, ids, layer, fraction);
        },
        [this, ids](DegreeComparison comparison) {
            if (ids != idsOf(runs_)) return; // runs changed while the panel was hidden
            showComparison(std::move(comparison));
        },
        [this](const QString& error) {
            message_->setText(error);
            message_->show();
            Q_EMIT shown();
        });
}

void DegreeComparisonPanel::showComparison(DegreeComparison comparison) {
    shown_ = std::move(comparison);
    const bool blocked = layer_->blockSignals(true);
    layer_->clear();
    for (const auto& name : shown_->layers) layer_->addItem(QString::fromStdString(name));
    layer_->setCurrentIndex(std::max(0, layer_->findText(QString::fromStdString(shown_->layer))));
    layer_->blockSignals(blocked);
    render();
    Q_EMIT shown();
}

DegreeComparisonPanel::Column& DegreeComparisonPanel::column(size_t i) {
    while (columns_.size() <= i) {
        Column c;
        c.box = new QWidget(row_->parentWidget());
        auto* v = new QVBoxLayout(c.box);
        v->setContentsMargins(2, 2, 2, 2);
        c.heading = new QLabel(c.box);
        c.heading->setStyleSheet(QStringLiteral("font-weight: bold"));
        c.step = new QLabel(c.box);
        c.fanIn = new HistogramChart(tr("Fan-in"), tr("connections per neuron"), c.box);
        c.outDegree = new HistogramChart(tr("Out-degree"), tr("connections"), c.box);
        c.summary = new QLabel(c.box);
        c.summary->setWordWrap(true);
        c.summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
        c.summary->setAlignment(Qt::AlignLeft | Qt::AlignTop);
        v->addWidget(c.heading);
        v->addWidget(c.step);
        v->addWidget(c.fanIn, 1);
        v->addWidget(c.outDegree, 1);
        v->addWidget(c.summary);
        row_->addWidget(c.box, 1);
        columns_.push_back(c);
    }
    return columns_[i];
}

void DegreeComparisonPanel::render() {
    shownColumns_ = shown_ ? shown_->runs.size() : 0;
    for (size_t i = shownColumns_; i < columns_.size(); ++i) columns_[i].box->hide();
    if (!shown_) {
        message_->setText(tr("Tick runs to compare their degrees."));
        message_->show();
        return;
    }
    const auto& runs = shown_->runs;
    std::vector<std::vector<int64_t>> fanIns, outs;
    for (const auto& r : runs) {
        fanIns.push_back(r.layer ? r.layer->fanInPerNeuron : std::vector<int64_t>{});
        outs.push_back(r.next ? r.next->outDegree : r.layer ? r.layer->outDegreePerInput : std::vector<int64_t>{});
    }
    // One set of bins per chart kind across the runs: the x axes line up bar for bar.
    const auto fanIn = sharedHistograms(fanIns);
    const auto out = sharedHistograms(outs);
    const bool shared = sharedAxis_->isChecked();
    const QString layer = QString::fromStdString(shown_->layer);
    for (size_t i = 0; i < runs.size(); ++i) {
        const auto& r = runs[i];
        auto& c = column(i);
        c.heading->setText(r.run.method.empty() ? tr("run %1").arg(r.run.id) : unnamedRunLabel(r.run));
        QString where = tr("run %1").arg(r.run.id);
        if (!r.run.name.empty()) where += QStringLiteral(" \"%1\"").arg(QString::fromStdString(r.run.name));
        if (r.step >= 0) where += tr(", mask at step %1 of %2").arg(r.step).arg(std::max(r.run.steps, r.step));
        c.step->setText(where);
        c.fanIn->setTitle(tr("Fan-in of %1").arg(layer));
        c.outDegree->setTitle(r.next ? tr("Out-degree of %1 in %2").arg(layer, QString::fromStdString(r.next->nextLayer))
                                     : tr("Out-degree of %1's inputs").arg(layer));
        // A column is narrow: range labels ("100-104") need more room than single counts.
        c.fanIn->setNamedBins(fanIn.histograms[i].width > 1 ? 6 : 10);
        c.outDegree->setNamedBins(out.histograms[i].width > 1 ? 6 : 10);
        c.fanIn->setHistogram(fanIn.histograms[i], shared ? fanIn.highestCount : 0);
        c.outDegree->setHistogram(out.histograms[i], shared ? out.highestCount : 0);
        QStringList summary;
        if (r.layer) summary << degreeSummary(*r.layer, r.next);
        if (!r.problem.empty()) summary << QString::fromStdString(r.problem);
        c.summary->setText(summary.join(QLatin1Char('\n')));
        c.box->show();
    }
    const bool none = shown_->layers.empty();
    message_->setText(none ? tr("These runs have no recorded layer in common.") : QString());
    message_->setVisible(none);
}

const HistogramChart* DegreeComparisonPanel::fanInChart(int column) const { return columns_.at(size_t(column)).fanIn; }
const HistogramChart* DegreeComparisonPanel::outDegreeChart(int column) const {
    return columns_.at(size_t(column)).outDegree;
}
QString DegreeComparisonPanel::headingText(int column) const { return columns_.at(size_t(column)).heading->text(); }
QString DegreeComparisonPanel::stepText(int column) const { return columns_.at(size_t(column)).step->text(); }
QString DegreeComparisonPanel::summaryText(int column) const { return columns_.at(size_t(column)).summary->text(); }

} // namespace srigl::studio
