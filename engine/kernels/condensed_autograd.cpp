// The condensed linear layer as a torch::autograd::Function: kernels for float32 on the CPU, LibTorch
// ops (gather / index_add) otherwise. Uses only the Function API common to LibTorch 1.13 and 2.x.
#include "engine/kernels/condensed_autograd.hpp"

#include "engine/kernels/cuda/condensed_cuda.hpp"
#include "engine/kernels/condensed_backward.hpp"
#include "engine/kernels/cuda/current_stream.hpp"
#include "engine/kernels/condensed_training.hpp"
#include "engine/kernels/condensed_tensor_view.hpp"

#include <cstring>
#include <list>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace srigl {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

bool useKernels(const torch::Tensor& x, const torch::Tensor& values) {
    return x.device().is_cpu() && values.device().is_cpu() && x.scalar_type() == torch::kFloat;
}

// Float32 on a GPU, in a build with our CUDA kernels (engine/kernels/cuda).
bool useCudaKernels(const torch::Tensor& x, const torch::Tensor& values) {
    return x.is_cuda() && values.is_cuda() && x.scalar_type() == torch::kFloat && cuda::kernelsBuilt();
}

// Indices seen recently, by content: a copy of each (so a hit is exact whatever happened to the tensor:
// replaced at a mask update, rewritten in place with copy_, or a new tensor at a freed one's address),
// known to lie in range for its inFeatures, and the column layout grad_input needs, built on first use.
// A hit costs one memcmp over the indices instead of the range check's two reductions and, in the
// backward, the counting sort over rows * k entries that the layout takes to build.
class IndexCache {
public:
    struct Entry {
        uint64_t id = 0;
        torch::ScalarType type = torch::kShort;
        int64_t rows = 0, k = 0, inFeatures = 0;
        std::vector<char> bytes;
        std::mutex buildMutex;
        std::shared_ptr<const kernels::ColumnLayout> columns; // guarded by the cache's mutex once built
    };

    static IndexCache& instance() {
        static IndexCache cache;
        return cache;
    }

    // The entry holding exactly these indices (int16 or int32, contiguous) for inFeatures, or null.
    std::shared_ptr<Entry> find(const torch::Tensor& idx, int64_t inFeatures) {
        const size_t size = static_cast<size_t>(idx.numel()) * idx.element_size();
        std::lock_guard<std::mutex> lock(mutex_);
        for (auto it = entries_.begin(); it != entries_.end(); ++it) {
            Entry& e = **it;
            if (e.type != idx.scalar_type() || e.inFeatures != inFeatures || e.rows != idx.size(0) ||
                e.k != idx.size(1) || e.bytes.size() != size || std::memcmp(e.bytes.data(), idx.data_ptr(), size) != 0)
                continue;
            entries_.splice(entries_.begin(), entries_, it); // most recently used first
            return entries_.front();
        }
        return nullptr;
    }

    // Remembers indices that were checked to lie in [0, inFeatures); null when they are too large to keep.
    std::shared_ptr<Entry> insert(const torch::Tensor& idx, int64_t inFeatures) {
        const size_t size = static_cast<size_t>(idx.numel()) * idx.element_size();
        if (size > kMaxBytes / 4) return nullptr;
        auto e = std::make_shared<Entry>();
        e->type = idx.scalar_type();
        e->rows = idx.size(0);
        e->k = idx.size(1);
        e->inFeatures = inFeatures;
        e->bytes.assign(static_cast<const char*>(idx.data_ptr()), static_cast<const char*>(idx.data_ptr()) + size);
        std::lock_guard<std::mutex> lock(mutex_);
        e->id = ++lastId_;
        entries_.push_front(e);
        bytes_ += size;
        evict();
        return e;
    }

