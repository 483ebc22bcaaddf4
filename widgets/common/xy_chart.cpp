// Rebuilt-on-demand line charts.
#include "widgets/common/xy_chart.hpp"

#include "widgets/common/chart_palette.hpp"

#include <QChart>
#include <QEvent>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

namespace srigl::studio {

XyChart::XyChart(const QString& title, const QString& xTitle, const QString& yTitle, QWidget* parent)
    : QChartView(parent), xTitle_(xTitle), yTitle_(yTitle) {
    auto* chart = new QChart;
    chart->setTitle(title);
    chart->legend()->setAlignment(Qt::AlignBottom);
    chart->setMargins(QMargins(4, 4, 4, 4));
    setChart(chart);
    setRenderHint(QPainter::Antialiasing);
    setMinimumSize(260, 200);
    setSeries({});
    applyPalette();
}

void XyChart::setYRange(double min, double max) {
    fixedY_ = true;
    yMin_ = min;
    yMax_ = max;
}

void XyChart::setSeries(const std::vector<XySeries>& series) {
    auto* chart = this->chart();
    chart->removeAllSeries();
    for (auto* axis : chart->axes()) {
        chart->removeAxis(axis);
        delete axis;
    }
    shown_ = series;
    double xLo = INFINITY, xHi = -INFINITY, yLo = INFINITY, yHi = -INFINITY;
    for (const auto& s : series)
        for (const auto& p : s.points) {
            if (!std::isfinite(p.value) || (logX_ && p.step <= 0)) continue;
            xLo = std::min(xLo, p.step);
            xHi = std::max(xHi, p.step);
            yLo = std::min(yLo, p.value);
            yHi = std::max(yHi, p.value);
        }
    if (!std::isfinite(xLo)) {
        xLo = logX_ ? 1 : 0;
        xHi = logX_ ? 2 : 1;
        yLo = 0;
        yHi = 1;
    }
    QAbstractAxis* x = nullptr;
    if (logX_) {
        auto* log = new QLogValueAxis;
        log->setBase(2);
        log->setLabelFormat(QStringLiteral("%g"));
        log->setRange(xLo, std::max(xHi, xLo * 2));
        x = log;
    } else {
        auto* lin = new QValueAxis;
        const double pad = xHi > xLo ? 0.03 * (xHi - xLo) : 0.5;
        lin->setRange(xLo - pad, xHi + pad);
        lin->applyNiceNumbers(); // ticks at round values, not at 7.51, 29.4, ...
        lin->setLabelFormat(QStringLiteral("%g"));
        x = lin;
    }
    x->setTitleText(xTitle_);
    auto* y = new QValueAxis;
    y->setTitleText(yTitle_);
    y->setLabelFormat(QStringLiteral("%.3g"));
    if (fixedY_) {
        y->setRange(yMin_, yMax_);
    } else {
        const double pad = yHi > yLo ? 0.08 * (yHi - yLo) : std::max(0.5, std::abs(yHi) * 0.1);
        // Counts and speed-ups are never negative: keep the axis from dipping below zero.
        y->setRange(yLo >= 0 ? std::max(0.0, yLo - pad) : yLo - pad, yHi + pad);
        y->applyNiceNumbers();
    }
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    for (const auto& s : series) {
        auto* line = new QLineSeries;
        line->setName(s.name);
        line->setPointsVisible(markers_);
        for (const auto& p : s.points)
            if (std::isfinite(p.value) && (!logX_ || p.step > 0)) line->append(p.step, p.value);
        chart->addSeries(line);
        line->attachAxis(x);
        line->attachAxis(y);
    }
    applyPalette();
}

void XyChart::changeEvent(QEvent* event) {
    QChartView::changeEvent(event);
    if (event->type() == QEvent::PaletteChange) applyPalette();
}

void XyChart::applyPalette() { applyChartPalette(this); }

} // namespace srigl::studio
