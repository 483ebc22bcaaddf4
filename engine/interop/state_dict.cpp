// Breadth-first search over the checkpoint's dicts; a visited set because pickles can share (and in
// principle loop) objects through their memo.
#include "engine/interop/state_dict.hpp"

#include "engine/errors.hpp"

#include <algorithm>
#include <deque>
#include <unordered_set>

namespace srigl::interop {
namespace {

using Kind = PickleValue::Kind;
constexpr int kMaxDepth = 8; // deeper nesting is no checkpoint layout we know of

bool keyText(const PickleRef& key, std::string& out) {
    if (key->is(Kind::String)) out = key->text;
    else if (key->is(Kind::Int)) out = std::to_string(key->integer);
    else return false;
    return true;
}

std::string joined(const std::string& prefix, const std::string& key) { return prefix.empty() ? key : prefix + "." + key; }

struct FoundDict {
    std::string path, key;
    const PickleValue* dict = nullptr;
};

std::vector<NamedTensor> directTensors(const PickleValue& dict) {
    std::vector<NamedTensor> out;
    for (const auto& [k, v] : dict.entries) {
        std::string name;
        if (v->is(Kind::Tensor) && keyText(k, name)) out.push_back({name, v->tensor});
    }
    return out;
}

bool holdsWeightMatrix(const PickleValue& dict) {
    for (const auto& t : directTensors(dict))
        if (t.name.find("weight") != std::string::npos && (t.tensor.dim() == 2 || t.tensor.dim() == 4)) return true;
    return false;
}

// Every dict reachable from the root, breadth first, with its dotted path and the key it sits under.
std::vector<FoundDict> dictsOf(const PickleValue& root) {
    std::vector<FoundDict> out;
    std::unordered_set<const PickleValue*> seen;
    std::deque<std::pair<FoundDict, int>> queue{{{"", "", &root}, 0}};
    while (!queue.empty()) {
        auto [found, depth] = queue.front();
        queue.pop_front();
        if (!seen.insert(found.dict).second) continue;
        if (found.dict->is(Kind::Dict)) out.push_back(found);
        if (depth >= kMaxDepth) continue;
        auto visit = [&](const std::string& key, const PickleRef& child) {
            if (child->is(Kind::Dict) || child->is(Kind::List) || child->is(Kind::Tuple))
                queue.push_back({{joined(found.path, key), key, child.get()}, depth + 1});
        };
        for (const auto& [k, v] : found.dict->entries) {
            std::string key;
            if (keyText(k, key)) visit(key, v);
        }
        for (size_t i = 0; i < found.dict->items.size(); ++i) visit(std::to_string(i), found.dict->items[i]);
    }
    return out;
}

void flatten(const PickleValue& v, const std::string& path, int depth, std::unordered_set<const PickleValue*>& seen,
             std::vector<NamedTensor>& out) {
    if (v.is(Kind::Tensor)) {
        out.push_back({path, v.tensor});
        return;
    }
    if (depth >= kMaxDepth || !seen.insert(&v).second) return;
    for (const auto& [k, child] : v.entries) {
        std::string key;
        if (keyText(k, key)) flatten(*child, joined(path, key), depth + 1, seen, out);
    }
    for (size_t i = 0; i < v.items.size(); ++i) flatten(*v.items[i], joined(path, std::to_string(i)), depth + 1, seen, out);
}

} // namespace

StateDict findStateDict(const PickleValue& root, const std::string& file) {
    static const char* const kPreferred[] = {"state_dict", "model_state_dict", "model", "net", "network", "module", "state"};
    const auto dicts = dictsOf(root);
    const FoundDict* chosen = nullptr;
    if (root.is(Kind::Dict) && !directTensors(root).empty()) chosen = &dicts.front();
    for (const char* name : kPreferred)
        for (const auto& d : dicts)
            if (!chosen && d.key == name && !directTensors(*d.dict).empty()) chosen = &d;
    for (const auto& d : dicts)
        if (!chosen && holdsWeightMatrix(*d.dict)) chosen = &d;
    if (!chosen) throw CheckpointError(file + ": no dict of tensors (a state_dict) in it");
    StateDict out;
    out.path = chosen->path;
    out.tensors = directTensors(*chosen->dict);
    std::unordered_set<const PickleValue*> seen;
    flatten(root, "", 0, seen, out.everything);
    return out;
}

} // namespace srigl::interop
