// The memory lower bound of a run's sparse layers, this machine's available memory, and the check.
#include "engine/training/memory_estimate.hpp"

#include "engine/errors.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace srigl {
namespace {

std::optional<std::string> readText(const std::string& path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::optional<uint64_t> parseNumber(const std::string& text) {
    size_t b = text.find_first_not_of(" \t\n");
    size_t e = text.find_last_not_of(" \t\n");
    if (b == std::string::npos) return std::nullopt;
    uint64_t value = 0;
    const char* first = text.data() + b;
    const char* last = text.data() + e + 1;
    auto [end, ec] = std::from_chars(first, last, value);
    if (ec != std::errc() || end != last) return std::nullopt;
    return value;
}

// The number after `key` at the start of a line ("MemAvailable:   123 kB", "file 456").
std::optional<uint64_t> field(const std::string& text, const std::string& key) {
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind(key, 0) != 0) continue;
        std::istringstream rest(line.substr(key.size()));
        std::string number;
        rest >> number;
        return parseNumber(number);
    }
    return std::nullopt;
}

uint64_t layerBytes(const LayerMemoryFacts& l, int stateBytes) {
    const auto out = static_cast<uint64_t>(l.out);
    const auto state = static_cast<uint64_t>(stateBytes);
    uint64_t bytes = l.bias ? out * (4 + 4 + state) : 0; // value, gradient, optimizer state
    if (l.path == "condensed") {
        // values [out, k] and their gradient, indices, optimizer state of the values; `alive` [out, 1].
        const uint64_t kept = out * static_cast<uint64_t>(l.k);
        return bytes + kept * (4 + static_cast<uint64_t>(condensedIndexBytes(l.fanIn)) + 4 + state) + out * 4;
    }
    // The dense [out, fan_in] weight, its gradient, the bool mask and its float factor (SparseLayer's
    // maskFactor), the optimizer state, and the dense gradient sum of a dynamic layer (Trainer's gradSum).
    const uint64_t n = out * static_cast<uint64_t>(l.fanIn);
    return bytes + n * (4 + 4 + 1 + 4 + state + (l.dynamic ? 4 : 0));
}

// The config key a user would change first for the layer that weighs most.
std::string keyFor(const LayerMemoryFacts& l) {
    if (l.path == "masked_dense") return "sparse_compute";
    if (l.path == "condensed") return "sparsity";
    return "method";
}

std::string describe(const LayerMemory& l) {
    std::ostringstream s;
    s << "layer " << l.facts.name << ", " << l.facts.out << " x " << l.facts.fanIn;
    if (l.facts.path == "condensed")
        s << " condensed to k = " << l.facts.k << " inputs per neuron";
    else
        s << " held dense on the " << l.facts.path << " path";
    s << ", " << formatMemorySize(l.bytes);
    return s.str();
}

} // namespace

std::string formatMemorySize(uint64_t bytes) {
    // GiB as a rule; the smaller units only show for small models (tests, a tight cgroup).
    char buf[48];
    const double mib = static_cast<double>(bytes) / (1024.0 * 1024.0);
    if (mib >= 0.1 * 1024)
        std::snprintf(buf, sizeof buf, "%.1f GiB", mib / 1024);
    else if (mib >= 0.1)
        std::snprintf(buf, sizeof buf, "%.1f MiB", mib);
    else
        std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
    return buf;
}

const LayerMemory* MemoryEstimate::largest() const {
    const LayerMemory* best = nullptr;
    for (const auto& l : layers)
        if (!best || l.bytes > best->bytes) best = &l;
    return best;
}

int optimizerStateBytes(const std::string& optimizer, double momentum) {
    if (optimizer == "adamw") return 8; // exp_avg, exp_avg_sq
    return momentum != 0.0 ? 4 : 0;
}

int condensedIndexBytes(int64_t fanIn) { return fanIn <= 32767 ? 2 : 4; }

MemoryEstimate estimateTrainingMemory(const std::vector<LayerMemoryFacts>& layers, int optimizerStateBytesPerValue) {
    MemoryEstimate e;
    for (const auto& facts : layers) {
        LayerMemory l{facts, layerBytes(facts, optimizerStateBytesPerValue)};
        e.bytes += l.bytes;
        e.layers.push_back(std::move(l));
    }
    return e;
}

