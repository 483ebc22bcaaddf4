// A stack machine over the pickle opcodes torch.save writes (protocol 2 by default; the framing and
// memo opcodes of 4-5 too), with an allow-list of the globals a checkpoint of tensors needs.
#include "engine/interop/pickle_machine.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

namespace srigl::interop {

CheckpointError malformedPickle(const std::string& what) { return CheckpointError("malformed pickle: " + what); }

namespace {

using Kind = PickleRecord::Kind;
const auto& malformed = malformedPickle;

// Far deeper than any checkpoint nests; a crafted pickle nesting deeper would overflow the stack
// when its values are destroyed.
constexpr int kMaxNesting = 256;

// The storage classes torch.save names (torch.FloatStorage, ...); the LibTorch layer maps each to
// its element type.
bool isStorageType(const std::string& name) {
    static const char* const kTypes[] = {"FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage",
                                         "LongStorage",  "IntStorage",    "ShortStorage", "CharStorage",
                                         "ByteStorage",  "BoolStorage"};
    return std::any_of(std::begin(kTypes), std::end(kTypes), [&](const char* t) { return name == t; });
}

bool allowedGlobal(const std::string& module, const std::string& name) {
    if (module == "collections" && (name == "OrderedDict" || name == "defaultdict")) return true;
    // Only as a defaultdict's factory (torch.ao's sparsifier state is a defaultdict(dict)); never called.
    // (Protocol 2 spells the module "__builtin__", as Python 2 named it.)
    if (module == "builtins" || module == "__builtin__") return name == "dict" || name == "list" || name == "int" || name == "float";
    if (module == "torch._utils")
        return name == "_rebuild_tensor_v2" || name == "_rebuild_tensor" || name == "_rebuild_parameter" ||
               name == "_rebuild_parameter_with_state";
    // What LibTorch's own pickler (torch::pickle_save) adds: a container's static type, which
    // changes nothing about the data.
    if (module == "torch.jit._pickle")
        return name == "restore_type_tag" || name == "build_intlist" || name == "build_tensorlist" ||
               name == "build_doublelist" || name == "build_boollist";
    return module == "torch" && isStorageType(name);
}

int64_t asInt(const PickleRecordRef& v, const char* what) {
    if (!v || !v->is(Kind::Int)) throw malformed(std::string(what) + " is not an integer");
    return v->integer;
}

std::vector<int64_t> intTuple(const PickleRecordRef& v, const char* what) {
    if (!v || !v->is(Kind::Tuple)) throw malformed(std::string(what) + " is not a tuple");
    std::vector<int64_t> out;
    for (const auto& item : v->items) out.push_back(asInt(item, what));
    return out;
}

// _rebuild_tensor_v2(storage, offset, size, stride, ...): a view of the storage. Every index the
// view can reach is checked against the storage, so the LibTorch layer may copy it as it stands.
TensorRecordRef rebuildTensor(const std::vector<PickleRecordRef>& args) {
    if (args.size() < 4 || !args[0]->is(Kind::Storage)) throw malformed("tensor without storage, offset, size and stride");
    const TensorRecord& storage = *args[0]->tensor;
    auto view = std::make_shared<TensorRecord>();
    view->storageKey = storage.storageKey;
    view->storageType = storage.storageType;
    view->storageNumel = storage.storageNumel;
    view->offset = asInt(args[1], "storage offset");
    view->sizes = intTuple(args[2], "tensor size");
    view->strides = intTuple(args[3], "tensor stride");
    const auto& size = view->sizes;
    const auto& stride = view->strides;
    if (size.size() != stride.size()) throw malformed("tensor size and stride differ in length");
    // Checked arithmetic: the offset may be negative (refused below, once the view is known to be
    // non-empty), and a crafted size or stride must not wrap the last index back into the storage.
    int64_t last = view->offset, numel = 1;
    for (size_t d = 0; d < size.size(); ++d) {
        if (size[d] < 0 || stride[d] < 0) throw malformed("negative tensor size or stride");
        int64_t reach = 0;
        if (size[d] == 0) numel = 0;
        else if (__builtin_mul_overflow(size[d] - 1, stride[d], &reach) || __builtin_add_overflow(last, reach, &last))
            throw malformed("tensor extent overflows");
    }
    // A view with stride 0 can name more elements than its storage holds (the copy then owns them
    // all): their count must be a number, and a bounded one (below).
    for (size_t d = 0; numel != 0 && d < size.size(); ++d)
        if (__builtin_mul_overflow(numel, size[d], &numel)) throw malformed("tensor element count overflows");
    view->numel = numel;
    if (numel == 0) return view;
    if (view->offset < 0 || last >= storage.storageNumel)
        throw malformed("a tensor reaches past its storage (" + std::to_string(storage.storageNumel) + " elements)");
    if (numel > storage.storageNumel && numel > kMaxRepeatedTensorElements)
        throw malformed("a tensor of " + std::to_string(numel) + " elements repeats its storage of " +
                        std::to_string(storage.storageNumel) + " (more than 2^28 elements)");
    return view;
}

class Machine {
public:
    Machine(const std::string& bytes, const StorageSeen& onStorage) : in_(bytes), onStorage_(onStorage) {}

