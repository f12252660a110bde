#include "alarm_dispatch.hpp"

#include "background_thread.hpp"
#include "daemon_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <utility>

namespace hopguard::agent {

AlarmDispatch::AlarmDispatch(std::unique_ptr<JsonlSink> jsonl,
                             std::vector<std::unique_ptr<SinkSpool>> spools, Metrics& metrics)
    : jsonl_(std::move(jsonl)), spools_(std::move(spools)), metrics_(metrics) {
  suppressed_counter_ = &metrics_.counter(
      "hopguard_alarms_replay_suppressed_total",
      "Alarms produced again by the replay after a crash and already in the alarm log");
}

void AlarmDispatch::remember_written() {
  const int fd = ::open(jsonl_->path().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st {};
  ::fstat(fd, &st);
  // The last 8 MiB hold far more than kReplayWindow alarms of any sane size.
  const off_t size = st.st_size;
  const off_t from = size > (8 << 20) ? size - (8 << 20) : 0;
  std::string text(static_cast<std::size_t>(size - from), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::pread(fd, text.data() + got, text.size() - got,
                              from + static_cast<off_t>(got));
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  text.resize(got);
  std::deque<std::string_view> lines;
  std::string_view rest(text);
  if (from > 0) {  // the first line may be cut
    const auto nl = rest.find('\n');
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
  }
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    if (nl == std::string_view::npos) break;  // a torn last line was never committed
    lines.push_back(rest.substr(0, nl));
    if (lines.size() > kReplayWindow) lines.pop_front();
    rest.remove_prefix(nl + 1);
  }
  for (const auto l : lines) written_.emplace(l);
}

void AlarmDispatch::add(const Alarm& alarm) {
  std::string json = to_json(alarm);
  if (!written_.empty() && written_.count(json) != 0) {
    suppressed_counter_->fetch_add(1, std::memory_order_relaxed);
    if (suppressed_++ == 0)
      LogLine("alarm-replay-suppressed").kv("rule", alarm.rule_id).kv("principal", alarm.principal);
    return;
  }
  metrics_.counter("hopguard_alarms_total", "Alarms raised, by rule", "rule", alarm.rule_id)
      .fetch_add(1, std::memory_order_relaxed);
  // Spools first: their delivery starts now, and the committer's sync of them (which follows its
  // taking this alarm below) covers the line.
  for (auto& s : spools_) s->append(json);
  ++added_local_;
  {
    std::lock_guard lock(mutex_);
    pending_.push_back(std::move(json));
    added_ = added_local_;
  }
  work_.notify_one();
}

void AlarmDispatch::start() {
  committer_ = std::thread([this] {
    lower_this_thread_priority();
    run_committer();
  });
}

bool AlarmDispatch::commit_batch(const std::vector<std::string>& batch) {
  for (auto& s : spools_)
    if (!s->sync()) LogLine("spool-sync-failed").kv("sink", s->name());
  for (const std::string& line : batch) jsonl_->deliver(line);
  // On failure the JSONL sink keeps the lines (in order) and the next flush retries them.
  const Delivery d = jsonl_->flush();
  if (!d.ok) {
    if (!jsonl_failing_) LogLine("sink-failed").kv("sink", "jsonl").kv("error", d.error);
    jsonl_failing_ = true;
    return false;
  }
  if (jsonl_failing_) LogLine("sink-recovered").kv("sink", "jsonl");
  jsonl_failing_ = false;
  return true;
}

void AlarmDispatch::run_committer() {
  bool failed = false;  // the last attempt failed: alarms wait in the JSONL sink's buffer
  for (;;) {
    std::vector<std::string> batch;
    std::uint64_t upto = 0;
    bool reopen = false, stopping = false;
    {
      std::unique_lock lock(mutex_);
      const auto ready = [&] { return stop_ || reopen_ || !pending_.empty(); };
      if (failed)
        work_.wait_for(lock, std::chrono::milliseconds(100), ready);  // retry at least every 100 ms
      else
        work_.wait(lock, ready);
      batch.swap(pending_);
      upto = added_;
      reopen = std::exchange(reopen_, false);
      stopping = stop_;
    }
    if (reopen) {
      jsonl_->reopen();
      for (auto& s : spools_) s->reopen();
    }
    if (!batch.empty() || failed) {
      failed = !commit_batch(batch);
      if (!failed) {
        {
          std::lock_guard lock(mutex_);
          durable_count_ = upto;
        }
        durable_.notify_all();
      }
    }
    if (stopping) {
      // Everything added before stop() was in this round's batch; a failure here is final
      // (the checkpoint does not move, so a restart produces those alarms again).
      {
        std::lock_guard lock(mutex_);
        stopped_ = true;
      }
      durable_.notify_all();
      return;
    }
  }
}

bool AlarmDispatch::wait_durable(std::uint64_t count) {
  std::unique_lock lock(mutex_);
  durable_.wait(lock, [&] { return durable_count_ >= count || stopped_; });
  return durable_count_ >= count;
}

bool AlarmDispatch::stop() {
  if (!committer_.joinable()) return false;
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  work_.notify_one();
  committer_.join();
  std::lock_guard lock(mutex_);
  return durable_count_ >= added_;
}

AlarmDispatch::~AlarmDispatch() { stop(); }

void AlarmDispatch::reopen() {
  {
    std::lock_guard lock(mutex_);
    reopen_ = true;
  }
  work_.notify_one();
}

}  // namespace hopguard::agent
