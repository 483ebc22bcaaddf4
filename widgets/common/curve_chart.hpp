// A Qt Charts line chart of a few named curves over training steps, rescaled as points arrive;
// follows the application palette (dark or light).
#pragma once

#include "widgets/common/session_history.hpp"

#include <QChartView>
#include <QString>

#include <vector>

class QLineSeries;
class QValueAxis;

namespace srigl::studio {

class CurveChart : public QChartView {
    Q_OBJECT
public:
    CurveChart(const QString& title, const QString& yTitle, QWidget* parent = nullptr);

    // Adds a curve; returns its index for setPoints.
    int addCurve(const QString& name);
    // Replaces a curve's points (one replace call, no per-point signals). Setting several curves:
    // rescale only with the last one, since each axis change re-lays out the labels.
    void setPoints(int curve, const std::vector<CurvePoint>& points, bool rescaleNow = true);
    // Fixes the y range (e.g. [0, 1] for accuracy); otherwise it follows the data.
    void setYRange(double min, double max);
    void setXMax(double max); // the run's last step, so the curve grows into a known width
    int pointCount(int curve) const;

protected:
    void changeEvent(QEvent* event) override;

private:
    void applyPalette();
    void rescale();

    std::vector<QLineSeries*> series_;
    QValueAxis* x_ = nullptr;
    QValueAxis* y_ = nullptr;
    bool fixedY_ = false;
    double xMax_ = 1.0;
    double shownX_ = -1.0, shownYMin_ = 0.0, shownYMax_ = -1.0; // the axes' current ranges
};

} // namespace srigl::studio
