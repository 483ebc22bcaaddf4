#include "widgets/inspector/mask_tiles.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace srigl::studio {

namespace {

int64_t tilesAlong(int64_t n, int64_t maxSide) { return (n + maxSide - 1) / maxSide; }

void check(int64_t cols, int64_t rows, int64_t maxSide) {
    if (maxSide < 1) throw std::invalid_argument("mask tiles: the largest tile side must be >= 1, got " + std::to_string(maxSide));
    if (cols < 0 || rows < 0)
        throw std::invalid_argument("mask tiles: negative picture size " + std::to_string(cols) + " x " + std::to_string(rows));
}

} // namespace

std::vector<MaskTile> tileMask(int64_t cols, int64_t rows, int64_t maxSide) {
    check(cols, rows, maxSide);
    std::vector<MaskTile> tiles;
    if (cols == 0 || rows == 0) return tiles;
    tiles.reserve(static_cast<size_t>(tilesAlong(cols, maxSide) * tilesAlong(rows, maxSide)));
    for (int64_t r = 0; r < rows; r += maxSide)
        for (int64_t c = 0; c < cols; c += maxSide)
            tiles.push_back(MaskTile{c, r, std::min(maxSide, cols - c), std::min(maxSide, rows - r)});
    return tiles;
}

int64_t tileIndexOf(int64_t cols, int64_t rows, int64_t maxSide, int64_t row, int64_t col) {
    check(cols, rows, maxSide);
    if (row < 0 || col < 0 || row >= rows || col >= cols) return -1;
    return (row / maxSide) * tilesAlong(cols, maxSide) + col / maxSide;
}

} // namespace srigl::studio
