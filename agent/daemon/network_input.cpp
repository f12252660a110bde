#include "network_input.hpp"

#include "daemon_log.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace hopguard::agent {
namespace {

constexpr std::uint64_t kListenerTag = 1ULL << 62;
constexpr std::size_t kReadBytes = 256 * 1024;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string address_text(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    return buf;
  }
  if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
    // An IPv4 peer on a dual-stack socket: show it as IPv4, as the policy does.
    if (const auto a = parse_address(buf); a && a->is_v4()) return a->to_string();
    return buf;
  }
  return "unknown";
}

std::string listener_text(int fd, Transport t) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  std::uint16_t port = 0;
  if (ss.ss_family == AF_INET) port = ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) port = ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  const std::string host = address_text(ss);
  const bool v6 = ss.ss_family == AF_INET6 && host.find(':') != std::string::npos;
  return std::string(t == Transport::tcp ? "tcp://" : "udp://") + (v6 ? "[" + host + "]" : host) +
         ":" + std::to_string(port);
}

}  // namespace

NetworkInput::NetworkInput(FairQueue& queue, Metrics& metrics, NetworkOptions options)
    : queue_(queue), metrics_(metrics), options_(std::move(options)) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0;  // the wake fd
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  const char* drops = "Frames and datagrams not scanned, by reason";
  refused_ = &metrics_.counter("hopguard_input_dropped_total", drops, "reason", "peer_refused");
  udp_full_ = &metrics_.counter("hopguard_input_dropped_total", drops, "reason", "queue_full");
  paused_ = &metrics_.counter("hopguard_input_backpressure_total",
                              "Times a TCP connection stopped being read because the queue was full");
  queue_.set_space_callback([fd = wake_fd_] {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(fd, &one, sizeof one);
  });
}

NetworkInput::~NetworkInput() {
  queue_.set_space_callback(nullptr);
  for (auto& [fd, c] : connections_) ::close(fd);
  for (auto& l : listeners_) ::close(l->fd);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

std::optional<Error> NetworkInput::bind(const std::vector<Endpoint>& endpoints) {
  std::vector<std::unique_ptr<Listener>> made;
  auto fail = [&](const Endpoint& ep, const std::string& why) -> std::optional<Error> {
    for (auto& l : made) ::close(l->fd);
    Error e;
    e.code = ErrorCode::io;
    e.key = "agent.listen";
    e.message = ep.text + ": " + why;
    return e;
  };
  for (const Endpoint& ep : endpoints) {
    const auto addr = parse_address(ep.host);
    if (!addr) return fail(ep, "a listener needs a literal IPv4 or IPv6 address");
    sockaddr_storage ss{};
    socklen_t len = 0;
    int family = AF_INET;
    if (addr->is_v4()) {
      auto* in = reinterpret_cast<sockaddr_in*>(&ss);
      in->sin_family = AF_INET;
      in->sin_port = htons(ep.port);
      std::memcpy(&in->sin_addr, addr->bytes.data() + 12, 4);
      len = sizeof *in;
    } else {
      family = AF_INET6;
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(ep.port);
      std::memcpy(&in6->sin6_addr, addr->bytes.data(), 16);
      len = sizeof *in6;
    }
    const int type = ep.transport == Transport::tcp ? SOCK_STREAM : SOCK_DGRAM;
    const int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail(ep, std::strerror(errno));
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (ep.transport == Transport::udp) {
      const int rcvbuf = 8 << 20;  // absorb bursts; the kernel caps it at rmem_max
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    }
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
        (ep.transport == Transport::tcp && ::listen(fd, 128) != 0)) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return fail(ep, why);
    }
    auto l = std::make_unique<Listener>();
    l->fd = fd;
    l->transport = ep.transport;
    l->name = listener_text(fd, ep.transport);
    made.push_back(std::move(l));
  }
  for (auto& l : made) {
    l->lines = &metrics_.counter("hopguard_input_lines_total", "Frames read, by input", "input",
                                 l->name);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenerTag | listeners_.size();
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, l->fd, &ev);
    LogLine("listening").kv("address", l->name);
    listeners_.push_back(std::move(l));
  }
  return std::nullopt;
}

std::vector<std::string> NetworkInput::bound_addresses() const {
  std::vector<std::string> out;
  for (const auto& l : listeners_) out.push_back(l->name);
  return out;
}

void NetworkInput::stop() {
  stopping_.store(true);
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
}

bool NetworkInput::peer_allowed(const std::string& peer_text) {
  if (options_.allowed_peers.empty()) return true;
  const auto a = parse_address(peer_text);
  if (!a) return false;
  for (const Cidr& c : options_.allowed_peers)
    if (c.contains(*a)) return true;
  return false;
}