    // The column layout of entry `id` (built now if needed), or null when the entry was evicted.
    std::shared_ptr<const kernels::ColumnLayout> columns(uint64_t id, const kernels::CondensedView& view) {
        std::shared_ptr<Entry> e;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            for (auto& candidate : entries_)
                if (candidate->id == id) {
                    e = candidate;
                    if (e->columns) return e->columns;
                    break;
                }
        }
        if (!e) return nullptr;
        std::lock_guard<std::mutex> build(e->buildMutex); // one build per entry, others wait for it
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (e->columns) return e->columns;
        }
        auto built = std::make_shared<const kernels::ColumnLayout>(kernels::buildColumnLayout(view));
        std::lock_guard<std::mutex> lock(mutex_);
        e->columns = built;
        bytes_ += built->bytes();
        evict();
        return built;
    }

private:
    // At most this much memory (index copies and layouts) and this many entries; least recently used go.
    static constexpr size_t kMaxBytes = size_t{512} << 20;
    static constexpr size_t kMaxEntries = 64;

    void evict() {
        while (entries_.size() > 1 && (bytes_ > kMaxBytes || entries_.size() > kMaxEntries)) {
            const auto& last = entries_.back();
            bytes_ -= last->bytes.size() + (last->columns ? last->columns->bytes() : 0);
            entries_.pop_back();
        }
    }

    std::mutex mutex_;
    std::list<std::shared_ptr<Entry>> entries_;
    size_t bytes_ = 0;
    uint64_t lastId_ = 0;
};

// The column layout of these indices: the cached one, or (indices too large to cache, or evicted) one
// built for this call.
std::shared_ptr<const kernels::ColumnLayout> layoutFor(uint64_t cacheId, const kernels::CondensedView& view) {
    auto columns = IndexCache::instance().columns(cacheId, view);
    return columns ? columns : std::make_shared<const kernels::ColumnLayout>(kernels::buildColumnLayout(view));
}

// The inputs each kept weight reads, [batch, rows, k]: the reference path's forward and grad_values.
torch::Tensor gathered(const torch::Tensor& x, const torch::Tensor& values, const torch::Tensor& indices) {
    return x.index_select(1, indices.flatten()).view({x.size(0), values.size(0), values.size(1)});
}

