// The training loop: dense ops on masked weights, masked gradients and optimizer state, mask updates
// on schedule, evaluation, checkpoints (docs/algorithms.md, "Training step").
#include "engine/training/trainer_internals.hpp"

#include "engine/distributed/distributed_error.hpp"
#include "engine/errors.hpp"
#include "engine/kernels/condensed_kernels.hpp"
#include "engine/runtime/threading.hpp"
#include "engine/sparsity/mask_update.hpp"
#include "engine/sparsity/sparse_opt.hpp"
#include "engine/sparsity/sparsity_distribution.hpp"
#include "engine/sparsity/trainable_threshold.hpp"
#include "engine/training/compute_path.hpp"
#include "engine/training/dense_reference.hpp"
#include "engine/training/loss.hpp"
#include "engine/training/memory_estimate.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

namespace srigl {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// Independent random streams derived from (seed, purpose, step): a resumed run draws exactly
// what the uninterrupted run drew, without saving generator state.
torch::Generator generatorFor(uint64_t seed, uint64_t purpose, uint64_t step = 0) {
    uint64_t x = seed * 0x9E3779B97F4A7C15ull ^ (purpose + 0x632BE59BD9B4E019ull) * 0xBF58476D1CE4E5B9ull ^
                 (step + 1) * 0x94D049BB133111EBull;
    x ^= x >> 31;
    return at::make_generator<at::CPUGeneratorImpl>(x);
}

enum Purpose : uint64_t { MaskInit = 1, WeightInit = 2, SetGrowth = 3, ModelInit = 4 };

bool isDynamic(const std::string& method) { return method == "set" || method == "rigl" || method == "srigl"; }

struct Planned {
    std::vector<LayerShape> shapes;
    std::vector<double> densities;
};

Planned planLayers(const RunConfig& c, SparseModelImpl& model) {
    Planned p;
    for (const auto& l : model.sparseLayers())
        p.shapes.push_back(LayerShape{l.name, l.layer->weightShape()});
    const double sparsity = c.method == "dense" ? 0.0 : c.sparsity;
    if (isNmMethod(c.method)) {
        // N:M fixes every layer's density at N/M (`sparsity` and `distribution` do not apply); a
        // layer whose groups are shorter than M keeps what nm_mask.hpp documents (padded groups).
        const double density = nm::parseNm(c.nm).density();
        for (size_t i = 0; i < p.shapes.size(); ++i) {
            const bool keepDense = (c.dense_first && i == 0) || (c.dense_last && i + 1 == p.shapes.size());
            p.densities.push_back(keepDense ? 1.0 : density);
        }
        return p;
    }
    if (isTrainableThreshold(c.method)) {
        // Every layer starts dense (thresholds 0) and learns its own density: `sparsity` and
        // `distribution` do not apply.
        p.densities.assign(p.shapes.size(), 1.0);
        return p;
    }
    p.densities = layerDensities(p.shapes, sparsity,
                                 DistributionOptions{parseDistribution(c.distribution), c.dense_first, c.dense_last});
    for (size_t i = 0; i < p.shapes.size(); ++i) {
        if (p.densities[i] >= 1.0) continue;
        const auto& s = p.shapes[i];
        const int64_t budget = layerBudget(s, p.densities[i]);
        const int64_t k = budget / s.outFeatures();
        const bool tooSparse = hasConstantFanIn(c) ? k < 1 : budget < 1;
        if (tooSparse) {
            std::ostringstream msg;
            msg << "layer " << s.name << " (" << s.outFeatures() << " neurons x fan-in " << s.fanIn()
                << ") would keep k = " << k << " connections per neuron (" << budget << " weights at density "
                << p.densities[i] << "); lower the sparsity, use distribution=erk or set dense_first/dense_last";
            throw ConfigError("sparsity", msg.str());
        }
    }
    return p;
}

// The path a layer starts training on. The memory check and the allocation both take it from here,
// so that what is checked is what is built.
std::string initialComputePath(const RunConfig& c, const SparseLayer& layer, double density) {
    LayerComputeQuery q;
    q.shape = layer.weightShape();
    q.density = density;
    q.constantFanIn = hasConstantFanIn(c);
    q.nm = isNmMethod(c.method) && density < 1.0;
    if (const auto* conv = dynamic_cast<const SparseConv2dImpl*>(&layer)) {
        q.stride = conv->stride;
        q.padding = conv->padding;
        q.outputPixels = conv->outputPixels();
    }
    q.avx512 = kernels::isaSupported(kernels::Isa::Avx512); // the CPU's, whatever SRIGL_KERNEL_ISA lowers the kernels to
    std::string path = computePathFor(c, q);
    if (path == "condensed" && !layer.condensable()) path = "masked_dense";
    return path;
}

std::vector<LayerMemoryFacts> memoryFactsOf(const RunConfig& c, const std::vector<NamedSparseLayer>& named,
                                            const Planned& plan) {
    std::vector<LayerMemoryFacts> facts;
    for (size_t i = 0; i < named.size(); ++i) {
        const SparseLayer& layer = *named[i].layer;
        LayerMemoryFacts f;
        f.name = named[i].name;
        f.out = layer.outFeatures();
        f.fanIn = layer.fanIn();
        f.k = layerBudget(plan.shapes[i], plan.densities[i]) / f.out;
        f.path = initialComputePath(c, layer, plan.densities[i]);
        f.dynamic = isDynamic(c.method) && plan.densities[i] < 1.0;
        f.bias = layer.bias.defined();
        facts.push_back(std::move(f));
    }
    return facts;
}

} // namespace

std::string toString(TrainingStatus status) {
    switch (status) {
    case TrainingStatus::Finished: return "finished";
    case TrainingStatus::Stopped: return "stopped";
    case TrainingStatus::Diverged: return "diverged";
    }
    return "unknown";
}

LayerUpdateStats describeMask(const std::string& name, const torch::Tensor& mask) {
    LayerUpdateStats s;
    s.name = name;
    s.shape = mask.sizes().vec();
    auto m = mask.view({mask.size(0), -1});
    s.outFeatures = m.size(0);
    s.fanIn = m.size(1);
    auto counts = m.sum(1).to(torch::kCPU);
    const int64_t nnz = counts.sum().item<int64_t>();
    s.sparsity = 1.0 - static_cast<double>(nnz) / static_cast<double>(m.numel());
    auto alive = counts > 0;
    s.active = alive.sum().item<int64_t>();
    s.ablated = s.outFeatures - s.active;
    if (s.active > 0) {
        auto activeCounts = counts.masked_select(alive);
        s.fanInMin = activeCounts.min().item<int64_t>();
        s.fanInMax = activeCounts.max().item<int64_t>();
    }
    return s;
}

LayerUpdateStats describeCondensed(const std::string& name, const std::vector<int64_t>& shape,
                                   const CondensedWeights& layer) {
    // Every active row keeps exactly k inputs: the statistics follow without expanding the mask.
    LayerUpdateStats s;
    s.name = name;
    s.shape = shape;
    s.outFeatures = layer.rows();
    s.fanIn = layer.fanIn;
    s.ablated = layer.ablated;
    s.active = s.outFeatures - s.ablated;
    s.fanInMin = s.fanInMax = s.active > 0 ? layer.k() : 0;
    s.sparsity = 1.0 - static_cast<double>(s.active * layer.k()) / static_cast<double>(s.outFeatures * s.fanIn);
    return s;
}

