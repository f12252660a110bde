#include "scan_stage.hpp"

#include "background_thread.hpp"
#include "daemon_log.hpp"
#include "file_tail.hpp"
#include "state_store.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <thread>

namespace hopguard::agent {
namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr std::string_view kCheckpointName = "checkpoint.json";

}  // namespace

ScanStage::ScanStage(FairQueue& queue, AlarmDispatch& dispatch, Metrics& metrics,
                     std::string state_dir, std::vector<std::string> tail_paths,
                     Detection detection, scanner::EngineOptions options)
    : queue_(queue),
      dispatch_(dispatch),
      metrics_(metrics),
      state_dir_(std::move(state_dir)),
      tail_paths_(std::move(tail_paths)),
      detection_(std::move(detection)),
      engine_(detection_.policy, detection_.rules, options),
      marks_(tail_paths_.size()) {
  sink_ = [this](const Alarm& a) { on_alarm(a); };
  frames_ = &metrics_.counter("hopguard_scanned_frames_total", "Frames fed to the engine");
  checkpoint_build_us_ = &metrics_.gauge_value(
      "hopguard_checkpoint_build_microseconds",
      "Scan-stage time the last checkpoint took to build (the scan waits meanwhile)");
  heartbeat_.store(steady_ms());
}

std::vector<std::optional<TailMark>> ScanStage::restore() {
  std::optional<Error> err;
  const auto text = read_state_file(state_dir_, kCheckpointName, err);
  if (err) LogLine("checkpoint-unreadable").kv("error", err->to_string());
  if (!text) return marks_;
  const auto j = nlohmann::json::parse(*text, nullptr, false);
  const int version = j.is_object() ? j.value("version", 0) : 0;
  if (j.is_discarded() || (version != 1 && version != 2)) {
    LogLine("checkpoint-invalid").kv("file", state_dir_ + "/" + std::string(kCheckpointName))
        .kv("error", "not a version 1 or 2 checkpoint; starting without saved state");
    return marks_;
  }
  // Version 1 (before this build) held the engine snapshot as a string, version 2 as JSON.
  if (const auto e = j.find("engine"); e != j.end() && (e->is_string() || e->is_object())) {
    const auto r = engine_.restore(e->is_string() ? e->get<std::string>() : e->dump());
    if (!r) LogLine("checkpoint-invalid").kv("error", to_string(r.errors()));
  }
  if (const auto t = j.find("tails"); t != j.end() && t->is_object()) {
    for (std::size_t i = 0; i < tail_paths_.size(); ++i) {
      const auto m = t->find(tail_paths_[i]);
      if (m == t->end() || !m->is_string()) continue;
      if (auto mark = FileTail::decode_mark(m->get<std::string>())) {
        mark->tail_index = static_cast<std::uint32_t>(i);
        marks_[i] = mark;
      }
    }
  }
  LogLine("checkpoint-restored").kv("open_incidents", std::uint64_t{engine_.open_incidents()});
  return marks_;
}

void ScanStage::offer_reload(Detection detection) {
  {
    std::lock_guard lock(reload_mutex_);
    pending_reload_ = std::move(detection);
  }
  reload_flag_.store(true);
}

void ScanStage::request_reopen() { reopen_flag_.store(true); }

void ScanStage::inject(Alarm alarm) {
  {
    std::lock_guard lock(reload_mutex_);
    injected_.push_back(std::move(alarm));
  }
  inject_flag_.store(true);
}

void ScanStage::on_alarm(const Alarm& alarm) {
  dispatch_.add(alarm);
  dirty_ = true;  // the engine closed an incident: its snapshot changed
}

