// The table of AVX-512 kernels dispatch runs (see the header).
#include "engine/kernels/avx512_dispatch.hpp"

#include <atomic>

namespace srigl::kernels::detail {
namespace {

Avx512Kernels& table() {
    static Avx512Kernels kernels;
    return kernels;
}

std::atomic<bool> emulated{false};

} // namespace

const Avx512Kernels& avx512Kernels() { return table(); }

void emulateAvx512(const Avx512Kernels& kernels) {
    table() = kernels;
    emulated = true;
}

bool avx512Emulated() { return emulated; }

} // namespace srigl::kernels::detail
