// Drawing and exporting the sweep results chart.
#include "widgets/sweeps/sweep_results_view.hpp"

#include "widgets/runs/export_actions.hpp"

#include <QBuffer>
#include <QImage>
#include <QPainter>
#include <QPainterPath>
#include <QSvgGenerator>

#include <algorithm>
#include <cmath>
#include <map>

namespace srigl::studio {
namespace {

constexpr QSize kExportSize(900, 560);

// A "nice" tick step (1, 2 or 5 times a power of ten) for about `ticks` ticks over `span`.
double tickStep(double span, int ticks) {
    const double raw = span / std::max(1, ticks);
    const double power = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (raw <= m * power) return m * power;
    return 10.0 * power;
}

bool setError(QString* error, const QString& text) {
    if (error) *error = text;
    return false;
}

} // namespace

SweepResultsView::SweepResultsView(QWidget* parent) : QWidget(parent) {
    setMinimumSize(320, 220);
}

void SweepResultsView::setResults(const sessions::SweepResults& results, const QString& title) {
    results_ = results;
    title_ = title;
    update();
}

void SweepResultsView::clear() {
    results_ = {};
    title_.clear();
    update();
}

QColor SweepResultsView::seriesColor(int i) {
    static const QColor colours[] = {QColor(0, 114, 178), QColor(213, 94, 0),  QColor(0, 158, 115),
                                     QColor(204, 121, 167), QColor(230, 159, 0), QColor(86, 180, 233),
                                     QColor(240, 228, 66), QColor(0, 0, 0)};
    return colours[i % 8];
}

void SweepResultsView::paint(QPainter& p, const QRectF& area, const sessions::SweepResults& r, const QString& title,
                             const QColor& background, const QColor& foreground) {
    p.save();
    p.setRenderHint(QPainter::Antialiasing);
    p.fillRect(area, background);
    p.setPen(foreground);
    const QFontMetricsF fm(p.font());
    const double line = fm.height();
    QRectF titleRect(area.left(), area.top() + 4, area.width(), line * 1.4);
    p.drawText(titleRect, Qt::AlignCenter, title);
    if (r.series.empty()) {
        p.drawText(area, Qt::AlignCenter, QObject::tr("No finished point yet"));
        p.restore();
        return;
    }
    // The x positions: every distinct x of every series, evenly spaced in ascending order (sparsities
    // such as 0.8, 0.9, 0.95, 0.99 would crowd at one end on a linear scale).
    std::map<double, QString> xs;
    double lo = 1e300, hi = -1e300;
    for (const auto& s : r.series)
        for (const auto& pt : s.points) {
            xs.emplace(pt.xValue, QString::fromStdString(pt.x));
            lo = std::min(lo, pt.mean - pt.std);
            hi = std::max(hi, pt.mean + pt.std);
        }
    if (hi - lo < 1e-9) {
        lo -= 0.005;
        hi += 0.005;
    }
    const double pad = 0.08 * (hi - lo);
    lo -= pad;
    hi += pad;
    const double step = tickStep(hi - lo, 6);
    lo = std::floor(lo / step) * step;
    hi = std::ceil(hi / step) * step;

    const double legendWidth = [&] {
        double w = 0;
        for (const auto& s : r.series) w = std::max(w, fm.horizontalAdvance(QString::fromStdString(s.label)));
        return w + 36;
    }();
    const QRectF plot(area.left() + fm.horizontalAdvance(QStringLiteral("100.0%")) + 16, titleRect.bottom() + line,
                      area.width() - fm.horizontalAdvance(QStringLiteral("100.0%")) - 32 - legendWidth,
                      area.height() - titleRect.height() - line * 4.5);
    if (plot.width() < 40 || plot.height() < 40) {
        p.restore();
        return;
    }
    auto yOf = [&](double v) { return plot.bottom() - (v - lo) / (hi - lo) * plot.height(); };
    std::map<double, double> xPos;
    {
        int i = 0;
        const int n = static_cast<int>(xs.size());
        for (const auto& [x, label] : xs) xPos[x] = plot.left() + plot.width() * (n == 1 ? 0.5 : (0.06 + 0.88 * i++ / (n - 1)));
    }
    // Grid, axes and labels.
    QColor grid = foreground;
    grid.setAlphaF(0.15);
    for (double v = lo; v <= hi + step * 0.5; v += step) {
        const double y = yOf(v);
        p.setPen(grid);
        p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y));
        p.setPen(foreground);
        p.drawText(QRectF(area.left(), y - line / 2, plot.left() - area.left() - 6, line), Qt::AlignRight | Qt::AlignVCenter,
                   QString::number(100.0 * v, 'f', step * 100 < 1 ? 1 : 0) + QLatin1Char('%'));
    }
    p.setPen(foreground);
    p.drawRect(plot);
    for (const auto& [x, label] : xs)
        p.drawText(QRectF(xPos[x] - 50, plot.bottom() + 4, 100, line), Qt::AlignHCenter | Qt::AlignTop, label);
    QString averaged;
    for (const auto& k : r.averagedKeys) averaged += (averaged.isEmpty() ? "" : ", ") + QString::fromStdString(k);
    const QString xTitle = QString::fromStdString(r.xKey.empty() ? "point" : r.xKey) +
                           (averaged.isEmpty() ? QString() : QObject::tr("   (mean \u00b1 1 std over %1; n at each point)").arg(averaged));
    p.drawText(QRectF(plot.left(), plot.bottom() + line * 1.3, plot.width(), line * 1.2), Qt::AlignCenter, xTitle);

    // Series: lines through the means, error bars, markers, counts.
    const int nSeries = static_cast<int>(r.series.size());
    for (int si = 0; si < nSeries; ++si) {
        const auto& s = r.series[static_cast<size_t>(si)];
        const QColor c = seriesColor(si);
        // Series side by side at one x, so that their error bars do not hide each other.
        const double offset = (si - (nSeries - 1) / 2.0) * 6.0;
        QPainterPath path;
        for (size_t i = 0; i < s.points.size(); ++i) {
            const QPointF at(xPos[s.points[i].xValue] + offset, yOf(s.points[i].mean));
            if (i == 0) path.moveTo(at);
            else path.lineTo(at);
        }
        p.setPen(QPen(c, 2));
        p.setBrush(Qt::NoBrush);
        p.drawPath(path);
        for (const auto& pt : s.points) {
            const double x = xPos[pt.xValue] + offset;
            if (pt.count > 1) {
                const double top = yOf(pt.mean + pt.std), bottom = yOf(pt.mean - pt.std);
                p.setPen(QPen(c, 1.5));
                p.drawLine(QPointF(x, top), QPointF(x, bottom));
                p.drawLine(QPointF(x - 4, top), QPointF(x + 4, top));
                p.drawLine(QPointF(x - 4, bottom), QPointF(x + 4, bottom));
            }
            p.setPen(QPen(background, 1));
            p.setBrush(c);
            p.drawEllipse(QPointF(x, yOf(pt.mean)), 4.0, 4.0);
            p.setPen(c);
            p.drawText(QPointF(x + 6, yOf(pt.mean) - 6), QStringLiteral("n=%1").arg(pt.count));
        }
        // Legend.
        const double ly = plot.top() + si * line * 1.3;
        p.setPen(QPen(c, 3));
        p.drawLine(QPointF(plot.right() + 12, ly + line / 2), QPointF(plot.right() + 28, ly + line / 2));
        p.setPen(foreground);
        p.drawText(QPointF(plot.right() + 32, ly + fm.ascent()), QString::fromStdString(s.label));
    }
    p.restore();
}

