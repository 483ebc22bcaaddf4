// Reads a whole data file into memory, decompressing it on the fly when it is gzip-compressed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace srigl {

// Returns the (decompressed) contents of `path`. Plain files are read as they are; gzip streams are
// recognised by their content, not their suffix, so a misnamed download still loads.
// Throws DataError naming the file when it cannot be opened or its gzip stream is corrupt.
std::vector<uint8_t> readFileBytes(const std::string& path);

// True when `path` names an existing regular file (or a link to one).
bool isRegularFile(const std::string& path);
// True when `path` names an existing directory.
bool isDirectory(const std::string& path);

} // namespace srigl
