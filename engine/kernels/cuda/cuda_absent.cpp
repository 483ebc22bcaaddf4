// The CUDA entry points of a build without CUDA (cuda.cmake compiles this file instead of the .cu
// files): each says how to get the kernels.
#include "engine/kernels/cuda/condensed_cuda.hpp"

#include <stdexcept>

namespace srigl::cuda {
namespace {
[[noreturn]] void noKernels() {
    throw std::runtime_error("this build has no CUDA kernels (configure with a CUDA LibTorch and the CUDA toolkit; "
                             "scripts/build_cuda.sh)");
}
} // namespace

bool kernelsBuilt() { return false; }
std::string toString(ForwardVariant) { noKernels(); }
ForwardVariant chooseForwardVariant(int64_t, int64_t, int64_t, int64_t) { noKernels(); }
void condensedForward(const kernels::CondensedView&, const float*, int64_t, float*, void*, ForwardVariant) {
    noKernels();
}
void condensedGradInput(const kernels::CondensedView&, const float*, int64_t, float*, void*) { noKernels(); }
void condensedGradValues(const kernels::CondensedView&, const float*, const float*, int64_t, float*, void*) {
    noKernels();
}
std::string deviceName(int) { noKernels(); }
EventTimer::EventTimer() { noKernels(); }
EventTimer::~EventTimer() = default;
void EventTimer::start(void*) { noKernels(); }
double EventTimer::stopMs(void*) { noKernels(); }

} // namespace srigl::cuda
