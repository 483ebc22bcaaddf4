// Checkpoints of a Trainer: model parameters and buffers (masks included), optimizer state,
// accumulated dense gradients, step, timings, running sums and the config that made them. Data
// order and mask randomness derive from (seed, step), so these are all a resume needs.
#include "engine/errors.hpp"
#include "engine/sparsity/trainable_threshold.hpp"
#include "engine/training/archive_tensors.hpp"
#include "engine/training/atomic_archive.hpp"
#include "engine/training/condensed_checkpoint.hpp"
#include "engine/training/trainer_internals.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace srigl {
namespace {

// Keys that decide what is being trained; everything else (epochs, logging, threads) may change
// on resume.
const char* kStructuralKeys[] = {"model", "hidden", "dataset", "synthetic_train", "synthetic_test", "method",
                                 "sparsity", "distribution", "dense_first", "dense_last", "static_fan_in", "batch_size",
                                 "optimizer", "seed", "nm", "nm_update_every", "nm_solver"};

// A condensed layer read from a checkpoint: k = the stored k and the budget kept. Its form (values,
// alive rows, indices) was checked as it was read (readCondensedForm), and the layers condensed while
// a checkpoint is verified are exactly those it held condensed.
void verifyCondensed(const SparseLayerState& st, const std::string& path) {
    const auto& c = *st.layer->condensed;
    auto bad = [&](const std::string& what) { throw CheckpointError("checkpoint '" + path + "' is corrupt: " + what); };
    if (c.ablated < c.rows() && c.k() != st.last.k) bad(st.name + " is not constant fan-in k = " + std::to_string(st.last.k));
    if ((c.rows() - c.ablated) * c.k() > st.budget) bad(st.name + " exceeds its budget");
}

} // namespace

void Trainer::Impl::loadCondensedLayer(torch::serialize::InputArchive& archive, size_t i, const std::string& path) {
    auto& st = layers[i];
    // No run writes an N:M or thresholded layer condensed (their masks are not constant fan-in, or not
    // the kept indices), and their own checks run on the dense form only: a file that says otherwise
    // was made by hand.
    if (st.nm || st.tt)
        throw CheckpointError("checkpoint '" + path + "' holds " + st.name + " in the condensed layout, which an " +
                              (st.nm ? "N:M" : "thresholded") + " layer never has");
    CondensedWeights form = readCondensedForm(archive, i, st.name, st.layer->outFeatures(), st.layer->fanIn(), path);
    if (st.layer->isCondensed()) {
        auto& held = *st.layer->condensed;
        held.values.set_data(form.values);
        held.indices = form.indices;
        held.alive = form.alive;
        held.ablated = form.ablated;
    } else {
        // A run that trains this layer masked-dense takes the condensed form too, with the optimizer
        // state and captures below; loadCheckpoint expands it once the whole checkpoint is verified.
        form.values.set_requires_grad(true);
        st.layer->adoptCondensed(std::make_shared<CondensedWeights>(std::move(form)));
    }
    auto& c = *st.layer->condensed;
    const std::string n = condensedKey(i);
    const int64_t out = st.layer->outFeatures();
    // The optimizer's state takes the stored k before the optimizer reads it (k moves with ablation).
    optimizer->replaceParameter(st.paramIndex, c.values,
                                [&](const torch::Tensor&) { return torch::zeros_like(c.values.detach()); });
    const int64_t steps = readTensor(archive, n + "captures", true).item<int64_t>();
    c.inputs.clear();
    c.gradOutputs.clear();
    for (int64_t k = 0; k < steps; ++k) {
        c.inputs.push_back(readTensor(archive, n + "input." + std::to_string(k), true));
        c.gradOutputs.push_back(readTensor(archive, n + "grad_output." + std::to_string(k), true));
    }
    c.capturedGrad = torch::Tensor();
    c.lastGrad = torch::Tensor();
    // The window's G so far beyond the captures (a convolution's): the partial sum the next update adds to.
    torch::Tensor captured;
    const bool hasCaptured = archive.try_read(n + "captured_grad", captured, true);
    if (hasCaptured && !captured.sizes().equals(torch::IntArrayRef{out, c.fanIn}))
        throw CheckpointError("checkpoint '" + path + "': the captured gradient of " + st.name + " has the wrong shape");
    if (hasCaptured && !torch::isfinite(captured).all().item<bool>())
        throw CheckpointError("checkpoint '" + path + "' is corrupt: the captured gradient of " + st.name +
                              " holds non-finite values");
    st.gradSum = hasCaptured ? captured.to(torch::kFloat).contiguous() : torch::Tensor();
}