void SweepResultsView::paintEvent(QPaintEvent*) {
    QPainter p(this);
    paint(p, rect(), results_, title_, palette().color(QPalette::Base), palette().color(QPalette::Text));
}

bool SweepResultsView::exportPng(const QString& path, QString* error) const {
    QImage image(kExportSize * 2, QImage::Format_ARGB32);
    image.setDevicePixelRatio(2.0); // sharp in a paper or a slide
    QPainter p(&image);
    paint(p, QRectF(QPointF(0, 0), QSizeF(kExportSize)), results_, title_, Qt::white, QColor(30, 30, 30));
    p.end();
    return savePngFile(image, path, error);
}

bool SweepResultsView::exportSvg(const QString& path, QString* error) const {
    // Drawn into memory, then written all or nothing: the generator wrote the file as it went (a
    // full disk left a truncated SVG) and opened a FIFO on the UI thread.
    const QString problem = exportTargetProblem(path);
    if (!problem.isEmpty()) return setError(error, problem);
    QByteArray bytes;
    QBuffer buffer(&bytes);
    QSvgGenerator svg;
    svg.setOutputDevice(&buffer);
    svg.setSize(kExportSize);
    svg.setViewBox(QRect(QPoint(0, 0), kExportSize));
    svg.setTitle(title_);
    svg.setDescription(tr("SRigL Studio sweep results"));
    QPainter p;
    if (!p.begin(&svg)) return setError(error, tr("cannot write %1").arg(path));
    paint(p, QRectF(QPointF(0, 0), QSizeF(kExportSize)), results_, title_, Qt::white, QColor(30, 30, 30));
    p.end();
    if (bytes.isEmpty()) return setError(error, tr("cannot write %1: the drawing could not be made").arg(path));
    return writeExportFile(path, bytes, error);
}

bool SweepResultsView::exportCsv(const QString& path, QString* error) const {
    // All or nothing, and never over a device or a FIFO (QSaveFile alone renamed its file over them).
    return writeExportFile(path, QByteArray::fromStdString(sessions::sweepResultsCsv(results_)), error);
}

} // namespace srigl::studio
