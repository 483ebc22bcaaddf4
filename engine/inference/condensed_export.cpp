// The condensed export folder: manifest.json + .npy files.
#include "engine/inference/condensed_export.hpp"

#include "engine/errors.hpp"
#include "engine/inference/export_folder.hpp"
#include "engine/inference/npy_file.hpp"
#include "engine/models/sparse_model.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>

namespace srigl {

namespace fs = std::filesystem;

namespace {

constexpr int kFormatVersion = 1;

} // namespace

void exportCondensed(const CondensedModel& condensed, const ExportSource& source, const std::string& dir,
                     bool overwrite) {
    torch::NoGradGuard noGrad;
    // Written into a staging folder that replaces `dir` only when whole: an error, a full disk or a
    // kill midway leaves `dir` as it was (an earlier export stays usable, never half new).
    StagedFolder folder(dir, overwrite);
    const fs::path& out = folder.path();
    std::error_code ec;
    fs::create_directory(out / "features", ec);
    if (ec) throw InferenceError("cannot create " + (out / "features").string() + ": " + ec.message());

    nlohmann::json manifest;
    manifest["format"] = kCondensedFormat;
    manifest["version"] = kFormatVersion;
    manifest["engine_version"] = SRIGL_VERSION;
    manifest["model"] = source.config.model;
    manifest["hidden"] = source.config.hidden;
    manifest["dataset"] = source.config.dataset;
    manifest["method"] = source.config.method;
    manifest["sparsity"] = source.config.sparsity;
    manifest["run_id"] = source.runId;
    manifest["step"] = source.step;
    const InputShape shape = inputShapeOf(source.config.dataset);
    manifest["input_shape"] = {shape.channels, shape.height, shape.width};
    manifest["formula"] = "y[b, r] = bias[r] + sum_j values[r, j] * x[b, indices[r, j]]; relu between layers";

    nlohmann::json layers = nlohmann::json::array();
    const auto& cl = condensed.layers();
    for (size_t i = 0; i < cl.size(); ++i) {
        const CondensedLinear& l = cl[i];
        const std::string base = l.name.empty() ? "layer" + std::to_string(i) : l.name;
        writeNpy((out / (base + ".values.npy")).string(), l.values);
        writeNpy((out / (base + ".indices.npy")).string(), l.indices);
        writeNpy((out / (base + ".bias.npy")).string(), l.bias);
        writeNpy((out / (base + ".row_ids.npy")).string(), torch::tensor(l.rowIds, torch::kLong));
        layers.push_back({{"name", l.name},
                          {"in_features", l.inFeatures},
                          {"out_features", l.outFeatures},
                          {"rows", l.rows()},
                          {"k", l.k},
                          {"values", base + ".values.npy"},
                          {"indices", base + ".indices.npy"},
                          {"bias", base + ".bias.npy"},
                          {"row_ids", base + ".row_ids.npy"},
                          {"activation", i + 1 < cl.size() ? "relu" : "none"}});
    }
    manifest["classifier"] = layers;

    // The feature extractor (a CNN's convolutions, batch norms) stays dense-masked: its tensors under
    // their LibTorch names, so a PyTorch model of the same architecture can load them.
    std::set<std::string> classifierPrefixes;
    for (const auto& l : cl) classifierPrefixes.insert(l.name + ".");
    auto& model = condensed.model();
    nlohmann::json features = nlohmann::json::object();
    auto addFeature = [&](const std::string& key, const torch::Tensor& value) {
        for (const auto& prefix : classifierPrefixes)
            if (key.rfind(prefix, 0) == 0) return;
        const std::string file = "features/" + key + ".npy";
        writeNpy((out / file).string(), value);
        features[key] = file;
    };
    for (const auto& p : model.named_parameters()) addFeature(p.key(), p.value());
    for (const auto& b : model.named_buffers()) addFeature(b.key(), b.value());
    manifest["features"] = features;

    // A check pair: anyone writing a loader can verify it reproduces the engine's output.
    torch::Tensor image = torch::randn({4, shape.channels, shape.height, shape.width},
                                       at::make_generator<at::CPUGeneratorImpl>(uint64_t{20240501}));
    model.eval();
    torch::Tensor featuresIn = model.features(image);
    writeNpy((out / "check_input.npy").string(), image);
    writeNpy((out / "check_features.npy").string(), featuresIn);
    writeNpy((out / "check_output.npy").string(), model.forward(image));
    manifest["check"] = {{"input", "check_input.npy"}, {"features", "check_features.npy"}, {"output", "check_output.npy"}};

    const std::string manifestPath = (out / "manifest.json").string();
    std::ofstream manifestFile(manifestPath, std::ios::trunc);
    manifestFile << manifest.dump(2) << "\n";
    manifestFile.close(); // the final flush: a full disk shows here
    if (!manifestFile) throw InferenceError("cannot write " + manifestPath + " (disk full?)");
    folder.commit();
}

std::vector<CondensedLinear> readCondensedClassifier(const std::string& dir) {
    const fs::path manifestPath = fs::path(dir) / "manifest.json";
    std::ifstream in(manifestPath);
    if (!in) throw InferenceError(dir + ": no manifest.json, not a condensed export");
    nlohmann::json manifest;
    try {
        in >> manifest;
    } catch (const std::exception& e) {
        throw InferenceError(manifestPath.string() + ": not valid JSON");
    }
    if (manifest.value("format", "") != kCondensedFormat)
        throw InferenceError(manifestPath.string() + ": not a srigl-condensed manifest");
    if (manifest.value("version", 0) > kFormatVersion)
        throw InferenceError(manifestPath.string() + ": written by a newer SRigL Studio");
    std::vector<CondensedLinear> layers;
    try {
        for (const auto& entry : manifest.at("classifier")) {
            CondensedLinear l;
            l.name = entry.at("name").get<std::string>();
            l.inFeatures = entry.at("in_features").get<int64_t>();
            l.outFeatures = entry.at("out_features").get<int64_t>();
            l.k = entry.at("k").get<int64_t>();
            l.values = readNpy((fs::path(dir) / entry.at("values").get<std::string>()).string());
            l.indices = readNpy((fs::path(dir) / entry.at("indices").get<std::string>()).string());
            l.bias = readNpy((fs::path(dir) / entry.at("bias").get<std::string>()).string());
            torch::Tensor ids = readNpy((fs::path(dir) / entry.at("row_ids").get<std::string>()).string());
            l.rowIds.assign(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
            const int64_t rows = entry.at("rows").get<int64_t>();
            const bool shapesOk = l.values.dim() == 2 && l.values.size(0) == rows && l.values.size(1) == l.k &&
                                  l.indices.sizes().equals(l.values.sizes()) && l.bias.numel() == rows &&
                                  static_cast<int64_t>(l.rowIds.size()) == rows &&
                                  l.values.scalar_type() == torch::kFloat &&
                                  (l.indices.scalar_type() == torch::kShort || l.indices.scalar_type() == torch::kInt);
            if (!shapesOk) throw InferenceError(dir + ": layer " + l.name + " has inconsistent shapes or types");
            if (rows > 0 && (l.indices.min().item<int64_t>() < 0 || l.indices.max().item<int64_t>() >= l.inFeatures))
                throw InferenceError(dir + ": layer " + l.name + " has input indices out of range");
            layers.push_back(std::move(l));
        }
    } catch (const nlohmann::json::exception& e) {
        throw InferenceError(manifestPath.string() + ": incomplete manifest (" + e.what() + ")");
    }
    return layers;
}

} // namespace srigl
