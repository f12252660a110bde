#include "sink_spool.hpp"

#include "../background_thread.hpp"
#include "../daemon_log.hpp"
#include "../state_store.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hopguard::agent {

SinkSpool::SinkSpool(std::unique_ptr<Sink> sink, std::string state_dir, Metrics& metrics)
    : sink_(std::move(sink)), dir_(std::move(state_dir)) {
  data_name_ = "spool-" + std::string(sink_->name()) + ".jsonl";
  pos_name_ = "spool-" + std::string(sink_->name()) + ".pos";
  delivered_ = &metrics.counter("hopguard_sink_delivered_total", "Alarms delivered, by sink",
                                "sink", sink_->name());
  failures_ = &metrics.counter("hopguard_sink_failures_total",
                               "Failed delivery attempts (retried), by sink", "sink",
                               sink_->name());
}

SinkSpool::~SinkSpool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  stop_position_writer();
  if (write_fd_ >= 0) ::close(write_fd_);
  if (read_fd_ >= 0) ::close(read_fd_);
}

std::string SinkSpool::open() {
  const std::string path = dir_ + "/" + data_name_;
  write_fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  read_fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (write_fd_ < 0 || read_fd_ < 0) return path + ": " + std::strerror(errno);
  struct stat st {};
  ::fstat(read_fd_, &st);
  size_ = static_cast<std::uint64_t>(st.st_size);
  std::optional<Error> err;
  if (const auto pos = read_state_file(dir_, pos_name_, err)) {
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(pos->data(), pos->data() + pos->size(), v);
    if (ec == std::errc() && v <= size_) position_ = v;
  }
  if (err) return err->to_string();
  // Count what is still to deliver (lines after position_), reading in blocks (a spool may be
  // large after a long outage), and cut a torn last line.
  std::uint64_t at = position_, last_newline_end = position_;
  char buf[65536];
  while (at < size_) {
    const ssize_t n = ::pread(read_fd_, buf, sizeof buf, static_cast<off_t>(at));
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == '\n') {
        ++queued_;
        last_newline_end = at + static_cast<std::uint64_t>(i) + 1;
      }
    }
    at += static_cast<std::uint64_t>(n);
  }
  if (last_newline_end < size_) {
    // A crash in the middle of an append: the torn alarm was never synced, so it was never
    // counted as durable; the replay produces it again.
    if (::ftruncate(write_fd_, static_cast<off_t>(last_newline_end)) == 0) size_ = last_newline_end;
  }
  if (queued_ > 0)
    LogLine("spool-recovered").kv("sink", sink_->name()).kv("alarms", queued_);
  return {};
}

void SinkSpool::start() {
  thread_ = std::thread([this] { run(); });
  position_thread_ = std::thread([this] {
    lower_this_thread_priority();
    write_positions();
  });
}

bool SinkSpool::append(std::string_view alarm_json) {
  std::string line(alarm_json);
  line.push_back('\n');
  {
    std::lock_guard lock(mutex_);
    std::size_t done = 0;
    while (done < line.size()) {
      const ssize_t n = ::write(write_fd_, line.data() + done, line.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        LogLine("spool-write-failed").kv("sink", sink_->name()).kv("error", std::strerror(errno));
        return false;
      }
      done += static_cast<std::size_t>(n);
    }
    size_ += line.size();
    ++queued_;
  }
  // Deliver at once, before sync(): the line is readable from the page cache now, and the
  // sinks are at-least-once anyway (a crash before sync replays the alarm to them again).
  // Notified after unlocking: a delivery thread woken under the lock preempts the scan stage
  // only to block on mutex_ again, and the scan stage (still holding it) may then wait a whole
  // time slice for a CPU - measured: 2-4 ms added to the alarm's delivery on a loaded machine.
  wake_.notify_all();
  return true;
}

bool SinkSpool::sync() {
  const bool ok = ::fdatasync(write_fd_) == 0;
  wake_.notify_all();
  return ok;
}

void SinkSpool::reopen() {
  {
    std::lock_guard lock(mutex_);
    reopen_ = true;
  }
  wake_.notify_all();
}

std::uint64_t SinkSpool::pending() const {
  std::lock_guard lock(mutex_);
  return queued_;
}

bool SinkSpool::read_next(std::string& line) {
  line.clear();
  std::uint64_t at = position_;
  char buf[8192];
  while (at < size_) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof buf, size_ - at));
    const ssize_t n = ::pread(read_fd_, buf, want, static_cast<off_t>(at));
    if (n <= 0) return false;
    const std::string_view chunk(buf, static_cast<std::size_t>(n));
    const auto nl = chunk.find('\n');
    if (nl != std::string_view::npos) {
      line.append(chunk.substr(0, nl));
      return true;
    }
    line.append(chunk);
    at += static_cast<std::uint64_t>(n);
  }
  return false;
}

