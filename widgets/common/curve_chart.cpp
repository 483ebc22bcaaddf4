// Line charts for loss and accuracy.
#include "widgets/common/curve_chart.hpp"

#include "widgets/common/chart_palette.hpp"

#include <QApplication>
#include <QChart>
#include <QEvent>
#include <QLineSeries>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

namespace srigl::studio {
namespace {

// 1, 2 or 5 times a power of ten, at least `rough`: ticks at 0, 200, 400 rather than at fifths
// of the run's length, while the axis still ends where the data does.
double niceStep(double rough) {
    if (!(rough > 0) || !std::isfinite(rough)) return 1.0;
    const double power = std::pow(10.0, std::floor(std::log10(rough)));
    for (double m : {1.0, 2.0, 5.0})
        if (m * power >= rough) return m * power;
    return 10.0 * power;
}

// Sets range and tick interval in the order that never asks for more ticks than either the old
// or the new setting has: Qt Charts creates a label item per tick, so a range of 0..50000 with a
// stale interval of 0.25 would create 200 000 of them.
void setAxis(QValueAxis* axis, double lo, double hi, double interval) {
    if (interval >= axis->tickInterval()) {
        axis->setTickInterval(interval);
        axis->setRange(lo, hi);
    } else {
        axis->setRange(lo, hi);
        axis->setTickInterval(interval);
    }
}

} // namespace

CurveChart::CurveChart(const QString& title, const QString& yTitle, QWidget* parent) : QChartView(parent) {
    auto* chart = new QChart;
    chart->setTitle(title);
    chart->legend()->setAlignment(Qt::AlignBottom);
    chart->setMargins(QMargins(4, 4, 4, 4));
    x_ = new QValueAxis(chart);
    x_->setTitleText(tr("step"));
    x_->setLabelFormat(QStringLiteral("%d"));
    x_->setTickType(QValueAxis::TicksDynamic);
    x_->setTickAnchor(0);
    setAxis(x_, 0, 1, 0.5);
    y_ = new QValueAxis(chart);
    y_->setTitleText(yTitle);
    y_->setTickType(QValueAxis::TicksDynamic);
    y_->setTickAnchor(0);
    setAxis(y_, 0, 1, 0.5);
    y_->setLabelFormat(QStringLiteral("%.2g"));
    chart->addAxis(x_, Qt::AlignBottom);
    chart->addAxis(y_, Qt::AlignLeft);
    setChart(chart);
    setRenderHint(QPainter::Antialiasing);
    setMinimumSize(260, 200);
    applyPalette();
}

int CurveChart::addCurve(const QString& name) {
    auto* s = new QLineSeries(chart());
    s->setName(name);
    chart()->addSeries(s);
    s->attachAxis(x_);
    s->attachAxis(y_);
    series_.push_back(s);
    return static_cast<int>(series_.size()) - 1;
}

void CurveChart::setPoints(int curve, const std::vector<CurvePoint>& points, bool rescaleNow) {
    QList<QPointF> list;
    list.reserve(static_cast<qsizetype>(points.size()));
    for (const auto& p : points) list.append(QPointF(p.step, p.value));
    series_.at(static_cast<size_t>(curve))->replace(list);
    if (rescaleNow) rescale();
}

void CurveChart::setYRange(double min, double max) {
    fixedY_ = true;
    setAxis(y_, min, max, niceStep((max - min) / 5));
}

void CurveChart::setXMax(double max) {
    if (std::max(1.0, max) == xMax_) return;
    xMax_ = std::max(1.0, max);
    rescale();
}

int CurveChart::pointCount(int curve) const {
    return static_cast<int>(series_.at(static_cast<size_t>(curve))->count());
}

void CurveChart::rescale() {
    double lo = INFINITY, hi = -INFINITY, right = xMax_;
    for (auto* s : series_)
        for (const auto& p : s->points()) {
            lo = std::min(lo, p.y());
            hi = std::max(hi, p.y());
            right = std::max(right, p.x());
        }
    // Every axis change re-lays out its labels (a few ms each): only touch what moved.
    if (right != shownX_) {
        shownX_ = right;
        setAxis(x_, 0, right, niceStep(right / 4));
    }
    if (fixedY_ || !std::isfinite(lo)) return;
    // Snapped to whole ticks, so a falling loss moves the axis only when it crosses one.
    const double step = niceStep(hi > lo ? (hi - lo) / 4 : 0.25);
    const double bottom = std::max(0.0, std::floor(lo / step) * step);
    const double top = std::max(bottom + step, std::ceil(hi / step) * step);
    if (bottom != shownYMin_ || top != shownYMax_) {
        shownYMin_ = bottom;
        shownYMax_ = top;
        setAxis(y_, bottom, top, step);
    }
}

void CurveChart::changeEvent(QEvent* event) {
    QChartView::changeEvent(event);
    if (event->type() == QEvent::PaletteChange) applyPalette();
}

void CurveChart::applyPalette() { applyChartPalette(this); }

} // namespace srigl::studio