std::vector<LayerPlan> planRun(const RunConfig& config) {
    validateConfig(config);
    torch::NoGradGuard noGrad;
    DeferredWeights shapesOnly; // a plan needs shapes, not weights (the Studio plans on every edit)
    auto model = buildModel(config, inputShapeOf(config.dataset));
    Planned p = planLayers(config, *model);
    std::vector<LayerPlan> out;
    for (size_t i = 0; i < p.shapes.size(); ++i) {
        LayerPlan lp;
        lp.name = p.shapes[i].name;
        lp.shape = p.shapes[i].dims;
        lp.density = p.densities[i];
        lp.budget = layerBudget(p.shapes[i], p.densities[i]);
        lp.k = lp.budget / p.shapes[i].outFeatures();
        out.push_back(lp);
    }
    return out;
}

std::vector<LayerMemoryFacts> plannedMemoryFacts(const RunConfig& config) {
    validateConfig(config);
    torch::NoGradGuard noGrad;
    DeferredWeights shapesOnly;
    auto model = buildModel(config, inputShapeOf(config.dataset));
    return memoryFactsOf(config, model->sparseLayers(), planLayers(config, *model));
}

Trainer::Trainer(const RunConfig& config, TrainingObserver* observer) : impl_(std::make_unique<Impl>()) {
    Impl& s = *impl_;
    s.config = config;
    s.observer = observer;
    validateConfig(config);
    if (config.device == "cuda") {
        if (!torch::cuda::is_available())
            throw ConfigError("device", "cuda requested, but this LibTorch build has no CUDA or no GPU is visible");
        s.device = torch::Device(torch::kCUDA);
    }
    configureThreads(static_cast<int>(config.threads));
    if (!config.checkpoint.empty()) requireCheckpointPath(config.checkpoint); // now, not after hours of training

    s.data = loadDataset(config.dataset, config.data_dir, config.seed, config.synthetic_train, config.synthetic_test);
    if (config.batch_size > s.data.train.size())
        throw ConfigError("batch_size", "batch size " + std::to_string(config.batch_size) +
                                            " is larger than the training split (" +
                                            std::to_string(s.data.train.size()) + " images)");
    s.sampler = std::make_unique<BatchSampler>(s.data, config.batch_size, config.seed);
    s.stepsPerEpoch = s.sampler->batchesPerEpoch();
    s.totalSteps = config.epochs * s.stepsPerEpoch;
    if (config.max_steps > 0) s.totalSteps = std::min(s.totalSteps, config.max_steps);

    // Model: every random draw comes from this run's own generators (never torch's global one), so
    // two trainers in one process do not disturb each other's determinism.
    InputShape shape{s.data.channels, s.data.height, s.data.width, s.data.numClasses};
    {
        // The trainer initialises every sparse layer itself (below): no torch.nn default init first.
        DeferredWeights allocatedBelow;
        s.model = buildModel(config, shape);
    }
    Planned plan = planLayers(config, *s.model);
    auto named = s.model->sparseLayers();
    const std::vector<LayerMemoryFacts> memoryFacts = memoryFactsOf(config, named, plan);
    // Before the layers allocate: a model that surely cannot fit fails here with a message, not by
    // an OOM kill halfway through. GPU memory is not checked here (only the host's, for device=cpu).
    if (config.device == "cpu") {
        const MemoryEstimate estimate =
            estimateTrainingMemory(memoryFacts, optimizerStateBytes(config.optimizer, config.momentum));
        const std::optional<AvailableMemory> available = availableMemory();
        requireMemoryFits(estimate, available);
        if (keepFreedMemoryFor(estimate.bytes, available ? std::optional<uint64_t>(available->bytes) : std::nullopt)) {
            s.keptFreed.emplace();
            s.availableAtStart = available->bytes;
        }
    }
    // trainable_threshold: each thresholded layer's thresholds are a parameter of its module, so the
    // optimizer, checkpoints and data-parallel broadcasts and gradients take them like any other.
    // Registered before the parameter list is read (it fixes the optimizer's indices).
    const auto thresholded = [&](size_t i) {
        return isTrainableThreshold(config.method) && !(config.dense_first && i == 0) &&
               !(config.dense_last && i + 1 == named.size());
    };
    for (size_t i = 0; i < named.size(); ++i) {
        if (!thresholded(i)) continue;
        auto* module = dynamic_cast<torch::nn::Module*>(named[i].layer);
        if (!module) throw std::logic_error("sparse layer " + named[i].name + " is not a module");
        named[i].layer->threshold =
            module->register_parameter("threshold", torch::zeros({named[i].layer->outFeatures()}));
    }

    std::vector<torch::Tensor> params;
    for (auto& p : s.model->parameters()) params.push_back(p);
    if (isNmMethod(config.method)) s.nm = NmMethod::fromConfig(config);
    torch::Generator maskGen = generatorFor(config.seed, MaskInit);
    torch::Generator weightGen = generatorFor(config.seed, WeightInit);
    {
        torch::NoGradGuard noGrad;
        for (size_t i = 0; i < named.size(); ++i) {
            SparseLayerState st;
            st.name = named[i].name;
            st.layer = named[i].layer;
            st.density = plan.densities[i];
            st.budget = layerBudget(plan.shapes[i], st.density);
            st.isLast = i + 1 == named.size();
            st.dynamic = isDynamic(config.method) && st.density < 1.0;
            st.nm = isNmMethod(config.method) && st.density < 1.0;
            st.tt = thresholded(i);
            for (size_t j = 0; j < params.size(); ++j)
                if (params[j].unsafeGetTensorImpl() == st.layer->weight.unsafeGetTensorImpl()) st.paramIndex = j;

            const int64_t out = st.layer->outFeatures(), fanIn = st.layer->fanIn();
            st.compute = memoryFacts[i].path;
            const int64_t k = st.budget / out;
            torch::Tensor mask;
            if (hasConstantFanIn(config) && st.density < 1.0 && !st.nm && k >= 1) {
                // k inputs per neuron with N(0, 2 / k) weights, drawn as [out, k]: a condensed layer is
                // built in that form directly (its dense form may not fit in memory), a masked-dense one
                // gets the same draws scattered, so both paths start from the same network.
                auto idx = constantFanInIndices(out, fanIn, k, maskGen);
                auto values = torch::randn({out, k}, weightGen, torch::kFloat) * std::sqrt(2.0 / static_cast<double>(k));
                if (st.compute == "condensed") {
                    st.layer->adoptCondensed(std::make_shared<CondensedWeights>(makeCondensed(values, idx, fanIn)));
                    st.last = describeCondensed(st.name, st.layer->weightShape(), *st.layer->condensed);
                } else {
                    st.layer->allocateDense();
                    mask = torch::zeros({out, fanIn}, torch::kBool).scatter_(1, idx, true);
                    st.layer->setMask(mask);
                    st.layer->weight.copy_(torch::zeros({out, fanIn}).scatter_(1, idx, values).view(st.layer->weightShape()));
                }
            } else {
                st.layer->allocateDense();
                if (st.density >= 1.0 || st.nm) mask = torch::ones({out, fanIn}, torch::kBool);
                else if (hasConstantFanIn(config)) mask = constantFanInMask(out, fanIn, k, maskGen);
                else mask = unstructuredMask(out, fanIn, st.budget, maskGen);
                st.layer->setMask(mask);
                // Sparse initialisation: N(0, 2 / fan_in of the neuron), i.e. std = sqrt(2 / k).
                auto rowFanIn = mask.sum(1, /*keepdim=*/true).clamp_min(1).to(torch::kFloat);
                auto w = torch::randn({out, fanIn}, weightGen, torch::kFloat) * (2.0 / rowFanIn).sqrt() * mask;
                st.layer->weight.copy_(w.view(st.layer->weight.sizes()));
            }
            if (st.layer->bias.defined()) {
                // torch.nn's default bias init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from the run's generator.
                const double bound = 1.0 / std::sqrt(static_cast<double>(fanIn));
                st.layer->bias.copy_(torch::rand({out}, weightGen, torch::kFloat) * (2 * bound) - bound);
            }
            if (st.nm) {
                // Dense initialisation (mask of ones above), then the N:M mask of those weights; the
                // dense weights are kept (the forward masks them, see SparseLayer::forwardWeight).
                mask = s.nm->mask(st.layer->weight);
                st.layer->setMask(mask);
                st.layer->straightThrough = true;
                st.eventMask = st.layer->mask.clone();
            }
            if (st.tt) {
                // Thresholds 0: every nonzero weight is kept at first.
                mask = thresholdMask(st.layer->weight, st.layer->threshold);
                st.layer->setMask(mask);
                st.eventMask = st.layer->mask.clone();
                st.compute = "masked_dense";
            }
            if (mask.defined()) st.last = describeMask(st.name, mask);
            // k is the per-neuron fan-in of constant fan-in layers (SRigL's, and dense ones); 0 means
            // the layer is unstructured.
            st.last.k = !st.tt && (hasConstantFanIn(config) || config.method == "dense" || st.density >= 1.0)
                            ? (st.density >= 1.0 ? fanIn : st.budget / out)
                            : 0;
            s.layers.push_back(std::move(st));
        }
    }
    s.model->to(s.device);
    for (auto& st : s.layers) {
        st.layer->syncMaskFactor();
        // A condensed layer accumulates no dense gradient: growth uses its captures (condensed_path.cpp).
        if (st.dynamic && !st.layer->isCondensed()) st.gradSum = torch::zeros_like(st.layer->weightMatrix());
        if (st.nm || st.tt) st.eventMask = st.eventMask.to(s.device);
    }
    if (isTrainableThreshold(config.method))
        s.ttController = ThresholdDensityController(config.tt_alpha, config.tt_target_density);
    s.condenseMarked();
    params.clear();
    for (auto& p : s.model->parameters()) params.push_back(p);
    // A condensed layer's optimizer parameter is its values, at the index of its dense weight: the
    // optimizer's state keys are the same on both paths, so checkpoints move between them.
    for (auto& st : s.layers)
        if (st.layer->isCondensed()) params[st.paramIndex] = st.layer->condensed->values;

    s.optimizer = std::make_unique<Optimizer>(params, optimizerSettingsFor(config));
    std::vector<int64_t> milestones;
    if (config.lr_schedule == "step") milestones = parseIntList("lr_milestones", config.lr_milestones);
    s.lr = std::make_unique<LrSchedule>(config.lr_schedule, config.lr, s.stepsPerEpoch, s.totalSteps, milestones,
                                        config.lr_gamma, config.warmup_epochs);
    s.schedule = std::make_unique<UpdateSchedule>(config.delta_t, config.alpha, config.t_end, s.totalSteps);

    auto zeros = [&] { return torch::zeros({}, torch::TensorOptions().dtype(torch::kDouble).device(s.device)); };
    s.reportLoss = zeros();
    s.reportCorrect = zeros();
    s.epochLoss = zeros();
    s.epochCorrect = zeros();
}

