#include "engine/training/condensed_checkpoint.hpp"

#include "engine/errors.hpp"
#include "engine/training/archive_tensors.hpp"

namespace srigl {

std::string condensedKey(size_t i) { return "condensed." + std::to_string(i) + "."; }

bool holdsCondensed(torch::serialize::InputArchive& archive, size_t i) {
    torch::Tensor probe;
    return archive.try_read(condensedKey(i) + "values", probe);
}

void writeCondensedForm(torch::serialize::OutputArchive& archive, size_t i, const std::string& name,
                        const std::vector<int64_t>& shape, const CondensedWeights& c) {
    const std::string n = condensedKey(i);
    archive.write(n + "values", c.values.detach());
    archive.write(n + "indices", c.indices, true);
    archive.write(n + "alive", c.alive, true);
    archive.write(n + "name", textTensor(name), true);
    archive.write(n + "shape", torch::tensor(shape, torch::kLong), true);
}

void checkCondensedForm(const CondensedWeights& c, const std::string& name, const std::string& path) {
    torch::NoGradGuard noGrad;
    auto bad = [&](const std::string& what) { throw CheckpointError("checkpoint '" + path + "' is corrupt: " + what); };
    if (!torch::isfinite(c.values).all().item<bool>()) bad(name + " holds non-finite values");
    if (((c.alive != 0) & (c.alive != 1)).any().item<bool>()) bad(name + ".alive holds values other than 0 and 1");
    if (c.ablated > 0 && (c.values.detach().mul(1 - c.alive) != 0).any().item<bool>())
        bad(name + " has weights in ablated neurons");
    const auto idx = c.indices.to(torch::kLong);
    if (idx.numel() > 0 && (idx.min().item<int64_t>() < 0 || idx.max().item<int64_t>() >= c.fanIn))
        bad(name + " has indices outside its fan-in");
    if (c.k() > 1 && (idx.slice(1, 1).le(idx.slice(1, 0, -1))).any().item<bool>())
        bad(name + " has indices that are not strictly ascending in a row");
}

CondensedWeights readCondensedForm(torch::serialize::InputArchive& archive, size_t i, const std::string& name,
                                   int64_t out, int64_t fanIn, const std::string& path) {
    const std::string n = condensedKey(i);
    // Written since stop 41: a checkpoint of another model (or of layers in another order) is refused
    // by name instead of loading one layer's form into another of the same shape.
    torch::Tensor stored;
    if (archive.try_read(n + "name", stored, true) &&
        (stored.scalar_type() != torch::kUInt8 || stored.dim() != 1 || tensorText(stored) != name))
        throw CheckpointError("checkpoint '" + path + "' holds sparse layer " + std::to_string(i) + " as '" +
                              (stored.scalar_type() == torch::kUInt8 && stored.dim() == 1 ? tensorText(stored) : "?") +
                              "', this model's is " + name);
    auto values = readTensor(archive, n + "values");
    auto indices = readTensor(archive, n + "indices", true);
    auto alive = readTensor(archive, n + "alive", true);
    if (values.dim() != 2 || values.size(0) != out || values.size(1) < 1 || values.size(1) > fanIn ||
        values.scalar_type() != torch::kFloat || !indices.sizes().equals(values.sizes()) ||
        !at::isIntegralType(indices.scalar_type(), false) || !alive.sizes().equals(torch::IntArrayRef{out, 1}) ||
        !alive.is_floating_point())
        throw CheckpointError("checkpoint '" + path + "': the condensed form of " + name + " has the wrong shape or type");
    CondensedWeights c;
    c.fanIn = fanIn;
    c.values = values.contiguous();
    // Range-checked before narrowing: an int32 index past 32767 must not wrap into the fan-in.
    c.indices = indices.to(torch::kLong);
    c.alive = alive.to(torch::kFloat).contiguous();
    c.ablated = (c.alive == 0).sum().item<int64_t>();
    checkCondensedForm(c, name, path);
    c.indices = c.indices.to(fanIn <= 32767 ? torch::kShort : torch::kInt).contiguous();
    return c;
}

} // namespace srigl
