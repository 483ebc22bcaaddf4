// Rebuilt on every setHistogram / setBars: a layer's histogram has at most kDegreeHistogramBins bars.
#include "widgets/structure/histogram_chart.hpp"

#include "widgets/common/chart_palette.hpp"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QEvent>
#include <QValueAxis>

#include <algorithm>

namespace srigl::studio {

QString binLabel(const IntHistogram& h, size_t bin) {
    const int64_t lo = h.lo + static_cast<int64_t>(bin) * h.width;
    if (h.width == 1) return QString::number(lo);
    return QStringLiteral("%1-%2").arg(lo).arg(lo + h.width - 1);
}

HistogramChart::HistogramChart(const QString& title, const QString& xTitle, QWidget* parent)
    : QChartView(parent), xTitle_(xTitle) {
    auto* chart = new QChart;
    chart->setTitle(title);
    chart->legend()->hide();
    chart->setMargins(QMargins(4, 4, 4, 4));
    setChart(chart);
    setRenderHint(QPainter::Antialiasing);
    setMinimumSize(240, 180);
    setHistogram({});
}

void HistogramChart::setTitle(const QString& title) { chart()->setTitle(title); }

void HistogramChart::setNamedBins(int bins) { namedBins_ = static_cast<size_t>(std::max(1, bins)); }

void HistogramChart::setHistogram(const IntHistogram& histogram, int64_t yMax) {
    std::vector<HistogramBar> bars;
    for (size_t i = 0; i < histogram.counts.size(); ++i) bars.push_back({binLabel(histogram, i), histogram.counts[i]});
    setBars(bars, yMax);
}

void HistogramChart::setBars(const std::vector<HistogramBar>& bars, int64_t yMax) {
    auto* chart = this->chart();
    chart->removeAllSeries();
    for (auto* axis : chart->axes()) {
        chart->removeAxis(axis);
        delete axis;
    }
    bars_.clear();
    auto* set = new QBarSet(xTitle_);
    QStringList labels;
    int64_t highest = 0;
    // Many bins: name every few only, or the labels overlap. Categories must be unique, so the
    // unnamed ones are distinct runs of zero-width spaces.
    const size_t every = std::max<size_t>(1, (bars.size() + namedBins_ - 1) / namedBins_);
    for (size_t i = 0; i < bars.size(); ++i) {
        bars_.push_back(bars[i]);
        labels << (i % every == 0 ? bars[i].label : QString(static_cast<int>(i + 1), QChar(0x200B)));
        *set << static_cast<qreal>(bars[i].count);
        highest = std::max(highest, bars[i].count);
    }
    auto* series = new QBarSeries;
    series->append(set);
    series->setBarWidth(0.9);
    chart->addSeries(series);
    auto* x = new QBarCategoryAxis;
    x->append(labels);
    x->setTitleText(xTitle_);
    x->setTruncateLabels(false); // a named bar's label may spill over its unnamed neighbours
    auto* y = new QValueAxis;
    y->setTitleText(tr("count"));
    y->setLabelFormat(QStringLiteral("%d"));
    y->setRange(0, static_cast<qreal>(std::max<int64_t>(1, yMax > 0 ? yMax : highest)));
    y->applyNiceNumbers();
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    series->attachAxis(x);
    series->attachAxis(y);
    applyChartPalette(this);
}

void HistogramChart::changeEvent(QEvent* event) {
    QChartView::changeEvent(event);
    if (event->type() == QEvent::PaletteChange) applyChartPalette(this);
}

} // namespace srigl::studio