    PickleRecordRef run() {
        for (;;) {
            const uint8_t op = u8();
            if (op == '.') break; // STOP
            step(op);
        }
        if (stack_.size() != 1 || !marks_.empty()) throw malformed("the stream does not end with one object");
        return stack_.back();
    }

private:
    void need(size_t n) const {
        if (n > in_.size() - pos_) throw malformed("truncated at byte " + std::to_string(pos_));
    }
    uint8_t u8() {
        need(1);
        return static_cast<uint8_t>(in_[pos_++]);
    }
    uint64_t little(size_t n) {
        need(n);
        uint64_t v = 0;
        for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
        pos_ += n;
        return v;
    }
    std::string bytes(uint64_t n) {
        need(static_cast<size_t>(std::min<uint64_t>(n, SIZE_MAX)));
        std::string s = in_.substr(pos_, static_cast<size_t>(n));
        pos_ += static_cast<size_t>(n);
        return s;
    }
    std::string line() {
        const size_t end = in_.find('\n', pos_);
        if (end == std::string::npos) throw malformed("truncated at byte " + std::to_string(pos_));
        std::string s = in_.substr(pos_, end - pos_);
        pos_ = end + 1;
        return s;
    }

    PickleRecordRef pop() {
        if (stack_.size() <= floor()) throw malformed("stack underflow at byte " + std::to_string(pos_));
        PickleRecordRef v = std::move(stack_.back());
        stack_.pop_back();
        return v;
    }
    PickleRecordRef& top() {
        if (stack_.size() <= floor()) throw malformed("stack underflow at byte " + std::to_string(pos_));
        return stack_.back();
    }
    size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
    // The objects pushed since the last MARK, which is removed.
    std::vector<PickleRecordRef> popMark() {
        if (marks_.empty()) throw malformed("no MARK before byte " + std::to_string(pos_));
        const size_t start = marks_.back();
        marks_.pop_back();
        std::vector<PickleRecordRef> items(stack_.begin() + static_cast<std::ptrdiff_t>(start), stack_.end());
        stack_.resize(start);
        return items;
    }
    void push(PickleRecordRef v) { stack_.push_back(std::move(v)); }
    void pushInt(int64_t v) {
        auto r = PickleRecord::make(Kind::Int);
        r->integer = v;
        push(r);
    }
    void pushText(Kind kind, std::string text) {
        auto r = PickleRecord::make(kind);
        r->text = std::move(text);
        push(r);
    }
    void pushTuple(std::vector<PickleRecordRef> items) {
        auto r = PickleRecord::make(Kind::Tuple);
        for (const auto& item : items) nest(*r, item);
        r->items = std::move(items);
        push(r);
    }

