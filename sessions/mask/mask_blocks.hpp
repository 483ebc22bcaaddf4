// A layer's mask aggregated into blocks of rowsPerCell neurons x colsPerCell inputs: what one screen
// cell of the inspector stands for when the layer has more rows or columns than the view has
// pixels (see widgets/logic/mask_fit), and what one pixel of an exported picture stands for when
// the layer is larger than the picture (mask_renderer). Each block counts its connections in the states MaskInspection uses
// (kept, pruned, regrown against the previous snapshot) and its ablated neurons, and has a colour:
// the mean of its connections' colours in the inspector's exact picture, brightened so that the
// layer's densest block is at full strength (at 90% sparsity a plain mean is a dark grey wash).
// Plain C++: `srigl runs render` and the Studio share it.
#pragma once

#include "engine/training/training_observer.hpp"
#include "sessions/mask/mask_palette.hpp"

#include <cstdint>
#include <vector>

namespace srigl::sessions {

// Cells along an axis of `entries` connections, `perCell` each (the last may hold fewer).
inline int64_t cellsAlong(int64_t entries, int64_t perCell) { return (entries + perCell - 1) / perCell; }
// The connections of cell `index` along that axis: the first one and how many.
struct CellSpan {
    int64_t first = 0, count = 0;
};
inline CellSpan cellSpan(int64_t index, int64_t perCell, int64_t entries) {
    const int64_t first = index * perCell;
    return CellSpan{first, entries - first < perCell ? entries - first : perCell};
}

struct MaskBlock {
    int64_t row0 = 0, col0 = 0;                // its first neuron and input
    int64_t rows = 0, cols = 0;                // fewer than the factors in the last block row and column
    int64_t kept = 0, pruned = 0, regrown = 0; // as MaskInspection counts them; pruned ones are inactive now
    int64_t ablatedRows = 0;                   // of its neurons, the ablated ones
    int64_t entries() const { return rows * cols; }
    int64_t active() const { return kept + regrown; }
    // Active now or at the previous snapshot: what the block's colour is made of.
    int64_t touched() const { return kept + pruned + regrown; }
};

class MaskBlocks {
public:
    // previous: the snapshot before (null at the first one). Throws std::invalid_argument on a
    // malformed mask, a previous mask of another shape or a factor below 1.
    MaskBlocks(const LayerMaskSnapshot& current, const LayerMaskSnapshot* previous, int64_t rowsPerCell,
               int64_t colsPerCell);

    int64_t rowsPerCell() const { return rowsPerCell_; }
    int64_t colsPerCell() const { return colsPerCell_; }
    int64_t gridRows() const { return gridRows_; }
    int64_t gridCols() const { return gridCols_; }
    MaskBlock block(int64_t gridRow, int64_t gridCol) const;
    // The block holding connection (row, col).
    MaskBlock blockOf(int64_t row, int64_t col) const { return block(row / rowsPerCell_, col / colsPerCell_); }
    // The largest share of touched connections in any block (0 for an empty mask): the brightening.
    double densestShare() const { return densest_; }

    // RGBA pixels, each block as texelsAcross x texelsDown of them (row-major, block row = neurons):
    // (gridCols * texelsAcross) x (gridRows * texelsDown). A block's colour is background + t *
    // (changes - background): changes is the mean colour of its kept, pruned and regrown connections,
    // background that of the others (inactive, or the ablated-row colour in ablated neurons' rows), t
    // its share of touched connections divided by `densest` (at most 1). `densest` 0 means
    // densestShare(); a sequence of pictures (a video) passes the largest over its snapshots, so that
    // the brightness does not flicker from frame to frame. When the densest block is fully touched,
    // each colour is exactly the mean of its connections' colours. Several texels per block let a
    // cell of 1.4 pixels be drawn with sharp edges (see the inspector's upload).
    std::vector<uint8_t> rgba(const MaskPalette& palette = {}, int64_t texelsAcross = 1, int64_t texelsDown = 1,
                              double densest = 0.0) const;
    // The same into `out` (resized): a caller that keeps it allocates once, not at every zoom step.
    void rgbaInto(std::vector<uint8_t>& out, const MaskPalette& palette, int64_t texelsAcross,
                  int64_t texelsDown, double densest = 0.0) const;

private:
    size_t index(int64_t gridRow, int64_t gridCol) const { return static_cast<size_t>(gridRow * gridCols_ + gridCol); }
    // Touched connections of a block over its connections.
    double share(int64_t gridRow, int64_t gridCol) const;

    int64_t rows_ = 0, cols_ = 0;
    int64_t rowsPerCell_ = 1, colsPerCell_ = 1;
    int64_t gridRows_ = 0, gridCols_ = 0;
    // One record per block, 32-bit (a block of more than 4 billion connections is refused): the
    // counts of a 4096 x 4096 layer in a 512 x 512 view are 4 MiB, not 8, allocated at every zoom step.
    struct Counts {
        uint32_t kept = 0, pruned = 0, regrown = 0;
        uint32_t touchedAblated = 0; // touched connections in ablated neurons' rows
    };
    std::vector<Counts> counts_;
    std::vector<int64_t> ablatedRows_; // per block row
    double densest_ = 0.0;
};

} // namespace srigl::sessions
