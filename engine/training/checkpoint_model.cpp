// Reading a checkpoint's config and trained model (the readers: export, convert, bench --run, the
// Studio's benchmarks), whichever path trained it.
#include "engine/training/checkpoint_model.hpp"

#include "engine/errors.hpp"
#include "engine/sparsity/trainable_threshold.hpp"
#include "engine/training/archive_tensors.hpp"
#include "engine/training/atomic_archive.hpp"
#include "engine/training/condensed_checkpoint.hpp"
#include "engine/training/memory_estimate.hpp"
#include "engine/training/trainer.hpp"

namespace srigl {
namespace {

RunConfig configIn(torch::serialize::InputArchive& archive, const std::string& path) {
    try {
        return configFromJson(tensorText(readTensor(archive, "config")));
    } catch (const ConfigError&) {
        throw;
    } catch (const std::exception&) {
        throw CheckpointError("cannot read checkpoint '" + path + "': missing, not a SRigL Studio checkpoint or corrupt");
    }
}

std::string asFloats(int64_t entries) { return formatMemorySize(static_cast<uint64_t>(entries) * sizeof(float)); }

} // namespace

RunConfig readCheckpointConfig(const std::string& path) {
    torch::serialize::InputArchive archive;
    loadArchive(archive, path);
    return configIn(archive, path);
}

CheckpointModel loadCheckpointModel(const std::string& path, BeyondDense beyond, int64_t maxDenseEntries) {
    torch::serialize::InputArchive archive;
    loadArchive(archive, path);
    CheckpointModel out;
    out.config = configIn(archive, path);
    {
        // Sparse layers get their weights below, from the file: never initialised (nor, for a layer
        // the file holds condensed and that is too large to expand, allocated) first.
        DeferredWeights deferred;
        out.model = buildModel(out.config, inputShapeOf(out.config.dataset));
    }
    const auto named = out.model->sparseLayers();
    try {
        torch::NoGradGuard noGrad;
        // A layer trained condensed is held as values and indices (condensed_checkpoint.hpp): the
        // readers work on dense weights and masks, so it is expanded, where its dense form fits.
        std::vector<const SparseLayer*> held;
        for (size_t i = 0; i < named.size(); ++i) {
            SparseLayer& layer = *named[i].layer;
            if (!holdsCondensed(archive, i)) {
                layer.allocateDense();
                continue;
            }
            const int64_t rows = layer.outFeatures(), fanIn = layer.fanIn();
            const bool tooLarge = rows * fanIn > maxDenseEntries;
            if (tooLarge && beyond == BeyondDense::Refuse)
                throw CheckpointError("checkpoint '" + path + "': layer " + named[i].name + " (" + std::to_string(rows) +
                                      " x " + std::to_string(fanIn) + ") trained condensed, and its dense form (" +
                                      asFloats(rows * fanIn) + " as float32) is larger than this reader expands (" +
                                      asFloats(maxDenseEntries) +
                                      "); `srigl export --condensed` writes it as values and indices");
            layer.adoptCondensed(std::make_shared<CondensedWeights>(
                readCondensedForm(archive, i, named[i].name, rows, fanIn, path)));
            if (!tooLarge) layer.expand();
            held.push_back(&layer);
        }
        auto isHeld = [&](const torch::Tensor& t) {
            for (const auto* layer : held)
                if (t.unsafeGetTensorImpl() == layer->weight.unsafeGetTensorImpl() ||
                    t.unsafeGetTensorImpl() == layer->mask.unsafeGetTensorImpl())
                    return true;
            return false;
        };
        auto copy = [&](torch::Tensor target, const std::string& key, bool buffer) {
            if (isHeld(target)) return;
            torch::Tensor source = readTensor(archive, "model." + key, buffer);
            if (!source.sizes().equals(target.sizes()) || source.scalar_type() != target.scalar_type())
                throw CheckpointError("checkpoint '" + path + "': model." + key + " has the wrong shape or type");
            target.copy_(source);
        };
        for (auto& p : out.model->named_parameters()) copy(p.value(), p.key(), false);
        for (auto& b : out.model->named_buffers()) copy(b.value(), b.key(), true);
        out.step = static_cast<int64_t>(readTensor(archive, "scalars").to(torch::kDouble)[0].item<double>());
    } catch (const CheckpointError&) {
        throw;
    } catch (const std::exception& e) {
        throw CheckpointError("checkpoint '" + path + "' does not hold a " + out.config.model + " model: " +
                              std::string(e.what()).substr(0, 300));
    }
    // A thresholded layer's checkpoint holds its dense weights and the mask step(|W| - t) of the
    // final step; readers (export, convert, bench --run) get W * M, what the trained model computes.
    const bool thresholded = isTrainableThreshold(out.config.method);
    for (const auto& layer : named) {
        if (layer.layer->isCondensed()) continue; // its form was checked as it was read
        if (thresholded) {
            torch::NoGradGuard noGrad;
            layer.layer->weight.mul_(layer.layer->mask);
        }
        layer.layer->syncMaskFactor();
        if (!torch::isfinite(layer.layer->weight).all().item<bool>())
            throw CheckpointError("checkpoint '" + path + "': layer " + layer.name + " has non-finite weights");
    }
    out.model->eval();
    return out;
}

} // namespace srigl
