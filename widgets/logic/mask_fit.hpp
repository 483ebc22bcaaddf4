// How the mask inspector's "Fit" lays a layer (rows = neurons, cols = inputs) into a view: the
// picture fills the view as well as it can with cells that may be non-square (between 1:4 and 4:1),
// and where a layer has more rows or columns than the view has pixels, each screen cell stands for
// a block of rowsPerCell x colsPerCell connections (the fewest that give every cell a pixel).
// Qt-free: the inspector's MaskViewport zooms and pans from here.
#pragma once

#include <cstdint>

namespace srigl::studio {

// The widest a cell may be against its height, and the tallest against its width: beyond 4:1 a
// picture of a 300 x 784 layer reads as stripes rather than cells.
constexpr double kMaxCellAspect = 4.0;
// Largest screen size of one connection (a few entries must not each cover half the dock).
constexpr double kMaxPixelsPerEntry = 64.0;

struct MaskFit {
    int64_t rowsPerCell = 1, colsPerCell = 1; // connections one screen cell stands for
    int64_t gridRows = 0, gridCols = 0;       // cells down and across
    double cellWidth = 0.0, cellHeight = 0.0; // screen pixels
    double width() const { return static_cast<double>(gridCols) * cellWidth; }
    double height() const { return static_cast<double>(gridRows) * cellHeight; }
    bool exact() const { return rowsPerCell == 1 && colsPerCell == 1; }
    // The scale along each axis, per connection (a cell spans colsPerCell of them).
    double pixelsPerCol() const { return cellWidth / static_cast<double>(colsPerCell); }
    double pixelsPerRow() const { return cellHeight / static_cast<double>(rowsPerCell); }
};

// The fewest connections along an axis that one cell must stand for with a view of `pixels` for
// `entries` of them: 1 while every entry has a pixel. Throws std::invalid_argument for a negative
// count.
int64_t entriesPerCellFor(int64_t entries, double pixels);
// The same for a scale: the fewest entries whose cell covers at least a pixel at `pixelsPerEntry`.
int64_t entriesPerCellAt(double pixelsPerEntry);

// Fit of rows x cols connections into a view of viewWidth x viewHeight pixels: the fewest entries
// per cell along each axis, then the largest cells (each side at most kMaxPixelsPerEntry per
// connection, the aspect within 1:kMaxCellAspect .. kMaxCellAspect:1) whose grid fits the view. An
// empty layer fits as an empty grid. Views under a pixel count as one pixel.
MaskFit fitMask(int64_t rows, int64_t cols, double viewWidth, double viewHeight);

} // namespace srigl::studio
