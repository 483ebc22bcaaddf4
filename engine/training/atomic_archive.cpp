// Checkpoint archives: serialization into the container's atomic write, and the verified load.
#include "engine/training/atomic_archive.hpp"

#include "engine/errors.hpp"
#include "engine/archive/checked_zip_file.hpp"

#include <c10/util/Exception.h>

namespace srigl {

void saveArchiveAtomically(torch::serialize::OutputArchive& archive, const std::string& path,
                           const CheckpointHeader& header) {
    // Serialized straight into the file: held in memory, a large model's archive cost twice its
    // size at the peak (the growing string, then the container's copy). The writer never fails
    // towards LibTorch (checkpoint_file.hpp), whose zip writer throws from its destructor when a
    // write fails while unwinding and so would abort the process on a full disk.
    writeCheckpointAtomically(path, header, [&](const PayloadWriter& write) {
        try {
            archive.save_to([&write](const void* data, size_t size) -> size_t {
                write(data, size);
                return size;
            });
        } catch (const c10::Error& e) {
            throw CheckpointError("cannot serialize checkpoint '" + path + "': " + e.what_without_backtrace());
        } catch (const std::bad_alloc&) {
            throw CheckpointError("cannot serialize checkpoint '" + path + "': out of memory");
        }
    });
}

CheckpointHeader loadArchive(torch::serialize::InputArchive& archive, const std::string& path) {
    requireCheckpointFileExists(path);
    // Read through one open file and never held whole: the container is verified in chunks (its
    // checksums prove the file is whole), then the archive behind its header is checked as `srigl
    // import` checks a PyTorch file (LibTorch's zip reader allocates what each record claims, so a
    // hostile archive is refused before it sees it), and LibTorch reads the tensors from the file,
    // given the directory bytes the check saw (checked_zip_file.hpp). Held in memory, a checkpoint
    // of a model beyond dense memory cost twice its size while LibTorch copied the tensors out.
    CheckpointHeader header;
    CheckedZipFile zip(path, "checkpoint '" + path + "'", [&](ZipSource& file) {
        const CheckpointLayout layout = verifyCheckpointFile(
            file.size(), [&file](uint64_t at, uint8_t* out, size_t n) { file.readAt(at, out, n); }, path);
        header = layout.header;
        return layout.payloadStart;
    });
    try {
        // A CUDA run's checkpoint must load on a CPU-only machine.
        archive.load_from([&zip](uint64_t pos, void* buf, size_t n) { return zip.read(pos, buf, n); },
                          [&zip] { return zip.size(); }, torch::Device(torch::kCPU));
    } catch (const std::exception&) {
        throw CheckpointError("cannot read checkpoint '" + path + "': not a SRigL Studio checkpoint or corrupt");
    }
    return header;
}

} // namespace srigl
