// A constant fan-in layer stored condensed: for each active neuron its k weights and the k inputs
// they read (values + indices), run by our own kernels instead of a dense or CSR matmul.
#pragma once

#include "engine/kernels/cuda/condensed_cuda.hpp"
#include "engine/kernels/condensed_kernels.hpp"
#include "engine/models/condensed_weights.hpp"

#include <torch/torch.h>

#include <string>
#include <vector>

namespace srigl {

struct CondensedLinear {
    std::string name;
    int64_t inFeatures = 0;  // inputs read (after the previous layer's ablated neurons were removed)
    int64_t outFeatures = 0; // neurons of the original layer, ablated ones included
    int64_t k = 0;
    torch::Tensor values;  // [rows, k] float32
    torch::Tensor indices; // [rows, k] int16 when inFeatures <= 32768, else int32; ascending per row
    torch::Tensor bias;    // [rows] float32 (zeros when the layer had none)
    std::vector<int64_t> rowIds; // the original neuron of each stored row

    int64_t rows() const { return values.size(0); }
    bool indices16() const { return indices.scalar_type() == torch::kShort; }
    // Bytes the kernel streams per forward pass (values + indices + bias): what batch 1 is bound by.
    int64_t bytes() const;
    kernels::CondensedView view() const;

    // x: [batch, inFeatures] -> [batch, rows]. CPU float32 runs our kernels (isa and threads as in
    // condensedForward), CUDA float32 our CUDA kernels where the build has them (forwardCuda); anything
    // else reference(), the same arithmetic in LibTorch ops.
    torch::Tensor forward(const torch::Tensor& x, kernels::Isa isa, int threads = 0) const;
    torch::Tensor forward(const torch::Tensor& x) const;
    // Our CUDA kernel, on LibTorch's current stream; `variant` forces one (the bench compares them).
    // Throws InferenceError unless x and the layer are float32 on one GPU, std::runtime_error without
    // CUDA kernels (cuda::kernelsBuilt()).
    torch::Tensor forwardCuda(const torch::Tensor& x, cuda::ForwardVariant variant = cuda::ForwardVariant::Auto) const;
    torch::Tensor reference(const torch::Tensor& x) const;
    CondensedLinear to(const torch::Device& device) const;
};

// Condenses one layer from its [out, fan_in] weight and mask (and bias, which may be undefined).
// Rows with an empty mask are ablated and left out unless keepAblated (then stored as k zeros, so the
// layer still yields every output). Throws InferenceError when the mask is not constant fan-in or
// the shapes do not match.
CondensedLinear condenseLinear(const torch::Tensor& weight, const torch::Tensor& mask, const torch::Tensor& bias,
                               const std::string& name = "", bool keepAblated = false);
// The same from a layer that trained condensed and was never expanded (its dense form may not fit in
// memory): its alive rows are the active neurons, its indices and values are taken as they are.
CondensedLinear condenseLinear(const CondensedWeights& form, const torch::Tensor& bias, const std::string& name = "",
                               bool keepAblated = false);

} // namespace srigl
