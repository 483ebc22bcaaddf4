// `srigl analyze init-variance` and `srigl analyze diversity`.
#include "analyze_command.hpp"

#include "cli_checks.hpp"

#include "engine/config/run_config.hpp"
#include "engine/errors.hpp"
#include "engine/analysis/init_variance.hpp"
#include "engine/analysis/mask_diversity.hpp"
#include "engine/nm/nm_pattern.hpp"
#include "engine/training/trainer.hpp"
#include "sessions/session/recorded_run.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>

namespace srigl::cli {
namespace {

nlohmann::json statsJson(const nm::NormStats& s) {
    return {{"density", s.density}, {"mean", s.mean}, {"variance", s.variance}};
}

// Each chunk of initialisations holds several [S, out, in] tensors of at least one matrix: a layer
// of 10^10 weights failed in the allocator with its byte count, and a few 10^9 filled the machine's
// memory. 2^26 weights (8192 x 8192) is about 1.3 GiB of working tensors.
constexpr int64_t kMaxInitVarianceWeights = int64_t{1} << 26;

int initVariance(const AnalyzeOptions& o) {
    // CLI11's range lets NaN through (no comparison with it is true).
    if (!(o.sparsity >= 0.0 && o.sparsity <= 0.999))
        throw ConfigError("--sparsity", "must be in [0, 0.999], got " + std::to_string(o.sparsity));
    if (o.in > kMaxInitVarianceWeights / o.out)
        throw ConfigError("--in/--out", "a layer of at most " + std::to_string(kMaxInitVarianceWeights) +
                                           " weights (e.g. 8192 x 8192), got " + std::to_string(o.in) + " x " +
                                           std::to_string(o.out));
    nm::InitVarianceOptions options;
    options.in = o.in;
    options.out = o.out;
    options.sparsity = o.sparsity;
    options.samples = o.samples;
    options.seed = o.seed;
    if (!o.nm.empty()) options.nm = nm::parseNm(o.nm);
    const nm::InitVarianceResult r = nm::initOutputNormVariance(options);
    if (o.json) {
        std::cout << nlohmann::json{{"in", o.in}, {"out", o.out}, {"sparsity", o.sparsity}, {"samples", o.samples},
                                    {"nm", r.nm.toString()}, {"dense", statsJson(r.dense)},
                                    {"unstructured", statsJson(r.unstructured)},
                                    {"constant_fan_in", statsJson(r.constantFanIn)}, {"nm_mask", statsJson(r.nmMask)}}
                         .dump()
                  << std::endl;
        return 0;
    }
    std::printf("output-norm variance at initialisation: Linear %lld -> %lld, sparsity %.3f, %d initialisations\n",
                static_cast<long long>(o.in), static_cast<long long>(o.out), o.sparsity, o.samples);
    std::printf("%-18s %8s %12s %12s\n", "mask", "density", "mean ||y||", "var ||y||");
    const std::pair<const char*, const nm::NormStats*> rows[] = {
        {"dense", &r.dense}, {"unstructured", &r.unstructured}, {"constant fan-in", &r.constantFanIn}};
    for (const auto& [name, s] : rows)
        std::printf("%-18s %8.4f %12.4f %12.4f\n", name, s->density, s->mean, s->variance);
    std::printf("%-18s %8.4f %12.4f %12.4f\n", ("N:M " + r.nm.toString()).c_str(), r.nmMask.density, r.nmMask.mean,
                r.nmMask.variance);
    return 0;
}

int diversity(const AnalyzeOptions& o) {
    RunConfig config;
    if (!o.configFile.empty()) config = loadConfigFile(o.configFile, config);
    for (const auto& assignment : o.overrides) applyOverride(config, assignment);
    const nm::NmPattern pattern = nm::parseNm(o.diversityNm);
    std::vector<nm::LayerDiversityInput> layers;
    for (const LayerPlan& plan : planRun(config)) layers.push_back({plan.name, plan.shape, plan.density});
    const nm::ModelDiversity md = nm::modelDiversity(layers, pattern);
    auto layerJson = [](const nm::LayerDiversity& l) {
        return nlohmann::json{{"name", l.name},
                              {"weights", l.weights},
                              {"unstructured", l.unstructured},
                              {"constant_fan_in", l.constantFanIn},
                              {"nm", l.nm},
                              {"transposable", l.transposable < 0 ? nlohmann::json() : nlohmann::json(l.transposable)}};
    };
    if (o.json) {
        nlohmann::json out = {{"model", config.model}, {"sparsity", config.sparsity}, {"nm", pattern.toString()},
                              {"layers", nlohmann::json::array()}, {"total", layerJson(md.total)}};
        for (const auto& l : md.layers) out["layers"].push_back(layerJson(l));
        std::cout << out.dump() << std::endl;
        return 0;
    }
    std::printf("mask diversity (log10 of the number of masks), %s at sparsity %.3f; N:M columns use %s\n",
                config.model.c_str(), config.sparsity, pattern.toString().c_str());
    std::printf("%-10s %10s %14s %16s %12s %14s\n", "layer", "weights", "unstructured", "constant fan-in", "N:M",
                "transposable");
    auto print = [](const nm::LayerDiversity& l) {
        char transposable[32];
        if (l.transposable < 0) std::snprintf(transposable, sizeof transposable, "n/a");
        else std::snprintf(transposable, sizeof transposable, "%.1f", l.transposable);
        std::printf("%-10s %10lld %14.1f %16.1f %12.1f %14s\n", l.name.c_str(), static_cast<long long>(l.weights),
                    l.unstructured, l.constantFanIn, l.nm, transposable);
    };
    for (const auto& l : md.layers) print(l);
    print(md.total);
    return 0;
}

} // namespace

void addAnalyzeCommand(CLI::App& app, AnalyzeOptions& o) {
    auto* cmd = app.add_subcommand("analyze", "structure analyses: init-variance, diversity");
    cmd->require_subcommand(1);
    auto* iv = cmd->add_subcommand("init-variance", "variance of output norms at initialisation, per mask structure");
    iv->add_option("--in", o.in, "layer inputs")->check(positiveWholeNumber());
    iv->add_option("--out", o.out, "layer outputs")->check(positiveWholeNumber());
    iv->add_option("--sparsity", o.sparsity, "sparsity of the sparse masks")->check(CLI::Range(0.0, 0.999));
    iv->add_option("--nm", o.nm, "N:M pattern, e.g. 1:8 (default: the one closest to the sparsity)");
    iv->add_option("--samples", o.samples, "random initialisations")->check(CLI::Range(2, 1000000));
    iv->add_option("--seed", o.seed, "seed");
    iv->add_flag("--json", o.json, "print JSON");
    auto* dv = cmd->add_subcommand("diversity", "mask diversity of a config's layers per sparsity structure");
    dv->add_option("-c,--config", o.configFile, "JSON file with config keys")->check(CLI::ExistingFile);
    dv->add_option("-s,--set", o.overrides, "override one key: --set key=value (repeatable)");
    dv->add_option("--nm", o.diversityNm, "N:M pattern for the N:M and transposable columns");
    dv->add_flag("--json", o.json, "print JSON");
}

int runAnalyze(const CLI::App& app, const AnalyzeOptions& o) {
    try {
        const CLI::App* cmd = app.get_subcommand("analyze");
        if (cmd->got_subcommand("init-variance")) return initVariance(o);
        if (cmd->got_subcommand("diversity")) return diversity(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "srigl analyze: %s\n", sessions::errorMessage(e).c_str());
        return 2;
    }
    return 2;
}

} // namespace srigl::cli
