// Zoom and pan of the mask picture inside the inspector's view, and the way back from a screen
// point to the (neuron, input) under it, or to the block of them one screen cell stands for when the
// layer has more rows or columns than the view has pixels. Screen coordinates are relative to the
// view's top-left corner, in logical pixels. Each axis has its own scale (cells need not be square):
// entry (row, col) covers [origin + (col*zoomX, row*zoomY), + (zoomX, zoomY)). A screen cell is
// rowsPerCell x colsPerCell entries, the fewest that give it a pixel (1 x 1 once zoomed in far enough);
// cells start at entry (0, 0), so the last cell of a row or column may stand for fewer entries.
// "Fit" (logic/mask_fit) fills the view; the wheel zooms both axes by the same factor.
#pragma once

#include <QPointF>
#include <QRectF>
#include <QSizeF>

#include <cstdint>
#include <optional>

namespace srigl::studio {

struct MaskEntry {
    int64_t row = 0; // neuron
    int64_t col = 0; // input
    bool operator==(const MaskEntry& o) const { return row == o.row && col == o.col; }
};

// The entries one screen cell stands for: rows [row0, row0 + rows) x cols [col0, col0 + cols),
// clipped to the layer (1 x 1 when the view is exact).
struct MaskCell {
    int64_t row0 = 0, col0 = 0;
    int64_t rows = 1, cols = 1;
    bool operator==(const MaskCell& o) const {
        return row0 == o.row0 && col0 == o.col0 && rows == o.rows && cols == o.cols;
    }
};

class MaskViewport {
public:
    static constexpr double kMaxZoom = 64.0; // screen pixels per entry along an axis

    // A new content size (cols x rows entries) keeps the view when the shape is the same (a new step
    // of the same layer) and fits the whole picture otherwise.
    void setContent(int64_t cols, int64_t rows);
    void setViewSize(QSizeF size);
    // The whole picture in view, centred, as large as it can be with cells between 1:4 and 4:1.
    void fit();
    // Zooms both axes by `factor` around `screen`: the entry under it stays under it. Each axis stops
    // at kMaxZoom and at a quarter of its Fit scale.
    void zoomAt(QPointF screen, double factor);
    void panBy(QPointF delta);

    double zoomX() const { return zoomX_; }                           // screen pixels per input
    double zoomY() const { return zoomY_; }                           // screen pixels per neuron
    double zoom() const { return zoomX_ < zoomY_ ? zoomX_ : zoomY_; } // the smaller of the two
    int64_t rowsPerCell() const { return rowsPerCell_; }
    int64_t colsPerCell() const { return colsPerCell_; }
    bool exact() const { return rowsPerCell_ == 1 && colsPerCell_ == 1; }
    double cellWidth() const { return zoomX_ * static_cast<double>(colsPerCell_); }
    double cellHeight() const { return zoomY_ * static_cast<double>(rowsPerCell_); }
    int64_t gridRows() const;
    int64_t gridCols() const;
    QPointF origin() const { return origin_; } // screen position of entry (0, 0)'s top-left corner
    QSizeF viewSize() const { return view_; }
    int64_t cols() const { return cols_; }
    int64_t rows() const { return rows_; }
    bool fitted() const { return fitted_; }
    // Screen y of the top of the cell holding `row` (the row's own top when exact).
    double rowTop(int64_t row) const;
    // The first row of the cell at screen y (may be outside [0, rows)).
    int64_t rowAt(double y) const;
    // Where the block of entries [col0, col0 + cols) x [row0, row0 + rows) is on screen (one
    // texture tile, or the whole picture).
    QRectF screenRect(int64_t col0, int64_t row0, int64_t cols, int64_t rows) const;
    // Where cells [gridCol0, + gridCols) x [gridRow0, + gridRows) are on screen (the aggregated
    // picture, or a tile of it): the last cells drawn as large as the others.
    QRectF cellsRect(int64_t gridCol0, int64_t gridRow0, int64_t gridCols, int64_t gridRows) const;
    // The whole picture as drawn: every cell at full size.
    QRectF pictureRect() const { return cellsRect(0, 0, gridCols(), gridRows()); }

    // The entry under `screen`, none outside the view or the picture; when cells stand for blocks,
    // the first entry of the block.
    std::optional<MaskEntry> hit(QPointF screen) const;
    // The entries of the cell under `screen`, none outside the view or the picture.
    std::optional<MaskCell> hitCell(QPointF screen) const;

private:
    void aggregateForZoom();

    int64_t cols_ = 0, rows_ = 0;
    QSizeF view_{1, 1};
    double zoomX_ = 1.0, zoomY_ = 1.0;
    double fitZoomX_ = 1.0, fitZoomY_ = 1.0; // the scales "Fit" gives in this view
    int64_t rowsPerCell_ = 1, colsPerCell_ = 1;
    QPointF origin_{0, 0};
    bool fitted_ = false;
};

} // namespace srigl::studio