void ScanStage::maybe_checkpoint(bool force) {
  if (!dirty_) return;
  const auto now = std::chrono::steady_clock::now();
  // At most once a second, and never more than 0.5% of the scan stage's time: building a
  // checkpoint stops the scan for as long as the engine's snapshot takes (it grows with the open
  // incidents), and a line that arrives meanwhile waits. So a 10 ms snapshot is taken every 2 s,
  // never less often than every 10 s; a crash then replays up to that long of file lines.
  const auto interval = std::clamp<std::chrono::microseconds>(
      std::chrono::microseconds(200 * checkpoint_build_us_->load(std::memory_order_relaxed)),
      std::chrono::seconds(1), std::chrono::seconds(10));
  if (!force && now - last_checkpoint_ < interval) return;
  // The alarms this snapshot has produced so far: the writer waits until they are durable.
  const std::uint64_t alarms = dispatch_.added();
  // Version 2 embeds the engine's snapshot (itself JSON) as it is: the scan thread stops for
  // the snapshot only, not for escaping it into a string and copying it again (version 1 did,
  // doubling a stall that grows with the open incidents: 15-30 ms at 500 of them).
  const auto started = std::chrono::steady_clock::now();
  nlohmann::json tails = nlohmann::json::object();
  for (std::size_t i = 0; i < tail_paths_.size(); ++i)
    if (marks_[i]) tails[tail_paths_[i]] = FileTail::encode_mark(*marks_[i]);
  std::string text = "{\"version\":2,\"tails\":";
  text += tails.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text += ",\"engine\":";
  text += engine_.snapshot();
  text += '}';
  checkpoint_build_us_->store(static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started)
          .count()), std::memory_order_relaxed);
  {
    // Written by write_checkpoints() once the alarms it covers are durable.
    std::lock_guard lock(checkpoint_mutex_);
    checkpoint_pending_ = PendingCheckpoint{std::move(text), alarms};
  }
  checkpoint_cv_.notify_one();
  last_checkpoint_ = now;
  dirty_ = false;
}

void ScanStage::write_checkpoints() {
  for (;;) {
    PendingCheckpoint c;
    {
      std::unique_lock lock(checkpoint_mutex_);
      checkpoint_cv_.wait(lock, [&] { return checkpoint_stop_ || checkpoint_pending_; });
      if (!checkpoint_pending_) return;  // stopping, nothing left to write
      c = std::move(*checkpoint_pending_);
      checkpoint_pending_.reset();
    }
    // Offsets and correlation state move only after the alarms they produced are durable. If
    // the dispatch stopped first (alarm log failing at shutdown), this checkpoint is not written:
    // the next start replays from the previous one and produces those alarms again.
    if (!dispatch_.wait_durable(c.alarms)) {
      LogLine("checkpoint-skipped").kv("reason", "alarms-not-durable");
      continue;
    }
    if (auto err = write_state_file(state_dir_, kCheckpointName, c.text))
      LogLine("checkpoint-failed").kv("error", err->to_string());
  }
}

void ScanStage::publish_stats() {
  const scanner::EngineStats& s = engine_.stats();
  for (const auto src : {scanner::EventSource::kdc, scanner::EventSource::sshd,
                         scanner::EventSource::hopguard}) {
    const auto i = static_cast<std::size_t>(src);
    metrics_.counter("hopguard_decoded_lines_total", "Lines decoded, by source", "source",
                     scanner::to_string(src)).store(s.decoded[i], std::memory_order_relaxed);
    metrics_.counter("hopguard_parse_failures_total",
                     "Lines of a known program that were not understood, by source", "source",
                     scanner::to_string(src)).store(s.parse_failures[i], std::memory_order_relaxed);
  }
  metrics_.counter("hopguard_skipped_lines_total", "Lines of programs no decoder handles")
      .store(s.skipped, std::memory_order_relaxed);
  // Rule ids are a-z, 0-9 and '-' (the rule compiler checks), safe as label values.
  for (const auto& [rule, n] : s.regex_errors_by_rule) {
    metrics_.counter("hopguard_regex_undecided_total",
                     "User regex searches that ran out of their state or read limit (the rule alarmed: fails closed), by rule",
                     "rule", rule).store(n, std::memory_order_relaxed);
  }
  metrics_.counter("hopguard_aggregated_incidents_total",
                   "Incidents folded into aggregate alarms under a flood")
      .store(s.aggregated_incidents, std::memory_order_relaxed);
  metrics_.gauge_value("hopguard_open_incidents", "Incidents inside their correlation window")
      .store(engine_.open_incidents(), std::memory_order_relaxed);
  metrics_.gauge_value("hopguard_queue_depth", "Frames waiting for the scan stage")
      .store(queue_.depth(), std::memory_order_relaxed);
}