    // `parent` now holds `child`. A list or dict, once held, never changes again: depths then stay
    // exact (a container filled after it was nested would deepen its holders unseen, and nesting
    // without bound overflows the stack when the values are destroyed), and no value can come to
    // hold itself (a cycle of shared references is never freed). torch.save fills every container
    // before it is referenced; only a recursive structure, which no checkpoint holds, does otherwise.
    void nest(PickleRecord& parent, const PickleRecordRef& child) {
        if (child.get() == &parent) throw malformed("a list or dict holds itself");
        if (child->is(Kind::List) || child->is(Kind::Dict)) held_.insert(child);
        parent.depth = std::max(parent.depth, child->depth + 1);
        if (parent.depth > kMaxNesting) throw malformed("containers nested more than " + std::to_string(kMaxNesting) + " deep");
    }
    void requireUnheld(const PickleRecordRef& container) const {
        if (held_.count(container) != 0)
            throw malformed("a list or dict changed after another one took it in (a recursive structure)");
    }

    void memoPut(uint64_t id) { memo_[id] = top(); }
    void memoGet(uint64_t id) {
        const auto it = memo_.find(id);
        if (it == memo_.end()) throw malformed("memo entry " + std::to_string(id) + " was never stored");
        push(it->second);
    }
    void setItems(const PickleRecordRef& dict, std::vector<PickleRecordRef> kv) {
        if (!dict->is(Kind::Dict)) throw malformed("SETITEMS on something that is not a dict");
        if (kv.size() % 2) throw malformed("a dict entry without its value");
        requireUnheld(dict);
        for (size_t i = 0; i < kv.size(); i += 2) {
            nest(*dict, kv[i]);
            nest(*dict, kv[i + 1]);
            dict->entries.emplace_back(std::move(kv[i]), std::move(kv[i + 1]));
        }
    }
    void appendItems(const PickleRecordRef& list, std::vector<PickleRecordRef> items) {
        if (!list->is(Kind::List)) throw malformed("APPENDS on something that is not a list");
        requireUnheld(list);
        for (auto& item : items) {
            nest(*list, item);
            list->items.push_back(std::move(item));
        }
    }

    void global(std::string module, std::string name) {
        if (!allowedGlobal(module, name)) {
            std::string hint;
            if (module.rfind("__torch__", 0) == 0) hint = " (this is a TorchScript module, not a torch.save checkpoint)";
            else if (module.rfind("torch.nn.modules", 0) == 0)
                hint = " (a whole nn.Module was saved; save its state_dict() instead)";
            throw CheckpointError("the pickle needs the class " + module + "." + name +
                                  ", which is not a tensor or plain data; only state_dicts and dicts of them are read" + hint);
        }
        auto r = PickleRecord::make(Kind::Global);
        r->text = std::move(module);
        r->name = std::move(name);
        push(r);
    }

