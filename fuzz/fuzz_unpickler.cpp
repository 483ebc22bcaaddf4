// libFuzzer target: the restricted pickle reader of torch.save files (engine/interop/
// pickle_machine.hpp), fed the bytes of data.pkl as `srigl` reads a PyTorch checkpoint, Torch-free.
// It must return or throw CheckpointError, never crash or read outside the input; what it returns
// must keep its promises: every tensor view lies inside a storage it announced, depths are exact and
// bounded, and nothing holds itself.
#include "engine/errors.hpp"
#include "engine/interop/pickle_machine.hpp"
#include "fuzz/fuzz_support.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

using namespace srigl;
using namespace srigl::interop;
using srigl::fuzz::require;

namespace {

using Kind = PickleRecord::Kind;

// The one storage key whose zip record is "missing": the loader's error must pass through untouched.
constexpr const char* kMissingKey = "missing";
constexpr const char* kMissingError = "tensor data data/missing is missing";

bool startsWith(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

class TreeCheck {
public:
    explicit TreeCheck(const std::map<std::string, TensorRecord>& storages) : storages_(storages) {}

    // The nesting below `node`, which must equal the depth the reader recorded. `level` bounds the
    // walk: a cycle or an unbounded nesting breaks the invariant instead of the stack.
    int depthOf(const PickleRecordRef& node, int level = 0) {
        require(node != nullptr, "no null values");
        require(level <= 257, "nesting is bounded (and nothing holds itself)");
        if (const auto it = depths_.find(node.get()); it != depths_.end()) return it->second;
        int depth = 0;
        for (const auto& item : node->items) depth = std::max(depth, depthOf(item, level + 1) + 1);
        for (const auto& [k, v] : node->entries)
            depth = std::max({depth, depthOf(k, level + 1) + 1, depthOf(v, level + 1) + 1});
        require(depth == node->depth && depth <= 256, "recorded depths are exact and at most 256");
        if (node->is(Kind::Tensor)) checkView(node->tensor);
        if (node->is(Kind::Storage)) checkStorage(node->tensor);
        depths_.emplace(node.get(), depth);
        return depth;
    }

private:
    const TensorRecord& announced(const TensorRecordRef& record) {
        require(record != nullptr, "a tensor has its record");
        const auto it = storages_.find(record->storageKey);
        require(it != storages_.end(), "a tensor's storage was announced");
        require(it->second.storageType == record->storageType && it->second.storageNumel == record->storageNumel,
                "a tensor's storage is the one announced");
        return it->second;
    }
    void checkStorage(const TensorRecordRef& record) {
        const TensorRecord& s = announced(record);
        require(record->numel == s.numel && record->sizes == s.sizes && record->offset == 0, "a storage is its whole record");
    }
    // Recomputed in 128 bits: the reader's checked 64-bit arithmetic must agree.
    void checkView(const TensorRecordRef& record) {
        const TensorRecord& storage = announced(record);
        require(record->sizes.size() == record->strides.size(), "sizes and strides match");
        __int128 count = 1, last = record->offset;
        for (size_t d = 0; d < record->sizes.size(); ++d) {
            require(record->sizes[d] >= 0 && record->strides[d] >= 0, "no negative size or stride");
            count *= record->sizes[d];
            if (count > INT64_MAX) count = INT64_MAX + static_cast<__int128>(1); // stays over, never wraps
            if (record->sizes[d] > 0) last += static_cast<__int128>(record->sizes[d] - 1) * record->strides[d];
        }
        require(count == record->numel, "numel is the product of the sizes");
        if (record->numel == 0) return;
        require(record->offset >= 0 && last < storage.storageNumel, "every element of a view lies in its storage");
        require(record->numel <= std::max(storage.storageNumel, kMaxRepeatedTensorElements),
                "a view repeating its storage stays small");
    }

    const std::map<std::string, TensorRecord>& storages_;
    std::unordered_map<const PickleRecord*, int> depths_;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    std::map<std::string, TensorRecord> storages;
    const StorageSeen onStorage = [&](const TensorRecord& s) {
        require(s.storageNumel >= 0 && s.numel == s.storageNumel && s.offset == 0 &&
                    s.sizes == std::vector<int64_t>{s.storageNumel} && s.strides == std::vector<int64_t>{1},
                "a storage is announced as its whole 1-D record");
        require(storages.emplace(s.storageKey, s).second, "each storage is announced once");
        if (s.storageKey == kMissingKey) throw CheckpointError(kMissingError);
    };
    PickleRecordRef root;
    try {
        root = readPickleRecords(bytes, onStorage);
    } catch (const CheckpointError& e) {
        const std::string_view what = e.what();
        require(startsWith(what, "malformed pickle: ") || startsWith(what, "the pickle needs the class ") || what == kMissingError,
                "a refusal says what is wrong with the pickle");
        return 0;
    }
    TreeCheck(storages).depthOf(root);
    return 0;
}
