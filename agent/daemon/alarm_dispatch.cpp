#include "alarm_dispatch.hpp"

#include "daemon_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>

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
  for (auto& s : spools_) s->append(json);
  jsonl_->deliver(json);
  uncommitted_ = true;
}

bool AlarmDispatch::commit() {
  if (!uncommitted_) return true;
  for (auto& s : spools_)
    if (!s->sync()) LogLine("spool-sync-failed").kv("sink", s->name());
  const Delivery d = jsonl_->flush();
  if (!d.ok) {
    if (!jsonl_failing_) LogLine("sink-failed").kv("sink", "jsonl").kv("error", d.error);
    jsonl_failing_ = true;
    return false;
  }
  if (jsonl_failing_) LogLine("sink-recovered").kv("sink", "jsonl");
  jsonl_failing_ = false;
  uncommitted_ = false;
  return true;
}

void AlarmDispatch::reopen() {
  jsonl_->reopen();
  for (auto& s : spools_) s->reopen();
}

}  // namespace hopguard::agent
