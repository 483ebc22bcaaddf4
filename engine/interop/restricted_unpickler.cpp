// The LibTorch layer over the Torch-free pickle machine (engine/interop/pickle_machine.hpp): loads
// each storage where the pickle names it, then copies the records' tree into PickleValues, the
// tensor records becoming tensors. All checks of the pickle's numbers happen in the machine.
#include "engine/interop/restricted_unpickler.hpp"

#include "engine/interop/pickle_machine.hpp"

#include <unordered_map>

namespace srigl::interop {
namespace {

// The element type of a storage class the machine allowed (torch.FloatStorage holds kFloat, ...).
torch::ScalarType scalarTypeOf(const std::string& storageType) {
    static const torch::ScalarType kTypes[] = {torch::kFloat, torch::kDouble, torch::kHalf, torch::kBFloat16, torch::kLong,
                                               torch::kInt,   torch::kShort,  torch::kChar, torch::kByte,     torch::kBool};
    for (const torch::ScalarType type : kTypes)
        if (storageType == std::string(c10::toString(type)) + "Storage") return type;
    throw malformedPickle("unknown storage type");
}

// Copies a record tree into PickleValues, once per node, so that what the pickle shares through
// its memo stays shared (and a tensor and its parameter stay one tensor). The machine bounds the
// nesting, so the recursion is bounded too.
class TensorTree {
public:
    explicit TensorTree(const std::unordered_map<std::string, torch::Tensor>& storages) : storages_(storages) {}

    PickleRef convert(const PickleRecordRef& node) {
        if (const auto it = values_.find(node.get()); it != values_.end()) return it->second;
        auto value = PickleValue::make(static_cast<PickleValue::Kind>(node->kind));
        values_.emplace(node.get(), value);
        value->boolean = node->boolean;
        value->integer = node->integer;
        value->real = node->real;
        value->text = node->text;
        value->name = node->name;
        value->depth = node->depth;
        for (const auto& item : node->items) value->items.push_back(convert(item));
        for (const auto& [k, v] : node->entries) value->entries.emplace_back(convert(k), convert(v));
        if (node->is(PickleRecord::Kind::Storage)) value->tensor = storages_.at(node->tensor->storageKey);
        if (node->is(PickleRecord::Kind::Tensor)) value->tensor = tensorOf(node->tensor);
        return value;
    }

private:
    // A view of the storage, copied so that it owns exactly its elements (the machine checked that
    // every index the view can reach lies inside the storage).
    torch::Tensor tensorOf(const TensorRecordRef& record) {
        if (const auto it = tensors_.find(record.get()); it != tensors_.end()) return it->second;
        const torch::Tensor& storage = storages_.at(record->storageKey);
        const torch::Tensor tensor = record->numel == 0
            ? torch::empty(record->sizes, storage.options())
            : storage.as_strided(record->sizes, record->strides, record->offset).clone(torch::MemoryFormat::Contiguous);
        tensors_.emplace(record.get(), tensor);
        return tensor;
    }

    const std::unordered_map<std::string, torch::Tensor>& storages_;
    std::unordered_map<const PickleRecord*, PickleRef> values_;
    std::unordered_map<const TensorRecord*, torch::Tensor> tensors_;
};

} // namespace

PickleRef unpickle(const std::string& bytes, const StorageLoader& loadStorage) {
    std::unordered_map<std::string, torch::Tensor> storages;
    const PickleRecordRef root = readPickleRecords(bytes, [&](const TensorRecord& storage) {
        const torch::ScalarType dtype = scalarTypeOf(storage.storageType);
        torch::Tensor data = loadStorage(storage.storageKey, dtype, storage.storageNumel);
        // The machine checked the views against the size the pickle declared: the data must hold it.
        if (data.scalar_type() != dtype || data.numel() < storage.storageNumel)
            throw malformedPickle("storage " + storage.storageKey + " is used with two different types or sizes");
        storages.emplace(storage.storageKey, std::move(data));
    });
    return TensorTree(storages).convert(root);
}

} // namespace srigl::interop
