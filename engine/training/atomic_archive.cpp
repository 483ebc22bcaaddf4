// Checkpoint archives: in-memory serialization, container, atomic write and verified load.
#include "engine/training/atomic_archive.hpp"

#include "engine/errors.hpp"
#include "engine/archive/zip_directory.hpp"

#include <c10/util/Exception.h>

namespace srigl {

void saveArchiveAtomically(torch::serialize::OutputArchive& archive, const std::string& path,
                           const CheckpointHeader& header) {
    // Serializing to memory first: LibTorch's file writer throws from its destructor when the disk
    // fills up during unwinding, which aborts the process. Memory cannot fill up half-way here.
    std::string payload;
    try {
        archive.save_to([&payload](const void* data, size_t size) -> size_t {
            payload.append(static_cast<const char*>(data), size);
            return size;
        });
    } catch (const c10::Error& e) {
        throw CheckpointError("cannot serialize checkpoint '" + path + "': " + e.what_without_backtrace());
    } catch (const std::bad_alloc&) {
        throw CheckpointError("cannot serialize checkpoint '" + path + "': out of memory");
    }
    writeFileAtomically(path, encodeCheckpoint(header, payload));
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
