#include "widgets/shell/studio_environment.hpp"

#include "engine/runtime/threading.hpp"

#include <cstdlib>

namespace srigl::studio {

void prepareStudioProcess(int argc, char** argv) {
    // Before the re-execution below, so the new process image inherits it.
    setenv("LP_NUM_THREADS", "0", 0);
    ensureComputeEnvironment(argc, argv);
}

} // namespace srigl::studio
