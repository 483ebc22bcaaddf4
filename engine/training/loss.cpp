// Cross-entropy with label smoothing: (1 - eps) * NLL + eps * mean over classes of -log p.
#include "engine/training/loss.hpp"

namespace srigl {

torch::Tensor crossEntropy(const torch::Tensor& logits, const torch::Tensor& targets, double labelSmoothing) {
    auto logProbs = torch::log_softmax(logits, 1);
    auto nll = torch::nll_loss(logProbs, targets);
    if (labelSmoothing <= 0.0) return nll;
    auto smooth = -logProbs.mean(1).mean();
    return nll * (1.0 - labelSmoothing) + smooth * labelSmoothing;
}

} // namespace srigl
