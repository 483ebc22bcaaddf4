// Counting and colouring walk the packed bits a byte at a time (a 4096 x 4096 layer is 2 MiB).
#include "widgets/inspector/mask_inspection.hpp"

#include <stdexcept>
#include <string>

namespace srigl::studio {

namespace {

void checkShape(const LayerMaskSnapshot& m, const char* what) {
    if (m.outFeatures <= 0 || m.fanIn <= 0)
        throw std::invalid_argument(std::string(what) + " mask of '" + m.name + "' has an empty shape");
    const auto bytes = static_cast<size_t>((m.outFeatures * m.fanIn + 7) / 8);
    if (m.bits.size() != bytes)
        throw std::invalid_argument(std::string(what) + " mask of '" + m.name + "' has " + std::to_string(m.bits.size()) +
                                    " bytes, expected " + std::to_string(bytes));
}

int popcount8(uint8_t v) { return __builtin_popcount(static_cast<unsigned>(v)); }

} // namespace

MaskInspection::MaskInspection(LayerMaskSnapshot current, std::optional<LayerMaskSnapshot> previous, int64_t k,
                               std::optional<std::vector<float>> weights)
    : current_(std::move(current)), previous_(std::move(previous)), k_(k), weights_(std::move(weights)) {
    checkShape(current_, "the");
    if (previous_) {
        checkShape(*previous_, "the previous");
        if (previous_->outFeatures != current_.outFeatures || previous_->fanIn != current_.fanIn ||
            previous_->rowStride != current_.rowStride)
            throw std::invalid_argument("the previous mask of '" + current_.name + "' has another shape");
    }
    const int64_t rows = current_.outFeatures, cols = current_.fanIn;
    fanIn_.assign(static_cast<size_t>(rows), 0);
    rowStart_.assign(static_cast<size_t>(rows), 0);
    ablatedRows_.assign(static_cast<size_t>(rows), 0);
    for (int64_t id : current_.ablated) {
        if (id < 0 || id >= rows)
            throw std::invalid_argument("ablated neuron " + std::to_string(id) + " of '" + current_.name + "' is out of range");
        ablatedRows_[static_cast<size_t>(id)] = 1;
    }
    int64_t total = 0;
    for (int64_t r = 0; r < rows; ++r) {
        rowStart_[static_cast<size_t>(r)] = total;
        int64_t n = 0;
        // Rows need not start on a byte boundary: whole bytes in the middle, single bits at the ends.
        int64_t i = r * cols;
        const int64_t end = i + cols;
        for (; i < end && (i & 7); ++i) n += bit(current_.bits, i);
        for (; i + 8 <= end; i += 8) n += popcount8(current_.bits[static_cast<size_t>(i >> 3)]);
        for (; i < end; ++i) n += bit(current_.bits, i);
        fanIn_[static_cast<size_t>(r)] = n;
        total += n;
        if (n > maxFanIn_) maxFanIn_ = n;
    }
    for (int64_t r = 0; r < rows; ++r)
        if (differs(r)) offenders_.push_back(r);
    if (weights_ && static_cast<int64_t>(weights_->size()) != total)
        throw std::invalid_argument("'" + current_.name + "' has " + std::to_string(total) + " active connections but " +
                                    std::to_string(weights_->size()) + " stored weights");

    const size_t bytes = current_.bits.size();
    const uint8_t lastMask = static_cast<uint8_t>(((rows * cols) & 7) ? (1u << ((rows * cols) & 7)) - 1u : 0xFFu);
    for (size_t b = 0; b < bytes; ++b) {
        const uint8_t valid = b + 1 == bytes ? lastMask : 0xFF;
        const uint8_t now = current_.bits[b] & valid;
        const uint8_t before = previous_ ? static_cast<uint8_t>(previous_->bits[b] & valid) : now;
        kept_ += popcount8(now & before);
        pruned_ += popcount8(static_cast<uint8_t>(before & ~now));
        regrown_ += popcount8(static_cast<uint8_t>(now & ~before));
    }
}

bool MaskInspection::active(int64_t row, int64_t col) const { return bit(current_.bits, row * cols() + col); }

MaskInspection::Cell MaskInspection::cell(int64_t row, int64_t col) const {
    const int64_t i = row * cols() + col;
    const bool now = bit(current_.bits, i);
    const bool before = previous_ ? bit(previous_->bits, i) : now;
    if (now) return before ? Cell::Kept : Cell::Regrown;
    return before ? Cell::Pruned : Cell::Inactive;
}

bool MaskInspection::differs(int64_t row) const {
    const int64_t n = fanIn(row);
    if (ablated(row)) return n != 0;
    return k_ > 0 && n != k_;
}

std::optional<float> MaskInspection::weight(int64_t row, int64_t col) const {
    if (!weights_ || !active(row, col)) return std::nullopt;
    int64_t index = rowStart_[static_cast<size_t>(row)];
    for (int64_t c = 0; c < col; ++c) index += bit(current_.bits, row * cols() + c);
    return (*weights_)[static_cast<size_t>(index)];
}

void MaskInspection::setGradients(std::vector<float> dense) {
    if (static_cast<int64_t>(dense.size()) != rows() * cols())
        throw std::invalid_argument("'" + current_.name + "' is " + std::to_string(rows()) + " x " + std::to_string(cols()) +
                                    " but its gradient has " + std::to_string(dense.size()) + " values");
    gradients_ = std::move(dense);
}

std::optional<float> MaskInspection::gradient(int64_t row, int64_t col) const {
    if (!gradients_ || row < 0 || col < 0 || row >= rows() || col >= cols()) return std::nullopt;
    return (*gradients_)[static_cast<size_t>(row * cols() + col)];
}

std::vector<uint8_t> MaskInspection::rgba(const sessions::MaskPalette& palette) const {
    const int64_t rows = this->rows(), cols = this->cols();
    std::vector<uint8_t> out(static_cast<size_t>(rows * cols) * 4);
    auto put = [&out](size_t p, const uint8_t* c) {
        out[p] = c[0];
        out[p + 1] = c[1];
        out[p + 2] = c[2];
        out[p + 3] = 255;
    };
    for (int64_t r = 0; r < rows; ++r) {
        const uint8_t* background = ablated(r) ? palette.ablatedRow : palette.inactive;
        for (int64_t c = 0; c < cols; ++c) {
            const int64_t i = r * cols + c;
            const size_t p = static_cast<size_t>(i) * 4;
            const bool now = bit(current_.bits, i);
            const bool before = previous_ ? bit(previous_->bits, i) : now;
            if (now) put(p, before ? palette.active : palette.regrown);
            else put(p, before ? palette.pruned : background);
        }
    }
    return out;
}

} // namespace srigl::studio
