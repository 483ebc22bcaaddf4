// Environment variables for computing processes (see compute_environment.hpp).
#include "engine/runtime/compute_environment.hpp"

#include <cstdlib>
#include <cstring>

namespace srigl {
namespace {

constexpr const char* kHugeTlb = "glibc.malloc.hugetlb";

} // namespace

const char* tunableIn(const char* list, const char* name) {
    if (!list) return nullptr;
    const size_t length = std::strlen(name);
    for (const char* p = list; *p;) {
        if (std::strncmp(p, name, length) == 0 && p[length] == '=') return p;
        const char* next = std::strchr(p, ':');
        if (!next) break;
        p = next + 1;
    }
    return nullptr;
}

bool addComputeEnvironment() {
    bool added = false;
    if (!std::getenv("OMP_WAIT_POLICY")) {
        setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
        added = true;
    }
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    if (!tunableIn(tunables, kHugeTlb)) {
        std::string value = tunables && *tunables ? std::string(tunables) + ":" : std::string();
        value += std::string(kHugeTlb) + "=1";
        setenv("GLIBC_TUNABLES", value.c_str(), 1);
        added = true;
    }
    return added;
}

std::string mallocSetting() {
    const char* entry = tunableIn(std::getenv("GLIBC_TUNABLES"), kHugeTlb);
    if (!entry) return "default";
    const char* end = std::strchr(entry, ':');
    return end ? std::string(entry, end) : std::string(entry);
}

} // namespace srigl
