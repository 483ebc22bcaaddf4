// The zip check and LibTorch's read on one open file.
#include "engine/archive/checked_zip_file.hpp"

#include "engine/errors.hpp"

#include <algorithm>

namespace srigl {

CheckedZipFile::CheckedZipFile(const std::string& path) : path_(path), file_(path) { checkZipArchive(file_, path); }

size_t CheckedZipFile::size() const { return static_cast<size_t>(file_.size()); }

size_t CheckedZipFile::read(uint64_t pos, void* buf, size_t n, const char* /*what*/) const {
    if (pos >= file_.size()) return 0;
    const size_t count = static_cast<size_t>(std::min<uint64_t>(n, file_.size() - pos));
    file_.readAt(pos, static_cast<uint8_t*>(buf), count);
    return count;
}

std::shared_ptr<CheckedZipFile> openCheckedZip(const std::string& path) { return std::make_shared<CheckedZipFile>(path); }

} // namespace srigl
