// Top-N per group with tensor operations (topk along the group axis), so it runs on any device.
#include "engine/nm/nm_mask.hpp"

#include "engine/nm/nm_layout.hpp"

#include <algorithm>
#include <stdexcept>

namespace srigl::nm {

namespace {

void checkPattern(int n, int m) {
    if (m < 2 || n < 1 || n >= m) throw std::invalid_argument("N:M needs 1 <= N < M");
}

// Top-n along the last axis as a bool mask. topk is deterministic on the CPU; how it breaks exact
// ties (e.g. between zero weights) is unspecified, which is fine: any choice is a valid N:M mask.
torch::Tensor topPerRow(const torch::Tensor& scores, int64_t n) {
    auto out = torch::zeros_like(scores, scores.options().dtype(torch::kBool));
    if (n <= 0) return out;
    auto idx = std::get<1>(scores.topk(n, /*dim=*/-1, /*largest=*/true, /*sorted=*/false));
    return out.scatter_(-1, idx, true);
}

} // namespace

torch::Tensor nmMask(const torch::Tensor& weight, NmPattern p) {
    checkPattern(p.n, p.m);
    torch::NoGradGuard noGrad;
    auto rows = toGroupRows(weight.detach().abs().to(torch::kFloat));
    const int64_t R = rows.size(0), C = rows.size(1), full = C / p.m, rest = C % p.m;
    auto mask = torch::zeros({R, C}, rows.options().dtype(torch::kBool));
    if (full > 0) {
        auto groups = rows.slice(1, 0, full * p.m).view({R, full, p.m});
        mask.slice(1, 0, full * p.m).copy_(topPerRow(groups, p.n).view({R, full * p.m}));
    }
    if (rest > 0) mask.slice(1, full * p.m, C).copy_(topPerRow(rows.slice(1, full * p.m, C), std::min<int64_t>(p.n, rest)));
    return fromGroupRows(mask, weight.sizes());
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
