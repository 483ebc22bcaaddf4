// The trainer's condensed path (docs/sparse_training.md): switching a layer between the dense and
// condensed forms with its optimizer state, and a SRigL mask update done on the condensed form with
// the dense gradient streamed in row blocks (no [out, fan_in] tensor beyond one block).
#include "engine/training/trainer_internals.hpp"

#include "engine/errors.hpp"
#include "engine/kernels/condensed_backward.hpp"
#include "engine/sparsity/srigl_update_condensed.hpp"

namespace srigl {

DenseFormLimits& denseFormLimits() {
    static DenseFormLimits limits;
    return limits;
}

bool condensedBeyond(const SparseLayerState& st, int64_t limit) {
    return st.layer->isCondensed() && st.layer->outFeatures() * st.layer->fanIn() > limit;
}

torch::Tensor Trainer::Impl::pendingGradient(const SparseLayerState& st) const {
    const auto& c = *st.layer->condensed;
    auto g = denseGradient(c);
    if (st.gradSum.defined()) g.add_(st.gradSum); // a partial window restored from a checkpoint
    return g;
}

void Trainer::Impl::condense(SparseLayerState& st) {
    if (st.layer->isCondensed()) return;
    torch::NoGradGuard noGrad;
    // A checkpoint written inside an accumulation window carries the partial dense gradient.
    torch::Tensor partial;
    if (st.gradSum.defined() && st.gradSum.ne(0).any().item<bool>()) partial = st.gradSum;
    st.layer->condense();
    auto& c = *st.layer->condensed;
    if (optimizer) {
        optimizer->replaceParameter(st.paramIndex, c.values, [&](const torch::Tensor& dense) {
            return gatherCondensed(c, dense.view({c.rows(), -1}));
        });
    }
    st.gradSum = partial;
}

void Trainer::Impl::expand(SparseLayerState& st) {
    auto c = st.layer->condensed;
    if (!c) return;
    torch::NoGradGuard noGrad;
    torch::Tensor pending = st.dynamic ? pendingGradient(st) : torch::Tensor();
    st.layer->expand();
    if (optimizer) {
        optimizer->replaceParameter(st.paramIndex, st.layer->weight, [&](const torch::Tensor& values) {
            return expandCondensed(*c, values).view(st.layer->weightShape());
        });
    }
    st.gradSum = pending;
}

void Trainer::Impl::expandAll() {
    for (auto& st : layers) expand(st);
}

void Trainer::Impl::condenseMarked() {
    for (auto& st : layers)
        if (st.compute == "condensed") condense(st);
}

MaskUpdateResult Trainer::Impl::condensedMaskUpdate(SparseLayerState& st, double dropFraction) {
    torch::NoGradGuard noGrad;
    auto& c = *st.layer->condensed;
    const int64_t fanIn = c.fanIn;
    const size_t steps = std::min(c.inputs.size(), c.gradOutputs.size());
    // Rows of G = (partial sum restored from a checkpoint) + the window's captures (a convolution's
    // captured G, or sum over the window of gy^T x), added in the order the masked-dense path adds
    // weight.grad. Each product goes straight into the block (GEMM with beta = 1): no temporary of the
    // block's size, which for a layer beyond memory would be allocated and page-faulted once per block
    // and pass.
    GradientRows rows = [&](int64_t r0, int64_t r1, float* dst) {
        auto block = torch::from_blob(dst, {r1 - r0, fanIn});
        bool started = false;
        for (const auto* part : {&st.gradSum, &c.capturedGrad}) {
            if (!part->defined()) continue;
            if (started) block.add_(part->slice(0, r0, r1));
            else block.copy_(part->slice(0, r0, r1));
            started = true;
        }
        for (size_t s = 0; s < steps; ++s) {
            if (started) block.addmm_(c.gradOutputs[s].slice(1, r0, r1).t(), c.inputs[s]);
            else torch::mm_out(block, c.gradOutputs[s].slice(1, r0, r1).t(), c.inputs[s]);
            started = true;
        }
        if (!started) block.zero_();
    };
    const SriglParams p = sriglParams(st);
    // Blocks of at most 16M gradient entries (64 MiB): a layer up to that size is one block.
    const int64_t blockRows = std::max<int64_t>(1, (int64_t{1} << 24) / std::max<int64_t>(1, fanIn));
    const CondensedMaskUpdate u =
        sriglUpdateCondensed(c.values, c.indices, c.alive.squeeze(1) > 0, fanIn, rows, dropFraction, p, blockRows);

    // Kept connections keep their value and optimizer state (by their old slot); new ones start at zero.
    const auto has = (u.source >= 0).to(torch::kFloat);
    const auto from = u.source.clamp_min(0);
    auto remap = [&](const torch::Tensor& old) { return (old.gather(1, from) * has).contiguous(); };
    optimizer->replaceParameter(st.paramIndex, c.values, remap);
    c.values.set_data(remap(c.values.detach()));
    c.indices = u.indices.to(fanIn <= 32767 ? torch::kShort : torch::kInt).contiguous();
    c.alive = u.alive.to(torch::kFloat).unsqueeze(1);
    c.ablated = u.ablated;
    // This step's gradient at the new positions: the masked-dense path applies it (masked by the new
    // mask) right after the update, grown connections included.
    if (c.lastGrad.defined()) {
        c.values.mutable_grad() = gatherCondensed(c, c.lastGrad); // zero in ablated rows
    } else if (steps > 0) {
        const auto x = c.inputs[steps - 1].contiguous();
        const auto gy = c.gradOutputs[steps - 1].contiguous();
        auto gv = torch::empty_like(c.values.detach());
        kernels::CondensedView view;
        view.values = c.values.data_ptr<float>();
        view.indices = c.indices.data_ptr();
        view.indices16 = c.indices.scalar_type() == torch::kShort;
        view.rows = c.rows();
        view.k = c.k();
        view.inFeatures = fanIn;
        kernels::condensedGradValues(view, x.data_ptr<float>(), gy.data_ptr<float>(), x.size(0), gv.data_ptr<float>(),
                                     kernels::detectIsa());
        if (c.ablated > 0) gv.mul_(c.alive);
        c.values.mutable_grad() = gv;
    } else {
        c.values.mutable_grad() = torch::Tensor();
    }
    MaskUpdateResult r;
    r.k = u.k;
    r.active = u.active;
    r.ablated = u.ablated;
    r.pruned = u.pruned;
    r.regrown = u.regrown;
    return r;
}

} // namespace srigl
