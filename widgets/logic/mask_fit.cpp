#include "widgets/logic/mask_fit.hpp"
#include "sessions/mask/mask_blocks.hpp" // cellsAlong, cellSpan

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace srigl::studio {

int64_t entriesPerCellFor(int64_t entries, double pixels) {
    if (entries < 0) throw std::invalid_argument("mask fit: negative entry count " + std::to_string(entries));
    // Whole pixels: half a pixel of a cell is a blend of two cells, not a cell.
    const auto whole = static_cast<int64_t>(std::max(1.0, std::floor(pixels)));
    return std::max<int64_t>(1, (entries + whole - 1) / whole);
}

int64_t entriesPerCellAt(double pixelsPerEntry) {
    if (!(pixelsPerEntry > 0.0)) return 1;
    // The tolerance keeps a scale of exactly 1/n (after zooming back) at n, not n + 1.
    return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(1.0 / pixelsPerEntry - 1e-9)));
}

MaskFit fitMask(int64_t rows, int64_t cols, double viewWidth, double viewHeight) {
    MaskFit f;
    f.rowsPerCell = entriesPerCellFor(rows, viewHeight);
    f.colsPerCell = entriesPerCellFor(cols, viewWidth);
    if (rows == 0 || cols == 0) return f;
    f.gridRows = sessions::cellsAlong(rows, f.rowsPerCell);
    f.gridCols = sessions::cellsAlong(cols, f.colsPerCell);
    const double width = std::max(1.0, viewWidth), height = std::max(1.0, viewHeight);
    // The largest cells whose grid fits, each axis on its own; then the longer side is cut back to
    // kMaxCellAspect times the shorter one (the area lost is the least possible for that bound).
    double w =
        std::min(width / static_cast<double>(f.gridCols), kMaxPixelsPerEntry * static_cast<double>(f.colsPerCell));
    double h =
        std::min(height / static_cast<double>(f.gridRows), kMaxPixelsPerEntry * static_cast<double>(f.rowsPerCell));
    w = std::min(w, kMaxCellAspect * h);
    h = std::min(h, kMaxCellAspect * w);
    f.cellWidth = w;
    f.cellHeight = h;
    return f;
}

} // namespace srigl::studio
