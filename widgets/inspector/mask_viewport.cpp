#include "widgets/inspector/mask_viewport.hpp"

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
    const bool wasFitted = fitted_;
    view_ = QSizeF(std::max(1.0, size.width()), std::max(1.0, size.height()));
    if (wasFitted) fit(); // a fitted picture stays fitted while the dock is resized
}

double MaskViewport::minZoom() const {
    if (cols_ <= 0 || rows_ <= 0) return 1.0;
    // Not smaller than a quarter of "fit": there is nothing to see beyond that.
    return 0.25 * std::min(view_.width() / static_cast<double>(cols_), view_.height() / static_cast<double>(rows_));
}

void MaskViewport::fit() {
    if (cols_ <= 0 || rows_ <= 0) {
        zoom_ = 1.0;
        origin_ = QPointF(0, 0);
        fitted_ = false;
        return;
    }
    zoom_ = std::min(kMaxZoom, 4.0 * minZoom());
    origin_ = QPointF((view_.width() - zoom_ * static_cast<double>(cols_)) / 2.0,
                      (view_.height() - zoom_ * static_cast<double>(rows_)) / 2.0);
    fitted_ = true;
}

void MaskViewport::zoomAt(QPointF screen, double factor) {
    if (cols_ <= 0 || rows_ <= 0 || !(factor > 0.0)) return;
    const double z = std::clamp(zoom_ * factor, minZoom(), kMaxZoom);
    // The content point under the cursor, in entries, stays where it is.
    const QPointF content = (screen - origin_) / zoom_;
    zoom_ = z;
    origin_ = screen - content * zoom_;
    fitted_ = false;
}

void MaskViewport::panBy(QPointF delta) {
    origin_ += delta;
    fitted_ = false;
}

int64_t MaskViewport::rowAt(double y) const {
    return static_cast<int64_t>(std::floor((y - origin_.y()) / zoom_));
}

QRectF MaskViewport::screenRect(int64_t col0, int64_t row0, int64_t cols, int64_t rows) const {
    return QRectF(origin_.x() + static_cast<double>(col0) * zoom_, origin_.y() + static_cast<double>(row0) * zoom_,
                  static_cast<double>(cols) * zoom_, static_cast<double>(rows) * zoom_);
}

std::optional<MaskEntry> MaskViewport::hit(QPointF screen) const {
    if (screen.x() < 0 || screen.y() < 0 || screen.x() >= view_.width() || screen.y() >= view_.height()) return std::nullopt;
    const auto col = static_cast<int64_t>(std::floor((screen.x() - origin_.x()) / zoom_));
    const auto row = static_cast<int64_t>(std::floor((screen.y() - origin_.y()) / zoom_));
    if (col < 0 || row < 0 || col >= cols_ || row >= rows_) return std::nullopt;
    return MaskEntry{row, col};
}

} // namespace srigl::studio