// The run's kept freed memory goes back with its KeptFreedMemory, the last member of Impl to go (a
// trainer still running beside it keeps reusing it).
Trainer::~Trainer() = default;

void Trainer::setObserver(TrainingObserver* observer) { impl_->observer = observer; }

void Trainer::writeCheckpoint() {
    Impl& s = *impl_;
    if (s.config.checkpoint.empty()) return;
    const auto checkpointStart = Clock::now();
    // History first: after a kill at any moment the store holds every row up to the checkpoint's
    // step, so a resume from it leaves no hole.
    if (s.observer) s.observer->onBeforeCheckpoint(s.step);
    saveCheckpoint(s.config.checkpoint);
    s.checkpointSeconds += secondsSince(checkpointStart);
    if (s.observer) s.observer->onCheckpoint(s.step, s.config.checkpoint);
}

void Trainer::setRunIdentity(const std::string& runUuid) { impl_->runUuid = runUuid; }

void Trainer::setCheckpointFile(const std::string& path, int64_t every) {
    if (!path.empty()) requireCheckpointPath(path);
    impl_->config.checkpoint = path;
    impl_->config.checkpoint_every = every;
}

void Trainer::enableDataParallel(std::shared_ptr<ProcessGroup> group, const DataParallelOptions& options) {
    Impl& s = *impl_;
    if (!group) throw std::invalid_argument("Trainer::enableDataParallel: no process group");
    // The collectives run where the group's tensors live: Gloo on the CPU, NCCL on this worker's GPU
    // (connectNccl made GPU LOCAL_RANK the current device, so the model built for "cuda" is there).
    const torch::Device groupDevice = group->device();
    if (s.device.is_cuda() != groupDevice.is_cuda())
        throw ConfigError("device", s.device.is_cuda()
                                        ? "data-parallel training on a GPU needs the NCCL process group (srigl train "
                                          "--distributed picks it for device=cuda)"
                                        : "the NCCL process group runs on a GPU; use device=cuda");
    if (s.device.is_cuda()) {
        for (auto& p : s.model->parameters())
            if (p.device() != groupDevice)
                throw ConfigError("device", "the model is on " + p.device().str() + " but this worker's NCCL group on " +
                                                groupDevice.str() + ": join the group (it selects GPU LOCAL_RANK) "
                                                "before building the trainer");
        s.device = groupDevice; // cuda:LOCAL_RANK from now on, not "the current GPU"
    }
    if (s.config.batch_size % group->size() != 0)
        throw ConfigError("batch_size", "the global batch of " + std::to_string(s.config.batch_size) +
                                            " does not split evenly over " + std::to_string(group->size()) +
                                            " workers; use a multiple of the world size");
    for (auto& st : s.layers) {
        if (st.compute != "condensed") continue;
        // Gradient buckets and the mask checksum work on dense weights and masks.
        if (s.config.sparse_compute == "condensed")
            throw ConfigError("sparse_compute", "data-parallel training runs sparse layers masked_dense for now; "
                                                "use sparse_compute=auto or masked_dense");
        s.expand(st);
        st.compute = "masked_dense";
    }
    std::vector<torch::Tensor> params;
    for (auto& p : s.model->parameters()) params.push_back(p);
    s.parallel = std::make_unique<DataParallel>(group, params, options);
    s.distributed.rank = group->rank();
    s.distributed.worldSize = group->size();
    // Same start everywhere: a worker whose initialisation or checkpoint differed would silently
    // train another model.
    std::vector<torch::Tensor> state = params;
    for (auto& b : s.model->buffers()) state.push_back(b);
    for (auto& st : s.layers) {
        state.push_back(st.layer->mask);
        if (st.nm || st.tt) state.push_back(st.eventMask);
    }
    s.parallel->broadcastFromRankZero(state, "broadcast of rank 0's initial weights and masks");
    for (auto& st : s.layers) st.layer->syncMaskFactor();
    s.checkMasksAgree(s.step);
}

