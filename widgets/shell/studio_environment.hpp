// What the Studio's process sets for itself before Qt, OpenGL and the engine start (the Studio's
// main and the GL test suite both call it first in main).
#pragma once

namespace srigl::studio {

// - LP_NUM_THREADS=0 unless set: Mesa's software renderer (llvmpipe) then draws the mask
//   inspector on the UI thread instead of handing each frame to its own worker threads, which wait
//   behind the training threads on a busy machine (measured: 9.6 -> 24-35 frames/s on 2 cores
//   while training; docs/studio.md). Hardware drivers ignore it.
// - OMP_WAIT_POLICY=PASSIVE and malloc's huge pages unless set, by re-executing
//   (srigl::ensureComputeEnvironment).
void prepareStudioProcess(int argc, char** argv);

} // namespace srigl::studio