struct CondensedLinearFunction : public torch::autograd::Function<CondensedLinearFunction> {
    // x [batch, in] and values already checked by condensedLinear; indices int16/int32 on the kernel
    // path, int64 on the reference path.
    static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& xIn, const torch::Tensor& valuesIn,
                                 const torch::Tensor& indices, const torch::Tensor& biasIn, bool hasBias,
                                 int64_t isa, int64_t threads, bool training, int64_t cacheId) {
        const torch::Tensor x = xIn.contiguous(), values = valuesIn.contiguous();
        ctx->saved_data["isa"] = isa;
        ctx->saved_data["threads"] = threads;
        ctx->saved_data["has_bias"] = hasBias;
        ctx->saved_data["cache_id"] = cacheId;
        if (useCudaKernels(x, values)) {
            const CudaDeviceScope onItsGpu(x.get_device());
            ctx->save_for_backward({x, values, indices});
            ctx->saved_data["block"] = int64_t{0};
            const torch::Tensor bias = hasBias ? biasIn.contiguous() : torch::Tensor();
            torch::Tensor y = torch::empty({x.size(0), values.size(0)}, x.options());
            cuda::condensedForward(kernels::condensedViewOf(values, indices, bias, x.size(1)), x.data_ptr<float>(),
                                   x.size(0), y.data_ptr<float>(), currentCudaStream());
            return y;
        }
        if (!useKernels(x, values)) {
            ctx->save_for_backward({x, values, indices});
            ctx->saved_data["block"] = int64_t{0};
            torch::Tensor y = (gathered(x, values, indices) * values.unsqueeze(0)).sum(2);
            return hasBias ? y + biasIn : y;
        }
        const torch::Tensor bias = hasBias ? biasIn.contiguous() : torch::Tensor();
        const auto kernelIsa = static_cast<kernels::Isa>(isa);
        const int64_t batch = x.size(0), inFeatures = x.size(1);
        torch::Tensor y = torch::empty({batch, values.size(0)}, x.options());
        const kernels::CondensedView view = kernels::condensedViewOf(values, indices, bias, inFeatures);
        // When the weights train, the forward keeps x transposed into batch blocks for grad_values.
        const int64_t block = training ? kernels::trainingBlock(batch) : 0;
        ctx->saved_data["block"] = block;
        if (block > 0) {
            torch::Tensor xT = torch::empty({kernels::packedFloats(batch, inFeatures, block)}, x.options());
            kernels::condensedForwardTraining(view, x.data_ptr<float>(), batch, block, xT.data_ptr<float>(),
                                              y.data_ptr<float>(), kernelIsa, static_cast<int>(threads));
            ctx->save_for_backward({x, values, indices, xT});
        } else {
            ctx->save_for_backward({x, values, indices});
            kernels::condensedForward(view, x.data_ptr<float>(), batch, y.data_ptr<float>(), kernelIsa,
                                      static_cast<int>(threads));
        }
        return y;
    }

    static tensor_list backward(AutogradContext* ctx, tensor_list gradOutputs) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor &x = saved[0], &values = saved[1], &indices = saved[2];
        const torch::Tensor gy = gradOutputs[0].contiguous();
        const bool wantX = ctx->needs_input_grad(0), wantValues = ctx->needs_input_grad(1);
        const bool wantBias = ctx->saved_data["has_bias"].toBool() && ctx->needs_input_grad(3);
        torch::Tensor gx, gv, gb;
        if (wantBias) gb = gy.sum(0);
        if (useCudaKernels(x, values)) {
            const CudaDeviceScope onItsGpu(x.get_device());
            const kernels::CondensedView view = kernels::condensedViewOf(values, indices, torch::Tensor(), x.size(1));
            void* stream = currentCudaStream();
            if (wantX) {
                gx = torch::empty_like(x);
                cuda::condensedGradInput(view, gy.data_ptr<float>(), x.size(0), gx.data_ptr<float>(), stream);
            }
            if (wantValues) {
                gv = torch::empty_like(values);
                cuda::condensedGradValues(view, x.data_ptr<float>(), gy.data_ptr<float>(), x.size(0),
                                          gv.data_ptr<float>(), stream);
            }
        } else if (!useKernels(x, values)) {
            if (wantX) {
                torch::Tensor contributions = (gy.unsqueeze(2) * values.unsqueeze(0)).reshape({x.size(0), -1});
                gx = torch::zeros_like(x).index_add_(1, indices.flatten(), contributions);
            }
            if (wantValues) gv = (gy.unsqueeze(2) * gathered(x, values, indices)).sum(0);
        } else {
            const auto isa = static_cast<kernels::Isa>(ctx->saved_data["isa"].toInt());
            const int threads = static_cast<int>(ctx->saved_data["threads"].toInt());
            const kernels::CondensedView view = kernels::condensedViewOf(values, indices, torch::Tensor(), x.size(1));
            const int64_t block = ctx->saved_data["block"].toInt();
            if (block > 0 && wantValues) {
                // The training pass: one transpose of gy for both gradients, xT from the forward, and
                // grad_input over the layout cached for these indices (built here on the first step).
                std::shared_ptr<const kernels::ColumnLayout> columns;
                if (wantX) {
                    columns = layoutFor(static_cast<uint64_t>(ctx->saved_data["cache_id"].toInt()), view);
                    gx = torch::empty_like(x);
                }
                gv = torch::empty_like(values);
                kernels::condensedBackwardTraining(view, columns.get(), saved[3].data_ptr<float>(), gy.data_ptr<float>(),
                                                   x.size(0), block, wantX ? gx.data_ptr<float>() : nullptr,
                                                   gv.data_ptr<float>(), isa, threads);
                return {gx, gv, torch::Tensor(), gb, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(),
                        torch::Tensor()};
            }
            if (wantX) {
                gx = torch::empty_like(x);
                kernels::condensedGradInput(view, gy.data_ptr<float>(), x.size(0), gx.data_ptr<float>(), isa, threads);
            }
            if (wantValues) {
                gv = torch::empty_like(values);
                kernels::condensedGradValues(view, x.data_ptr<float>(), gy.data_ptr<float>(), x.size(0),
                                             gv.data_ptr<float>(), isa, threads);
            }
        }
        // One gradient per forward input: x, values, indices, bias, hasBias, isa, threads, training, cacheId.
        return {gx, gv, torch::Tensor(), gb, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(),
                torch::Tensor()};
    }
};

