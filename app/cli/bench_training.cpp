// `srigl bench --training`: SGD training steps of one synthetic constant fan-in layer (dense, masked
// dense, condensed) per sparsity and batch, and, with --model, whole training steps of a model through
// the trainer (ordinary and mask-update steps apart, with the state each variant holds and its peak
// RSS). Printed with the machine's CPU, BLAS, threads and kernel, and stored as timings (kind
// train_step / train_update).
#include "bench_command.hpp"

#include "progress_bar.hpp"

#include "engine/errors.hpp"
#include "engine/inference/training_bench.hpp"
#include "engine/runtime/threading.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/store/store_retry.hpp"
#include "sessions/session/recorded_run.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>

namespace srigl::cli {
namespace {

std::atomic<bool> gTrainingCancel{false};
void onTrainingInterrupt(int) { gTrainingCancel = true; }

RunConfig modelConfig(const BenchOptions& o, double sparsity, int64_t batch) {
    RunConfig c;
    c.model = o.model;
    c.hidden = o.hidden;
    c.dataset = o.model == "resnet18" || o.model == "wrn22_2" ? "cifar10" : "synthetic";
    c.data_dir = o.dataDir;
    c.synthetic_train = std::max<int64_t>(2048, batch * 4);
    c.synthetic_test = 256;
    c.method = "srigl";
    c.sparsity = sparsity;
    c.batch_size = batch;
    c.delta_t = o.deltaT;
    c.epochs = 1000; // the benchmark stops after its steps; t_end then lies far beyond them
    c.threads = o.threads;
    c.seed = o.seed;
    return c;
}

double mb(int64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

} // namespace

int runTrainingBench(const BenchOptions& o) {
    BenchSettings settings;
    ThreadingInfo threading;
    std::unique_ptr<sessions::RunStore> store;
    try {
        if (o.device != "cpu") throw InferenceError("--training runs on the CPU (the condensed kernels' device)");
        if (o.run > 0) throw InferenceError("--training times synthetic layers and --model; --run is for inference");
        if ((o.model == "resnet18" || o.model == "wrn22_2") && o.dataDir.empty())
            throw InferenceError("--model " + o.model + " trains on CIFAR-10: give the folder of its binary files "
                                 "with --data-dir, or bench mlp or lenet5 (synthetic data)");
        threading = configureThreads(o.threads);
        settings.isa = parseIsaOption(o.isa);
        settings.targetSeconds = o.seconds;
        settings.cancel = &gTrainingCancel;
        if (!o.conv.empty() && (o.conv.size() < 4 || o.conv.size() > 5 || o.conv[0] < 1 || o.conv[1] < 1 ||
                                o.conv[2] < 1 || o.conv[2] > o.conv[1] + 2 * o.conv[3] ||
                                (o.conv.size() == 5 && o.conv[4] < 1)))
            throw InferenceError("--conv C,H,K,P[,S] needs C, H, K, S >= 1 and a kernel no larger than the padded image");
        // A convolution's fan-in is C * K * K: checked in long double first, since hostile sizes overflow
        // the product, and the condensed indices are at most int32.
        if (!o.conv.empty() && static_cast<long double>(o.conv[0]) * static_cast<long double>(o.conv[2]) *
                                       static_cast<long double>(o.conv[2]) >
                                   static_cast<long double>(std::numeric_limits<int32_t>::max()))
            throw InferenceError("--conv C,H,K,P[,S]: a fan-in of C x K x K = " + std::to_string(o.conv[0]) + " x " +
                                 std::to_string(o.conv[2]) + " x " + std::to_string(o.conv[2]) +
                                 " is more than a condensed layer indexes (2^31 - 1)");
        requireLayerBenchFits(o.conv.empty() ? o.in : o.conv[0] * o.conv[2] * o.conv[2], o.out, LayerBenchKind::Training);
        if (!o.noDb) store = std::make_unique<sessions::RunStore>(o.db.empty() ? sessions::defaultDatabasePath() : o.db);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "srigl bench: %s\n", sessions::errorMessage(e).c_str());
        return 2;
    }
    const std::string cpu = cpuModelName();
    const std::string kernel = kernels::toString(settings.isa);
    sessions::TimingRecord machine;
    machine.device = "cpu";
    machine.threads = threading.torchThreads;
    machine.blas = threading.blas;
    machine.cpu = cpu;
    machine.kernel = kernel;
    std::optional<TrainingConvInput> conv;
    std::string layerName = "linear " + std::to_string(o.in) + " -> " + std::to_string(o.out);
    if (!o.conv.empty()) {
        conv = TrainingConvInput{o.conv[0], o.conv[1], o.conv[1], o.conv[2], o.conv[3], o.conv.size() == 5 ? o.conv[4] : 1};
        layerName = "conv " + std::to_string(conv->channels) + " -> " + std::to_string(o.out) + " on " +
                    std::to_string(conv->height) + "x" + std::to_string(conv->width) + ", " + std::to_string(conv->kernel) +
                    "x" + std::to_string(conv->kernel) + " kernel, padding " + std::to_string(conv->padding);
        if (conv->stride != 1) layerName += ", stride " + std::to_string(conv->stride);
    }
    const int64_t layerIn = conv ? conv->channels * conv->kernel * conv->kernel : o.in;
    if (!o.json)
        std::printf("srigl bench --training: cpu, %s, BLAS %s, %d threads (OMP_WAIT_POLICY=%s, malloc %s), "
                    "condensed kernel %s\n"
                    "one SGD step (forward, backward, momentum update) of a %s\n"
                    "%8s %6s %6s %10s %10s %10s %8s %9s\n",
                    cpu.c_str(), threading.blas.c_str(), threading.torchThreads,
                    threading.ompWaitPolicy.empty() ? "unset" : threading.ompWaitPolicy.c_str(), threading.malloc.c_str(),
                    kernel.c_str(), layerName.c_str(), "sparsity", "batch", "k", "dense_us", "masked_us", "cond_us",
                    "x dense", "x masked");

