// A zip file that LibTorch reads through the very file descriptor our zip check read: a file renamed
// over the path between the check and LibTorch's own open is never the one loaded.
#pragma once

#include "engine/archive/zip_directory.hpp"

#include <caffe2/serialize/read_adapter_interface.h>

#include <memory>
#include <string>

namespace srigl {

class CheckedZipFile final : public caffe2::serialize::ReadAdapterInterface {
public:
    // Opens `path` once and runs checkZipArchive on it. Throws CheckpointError ("<path>: ...").
    explicit CheckedZipFile(const std::string& path);

    // For PyTorchStreamReader and torch::jit::load. The size is the one the check saw; a file
    // shortened since reads short and LibTorch reports it.
    size_t size() const override;
    size_t read(uint64_t pos, void* buf, size_t n, const char* what = "") const override;

private:
    std::string path_;
    mutable ZipFileSource file_;
};

// The checked file, shared as the LibTorch readers take it.
std::shared_ptr<CheckedZipFile> openCheckedZip(const std::string& path);

} // namespace srigl
