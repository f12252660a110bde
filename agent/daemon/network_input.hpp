// TCP and UDP listeners (IPv4 and IPv6) receiving rsyslog omfwd, in one epoll thread.
//
// - A peer outside allowed_peers (when the list is not empty) is refused: a TCP connection is
//   closed at once, a UDP datagram dropped; both counted and logged (event=peer-refused),
//   at most once per peer address per minute.
// - TCP framing is detected per connection by the scanner's Framer (RFC 6587 octet-counted or
//   LF); every frame issue (oversized, malformed count, stream ending mid-frame) is counted and
//   logged with the peer (event=frame-issue), at most once per connection and issue kind.
// - Backpressure: when the queue refuses a connection's chunk the connection stops being read
//   (its socket buffer fills and rsyslog queues on its side) until the queue signals room.
//   UDP cannot be slowed down: a refused datagram is dropped and counted (reason=queue_full).
#pragma once

#include "endpoint.hpp"
#include "fair_queue.hpp"
#include "metrics.hpp"

#include "scanner/framing.hpp"

#include <hopguard/address.hpp>
#include <hopguard/error.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace hopguard::agent {

struct NetworkOptions {
  std::uint32_t max_frame_bytes = 65536;
  std::vector<Cidr> allowed_peers;  // empty: any peer
};

class NetworkInput {
 public:
  NetworkInput(FairQueue& queue, Metrics& metrics, NetworkOptions options);
  NetworkInput(const NetworkInput&) = delete;
  NetworkInput& operator=(const NetworkInput&) = delete;
  ~NetworkInput();

  // Binds every endpoint or none: on error nothing stays open. Port 0 binds an ephemeral port.
  std::optional<Error> bind(const std::vector<Endpoint>& endpoints);
  // "tcp://127.0.0.1:40123" for each listener, in bind order (port 0 resolved).
  std::vector<std::string> bound_addresses() const;

  void run();   // the epoll loop, until stop()
  void stop();  // from any thread

 private:
  struct Listener {
    int fd = -1;
    Transport transport = Transport::tcp;
    std::string name;  // bound address text
    Metrics::Counter* lines = nullptr;
  };
  struct Connection {
    int fd = -1;
    std::string peer;
    std::uint32_t sender = 0;
    scanner::Framer framer;
    std::optional<Chunk> pending;  // refused by the queue, retried on room
    const Listener* listener = nullptr;
    unsigned issues_logged = 0;    // bit per FrameIssue already logged
    explicit Connection(std::uint32_t max)
        : framer(scanner::FramerOptions{max, scanner::Framing::unknown}) {}
  };

  bool peer_allowed(const std::string& peer_text);
  void log_refused(const std::string& peer, const std::string& listener);
  std::uint32_t sender_id(const std::string& peer);
  void accept_on(const Listener& l);
  void read_connection(Connection& c);
  void read_datagrams(const Listener& l);
  bool offer(Connection& c);
  void frame_into(Connection& c, Chunk& chunk, const scanner::Frame& f);  // pushes c.pending; false: paused
  void close_connection(int fd, const char* why);
  void resume_paused();

  FairQueue& queue_;
  Metrics& metrics_;
  NetworkOptions options_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;   // eventfd: stop() and queue room
  std::atomic<bool> stopping_{false};
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::unordered_map<int, std::unique_ptr<Connection>> connections_;
  std::unordered_map<std::string, std::uint32_t> senders_;
  std::map<std::string, std::int64_t> refused_logged_;  // peer -> last log time (s)
  Metrics::Counter* refused_ = nullptr;
  Metrics::Counter* udp_full_ = nullptr;
  Metrics::Counter* paused_ = nullptr;
  std::uint64_t udp_dropped_unlogged_ = 0;
  std::int64_t udp_drop_logged_ms_ = 0;
};

// Connections open at once, over all listeners; more are accepted and closed (logged).
inline constexpr std::size_t kMaxConnections = 1024;

// Senders from the network get ids from here up; tailed files use their index + 1.
inline constexpr std::uint32_t kFirstNetworkSender = 1u << 16;

}  // namespace hopguard::agent
