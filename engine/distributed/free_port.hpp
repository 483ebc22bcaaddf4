// A loopback TCP port that nobody listens on right now: the kernel's pick for port 0. Whoever
// binds it next (rank 0's TCP store) may lose a race to another process; the run then fails, it
// does not hang.
#pragma once

namespace srigl {

// -1 when no socket could be bound.
int freeLoopbackPort();

} // namespace srigl
