// Two columns are built up front and the second is hidden without a comparison: switching runs
// never rebuilds the layout.
#include "widgets/structure/degree_histogram_view.hpp"

#include "widgets/structure/histogram_chart.hpp"

#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>

#include <algorithm>

namespace srigl::studio {

namespace {

QString range(const DegreeStats& s) {
    return QStringLiteral("mean %1, min %2, max %3").arg(s.mean, 0, 'f', 1).arg(s.min).arg(s.max);
}

QString percent(double p) { return QString::number(p, 'f', 1) + QStringLiteral(" %"); }

int64_t highest(const IntHistogram& h) {
    return h.counts.empty() ? 0 : *std::max_element(h.counts.begin(), h.counts.end());
}

const IntHistogram& outHistogram(const LayerDegrees& layer, const std::optional<NextLayerUse>& next) {
    return next ? next->outDegreeHistogram : layer.outDegreeHistogram;
}

} // namespace

QString degreeSummary(const LayerDegrees& d, const std::optional<NextLayerUse>& next) {
    QStringList lines;
    if (d.rowStride > 1)
        // Too large to snapshot whole: every count below is of the sampled neurons (whole rows).
        lines << QStringLiteral("%1: %2 of its %3 neurons (%4) x %5 inputs, %6 connections kept in them")
                     .arg(QString::fromStdString(d.name))
                     .arg(d.outFeatures)
                     .arg(d.layerOutFeatures)
                     .arg(QString::fromStdString(everyNth(d.rowStride)))
                     .arg(d.fanIn)
                     .arg(d.kept);
    else
        lines << QStringLiteral("%1: %2 neurons x %3 inputs, %4 connections kept")
                     .arg(QString::fromStdString(d.name))
                     .arg(d.outFeatures)
                     .arg(d.fanIn)
                     .arg(d.kept);
    const QString sampled = d.rowStride > 1 ? QStringLiteral(" sampled") : QString();
    const QString over = d.ablatedCount > 0 ? QStringLiteral("the %1 active%2 neurons").arg(d.fanInStats.count).arg(sampled)
                                            : d.rowStride > 1 ? QStringLiteral("every sampled neuron")
                                                              : QStringLiteral("every neuron");
    if (d.fanInStats.constant())
        lines << QStringLiteral("Fan-in: constant fan-in %1 over %2").arg(d.fanInStats.min).arg(over);
    else if (d.fanInStats.count > 0)
        lines << QStringLiteral("Fan-in: %1 over %2").arg(range(d.fanInStats), over);
    lines << (d.ablatedCount > 0 ? QStringLiteral("Ablated: %1%2 neurons (fan-in 0)").arg(d.ablatedCount).arg(sampled)
                                 : QStringLiteral("Ablated: none%1").arg(d.rowStride > 1 ? QStringLiteral(" of the sampled neurons")
                                                                                        : QString()));
    if (!next) {
        lines << QStringLiteral("Out-degree of the %1 inputs: %2%3")
                     .arg(d.fanIn)
                     .arg(range(d.outDegreeStats))
                     .arg(d.rowStride > 1 ? QStringLiteral(" (into the sampled neurons only)") : QString());
        return lines.join(QLatin1Char('\n'));
    }
    const QString nextName = QString::fromStdString(next->nextLayer);
    QString out = QStringLiteral("Out-degree in %1: %2").arg(nextName, range(next->outDegreeStats));
    if (next->grouping != NextLayerGrouping::Columns)
        out += QStringLiteral(" (%1, %2 inputs per channel)")
                   .arg(QString::fromStdString(toString(next->grouping)))
                   .arg(next->groupSize);
    lines << out;
    if (next->unused.empty())
        lines << QStringLiteral("Unused: none (%1 reads every neuron that has incoming weights)").arg(nextName);
    else
        lines << QStringLiteral(
                     "Unused: %1 neurons (%2) keep incoming weights that %3 never reads: %4 weights (%5 of kept)")
                     .arg(static_cast<qlonglong>(next->unused.size()))
                     .arg(percent(next->unusedPercent), nextName)
                     .arg(next->unusedWeights)
                     .arg(percent(next->unusedWeightPercent));
    if (!next->ablatedStillRead.empty())
        lines << QStringLiteral("%1 still reads %2 ablated neurons through %3 connections")
                     .arg(nextName)
                     .arg(static_cast<qlonglong>(next->ablatedStillRead.size()))
                     .arg(next->connectionsFromAblated);
    return lines.join(QLatin1Char('\n'));
}

DegreeHistogramView::DegreeHistogramView(QWidget* parent) : QWidget(parent) {
    row_ = new QHBoxLayout(this);
    row_->setContentsMargins(0, 0, 0, 0);
    for (auto& c : columns_) {
        c.box = new QWidget(this);
        auto* v = new QVBoxLayout(c.box);
        v->setContentsMargins(2, 2, 2, 2);
        c.heading = new QLabel(c.box);
        c.heading->setStyleSheet(QStringLiteral("font-weight: bold"));
        c.fanIn = new HistogramChart(tr("Fan-in"), tr("connections per neuron"), c.box);
        c.outDegree = new HistogramChart(tr("Out-degree"), tr("connections"), c.box);
        c.summary = new QLabel(c.box);
        c.summary->setWordWrap(true);
        c.summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
        v->addWidget(c.heading);
        v->addWidget(c.fanIn, 1);
        v->addWidget(c.outDegree, 1);
        v->addWidget(c.summary);
        row_->addWidget(c.box, 1);
    }
    columns_[1].box->hide();
    columns_[0].summary->setText(tr("No layer chosen."));
}

void DegreeHistogramView::fill(Column& c, const LayerDegrees& layer, const std::optional<NextLayerUse>& next,
                               const QString& run) {
    c.layer = layer;
    c.next = next;
    const QString name = QString::fromStdString(layer.name);
    c.heading->setText(run.isEmpty() ? name : QStringLiteral("%1 - %2").arg(run, name));
    c.heading->setVisible(!c.heading->text().isEmpty());
    c.fanIn->setTitle(tr("Fan-in of %1's neurons").arg(name));
    c.outDegree->setTitle(
        next ? tr("Out-degree of %1's neurons in %2").arg(name, QString::fromStdString(next->nextLayer))
             : tr("Out-degree of %1's inputs").arg(name));
    c.summary->setText(degreeSummary(layer, next));
}

void DegreeHistogramView::rescale() {
    int64_t fanInMax = 0, outMax = 0;
    for (int i = 0; i < columns(); ++i) {
        fanInMax = std::max(fanInMax, highest(columns_[i].layer.fanInHistogram));
        outMax = std::max(outMax, highest(outHistogram(columns_[i].layer, columns_[i].next)));
    }
    for (int i = 0; i < columns(); ++i) {
        auto& c = columns_[i];
        c.fanIn->setHistogram(c.layer.fanInHistogram, comparing_ ? fanInMax : 0);
        c.outDegree->setHistogram(outHistogram(c.layer, c.next), comparing_ ? outMax : 0);
    }
}

void DegreeHistogramView::setData(const LayerDegrees& layer, const std::optional<NextLayerUse>& next,
                                  const QString& run) {
    comparing_ = false;
    columns_[1].box->hide();
    fill(columns_[0], layer, next, run);
    rescale();
}

void DegreeHistogramView::setComparison(const LayerDegrees& layer, const std::optional<NextLayerUse>& next,
                                        const QString& run) {
    comparing_ = true;
    fill(columns_[1], layer, next, run);
    columns_[1].box->show();
    rescale();
}

void DegreeHistogramView::clearComparison() {
    comparing_ = false;
    columns_[1].box->hide();
    rescale();
}

int DegreeHistogramView::columns() const { return comparing_ ? 2 : 1; }

const HistogramChart* DegreeHistogramView::fanInChart(int column) const { return columns_[column].fanIn; }
const HistogramChart* DegreeHistogramView::outDegreeChart(int column) const { return columns_[column].outDegree; }
QString DegreeHistogramView::summaryText(int column) const { return columns_[column].summary->text(); }
QString DegreeHistogramView::headingText(int column) const { return columns_[column].heading->text(); }

} // namespace srigl::studio
