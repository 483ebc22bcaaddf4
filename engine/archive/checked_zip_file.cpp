// The zip check and LibTorch's read on one open file.
#include "engine/archive/checked_zip_file.hpp"

#include "engine/errors.hpp"

#include <algorithm>

namespace srigl {

void CheckedZipFile::KeepingSource::readAt(uint64_t offset, uint8_t* out, size_t count) {
    file.readAt(base + offset, out, count);
    kept.emplace_back(offset, std::vector<uint8_t>(out, out + count));
}

CheckedZipFile::CheckedZipFile(const std::string& path) : path_(path), source_(path) {
    checkZipArchive(source_, path);
}

CheckedZipFile::CheckedZipFile(const std::string& path, const std::string& name,
                               const std::function<uint64_t(ZipSource& file)>& start)
    : path_(path), source_(path) {
    const uint64_t base = start(source_.file);
    if (base > source_.file.size()) throw CheckpointError(name + ": the archive starts past the end of the file");
    source_.base = base;
    checkZipArchive(source_, name);
}

size_t CheckedZipFile::size() const { return static_cast<size_t>(source_.size()); }

size_t CheckedZipFile::read(uint64_t pos, void* buf, size_t n, const char* /*what*/) const {
    if (pos >= source_.size()) return 0;
    const size_t count = static_cast<size_t>(std::min<uint64_t>(n, source_.size() - pos));
    auto* out = static_cast<uint8_t*>(buf);
    source_.file.readAt(source_.base + pos, out, count);
    // What the check saw wins over what the file holds now. A few ranges per record: a scan is enough.
    const uint64_t end = pos + count;
    for (const auto& [at, bytes] : source_.kept) {
        const uint64_t from = std::max(pos, at), to = std::min<uint64_t>(end, at + bytes.size());
        if (from < to) std::copy(bytes.begin() + static_cast<std::ptrdiff_t>(from - at),
                                 bytes.begin() + static_cast<std::ptrdiff_t>(to - at), out + (from - pos));
    }
    return count;
}

std::shared_ptr<CheckedZipFile> openCheckedZip(const std::string& path) { return std::make_shared<CheckedZipFile>(path); }

} // namespace srigl
