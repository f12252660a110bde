#include "syslog_writer.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

namespace hopguard::localauth {

namespace {

constexpr std::size_t kMaxMessage = 2048;  // records are bounded far below this

int open_log_socket(int type) {
  const int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{1, 0};  // never hold the caller (sshd's monitor) for long on a stuck syslog
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, kSyslogPath, sizeof addr.sun_path - 1);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

}  // namespace

bool send_to_syslog(int priority, std::string_view message) noexcept {
  try {
    char stamp[32] = {};
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    std::strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm);
    std::string line = "<" + std::to_string(priority) + ">" + stamp + " " + std::string(kSyslogIdent) + "[" +
                       std::to_string(getpid()) + "]: ";
    line.append(message.substr(0, kMaxMessage));

    int fd = open_log_socket(SOCK_DGRAM);
    bool stream = false;
    if (fd < 0 && errno == EPROTOTYPE) {
      fd = open_log_socket(SOCK_STREAM);
      stream = true;
    }
    if (fd < 0) return false;
    if (stream) line.push_back('\0');  // glibc's framing on stream sockets
    const ssize_t n = send(fd, line.data(), line.size(), MSG_NOSIGNAL);
    close(fd);
    return n == static_cast<ssize_t>(line.size());
  } catch (...) {
    return false;
  }
}

}  // namespace hopguard::localauth
