// RunConfig keys, JSON round trip, overrides and validation.
#include "engine/config/run_config.hpp"

#include "engine/config/text_check.hpp"
#include "engine/errors.hpp"
#include "engine/nm/nm_pattern.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <string_view>

namespace srigl {
namespace {

using Json = nlohmann::json;

// A run config is a flat object: nothing legitimate nests more than a level or two. The bound keeps a
// hostile document from exhausting the stack (parser, dump, destructor all recurse per level).
constexpr size_t kMaxDepth = 64;
// A full config is about 1.5 KB; a megabyte is far beyond any real one and cheap to hold.
constexpr size_t kMaxConfigBytes = size_t(1) << 20;

// A JSON value as a message quotes it: compact, cut to a few dozen characters.
std::string shown(const Json& v) {
    return quoteForMessage(v.dump(-1, ' ', false, Json::error_handler_t::replace));
}

// Refuses JSON text nested deeper than kMaxDepth, scanning brackets outside strings without building
// anything, so nothing recursive ever sees such a document.
void checkNesting(std::string_view text, const std::string& key) {
    size_t depth = 0;
    bool inString = false;
    bool escaped = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (inString) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') inString = false;
        } else if (c == '"') {
            inString = true;
        } else if (c == '[' || c == '{') {
            if (++depth > kMaxDepth)
                throw ConfigError(key, "JSON nested deeper than " + std::to_string(kMaxDepth) + " levels (at byte " +
                                           std::to_string(i) + ")");
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
}

// Refuses text that is not UTF-8: the store's JSON and the Studio read every string as UTF-8.
void checkUtf8(const std::string& key, const std::string& text) {
    if (!isValidUtf8(text)) throw ConfigError(key, "is not valid UTF-8: '" + quoteForMessage(text) + "'");
}

// One accessor per key: the table below is the single place a key is defined, so JSON, --set,
// --help and the Studio's form can never disagree.
struct Field {
    ConfigKey key;
    std::function<Json(const RunConfig&)> get;
    std::function<void(RunConfig&, const Json&)> set;
};

template <typename T>
T expect(const std::string& name, const Json& v);

template <>
std::string expect<std::string>(const std::string& name, const Json& v) {
    if (!v.is_string()) throw ConfigError(name, "expected a string, got " + shown(v));
    return v.get<std::string>();
}
template <>
double expect<double>(const std::string& name, const Json& v) {
    if (!v.is_number()) throw ConfigError(name, "expected a number, got " + shown(v));
    double d = v.get<double>();
    if (!std::isfinite(d)) throw ConfigError(name, "expected a finite number");
    return d;
}
template <>
int64_t expect<int64_t>(const std::string& name, const Json& v) {
    // An unsigned value above INT64_MAX would wrap to a negative number.
    if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
        throw ConfigError(name, "expected an integer, got " + shown(v) + " (out of range)");
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_number_float()) {
        double d = v.get<double>();
        if (std::floor(d) == d && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
    }
    throw ConfigError(name, "expected an integer, got " + shown(v));
}
template <>
uint64_t expect<uint64_t>(const std::string& name, const Json& v) {
    if (v.is_number_unsigned()) return v.get<uint64_t>();
    if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
    throw ConfigError(name, "expected a non-negative integer, got " + shown(v));
}
template <>
bool expect<bool>(const std::string& name, const Json& v) {
    if (!v.is_boolean()) throw ConfigError(name, "expected true or false, got " + shown(v));
    return v.get<bool>();
}

template <typename T>
std::string typeName() {
    if constexpr (std::is_same_v<T, std::string>) return "string";
    else if constexpr (std::is_same_v<T, bool>) return "bool";
    else if constexpr (std::is_same_v<T, double>) return "float";
    else return "int";
}

template <typename T>
Field field(const char* name, T RunConfig::*member, const char* help,
            std::vector<std::string> choices = {}) {
    RunConfig defaults;
    Json d = defaults.*member;
    std::string shown = d.is_string() ? d.get<std::string>() : d.dump();
    return Field{ConfigKey{name, typeName<T>(), shown, help, std::move(choices)},
                 [member](const RunConfig& c) { return Json(c.*member); },
                 [member, n = std::string(name)](RunConfig& c, const Json& v) { c.*member = expect<T>(n, v); }};
}

const std::vector<Field>& fields() {
    static const std::vector<Field> table = {
        field("name", &RunConfig::name, "free-form run name"),
        field("model", &RunConfig::model, "network (torchscript: your own module, see model_path)", {"mlp", "lenet5", "resnet18", "wrn22_2", "torchscript"}),
        field("hidden", &RunConfig::hidden, "mlp hidden layer sizes, comma separated"),
        field("model_path", &RunConfig::model_path, "model torchscript: the file torch.jit.save wrote (scripts/export_torchscript.py)"),
        field("sparse_layers", &RunConfig::sparse_layers, "model torchscript: the Linear/Conv2d layers made sparse, comma-separated globs over layer names such as features.*,fc1 (empty: all)"),
        field("dataset", &RunConfig::dataset, "training data", {"synthetic", "synthetic_cifar", "mnist", "fashion_mnist", "cifar10"}),
        field("data_dir", &RunConfig::data_dir, "directory with the IDX / CIFAR binary files"),
        field("synthetic_train", &RunConfig::synthetic_train, "images in the synthetic training split"),
        field("synthetic_test", &RunConfig::synthetic_test, "images in the synthetic test split"),
        field("method", &RunConfig::method, "sparse training method", {"dense", "static", "set", "rigl", "srigl", "nm_ste", "srste", "nm_transposable", "trainable_threshold"}),
        field("sparsity", &RunConfig::sparsity, "global sparsity in [0, 1)"),
        field("distribution", &RunConfig::distribution, "per-layer sparsity distribution", {"uniform", "erk"}),
        field("dense_first", &RunConfig::dense_first, "keep the first layer dense"),
        field("dense_last", &RunConfig::dense_last, "keep the last layer dense"),
        field("static_fan_in", &RunConfig::static_fan_in, "method static: exactly k inputs per neuron (constant fan-in, can train condensed) instead of an unstructured mask"),
        field("sparse_opt", &RunConfig::sparse_opt, "SparseOpt: scale each neuron's masked gradient by sqrt(neuron density / layer density) before the optimizer"),
        field("ablate_unused", &RunConfig::ablate_unused, "SRigL variant: also ablate neurons with no outgoing connection in the next layer at every update (mlp, lenet5)"),
        field("gamma_sal", &RunConfig::gamma_sal, "SRigL ablation threshold (fraction of k); 0 disables ablation"),
        field("delta_t", &RunConfig::delta_t, "steps between mask updates"),
        field("alpha", &RunConfig::alpha, "initial drop fraction (cosine decay)"),
        field("t_end", &RunConfig::t_end, "fraction of training after which masks stop changing"),
        field("grad_accumulation", &RunConfig::grad_accumulation, "steps of dense gradient summed before an update"),
        field("sparse_compute", &RunConfig::sparse_compute, "how sparse layers compute: condensed kernels (srigl, CPU), masked dense ops, or auto per layer", {"auto", "condensed", "masked_dense"}),
        field("nm", &RunConfig::nm, "N:M pattern of the N:M methods: N kept of every M input weights (1 <= N < M)"),
        field("nm_update_every", &RunConfig::nm_update_every, "steps between transposable N:M mask recomputations (nm_transposable) and N:M mask events"),
        field("srste_decay", &RunConfig::srste_decay, "SR-STE decay lambda_W on pruned weights (method srste)"),
        field("nm_solver", &RunConfig::nm_solver, "transposable mask solver (nm_transposable)", {"greedy_repair", "exact"}),
        field("tt_alpha", &RunConfig::tt_alpha, "trainable_threshold: weight alpha of the sparsity regulariser alpha * sum(exp(-threshold)) (the start value when tt_target_density is set)"),
        field("tt_target_density", &RunConfig::tt_target_density, "trainable_threshold: global density in (0, 1) a controller on alpha steers the masks to (0: off, alpha fixed; our extension)"),
        field("tt_record_every", &RunConfig::tt_record_every, "trainable_threshold: steps between mask events (the mask changes every step)"),
        field("epochs", &RunConfig::epochs, "training epochs"),
        field("max_steps", &RunConfig::max_steps, "stop after this many steps (0: no limit)"),
        field("batch_size", &RunConfig::batch_size, "training batch size"),
        field("optimizer", &RunConfig::optimizer, "optimizer", {"sgd", "adamw"}),
        field("lr", &RunConfig::lr, "peak learning rate"),
        field("lr_schedule", &RunConfig::lr_schedule, "learning-rate schedule", {"constant", "step", "cosine"}),
        field("lr_milestones", &RunConfig::lr_milestones, "epochs at which a step schedule multiplies the lr by lr_gamma"),
        field("lr_gamma", &RunConfig::lr_gamma, "factor of the step schedule"),
        field("warmup_epochs", &RunConfig::warmup_epochs, "linear warm-up length in epochs (cosine schedule)"),
        field("weight_decay", &RunConfig::weight_decay, "weight decay (decoupled for adamw)"),
        field("momentum", &RunConfig::momentum, "SGD momentum"),
        field("nesterov", &RunConfig::nesterov, "SGD Nesterov momentum"),
        field("beta1", &RunConfig::beta1, "AdamW beta1"),
        field("beta2", &RunConfig::beta2, "AdamW beta2"),
        field("adam_eps", &RunConfig::adam_eps, "AdamW epsilon"),
        field("label_smoothing", &RunConfig::label_smoothing, "label smoothing in [0, 1)"),
        field("seed", &RunConfig::seed, "random seed (masks, weights, data order)"),
        field("device", &RunConfig::device, "compute device", {"cpu", "cuda"}),
        field("threads", &RunConfig::threads, "CPU threads (0: one per core)"),
        field("log_every", &RunConfig::log_every, "steps between metric events"),
        field("eval_every", &RunConfig::eval_every, "steps between test evaluations (0: every epoch)"),
        field("checkpoint", &RunConfig::checkpoint, "checkpoint file (written every checkpoint_every steps and at the end)"),
        field("checkpoint_every", &RunConfig::checkpoint_every, "steps between checkpoints (0: only at the end; recorded runs default to 500)"),
        field("dense_reference_steps", &RunConfig::dense_reference_steps, "steps the dense twin of the model is timed for at the start, to compare the run's step time with (0: off; ignored for method dense)"),
    };
    return table;
}

const Field& findField(const std::string& key) {
    for (const auto& f : fields())
        if (f.key.name == key) return f;
    std::string known;
    for (const auto& f : fields()) known += (known.empty() ? "" : ", ") + f.key.name;
    throw ConfigError(quoteForMessage(key), "unknown key (known keys: " + known + ")");
}

void setField(RunConfig& config, const std::string& key, const Json& value) {
    findField(key).set(config, value);
}

} // namespace

const std::vector<ConfigKey>& configKeys() {
    static const std::vector<ConfigKey> keys = [] {
        std::vector<ConfigKey> out;
        for (const auto& f : fields()) out.push_back(f.key);
        return out;
    }();
    return keys;
}

RunConfig configFromJson(const std::string& jsonText, const RunConfig& base) {
    if (jsonText.size() > kMaxConfigBytes)
        throw ConfigError("", "config is " + std::to_string(jsonText.size()) + " bytes, more than the limit of " +
                                  std::to_string(kMaxConfigBytes >> 20) + " MiB");
    checkNesting(jsonText, "");
    Json doc;
    try {
        doc = Json::parse(jsonText);
    } catch (const Json::exception& e) { // parse_error, or out_of_range for a number like 1e999
        // The parser's text quotes the last token read, which can be most of the document.
        throw ConfigError("", "config is not valid JSON: " + quoteForMessage(e.what(), 240));
    }
    if (!doc.is_object()) throw ConfigError("", "config must be a JSON object");
    RunConfig config = base;
    for (auto it = doc.begin(); it != doc.end(); ++it) setField(config, it.key(), it.value());
    return config;
}

RunConfig loadConfigFile(const std::string& path, const RunConfig& base) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError("", "cannot read config file '" + path + "'");
    // Read at most one byte past the limit, whatever the file claims to be (a pipe, /dev/zero, a huge
    // sparse file), so a bad --config never costs more than a megabyte.
    std::string text(kMaxConfigBytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (in.bad()) throw ConfigError("", "cannot read config file '" + path + "'");
    text.resize(static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxConfigBytes)
        throw ConfigError("", path + ": config file is larger than the limit of " + std::to_string(kMaxConfigBytes >> 20) +
                                  " MiB");
    try {
        return configFromJson(text, base);
    } catch (const ConfigError& e) {
        throw ConfigError(e.key(), path + ": " + (e.key().empty() ? e.what() : std::string(e.what()).substr(e.key().size() + 2)));
    }
}

std::string configToJson(const RunConfig& config, int indent) {
    Json doc = Json::object();
    for (const auto& f : fields()) doc[f.key.name] = f.get(config);
    return doc.dump(indent);
}

void applyOverride(RunConfig& config, const std::string& assignment) {
    auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0)
        throw ConfigError("", "--set expects key=value, got '" + quoteForMessage(assignment) + "'");
    std::string key = assignment.substr(0, eq);
    std::string text = assignment.substr(eq + 1);
    const Field& f = findField(key);
    Json value;
    if (f.key.type == "string") {
        checkUtf8(key, text);
        value = text;
    } else if (f.key.type == "bool") {
        std::string t = text;
        std::transform(t.begin(), t.end(), t.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
        if (t == "true" || t == "1" || t == "yes" || t == "on") value = true;
        else if (t == "false" || t == "0" || t == "no" || t == "off") value = false;
        else throw ConfigError(key, "expected true or false, got '" + quoteForMessage(text) + "'");
    } else {
        checkNesting(text, key);
        try {
            value = Json::parse(text);
        } catch (const Json::exception&) { // not JSON, or a number out of range (1e999)
            throw ConfigError(key, "expected a number, got '" + quoteForMessage(text) + "'");
        }
    }
    f.set(config, value);
}

std::string configValue(const RunConfig& config, const std::string& key) {
    Json v = findField(key).get(config);
    return v.is_string() ? v.get<std::string>() : v.dump();
}

std::vector<int64_t> parseIntList(const std::string& key, const std::string& text) {
    std::vector<int64_t> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        // Only the spaces around an item go: inside one they separate numbers the user meant apart
        // ("300 100" is not 300100, "1 0" not 10), so they reach std::stoll and are refused.
        const auto isSpace = [](char ch) { return std::isspace(static_cast<unsigned char>(ch)) != 0; };
        item.erase(item.begin(), std::find_if_not(item.begin(), item.end(), isSpace));
        item.erase(std::find_if_not(item.rbegin(), item.rend(), isSpace).base(), item.end());
        if (item.empty()) continue;
        size_t used = 0;
        long long v = 0;
        try {
            v = std::stoll(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != item.size())
            throw ConfigError(key, "expected comma-separated integers, got '" + quoteForMessage(text) + "'");
        out.push_back(v);
    }
    return out;
}

bool hasConstantFanIn(const RunConfig& c) { return c.method == "srigl" || (c.method == "static" && c.static_fan_in); }

void validateConfig(const RunConfig& c) {
    for (const auto& f : fields()) {
        if (f.key.choices.empty()) continue;
        std::string v = f.get(c).get<std::string>();
        if (std::find(f.key.choices.begin(), f.key.choices.end(), v) == f.key.choices.end()) {
            std::string list;
            for (const auto& ch : f.key.choices) list += (list.empty() ? "" : ", ") + ch;
            throw ConfigError(f.key.name, "unknown value '" + quoteForMessage(v) + "' (expected one of: " + list + ")");
        }
    }
    auto require = [](bool ok, const char* key, const std::string& msg) {
        if (!ok) throw ConfigError(key, msg);
    };
    require(c.sparsity >= 0.0 && c.sparsity < 1.0, "sparsity", "must be in [0, 1), got " + std::to_string(c.sparsity));
    require(c.gamma_sal >= 0.0 && c.gamma_sal <= 1.0, "gamma_sal", "must be in [0, 1]");
    require(c.delta_t >= 1, "delta_t", "must be >= 1");
    require(c.alpha >= 0.0 && c.alpha <= 1.0, "alpha", "must be in [0, 1]");
    require(c.t_end > 0.0 && c.t_end <= 1.0, "t_end", "must be in (0, 1]");
    require(c.grad_accumulation >= 1, "grad_accumulation", "must be >= 1");
    require(c.grad_accumulation <= c.delta_t, "grad_accumulation", "must not exceed delta_t");
    require(c.sparse_compute != "condensed" || hasConstantFanIn(c), "sparse_compute",
            "condensed needs constant fan-in masks (method srigl, or static with static_fan_in=true); method " +
                c.method + " trains with sparse_compute=masked_dense or auto");
    require(c.sparse_compute != "condensed" || c.device == "cpu", "sparse_compute",
            "the condensed kernels run on the CPU; use sparse_compute=masked_dense or auto with device=cuda");
    require(!c.ablate_unused || c.method == "srigl", "ablate_unused", "is a variant of method srigl, not of " + c.method);
    require(!c.ablate_unused || c.model == "mlp" || c.model == "lenet5", "ablate_unused",
            "needs a model whose layers form a chain (mlp, lenet5); " + c.model + " has skip connections");
    const bool scripted = c.model == "torchscript";
    require(!scripted || !c.model_path.empty(), "model_path", "model torchscript needs model_path (a file torch.jit.save wrote)");
    require(scripted || c.model_path.empty(), "model_path", "is the module file of model torchscript, not of " + c.model);
    require(scripted || c.sparse_layers.empty(), "sparse_layers",
            "chooses layers of a torchscript model; every layer of " + c.model + " is sparse (see dense_first, dense_last)");
    // A scripted module computes with its own operations on its own weights: there is no place to
    // put the condensed kernels, so its sparse layers train masked-dense.
    require(!scripted || c.sparse_compute != "condensed", "sparse_compute",
            "a torchscript model trains with masked dense weights; use sparse_compute=auto or masked_dense");
    require(!c.sparse_opt || c.method != "dense", "sparse_opt", "scales the gradients of sparse layers: method dense has none");
    // parseNm quotes the whole text in its messages: anything longer than "1023:1024" is refused here.
    require(c.nm.size() <= 16, "nm", "expected N:M such as 2:4, got '" + quoteForMessage(c.nm) + "'");
    const nm::NmPattern pattern = nm::parseNm(c.nm); // throws ConfigError naming `nm`
    require(c.method != "nm_transposable" || pattern.m <= 64, "nm", "transposable masks need M <= 64, got " + c.nm);
    require(c.nm_update_every >= 1, "nm_update_every", "must be >= 1");
    require(c.srste_decay >= 0.0, "srste_decay", "must be >= 0");
    require(c.tt_alpha >= 0.0, "tt_alpha", "must be >= 0, got " + std::to_string(c.tt_alpha));
    require(c.tt_target_density == 0.0 || (c.tt_target_density > 0.0 && c.tt_target_density < 1.0), "tt_target_density",
            "must be in (0, 1), or 0 for off, got " + std::to_string(c.tt_target_density));
    require(c.tt_target_density == 0.0 || c.method == "trainable_threshold", "tt_target_density",
            "steers the thresholds of method trainable_threshold, not " + c.method);
    require(c.tt_target_density == 0.0 || c.tt_alpha > 0.0, "tt_alpha",
            "must be > 0 with tt_target_density: the controller scales alpha, and cannot scale 0");
    require(c.tt_record_every >= 1, "tt_record_every", "must be >= 1");
    if (c.method == "trainable_threshold") {
        // The thresholds make every mask: keys of the other methods' masks are refused rather than
        // silently ignored when they ask for something.
        require(c.nm == RunConfig{}.nm, "nm",
                "N:M patterns do not combine with method trainable_threshold (its masks come from the thresholds)");
        require(!c.sparse_opt, "sparse_opt",
                "scales masked gradients; method trainable_threshold does not mask its gradients");
    }
    require(c.epochs >= 1 && c.epochs <= 1000000, "epochs", "must be in [1, 1000000]");
    require(c.max_steps >= 0, "max_steps", "must be >= 0");
    require(c.batch_size >= 1 && c.batch_size <= 1000000, "batch_size", "must be in [1, 1000000]");
    require(c.lr > 0.0, "lr", "must be > 0");
    require(c.lr_gamma > 0.0, "lr_gamma", "must be > 0");
    // Bounded like epochs: the schedule turns warmup_epochs * steps per epoch into an int64 step
    // count, and a product past its range (1e300) silently became a run with no warm-up at all.
    require(c.warmup_epochs >= 0.0 && c.warmup_epochs <= 1000000.0, "warmup_epochs", "must be in [0, 1000000]");
    require(c.weight_decay >= 0.0, "weight_decay", "must be >= 0");
    require(c.momentum >= 0.0 && c.momentum < 1.0, "momentum", "must be in [0, 1)");
    require(c.beta1 >= 0.0 && c.beta1 < 1.0, "beta1", "must be in [0, 1)");
    require(c.beta2 >= 0.0 && c.beta2 < 1.0, "beta2", "must be in [0, 1)");
    require(c.adam_eps > 0.0, "adam_eps", "must be > 0");
    require(c.label_smoothing >= 0.0 && c.label_smoothing < 1.0, "label_smoothing", "must be in [0, 1)");
    require(c.threads >= 0 && c.threads <= 1024, "threads", "must be in [0, 1024]");
    require(c.log_every >= 1, "log_every", "must be >= 1");
    require(c.eval_every >= 0, "eval_every", "must be >= 0");
    require(c.checkpoint_every >= 0, "checkpoint_every", "must be >= 0");
    require(c.dense_reference_steps >= 0 && c.dense_reference_steps <= 1000, "dense_reference_steps",
            "must be in [0, 1000]");
    require(c.synthetic_train >= 10 && c.synthetic_train <= 2000000, "synthetic_train", "must be in [10, 2000000]");
    require(c.synthetic_test >= 10 && c.synthetic_test <= 2000000, "synthetic_test", "must be in [10, 2000000]");
    require(c.dataset == "synthetic" || c.dataset == "synthetic_cifar" || !c.data_dir.empty(), "data_dir", "dataset '" + c.dataset + "' needs data_dir (the directory with its files)");
    if (c.model == "mlp") {
        auto sizes = parseIntList("hidden", c.hidden);
        for (auto s : sizes) require(s >= 1 && s <= 100000, "hidden", "layer sizes must be in [1, 100000]");
    }
    if (c.lr_schedule == "step") {
        auto ms = parseIntList("lr_milestones", c.lr_milestones);
        require(!ms.empty(), "lr_milestones", "lr_schedule=step needs milestones (epochs, e.g. \"77,154\")");
        for (size_t i = 0; i < ms.size(); ++i)
            require(ms[i] >= 1 && (i == 0 || ms[i] > ms[i - 1]), "lr_milestones", "must be increasing epochs >= 1");
    }
}

} // namespace srigl
