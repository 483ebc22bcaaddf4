// Streams the bytes of a data file (or of a buffer, for tests and fuzzing), gunzipping on the fly when
// the content is gzip, so readers can check a header's declared sizes before they allocate anything.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace srigl {

class DataStream {
public:
    // Opens `path` (a regular file). Throws DataError naming it when it cannot be opened or read.
    static DataStream openFile(const std::string& path);
    // Reads from `data` (not copied: it must outlive the stream); `name` stands for it in messages.
    static DataStream fromMemory(const uint8_t* data, size_t size, std::string name);

    DataStream(DataStream&&) noexcept;
    DataStream& operator=(DataStream&&) noexcept;
    ~DataStream();

    // The path (or the name given), with which every message starts.
    const std::string& name() const;
    // True when the content is a gzip stream: recognised by its magic bytes, not its suffix, so a
    // misnamed download still loads.
    bool compressed() const;
    // Bytes on disk (for gzip: compressed bytes).
    uint64_t storedSize() const;
    // The most bytes read() can ever return: the stored size for a plain file; for gzip, deflate's
    // maximum ratio (1032:1) times the stored size. A header declaring more is a truncated file.
    uint64_t maxContentSize() const;

    // Reads up to n bytes into out; fewer only at the end of the content (0: the end). Throws
    // DataError naming the file when the compressed data is corrupt or cut off.
    size_t read(uint8_t* out, size_t n);
    // Reads and discards up to `limit` more bytes; returns how many there were.
    uint64_t skip(uint64_t limit);

private:
    struct State;
    explicit DataStream(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
};

// Reads `want` bytes from `in` into a buffer that grows with what actually arrives (never reserving
// more than has been read, doubled), so a gzip stream that declares much and holds little costs
// little. Returns fewer bytes only when the content ends first.
std::vector<uint8_t> readUpTo(DataStream& in, uint64_t want);

// True when `path` names an existing regular file (or a link to one).
bool isRegularFile(const std::string& path);
// True when `path` names an existing directory.
bool isDirectory(const std::string& path);
// What is wrong with `dataDir` when it is not a directory, for messages: "data directory does not
// exist", or "is a file, not a data directory" (a path to one of the files, given by mistake).
std::string notADirectoryReason(const std::string& dataDir);

} // namespace srigl
