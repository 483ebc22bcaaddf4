// Checkpoints of a Trainer: model parameters and buffers (masks included), optimizer state,
// accumulated dense gradients, step, timings, running sums and the config that made them. Data
// order and mask randomness derive from (seed, step), so these are all a resume needs.
#include "engine/errors.hpp"
#include "engine/training/atomic_archive.hpp"
#include "engine/training/trainer_internals.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>

namespace srigl {
namespace {

torch::Tensor textTensor(const std::string& text) {
    auto t = torch::empty({static_cast<int64_t>(text.size())}, torch::kUInt8);
    std::memcpy(t.data_ptr<uint8_t>(), text.data(), text.size());
    return t;
}

std::string tensorText(const torch::Tensor& t) {
    auto c = t.to(torch::kCPU).contiguous();
    return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), static_cast<size_t>(c.numel()));
}

// Keys that decide what is being trained; everything else (epochs, logging, threads) may change
// on resume.
const char* kStructuralKeys[] = {"model", "hidden", "dataset", "synthetic_train", "synthetic_test", "method",
                                 "sparsity", "distribution", "dense_first", "dense_last", "static_fan_in", "batch_size",
                                 "optimizer", "seed", "nm", "nm_update_every", "nm_solver"};

// A fresh tensor per read: InputArchive::read into a defined tensor re-points that tensor with
// set_, which silently reinterprets the storage when the dtypes differ.
torch::Tensor readTensor(torch::serialize::InputArchive& archive, const std::string& key, bool buffer = false) {
    torch::Tensor t;
    archive.read(key, t, buffer);
    return t;
}

} // namespace

// A checkpoint whose bytes were damaged can still parse: check what the run relies on.
void Trainer::verifyLoadedState(const std::string& path) {
    Impl& s = *impl_;
    torch::NoGradGuard noGrad;
    auto bad = [&](const std::string& what) { throw CheckpointError("checkpoint '" + path + "' is corrupt: " + what); };
    for (const auto& p : s.model->named_parameters())
        if (!torch::isfinite(p.value()).all().item<bool>()) bad(p.key() + " holds non-finite values");
    for (auto& st : s.layers) {
        auto raw = st.layer->mask.to(torch::kUInt8);
        if ((raw > 1).any().item<bool>()) bad(st.name + ".mask holds values other than 0 and 1");
        auto m = st.layer->maskMatrix();
        if (st.nm) {
            // N:M layers keep dense weights; their mask must be a valid N:M mask.
            if (!s.nm->valid(st.layer->mask)) bad(st.name + " is not a valid " + s.nm->pattern.toString() + " mask");
        } else if ((st.layer->weightMatrix().masked_select(~m) != 0).any().item<bool>()) {
            bad(st.name + " has weights outside its mask");
        }
        if (hasConstantFanIn(s.config) && st.density < 1.0) {
            auto counts = m.sum(1);
            auto active = counts.masked_select(counts > 0);
            if (active.numel() > 0 && (active != st.last.k).any().item<bool>())
                bad(st.name + " is not constant fan-in k = " + std::to_string(st.last.k));
            if (m.sum().item<int64_t>() > st.budget) bad(st.name + " exceeds its budget");
        }
    }
}

void Trainer::saveCheckpoint(const std::string& path) const {
    const Impl& s = *impl_;
    torch::serialize::OutputArchive archive;
    archive.write("format", torch::tensor(int64_t{1}));
    archive.write("config", textTensor(configToJson(s.config, -1)));
    // One layout whichever path trained: condensed layers are written in their dense form, so a
    // checkpoint resumes on either path and every reader (export, convert, bench --run) reads it.
    auto condensedOwner = [&](const torch::Tensor& t) -> const SparseLayerState* {
        for (const auto& st : s.layers)
            if (st.layer->isCondensed() && (t.unsafeGetTensorImpl() == st.layer->weight.unsafeGetTensorImpl() ||
                                            t.unsafeGetTensorImpl() == st.layer->mask.unsafeGetTensorImpl()))
                return &st;
        return nullptr;
    };
    for (const auto& p : s.model->named_parameters()) {
        const auto* st = condensedOwner(p.value());
        archive.write("model." + p.key(), st ? st->layer->denseWeightMatrix().view(st->layer->weightShape())
                                             : p.value().detach());
    }
    for (const auto& b : s.model->named_buffers()) {
        const auto* st = condensedOwner(b.value());
        archive.write("model." + b.key(), st ? st->layer->denseMaskMatrix().view(st->layer->weightShape()) : b.value(),
                      true);
    }
    s.optimizer->save(archive, [&](size_t index, const torch::Tensor& state) {
        for (const auto& st : s.layers)
            if (st.layer->isCondensed() && st.paramIndex == index)
                return expandCondensed(*st.layer->condensed, state).view(st.layer->weightShape());
        return state;
    });
    for (size_t i = 0; i < s.layers.size(); ++i) {
        const auto& st = s.layers[i];
        if (st.dynamic && st.layer->isCondensed())
            archive.write("grad_sum." + std::to_string(i), s.pendingGradient(st), true);
        else if (st.gradSum.defined()) archive.write("grad_sum." + std::to_string(i), st.gradSum, true);
        archive.write("layer_k." + std::to_string(i), torch::tensor(st.last.k));
        if (st.nm) archive.write("nm_event_mask." + std::to_string(i), st.eventMask, true);
    }
    auto scalars = torch::tensor({static_cast<double>(s.step), s.trainSeconds, s.updateSeconds,
                                  static_cast<double>(s.updates), s.lastEpochLoss, s.lastEpochAccuracy,
                                  static_cast<double>(s.epochSamples)},
                                 torch::kDouble);
    archive.write("scalars", scalars);
    archive.write("epoch_sums", torch::stack({s.epochLoss, s.epochCorrect}).to(torch::kCPU));

    saveArchiveAtomically(archive, path, CheckpointHeader{s.runUuid, s.step});
}