void NetworkInput::log_refused(const std::string& peer, const std::string& listener) {
  refused_->fetch_add(1, std::memory_order_relaxed);
  const std::int64_t now = now_ms() / 1000;
  auto& last = refused_logged_[peer + " " + listener];
  if (last != 0 && now - last < 60) return;
  last = now;
  if (refused_logged_.size() > 4096) refused_logged_.clear();  // bounded memory under a scan
  LogLine("peer-refused").kv("peer", peer).kv("listener", listener);
}

std::uint32_t NetworkInput::sender_id(const std::string& peer) {
  if (senders_.size() > 65536) senders_.clear();  // bounded; ids only key fairness
  auto [it, fresh] = senders_.try_emplace(
      peer, kFirstNetworkSender + static_cast<std::uint32_t>(senders_.size()));
  return it->second;
}

void NetworkInput::accept_on(const Listener& l) {
  for (;;) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    const int fd = ::accept4(l.fd, reinterpret_cast<sockaddr*>(&ss), &len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        LogLine("accept-failed").kv("listener", l.name).kv("error", std::strerror(errno));
        // Out of descriptors (EMFILE): the listener stays readable; do not spin on it.
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      return;
    }
    const std::string peer = address_text(ss);
    if (!peer_allowed(peer)) {
      log_refused(peer, l.name);
      ::close(fd);
      continue;
    }
    if (connections_.size() >= kMaxConnections) {
      // Bounded memory and descriptors: each connection may hold max_frame_bytes plus a read.
      refused_->fetch_add(1, std::memory_order_relaxed);
      LogLine("peer-refused").kv("peer", peer).kv("listener", l.name)
          .kv("reason", "too many connections");
      ::close(fd);
      continue;
    }
    auto c = std::make_unique<Connection>(options_.max_frame_bytes);
    c->fd = fd;
    c->peer = peer;
    c->sender = sender_id(peer);
    c->listener = &l;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = static_cast<std::uint64_t>(fd);
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    LogLine("peer-connected").kv("peer", peer).kv("listener", l.name);
    connections_.emplace(fd, std::move(c));
  }
}

void NetworkInput::frame_into(Connection& c, Chunk& chunk, const scanner::Frame& f) {
  if (f.issue_set) {
    const unsigned bit = 1u << static_cast<unsigned>(f.issue);
    metrics_.counter("hopguard_input_frame_issues_total",
                     "Frames cut, malformed or incomplete (still scanned), by issue", "issue",
                     scanner::to_string(f.issue)).fetch_add(1, std::memory_order_relaxed);
    if (!(c.issues_logged & bit)) {
      c.issues_logged |= bit;
      LogLine("frame-issue").kv("peer", c.peer).kv("listener", c.listener->name)
          .kv("issue", scanner::to_string(f.issue))
          .kv("max_frame_bytes", std::uint64_t{options_.max_frame_bytes});
    }
  }
  // A marked frame is still scanned: what arrived is evidence, and dropping it would let a
  // sender hide a line behind a malformed count.
  if (!f.text.empty()) chunk.add_frame(f.text);
}

bool NetworkInput::offer(Connection& c) {
  if (!c.pending) return true;
  if (queue_.try_push(*c.pending)) {
    c.pending.reset();
    return true;
  }
  return false;
}

void NetworkInput::close_connection(int fd, const char* why) {
  const auto it = connections_.find(fd);
  if (it == connections_.end()) return;
  Connection& c = *it->second;
  if (c.pending) {
    // Frames already read: they must not be lost because the peer went away. Wait for room.
    queue_.push_wait(*c.pending);
  }
  LogLine("peer-closed").kv("peer", c.peer).kv("listener", c.listener->name).kv("reason", why);
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  connections_.erase(it);
}

void NetworkInput::read_connection(Connection& c) {
  static thread_local std::string buf(kReadBytes, '\0');
  // A bounded number of reads per wakeup keeps other connections served.
  for (int round = 0; round < 4; ++round) {
    if (c.pending) return;  // paused
    const ssize_t n = ::read(c.fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      close_connection(c.fd, std::strerror(errno));
      return;
    }
    if (n == 0) {
      if (c.framer.pending_bytes() > 0) {
        Chunk rest;
        rest.sender = c.sender;
        rest.kind = InputKind::tcp;
        rest.origin = c.peer;
        rest.received_ms = now_ms();
        c.framer.finish([&](const scanner::Frame& f) { frame_into(c, rest, f); });
        if (rest.frames() > 0) {
          c.listener->lines->fetch_add(rest.frames(), std::memory_order_relaxed);
          c.pending = std::move(rest);  // close_connection waits for room: never dropped
        }
      }
      close_connection(c.fd, "eof");
      return;
    }
    Chunk chunk;
    chunk.sender = c.sender;
    chunk.kind = InputKind::tcp;
    chunk.origin = c.peer;
    chunk.received_ms = now_ms();
    c.framer.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)),
                  [&](const scanner::Frame& f) { frame_into(c, chunk, f); });
    if (chunk.frames() > 0) {
      c.listener->lines->fetch_add(chunk.frames(), std::memory_order_relaxed);
      c.pending = std::move(chunk);
      if (!offer(c)) {
        paused_->fetch_add(1, std::memory_order_relaxed);
        epoll_event ev{};
        ev.events = 0;  // nothing, not even RDHUP (level-triggered: it would spin)
        ev.data.u64 = static_cast<std::uint64_t>(c.fd);
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
      }
    }
    if (static_cast<std::size_t>(n) < buf.size()) return;
  }
}