    // REDUCE (and NEWOBJ): calls an allowed global with a tuple of arguments.
    void call(const PickleRecordRef& fn, const PickleRecordRef& args) {
        if (!fn->is(Kind::Global)) throw malformed("a call of something that is not a class or function");
        if (!args->is(Kind::Tuple)) throw malformed("call arguments are not a tuple");
        const auto& a = args->items;
        if (fn->text == "collections" && fn->name == "defaultdict") {
            push(PickleRecord::make(Kind::Dict)); // its items follow by SETITEMS; the factory is not kept
            return;
        }
        if (fn->text == "collections" && fn->name == "OrderedDict") {
            auto dict = PickleRecord::make(Kind::Dict);
            // OrderedDict(items): a list of (key, value) pairs, when not filled by SETITEMS later.
            if (!a.empty() && a[0]->is(Kind::List))
                for (const auto& pair : a[0]->items) {
                    if (!pair->is(Kind::Tuple) || pair->items.size() != 2) throw malformed("OrderedDict item is not a pair");
                    nest(*dict, pair->items[0]);
                    nest(*dict, pair->items[1]);
                    dict->entries.emplace_back(pair->items[0], pair->items[1]);
                }
            push(dict);
            return;
        }
        if (fn->text == "torch.jit._pickle") {
            if (a.empty()) throw malformed(fn->name + " without its value");
            push(a[0]); // (value, type name) or (list,): the value as it is
            return;
        }
        auto tensor = PickleRecord::make(Kind::Tensor);
        if (fn->name == "_rebuild_tensor_v2" || fn->name == "_rebuild_tensor") {
            tensor->tensor = rebuildTensor(a);
        } else if (fn->name == "_rebuild_parameter" || fn->name == "_rebuild_parameter_with_state") {
            if (a.empty() || !a[0]->is(Kind::Tensor)) throw malformed("a parameter without its tensor");
            tensor->tensor = a[0]->tensor;
        } else {
            throw malformed(fn->text + "." + fn->name + " cannot be called");
        }
        push(tensor);
    }

    // BINPERSID ('storage', torch.FloatStorage, key, location, numel): the record `key` of the zip.
    void persistent(const PickleRecordRef& pid) {
        if (!pid->is(Kind::Tuple) || pid->items.size() < 5 || !pid->items[0]->is(Kind::String) ||
            pid->items[0]->text != "storage")
            throw malformed("a persistent id that is not a tensor storage");
        const auto& type = pid->items[1];
        const auto& key = pid->items[2];
        if (!type->is(Kind::Global) || !isStorageType(type->name)) throw malformed("unknown storage type");
        if (!key->is(Kind::String)) throw malformed("storage key is not a string");
        const int64_t numel = asInt(pid->items[4], "storage size");
        if (numel < 0) throw malformed("negative storage size");
        auto it = storages_.find(key->text);
        if (it == storages_.end()) {
            auto record = std::make_shared<TensorRecord>();
            *record = TensorRecord{key->text, type->name, numel, 0, {numel}, {1}, numel};
            onStorage_(*record);
            auto storage = PickleRecord::make(Kind::Storage);
            storage->tensor = std::move(record);
            it = storages_.emplace(key->text, storage).first;
        }
        const TensorRecord& first = *it->second->tensor;
        if (first.storageType != type->name || first.storageNumel < numel)
            throw malformed("storage " + key->text + " is used with two different types or sizes");
        push(it->second);
    }

