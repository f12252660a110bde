// Alarms from the engine to every sink, durably, exactly once across a crash.
//
// add() hands an alarm to the JSONL log (buffered) and appends it to every spooled sink;
// commit() makes them durable in this order: spools synced, then the JSONL log written and
// fdatasync'ed. Only after a successful commit may the scan stage write a checkpoint.
//
// Exactly once: a crash after commit() but before the next checkpoint replays log lines whose
// alarms are already in the JSONL log. Replaying the same lines from the same engine snapshot
// produces byte-identical alarm JSON, so at startup the last kReplayWindow lines of the alarm
// log are remembered and an identical alarm is suppressed (counted, logged once). The spooled
// sinks are synced before the JSONL log, so a crash between the two re-sends to them (at least
// once) rather than losing an alarm.
#pragma once

#include "metrics.hpp"
#include "sinks/jsonl_sink.hpp"
#include "sinks/sink_spool.hpp"

#include <hopguard/alarm.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

namespace hopguard::agent {

inline constexpr std::size_t kReplayWindow = 4096;

class AlarmDispatch {
 public:
  AlarmDispatch(std::unique_ptr<JsonlSink> jsonl, std::vector<std::unique_ptr<SinkSpool>> spools,
                Metrics& metrics);

  // Reads the end of the alarm log (the replay window above). Never fails: an unreadable log
  // only means nothing is suppressed.
  void remember_written();

  void add(const Alarm& alarm);
  // True iff everything added so far is durable. On failure the alarms stay buffered and the
  // next commit() retries; the failure is logged.
  bool commit();
  bool uncommitted() const noexcept { return uncommitted_; }

  void reopen();  // SIGHUP: logrotate
  std::vector<std::unique_ptr<SinkSpool>>& spools() { return spools_; }
  JsonlSink& jsonl() { return *jsonl_; }

 private:
  std::unique_ptr<JsonlSink> jsonl_;
  std::vector<std::unique_ptr<SinkSpool>> spools_;
  Metrics& metrics_;
  std::unordered_set<std::string> written_;  // alarm JSON lines written before this start
  bool uncommitted_ = false;
  bool jsonl_failing_ = false;
  std::uint64_t suppressed_ = 0;
  Metrics::Counter* suppressed_counter_;
};

}  // namespace hopguard::agent
