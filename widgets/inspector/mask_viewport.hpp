// Zoom and pan of the mask picture inside the inspector's view, and the way back from a screen
// point to the (neuron, input) under it. Screen coordinates are relative to the view's top-left
// corner, in logical pixels; entry (row, col) covers [origin + col*zoom, origin + (col+1)*zoom).
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

class MaskViewport {
public:
    static constexpr double kMaxZoom = 64.0; // screen pixels per entry

    // A new content size (cols x rows entries) keeps the view when the shape is the same (a new step
    // of the same layer) and fits the whole picture otherwise.
    void setContent(int64_t cols, int64_t rows);
    void setViewSize(QSizeF size);
    // The whole picture in view, centred, at the largest zoom that fits.
    void fit();
    // Zooms by `factor` around `screen`: the entry under it stays under it.
    void zoomAt(QPointF screen, double factor);
    void panBy(QPointF delta);

    double zoom() const { return zoom_; }
    QPointF origin() const { return origin_; } // screen position of entry (0, 0)'s top-left corner
    QSizeF viewSize() const { return view_; }
    int64_t cols() const { return cols_; }
    int64_t rows() const { return rows_; }
    // Screen y of the top of `row`.
    double rowTop(int64_t row) const { return origin_.y() + static_cast<double>(row) * zoom_; }
    // The row at screen y (may be outside [0, rows)).
    int64_t rowAt(double y) const;
    // Where the block of entries [col0, col0 + cols) x [row0, row0 + rows) is on screen (one
    // texture tile, or the whole picture).
    QRectF screenRect(int64_t col0, int64_t row0, int64_t cols, int64_t rows) const;

    // The entry under `screen`, none outside the view or the picture.
    std::optional<MaskEntry> hit(QPointF screen) const;

private:
    double minZoom() const;

    int64_t cols_ = 0, rows_ = 0;
    QSizeF view_{1, 1};
    double zoom_ = 1.0;
    QPointF origin_{0, 0};
    bool fitted_ = false;
};

} // namespace srigl::studio
