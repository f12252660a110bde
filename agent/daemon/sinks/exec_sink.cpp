#include "exec_sink.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace hopguard::agent {

ExecSink::ExecSink(std::vector<std::string> argv, int timeout_ms)
    : argv_(std::move(argv)), timeout_ms_(timeout_ms) {}

Delivery ExecSink::deliver(std::string_view alarm_json) {
  if (argv_.empty() || argv_[0].empty()) return Delivery::failed("exec: empty argv");
  int in[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return Delivery::failed(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t fa;
  ::posix_spawn_file_actions_init(&fa);
  ::posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
  ::posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  ::posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  ::posix_spawnattr_setsigmask(&attr, &none);  // the daemon blocks its signals; the child must not
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  ::posix_spawnattr_setsigdefault(&attr, &defaults);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (auto& a : argv_) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, args[0], &fa, &attr, args.data(), environ);
  ::posix_spawn_file_actions_destroy(&fa);
  ::posix_spawnattr_destroy(&attr);
  ::close(in[0]);
  if (rc != 0) {
    ::close(in[1]);
    return Delivery::failed(argv_[0] + ": " + std::strerror(rc));
  }
  std::string payload(alarm_json);
  payload.push_back('\n');
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
  std::size_t done = 0;
  ::fcntl(in[1], F_SETFL, O_NONBLOCK);
  while (done < payload.size() && std::chrono::steady_clock::now() < deadline) {
    pollfd p{in[1], POLLOUT, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = ::write(in[1], payload.data() + done, payload.size() - done);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      break;  // EPIPE: the program does not read stdin; its exit code decides
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(in[1]);
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return Delivery::failed(argv_[0] + ": waitpid failed");
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return Delivery::failed(argv_[0] + ": timed out, killed");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (WIFEXITED(status))
    return Delivery::failed(argv_[0] + ": exit " + std::to_string(WEXITSTATUS(status)));
  return Delivery::failed(argv_[0] + ": killed by signal " + std::to_string(WTERMSIG(status)));
}

}  // namespace hopguard::agent