    gTrainingCancel = false;
    auto previous = std::signal(SIGINT, onTrainingInterrupt);
    const bool bar = !o.quiet && !o.json && isatty(STDERR_FILENO);
    const int64_t models = o.model.empty() ? 0 : static_cast<int64_t>(o.sparsities.size() * o.batches.size());
    const int64_t total = static_cast<int64_t>(o.sparsities.size() * o.batches.size()) + models;
    ProgressBar progress(total);
    nlohmann::json layerRows = nlohmann::json::array(), modelRows = nlohmann::json::array();
    int exitCode = 0;
    int64_t done = 0;
    try {
        for (double sparsity : o.sparsities) {
            const MaskedLayer layer = randomConstantFanInLayer(layerIn, o.out, sparsity, o.ablated, o.seed);
            for (int64_t batch : o.batches) {
                if (bar) progress.update(done, "layer " + std::to_string(batch), true);
                const TrainingLayerTiming t = benchTrainingLayer(layer, batch, settings, conv ? &*conv : nullptr);
                ++done;
                layerRows.push_back({{"layer", layerName}, {"in", t.inFeatures}, {"out", t.outFeatures}, {"k", t.k}, {"batch", t.batch},
                                     {"sparsity", t.sparsity}, {"dense_us", t.denseUs}, {"masked_dense_us", t.maskedDenseUs},
                                     {"condensed_us", t.condensedUs}, {"speedup_vs_dense", t.denseUs / t.condensedUs},
                                     {"speedup_vs_masked_dense", t.maskedDenseUs / t.condensedUs}, {"reps", t.reps}});
                if (store) {
                    sessions::TimingRecord r = machine;
                    r.kind = "train_step";
                    r.layer = conv ? layerName : "linear " + std::to_string(t.inFeatures) + "x" + std::to_string(t.outFeatures);
                    r.inFeatures = t.inFeatures;
                    r.outFeatures = t.outFeatures;
                    r.batch = t.batch;
                    r.sparsity = t.sparsity;
                    r.denseUs = t.denseUs;
                    r.maskedUs = t.maskedDenseUs;
                    r.condensedUs = t.condensedUs;
                    r.csrUs = r.structuredUs = std::nan("");
                    sessions::retryWhileItMayPass([&] { store->addTimings({r}); });
                }
                if (!o.json) {
                    if (bar) std::fprintf(stderr, "\r\033[K");
                    std::printf("%7.1f%% %6lld %6lld %10s %10s %10s %8s %9s\n", 100.0 * t.sparsity,
                                static_cast<long long>(t.batch), static_cast<long long>(t.k),
                                formatMicroseconds(t.denseUs).c_str(), formatMicroseconds(t.maskedDenseUs).c_str(),
                                formatMicroseconds(t.condensedUs).c_str(), formatRatio(t.denseUs / t.condensedUs).c_str(),
                                formatRatio(t.maskedDenseUs / t.condensedUs).c_str());
                    std::fflush(stdout);
                }
            }
        }
        if (!o.model.empty()) {
            if (!o.json)
                std::printf("\nwhole training steps of %s through the trainer (srigl; %d timed steps per variant, mask "
                            "update every %lld steps; avg_ms: one update per %lld steps; peak_MB: peak RSS of the process while the "
                            "variant trained alone)\n%8s %6s %-13s %9s %9s %9s %8s %9s %9s %9s  %s\n",
                            o.model.c_str(), o.steps, static_cast<long long>(o.deltaT), static_cast<long long>(o.deltaT),
                            "sparsity", "batch", "variant", "step_ms", "update_ms", "avg_ms", "x dense", "x dense*",
                            "state_MB", "peak_MB", "layers");
            bool rssNoted = false; // why peak RSS is n/a, said once
            for (double sparsity : o.sparsities) {
                for (int64_t batch : o.batches) {
                    if (bar) progress.update(done, o.model + " batch " + std::to_string(batch), true);
                    const TrainingModelTiming m = benchTrainingModel(modelConfig(o, sparsity, batch), o.steps, settings);
                    ++done;
                    const double denseMs = m.variants.front().stepMs;
                    // The cost per step over one update period (the dense twin never updates).
                    auto averageMs = [&](const TrainingVariantTiming& v) {
                        if (std::isnan(v.updateMs)) return v.stepMs;
                        return (v.stepMs * static_cast<double>(o.deltaT - 1) + v.updateMs) / static_cast<double>(o.deltaT);
                    };
                    if (bar && !o.json) std::fprintf(stderr, "\r\033[K");
                    for (const auto& v : m.variants) {
                        modelRows.push_back({{"model", m.model}, {"batch", m.batch}, {"sparsity", m.sparsity},
                                             {"variant", v.variant}, {"step_ms", v.stepMs},
                                             {"update_step_ms", std::isnan(v.updateMs) ? nlohmann::json() : nlohmann::json(v.updateMs)},
                                             {"speedup_vs_dense", denseMs / v.stepMs}, {"average_step_ms", averageMs(v)},
                                             {"speedup_vs_dense_with_updates", denseMs / averageMs(v)},
                                             {"state_bytes", v.stateBytes},
                                             {"peak_rss_bytes", v.peakRssBytes >= 0 ? nlohmann::json(v.peakRssBytes) : nlohmann::json()},
                                             {"layers", v.compute}, {"steps", v.steps}, {"updates", v.updates}});
                        char peak[32] = "n/a";
                        if (v.peakRssBytes >= 0) std::snprintf(peak, sizeof peak, "%.1f", mb(v.peakRssBytes));
                        if (!o.json)
                            std::printf("%7.1f%% %6lld %-13s %9.3f %9s %9.3f %8s %9s %9.1f %9s  %s\n", 100.0 * m.sparsity,
                                        static_cast<long long>(m.batch), v.variant.c_str(), v.stepMs,
                                        std::isnan(v.updateMs) ? "n/a" : std::to_string(v.updateMs).substr(0, 7).c_str(),
                                        averageMs(v), formatRatio(denseMs / v.stepMs).c_str(),
                                        formatRatio(denseMs / averageMs(v)).c_str(), mb(v.stateBytes), peak, v.compute.c_str());
                    }
                    if (!m.peakRssNote.empty() && !rssNoted) {
                        rssNoted = true;
                        std::fprintf(stderr, "srigl bench: peak RSS n/a: %s\n", m.peakRssNote.c_str());
                    }
                    if (store) {
                        const auto& variants = m.variants; // dense, masked_dense, condensed
                        for (const char* kind : {"train_step", "train_update"}) {
                            const bool update = std::string(kind) == "train_update";
                            sessions::TimingRecord r = machine;
                            r.kind = kind;
                            r.layer = "model " + m.model;
                            r.batch = m.batch;
                            r.sparsity = m.sparsity;
                            auto us = [&](const TrainingVariantTiming& v) { return 1000.0 * (update ? v.updateMs : v.stepMs); };
                            r.denseUs = update ? std::nan("") : us(variants[0]);
                            r.maskedUs = us(variants[1]);
                            r.condensedUs = us(variants[2]);
                            r.csrUs = r.structuredUs = std::nan("");
                            sessions::retryWhileItMayPass([&] { store->addTimings({r}); });
                        }
                    }
                    std::fflush(stdout);
                }
            }
        }
    } catch (const BenchCancelled&) {
        exitCode = 130;
    } catch (const std::exception& e) {
        if (bar) std::fprintf(stderr, "\r\033[K");
        std::fprintf(stderr, "srigl bench: %s\n", sessions::errorMessage(e).c_str());
        exitCode = 2;
    }
    std::signal(SIGINT, previous);
    if (bar) progress.finish();
    if (o.json) {
        nlohmann::json doc = {{"training", true}, {"layers", layerRows}, {"device", "cpu"}, {"cpu", cpu},
                              {"blas", threading.blas}, {"threads", threading.torchThreads},
                              {"omp_wait_policy", threading.ompWaitPolicy}, {"malloc", threading.malloc},
                              {"kernel", kernel}};
        if (!o.model.empty()) doc["models"] = modelRows;
        if (exitCode == 130) doc["interrupted"] = true;
        std::cout << doc.dump() << std::endl;
    } else if (exitCode == 130) {
        std::fprintf(stderr, "srigl bench: interrupted; the cases above were stored\n");
    }
    return exitCode;
}

} // namespace srigl::cli