DistributedInfo Trainer::distributedInfo() const {
    DistributedInfo info = impl_->distributed;
    if (impl_->parallel) {
        info.communicationSeconds = impl_->parallel->communicationSeconds();
        info.gradientBuckets = static_cast<int64_t>(impl_->parallel->bucketCount());
        info.bucketsOverlapped = static_cast<int64_t>(impl_->parallel->bucketsStartedDuringBackward());
    }
    return info;
}

void Trainer::Impl::measureDenseReference() {
    if (denseReference) return;
    denseReference = DenseReference{};
    if (config.dense_reference_steps <= 0 || config.method == "dense") return;
    DenseReferenceShape shape;
    shape.batch = parallel ? config.batch_size / parallel->size() : config.batch_size; // this rank's shard
    shape.channels = data.channels;
    shape.height = data.height;
    shape.width = data.width;
    shape.classes = data.numClasses;
    DenseReferenceOptions options;
    options.steps = static_cast<int>(config.dense_reference_steps);
    denseReference = srigl::measureDenseReference(config, shape, options);
    returnFreedMemory(); // the twin's peak (it can be larger than the sparse run's) is over
    if (observer) observer->onDenseReference(*denseReference);
}

void Trainer::Impl::checkRoomForKeptMemory() {
    if (!keptFreed || !keptFreed->active()) return;
    const std::optional<AvailableMemory> now = availableMemory();
    if (now && stillRoomForKeptMemory(now->bytes, availableAtStart)) return;
    keptFreed.reset();
    returnFreedMemory();
}

void Trainer::Impl::checkMasksAgree(int64_t atStep) {
    if (!parallel) return;
    std::vector<std::string> names;
    std::vector<torch::Tensor> masks;
    for (const auto& st : layers) {
        names.push_back(st.name);
        masks.push_back(st.layer->mask);
    }
    try {
        distributed.maskChecksum = parallel->requireSameMasks(names, masks, atStep);
        ++distributed.maskChecks;
    } catch (const DistributedError&) {
        distributed.masksAgree = false;
        throw;
    }
}

const RunConfig& Trainer::config() const { return impl_->config; }
int64_t Trainer::step() const { return impl_->step; }
int64_t Trainer::totalSteps() const { return impl_->totalSteps; }
int64_t Trainer::stepsPerEpoch() const { return impl_->stepsPerEpoch; }
double Trainer::lastLoss() const { return impl_->lastLoss; }
TrainingStatus Trainer::lastStatus() const { return impl_->status; }

std::string Trainer::deviceDescription() const {
    if (impl_->device.is_cuda()) return "cuda";
    ThreadingInfo t = currentThreading();
    return "cpu, " + std::to_string(t.torchThreads) + " threads, " + t.blas;
}

LayerUpdateStats Trainer::Impl::statsOf(const SparseLayerState& st) const {
    LayerUpdateStats s =
        st.layer->isCondensed() ? describeCondensed(st.name, st.layer->weightShape(), *st.layer->condensed)
                                : describeMask(st.name, st.layer->mask);
    s.compute = st.compute;
    s.k = st.last.k;
    s.pruned = st.last.pruned;
    s.regrown = st.last.regrown;
    s.sad = st.last.sad;
    s.seconds = st.last.seconds;
    if (st.nm) s.nmValid = nm->valid(st.layer->mask) ? 1 : 0;
    if (st.tt) {
        const torch::Tensor t = st.layer->threshold.detach().to(torch::kCPU, torch::kFloat).contiguous();
        s.thresholds.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
    }
    return s;
}

std::vector<LayerUpdateStats> Trainer::layerStats() const {
    std::vector<LayerUpdateStats> out;
    for (const auto& st : impl_->layers) out.push_back(impl_->statsOf(st));
    return out;
}

namespace {

// A condensed layer's mask snapshot straight from its indices: no [out, fan_in] tensor, O(out * k).
// The same bits and ablated rows as packing its dense mask (an ablated row's placeholder indices are
// not connections). rowStride > 1 samples the rows (LayerMaskSnapshot): 0, stride, 2 stride, ...
LayerMaskSnapshot condensedMaskSnapshot(const std::string& name, const CondensedWeights& c, int64_t rowStride = 1) {
    LayerMaskSnapshot snap;
    snap.name = name;
    snap.rowStride = rowStride;
    snap.outFeatures = LayerMaskSnapshot::sampledRows(c.rows(), rowStride);
    if (rowStride > 1) snap.layerOutFeatures = c.rows();
    snap.fanIn = c.fanIn;
    snap.bits.assign(static_cast<size_t>((snap.outFeatures * c.fanIn + 7) / 8), 0);
    torch::Tensor alive;
    if (c.ablated > 0) alive = c.alive.to(torch::kCPU, torch::kFloat).contiguous().view({-1});
    const float* kept = alive.defined() ? alive.data_ptr<float>() : nullptr;
    // The indices in their own type (int16 or int32): a copy as int64 would be 4x their size.
    const torch::Tensor idx = c.indices.to(torch::kCPU).contiguous();
    auto pack = [&](const auto* index) {
        for (int64_t row = 0; row < snap.outFeatures; ++row) {
            const int64_t r = row * rowStride;
            if (kept && kept[r] == 0.0f) {
                snap.ablated.push_back(row);
                continue;
            }
            for (int64_t j = 0; j < c.k(); ++j) {
                const int64_t e = row * c.fanIn + static_cast<int64_t>(index[r * c.k() + j]);
                snap.bits[static_cast<size_t>(e / 8)] |= static_cast<uint8_t>(1u << (e % 8));
            }
        }
    };
    if (idx.scalar_type() == torch::kShort) pack(idx.data_ptr<int16_t>());
    else if (idx.scalar_type() == torch::kInt) pack(idx.data_ptr<int32_t>());
    else pack(idx.to(torch::kLong).data_ptr<int64_t>());
    return snap;
}

} // namespace

