// A durable, ordered queue in front of one sink, with its own delivery thread, so that a slow
// or failing sink never blocks the scan stage or the other sinks, and nothing is lost.
//
// Files in state_dir: spool-<sink>.jsonl (alarms, one per line, appended by the scan stage)
// and spool-<sink>.pos (the byte offset of the first undelivered alarm, replaced atomically by a
// writer thread of its own after deliveries, at most every kPositionInterval, the latest position
// winning: neither a delivery nor the scan stage waits for its fsyncs). Delivery is in order and
// at least once: a crash after deliveries whose position was not yet written delivers those
// alarms again after restart, and so does a crash between an append (delivery starts at once)
// and the sync by AlarmDispatch's committer. A
// failed delivery is retried after a backoff of 1 s doubling up to 60 s (event=sink-failed names
// the sink, the error, the attempt and the delay). When everything is delivered and the spool
// file holds at least kSpoolTruncateBytes, the files are truncated (not after every alarm: a
// truncation blocks the next append for as long as the file system takes).
#pragma once

#include "../metrics.hpp"
#include "sink.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace hopguard::agent {

inline constexpr std::uint64_t kSpoolTruncateBytes = 1 << 20;
inline constexpr std::chrono::milliseconds kPositionInterval{100};

class SinkSpool {
 public:
  SinkSpool(std::unique_ptr<Sink> sink, std::string state_dir, Metrics& metrics);
  ~SinkSpool();  // stops the thread (without draining: call drain() first for that)
  SinkSpool(const SinkSpool&) = delete;
  SinkSpool& operator=(const SinkSpool&) = delete;

  // Opens (and recovers) the spool files; an error text names the file.
  std::string open();
  void start();

  // Scan stage: append alarms, then sync() before the alarms count as durable.
  bool append(std::string_view alarm_json);
  bool sync();

  void reopen();  // SIGHUP: the sink reconnects / reopens on its next delivery
  // SIGTERM: keeps delivering until empty or the deadline, then stops. Returns alarms left.
  std::uint64_t drain(std::chrono::milliseconds deadline);

  std::string_view name() const { return sink_->name(); }
  std::uint64_t pending() const;

 private:
  void run();
  bool read_next(std::string& line);
  void write_positions();  // the position writer thread
  void stop_position_writer();
  void persist_position(std::uint64_t position);  // position writer, without mutex_

  std::unique_ptr<Sink> sink_;
  std::string dir_;
  std::string data_name_, pos_name_;
  int write_fd_ = -1;  // O_APPEND, scan stage
  int read_fd_ = -1;   // delivery thread
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::uint64_t size_ = 0;       // bytes in the spool file (appended and synced or not)
  std::uint64_t position_ = 0;   // first undelivered byte
  std::uint64_t queued_ = 0;     // alarms not yet delivered
  bool stopping_ = false;
  bool reopen_ = false;
  std::chrono::steady_clock::time_point drain_deadline_{};
  bool draining_ = false;
  std::thread thread_;
  std::condition_variable position_wake_;
  bool position_dirty_ = false;  // a delivery moved position_ since it was last written
  bool positions_stop_ = false;
  std::thread position_thread_;
  Metrics::Counter* delivered_;
  Metrics::Counter* failures_;
};

}  // namespace hopguard::agent
