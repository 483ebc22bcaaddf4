// A bar chart of an integer histogram (degree_histograms' IntHistogram): one bar per bin, labelled
// by its value ("12") or range ("8-15"), empty bins kept so that gaps in a spread stay visible; or
// of bars labelled by the caller (setBars).
// Follows the palette like the other charts.
#pragma once

#include "widgets/logic/degree_histograms.hpp"

#include <QChartView>
#include <QString>

#include <vector>

namespace srigl::studio {

struct HistogramBar {
    QString label;
    int64_t count = 0;
};

class HistogramChart : public QChartView {
    Q_OBJECT
public:
    HistogramChart(const QString& title, const QString& xTitle, QWidget* parent = nullptr);

    // yMax > 0 fixes the count axis (two runs side by side on one scale); 0 follows the data.
    void setHistogram(const IntHistogram& histogram, int64_t yMax = 0);
    // Bars already labelled (a histogram of real values, such as thresholds); yMax as above.
    void setBars(const std::vector<HistogramBar>& bars, int64_t yMax = 0);
    void setTitle(const QString& title);
    // At most this many bars get a label (12 unless set; applies from the next setHistogram): narrow
    // charts, such as the compare dashboard's columns, need fewer for "100-104" labels not to overlap.
    void setNamedBins(int bins);
    const std::vector<HistogramBar>& bars() const { return bars_; }

protected:
    void changeEvent(QEvent* event) override;

private:
    QString xTitle_;
    size_t namedBins_ = 12;
    std::vector<HistogramBar> bars_;
};

QString binLabel(const IntHistogram& histogram, size_t bin);

} // namespace srigl::studio
