// The training passes of condensed_training.hpp: the forward that keeps its transposed input, and one
// backward that transposes gy once and computes grad_input (gathered over the cached column layout)
// and grad_values (dots against the forward's xT) in one pool job.
#include "engine/kernels/condensed_training.hpp"

#include "engine/kernels/avx512_dispatch.hpp"
#include "engine/kernels/condensed_backward.hpp"
#include "engine/kernels/condensed_internal.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

namespace srigl::kernels {
namespace {

// Below this batch the blocked layout wastes most of its block on padding (condensed_backward.cpp's
// kMinBlockedBatch).
constexpr int64_t kMinTrainingBatch = 4;

void check(const char* what, const CondensedView& layer, Isa isa, int64_t block) {
    if (!isaSupported(isa))
        throw std::invalid_argument(std::string(what) + ": instruction set " + toString(isa) +
                                    " is not supported by this CPU");
    if (layer.rows < 0 || layer.inFeatures < 1 || (layer.rows > 0 && (layer.k < 1 || !layer.values || !layer.indices)))
        throw std::invalid_argument(std::string(what) + ": malformed condensed layer");
    if (block != 8 && block != 16 && block != 32)
        throw std::invalid_argument(std::string(what) + ": block must be 8, 16 or 32");
}

int maxThreads(int threads) { return threads > 0 ? threads : at::get_num_threads(); }

template <typename Index>
void buildLayout(const CondensedView& L, ColumnLayout& c) {
    const auto* indices = static_cast<const Index*>(L.indices);
    const int64_t nnz = L.rows * L.k;
    c.start.assign(static_cast<size_t>(L.inFeatures + 1), 0);
    for (int64_t e = 0; e < nnz; ++e) ++c.start[static_cast<size_t>(indices[e]) + 1];
    for (int64_t i = 0; i < L.inFeatures; ++i) c.start[static_cast<size_t>(i + 1)] += c.start[static_cast<size_t>(i)];
    std::vector<int64_t> cursor(c.start.begin(), c.start.end() - 1);
    c.row.resize(static_cast<size_t>(nnz));
    c.pos.resize(static_cast<size_t>(nnz));
    for (int64_t r = 0; r < L.rows; ++r)
        for (int64_t j = 0; j < L.k; ++j) {
            const int64_t at = cursor[static_cast<size_t>(indices[r * L.k + j])]++;
            c.row[static_cast<size_t>(at)] = static_cast<int32_t>(r);
            c.pos[static_cast<size_t>(at)] = static_cast<int32_t>(r * L.k + j);
        }
}

} // namespace

ColumnLayout buildColumnLayout(const CondensedView& layer) {
    if (layer.rows < 0 || layer.k < 0 || layer.inFeatures < 1 || (layer.rows * layer.k > 0 && !layer.indices))
        throw std::invalid_argument("buildColumnLayout: malformed condensed layer");
    if (layer.rows * layer.k > std::numeric_limits<int32_t>::max())
        throw std::invalid_argument("buildColumnLayout: rows * k must fit in int32");
    ColumnLayout c;
    c.rows = layer.rows;
    c.k = layer.k;
    c.inFeatures = layer.inFeatures;
    if (layer.indices16) buildLayout<int16_t>(layer, c);
    else buildLayout<int32_t>(layer, c);
    return c;
}

int64_t trainingBlock(int64_t batch) {
    return batch < kMinTrainingBatch ? 0 : detail::forwardBlock(batch);
}

int64_t packedFloats(int64_t batch, int64_t features, int64_t block) {
    return (batch + block - 1) / block * features * block;
}

void condensedForwardTraining(const CondensedView& layer, const float* x, int64_t batch, int64_t block, float* xT,
                              float* y, Isa isa, int threads) {
    const char* what = "condensedForwardTraining";
    check(what, layer, isa, block);
    if (batch <= 0) return;
    if (!x || !xT || (layer.rows > 0 && !y)) throw std::invalid_argument(std::string(what) + ": null buffer");
    const int64_t inF = layer.inFeatures;
    const int useThreads = chooseThreads(batch, std::max<int64_t>(layer.rows, 1), std::max<int64_t>(layer.k, 1),
                                         maxThreads(threads));
    auto pack = isa == Isa::Portable ? detail::packTransposedPortable : detail::packTransposedAvx2;
    const int packParts = detail::partsFor(inF, useThreads, 4);
    detail::runParallel(packParts, useThreads, [&](int part) {
        auto [f0, f1] = detail::partRange(inF, packParts, part, 8);
        if (f0 < f1) pack(x, batch, inF, block, xT, f0, f1);
    });
    detail::multiplyBlocks(layer, xT, batch, block, y, isa, useThreads);
}

void condensedBackwardTraining(const CondensedView& layer, const ColumnLayout* columns, const float* xT,
                               const float* gy, int64_t batch, int64_t block, float* gx, float* gv, Isa isa,
                               int threads) {
    const char* what = "condensedBackwardTraining";
    check(what, layer, isa, block);
    const int64_t rows = layer.rows, k = layer.k, inF = layer.inFeatures, nnz = rows * k;
    if (gx && (!columns || columns->rows != rows || columns->k != k || columns->inFeatures != inF))
        throw std::invalid_argument(std::string(what) + ": grad_input needs the layer's column layout");
    if (batch <= 0) {
        if (gv) std::fill(gv, gv + nnz, 0.0f);
        return;
    }
    if ((gv && !xT) || ((gx || gv) && rows > 0 && !gy)) throw std::invalid_argument(std::string(what) + ": null buffer");
    if (rows == 0) {
        if (gx) std::fill(gx, gx + batch * inF, 0.0f);
        return;
    }
    if (!gx && !gv) return;

    const int useThreads = chooseThreads(batch, rows, k, maxThreads(threads));
    const int64_t blocks = (batch + block - 1) / block;
    float* gyT = detail::threadScratch<10>(static_cast<size_t>(packedFloats(batch, rows, block)));
    float* colValue = gx ? detail::threadScratch<11>(static_cast<size_t>(nnz)) : nullptr;


    // Job 1: gy transposed into blocks (parts over rows), and the values in column order for grad_input
    // (parts over entries; values change at every step, the layout only with the mask).
    auto pack = isa == Isa::Portable ? detail::packTransposedPortable : detail::packTransposedAvx2;
    const int packParts = detail::partsFor(rows, useThreads, 2);
    const int permuteParts = gx ? detail::partsFor(nnz / 64, useThreads, 2) : 0;
    detail::runParallel(packParts + permuteParts, useThreads, [&](int part) {
        if (part < packParts) {
            auto [r0, r1] = detail::partRange(rows, packParts, part, 8);
            if (r0 < r1) pack(gy, batch, rows, block, gyT, r0, r1);
            return;
        }
        auto [e0, e1] = detail::partRange(nnz, permuteParts, part - packParts, 64);
        const int32_t* pos = columns->pos.data();
        for (int64_t e = e0; e < e1; ++e) colValue[e] = layer.values[pos[e]];
    });

    // Job 2: grad_values by rows (each row's dots summed over the blocks in order) and grad_input by
    // (block, input range) tiles; all parts write disjoint outputs.
    const int valueParts = gv ? detail::partsFor(rows, useThreads, 4) : 0;
    const int featureParts = gx ? detail::partsFor(inF, useThreads, 2) : 0;
    auto dot = isa == Isa::Portable ? detail::dotRowsPortable : detail::dotRowsAvx2; // on AVX-512 CPUs too
    const detail::GatherKernel gather = detail::gatherKernelFor(isa, block);
    detail::runParallel(valueParts + static_cast<int>(blocks) * featureParts, useThreads, [&](int part) {
        if (part < valueParts) {
            auto [r0, r1] = detail::partRange(rows, valueParts, part, 8);
            if (r0 >= r1) return;
            std::fill(gv + r0 * k, gv + r1 * k, 0.0f);
            for (int64_t blk = 0; blk < blocks; ++blk)
                dot(layer, gyT + blk * rows * block, xT + blk * inF * block, block, gv, r0, r1);
            return;
        }
        part -= valueParts;
        const int64_t blk = part / featureParts;
        auto [f0, f1] = detail::partRange(inF, featureParts, part % featureParts, gather.tile);
        if (f0 >= f1) return;
        detail::GatherArgs args;
        args.cols = {columns->start.data(), columns->row.data(), colValue};
        args.gyT = gyT + blk * rows * block;
        args.block = block;
        args.inFeatures = inF;
        args.gx = gx;
        args.b0 = blk * block;
        args.nb = std::min(block, batch - args.b0);
        gather.run(args, f0, f1);
    });
}

} // namespace srigl::kernels
