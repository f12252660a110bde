// Threads that only make things durable (the alarm committer, the spools' position writers,
// the checkpoint writer) wake after every fsync; at the daemon's own priority each wakeup may
// preempt a thread on the alarm path (network input, scan stage, sink delivery) on the same CPU,
// which then waits for a CPU again on a loaded machine. They run 5 nice levels lower instead:
// they use little CPU and mostly wait for the disk, and nothing waits for them but checkpoints.
#pragma once

#include <algorithm>
#include <cerrno>
#include <sys/resource.h>
#include <unistd.h>

namespace hopguard::agent {

inline constexpr int kBackgroundNiceIncrement = 5;

// Call at the start of such a thread. Lowering one's own priority never needs privileges; a
// failure only leaves the thread at the daemon's priority.
inline void lower_this_thread_priority() {
  const auto tid = static_cast<id_t>(::gettid());
  errno = 0;
  const int nice = ::getpriority(PRIO_PROCESS, tid);
  if (errno != 0) return;
  (void)::setpriority(PRIO_PROCESS, tid, std::min(nice + kBackgroundNiceIncrement, 19));
}

}  // namespace hopguard::agent
