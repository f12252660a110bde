// Alarms from the engine to every sink, durably, exactly once across a crash.
//
// add() (scan stage) appends an alarm to every spooled sink, whose delivery starts at once, and
// hands it to the committer thread. The committer makes alarms durable in this order: spools
// fdatasync'ed, then the JSONL log written and fdatasync'ed; alarms that arrive meanwhile are
// committed together by its next round. So the scan stage never waits for a disk, and a sink's
// delivery never waits for the alarm log's fsync. wait_durable(n) blocks until the first n alarms
// added are durable: only then may a checkpoint that covers the lines behind them be written
// (the checkpoint writer waits on it; the scan goes on meanwhile).
//
// Exactly once: a crash after an alarm is durable but before the next checkpoint replays log
// lines whose alarms are already in the JSONL log. Replaying the same lines from the same engine
// snapshot produces byte-identical alarm JSON, so at startup the last kReplayWindow lines of the
// alarm log are remembered and an identical alarm is suppressed (counted, logged once). The
// spooled sinks are synced before the JSONL log, so a crash between the two re-sends to them (at
// least once) rather than losing an alarm. A failed commit (alarm log not writable) keeps the
// alarms in memory and is retried every 100 ms and whenever alarms are added; checkpoints wait.
#pragma once

#include "metrics.hpp"
#include "sinks/jsonl_sink.hpp"
#include "sinks/sink_spool.hpp"

#include <hopguard/alarm.hpp>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
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

  // Scan stage only.
  void add(const Alarm& alarm);
  std::uint64_t added() const noexcept { return added_local_; }  // alarms add() handed over

  void start();  // the committer thread
  // Any thread: true once the first `count` alarms added are durable; false if the committer
  // stopped before that (shutdown with the alarm log failing).
  bool wait_durable(std::uint64_t count);
  // Makes everything added durable (one last attempt if the log is failing) and stops the
  // committer; true iff everything added is durable. Call after the last add().
  bool stop();
  ~AlarmDispatch();

  void reopen();  // SIGHUP (logrotate): the committer reopens before its next write
  std::vector<std::unique_ptr<SinkSpool>>& spools() { return spools_; }
  JsonlSink& jsonl() { return *jsonl_; }

 private:
  void run_committer();
  bool commit_batch(const std::vector<std::string>& batch);  // committer only

  std::unique_ptr<JsonlSink> jsonl_;  // the committer's (before start(): the caller's)
  std::vector<std::unique_ptr<SinkSpool>> spools_;
  Metrics& metrics_;
  std::unordered_set<std::string> written_;  // alarm JSON lines written before this start
  std::uint64_t added_local_ = 0;            // scan stage's count (added_ is the shared one)
  std::uint64_t suppressed_ = 0;
  Metrics::Counter* suppressed_counter_;
  bool jsonl_failing_ = false;  // committer only

  std::mutex mutex_;
  std::condition_variable work_;     // the committer waits for alarms, a reopen or the stop
  std::condition_variable durable_;  // wait_durable() waits for the committer
  std::vector<std::string> pending_;  // added, not yet taken by the committer
  std::uint64_t added_ = 0;           // alarms added (guarded by mutex_)
  std::uint64_t durable_count_ = 0;   // the first durable_count_ alarms are durable
  bool reopen_ = false;
  bool stop_ = false;
  bool stopped_ = false;  // the committer has ended
  std::thread committer_;
};

}  // namespace hopguard::agent
