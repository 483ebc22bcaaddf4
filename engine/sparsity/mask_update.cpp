// SRigL, RigL and SET mask rules (docs/algorithms.md). Everything is layer-wide tensor work
// (topk, scatter) so an update of LeNet-300-100 takes milliseconds, not a Python-speed loop.
#include "engine/sparsity/mask_update.hpp"

#include "engine/runtime/worker_pool.hpp"
#include "engine/sparsity/select_largest.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

namespace srigl {
namespace {

bool cpuFloat(const torch::Tensor& t) { return t.device().is_cpu() && t.scalar_type() == torch::kFloat; }

// Positions of the n largest entries of `score` (flattened) as a bool mask shaped like score.
torch::Tensor topMask(const torch::Tensor& score, int64_t n) {
    if (cpuFloat(score)) {
        auto s = score.contiguous();
        auto result = torch::zeros(s.sizes(), s.options().dtype(torch::kBool));
        std::vector<uint32_t> scratch;
        selectLargest(s.data_ptr<float>(), s.numel(), n, result.data_ptr<bool>(), scratch);
        return result;
    }
    auto flat = torch::zeros({score.numel()}, score.options().dtype(torch::kBool));
    if (n > 0) {
        auto idx = std::get<1>(score.flatten().topk(n, /*dim=*/0, /*largest=*/true, /*sorted=*/false));
        flat.index_fill_(0, idx, true);
    }
    return flat.view(score.sizes());
}

// Per row, the need[row] largest entries of `score` (need may differ per row, at most kmax).
torch::Tensor topPerRow(const torch::Tensor& score, const torch::Tensor& need) {
    if (cpuFloat(score)) {
        auto s = score.contiguous();
        auto n = need.to(torch::kLong).contiguous();
        auto result = torch::zeros(s.sizes(), s.options().dtype(torch::kBool));
        const int64_t rows = s.size(0), cols = s.size(1);
        const float* v = s.data_ptr<float>();
        const int64_t* nr = n.data_ptr<int64_t>();
        bool* out = result.data_ptr<bool>();
        std::vector<uint32_t> scratch;
        for (int64_t r = 0; r < rows; ++r) selectLargest(v + r * cols, cols, nr[r], out + r * cols, scratch);
        return result;
    }
    auto result = torch::zeros(score.sizes(), score.options().dtype(torch::kBool));
    const int64_t kmax = need.numel() ? need.max().item<int64_t>() : 0;
    if (kmax <= 0) return result;
    auto idx = std::get<1>(score.topk(kmax, /*dim=*/1, /*largest=*/true, /*sorted=*/true));
    auto rank = torch::arange(kmax, need.options()).unsqueeze(0);
    auto take = rank < need.unsqueeze(1);
    result.scatter_(1, idx, take);
    return result;
}

MaskUpdateResult finish(const torch::Tensor& oldMask, torch::Tensor newMask) {
    MaskUpdateResult r;
    r.pruned = (oldMask & ~newMask).sum().item<int64_t>();
    r.regrown = (~oldMask & newMask).sum().item<int64_t>();
    r.active = newMask.any(1).sum().item<int64_t>();
    r.ablated = newMask.size(0) - r.active;
    r.mask = std::move(newMask);
    return r;
}

// The floor(nnz * f) entries of smallest |W| leave; the rest stays (shared by RigL and SET).
torch::Tensor keepAfterDrop(const torch::Tensor& absW, const torch::Tensor& mask, double dropFraction,
                            int64_t& nDrop) {
    const int64_t nnz = mask.sum().item<int64_t>();
    nDrop = static_cast<int64_t>(std::floor(static_cast<double>(nnz) * dropFraction));
    return topMask(absW.masked_fill(~mask, -1.0), nnz - nDrop);
}

} // namespace

torch::Tensor constantFanInIndices(int64_t out, int64_t fanIn, int64_t k, torch::Generator& gen) {
    k = std::clamp<int64_t>(k, 0, fanIn);
    // Floyd's sampling without replacement, k draws per row instead of a score per input: the work and
    // memory are O(out * k), so a layer whose [out, fan_in] form would not fit still gets its mask.
    // The uniforms come from the CPU generator in one call, so the rows can be filled in parallel and
    // the same seed gives the same indices on every machine and thread count.
    auto u = torch::rand({out, k}, gen, torch::kDouble);
    auto idx = torch::empty({out, k}, torch::kLong);
    const double* up = u.data_ptr<double>();
    int64_t* ip = idx.data_ptr<int64_t>();
    parallelFor(0, out, 64, [&](int64_t r0, int64_t r1) {
        std::vector<uint8_t> taken(static_cast<size_t>(fanIn), 0);
        for (int64_t r = r0; r < r1; ++r) {
            const double* ur = up + r * k;
            int64_t* row = ip + r * k;
            for (int64_t t = 0; t < k; ++t) {
                const int64_t j = fanIn - k + t;
                auto pick = std::min<int64_t>(j, static_cast<int64_t>(ur[t] * static_cast<double>(j + 1)));
                if (taken[static_cast<size_t>(pick)]) pick = j;
                taken[static_cast<size_t>(pick)] = 1;
                row[t] = pick;
            }
            for (int64_t t = 0; t < k; ++t) taken[static_cast<size_t>(row[t])] = 0;
            std::sort(row, row + k);
        }
    });
    return idx;
}

torch::Tensor constantFanInMask(int64_t out, int64_t fanIn, int64_t k, torch::Generator& gen,
                                const torch::Device& device) {
    auto idx = constantFanInIndices(out, fanIn, k, gen);
    return torch::zeros({out, fanIn}, torch::kBool).scatter_(1, idx, true).to(device);
}

torch::Tensor unstructuredMask(int64_t out, int64_t fanIn, int64_t nnz, torch::Generator& gen,
                               const torch::Device& device) {
    auto scores = torch::rand({out, fanIn}, gen, torch::kFloat);
    return topMask(scores, std::min(nnz, out * fanIn)).to(device);
}

int64_t sriglMinActive(int64_t budget, int64_t out, int64_t fanIn) {
    // floor(B / a) <= F  <=>  a > B / (F + 1).
    return std::min(out, budget / (fanIn + 1) + 1);
}

std::vector<uint8_t> sriglAblatedNeurons(const std::vector<int64_t>& counts, const SriglParams& params,
                                         int64_t fanIn) {
    const int64_t out = static_cast<int64_t>(counts.size());
    const int64_t k0 = params.budget / std::max<int64_t>(1, out);
    int64_t thr = std::max<int64_t>(1, static_cast<int64_t>(params.gammaSal * static_cast<double>(k0)));
    const int64_t minActive = sriglMinActive(params.budget, out, fanIn);
    auto survivors = [&](int64_t t) {
        int64_t c = 0;
        for (auto v : counts) c += v >= t;
        return c;
    };
    // Lower the threshold until enough neurons survive for k to stay <= fan_in.
    while (thr > 0 && survivors(thr) < minActive) --thr;
    std::vector<uint8_t> ablated(counts.size());
    for (size_t r = 0; r < counts.size(); ++r) ablated[r] = counts[r] < thr;
    return ablated;
}

void sriglForceAblation(std::vector<uint8_t>& ablated, const SriglParams& params, int64_t fanIn) {
    if (!params.allowAblation || params.forceAblate.size() != ablated.size()) return;
    const int64_t out = static_cast<int64_t>(ablated.size());
    int64_t active = 0;
    for (auto a : ablated) active += !a;
    const int64_t minActive = sriglMinActive(params.budget, out, fanIn);
    for (size_t r = 0; r < ablated.size() && active > minActive; ++r)
        if (params.forceAblate[r] && !ablated[r]) {
            ablated[r] = 1;
            --active;
        }
}

int64_t sriglFanIn(int64_t budget, int64_t active, int64_t fanIn) {
    if (active <= 0) return 0;
    return std::clamp<int64_t>(budget / active, 1, fanIn);
}

MaskUpdateResult sriglUpdate(const torch::Tensor& weight, const torch::Tensor& mask,
                             const torch::Tensor& denseGrad, double dropFraction, const SriglParams& params) {
    if (cpuFloat(weight) && cpuFloat(denseGrad) && mask.device().is_cpu())
        return sriglUpdateCpu(weight, mask, denseGrad, dropFraction, params);
    return sriglUpdateTensorOps(weight, mask, denseGrad, dropFraction, params);
}

MaskUpdateResult sriglUpdateTensorOps(const torch::Tensor& weight, const torch::Tensor& mask,
                                      const torch::Tensor& denseGrad, double dropFraction, const SriglParams& params) {
    torch::NoGradGuard noGrad;
    const int64_t out = weight.size(0);
    const int64_t fanIn = weight.size(1);
    const auto absW = weight.abs();
    const auto absG = denseGrad.abs();
    const int64_t nnz = mask.sum().item<int64_t>();
    const int64_t nPrune = static_cast<int64_t>(std::floor(static_cast<double>(nnz) * dropFraction));
    const int64_t nKeep = nnz - nPrune;

    // Ablation: a neuron with too few salient connections (large |W| it keeps, or large |grad| it
    // would grow) is switched off; recomputed at every update, so it may come back.
    auto ablated = torch::zeros({out}, mask.options());
    torch::Tensor keptByMagnitude;
    if (params.allowAblation && params.gammaSal > 0.0) {
        keptByMagnitude = topMask(absW.masked_fill(~mask, -1.0), nKeep);
        auto salient = keptByMagnitude | topMask(absG, nPrune);
        auto counts = salient.sum(1);
        const int64_t k0 = params.budget / out;
        int64_t thr = std::max<int64_t>(1, static_cast<int64_t>(params.gammaSal * static_cast<double>(k0)));
        const int64_t minActive = sriglMinActive(params.budget, out, fanIn);
        // Lower the threshold until enough neurons survive for k to stay <= fan_in.
        while (thr > 0 && (counts >= thr).sum().item<int64_t>() < minActive) --thr;
        ablated = counts < thr;
    }
    if (!params.forceAblate.empty()) {
        auto cpu = ablated.to(torch::kCPU).contiguous();
        std::vector<uint8_t> rows(cpu.data_ptr<bool>(), cpu.data_ptr<bool>() + out);
        sriglForceAblation(rows, params, fanIn);
        ablated = torch::from_blob(rows.data(), {out}, torch::kUInt8).to(torch::kBool).to(mask.device());
    }
    const int64_t nAblated = ablated.sum().item<int64_t>();
    const int64_t k = sriglFanIn(params.budget, out - nAblated, fanIn);
    const auto alive = ~ablated.unsqueeze(1);

    // Prune: layer-wide top-n_keep |W| outside ablated rows, then every row cut back to its k
    // largest |W| (by magnitude, not by index order as the reference code does).
    torch::Tensor keep;
    if (nAblated == 0 && keptByMagnitude.defined()) {
        keep = keptByMagnitude; // nothing ablated: the eligible set is the whole mask
    } else {
        auto eligible = mask & alive;
        keep = topMask(absW.masked_fill(~eligible, -1.0), std::min(nKeep, eligible.sum().item<int64_t>()));
    }
    keep &= topPerRow(absW.masked_fill(~keep, -1.0), torch::full({out}, k, torch::kLong).to(mask.device()));

    // Grow: each surviving row takes its missing connections among the positions it did not keep
    // (just-dropped ones included) by largest |dense grad|.
    auto need = (k - keep.sum(1)).clamp_min(0).masked_fill(ablated, 0);
    auto grow = topPerRow(absG.masked_fill(keep, -1.0), need);
    MaskUpdateResult r = finish(mask, keep | grow);
    r.k = k;
    r.ablated = nAblated;
    r.active = out - nAblated;
    return r;
}

MaskUpdateResult riglUpdate(const torch::Tensor& weight, const torch::Tensor& mask,
                            const torch::Tensor& denseGrad, double dropFraction) {
    torch::NoGradGuard noGrad;
    int64_t nDrop = 0;
    auto keep = keepAfterDrop(weight.abs(), mask, dropFraction, nDrop);
    auto grow = topMask(denseGrad.abs().masked_fill(keep, -1.0), nDrop);
    return finish(mask, keep | grow);
}

MaskUpdateResult setUpdate(const torch::Tensor& weight, const torch::Tensor& mask, double dropFraction,
                           torch::Generator& gen) {
    torch::NoGradGuard noGrad;
    int64_t nDrop = 0;
    auto keep = keepAfterDrop(weight.abs(), mask, dropFraction, nDrop);
    auto random = torch::rand(mask.sizes(), gen, torch::kFloat).to(mask.device());
    auto grow = topMask(random.masked_fill(keep, -1.0), nDrop);
    return finish(mask, keep | grow);
}

} // namespace srigl
