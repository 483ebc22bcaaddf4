// Top-N per group. On the CPU a direct loop over the weight's own layout (no permuted copies, no
// topk over millions of tiny slices, which costs more than the training step it serves); on other
// devices tensor operations (topk along the group axis).
#include "engine/nm/nm_mask.hpp"

#include "engine/nm/nm_layout.hpp"
#include "engine/runtime/worker_pool.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

namespace srigl::nm {

namespace {

void checkPattern(int n, int m) {
    if (m < 2 || n < 1 || n >= m) throw std::invalid_argument("N:M needs 1 <= N < M");
}

// One group of `size` weights at stride `stride`: keep[i] = 1 for the `n` largest |w|; among equal
// magnitudes the lower index wins. Entry i is kept when fewer than n entries beat it; the pairwise
// comparisons are branch-free and, for the usual M (compile-time SIZE), fully unrolled.
template <int SIZE>
inline void keepTopFixed(const float* w, int64_t stride, int n, bool* keep) {
    float a[SIZE];
    int beaten[SIZE];
    for (int i = 0; i < SIZE; ++i) {
        a[i] = std::fabs(w[i * stride]);
        beaten[i] = 0;
    }
    for (int i = 0; i < SIZE; ++i)
        for (int j = i + 1; j < SIZE; ++j) {
            const int jWins = a[j] > a[i]; // a tie goes to i, the lower index
            beaten[i] += jWins;
            beaten[j] += 1 - jWins;
        }
    for (int i = 0; i < SIZE; ++i) keep[i * stride] = beaten[i] < n;
}

// Any group size (trailing partial groups, unusual M): the same rule with a partial sort.
void keepTopAny(const float* w, int64_t stride, int size, int n, bool* keep, std::vector<int>& order) {
    order.resize(static_cast<size_t>(size));
    std::iota(order.begin(), order.end(), 0);
    const int take = std::min(n, size);
    auto before = [&](int x, int y) {
        const float ax = std::fabs(w[x * stride]), ay = std::fabs(w[y * stride]);
        return ax > ay || (ax == ay && x < y);
    };
    std::partial_sort(order.begin(), order.begin() + take, order.end(), before);
    for (int i = 0; i < size; ++i) keep[i * stride] = false;
    for (int k = 0; k < take; ++k) keep[order[k] * stride] = true;
}

// weight: contiguous float [out, in, inner] (inner = kh * kw, 1 for Linear); groups of m run along
// `in` at stride `inner`. mask: bool of the same layout.
void maskCpu(const float* weight, bool* mask, int64_t out, int64_t in, int64_t inner, int n, int m) {
    const int64_t full = in / m;
    const int rest = static_cast<int>(in % m);
    const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, in * inner)); // rows
    parallelFor(0, out, grain, [&](int64_t begin, int64_t end) {
        std::vector<int> order;
        for (int64_t o = begin; o < end; ++o)
            for (int64_t k = 0; k < inner; ++k) {
                const float* w = weight + o * in * inner + k;
                bool* keep = mask + o * in * inner + k;
                const int64_t step = m * inner;
                switch (m) {
                case 4:
                    for (int64_t g = 0; g < full; ++g) keepTopFixed<4>(w + g * step, inner, n, keep + g * step);
                    break;
                case 8:
                    for (int64_t g = 0; g < full; ++g) keepTopFixed<8>(w + g * step, inner, n, keep + g * step);
                    break;
                case 16:
                    for (int64_t g = 0; g < full; ++g) keepTopFixed<16>(w + g * step, inner, n, keep + g * step);
                    break;
                default:
                    for (int64_t g = 0; g < full; ++g) keepTopAny(w + g * step, inner, m, n, keep + g * step, order);
                }
                if (rest > 0) keepTopAny(w + full * step, inner, rest, n, keep + full * step, order);
            }
    });
}

// Top-n along the last axis as a bool mask. topk is deterministic on the CPU; how it breaks exact
// ties (e.g. between zero weights) is unspecified, which is fine: any choice is a valid N:M mask.
torch::Tensor topPerRow(const torch::Tensor& scores, int64_t n) {
    auto out = torch::zeros_like(scores, scores.options().dtype(torch::kBool));
    if (n <= 0) return out;
    auto idx = std::get<1>(scores.topk(n, /*dim=*/-1, /*largest=*/true, /*sorted=*/false));
    return out.scatter_(-1, idx, true);
}

torch::Tensor nmMaskTensorOps(const torch::Tensor& weight, NmPattern p) {
    auto rows = toGroupRows(weight.abs().to(torch::kFloat));
    const int64_t R = rows.size(0), C = rows.size(1), full = C / p.m, rest = C % p.m;
    auto mask = torch::zeros({R, C}, rows.options().dtype(torch::kBool));
    if (full > 0) {
        auto groups = rows.slice(1, 0, full * p.m).view({R, full, p.m});
        mask.slice(1, 0, full * p.m).copy_(topPerRow(groups, p.n).view({R, full * p.m}));
    }
    if (rest > 0) mask.slice(1, full * p.m, C).copy_(topPerRow(rows.slice(1, full * p.m, C), std::min<int64_t>(p.n, rest)));
    return fromGroupRows(mask, weight.sizes());
}

} // namespace

torch::Tensor nmMask(const torch::Tensor& weight, NmPattern p) {
    checkPattern(p.n, p.m);
    torch::NoGradGuard noGrad;
    auto w = weight.detach();
    if (w.dim() != 2 && w.dim() != 4)
        throw std::invalid_argument("N:M masks need a Linear [out, in] or Conv2d [out, in, kh, kw] weight");
    if (!w.device().is_cpu()) return nmMaskTensorOps(w, p);
    w = w.to(torch::kFloat).contiguous();
    auto mask = torch::empty(w.sizes(), w.options().dtype(torch::kBool));
    const int64_t inner = w.dim() == 4 ? w.size(2) * w.size(3) : 1;
    maskCpu(w.data_ptr<float>(), mask.data_ptr<bool>(), w.size(0), w.size(1), inner, p.n, p.m);
    return mask;
}

bool nmValid(const torch::Tensor& mask, int n, int m) {
    checkPattern(n, m);
    auto rows = toGroupRows(mask.to(torch::kBool)).to(torch::kInt);
    const int64_t R = rows.size(0), C = rows.size(1), full = C / m, rest = C % m;
    if (full > 0) {
        auto counts = rows.slice(1, 0, full * m).view({R, full, m}).sum(-1);
        if (!counts.eq(n).all().item<bool>()) return false;
    }
    if (rest > 0) {
        auto counts = rows.slice(1, full * m, C).sum(-1);
        if (!counts.eq(std::min<int64_t>(n, rest)).all().item<bool>()) return false;
    }
    return true;
}

} // namespace srigl::nm
