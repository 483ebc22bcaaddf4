// The degrees of one layer: its fan-in histogram, the out-degree histogram of its neurons in the
// next layer (or of its own inputs when no next layer is given) and a summary (mean, min, max,
// "constant fan-in", ablated and unused neurons). A second run can stand beside the first, on
// the same count scale, for the compare dashboard. It takes the logic's results; it reads no store.
#pragma once

#include "widgets/logic/degree_histograms.hpp"

#include <QString>
#include <QWidget>

#include <optional>
#include <vector>

class QHBoxLayout;
class QLabel;

namespace srigl::studio {

class HistogramChart;

QString degreeSummary(const LayerDegrees& layer, const std::optional<NextLayerUse>& next);

class DegreeHistogramView : public QWidget {
    Q_OBJECT
public:
    explicit DegreeHistogramView(QWidget* parent = nullptr);

    // One run (the comparison, if any, is dropped). run: a heading such as "run 12" (may be empty).
    void setData(const LayerDegrees& layer, const std::optional<NextLayerUse>& next = std::nullopt,
                 const QString& run = {});
    // A second run beside the first.
    void setComparison(const LayerDegrees& layer, const std::optional<NextLayerUse>& next, const QString& run);
    void clearComparison();

    int columns() const; // 1, or 2 with a comparison
    const HistogramChart* fanInChart(int column = 0) const;
    const HistogramChart* outDegreeChart(int column = 0) const;
    QString summaryText(int column = 0) const;
    QString headingText(int column = 0) const;

private:
    struct Column {
        QWidget* box = nullptr;
        QLabel* heading = nullptr;
        HistogramChart* fanIn = nullptr;
        HistogramChart* outDegree = nullptr;
        QLabel* summary = nullptr;
        LayerDegrees layer;
        std::optional<NextLayerUse> next;
    };
    void fill(Column& column, const LayerDegrees& layer, const std::optional<NextLayerUse>& next, const QString& run);
    void rescale(); // one count scale for both columns

    QHBoxLayout* row_ = nullptr;
    Column columns_[2];
    bool comparing_ = false;
};

} // namespace srigl::studio
