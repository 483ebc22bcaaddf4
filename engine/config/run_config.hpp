// RunConfig: every setting of a training run, with JSON round trip, `key=value` overrides and
// validation whose messages name the offending key.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace srigl {

struct RunConfig {
    std::string name;
    // model and data
    std::string model = "mlp";
    std::string hidden = "300,100"; // mlp hidden sizes
    // model=torchscript (docs/your_model.md): the module file torch.jit.save wrote, and which of its
    // Linear/Conv2d layers are sparse (comma-separated globs over layer names; empty: all of them).
    std::string model_path;
    std::string sparse_layers;
    std::string dataset = "synthetic";
    std::string data_dir;
    int64_t synthetic_train = 20000;
    int64_t synthetic_test = 4000;
    // sparsity
    std::string method = "srigl";
    double sparsity = 0.9;
    std::string distribution = "erk";
    bool dense_first = false;
    bool dense_last = false;
    double gamma_sal = 0.3;
    // method=static: draw each neuron's k inputs (SRigL's initial mask, never updated) instead of an
    // unstructured mask; such a layer can train condensed.
    bool static_fan_in = false;
    // SparseOpt (docs/algorithms.md): each neuron's masked gradient scaled by
    // sqrt(its density / the layer's density) before the optimizer.
    bool sparse_opt = false;
    // SRigL variant (docs/algorithms.md): at every update, also ablate the neurons whose outputs no
    // kept weight of the next layer reads, and return their budget to the layer's other neurons.
    bool ablate_unused = false;
    int64_t delta_t = 100;
    double alpha = 0.3;
    double t_end = 0.75;
    int64_t grad_accumulation = 1;
    // How sparse layers compute (docs/sparse_training.md): condensed kernels on values + indices
    // (constant fan-in layers of srigl), LibTorch's dense ops on masked weights, or auto per layer.
    std::string sparse_compute = "auto";
    // N:M methods (nm_ste, srste, nm_transposable; docs/algorithms.md)
    std::string nm = "2:4";          // N kept of every M consecutive input weights
    int64_t nm_update_every = 40;    // steps between transposable mask recomputations (and N:M mask events)
    double srste_decay = 2e-4;       // SR-STE lambda_W: decay on pruned weights only
    std::string nm_solver = "greedy_repair"; // transposable mask solver: greedy_repair | exact
    // method=trainable_threshold (Liu et al., ICLR 2020; docs/algorithms.md): the weight of the
    // sparsity regulariser alpha * sum(exp(-t)), the global density a controller on that alpha
    // steers to (0: off, alpha stays fixed; our extension), and the steps between mask events.
    double tt_alpha = 5e-4;
    double tt_target_density = 0.0;
    int64_t tt_record_every = 100;
    // optimisation
    int64_t epochs = 5;
    int64_t max_steps = 0;
    int64_t batch_size = 128;
    std::string optimizer = "sgd";
    double lr = 0.1;
    std::string lr_schedule = "constant";
    std::string lr_milestones; // epochs, comma separated, for lr_schedule=step
    double lr_gamma = 0.2;
    double warmup_epochs = 0.0;
    double weight_decay = 5e-4;
    double momentum = 0.9;
    bool nesterov = true;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double adam_eps = 1e-8;
    double label_smoothing = 0.0;
    // runtime
    uint64_t seed = 42;
    std::string device = "cpu";
    int64_t threads = 0; // 0: one per core
    int64_t log_every = 10;
    int64_t eval_every = 0; // steps; 0: at the end of every epoch
    std::string checkpoint;  // file written every checkpoint_every steps and at the end
    int64_t checkpoint_every = 0;
    // Steps the dense twin of the model is timed for at the start of a run, to compare the run's
    // step time with (0: off; ignored for method=dense). engine/training/dense_reference.hpp.
    int64_t dense_reference_steps = 3;
};

// Describes one key for `--help`, forms and validation.
// Whether every sparse layer of this config keeps exactly k inputs per active neuron (srigl, and
// static with static_fan_in): what condensed training needs.
bool hasConstantFanIn(const RunConfig& config);

struct ConfigKey {
    std::string name;
    std::string type; // string | int | float | bool
    std::string defaultValue;
    std::string help;
    std::vector<std::string> choices; // empty: free value
};

const std::vector<ConfigKey>& configKeys();

// JSON text (an object with any subset of the keys) -> config; unknown keys and wrong types throw
// ConfigError naming the key.
RunConfig configFromJson(const std::string& jsonText, const RunConfig& base = RunConfig{});
RunConfig loadConfigFile(const std::string& path, const RunConfig& base = RunConfig{});
std::string configToJson(const RunConfig& config, int indent = 2);

// Applies "key=value" (the CLI's --set); throws ConfigError on unknown key or unparsable value.
void applyOverride(RunConfig& config, const std::string& assignment);
std::string configValue(const RunConfig& config, const std::string& key);

// Checks every value that can be checked without data or a model (ranges, choices, combinations).
// The trainer adds the checks that need the model's shapes and the data.
void validateConfig(const RunConfig& config);

std::vector<int64_t> parseIntList(const std::string& key, const std::string& text);

} // namespace srigl
