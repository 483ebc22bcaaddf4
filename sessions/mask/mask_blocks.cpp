// One pass over the packed bits, visiting only the bits active now or before (a tenth of a 90%-sparse
// layer): the inspector re-aggregates on the UI thread at every zoom step that changes the factors.
#include "sessions/mask/mask_blocks.hpp"

#include "sessions/mask/mask_bits.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

namespace srigl::sessions {

MaskBlocks::MaskBlocks(const LayerMaskSnapshot& current, const LayerMaskSnapshot* previous, int64_t rowsPerCell,
                       int64_t colsPerCell)
    : rows_(current.outFeatures), cols_(current.fanIn), rowsPerCell_(rowsPerCell), colsPerCell_(colsPerCell) {
    checkMask(current);
    if (previous) {
        checkMask(*previous);
        if (previous->outFeatures != rows_ || previous->fanIn != cols_ || previous->rowStride != current.rowStride)
            throw std::invalid_argument("the previous mask of '" + current.name + "' has another shape");
    }
    if (rowsPerCell < 1 || colsPerCell < 1)
        throw std::invalid_argument("mask blocks: " + std::to_string(rowsPerCell) + " x " +
                                    std::to_string(colsPerCell) + " connections per block");
    gridRows_ = cellsAlong(rows_, rowsPerCell_);
    gridCols_ = cellsAlong(cols_, colsPerCell_);
    if (static_cast<double>(std::min(rowsPerCell, rows_)) * static_cast<double>(std::min(colsPerCell, cols_)) > 4.0e9)
        throw std::invalid_argument("mask blocks: a block of " + std::to_string(rowsPerCell) + " x " +
                                    std::to_string(colsPerCell) + " connections is more than 32-bit counts hold");
    counts_.assign(static_cast<size_t>(gridRows_ * gridCols_), Counts{});
    ablatedRows_.assign(static_cast<size_t>(gridRows_), 0);
    const std::vector<uint8_t> ablated = ablatedFlags(current);
    const std::vector<uint8_t>& now = current.bits;
    const std::vector<uint8_t>* before = previous ? &previous->bits : nullptr;
    // Each input's block column, looked up rather than divided for every connection.
    std::vector<uint32_t> blockCol(static_cast<size_t>(cols_));
    for (int64_t c = 0; c < cols_; ++c) blockCol[static_cast<size_t>(c)] = static_cast<uint32_t>(c / colsPerCell_);
    for (int64_t r = 0; r < rows_; ++r) {
        const bool rowAblated = ablated[static_cast<size_t>(r)] != 0;
        if (rowAblated) ++ablatedRows_[static_cast<size_t>(r / rowsPerCell_)];
        const size_t base = index(r / rowsPerCell_, 0);
        const int64_t start = r * cols_, end = start + cols_;
        // A byte at a time, and within a byte only its bits active now or before (ctz).
        for (int64_t byte = start >> 3; byte <= (end - 1) >> 3; ++byte) {
            const unsigned isNow = now[static_cast<size_t>(byte)];
            const unsigned wasBefore = before ? (*before)[static_cast<size_t>(byte)] : isNow;
            unsigned any = isNow | wasBefore;
            const int64_t bit0 = byte << 3;
            if (bit0 < start) any &= 0xFFu << (start - bit0);     // the previous row's bits
            if (bit0 + 8 > end) any &= (1u << (end - bit0)) - 1u; // the next row's
            while (any != 0) {
                const int bit = __builtin_ctz(any);
                any &= any - 1u;
                const size_t k = base + blockCol[static_cast<size_t>(bit0 + bit - start)];
                const bool n = (isNow >> bit) & 1u, b = (wasBefore >> bit) & 1u;
                Counts& count = counts_[k];
                if (n && b)
                    ++count.kept;
                else if (n)
                    ++count.regrown;
                else
                    ++count.pruned;
                if (rowAblated) ++count.touchedAblated;
            }
        }
    }
    for (int64_t br = 0; br < gridRows_; ++br)
        for (int64_t bc = 0; bc < gridCols_; ++bc) densest_ = std::max(densest_, share(br, bc));
}

double MaskBlocks::share(int64_t gridRow, int64_t gridCol) const {
    const size_t k = index(gridRow, gridCol);
    const int64_t entries = cellSpan(gridRow, rowsPerCell_, rows_).count * cellSpan(gridCol, colsPerCell_, cols_).count;
    const Counts& n = counts_[k];
    return (static_cast<double>(n.kept) + n.pruned + n.regrown) / static_cast<double>(entries);
}

MaskBlock MaskBlocks::block(int64_t gridRow, int64_t gridCol) const {
    if (gridRow < 0 || gridCol < 0 || gridRow >= gridRows_ || gridCol >= gridCols_)
        throw std::invalid_argument("mask blocks: no block " + std::to_string(gridRow) + ", " +
                                    std::to_string(gridCol) + " in a grid of " + std::to_string(gridRows_) + " x " +
                                    std::to_string(gridCols_));
    const CellSpan down = cellSpan(gridRow, rowsPerCell_, rows_), across = cellSpan(gridCol, colsPerCell_, cols_);
    MaskBlock b;
    b.row0 = down.first;
    b.rows = down.count;
    b.col0 = across.first;
    b.cols = across.count;
    const size_t k = index(gridRow, gridCol);
    b.kept = counts_[k].kept;
    b.pruned = counts_[k].pruned;
    b.regrown = counts_[k].regrown;
    b.ablatedRows = ablatedRows_[static_cast<size_t>(gridRow)];
    return b;
}

std::vector<uint8_t> MaskBlocks::rgba(const MaskPalette& palette, int64_t texelsAcross, int64_t texelsDown,
                                      double densest) const {
    std::vector<uint8_t> out;
    rgbaInto(out, palette, texelsAcross, texelsDown, densest);
    return out;
}

void MaskBlocks::rgbaInto(std::vector<uint8_t>& out, const MaskPalette& palette, int64_t texelsAcross,
                          int64_t texelsDown, double densest) const {
    if (texelsAcross < 1 || texelsDown < 1)
        throw std::invalid_argument("mask blocks: " + std::to_string(texelsAcross) + " x " +
                                    std::to_string(texelsDown) + " texels per block");
    const int64_t width = gridCols_ * texelsAcross;
    out.resize(static_cast<size_t>(width * gridRows_ * texelsDown) * 4); // every byte is written below
    if (!(densest >= 0.0) || densest > 1.0)
        throw std::invalid_argument("mask blocks: a densest share of " + std::to_string(densest));
    const double full = densest > 0.0 ? densest : densest_;
    const double brighten = full > 0.0 ? 1.0 / full : 1.0;
    for (int64_t br = 0; br < gridRows_; ++br) {
        uint8_t* line = out.data() + static_cast<size_t>(br * texelsDown * width) * 4;
        const int64_t rows = cellSpan(br, rowsPerCell_, rows_).count;
        const auto ablatedRows = static_cast<double>(ablatedRows_[static_cast<size_t>(br)]);
        for (int64_t bc = 0; bc < gridCols_; ++bc) {
            const size_t k = index(br, bc);
            const int64_t cols = cellSpan(bc, colsPerCell_, cols_).count;
            const Counts& n = counts_[k];
            const auto kept = static_cast<double>(n.kept), pruned = static_cast<double>(n.pruned),
                       regrown = static_cast<double>(n.regrown);
            const double entries = static_cast<double>(rows * cols), touched = kept + pruned + regrown;
            const double rest = entries - touched;
            const double restAblated = ablatedRows * static_cast<double>(cols) - static_cast<double>(n.touchedAblated);
            const double t = std::min(1.0, brighten * touched / entries);
            const double perTouched = touched > 0.0 ? 1.0 / touched : 0.0, perRest = rest > 0.0 ? 1.0 / rest : 0.0;
            uint8_t colour[4] = {0, 0, 0, 255};
            for (int ch = 0; ch < 3; ++ch) {
                const double changes =
                    (kept * palette.active[ch] + pruned * palette.pruned[ch] + regrown * palette.regrown[ch]) *
                    perTouched;
                const double background =
                    (restAblated * palette.ablatedRow[ch] + (rest - restAblated) * palette.inactive[ch]) * perRest;
                // Rounded to nearest (the value is never negative) without std::lround, a library
                // call per channel.
                colour[ch] =
                    static_cast<uint8_t>(std::clamp(background + t * (changes - background), 0.0, 255.0) + 0.5);
            }
            for (int64_t x = 0; x < texelsAcross; ++x)
                std::memcpy(line + static_cast<size_t>((bc * texelsAcross + x) * 4), colour, 4);
        }
        // The block row's other texel rows are copies of its first.
        for (int64_t y = 1; y < texelsDown; ++y)
            std::memcpy(line + static_cast<size_t>(y * width * 4), line, static_cast<size_t>(width * 4));
    }
}

} // namespace srigl::sessions
