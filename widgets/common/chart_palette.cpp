#include "widgets/common/chart_palette.hpp"

#include <QChartView>

namespace srigl::studio {

void applyChartPalette(QChartView* view) {
    const bool dark = view->palette().color(QPalette::Window).lightness() < 128;
    const auto theme = dark ? QChart::ChartThemeDark : QChart::ChartThemeLight;
    auto* chart = view->chart();
    if (chart->theme() != theme) chart->setTheme(theme);
    chart->setBackgroundBrush(view->palette().color(QPalette::Base));
    view->setBackgroundBrush(view->palette().color(QPalette::Window));
}

} // namespace srigl::studio