std::vector<LayerMaskSnapshot> Trainer::maskSnapshot() const {
    std::vector<LayerMaskSnapshot> out;
    for (const auto& st : impl_->layers) {
        const int64_t limit = denseFormLimits().mask;
        if (condensedBeyond(st, limit)) {
            // Too large to snapshot whole: every stride-th neuron, as many whole rows as the limit
            // holds. A row wider than the limit leaves the layer with its statistics only.
            const CondensedWeights& c = *st.layer->condensed;
            const int64_t rowsKept = limit / c.fanIn;
            if (rowsKept >= 1) out.push_back(condensedMaskSnapshot(st.name, c, (c.rows() + rowsKept - 1) / rowsKept));
            continue;
        }
        if (st.layer->isCondensed()) {
            out.push_back(condensedMaskSnapshot(st.name, *st.layer->condensed));
            continue;
        }
        LayerMaskSnapshot snap;
        snap.name = st.name;
        auto m = st.layer->denseMaskMatrix().to(torch::kCPU).contiguous();
        snap.outFeatures = m.size(0);
        snap.fanIn = m.size(1);
        const bool* bits = m.data_ptr<bool>();
        const int64_t n = m.numel();
        snap.bits.assign(static_cast<size_t>((n + 7) / 8), 0);
        for (int64_t i = 0; i < n; ++i)
            if (bits[i]) snap.bits[static_cast<size_t>(i / 8)] |= static_cast<uint8_t>(1u << (i % 8));
        auto empty = (m.sum(1) == 0).nonzero().flatten();
        for (int64_t i = 0; i < empty.numel(); ++i) snap.ablated.push_back(empty[i].item<int64_t>());
        out.push_back(std::move(snap));
    }
    return out;
}

namespace {

LayerWeightSnapshot weightsOf(const SparseLayerState& st) {
    LayerWeightSnapshot snap;
    snap.name = st.name;
    // The stored weight is kept equal to W * M, so entries outside the mask are already zero;
    // N:M and thresholded layers keep their dense weights, and what they compute with is W * M.
    torch::Tensor w = st.layer->denseWeightMatrix();
    if (st.nm || st.tt) w = w * st.layer->maskMatrix();
    w = w.to(torch::kCPU, torch::kFloat).contiguous();
    snap.outFeatures = w.size(0);
    snap.fanIn = w.size(1);
    const float* p = w.data_ptr<float>();
    snap.values.assign(p, p + w.numel());
    return snap;
}

// The dense gradient a RigL / SRigL update grew by, in the weights' [out, fan_in] layout.
LayerWeightSnapshot gradientOf(const std::string& name, const torch::Tensor& gradSum) {
    LayerWeightSnapshot snap;
    snap.name = name;
    torch::Tensor g = gradSum.detach().to(torch::kCPU, torch::kFloat).contiguous();
    snap.outFeatures = g.size(0);
    snap.fanIn = g.size(1);
    const float* p = g.data_ptr<float>();
    snap.values.assign(p, p + g.numel());
    return snap;
}

} // namespace

std::vector<LayerWeightSnapshot> Trainer::weightSnapshots() const {
    std::vector<LayerWeightSnapshot> out;
    for (const auto& st : impl_->layers)
        if (!condensedBeyond(st, denseFormLimits().snapshot)) out.push_back(weightsOf(st));
    return out;
}

LayerWeightSnapshot Trainer::weightSnapshot(const std::string& layer) const {
    std::string names;
    for (const auto& st : impl_->layers) {
        if (st.name == layer) {
            if (condensedBeyond(st, denseFormLimits().snapshot))
                throw ConfigError("", "layer '" + layer + "' trains condensed and is too large to expand (" +
                                          std::to_string(st.layer->outFeatures()) + " x " +
                                          std::to_string(st.layer->fanIn()) + ")");
            return weightsOf(st);
        }
        names += (names.empty() ? "" : ", ") + st.name;
    }
    throw ConfigError("", "no sparse layer named '" + layer + "' (layers: " + names + ")");
}

SriglParams Trainer::Impl::sriglParams(const SparseLayerState& st) const {
    SriglParams p;
    p.budget = st.budget;
    p.gammaSal = config.gamma_sal;
    p.allowAblation = !st.isLast; // the output layer is never ablated
    p.forceAblate = st.unused;
    return p;
}

std::vector<uint8_t> Trainer::Impl::unusedNeurons(size_t i) const {
    if (!config.ablate_unused || i + 1 >= layers.size() || layers[i].isLast) return {};
    const SparseLayer& here = *layers[i].layer;
    // The next layer reads this one's outputs as consecutive groups of its inputs: one input per
    // neuron (Linear after Linear), a kh x kw window per channel (conv after conv), H x W per
    // channel (Linear after a flattened conv).
    const auto next = layers[i + 1].layer->denseMaskMatrix();
    const int64_t out = here.outFeatures();
    if (out <= 0 || next.size(1) % out != 0) return {};
    const auto used = next.any(0).view({out, next.size(1) / out}).any(1).to(torch::kCPU).contiguous();
    std::vector<uint8_t> unused(static_cast<size_t>(out));
    for (int64_t r = 0; r < out; ++r) unused[static_cast<size_t>(r)] = !used[r].item<bool>();
    return unused;
}

MaskUpdateResult Trainer::Impl::runRule(const SparseLayerState& st, const torch::Tensor& w, const torch::Tensor& m,
                                        double dropFraction, int64_t atStep) {
    if (config.method == "srigl") return sriglUpdate(w, m, st.gradSum, dropFraction, sriglParams(st));
    if (config.method == "rigl") return riglUpdate(w, m, st.gradSum, dropFraction);
    torch::Generator gen =
        generatorFor(config.seed, SetGrowth, static_cast<uint64_t>(atStep) * 1024 + (&st - layers.data()));
    return setUpdate(w, m, dropFraction, gen);
}

