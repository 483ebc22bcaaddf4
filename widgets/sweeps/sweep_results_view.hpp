// A sweep's results as a researcher plots them: test accuracy against the x axis (sparsity), one
// line per series (method) with error bars of one sample standard deviation over the averaged axes
// (seeds) and the count at each point. Painted with QPainter, so the same drawing goes to the
// screen, to a PNG and to an SVG (publication colours: white background, dark text); the CSV holds
// the numbers.
#pragma once

#include "sessions/store/sweep_results.hpp"

#include <QString>
#include <QWidget>

class QPainter;

namespace srigl::studio {

class SweepResultsView : public QWidget {
    Q_OBJECT
public:
    explicit SweepResultsView(QWidget* parent = nullptr);

    void setResults(const sessions::SweepResults& results, const QString& title);
    void clear();
    const sessions::SweepResults& results() const { return results_; }
    bool hasResults() const { return !results_.series.empty(); }
    QString title() const { return title_; }

    // Each returns false with `error` set when the file cannot be written.
    bool exportPng(const QString& path, QString* error = nullptr) const;
    bool exportSvg(const QString& path, QString* error = nullptr) const;
    bool exportCsv(const QString& path, QString* error = nullptr) const;

    // The drawing, into any painter (screen, image, SVG).
    static void paint(QPainter& painter, const QRectF& area, const sessions::SweepResults& results, const QString& title,
                      const QColor& background, const QColor& foreground);
    // The colour of series i (Okabe-Ito: distinguishable with colour-blindness).
    static QColor seriesColor(int i);

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    sessions::SweepResults results_;
    QString title_;
};

} // namespace srigl::studio
