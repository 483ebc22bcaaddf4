// Writing and reading the .npy format: a magic string, a Python-dict header padded to 64 bytes,
// then the raw little-endian data.
#include "engine/inference/npy_file.hpp"

#include "engine/errors.hpp"
#include "engine/runtime/durable_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace srigl {
namespace {

const char kMagic[] = "\x93NUMPY";

std::string descrOf(torch::ScalarType type) {
    switch (type) {
    case torch::kFloat: return "<f4";
    case torch::kDouble: return "<f8";
    case torch::kShort: return "<i2";
    case torch::kInt: return "<i4";
    case torch::kLong: return "<i8";
    case torch::kByte: return "|u1";
    case torch::kBool: return "|b1";
    default: throw InferenceError(std::string("cannot write ") + c10::toString(type) + " tensors as .npy");
    }
}

torch::ScalarType typeOf(const std::string& descr, const std::string& path) {
    if (descr == "<f4") return torch::kFloat;
    if (descr == "<f8") return torch::kDouble;
    if (descr == "<i2") return torch::kShort;
    if (descr == "<i4") return torch::kInt;
    if (descr == "<i8") return torch::kLong;
    if (descr == "|u1") return torch::kByte;
    if (descr == "|b1") return torch::kBool;
    throw InferenceError(path + ": unsupported .npy dtype '" + descr + "'");
}

// The value of 'key': ... in the header dict, up to the next top-level comma.
std::string headerField(const std::string& header, const std::string& key, const std::string& path) {
    const auto at = header.find("'" + key + "'");
    if (at == std::string::npos) throw InferenceError(path + ": .npy header has no '" + key + "'");
    auto start = header.find(':', at);
    if (start == std::string::npos) throw InferenceError(path + ": malformed .npy header");
    ++start;
    while (start < header.size() && header[start] == ' ') ++start;
    if (header[start] == '(') return header.substr(start, header.find(')', start) - start + 1);
    return header.substr(start, header.find(',', start) - start);
}

} // namespace

void writeNpy(const std::string& path, const torch::Tensor& tensor) {
    torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    std::ostringstream dict;
    dict << "{'descr': '" << descrOf(t.scalar_type()) << "', 'fortran_order': False, 'shape': (";
    for (int64_t d = 0; d < t.dim(); ++d) dict << t.size(d) << (t.dim() == 1 || d + 1 < t.dim() ? "," : "");
    dict << "), }";
    std::string header = dict.str();
    // Magic (6) + version (2) + length (2) + header + '\n' must be a multiple of 64 bytes.
    const size_t total = 10 + header.size() + 1;
    header.append((64 - total % 64) % 64, ' ');
    header.push_back('\n');
    std::string head(kMagic, 6);
    head += {1, 0}; // version 1.0
    const uint16_t length = static_cast<uint16_t>(header.size());
    head += {static_cast<char>(length & 0xff), static_cast<char>(length >> 8)};
    head += header;
    // Unbuffered and to the last byte: a short write is continued, a failed one (a full disk) and a
    // failed close are errors, so a truncated file never passes for a written one (an ofstream's
    // final flush fails in its destructor, unseen).
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) throw InferenceError("cannot write '" + path + "': " + std::strerror(errno));
    int err = writeFully(fd, head.data(), head.size());
    const size_t bytes = static_cast<size_t>(t.numel() * t.element_size());
    if (err == 0) err = writeFully(fd, t.data_ptr(), bytes);
    if (::close(fd) != 0 && err == 0) err = errno;
    if (err != 0) throw InferenceError("cannot write '" + path + "': " + std::strerror(err));
}

torch::Tensor readNpy(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InferenceError("cannot open '" + path + "'");
    char head[10];
    if (!in.read(head, 10) || std::memcmp(head, kMagic, 6) != 0 || head[6] != 1)
        throw InferenceError(path + ": not a version 1 .npy file");
    const size_t length = static_cast<unsigned char>(head[8]) | (static_cast<size_t>(static_cast<unsigned char>(head[9])) << 8);
    std::string header(length, '\0');
    if (!in.read(header.data(), static_cast<std::streamsize>(length))) throw InferenceError(path + ": truncated header");
    std::string descr = headerField(header, "descr", path);
    descr = descr.substr(1, descr.size() - 2);
    if (headerField(header, "fortran_order", path) != "False")
        throw InferenceError(path + ": Fortran-ordered arrays are not supported");
    std::vector<int64_t> shape;
    std::string dims = headerField(header, "shape", path);
    std::istringstream ds(dims.substr(1, dims.size() - 2));
    for (std::string item; std::getline(ds, item, ',');)
        if (item.find_first_not_of(' ') != std::string::npos) shape.push_back(std::stoll(item));
    torch::Tensor t = torch::empty(shape, typeOf(descr, path));
    const auto bytes = static_cast<std::streamsize>(t.numel() * t.element_size());
    if (!in.read(static_cast<char*>(t.data_ptr()), bytes)) throw InferenceError(path + ": truncated data");
    return t;
}

} // namespace srigl
