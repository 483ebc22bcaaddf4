// A zip file that LibTorch reads through the very file descriptor our zip check read: a file renamed
// over the path between the check and LibTorch's own open is never the one loaded. And every byte
// the check read - the end records, the central directory, each record's local header - is kept and
// given to LibTorch in place of what the file holds by then, so a file rewritten in place after the
// check (same inode: `cat bomb.pt > model.pt`) cannot hand miniz a directory that claims more than
// was checked: miniz sizes its buffers from those bytes. Record data is read from the file as it is;
// data changed since is at worst a CRC or unpickling error.
#pragma once

#include "engine/archive/zip_directory.hpp"

#include <caffe2/serialize/read_adapter_interface.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace srigl {

class CheckedZipFile final : public caffe2::serialize::ReadAdapterInterface {
public:
    // Opens `path` once and runs checkZipArchive on it. Throws CheckpointError ("<path>: ...").
    explicit CheckedZipFile(const std::string& path);
    // The same for a zip that starts inside the file (a checkpoint's container header before it):
    // `start(file)` reads what it needs through the open file (and may throw) and returns where the
    // zip starts; the zip is the rest of the file, and every offset below is relative to its start.
    // The check's messages start with `name` ("<name>: ...").
    CheckedZipFile(const std::string& path, const std::string& name,
                   const std::function<uint64_t(ZipSource& file)>& start);

    // For PyTorchStreamReader and torch::jit::load. The size is the one the check saw; a file
    // shortened since reads short and LibTorch reports it.
    size_t size() const override;
    size_t read(uint64_t pos, void* buf, size_t n, const char* what = "") const override;

private:
    // The file from `base` on, keeping a copy of every range read from it (by the check).
    class KeepingSource final : public ZipSource {
    public:
        explicit KeepingSource(const std::string& path) : file(path) {}
        uint64_t size() const override { return file.size() - base; }
        void readAt(uint64_t offset, uint8_t* out, size_t count) override;
        ZipFileSource file;
        uint64_t base = 0;
        std::vector<std::pair<uint64_t, std::vector<uint8_t>>> kept; // offsets from base
    };

    std::string path_;
    mutable KeepingSource source_;
};

// The checked file, shared as the LibTorch readers take it.
std::shared_ptr<CheckedZipFile> openCheckedZip(const std::string& path);

} // namespace srigl
