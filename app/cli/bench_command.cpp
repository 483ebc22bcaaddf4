// `srigl bench`: builds the cases, checks and times them through the engine's layer benchmark,
// prints a table (or JSON) with the machine's CPU, BLAS and threads, and stores every result.
#include "bench_command.hpp"

#include "cli_checks.hpp"
#include "progress_bar.hpp"

#include "engine/kernels/cuda/condensed_cuda.hpp"
#include "engine/errors.hpp"
#include "engine/inference/layer_bench.hpp"
#include "engine/runtime/threading.hpp"
#include "engine/training/checkpoint_model.hpp"
#include "sessions/session/recorded_layers.hpp"
#include "sessions/store/run_store.hpp"
#include "sessions/store/store_retry.hpp"
#include "sessions/store/store_error.hpp"
#include "sessions/session/recorded_run.hpp"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>

namespace srigl::cli {
namespace {

std::atomic<bool> gCancel{false};
void onInterrupt(int) { gCancel = true; }

struct Case {
    ModelLayerCase layer; // with `held`, a layer whose dense form does not fit: timed condensed only
    int64_t batch = 1;
};


nlohmann::json timingJson(const LayerTiming& t, const std::string& device) {
    nlohmann::json j = {{"device", device},         {"layer", t.layer},
            {"in", t.inFeatures},       {"out", t.outFeatures},
            {"rows", t.rows},           {"k", t.k},
            {"batch", t.batch},         {"sparsity", t.sparsity},
            {"dense_us", t.denseUs},    {"csr_us", t.csrUs},
            {"structured_us", t.structuredUs}, {"condensed_us", t.condensedUs},
            {"speedup_vs_dense", t.speedupVsDense()}, {"speedup_vs_csr", t.speedupVsCsr()},
            {"max_rel_error", std::max({t.condensedError, t.structuredError, std::isnan(t.csrError) ? 0.0 : t.csrError})},
            {"reps", t.reps}};
    if (!t.cudaKernel.empty()) {
        j["cuda_kernel"] = t.cudaKernel;
        j["warp_per_row_us"] = t.warpPerRowUs;
        j["tiled_us"] = t.tiledUs;
    }
    return j;
}

} // namespace

kernels::Isa parseIsaOption(const std::string& name) {
    if (name == "auto") return kernels::detectIsa();
    for (kernels::Isa isa : {kernels::Isa::Portable, kernels::Isa::Avx2, kernels::Isa::Avx512}) {
        if (kernels::toString(isa) != name) continue;
        if (!kernels::isaSupported(isa)) throw InferenceError("--isa " + name + ": this CPU (or build) cannot run it");
        return isa;
    }
    throw InferenceError("--isa: expected auto, portable, avx2 or avx512, got '" + name + "'");
}

std::string formatMicroseconds(double us) {
    if (std::isnan(us)) return "n/a";
    char buf[32];
    std::snprintf(buf, sizeof buf, us < 100 ? "%.1f" : "%.0f", us);
    return buf;
}

std::string formatRatio(double r) {
    if (std::isnan(r) || std::isinf(r)) return "n/a";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2fx", r);
    return buf;
}

void addBenchCommand(CLI::App& app, BenchOptions& o) {
    auto* cmd = app.add_subcommand("bench", "time condensed inference against dense, CSR and structured");
    cmd->add_option("--in", o.in, "input features of the synthetic layer")->check(positiveWholeNumber());
    cmd->add_option("--out", o.out, "output features of the synthetic layer")->check(positiveWholeNumber());
    cmd->add_option("--sparsity", o.sparsities, "sparsities, comma-separated")->delimiter(',')->check(CLI::Range(0.0, 0.9999));
    cmd->add_option("--batch", o.batches, "batch sizes, comma-separated")->delimiter(',')->check(positiveWholeNumber());
    cmd->add_option("--device", o.device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
    cmd->add_option("--threads", o.threads, "threads for LibTorch, OpenBLAS and our kernels (0: one per core)");
    cmd->add_option("--ablated", o.ablated, "fraction of ablated neurons in the synthetic layer")->check(CLI::Range(0.0, 0.99));
    cmd->add_option("--seconds", o.seconds, "timing budget per variant and case, after warm-up")->check(CLI::Range(0.0, 60.0));
    cmd->add_option("--isa", o.isa, "condensed kernel: auto, portable, avx2, avx512");
    // Run ids are positive: a negative one was taken as "no --run" and benched the synthetic layer.
    cmd->add_option("--run", o.run, "bench the classifier layers and whole model of this recorded run")
        ->check(idNumber());
    cmd->add_option("--seed", o.seed, "seed of the synthetic layer and inputs");
    cmd->add_flag("--json", o.json, "print one JSON object with every result");
    cmd->add_flag("-q,--quiet", o.quiet, "no progress bar");
    cmd->add_option("--db", o.db, "database to store the timings in (default: $SRIGL_DB or the per-user one)");
    cmd->add_flag("--no-db", o.noDb, "do not store the timings");
    cmd->add_flag("--training", o.training,
                  "time SGD training steps (forward, backward, optimizer) of dense, masked-dense and condensed "
                  "layers instead of inference");
    cmd->add_option("--model", o.model, "with --training: also time whole training steps of this model "
                                        "(the trainer itself; mask-update steps apart)")
        ->check(CLI::IsMember({"mlp", "lenet5", "resnet18", "wrn22_2"}));
    cmd->add_option("--hidden", o.hidden, "with --model mlp: hidden sizes, comma separated");
    cmd->add_option("--data-dir", o.dataDir, "with --model resnet18 or wrn22_2: folder of the CIFAR-10 binary files");
    cmd->add_option("--steps", o.steps, "with --model: timed steps per variant")->check(CLI::Range(1, 100000));
    cmd->add_option("--delta-t", o.deltaT, "with --model: steps between mask updates")->check(positiveWholeNumber());
    cmd->add_option("--conv", o.conv,
                    "with --training: time a Conv2d instead of the linear layer: C,H,K,P[,S] = input channels, "
                    "image height and width, kernel size, padding, stride (default 1) (--out filters)")
        ->delimiter(',')
        ->expected(4, 5)
        ->check(nonNegativeWholeNumber());
}

int runBench(const BenchOptions& o) {
    if (o.training) return runTrainingBench(o);
    std::unique_ptr<sessions::RunStore> store;
    std::optional<CondensedModel> condensedModel;
    InputShape inputShape;
    std::vector<std::string> beyondDense; // the run's layers held condensed: their dense form does not fit
    std::vector<Case> cases;
    BenchSettings settings;
    ThreadingInfo threading;
    try {
        threading = configureThreads(o.threads);
        settings.device = o.device;
        settings.isa = parseIsaOption(o.isa);
        settings.targetSeconds = o.seconds;
        settings.cancel = &gCancel;
        if (o.device == "cuda" && !torch::cuda::is_available())
            throw InferenceError("--device cuda: this LibTorch build has no CUDA or no GPU is visible");
        if (!o.noDb || o.run > 0) store = std::make_unique<sessions::RunStore>(o.db.empty() ? sessions::defaultDatabasePath() : o.db);
        if (o.run > 0) {
            const auto last = store->lastCheckpoint(o.run);
            const auto info = store->run(o.run); // StoreError for an unknown id
            if (!last && info.status == sessions::RunStatus::Imported) {
                // Checkpoints trained elsewhere: their layers from the store, no whole model.
                const auto recorded = sessions::recordedMatrixLayers(*store, o.run);
                for (const auto& why : recorded.skipped) std::fprintf(stderr, "srigl bench: skipped %s\n", why.c_str());
                if (recorded.layers.empty())
                    throw InferenceError("run " + std::to_string(o.run) + " has no constant fan-in layer to bench");
                for (const auto& layer : recorded.layers)
                    for (int64_t batch : o.batches) cases.push_back({{layer, nullptr}, batch});
            } else {
                if (!last) throw InferenceError("run " + std::to_string(o.run) + " has no checkpoint to take its weights from");
                // Layers whose dense form does not fit stay in their training form and are timed
                // condensed only (benchCondensedOnly), as is the whole model then.
                CheckpointModel loaded = loadCheckpointModel(last->second, BeyondDense::KeepCondensed);
                inputShape = inputShapeOf(loaded.config.dataset);
                try {
                    condensedModel.emplace(loaded.model);
                } catch (const InferenceError& e) {
                    throw InferenceError("run " + std::to_string(o.run) + " (" + info.method + ") cannot be condensed: " + e.what());
                }
                for (const auto& named : loaded.model->sparseLayers())
                    if (named.layer->isCondensed())
                        beyondDense.push_back(named.name + " (" + std::to_string(named.layer->outFeatures()) + " x " +
                                              std::to_string(named.layer->fanIn()) + ")");
                for (const ModelLayerCase& layer : classifierBenchLayers(*loaded.model))
                    for (int64_t batch : o.batches) cases.push_back({layer, batch});
            }
        } else {
            requireLayerBenchFits(o.in, o.out, LayerBenchKind::Inference);
            for (double sparsity : o.sparsities) {
                const MaskedLayer layer = randomConstantFanInLayer(o.in, o.out, sparsity, o.ablated, o.seed);
                for (int64_t batch : o.batches) cases.push_back({{layer, nullptr}, batch});
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "srigl bench: %s\n", sessions::errorMessage(e).c_str());
        return 2;
    }

    const std::string cpu = machineName(o.device);
    const std::string kernel = kernelDescription(o.device, settings.isa);
    // What every stored row says about where it was measured.
    sessions::TimingRecord machine;
    machine.runId = o.run;
    machine.device = o.device;
    machine.threads = threading.torchThreads;
    machine.blas = threading.blas;
    machine.cpu = cpu;
    machine.kernel = kernel;
    if (!o.json) {
        std::printf("srigl bench: %s, %s, BLAS %s, %d threads (OMP_WAIT_POLICY=%s, malloc %s), condensed kernel %s\n",
                    o.device.c_str(), cpu.c_str(), threading.blas.c_str(), threading.torchThreads,
                    threading.ompWaitPolicy.empty() ? "unset" : threading.ompWaitPolicy.c_str(), threading.malloc.c_str(),
                    kernel.c_str());
        if (!beyondDense.empty()) {
            std::string names;
            for (const auto& n : beyondDense) names += (names.empty() ? "" : ", ") + n;
            std::printf("beyond their dense form (kept as values and indices, timed condensed only: dense, csr and "
                        "structured are n/a): %s\n", names.c_str());
        }
        std::printf("%-16s %6s %8s %6s %6s %10s %10s %10s %10s %8s %8s%s\n", "layer", "batch", "sparsity", "rows", "k",
                    "dense_us", "csr_us", "struct_us", "cond_us", "x dense", "x csr",
                    o.device == "cuda" && cuda::kernelsBuilt() ? "   warp_us  tiled_us  chosen" : "");
    }
    gCancel = false;
    auto previous = std::signal(SIGINT, onInterrupt);
    const bool bar = !o.quiet && !o.json && isatty(STDERR_FILENO);
    const int64_t total = static_cast<int64_t>(cases.size()) + (condensedModel ? static_cast<int64_t>(o.batches.size()) : 0);
    ProgressBar progress(total);
    nlohmann::json results = nlohmann::json::array(), models = nlohmann::json::array();
    std::string csrNote;
    int exitCode = 0;
    int64_t done = 0;
    try {
        for (const Case& c : cases) {
            if (bar) progress.update(done, c.layer.layer.name + " batch " + std::to_string(c.batch), true);
            const LayerTiming t = benchModelLayer(c.layer, c.batch, settings);
            ++done;
            if (!t.csrNote.empty()) csrNote = t.csrNote;
            results.push_back(timingJson(t, o.device));
            if (store) {
                sessions::TimingRecord r = machine;
                r.layer = t.layer;
                r.inFeatures = t.inFeatures;
                r.outFeatures = t.outFeatures;
                r.batch = t.batch;
                r.sparsity = t.sparsity;
                r.denseUs = t.denseUs;
                r.csrUs = t.csrUs;
                r.structuredUs = t.structuredUs;
                r.condensedUs = t.condensedUs;
                sessions::retryWhileItMayPass([&] { store->addTimings({r}); });
            }
            if (!o.json) {
                if (bar) std::fprintf(stderr, "\r\033[K");
                std::printf("%-16s %6lld %7.1f%% %6lld %6lld %10s %10s %10s %10s %8s %8s", t.layer.c_str(),
                            static_cast<long long>(t.batch), 100.0 * t.sparsity, static_cast<long long>(t.rows),
                            static_cast<long long>(t.k), formatMicroseconds(t.denseUs).c_str(), formatMicroseconds(t.csrUs).c_str(),
                            formatMicroseconds(t.structuredUs).c_str(), formatMicroseconds(t.condensedUs).c_str(),
                            formatRatio(t.speedupVsDense()).c_str(), formatRatio(t.speedupVsCsr()).c_str());
                if (!t.cudaKernel.empty())
                    std::printf(" %9s %9s  %s", formatMicroseconds(t.warpPerRowUs).c_str(),
                                formatMicroseconds(t.tiledUs).c_str(), t.cudaKernel.c_str());
                std::printf("\n");
                std::fflush(stdout);
            }
        }
        if (condensedModel) {
            if (!o.json)
                std::printf(beyondDense.empty()
                                ? "\nwhole model (run %lld): its masked dense forward against the condensed one\n%6s %10s %10s %8s\n"
                                : "\nwhole model (run %lld): the condensed forward (checked against the model's own; its dense "
                                  "twin does not fit, so dense is n/a)\n%6s %10s %10s %8s\n",
                            static_cast<long long>(o.run), "batch", "dense_us", "cond_us", "x dense");
            for (int64_t batch : o.batches) {
                if (bar) progress.update(done, "whole model batch " + std::to_string(batch), true);
                const ModelTiming m = benchModel(*condensedModel, inputShape, batch, settings, beyondDense.empty());
                ++done;
                models.push_back({{"batch", m.batch}, {"dense_us", m.denseUs}, {"condensed_us", m.condensedUs},
                                  {"speedup_vs_dense", m.denseUs / m.condensedUs}, {"max_rel_error", m.error}, {"reps", m.reps}});
                if (store) {
                    sessions::TimingRecord r = machine;
                    r.layer = "model";
                    r.batch = batch;
                    r.sparsity = store->run(o.run).sparsity;
                    r.denseUs = m.denseUs;
                    r.condensedUs = m.condensedUs;
                    r.csrUs = r.structuredUs = std::nan("");
                    sessions::retryWhileItMayPass([&] { store->addTimings({r}); });
                }
                if (!o.json) {
                    if (bar) std::fprintf(stderr, "\r\033[K");
                    std::printf("%6lld %10s %10s %8s\n", static_cast<long long>(batch), formatMicroseconds(m.denseUs).c_str(),
                                formatMicroseconds(m.condensedUs).c_str(), formatRatio(m.denseUs / m.condensedUs).c_str());
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
        nlohmann::json doc = {{"results", results}, {"device", o.device}, {"cpu", cpu}, {"blas", threading.blas},
                              {"threads", threading.torchThreads}, {"omp_wait_policy", threading.ompWaitPolicy},
                              {"malloc", threading.malloc}, {"kernel", kernel}};
        if (condensedModel) doc["models"] = models;
        if (!beyondDense.empty()) doc["beyond_dense"] = beyondDense;
        if (!csrNote.empty()) doc["csr_note"] = csrNote;
        if (exitCode == 130) doc["interrupted"] = true;
        std::cout << doc.dump() << std::endl;
    } else {
        if (!csrNote.empty()) std::printf("csr: not run here (%s)\n", csrNote.c_str());
        if (exitCode == 130) std::fprintf(stderr, "srigl bench: interrupted; the cases above were stored\n");
    }
    return exitCode;
}

} // namespace srigl::cli
