#include "syslog_sink.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace hopguard::agent {
namespace {

std::string rfc3339_ms(long long ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[96];  // wide enough for any int fields (format-truncation)
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

// RFC 5424 header fields are PRINTUSASCII without spaces, at most 255 bytes.
std::string header_field(std::string_view v) {
  std::string out;
  for (const char c : v.substr(0, 255))
    if (c > 32 && c < 127) out += c;
  return out.empty() ? "-" : out;
}

}  // namespace

SyslogSink::SyslogSink(Endpoint target, std::string hostname)
    : target_(std::move(target)), hostname_(std::move(hostname)) {}

SyslogSink::~SyslogSink() {
  if (fd_ >= 0) ::close(fd_);
}

std::string SyslogSink::format(std::string_view alarm_json, std::string_view hostname,
                               long long now_ms, int pid) {
  int severity = 0;
  const auto j = nlohmann::json::parse(alarm_json, nullptr, false);
  if (!j.is_discarded()) {
    const auto ev = j.find("event");
    if (ev != j.end() && ev->is_object()) severity = ev->value("severity", 0);
  }
  // ECS severity 0..100 -> syslog severity: >= 75 crit, >= 50 err, else warning.
  const int level = severity >= 75 ? 2 : severity >= 50 ? 3 : 4;
  const int pri = 10 * 8 + level;  // facility authpriv (10)
  std::string msg = "<" + std::to_string(pri) + ">1 " + rfc3339_ms(now_ms) + " " +
                    header_field(hostname) + " hopguardd " + std::to_string(pid) + " alarm - ";
  msg.append(alarm_json);
  return msg;
}

Delivery SyslogSink::connect_now() {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(target_.port);
  if (const int rc = ::getaddrinfo(target_.host.c_str(), port.c_str(), &hints, &res); rc != 0)
    return Delivery::failed(target_.text + ": " + ::gai_strerror(rc));
  std::string why = "no address";
  for (addrinfo* a = res; a; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      why = std::strerror(errno);
      ::close(fd);
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, 3000) != 1 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
        err != 0) {
      why = err ? std::strerror(err) : "connect timed out";
      ::close(fd);
      continue;
    }
    timeval tv{5, 0};  // a stalled collector fails this delivery; the spool retries later
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    fd_ = fd;
    break;
  }
  ::freeaddrinfo(res);
  if (fd_ < 0) return Delivery::failed(target_.text + ": " + why);
  return {};
}

Delivery SyslogSink::deliver(std::string_view alarm_json) {
  if (fd_ < 0)
    if (Delivery d = connect_now(); !d.ok) return d;
  const long long now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  const std::string msg = format(alarm_json, hostname_, now, static_cast<int>(::getpid()));
  const std::string frame = std::to_string(msg.size()) + " " + msg;
  std::size_t done = 0;
  while (done < frame.size()) {
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, 5000) != 1) {
      reopen();
      return Delivery::failed(target_.text + ": send timed out");
    }
    const ssize_t n = ::send(fd_, frame.data() + done, frame.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      const std::string why = target_.text + ": " + std::strerror(errno);
      reopen();
      return Delivery::failed(why);
    }
    done += static_cast<std::size_t>(n);
  }
  // A collector that closed its end shows up as readable EOF: notice it now, not one alarm late.
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, 0) == 1) {
    char c;
    if (::recv(fd_, &c, 1, MSG_DONTWAIT) == 0) reopen();
  }
  return {};
}

void SyslogSink::reopen() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace hopguard::agent
