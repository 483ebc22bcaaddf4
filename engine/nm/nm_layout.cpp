// Permutations between a layer's weight shape and the N:M group / tile views.
#include "engine/nm/nm_layout.hpp"

#include <stdexcept>

namespace srigl::nm {

namespace {
void checkRank(const torch::Tensor& t) {
    if (t.dim() != 2 && t.dim() != 4)
        throw std::invalid_argument("N:M masks need a Linear [out, in] or Conv2d [out, in, kh, kw] weight");
}
} // namespace

torch::Tensor toGroupRows(const torch::Tensor& t) {
    checkRank(t);
    if (t.dim() == 2) return t.contiguous();
    return t.permute({0, 2, 3, 1}).contiguous().view({-1, t.size(1)});
}

torch::Tensor fromGroupRows(const torch::Tensor& rows, c10::IntArrayRef shape) {
    if (shape.size() == 2) return rows.view(shape).contiguous();
    return rows.view({shape[0], shape[2], shape[3], shape[1]}).permute({0, 3, 1, 2}).contiguous();
}

torch::Tensor toPlanes(const torch::Tensor& t) {
    checkRank(t);
    if (t.dim() == 2) return t.unsqueeze(0).contiguous();
    return t.permute({2, 3, 0, 1}).contiguous().view({-1, t.size(0), t.size(1)});
}

torch::Tensor fromPlanes(const torch::Tensor& planes, c10::IntArrayRef shape) {
    if (shape.size() == 2) return planes.view(shape).contiguous();
    return planes.view({shape[2], shape[3], shape[0], shape[1]}).permute({2, 3, 0, 1}).contiguous();
}

} // namespace srigl::nm