void NetworkInput::resume_paused() {
  // read_connection() may close (erase) a connection: iterate over a copy of the fds.
  std::vector<int> paused;
  for (const auto& [fd, c] : connections_)
    if (c->pending) paused.push_back(fd);
  for (const int fd : paused) {
    const auto it = connections_.find(fd);
    if (it == connections_.end()) continue;
    Connection& c = *it->second;
    if (!offer(c)) continue;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = static_cast<std::uint64_t>(fd);
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
    read_connection(c);  // data may be waiting; level-triggered epoll would also tell us
  }
}

void NetworkInput::read_datagrams(const Listener& l) {
  static thread_local std::string buf(65536, '\0');
  for (int i = 0; i < 256; ++i) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    const ssize_t n = ::recvfrom(l.fd, buf.data(), buf.size(), 0,
                                 reinterpret_cast<sockaddr*>(&ss), &len);
    if (n < 0) break;  // EAGAIN or a transient error: epoll tells us when there is more
    const std::string peer = address_text(ss);
    if (!peer_allowed(peer)) {
      log_refused(peer, l.name);
      continue;
    }
    std::string_view frame(buf.data(), static_cast<std::size_t>(n));
    while (!frame.empty() && (frame.back() == '\n' || frame.back() == '\r')) frame.remove_suffix(1);
    if (frame.empty()) continue;
    if (frame.size() > options_.max_frame_bytes) {
      frame = frame.substr(0, options_.max_frame_bytes);
      metrics_.counter("hopguard_input_frame_issues_total",
                       "Frames cut, malformed or incomplete (still scanned), by issue", "issue",
                       "oversized").fetch_add(1, std::memory_order_relaxed);
    }
    Chunk chunk;
    chunk.sender = sender_id(peer);
    chunk.kind = InputKind::udp;
    chunk.origin = peer;
    chunk.received_ms = now_ms();
    chunk.add_frame(frame);
    l.lines->fetch_add(1, std::memory_order_relaxed);
    if (!queue_.try_push(chunk)) {
      udp_full_->fetch_add(1, std::memory_order_relaxed);
      ++udp_dropped_unlogged_;
    }
  }
  // UDP cannot push back: drops are counted and reported, at most every 10 s per listener.
  if (udp_dropped_unlogged_ > 0) {
    const std::int64_t now = now_ms();
    if (now - udp_drop_logged_ms_ >= 10000) {
      LogLine("input-dropped").kv("listener", l.name).kv("reason", "queue_full")
          .kv("datagrams", udp_dropped_unlogged_);
      udp_dropped_unlogged_ = 0;
      udp_drop_logged_ms_ = now;
    }
  }
}

void NetworkInput::run() {
  epoll_event events[64];
  while (!stopping_.load()) {
    const int n = ::epoll_wait(epoll_fd_, events, 64, 1000);
    if (n < 0) {
      if (errno == EINTR) continue;
      LogLine("epoll-failed").kv("error", std::strerror(errno));
      return;
    }
    for (int i = 0; i < n; ++i) {
      const std::uint64_t tag = events[i].data.u64;
      if (tag == 0) {
        std::uint64_t v = 0;
        [[maybe_unused]] const auto r = ::read(wake_fd_, &v, sizeof v);
        if (stopping_.load()) break;
        resume_paused();
        continue;
      }
      if (tag & kListenerTag) {
        const Listener& l = *listeners_[tag & ~kListenerTag];
        if (l.transport == Transport::tcp) accept_on(l);
        else read_datagrams(l);
        continue;
      }
      const int fd = static_cast<int>(tag);
      const auto it = connections_.find(fd);
      if (it == connections_.end()) continue;
      Connection& c = *it->second;
      if (events[i].events & EPOLLIN) {
        read_connection(c);
      } else if (events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        if (!c.pending) read_connection(c);  // reads the rest, then sees EOF
        else {
          // Paused and the peer hung up: the frames still in the socket are read on resume.
        }
      }
    }
  }
  // Drain: stop accepting, read what connected peers already sent (bounded), hand it on.
  for (auto& l : listeners_) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, l->fd, nullptr);
  std::vector<int> fds;
  for (auto& [fd, c] : connections_) fds.push_back(fd);
  for (const int fd : fds) close_connection(fd, "shutdown");
}

}  // namespace hopguard::agent
