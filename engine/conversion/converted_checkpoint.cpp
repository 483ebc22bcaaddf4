#include "engine/conversion/converted_checkpoint.hpp"

#include "engine/training/archive_tensors.hpp"
#include "engine/training/atomic_archive.hpp"

namespace srigl::nm {

void saveModelCheckpoint(const std::string& path, const RunConfig& config, SparseModelImpl& model, int64_t step,
                         const std::string& runUuid) {
    torch::NoGradGuard noGrad;
    torch::serialize::OutputArchive archive;
    archive.write("format", torch::tensor(int64_t{1}));
    archive.write("config", textTensor(configToJson(config, -1)));
    for (const auto& named : model.sparseLayers()) named.layer->weight.mul_(named.layer->mask);
    for (const auto& p : model.named_parameters()) archive.write("model." + p.key(), p.value().detach().to(torch::kCPU));
    for (const auto& b : model.named_buffers()) archive.write("model." + b.key(), b.value().to(torch::kCPU), true);
    // The trainer's scalars: step first; timings and running sums do not apply to a conversion.
    archive.write("scalars", torch::tensor({static_cast<double>(step), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0}, torch::kDouble));
    saveArchiveAtomically(archive, path, CheckpointHeader{runUuid, step});
}

} // namespace srigl::nm
