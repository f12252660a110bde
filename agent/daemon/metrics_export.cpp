#include "metrics_export.hpp"

#include "daemon_log.hpp"
#include "endpoint.hpp"

#include <hopguard/address.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace hopguard::agent {

MetricsExport::MetricsExport(Metrics& metrics, std::string target)
    : metrics_(metrics), target_(std::move(target)) {}

MetricsExport::~MetricsExport() { stop(); }

std::optional<Error> MetricsExport::start() {
  if (target_.empty()) return std::nullopt;
  if (target_.starts_with("file:")) {
    thread_ = std::thread([this] { write_file(); });
    return std::nullopt;
  }
  auto ep = parse_endpoint(target_, "agent.metrics");
  if (!ep) return ep.errors().front();
  auto fail = [&](std::string why) {
    Error e;
    e.code = ErrorCode::bad_value;
    e.key = "agent.metrics";
    e.message = target_ + ": " + why;
    return e;
  };
  const auto addr = parse_address(ep->host);
  if (ep->transport != Transport::tcp || !addr)
    return fail("expected tcp://ADDR:PORT with a literal address, or file:/PATH");
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (addr->is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(ep->port);
    std::memcpy(&in->sin_addr, addr->bytes.data() + 12, 4);
    len = sizeof *in;
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(ep->port);
    std::memcpy(&in6->sin6_addr, addr->bytes.data(), 16);
    len = sizeof *in6;
  }
  listen_fd_ = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      ::listen(listen_fd_, 16) != 0) {
    const std::string why = std::strerror(errno);
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
    return fail(why);
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &blen);
  const std::uint16_t port = ntohs(bound.ss_family == AF_INET
                                       ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                       : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  const std::string host = addr->is_v4() ? ep->host : "[" + ep->host + "]";
  LogLine("metrics-listening").kv("address", "tcp://" + host + ":" + std::to_string(port));
  thread_ = std::thread([this] { serve(); });
  return std::nullopt;
}

void MetricsExport::stop() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

void MetricsExport::serve() {
  while (!stopping_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 250) != 1) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    // Read the request head (bounded, 1 s); its content does not matter.
    char req[4096];
    pollfd r{fd, POLLIN, 0};
    if (::poll(&r, 1, 1000) == 1) {
      [[maybe_unused]] const auto n = ::recv(fd, req, sizeof req, MSG_DONTWAIT);
    }
    const std::string body = metrics_.render();
    const std::string resp = "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                             "Content-Length: " + std::to_string(body.size()) +
                             "\r\nConnection: close\r\n\r\n" + body;
    std::size_t done = 0;
    while (done < resp.size()) {
      const ssize_t n = ::send(fd, resp.data() + done, resp.size() - done, MSG_NOSIGNAL);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }
}

void MetricsExport::write_file() {
  const std::string path = target_.substr(5);
  const std::string tmp = path + ".tmp";
  while (!stopping_.load()) {
    const std::string body = metrics_.render();
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && ::write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size());
    if (fd >= 0) ::close(fd);
    ok = ok && ::rename(tmp.c_str(), path.c_str()) == 0;
    if (!ok) LogLine("metrics-write-failed").kv("path", path).kv("error", std::strerror(errno));
    for (int i = 0; i < 50 && !stopping_.load(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace hopguard::agent
