// A small Qt Charts line chart over any x (sparsity, batch size, step), with point markers, that
// is rebuilt as a whole: the compare dashboard's accuracy-vs-sparsity figure, the layer statistics'
// series and the timing panel's speed-ups. Follows the palette like CurveChart.
#pragma once

#include "widgets/common/session_history.hpp"

#include <QChartView>
#include <QString>

#include <vector>

class QAbstractAxis;

namespace srigl::studio {

struct XySeries {
    QString name;
    std::vector<CurvePoint> points; // CurvePoint::step is the x value
};

class XyChart : public QChartView {
    Q_OBJECT
public:
    XyChart(const QString& title, const QString& xTitle, const QString& yTitle, QWidget* parent = nullptr);

    void setLogX(bool log) { logX_ = log; } // base 2 (batch sizes); applies at the next setSeries
    void setMarkers(bool on) { markers_ = on; } // point markers (off for long curves)
    void setYRange(double min, double max); // fixed; otherwise it follows the data
    void setSeries(const std::vector<XySeries>& series);
    int seriesCount() const { return static_cast<int>(shown_.size()); }
    const std::vector<XySeries>& series() const { return shown_; }

protected:
    void changeEvent(QEvent* event) override;

private:
    void applyPalette();

    QString xTitle_, yTitle_;
    bool logX_ = false, fixedY_ = false, markers_ = true;
    double yMin_ = 0.0, yMax_ = 1.0;
    std::vector<XySeries> shown_;
};

} // namespace srigl::studio
