// Checkpoint archives: serialization into the container's atomic write, and the verified load.
#include "engine/training/atomic_archive.hpp"

#include "engine/errors.hpp"
#include "engine/archive/zip_directory.hpp"

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
    const CheckpointBytes file = readCheckpointFile(path);
    // The checksums prove the file is whole, not that its archive is harmless: LibTorch's zip reader
    // allocates what each record claims, so a hostile archive is refused before it sees it.
    ZipBytesSource payload(file.payload.data(), file.payload.size());
    checkZipArchive(payload, "checkpoint '" + path + "'");
    try {
        // A CUDA run's checkpoint must load on a CPU-only machine.
        archive.load_from(file.payload.data(), file.payload.size(), torch::Device(torch::kCPU));
    } catch (const std::exception&) {
        throw CheckpointError("cannot read checkpoint '" + path + "': not a SRigL Studio checkpoint or corrupt");
    }
    return file.header;
}

} // namespace srigl
