// Batched sampling with tensor ops: chunks of initialisations as [S, out, in] weights, bmm with
// [S, in, B] inputs. Random masks come from top-k of uniform scores (uniform over all masks).
#include "engine/analysis/init_variance.hpp"

#include "engine/nm/nm_mask.hpp"

#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace srigl::nm {

namespace {

NmPattern choosePattern(double density) {
    NmPattern best{1, 4};
    double bestErr = 1e9;
    for (int m = 4; m <= 64; m *= 2) {
        const int n = std::clamp(static_cast<int>(std::lround(density * m)), 1, m - 1);
        const double err = std::fabs(static_cast<double>(n) / m - density);
        if (err < bestErr - 1e-12) {
            bestErr = err;
            best = {n, m};
        }
        if (err <= 0.05) break;
    }
    return best;
}

enum class Structure { Dense, Unstructured, ConstantFanIn, Nm };

// A batch of S random masks [S, out, in] (bool) of the given structure.
torch::Tensor randomMasks(Structure s, int64_t S, int64_t out, int64_t in, int64_t kept, NmPattern p,
                          torch::Generator& gen) {
    if (s == Structure::Dense) return torch::ones({S, out, in}, torch::kBool);
    auto scores = torch::rand({S, out, in}, gen);
    auto mask = torch::zeros({S, out, in}, torch::kBool);
    if (s == Structure::Unstructured) {
        auto flat = scores.view({S, out * in});
        auto idx = std::get<1>(flat.topk(kept, 1, true, false));
        return mask.view({S, out * in}).scatter_(1, idx, true).view({S, out, in});
    }
    if (s == Structure::ConstantFanIn) {
        auto idx = std::get<1>(scores.topk(kept / out, 2, true, false));
        return mask.scatter_(2, idx, true);
    }
    return nmMask(scores.view({S * out, in}), p).view({S, out, in});
}

NormStats sample(Structure s, const InitVarianceOptions& o, NmPattern p, uint64_t stream) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed * 1000003ull + stream);
    const int64_t out = o.out, in = o.in;
    const double density = s == Structure::Dense ? 1.0 : (s == Structure::Nm ? p.density() : 1.0 - o.sparsity);
    // Budgets as the engine's: constant fan-in keeps k = kept / out per neuron; unstructured keeps
    // the same total so the two differ only in structure.
    const int64_t k = std::clamp<int64_t>(std::llround(density * static_cast<double>(in)), 1, in);
    const int64_t kept = s == Structure::Dense ? out * in : k * out;
    std::vector<torch::Tensor> norms;
    double keptTotal = 0; // actual kept entries (N:M with a partial last group keeps fewer than k)
    const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(o.samples, (int64_t{1} << 24) / std::max<int64_t>(1, out * in)));
    torch::NoGradGuard noGrad;
    for (int64_t done = 0; done < o.samples; done += chunk) {
        const int64_t S = std::min<int64_t>(chunk, o.samples - done);
        auto mask = randomMasks(s, S, out, in, kept, p, gen);
        auto maskF = mask.to(torch::kFloat);
        const double keptHere = maskF.sum().item<double>();
        keptTotal += keptHere;
        torch::Tensor fan;
        if (o.scale == InitScale::PerNeuron) fan = maskF.sum(2, true).clamp_min(1);
        else fan = torch::full({1, 1, 1}, std::max(1.0, keptHere / static_cast<double>(S * out)));
        auto w = torch::randn({S, out, in}, gen) * (2.0 / fan).sqrt() * maskF;
        auto x = torch::randn({S, in, o.inputs}, gen);
        norms.push_back(torch::bmm(w, x).norm(2, 1).reshape({-1}).to(torch::kDouble));
    }
    auto all = torch::cat(norms);
    NormStats r;
    r.density = keptTotal / (static_cast<double>(o.samples) * static_cast<double>(out * in));
    r.mean = all.mean().item<double>();
    r.variance = all.numel() > 1 ? all.var().item<double>() : 0.0;
    return r;
}

} // namespace

InitVarianceResult initOutputNormVariance(const InitVarianceOptions& o) {
    if (o.out < 1 || o.in < 1 || o.samples < 1 || o.inputs < 1)
        throw std::invalid_argument("initOutputNormVariance: out, in, samples and inputs must be >= 1");
    if (!(o.sparsity >= 0.0 && o.sparsity < 1.0)) throw std::invalid_argument("initOutputNormVariance: sparsity must be in [0, 1)");
    InitVarianceResult r;
    r.nm = o.nm.n > 0 ? o.nm : choosePattern(1.0 - o.sparsity);
    if (r.nm.n < 1 || r.nm.n >= r.nm.m) throw std::invalid_argument("initOutputNormVariance: N:M needs 1 <= N < M");
    // Each structure draws from its own stream, so adding a structure never changes the others.
    r.dense = sample(Structure::Dense, o, r.nm, 1);
    r.unstructured = sample(Structure::Unstructured, o, r.nm, 2);
    r.constantFanIn = sample(Structure::ConstantFanIn, o, r.nm, 3);
    r.nmMask = sample(Structure::Nm, o, r.nm, 4);
    return r;
}

} // namespace srigl::nm