// A checkpoint whose bytes were damaged can still parse: check what the run relies on.
void Trainer::verifyLoadedState(const std::string& path) {
    Impl& s = *impl_;
    torch::NoGradGuard noGrad;
    auto bad = [&](const std::string& what) { throw CheckpointError("checkpoint '" + path + "' is corrupt: " + what); };
    for (const auto& p : s.model->named_parameters())
        if (!torch::isfinite(p.value()).all().item<bool>()) bad(p.key() + " holds non-finite values");
    for (auto& st : s.layers) {
        if (st.layer->isCondensed()) {
            verifyCondensed(st, path);
            continue;
        }
        auto raw = st.layer->mask.to(torch::kUInt8);
        if ((raw > 1).any().item<bool>()) bad(st.name + ".mask holds values other than 0 and 1");
        auto m = st.layer->maskMatrix();
        if (st.nm) {
            // N:M layers keep dense weights; their mask must be a valid N:M mask.
            if (!s.nm->valid(st.layer->mask)) bad(st.name + " is not a valid " + s.nm->pattern.toString() + " mask");
        } else if (st.tt) {
            // Thresholded layers keep dense weights; their mask is a function of weights and thresholds.
            if (!torch::equal(st.layer->mask, thresholdMask(st.layer->weight, st.layer->threshold)))
                bad(st.name + ".mask is not step(|weight| - threshold)");
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
    // A layer that trains condensed is written in its condensed layout: values, indices, alive rows,
    // the optimizer state as [out, k] and the captures of an open accumulation window
    // (condensed_checkpoint.hpp); never expanded to [out, fan_in] (huge-mlp-99's fc1 put 0.8 GB of
    // dense tensors in each checkpoint, and a resume expanded it again). The checkpoint resumes on
    // either path, and the readers (export, convert, bench --run) expand what they need. Everything
    // else, and condensed layers up to DenseFormLimits::checkpoint (0 unless a test raises it to
    // write the layout of stop 40 and before, which readers still take), is written densely.
    auto condensedOwner = [&](const torch::Tensor& t) -> const SparseLayerState* {
        for (const auto& st : s.layers)
            if (st.layer->isCondensed() && (t.unsafeGetTensorImpl() == st.layer->weight.unsafeGetTensorImpl() ||
                                            t.unsafeGetTensorImpl() == st.layer->mask.unsafeGetTensorImpl()))
                return &st;
        return nullptr;
    };
    const int64_t limit = denseFormLimits().checkpoint;
    for (const auto& p : s.model->named_parameters()) {
        const auto* st = condensedOwner(p.value());
        if (st && condensedBeyond(*st, limit)) continue;
        archive.write("model." + p.key(), st ? st->layer->denseWeightMatrix().view(st->layer->weightShape())
                                             : p.value().detach());
    }
    for (const auto& b : s.model->named_buffers()) {
        const auto* st = condensedOwner(b.value());
        if (st && condensedBeyond(*st, limit)) continue;
        archive.write("model." + b.key(), st ? st->layer->denseMaskMatrix().view(st->layer->weightShape()) : b.value(),
                      true);
    }
    s.optimizer->save(archive, [&](size_t index, const torch::Tensor& state) {
        for (const auto& st : s.layers)
            if (st.layer->isCondensed() && st.paramIndex == index && !condensedBeyond(st, limit))
                return expandCondensed(*st.layer->condensed, state).view(st.layer->weightShape());
        return state;
    });
    for (size_t i = 0; i < s.layers.size(); ++i) {
        const auto& st = s.layers[i];
        const std::string n = std::to_string(i);
        if (condensedBeyond(st, limit)) {
            const auto& c = *st.layer->condensed;
            const std::string key = condensedKey(i);
            writeCondensedForm(archive, i, st.name, st.layer->weightShape(), c);
            const size_t steps = std::min(c.inputs.size(), c.gradOutputs.size());
            archive.write(key + "captures", torch::tensor(static_cast<int64_t>(steps)), true);
            for (size_t k = 0; k < steps; ++k) {
                archive.write(key + "input." + std::to_string(k), c.inputs[k], true);
                archive.write(key + "grad_output." + std::to_string(k), c.gradOutputs[k], true);
            }
            // The window's G so far that is not in the captures above: a convolution's, and a partial
            // sum this run was resumed with.
            torch::Tensor partial = c.capturedGrad;
            if (st.gradSum.defined()) partial = partial.defined() ? st.gradSum + partial : st.gradSum;
            if (partial.defined()) archive.write(key + "captured_grad", partial, true);
        } else if (st.dynamic && st.layer->isCondensed()) {
            archive.write("grad_sum." + n, s.pendingGradient(st), true);
        } else if (st.gradSum.defined()) {
            archive.write("grad_sum." + n, st.gradSum, true);
        }
        archive.write("layer_k." + n, torch::tensor(st.last.k));
        if (st.nm) archive.write("nm_event_mask." + n, st.eventMask, true);
        if (st.tt) archive.write("tt_event_mask." + n, st.eventMask, true);
    }
    // The thresholds are model parameters (above); alpha and the controller's integral are not.
    if (isTrainableThreshold(s.config.method))
        archive.write("tt_controller", torch::tensor({s.ttController.alpha(), s.ttController.integral()}, torch::kDouble));
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
    // Loading is a peak of its own (the archive's tensors beside the trainer's, the checks'
    // temporaries) that the steps never reach again: it runs with malloc's usual policy, so that its
    // large blocks go back to the system when freed instead of staying in the heap that the steps
    // reuse (freed_memory.hpp). Kept, a resumed huge-mlp-99 held 3.6 GB after loading, 0.5 GB of
    // it in use. The steps keep freed memory again afterwards, as they did before.
    struct KeptAgain {
        Impl& s;
        bool was;
        ~KeptAgain() {
            if (was && !s.keptFreed) s.keptFreed.emplace();
        }
    } keptAgain{s, s.keptFreed.has_value()};
    s.keptFreed.reset();
    torch::serialize::InputArchive archive;
    const CheckpointHeader header = loadArchive(archive, path);
    // Loaded in the checkpoint's layout: a layer held densely (any layer of a masked-dense run, and
    // condensed ones written before stop 41) is loaded densely and condensed again once verified; a
    // layer held condensed is loaded condensed, and expanded once verified when this run trains it
    // masked-dense.
    std::vector<char> heldCondensed(s.layers.size(), 0);
    for (size_t i = 0; i < s.layers.size(); ++i) heldCondensed[i] = holdsCondensed(archive, i) ? 1 : 0;
    for (size_t i = 0; i < s.layers.size(); ++i) {
        auto& st = s.layers[i];
        if (heldCondensed[i]) continue;
        s.expand(st);
        if (st.dynamic && !st.gradSum.defined()) st.gradSum = torch::zeros_like(st.layer->weightMatrix());
    }
    auto heldCondensedTensor = [&](const torch::Tensor& t) {
        for (size_t i = 0; i < s.layers.size(); ++i)
            if (heldCondensed[i] && (t.unsafeGetTensorImpl() == s.layers[i].layer->weight.unsafeGetTensorImpl() ||
                                     t.unsafeGetTensorImpl() == s.layers[i].layer->mask.unsafeGetTensorImpl()))
                return true;
        return false;
    };
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
        for (auto& p : s.model->named_parameters())
            if (!heldCondensedTensor(p.value())) copyChecked(p.value(), "model." + p.key(), false);
        for (auto& b : s.model->named_buffers())
            if (!heldCondensedTensor(b.value())) copyChecked(b.value(), "model." + b.key(), true);
        for (size_t i = 0; i < s.layers.size(); ++i)
            if (heldCondensed[i]) s.loadCondensedLayer(archive, i, path);
        s.optimizer->load(archive);
        for (size_t i = 0; i < s.layers.size(); ++i) {
            auto& st = s.layers[i];
            st.layer->syncMaskFactor();
            if (st.gradSum.defined() && !heldCondensed[i]) {
                copyChecked(st.gradSum, "grad_sum." + std::to_string(i), true);
            }
            st.last.k = readTensor(archive, "layer_k." + std::to_string(i)).item<int64_t>();
            if (st.nm) copyChecked(st.eventMask, "nm_event_mask." + std::to_string(i), true);
            if (st.tt) copyChecked(st.eventMask, "tt_event_mask." + std::to_string(i), true);
        }
        if (isTrainableThreshold(s.config.method)) {
            auto c = readTensor(archive, "tt_controller").to(torch::kDouble).contiguous();
            if (c.numel() != 2 || !torch::isfinite(c).all().item<bool>() || c[0].item<double>() < 0.0)
                throw CheckpointError("checkpoint '" + path + "': tt_controller has the wrong shape or values");
            // With the controller off, alpha is tt_alpha (which may change on resume, like lr).
            if (s.ttController.enabled()) s.ttController.restore(c[0].item<double>(), c[1].item<double>());
        }
        auto sc = readTensor(archive, "scalars").to(torch::kDouble).contiguous();
        // Read by pointer below: a crafted file with fewer than seven must not be read past its end.
        if (sc.numel() != 7) throw CheckpointError("checkpoint '" + path + "': scalars has the wrong shape");
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
    for (size_t i = 0; i < s.layers.size(); ++i)
        if (heldCondensed[i] && s.layers[i].compute != "condensed") s.expand(s.layers[i]);
    if (s.step > s.totalSteps)
        throw CheckpointError("checkpoint '" + path + "' is at step " + std::to_string(s.step) +
                              ", beyond this run's " + std::to_string(s.totalSteps) + " steps");
    return header;
}

} // namespace srigl