[[noreturn]] void reject(const std::string& message) { throw std::invalid_argument("condensedLinear: " + message); }

} // namespace

torch::Tensor condensedLinear(const torch::Tensor& x, const torch::Tensor& values, const torch::Tensor& indices,
                              const torch::Tensor& bias, kernels::Isa isa, int threads) {
    if (!x.defined() || x.dim() < 1 || x.size(-1) < 1) reject("x must have shape [..., inFeatures >= 1]");
    if (!values.defined() || values.dim() != 2 || values.size(1) < 1)
        reject("values must have shape [rows, k >= 1], got " +
               (values.defined() ? c10::str(values.sizes()) : std::string("undefined")));
    if (!indices.defined() || !indices.sizes().equals(values.sizes()))
        reject("indices must have the shape of values " + c10::str(values.sizes()));
    const auto indexType = indices.scalar_type();
    if (indexType != torch::kShort && indexType != torch::kInt && indexType != torch::kLong)
        reject("indices must be int16, int32 or int64");
    if (!x.is_floating_point() || values.scalar_type() != x.scalar_type())
        reject("x and values must share one floating-point dtype");
    if (bias.defined() && (bias.dim() != 1 || bias.size(0) != values.size(0) || bias.scalar_type() != x.scalar_type()))
        reject("bias must have shape [" + std::to_string(values.size(0)) + "] and the dtype of x");
    if (values.device() != x.device() || indices.device() != x.device() || (bias.defined() && bias.device() != x.device()))
        reject("x, values, indices and bias must be on one device");
    if (!kernels::isaSupported(isa)) reject("instruction set " + kernels::toString(isa) + " is not supported by this CPU");

    const int64_t inFeatures = x.size(-1);
    torch::Tensor x2 = x.reshape({-1, inFeatures});
    const bool kernelPath = useKernels(x2, values);
    // The kernels (CPU and CUDA) read int16 or int32; LibTorch's index ops want int64.
    torch::Tensor idx;
    if (kernelPath || useCudaKernels(x2, values))
        idx = indexType == torch::kLong ? indices.to(torch::kInt) : indices.contiguous();
    else idx = indices.to(torch::kLong);

    // Indices already seen (same contents, same inFeatures) were checked then; on the kernel path they
    // are looked up in the cache, which also holds their column layout for grad_input.
    std::shared_ptr<IndexCache::Entry> cached;
    if (kernelPath && idx.numel() > 0) cached = IndexCache::instance().find(idx, inFeatures);
    if (!cached && indices.numel() > 0) {
        // One cheap pass (rows * k, against the kernels' batch * rows * k) keeps an out-of-range index
        // from reading or writing outside x and grad_input.
        const int64_t lo = indices.min().item<int64_t>(), hi = indices.max().item<int64_t>();
        if (lo < 0 || hi >= inFeatures)
            reject("indices must lie in [0, " + std::to_string(inFeatures) + "), found [" + std::to_string(lo) + ", " +
                   std::to_string(hi) + "]");
        if (kernelPath) cached = IndexCache::instance().insert(idx, inFeatures);
    }
    const int64_t cacheId = cached ? static_cast<int64_t>(cached->id) : 0;
    const bool training = torch::GradMode::is_enabled() && values.requires_grad();
    // LibTorch 1.13's Function::apply cannot take an undefined tensor: no bias travels as an empty one.
    const torch::Tensor biasArg = bias.defined() ? bias : torch::empty({0}, values.options());
    torch::Tensor y = CondensedLinearFunction::apply(x2, values, idx, biasArg, bias.defined(), static_cast<int64_t>(isa),
                                                     static_cast<int64_t>(threads), training, cacheId);
    auto outShape = x.sizes().vec();
    outShape.back() = values.size(0);
    return y.view(outShape);
}

torch::Tensor condensedLinear(const torch::Tensor& x, const torch::Tensor& values, const torch::Tensor& indices,
                              const torch::Tensor& bias) {
    return condensedLinear(x, values, indices, bias, kernels::detectIsa());
}

} // namespace srigl