CheckpointHeader Trainer::loadCheckpoint(const std::string& path) {
    Impl& s = *impl_;
    torch::serialize::InputArchive archive;
    const CheckpointHeader header = loadArchive(archive, path);
    // Loaded in the dense form (the checkpoint's layout), condensed again once verified.
    s.expandAll();
    for (auto& st : s.layers)
        if (st.dynamic && !st.gradSum.defined()) st.gradSum = torch::zeros_like(st.layer->weightMatrix());
    try {
        torch::Tensor t = readTensor(archive, "config");
        RunConfig saved = configFromJson(tensorText(t));
        for (const char* key : kStructuralKeys) {
            if (configValue(saved, key) != configValue(s.config, key))
                throw CheckpointError("checkpoint '" + path + "' was written with " + key + "=" +
                                      configValue(saved, key) + ", this run has " + key + "=" +
                                      configValue(s.config, key));
        }
        torch::NoGradGuard noGrad;
        auto copyChecked = [&](torch::Tensor target, const std::string& key, bool buffer) {
            torch::Tensor source = readTensor(archive, key, buffer);
            // copy_ would broadcast a mismatched shape silently.
            if (!source.sizes().equals(target.sizes()) || source.scalar_type() != target.scalar_type())
                throw CheckpointError("checkpoint '" + path + "': " + key + " has the wrong shape or type");
            target.copy_(source);
        };
        for (auto& p : s.model->named_parameters()) copyChecked(p.value(), "model." + p.key(), false);
        for (auto& b : s.model->named_buffers()) copyChecked(b.value(), "model." + b.key(), true);
        s.optimizer->load(archive);
        for (size_t i = 0; i < s.layers.size(); ++i) {
            auto& st = s.layers[i];
            st.layer->syncMaskFactor();
            if (st.gradSum.defined()) {
                copyChecked(st.gradSum, "grad_sum." + std::to_string(i), true);
            }
            st.last.k = readTensor(archive, "layer_k." + std::to_string(i)).item<int64_t>();
            if (st.nm) copyChecked(st.eventMask, "nm_event_mask." + std::to_string(i), true);
        }
        auto sc = readTensor(archive, "scalars").to(torch::kDouble).contiguous();
        const double* v = sc.data_ptr<double>();
        s.step = static_cast<int64_t>(v[0]);
        s.trainSeconds = v[1];
        s.updateSeconds = v[2];
        s.updates = static_cast<int64_t>(v[3]);
        s.lastEpochLoss = v[4];
        s.lastEpochAccuracy = v[5];
        s.epochSamples = static_cast<int64_t>(v[6]);
        t = readTensor(archive, "epoch_sums");
        s.epochLoss.copy_(t[0]);
        s.epochCorrect.copy_(t[1]);
    } catch (const CheckpointError&) {
        throw;
    } catch (const std::exception& e) {
        throw CheckpointError("checkpoint '" + path + "' does not match this run: " + std::string(e.what()).substr(0, 300));
    }
    verifyLoadedState(path);
    s.condenseMarked();
    if (s.step > s.totalSteps)
        throw CheckpointError("checkpoint '" + path + "' is at step " + std::to_string(s.step) +
                              ", beyond this run's " + std::to_string(s.totalSteps) + " steps");
    return header;
}

} // namespace srigl

namespace srigl {

RunConfig readCheckpointConfig(const std::string& path) {
    torch::serialize::InputArchive archive;
    loadArchive(archive, path);
    try {
        return configFromJson(tensorText(readTensor(archive, "config")));
    } catch (const ConfigError&) {
        throw;
    } catch (const std::exception&) {
        throw CheckpointError("cannot read checkpoint '" + path + "': missing, not a SRigL Studio checkpoint or corrupt");
    }
}

} // namespace srigl

#include "engine/training/checkpoint_model.hpp"

namespace srigl {

CheckpointModel loadCheckpointModel(const std::string& path) {
    CheckpointModel out;
    out.config = readCheckpointConfig(path);
    out.model = buildModel(out.config.model, out.config.hidden, inputShapeOf(out.config.dataset));
    torch::serialize::InputArchive archive;
    loadArchive(archive, path);
    try {
        torch::NoGradGuard noGrad;
        auto copy = [&](torch::Tensor target, const std::string& key, bool buffer) {
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
    for (const auto& named : out.model->sparseLayers()) {
        named.layer->syncMaskFactor();
        if (!torch::isfinite(named.layer->weight).all().item<bool>())
            throw CheckpointError("checkpoint '" + path + "': layer " + named.name + " has non-finite weights");
    }
    out.model->eval();
    return out;
}

} // namespace srigl
