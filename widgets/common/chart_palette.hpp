// Qt Charts has its own themes: a chart view follows the window's light or dark palette through
// this, called at construction and on every PaletteChange.
#pragma once

class QChartView;

namespace srigl::studio {

void applyChartPalette(QChartView* view);

} // namespace srigl::studio
