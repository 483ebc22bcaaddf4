// DataStream: plain bytes straight from the file, gzip through zlib's inflate (several members, as
// gzip(1) writes them when files are concatenated); a file or a buffer behind the same code, so the
// fuzz targets exercise exactly what `srigl train` runs.
#include "engine/data/file_bytes.hpp"

#include "engine/errors.hpp"

#include <zlib.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace srigl {

namespace {

constexpr size_t kInputChunk = size_t(1) << 18;   // compressed bytes read per refill
constexpr uint64_t kMaxDeflateRatio = 1032;         // 258 bytes per 2-bit length+distance pair
constexpr size_t kFirstAllocation = size_t(1) << 20; // readUpTo's first buffer for gzip content

bool isGzipMagic(const uint8_t* p, size_t n) { return n >= 2 && p[0] == 0x1f && p[1] == 0x8b; }

} // namespace

struct DataStream::State {
    std::string name;
    int fd = -1;                   // a file, or
    const uint8_t* memory = nullptr; // a buffer
    size_t memorySize = 0;
    size_t memoryPos = 0;
    uint64_t stored = 0;
    bool gzip = false;
    bool betweenMembers = false; // gzip: a member ended; another may follow
    bool ended = false;          // gzip: no more content
    std::vector<uint8_t> input;  // raw bytes read ahead; z.next_in/avail_in say which are unread
    z_stream z{};
    bool inflating = false;

    ~State()
    {
        if (inflating)
            inflateEnd(&z);
        if (fd >= 0)
            ::close(fd);
    }

    DataError corrupt(const std::string& why) const
    {
        return DataError(name + ": corrupt compressed data: " + why);
    }

    // Raw (stored) bytes from the file or buffer; fewer than n only at its end.
    size_t pullRaw(uint8_t* out, size_t n)
    {
        if (fd < 0) {
            const size_t got = std::min(n, memorySize - memoryPos);
            if (got > 0)
                std::memcpy(out, memory + memoryPos, got);
            memoryPos += got;
            return got;
        }
        size_t got = 0;
        while (got < n) {
            const ssize_t r = ::read(fd, out + got, n - got);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                throw DataError(name + ": cannot read: " + std::strerror(errno));
            if (r == 0)
                break;
            got += static_cast<size_t>(r);
        }
        return got;
    }

    // Moves the unread input to the front and tops it up; false when no new byte came.
    bool refill()
    {
        const size_t kept = z.avail_in;
        if (kept > 0 && z.next_in != input.data())
            std::memmove(input.data(), z.next_in, kept);
        const size_t got = pullRaw(input.data() + kept, input.size() - kept);
        z.next_in = input.data();
        z.avail_in = static_cast<uInt>(kept + got);
        return got > 0;
    }

    void start()
    {
        input.resize(std::max<size_t>(2, static_cast<size_t>(std::min<uint64_t>(kInputChunk, stored))));
        refill();
        gzip = isGzipMagic(z.next_in, z.avail_in);
        if (!gzip)
            return;
        // 15 + 16: a 32 KiB window, gzip wrapper only (a zlib or raw stream is not a .gz file).
        if (inflateInit2(&z, 15 + 16) != Z_OK)
            throw DataError(name + ": cannot start decompression (out of memory)");
        inflating = true;
    }

    size_t readPlain(uint8_t* out, size_t n)
    {
        // First what the gzip sniffing read ahead, then straight from the source.
        const size_t buffered = std::min<size_t>(n, z.avail_in);
        if (buffered > 0) {
            std::memcpy(out, z.next_in, buffered);
            z.next_in += buffered;
            z.avail_in -= static_cast<uInt>(buffered);
        }
        return buffered + pullRaw(out + buffered, n - buffered);
    }

