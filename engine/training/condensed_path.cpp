// The trainer's condensed path (docs/sparse_training.md): which layers train on values + indices,
// switching a layer between the dense and condensed forms with its optimizer state, and a SRigL
// mask update done on the condensed form. Dense [out, fan_in] tensors exist only inside an update.
#include "engine/training/trainer_internals.hpp"

#include "engine/errors.hpp"

namespace srigl {

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

MaskUpdateResult Trainer::Impl::condensedMaskUpdate(SparseLayerState& st, double dropFraction, int64_t atStep) {
    torch::NoGradGuard noGrad;
    auto& c = *st.layer->condensed;
    st.gradSum = pendingGradient(st);
    // This step's own gradient: the masked-dense path applies it (masked by the new mask) right after
    // the update, grown connections included.
    const auto stepGradient = denseGradient(c, /*lastStepOnly=*/true);
    c.inputs.clear();
    c.gradOutputs.clear();

    const auto weight = st.layer->denseWeightMatrix();
    MaskUpdateResult r = runRule(st, weight, st.layer->denseMaskMatrix(), dropFraction, atStep);
    // Kept connections keep their value and optimizer state; grown ones start at zero.
    CondensedWeights next = condenseLayer(weight * r.mask, r.mask);
    const auto newMask = r.mask.to(weight.dtype());
    optimizer->replaceParameter(st.paramIndex, c.values, [&](const torch::Tensor& state) {
        return gatherCondensed(next, expandCondensed(c, state) * newMask);
    });
    c.values.set_data(next.values.detach());
    c.indices = next.indices;
    c.alive = next.alive;
    c.ablated = next.ablated;
    c.values.mutable_grad() = gatherCondensed(c, stepGradient);
    return r;
}

} // namespace srigl
