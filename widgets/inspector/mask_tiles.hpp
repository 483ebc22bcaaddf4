// How a mask picture larger than the GPU's largest texture (GL_MAX_TEXTURE_SIZE) is cut into
// textures: a grid of tiles, each at most `maxSide` entries on a side, covering the picture exactly
// once. Tiles are in entry coordinates, so the inspector draws tile t at origin + (zoomX * col0,
// zoomY * row0) and zoom, pan and hit testing (MaskViewport) stay the same as for one texture. The
// picture of aggregated blocks is cut the same way, in its own texels.
#pragma once

#include <cstdint>
#include <vector>

namespace srigl::studio {

struct MaskTile {
    int64_t col0 = 0, row0 = 0; // first entry of the tile
    int64_t cols = 0, rows = 0;
    bool operator==(const MaskTile& o) const {
        return col0 == o.col0 && row0 == o.row0 && cols == o.cols && rows == o.rows;
    }
};

// Row-major tiles (left to right, then top to bottom). An empty picture has none. Throws
// std::invalid_argument for maxSide < 1 or a negative size.
std::vector<MaskTile> tileMask(int64_t cols, int64_t rows, int64_t maxSide);

// The tile holding entry (row, col) in tiles from tileMask(cols, rows, maxSide); -1 outside.
int64_t tileIndexOf(int64_t cols, int64_t rows, int64_t maxSide, int64_t row, int64_t col);

} // namespace srigl::studio