    size_t readGzip(uint8_t* out, size_t n)
    {
        size_t produced = 0;
        while (produced < n && !ended) {
            if (betweenMembers) {
                while (z.avail_in < 2 && refill()) {
                }
                // Anything but another member's magic is trailing junk, ignored as gzip(1) does.
                if (!isGzipMagic(z.next_in, z.avail_in)) {
                    ended = true;
                    break;
                }
                inflateReset(&z);
                betweenMembers = false;
            }
            if (z.avail_in == 0 && !refill())
                throw corrupt("unexpected end of file (truncated download?)");
            z.next_out = out + produced;
            z.avail_out = static_cast<uInt>(std::min<size_t>(n - produced, UINT_MAX));
            const int rc = inflate(&z, Z_NO_FLUSH);
            produced = static_cast<size_t>(z.next_out - out);
            if (rc == Z_STREAM_END)
                betweenMembers = true;
            else if (rc == Z_MEM_ERROR)
                throw corrupt("out of memory");
            else if (rc == Z_BUF_ERROR && z.avail_in > 0) // only legal once the input is used up
                throw corrupt("decompression made no progress");
            else if (rc != Z_OK && rc != Z_BUF_ERROR)
                throw corrupt(z.msg ? z.msg : "inflate error " + std::to_string(rc));
        }
        return produced;
    }
};

DataStream::DataStream(std::unique_ptr<State> state) : state_(std::move(state)) {}
DataStream::DataStream(DataStream&&) noexcept = default;
DataStream& DataStream::operator=(DataStream&&) noexcept = default;
DataStream::~DataStream() = default;

DataStream DataStream::openFile(const std::string& path)
{
    auto s = std::make_unique<State>();
    s->name = path;
    s->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (s->fd < 0)
        throw DataError(path + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(s->fd, &st) != 0)
        throw DataError(path + ": cannot read: " + std::strerror(errno));
    if (!S_ISREG(st.st_mode))
        throw DataError(path + ": cannot read: not a regular file");
    s->stored = static_cast<uint64_t>(st.st_size);
    s->start();
    return DataStream(std::move(s));
}

DataStream DataStream::fromMemory(const uint8_t* data, size_t size, std::string name)
{
    auto s = std::make_unique<State>();
    s->name = std::move(name);
    s->memory = data;
    s->memorySize = size;
    s->stored = size;
    s->start();
    return DataStream(std::move(s));
}

const std::string& DataStream::name() const { return state_->name; }
bool DataStream::compressed() const { return state_->gzip; }
uint64_t DataStream::storedSize() const { return state_->stored; }

uint64_t DataStream::maxContentSize() const
{
    if (!state_->gzip)
        return state_->stored;
    const uint64_t limit = UINT64_MAX / kMaxDeflateRatio;
    return state_->stored > limit ? UINT64_MAX : state_->stored * kMaxDeflateRatio;
}

size_t DataStream::read(uint8_t* out, size_t n)
{
    if (n == 0)
        return 0;
    return state_->gzip ? state_->readGzip(out, n) : state_->readPlain(out, n);
}

uint64_t DataStream::skip(uint64_t limit)
{
    uint8_t scratch[1 << 16];
    uint64_t skipped = 0;
    while (skipped < limit) {
        const size_t got = read(scratch, static_cast<size_t>(std::min<uint64_t>(sizeof scratch, limit - skipped)));
        if (got == 0)
            break;
        skipped += got;
    }
    return skipped;
}

std::vector<uint8_t> readUpTo(DataStream& in, uint64_t want)
{
    std::vector<uint8_t> out;
    // A plain file already proved it holds `want` bytes (its size); gzip content has to show it.
    if (!in.compressed() && want <= in.maxContentSize())
        out.resize(static_cast<size_t>(want));
    size_t have = 0;
    while (have < want) {
        if (have == out.size())
            out.resize(static_cast<size_t>(std::min<uint64_t>(want, std::max(kFirstAllocation, 2 * out.size()))));
        const size_t got = in.read(out.data() + have, out.size() - have);
        if (got == 0)
            break;
        have += got;
    }
    out.resize(have);
    return out;
}

bool isRegularFile(const std::string& path)
{
    std::error_code ec;
    return std::filesystem::is_regular_file(path, ec);
}

bool isDirectory(const std::string& path)
{
    std::error_code ec;
    return std::filesystem::is_directory(path, ec);
}

std::string notADirectoryReason(const std::string& dataDir)
{
    std::error_code ec;
    return std::filesystem::exists(dataDir, ec) ? "is a file, not a data directory" : "data directory does not exist";
}

} // namespace srigl