void ScanStage::run(bool finish_incidents) {
  dispatch_.start();
  std::thread writer([this] {
    lower_this_thread_priority();
    write_checkpoints();
  });
  auto last_flush = std::chrono::steady_clock::now();
  for (;;) {
    heartbeat_.store(steady_ms());
    if (reload_flag_.exchange(false)) {
      std::lock_guard lock(reload_mutex_);
      if (pending_reload_) {
        detection_ = std::move(*pending_reload_);
        pending_reload_.reset();
        engine_.replace(detection_.policy, detection_.rules);
        LogLine("reload-applied").kv("rules", std::uint64_t{detection_.rules->size()});
      }
    }
    if (reopen_flag_.exchange(false)) dispatch_.reopen();
    if (inject_flag_.exchange(false)) {
      std::vector<Alarm> alarms;
      {
        std::lock_guard lock(reload_mutex_);
        alarms.swap(injected_);
      }
      for (const Alarm& a : alarms) dispatch_.add(a);
    }

    bool force_checkpoint = false;
    auto chunk = queue_.pop(std::chrono::milliseconds(100));
    if (chunk) {
      // A network peer's address names the host of a record without HOSTNAME (feed_line); a
      // tailed file's path names none.
      const bool network = chunk->kind == InputKind::tcp || chunk->kind == InputKind::udp;
      const std::string_view sender = network ? std::string_view(chunk->origin) : std::string_view();
      for (std::size_t i = 0; i < chunk->frames(); ++i)
        engine_.feed_line(chunk->frame(i), chunk->received_ms, sink_, sender);
      frames_->fetch_add(chunk->frames(), std::memory_order_relaxed);
      bool switched_file = false;
      if (chunk->mark) {
        auto& m = marks_[chunk->mark->tail_index];
        switched_file = m && (m->inode != chunk->mark->inode || m->device != chunk->mark->device);
        m = chunk->mark;
      }
      dirty_ = true;
      // A tailed file was rotated: checkpoint the switch now. Until then a restart would
      // resume the old file and could not know which file followed it.
      if (switched_file) force_checkpoint = true;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_flush >= std::chrono::milliseconds(200) || !chunk) {
      engine_.flush(wall_ms(), sink_);
      publish_stats();
      last_flush = now;
    }
    // Alarms are made durable by the dispatch's committer thread as soon as they are added
    // (the scan never waits for its fsyncs). The checkpoint follows at most once a second, and
    // its writer waits for those commits: a crash replays up to that second of file lines, and
    // AlarmDispatch recognises the alarms they produce again.
    maybe_checkpoint(force_checkpoint);
    if (!chunk && queue_.depth() == 0) {
      // pop() returns nullopt both on timeout and when closed; a closed queue ends the loop.
      if (!queue_.closed()) continue;
      break;
    }
  }
  if (finish_incidents) engine_.finish(sink_);
  publish_stats();
  dirty_ = true;
  maybe_checkpoint(true);  // written once the last alarms are durable:
  dispatch_.stop();        // the committer's last round
  {
    std::lock_guard lock(checkpoint_mutex_);
    checkpoint_stop_ = true;  // the writer writes what is pending, then ends
  }
  checkpoint_cv_.notify_one();
  writer.join();
  LogLine("scan-stopped").kv("frames", frames_->load()).kv("open_incidents",
                                                          std::uint64_t{engine_.open_incidents()});
}

}  // namespace hopguard::agent