std::optional<uint64_t> meminfoAvailable(const std::string& meminfo) {
    const auto available = field(meminfo, "MemAvailable:");
    const auto swapFree = field(meminfo, "SwapFree:");
    if (!available || !swapFree) return std::nullopt;
    return (*available + *swapFree) * 1024; // kB
}

std::optional<uint64_t> cgroupRoom(const std::string& limit, const std::string& usage, const std::string& stat,
                                   uint64_t swapFree) {
    const auto max = parseNumber(limit); // "max" (v2): no limit
    const auto used = parseNumber(usage);
    if (!max || !used) return std::nullopt;
    if (*max >= (uint64_t{1} << 62)) return std::nullopt; // v1's "unlimited" (PAGE_COUNTER_MAX pages)
    // Page cache is charged to the cgroup but reclaimed under pressure: counted as room. So is free
    // swap, whether or not the cgroup may use it: both err towards more room, as a refusal must be sure.
    auto cache = field(stat, "file ");
    if (!cache) cache = field(stat, "total_cache ");
    if (!cache) cache = field(stat, "cache ");
    const uint64_t resident = *used - std::min(*used, cache.value_or(0));
    return (*max > resident ? *max - resident : 0) + swapFree;
}

std::optional<AvailableMemory> availableMemory() {
    const auto meminfo = readText("/proc/meminfo");
    if (!meminfo) return std::nullopt;
    const auto system = meminfoAvailable(*meminfo);
    if (!system) return std::nullopt;
    AvailableMemory best{*system, "MemAvailable + free swap"};
    const uint64_t swapFree = field(*meminfo, "SwapFree:").value_or(0) * 1024;

    // /proc/self/cgroup: "0::/path" (v2) and "N:memory:/path" (v1's memory controller, maybe among
    // others as "cpu,memory"). A limit anywhere up the hierarchy applies, so every ancestor is read.
    struct Hierarchy {
        std::string root, limit, usage;
    };
    const auto cgroups = readText("/proc/self/cgroup").value_or("");
    std::istringstream lines(cgroups);
    std::string line;
    while (std::getline(lines, line)) {
        const size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
        if (b == std::string::npos) continue;
        const std::string controllers = "," + line.substr(a + 1, b - a - 1) + ",";
        std::string path = line.substr(b + 1);
        Hierarchy h;
        if (controllers == ",,")
            h = {"/sys/fs/cgroup", "memory.max", "memory.current"};
        else if (controllers.find(",memory,") != std::string::npos)
            h = {"/sys/fs/cgroup/memory", "memory.limit_in_bytes", "memory.usage_in_bytes"};
        else
            continue;
        while (true) {
            const std::string dir = h.root + (path == "/" ? "" : path);
            const auto limit = readText(dir + "/" + h.limit);
            const auto usage = readText(dir + "/" + h.usage);
            if (limit && usage) {
                const auto room = cgroupRoom(*limit, *usage, readText(dir + "/memory.stat").value_or(""), swapFree);
                if (room && *room < best.bytes) best = {*room, "the memory limit of cgroup " + path};
            }
            if (path.empty() || path == "/") break;
            const size_t slash = path.rfind('/');
            path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
        }
    }
    return best;
}

void requireMemoryFits(const MemoryEstimate& estimate, const std::optional<AvailableMemory>& available) {
    if (!available || estimate.bytes <= available->bytes) return;
    const LayerMemory* largest = estimate.largest();
    if (!largest) return;
    std::ostringstream msg;
    msg << "this model needs at least " << formatMemorySize(estimate.bytes)
        << " for its weights, gradients, masks and optimizer state (largest: " << describe(*largest)
        << "), but this machine has " << formatMemorySize(available->bytes) << " available (" << available->source
        << "); use ";
    if (largest->facts.path != "condensed") msg << "method=srigl with sparse_compute=condensed, ";
    msg << "a higher sparsity, or smaller layers";
    throw ConfigError(keyFor(largest->facts), msg.str());
}

} // namespace srigl