    void step(uint8_t op) {
        switch (op) {
        case 0x80: { // PROTO
            const uint8_t protocol = u8();
            if (protocol < 2 || protocol > 5) throw malformed("pickle protocol " + std::to_string(protocol) + " is not read");
            break;
        }
        case 0x95: little(8); break;         // FRAME: a length hint only
        case '}': push(PickleRecord::make(Kind::Dict)); break;
        case ']': push(PickleRecord::make(Kind::List)); break;
        case ')': pushTuple({}); break;
        case '(': marks_.push_back(stack_.size()); break;
        case 't': pushTuple(popMark()); break;
        case 0x85: { auto a = pop(); pushTuple({a}); break; }
        case 0x86: { auto b = pop(); auto a = pop(); pushTuple({a, b}); break; }
        case 0x87: { auto c = pop(); auto b = pop(); auto a = pop(); pushTuple({a, b, c}); break; }
        case 'l': { auto list = PickleRecord::make(Kind::List); appendItems(list, popMark()); push(list); break; }
        case 'd': { auto dict = PickleRecord::make(Kind::Dict); setItems(dict, popMark()); push(dict); break; }
        case 'a': { auto v = pop(); appendItems(top(), {v}); break; }
        case 'e': { auto items = popMark(); appendItems(top(), std::move(items)); break; }
        case 's': { auto v = pop(); auto k = pop(); setItems(top(), {k, v}); break; }
        case 'u': { auto kv = popMark(); setItems(top(), std::move(kv)); break; }
        case 'X': pushText(Kind::String, bytes(little(4))); break;        // BINUNICODE
        case 0x8c: pushText(Kind::String, bytes(u8())); break;            // SHORT_BINUNICODE
        case 0x8d: pushText(Kind::String, bytes(little(8))); break;       // BINUNICODE8
        case 'C': pushText(Kind::Bytes, bytes(u8())); break;              // SHORT_BINBYTES
        case 'B': pushText(Kind::Bytes, bytes(little(4))); break;         // BINBYTES
        case 'J': pushInt(static_cast<int32_t>(little(4))); break;        // BININT
        case 'K': pushInt(u8()); break;                                   // BININT1
        case 'M': pushInt(static_cast<int64_t>(little(2))); break;        // BININT2
        case 0x8a: {                                                      // LONG1
            const uint8_t n = u8();
            if (n > 8) throw malformed("an integer wider than 64 bits");
            uint64_t v = little(n);
            if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n); // sign extension
            pushInt(static_cast<int64_t>(v));
            break;
        }
        case 'G': { // BINFLOAT, big-endian
            need(8);
            uint64_t bits = 0;
            for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<uint8_t>(in_[pos_ + static_cast<size_t>(i)]);
            pos_ += 8;
            auto r = PickleRecord::make(Kind::Float);
            std::memcpy(&r->real, &bits, sizeof bits);
            push(r);
            break;
        }
        case 'N': push(PickleRecord::make(Kind::None)); break;
        case 0x88:
        case 0x89: {
            auto r = PickleRecord::make(Kind::Bool);
            r->boolean = op == 0x88;
            push(r);
            break;
        }
        case 'q': memoPut(u8()); break;                       // BINPUT
        case 'r': memoPut(little(4)); break;                  // LONG_BINPUT
        case 0x94: memoPut(memo_.size()); break;              // MEMOIZE
        case 'h': memoGet(u8()); break;                       // BINGET
        case 'j': memoGet(little(4)); break;                  // LONG_BINGET
        case '0': pop(); break;                               // POP
        case '1': popMark(); break;                           // POP_MARK
        case '2': push(top()); break;                         // DUP
        case 'c': { auto module = line(); auto name = line(); global(std::move(module), std::move(name)); break; }
        case 0x93: {                                          // STACK_GLOBAL
            auto name = pop();
            auto module = pop();
            if (!name->is(Kind::String) || !module->is(Kind::String)) throw malformed("STACK_GLOBAL without names");
            global(module->text, name->text);
            break;
        }
        case 'R':
        case 0x81: { auto args = pop(); auto fn = pop(); call(fn, args); break; } // REDUCE, NEWOBJ
        case 'b': {                                           // BUILD
            pop(); // the state: an OrderedDict's attributes (a state_dict's _metadata), a tensor's flags
            const auto& target = top();
            if (!target->is(Kind::Dict) && !target->is(Kind::Tensor)) throw malformed("BUILD on plain data");
            break;
        }
        case 'Q': persistent(pop()); break;                   // BINPERSID
        default: {
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%02x", op);
            throw malformed(std::string("opcode ") + hex + " at byte " + std::to_string(pos_ - 1) + " is not read");
        }
        }
    }

    const std::string& in_;
    const StorageSeen& onStorage_;
    size_t pos_ = 0;
    std::vector<PickleRecordRef> stack_;
    std::vector<size_t> marks_;
    std::unordered_map<uint64_t, PickleRecordRef> memo_;
    std::unordered_map<std::string, PickleRecordRef> storages_;
    std::unordered_set<PickleRecordRef> held_; // the lists and dicts some container holds
};

} // namespace

PickleRecordRef readPickleRecords(const std::string& bytes, const StorageSeen& onStorage) {
    return Machine(bytes, onStorage).run();
}

} // namespace srigl::interop
