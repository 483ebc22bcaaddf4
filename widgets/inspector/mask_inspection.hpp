// What the mask inspector shows of one layer at one step, without any GL: each connection's state
// against the previous snapshot (kept, pruned, regrown, inactive), the RGBA picture of it, every
// neuron's fan-in with the neurons whose fan-in differs from k, the ablated neurons, and the weight
// and the gradient of a connection when the step's weights and gradients were recorded.
#pragma once

#include "engine/training/training_observer.hpp"
#include "sessions/mask/mask_palette.hpp" // the same colours as `srigl runs render`

#include <cstdint>
#include <optional>
#include <vector>

namespace srigl::studio {

class MaskInspection {
public:
    enum class Cell { Inactive, Kept, Pruned, Regrown };

    // previous: the snapshot before (none at the first one); k: the layer's constant fan-in (0 for
    // unstructured methods, when no neuron is marked); weights: active weights in the order of the
    // current mask's set bits. Throws std::invalid_argument on inconsistent shapes or counts.
    MaskInspection(LayerMaskSnapshot current, std::optional<LayerMaskSnapshot> previous, int64_t k,
                   std::optional<std::vector<float>> weights = std::nullopt);

    int64_t rows() const { return current_.outFeatures; } // neurons
    int64_t cols() const { return current_.fanIn; }       // inputs
    int64_t k() const { return k_; }
    const LayerMaskSnapshot& mask() const { return current_; }
    bool hasPrevious() const { return previous_.has_value(); }
    // The snapshot compared with (null at the first one): the inspector aggregates both into blocks.
    const LayerMaskSnapshot* previousMask() const { return previous_ ? &*previous_ : nullptr; }
    bool hasWeights() const { return weights_.has_value(); }
    bool hasGradients() const { return gradients_.has_value(); }

    bool active(int64_t row, int64_t col) const;
    Cell cell(int64_t row, int64_t col) const;
    bool ablated(int64_t row) const { return ablatedRows_[static_cast<size_t>(row)] != 0; }
    int64_t fanIn(int64_t row) const { return fanIn_[static_cast<size_t>(row)]; }
    int64_t maxFanIn() const { return maxFanIn_; }
    // Neurons whose fan-in is not what it must be: an active neuron without exactly k connections
    // (when k > 0), or an ablated neuron with any connection.
    bool differs(int64_t row) const;
    const std::vector<int64_t>& offenders() const { return offenders_; }

    int64_t kept() const { return kept_; }
    int64_t pruned() const { return pruned_; }
    int64_t regrown() const { return regrown_; }

    // The stored weight of an active connection at this step; none when the connection is inactive
    // or the step's weights were not recorded.
    std::optional<float> weight(int64_t row, int64_t col) const;
    // The dense gradient the update at this step grew by (RigL, SRigL), rows() x cols() row-major:
    // every entry has one, active or not. Throws std::invalid_argument on a wrong count.
    void setGradients(std::vector<float> dense);
    // None when no gradient was recorded at this step.
    std::optional<float> gradient(int64_t row, int64_t col) const;

    // rows() x cols() RGBA pixels, one per connection (row = neuron): the palette's colours for
    // active (kept), pruned, regrown and inactive entries; inactive entries of an ablated neuron's
    // row in ablatedRow.
    std::vector<uint8_t> rgba(const sessions::MaskPalette& palette = {}) const;

private:
    static bool bit(const std::vector<uint8_t>& bits, int64_t index) {
        return (bits[static_cast<size_t>(index >> 3)] >> (index & 7)) & 1;
    }

    LayerMaskSnapshot current_;
    std::optional<LayerMaskSnapshot> previous_;
    int64_t k_ = 0;
    std::optional<std::vector<float>> weights_;
    std::optional<std::vector<float>> gradients_;
    std::vector<int64_t> fanIn_;
    std::vector<int64_t> rowStart_; // index of each row's first active weight
    std::vector<uint8_t> ablatedRows_;
    std::vector<int64_t> offenders_;
    int64_t maxFanIn_ = 0;
    int64_t kept_ = 0, pruned_ = 0, regrown_ = 0;
};

} // namespace srigl::studio