void Trainer::Impl::maskUpdate(int64_t atStep) {
    torch::NoGradGuard noGrad;
    const auto start = Clock::now();
    MaskUpdateEvent event;
    event.step = atStep;
    event.dropFraction = schedule->dropFraction(atStep);
    // ablate_unused updates from the last layer back, so that each layer sees the next layer's
    // new mask: after the update no active neuron feeds nothing.
    std::vector<size_t> order(layers.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = config.ablate_unused ? order.size() - 1 - i : i;
    for (size_t i : order) {
        auto& st = layers[i];
        if (!st.dynamic) continue;
        st.unused = unusedNeurons(i);
        const auto layerStart = Clock::now();
        MaskUpdateResult r;
        if (st.layer->isCondensed()) {
            r = condensedMaskUpdate(st, event.dropFraction);
        } else {
            r = runRule(st, st.layer->weightMatrix(), st.layer->maskMatrix(), event.dropFraction, atStep);
            st.layer->setMask(r.mask);
            // Dropped weights become zero; grown ones are zero already (they were inactive), and a
            // connection dropped and regrown in the same update keeps its value.
            st.layer->applyMask();
            optimizer->maskState(st.paramIndex, st.layer->maskFactor());
        }
        st.last.k = r.k;
        st.last.pruned = r.pruned;
        st.last.regrown = r.regrown;
        st.last.sad = r.pruned + r.regrown;
        st.last.seconds = secondsSince(layerStart);
        event.layers.push_back(statsOf(st));
    }
    if (config.ablate_unused) std::reverse(event.layers.begin(), event.layers.end()); // listeners get model order
    event.seconds = secondsSince(start);
    updateSeconds += event.seconds;
    ++updates;
    // The accumulated gradients stay until the observers have seen the event (a recorder stores
    // what growth used); the next window starts from zero.
    // A copy of the event kept by a listener gets nothing from it afterwards (`open`).
    auto open = std::make_shared<bool>(true);
    if (config.method == "srigl" || config.method == "rigl") {
        event.gradients = [this, open] {
            std::vector<LayerWeightSnapshot> out;
            if (!*open) return out;
            // Condensed layers never hold it: made from their captures only if a listener asks.
            for (const auto& st : layers)
                if (st.dynamic && !condensedBeyond(st, denseFormLimits().snapshot))
                    out.push_back(gradientOf(st.name, st.layer->isCondensed() ? pendingGradient(st) : st.gradSum));
            return out;
        };
    }
    if (observer) observer->onMaskUpdate(event);
    *open = false;
    for (auto& st : layers) {
        if (!st.dynamic) continue;
        if (st.layer->isCondensed()) {
            st.gradSum = torch::Tensor(); // the next window starts from its own captures
            st.layer->condensed->inputs.clear();
            st.layer->condensed->gradOutputs.clear();
            st.layer->condensed->capturedGrad = torch::Tensor();
            st.layer->condensed->lastGrad = torch::Tensor();
        } else {
            st.gradSum.zero_();
        }
    }
}

void Trainer::Impl::scaleSparseOpt(SparseLayerState& st) {
    if (st.density >= 1.0) return; // a dense layer: every neuron has the layer's density
    if (st.layer->isCondensed()) {
        auto& c = *st.layer->condensed;
        // Without ablated rows every neuron keeps k: the scale is exactly 1.
        if (c.ablated > 0 && c.values.grad().defined()) applySparseOpt(c.values.mutable_grad(), sparseOptScaleCondensed(c.alive));
        return;
    }
    if (st.layer->weight.grad().defined()) applySparseOpt(st.layer->weight.mutable_grad(), sparseOptScale(st.layer->mask));
}

void Trainer::Impl::nmMaskUpdate(int64_t atStep) {
    torch::NoGradGuard noGrad;
    const auto start = Clock::now();
    const bool report = atStep % config.nm_update_every == 0;
    // nm_ste and srste recompute the mask from the current weights before every forward pass (so
    // after every step); transposable masks are expensive and are recomputed every nm_update_every.
    const bool recompute = !nm->transposable || report;
    if (!recompute) return;
    MaskUpdateEvent event;
    event.step = atStep;
    for (auto& st : layers) {
        if (!st.nm) continue;
        const auto layerStart = Clock::now();
        st.layer->setMask(nm->mask(st.layer->weight));
        st.last.seconds = secondsSince(layerStart);
        if (!report) continue;
        event.layers.push_back(eventChanges(st));
    }
    finishEvent(event, start, report);
}

std::vector<int64_t> Trainer::Impl::keptCounts() const {
    torch::NoGradGuard noGrad;
    std::vector<torch::Tensor> sums;
    for (const auto& st : layers)
        if (st.tt) sums.push_back(st.layer->mask.sum());
    std::vector<int64_t> out(layers.size(), 0);
    if (sums.empty()) return out;
    const auto counts = torch::stack(sums).to(torch::kCPU, torch::kLong);
    const int64_t* c = counts.data_ptr<int64_t>();
    for (size_t i = 0, j = 0; i < layers.size(); ++i)
        if (layers[i].tt) out[i] = c[j++];
    return out;
}

bool Trainer::Impl::guardThresholds(const std::vector<int64_t>& kept) {
    torch::NoGradGuard noGrad;
    bool reset = false;
    const double floor = thresholdResetFloor(config.tt_target_density);
    for (size_t i = 0; i < layers.size(); ++i) {
        auto& st = layers[i];
        if (!st.tt || !thresholdsCollapsed(kept[i], st.layer->weight.numel(), floor)) continue;
        st.layer->threshold.zero_();
        reset = true;
    }
    return reset;
}

double Trainer::Impl::globalDensity(const std::vector<int64_t>& kept) const {
    double total = 0.0, keptAll = 0.0;
    for (size_t i = 0; i < layers.size(); ++i) {
        const double n = static_cast<double>(layers[i].layer->weight.numel());
        total += n;
        keptAll += layers[i].tt ? static_cast<double>(kept[i]) : n;
    }
    return total > 0 ? keptAll / total : 1.0;
}

torch::Tensor Trainer::Impl::thresholdRegulariser() const {
    torch::Tensor sum;
    const double alpha = ttController.alpha();
    for (const auto& st : layers) {
        if (!st.tt) continue;
        auto p = srigl::thresholdPenalty(st.layer->threshold, alpha);
        sum = sum.defined() ? sum + p : p;
    }
    return sum;
}

void Trainer::Impl::thresholdMaskUpdate(int64_t atStep) {
    torch::NoGradGuard noGrad;
    const auto start = Clock::now();
    auto refresh = [&] {
        for (auto& st : layers)
            if (st.tt) st.layer->setMask(thresholdMask(st.layer->weight, st.layer->threshold));
    };
    const auto stamp = [](const SparseLayerState& st) {
        return std::make_pair(static_cast<int64_t>(st.layer->weight._version()),
                              static_cast<int64_t>(st.layer->threshold._version()));
    };
    const auto seen = [&] {
        for (auto& st : layers)
            if (st.tt) st.ttSeen = stamp(st);
    };
    if (atStep == 0) {
        // Before a forward the masks are those the last step left, already guarded, unless something
        // wrote the weights or thresholds in between (a checkpoint, a broadcast, a test, a tool).
        bool stale = false;
        for (const auto& st : layers) stale = stale || (st.tt && st.ttSeen != stamp(st));
        if (!stale) return;
        refresh();
        if (guardThresholds(keptCounts())) refresh();
        seen();
        return;
    }
    refresh();
    // One count of the fresh masks serves both: the controller sees the density the step produced,
    // before the guard (a collapse says alpha is too high, while the dense mask a reset leaves would
    // say the opposite and feed the collapse), and the guard judges the same masks.
    const auto kept = keptCounts();
    if (ttController.enabled()) ttController.update(globalDensity(kept));
    if (guardThresholds(kept)) refresh();
    seen();
    const bool report = atStep % config.tt_record_every == 0;
    MaskUpdateEvent event;
    event.step = atStep;
    for (auto& st : layers) {
        if (!st.tt || !report) continue;
        st.last.seconds = secondsSince(start);
        event.layers.push_back(eventChanges(st));
    }
    finishEvent(event, start, report);
}

LayerUpdateStats Trainer::Impl::eventChanges(SparseLayerState& st) {
    // Changes since the previous event: the net mask difference (SAD between the two steps).
    st.last.pruned = (st.eventMask & ~st.layer->mask).sum().item<int64_t>();
    st.last.regrown = (~st.eventMask & st.layer->mask).sum().item<int64_t>();
    st.last.sad = st.last.pruned + st.last.regrown;
    st.eventMask.copy_(st.layer->mask);
    return statsOf(st);
}

void Trainer::Impl::finishEvent(MaskUpdateEvent& event, std::chrono::steady_clock::time_point start, bool report) {
    const double seconds = secondsSince(start);
    updateSeconds += seconds;
    if (!report) return;
    event.seconds = seconds;
    ++updates;
    if (observer) observer->onMaskUpdate(event);
}

bool Trainer::trainStep() {
    Impl& s = *impl_;
    // A data-parallel run stops on every rank together: the request travels with the step's metrics.
    if (s.step >= s.totalSteps || (stopRequested_ && !s.parallel)) return false;
    if (!s.denseReference) s.measureDenseReference(); // driven step by step, without run()
    const auto start = Clock::now();
    const int64_t updatesBefore = s.updates;
    if (s.reportStart == Clock::time_point{}) s.reportStart = start; // driven step by step, without run()
    const int64_t t = s.step + 1;
    const int64_t epoch = (t - 1) / s.stepsPerEpoch;
    Batch batch = s.sampler->trainBatch(epoch, (t - 1) % s.stepsPerEpoch, s.device);
    if (s.parallel) batch = s.parallel->shard(batch);

    // Condensed layers keep their inputs and output gradients for the dense gradient growth needs.
    const bool accumulate = s.schedule->accumulatesGradient(t, s.config.grad_accumulation);
    for (auto& st : s.layers)
        if (st.dynamic && st.layer->isCondensed()) st.layer->condensed->capture = accumulate;

    s.model->train();
    s.optimizer->zeroGrad();
    // The reference resets collapsed thresholds in every forward; ours are reset after each step
    // already, unless something set them in between (a test, a tool).
    if (isTrainableThreshold(s.config.method)) s.thresholdMaskUpdate(0);
    auto logits = s.model->forward(batch.inputs);
    auto loss = crossEntropy(logits, batch.targets, s.config.label_smoothing);
    double lossValue = loss.item<double>();
    // trainable_threshold trains on the task loss plus the regulariser; the reported loss stays the
    // task's (comparable with every other method), a non-finite regulariser stops the run the same.
    torch::Tensor objective = loss;
    double regulariser = 0.0;
    if (isTrainableThreshold(s.config.method)) {
        if (auto r = s.thresholdRegulariser(); r.defined()) {
            objective = loss + r;
            regulariser = r.item<double>();
        }
    }
    // Data-parallel: the loss and accuracy of the global batch, and one decision for all ranks
    // (stop, diverged) so that no rank waits in a collective the others never join.
    std::vector<double> global;
    if (s.parallel) {
        torch::NoGradGuard noGrad;
        const double n = static_cast<double>(batch.targets.size(0));
        const double correct = (logits.argmax(1) == batch.targets).sum().item<double>();
        global = s.parallel->sum({lossValue * n, correct, n, stopRequested_ ? 1.0 : 0.0},
                                 "all-reduce of the loss of step " + std::to_string(t));
        if (global[3] > 0) {
            stopRequested_ = true;
            return false;
        }
        lossValue = global[0] / global[2];
    }
    if (!std::isfinite(lossValue) || !std::isfinite(regulariser)) {
        const double bad = std::isfinite(lossValue) ? regulariser : lossValue;
        s.status = TrainingStatus::Diverged;
        s.statusMessage = std::string(std::isfinite(lossValue) ? "threshold regulariser" : "loss") + " became " +
                          (std::isnan(bad) ? "nan" : "inf") + " at step " + std::to_string(t) +
                          "; lower lr or check the data";
        return false;
    }
    objective.backward();
    // After backward, before anything reads a gradient: the dense gradients that growth
    // accumulates below are then the global batch's on every rank.
    if (s.parallel) s.parallel->averageGradients();

    {
        torch::NoGradGuard noGrad;
        // The dense gradient is only kept for the steps just before an update.
        if (accumulate) {
            for (auto& st : s.layers)
                if (st.dynamic && !st.layer->isCondensed())
                    st.gradSum.add_(st.layer->weight.grad().view_as(st.gradSum));
        }
        if (s.schedule->isUpdateStep(t) && isDynamic(s.config.method)) {
            s.maskUpdate(t);
            s.checkMasksAgree(t);
        }
        for (auto& st : s.layers) {
            if (st.nm) {
                // STE: the dense gradient stays whole. SR-STE adds lambda_W * (1 - M) * W, a decay
                // on the pruned weights only (separate from weight_decay).
                if (s.config.method == "srste" && s.config.srste_decay > 0.0)
                    st.layer->weight.mutable_grad().addcmul_(st.layer->weight, 1.0 - st.layer->maskFactor(),
                                                             s.config.srste_decay);
            } else if (st.layer->isCondensed()) {
                // Only kept weights have a gradient at all; ablated rows must stay zero.
                const auto& c = *st.layer->condensed;
                if (c.ablated > 0 && c.values.grad().defined()) c.values.mutable_grad().mul_(c.alive);
            } else if (st.density < 1.0) {
                st.layer->weight.mutable_grad().mul_(st.layer->maskFactor());
            }
            if (s.config.sparse_opt && !st.nm) s.scaleSparseOpt(st);
        }
    }
    s.optimizer->step(s.lr->at(t));
    for (auto& st : s.layers)
        if (st.density < 1.0 && !st.nm) st.layer->applyMask();
    if (s.nm) {
        s.nmMaskUpdate(t);
        if (t % s.config.nm_update_every == 0) s.checkMasksAgree(t);
    }
    if (isTrainableThreshold(s.config.method)) {
        s.thresholdMaskUpdate(t);
        if (t % s.config.tt_record_every == 0) s.checkMasksAgree(t);
    }

    {
        torch::NoGradGuard noGrad;
        if (s.parallel) {
            s.reportLoss.add_(global[0]);
            s.reportCorrect.add_(global[1]);
            s.epochLoss.add_(global[0]);
            s.epochCorrect.add_(global[1]);
            s.reportSamples += static_cast<int64_t>(global[2]);
            s.epochSamples += static_cast<int64_t>(global[2]);
        } else {
            auto correct = (logits.argmax(1) == batch.targets).sum().to(torch::kDouble);
            const double n = static_cast<double>(batch.targets.size(0));
            s.reportLoss.add_(loss.detach().to(torch::kDouble) * n);
            s.reportCorrect.add_(correct);
            s.epochLoss.add_(loss.detach().to(torch::kDouble) * n);
            s.epochCorrect.add_(correct);
            s.reportSamples += batch.targets.size(0);
            s.epochSamples += batch.targets.size(0);
        }
        ++s.reportSteps;
    }
    s.lastLoss = lossValue;
    s.step = t;
    const double stepSeconds = secondsSince(start);
    s.trainSeconds += stepSeconds;
    // Ordinary steps only: a mask update's cost is in updateSeconds, and the first step warms up.
    if (s.stepsThisProcess++ > 0 && s.updates == updatesBefore) {
        s.ordinarySeconds += stepSeconds;
        ++s.ordinarySteps;
    }
    if (t % 25 == 0) s.checkRoomForKeptMemory(); // /proc reads: tens of microseconds

    if (t % s.config.log_every == 0 || t == s.totalSteps) {
        StepMetrics m;
        m.step = t;
        m.totalSteps = s.totalSteps;
        m.epoch = epoch;
        m.loss = s.reportLoss.item<double>() / static_cast<double>(s.reportSamples);
        m.accuracy = s.reportCorrect.item<double>() / static_cast<double>(s.reportSamples);
        m.lr = s.lr->at(t);
        const double dt = secondsSince(s.reportStart);
        m.samplesPerSecond = dt > 0 ? static_cast<double>(s.reportSamples) / dt : 0.0;
        m.elapsedSeconds = s.trainSeconds;
        if (s.ordinarySteps > 0) m.stepMs = 1000.0 * s.ordinarySeconds / static_cast<double>(s.ordinarySteps);
        s.reportLoss.zero_();
        s.reportCorrect.zero_();
        s.reportSamples = 0;
        s.reportSteps = 0;
        s.reportStart = Clock::now();
        if (s.observer) s.observer->onStep(m);
    }
    const bool epochEnd = t % s.stepsPerEpoch == 0 || t == s.totalSteps;
    if (epochEnd) {
        s.lastEpochLoss = s.epochLoss.item<double>() / static_cast<double>(std::max<int64_t>(1, s.epochSamples));
        s.lastEpochAccuracy = s.epochCorrect.item<double>() / static_cast<double>(std::max<int64_t>(1, s.epochSamples));
        s.epochLoss.zero_();
        s.epochCorrect.zero_();
        s.epochSamples = 0;
    }
    const bool evalNow = s.config.eval_every > 0 ? (t % s.config.eval_every == 0 || t == s.totalSteps) : epochEnd;
    if (evalNow) evaluate();
    if (s.config.checkpoint_every > 0 && !s.config.checkpoint.empty() && t % s.config.checkpoint_every == 0 &&
        t < s.totalSteps && s.writesCheckpoints()) {
        writeCheckpoint();
    }
    return true;
}

EvalMetrics Trainer::evaluate() {
    Impl& s = *impl_;
    torch::NoGradGuard noGrad;
    s.model->eval();
    double lossSum = 0.0, correct = 0.0;
    int64_t seen = 0;
    // Data-parallel: every rank evaluates every world-size-th test batch (rank 0's buffers, e.g.
    // batch-norm statistics, first), and the sums are all-reduced.
    const int64_t firstBatch = s.parallel ? s.parallel->rank() : 0;
    const int64_t stride = s.parallel ? s.parallel->size() : 1;
    if (s.parallel) {
        std::vector<torch::Tensor> buffers;
        for (auto& b : s.model->buffers())
            if (b.is_floating_point()) buffers.push_back(b);
        if (!buffers.empty()) s.parallel->broadcastFromRankZero(buffers, "broadcast of rank 0's buffers");
    }
    for (int64_t b = firstBatch; b < s.sampler->testBatches(); b += stride) {
        Batch batch = s.sampler->testBatch(b, s.device);
        auto logits = s.model->forward(batch.inputs);
        const int64_t n = batch.targets.size(0);
        lossSum += torch::nn::functional::cross_entropy(logits, batch.targets).item<double>() * static_cast<double>(n);
        correct += (logits.argmax(1) == batch.targets).sum().item<double>();
        seen += n;
    }
    if (s.parallel) {
        const auto total = s.parallel->sum({lossSum, correct, static_cast<double>(seen)},
                                           "all-reduce of the evaluation at step " + std::to_string(s.step));
        lossSum = total[0];
        correct = total[1];
        seen = static_cast<int64_t>(total[2]);
    }
    EvalMetrics m;
    m.step = s.step;
    m.epoch = s.stepsPerEpoch ? (std::max<int64_t>(1, s.step) - 1) / s.stepsPerEpoch : 0;
    m.testLoss = seen ? lossSum / static_cast<double>(seen) : 0.0;
    m.testAccuracy = seen ? correct / static_cast<double>(seen) : 0.0;
    s.lastEval = m;
    if (s.observer) s.observer->onEvaluation(m);
    return m;
}

void Trainer::begin() {
    Impl& s = *impl_;
    if (s.observer) s.observer->onStart(layerStats(), s.totalSteps);
    s.measureDenseReference();
    s.reportStart = Clock::now();
    s.firstStep = s.step;
    s.secondsBefore = s.trainSeconds;
    s.status = TrainingStatus::Finished;
}

TrainingSummary Trainer::run() {
    begin();
    while (trainStep()) {
    }
    return finish();
}

TrainingSummary Trainer::finish() {
    Impl& s = *impl_;
    const int64_t firstStep = s.firstStep;
    const double secondsBefore = s.secondsBefore;
    TrainingSummary sum;
    if (s.status == TrainingStatus::Diverged) {
        sum.status = TrainingStatus::Diverged;
        sum.message = s.statusMessage;
    } else if (s.step < s.totalSteps) {
        s.status = TrainingStatus::Stopped;
        sum.status = TrainingStatus::Stopped;
        sum.message = "stopped at step " + std::to_string(s.step) + " of " + std::to_string(s.totalSteps);
    }
    // The final word on the masks of a data-parallel run (and a collective every rank reaches).
    if (s.status != TrainingStatus::Diverged) s.checkMasksAgree(s.step);
    if (!s.config.checkpoint.empty() && s.status != TrainingStatus::Diverged && s.writesCheckpoints())
        writeCheckpoint();
    if (!s.lastEval || s.lastEval->step != s.step) evaluate();
    if (s.status != TrainingStatus::Diverged && !std::isfinite(s.lastEval->testLoss)) {
        s.status = TrainingStatus::Diverged;
        sum.status = TrainingStatus::Diverged;
        sum.message = "test loss became non-finite at step " + std::to_string(s.step) + "; lower lr or check the data";
    }
    sum.steps = s.step;
    sum.seconds = s.trainSeconds;
    sum.updateSeconds = s.updateSeconds;
    sum.checkpointSeconds = s.checkpointSeconds;
    sum.updates = s.updates;
    sum.trainLoss = s.lastEpochLoss;
    sum.trainAccuracy = s.lastEpochAccuracy;
    sum.testLoss = s.lastEval->testLoss;
    sum.testAccuracy = s.lastEval->testAccuracy;
    const double dt = s.trainSeconds - secondsBefore;
    sum.samplesPerSecond = dt > 0 ? static_cast<double>((s.step - firstStep) * s.config.batch_size) / dt : 0.0;
    sum.layers = layerStats();
    if (s.ordinarySteps > 0) sum.stepMs = 1000.0 * s.ordinarySeconds / static_cast<double>(s.ordinarySteps);
    sum.timedSteps = s.ordinarySteps;
    if (s.denseReference) sum.denseReference = *s.denseReference;
    if (s.observer) s.observer->onFinished(sum);
    return sum;
}

} // namespace srigl
