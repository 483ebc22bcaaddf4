// The zip container through LibTorch's PyTorchStreamReader, the pickle through our restricted reader.
#include "engine/interop/pytorch_file.hpp"

#include "engine/archive/checked_zip_file.hpp"
#include "engine/errors.hpp"
#include "engine/interop/restricted_unpickler.hpp"
#include "engine/training/checkpoint_file.hpp"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickler.h>
#include <torch/serialize.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace srigl::interop {
namespace {

// LibTorch's messages carry a C++ backtrace after the first line; users need the first line only.
std::string firstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string recordText(caffe2::serialize::PyTorchStreamReader& reader, const std::string& name) {
    auto [data, size] = reader.getRecord(name);
    return std::string(static_cast<const char*>(data.get()), size);
}

// The first bytes say what the file is before LibTorch sees it, so each wrong kind of file gets
// its own message.
void checkKind(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(path, ec)) throw CheckpointError(path + ": no such file");
    if (fs::is_directory(path, ec)) throw CheckpointError(path + ": is a folder, not a checkpoint file");
    // Opening a FIFO blocks until a writer comes, and the zip reader seeks: only a regular file
    // (or a link to one) is read.
    if (!fs::is_regular_file(path, ec))
        throw CheckpointError(path + ": is not a regular file (a device, FIFO or socket), not a checkpoint file");
    std::ifstream in(path, std::ios::binary);
    char head[4] = {};
    if (!in.read(head, sizeof head)) {
        if (!in.eof()) throw CheckpointError(path + ": cannot be read");
        throw CheckpointError(path + ": not a PyTorch checkpoint (shorter than a zip header)");
    }
    if (std::memcmp(head, "PK\x03\x04", 4) == 0) return;
    if (static_cast<unsigned char>(head[0]) == 0x80)
        throw CheckpointError(path + ": a legacy torch.save file (written with _use_new_zipfile_serialization=False or by "
                                     "PyTorch before 1.6); load and save it again with a current PyTorch");
    throw CheckpointError(path + ": not a PyTorch checkpoint (not a zip archive as torch.save writes)");
}

} // namespace

PickleRef readPyTorchFile(const std::string& path) {
    checkKind(path);
    try {
        // LibTorch's reader allocates what each record claims before it inflates it: a zip bomb is
        // refused here, and LibTorch reads the file that was checked (the same open file).
        caffe2::serialize::PyTorchStreamReader reader(openCheckedZip(path));
        if (reader.hasRecord("byteorder") && recordText(reader, "byteorder") != "little")
            throw CheckpointError(path + ": tensors stored big-endian, which this build does not read");
        if (!reader.hasRecord("data.pkl"))
            throw CheckpointError(path + ": a zip archive without data.pkl, not a torch.save checkpoint");
        const std::string pickle = recordText(reader, "data.pkl");
        const StorageLoader load = [&](const std::string& key, torch::ScalarType dtype, int64_t numel) {
            const auto options = torch::TensorOptions().dtype(dtype);
            if (numel == 0) return torch::empty({0}, options);
            const std::string record = "data/" + key;
            if (!reader.hasRecord(record)) throw CheckpointError("tensor data " + record + " is missing");
            auto [data, size] = reader.getRecord(record);
            // The size the pickle claims is checked against the record before anything is allocated.
            const size_t itemSize = c10::elementSize(dtype);
            if (static_cast<uint64_t>(numel) > size / itemSize)
                throw CheckpointError("tensor data " + record + " holds " + std::to_string(size) + " bytes, fewer than " +
                                      std::to_string(numel) + " elements need");
            auto storage = torch::empty({numel}, options);
            std::memcpy(storage.data_ptr(), data.get(), static_cast<size_t>(numel) * itemSize);
            return storage;
        };
        return unpickle(pickle, load);
    } catch (const CheckpointError& e) {
        const std::string what = e.what();
        if (what.rfind(path + ":", 0) == 0) throw;
        throw CheckpointError(path + ": " + what);
    } catch (const c10::Error& e) {
        throw CheckpointError(path + ": damaged or truncated zip archive (" + firstLine(e.what_without_backtrace()) + ")");
    } catch (const std::bad_alloc&) {
        throw CheckpointError(path + ": a tensor in it does not fit in memory");
    }
}

void writePyTorchStateDict(const std::string& path, const std::vector<NamedTensor>& tensors) {
    c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
    for (const auto& t : tensors) {
        if (dict.contains(t.name)) throw CheckpointError(path + ": two tensors named " + t.name);
        dict.insert(t.name, t.tensor.detach().to(torch::kCPU).contiguous().clone());
    }
    // torch::pickle_save's layout (data.pkl and one record per tensor, as torch.save writes), but a plain
    // dict without LibTorch's type tag: PyTorch 2.6 and later load with weights_only by default, which
    // refuses the tag's global torch.jit._pickle.restore_type_tag (found with Debian 13's torch 2.6,
    // scripts/check_libtorch2.sh). What remains are the globals torch.save itself writes.
    std::string bytes;
    try {
        std::vector<char> pickled;
        torch::jit::Pickler pickler(
            [&](const char* data, size_t size) { pickled.insert(pickled.end(), data, data + size); }, nullptr, nullptr,
            nullptr, nullptr, /*tag_aggregates=*/false);
        pickler.protocol();
        pickler.pushIValue(dict);
        pickler.stop();
        caffe2::serialize::PyTorchStreamWriter zip([&bytes](const void* data, size_t size) {
            bytes.append(static_cast<const char*>(data), size);
            return size;
        });
        torch::jit::writeArchiveAndTensors("data", pickled.data(), pickled.size(), pickler.tensorData(), zip);
        zip.writeEndOfFile();
    } catch (const c10::Error& e) {
        throw CheckpointError(path + ": cannot encode the state_dict (" + firstLine(e.what_without_backtrace()) + ")");
    }
    // Written aside, synced and renamed into place (the checkpoint writer's way): a failed write
    // never leaves half a file under `path`, a full disk in the last flush is an error, and a second
    // export to the same file at the same moment fails clearly instead of tearing it.
    writeFileAtomically(path, bytes, "PyTorch file");
}

} // namespace srigl::interop
