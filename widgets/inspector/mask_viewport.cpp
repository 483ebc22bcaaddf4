#include "widgets/inspector/mask_viewport.hpp"

#include "widgets/logic/mask_fit.hpp"
#include "sessions/mask/mask_blocks.hpp" // cellsAlong, cellSpan

#include <algorithm>
#include <cmath>

namespace srigl::studio {

void MaskViewport::setContent(int64_t cols, int64_t rows) {
    if (cols == cols_ && rows == rows_) return; // the next step of the same layer keeps the view
    cols_ = cols;
    rows_ = rows;
    fit();
}

void MaskViewport::setViewSize(QSizeF size) {
    const QSizeF view(std::max(1.0, size.width()), std::max(1.0, size.height()));
    if (view == view_) return;
    view_ = view;
    const bool wasFitted = fitted_;
    const MaskFit f = fitMask(rows_, cols_, view_.width(), view_.height());
    fitZoomX_ = f.pixelsPerCol();
    fitZoomY_ = f.pixelsPerRow();
    if (wasFitted) fit(); // a fitted picture stays fitted while the dock is resized
}

void MaskViewport::fit() {
    if (cols_ <= 0 || rows_ <= 0) {
        zoomX_ = zoomY_ = fitZoomX_ = fitZoomY_ = 1.0;
        rowsPerCell_ = colsPerCell_ = 1;
        origin_ = QPointF(0, 0);
        fitted_ = false;
        return;
    }
    const MaskFit f = fitMask(rows_, cols_, view_.width(), view_.height());
    zoomX_ = fitZoomX_ = f.pixelsPerCol();
    zoomY_ = fitZoomY_ = f.pixelsPerRow();
    // Fit's factors, not ones derived back from the scales: the same numbers, without rounding.
    rowsPerCell_ = f.rowsPerCell;
    colsPerCell_ = f.colsPerCell;
    origin_ = QPointF((view_.width() - f.width()) / 2.0, (view_.height() - f.height()) / 2.0);
    fitted_ = true;
}

void MaskViewport::aggregateForZoom() {
    rowsPerCell_ = entriesPerCellAt(zoomY_);
    colsPerCell_ = entriesPerCellAt(zoomX_);
}

void MaskViewport::zoomAt(QPointF screen, double factor) {
    if (cols_ <= 0 || rows_ <= 0 || !(factor > 0.0)) return;
    // Each axis on its own: a band-shaped layer zoomed in reaches kMaxZoom on its short axis first
    // and keeps growing on the other until single entries show there too.
    const double zx = std::clamp(zoomX_ * factor, std::min(kMaxZoom, 0.25 * fitZoomX_), kMaxZoom);
    const double zy = std::clamp(zoomY_ * factor, std::min(kMaxZoom, 0.25 * fitZoomY_), kMaxZoom);
    // The content point under the cursor, in entries, stays where it is.
    const double cx = (screen.x() - origin_.x()) / zoomX_, cy = (screen.y() - origin_.y()) / zoomY_;
    zoomX_ = zx;
    zoomY_ = zy;
    origin_ = QPointF(screen.x() - cx * zoomX_, screen.y() - cy * zoomY_);
    aggregateForZoom();
    fitted_ = false;
}

void MaskViewport::panBy(QPointF delta) {
    origin_ += delta;
    fitted_ = false;
}

double MaskViewport::rowTop(int64_t row) const {
    const int64_t first = row >= 0 ? row / rowsPerCell_ * rowsPerCell_ : row;
    return origin_.y() + static_cast<double>(first) * zoomY_;
}

int64_t MaskViewport::gridRows() const { return sessions::cellsAlong(rows_, rowsPerCell_); }

int64_t MaskViewport::gridCols() const { return sessions::cellsAlong(cols_, colsPerCell_); }

int64_t MaskViewport::rowAt(double y) const {
    const auto cell = static_cast<int64_t>(std::floor((y - origin_.y()) / cellHeight()));
    return cell * rowsPerCell_;
}

QRectF MaskViewport::screenRect(int64_t col0, int64_t row0, int64_t cols, int64_t rows) const {
    return QRectF(origin_.x() + static_cast<double>(col0) * zoomX_, origin_.y() + static_cast<double>(row0) * zoomY_,
                  static_cast<double>(cols) * zoomX_, static_cast<double>(rows) * zoomY_);
}

QRectF MaskViewport::cellsRect(int64_t gridCol0, int64_t gridRow0, int64_t gridCols, int64_t gridRows) const {
    return screenRect(gridCol0 * colsPerCell_, gridRow0 * rowsPerCell_, gridCols * colsPerCell_,
                      gridRows * rowsPerCell_);
}

std::optional<MaskCell> MaskViewport::hitCell(QPointF screen) const {
    if (screen.x() < 0 || screen.y() < 0 || screen.x() >= view_.width() || screen.y() >= view_.height())
        return std::nullopt;
    const auto gc = static_cast<int64_t>(std::floor((screen.x() - origin_.x()) / cellWidth()));
    const auto gr = static_cast<int64_t>(std::floor((screen.y() - origin_.y()) / cellHeight()));
    if (gc < 0 || gr < 0 || gc >= gridCols() || gr >= gridRows()) return std::nullopt;
    const sessions::CellSpan down = sessions::cellSpan(gr, rowsPerCell_, rows_), across = sessions::cellSpan(gc, colsPerCell_, cols_);
    return MaskCell{down.first, across.first, down.count, across.count};
}

std::optional<MaskEntry> MaskViewport::hit(QPointF screen) const {
    const auto cell = hitCell(screen);
    if (!cell) return std::nullopt;
    return MaskEntry{cell->row0, cell->col0};
}

} // namespace srigl::studio