void SinkSpool::persist_position(std::uint64_t position) {
  if (auto err = write_state_file(dir_, pos_name_, std::to_string(position)))
    LogLine("spool-position-failed").kv("sink", sink_->name()).kv("error", err->to_string());
}

void SinkSpool::run() {
  std::chrono::milliseconds backoff{1000};
  unsigned attempt = 0;
  std::string line;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || draining_ || queued_ > 0 || reopen_; });
      if (reopen_) {
        reopen_ = false;
        lock.unlock();
        sink_->reopen();
        continue;
      }
      if (queued_ == 0) {
        if (stopping_ || draining_) return;
        continue;
      }
      if (stopping_) return;
      if (draining_ && std::chrono::steady_clock::now() >= drain_deadline_) return;
      if (!read_next(line)) {
        // Appended but not yet visible (cannot happen after sync); look again shortly.
        wake_.wait_for(lock, std::chrono::milliseconds(50));
        continue;
      }
    }
    const Delivery d = sink_->deliver(line);
    if (!d.ok) {
      ++attempt;
      failures_->fetch_add(1, std::memory_order_relaxed);
      LogLine("sink-failed").kv("sink", sink_->name()).kv("error", d.error)
          .kv("attempt", std::uint64_t{attempt}).kv("retry_ms", static_cast<std::int64_t>(backoff.count()));
      std::unique_lock lock(mutex_);
      const auto until = std::chrono::steady_clock::now() + backoff;
      wake_.wait_until(lock, until, [&] { return stopping_; });
      if (stopping_) return;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(60000));
      continue;
    }
    if (attempt > 0)
      LogLine("sink-recovered").kv("sink", sink_->name()).kv("attempts", std::uint64_t{attempt});
    attempt = 0;
    backoff = std::chrono::milliseconds(1000);
    delivered_->fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lock(mutex_);
      position_ += line.size() + 1;
      --queued_;
      position_dirty_ = true;
    }
    position_wake_.notify_one();
  }
}

// The position file costs two fsyncs; written here, off the delivery thread, so a delivery never
// waits for the disk, and the scan stage's append() never waits for it either (mutex_ is not
// held meanwhile). Positions coalesce: the latest one wins. At least once still holds: the file
// never names a position past an undelivered alarm.
void SinkSpool::write_positions() {
  for (;;) {
    std::uint64_t at = 0, size = 0;
    {
      std::unique_lock lock(mutex_);
      position_wake_.wait(lock, [&] { return position_dirty_ || positions_stop_; });
      if (!position_dirty_) return;  // stopping, and the last position is written
      position_dirty_ = false;
      at = position_;
      size = size_;
    }
    if (at != size || size < kSpoolTruncateBytes) {
      persist_position(at);
      // At most one position write (two fsyncs) per kPositionInterval: later deliveries are
      // coalesced into the next one. A crash re-delivers at most that much (at least once).
      std::unique_lock lock(mutex_);
      position_wake_.wait_for(lock, kPositionInterval, [&] { return positions_stop_; });
      continue;
    }
    // All delivered and the spool is large: start the files over so it does not grow forever.
    // Not after every delivery: ftruncate(2) holds the file's inode lock (and mutex_) for up to
    // 15 ms here on ext4 while the journal commits, and the scan stage's next append waits for
    // both (measured: ftruncate p90 4 ms, max 15 ms, when it ran after every alarm). Position 0 is
    // made durable first: a crash before the truncation re-delivers the old alarms (at least
    // once), never skips new ones. The truncation happens only if nothing was appended
    // meanwhile; otherwise the next delivery's position is written as usual.
    persist_position(0);
    std::lock_guard lock(mutex_);
    if (size_ == size && position_ == size && ::ftruncate(write_fd_, 0) == 0) {
      size_ = 0;
      position_ = 0;
    }
  }
}

void SinkSpool::stop_position_writer() {
  {
    std::lock_guard lock(mutex_);
    positions_stop_ = true;
  }
  position_wake_.notify_all();
  if (position_thread_.joinable()) position_thread_.join();
}

std::uint64_t SinkSpool::drain(std::chrono::milliseconds deadline) {
  {
    std::lock_guard lock(mutex_);
    draining_ = true;
    drain_deadline_ = std::chrono::steady_clock::now() + deadline;
  }
  wake_.notify_all();
  // The thread exits when empty or past the deadline (checked between deliveries; a backoff
  // wait is cut short by the stop below).
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end && pending() > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  stop_position_writer();  // the last delivered position is on disk before drain() returns
  const std::uint64_t left = pending();
  if (left > 0) LogLine("spool-pending").kv("sink", sink_->name()).kv("alarms", left);
  return left;
}

}  // namespace hopguard::agent
