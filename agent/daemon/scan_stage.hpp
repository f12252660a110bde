// The scan stage: the one thread that owns the detection engine. It takes chunks from the
// fair queue, feeds every frame to the engine, advances the engine's clock, hands alarms to
// the dispatch and writes checkpoints.
//
// Checkpoint (state_dir/checkpoint.json, replaced atomically): the engine's correlation
// snapshot and, for each tailed file, the mark after the last chunk scanned. Built by the scan
// thread, written by a writer thread only once AlarmDispatch::wait_durable() says the alarms
// produced up to the snapshot are durable: at once when a tailed file was rotated, and
// otherwise at most once a second while anything moved (less often when building it takes long:
// at most 0.5% of the scan's time, and at least every 10 s). So after kill -9 the daemon restores
// the snapshot, re-reads each file from its mark, and reproduces exactly the alarms not yet
// committed (AlarmDispatch suppresses the ones that were). Frames from network peers cannot
// be re-read: those scanned after the last checkpoint are
// re-scanned by nobody - their open incidents are lost, never duplicated (at most one
// checkpoint interval of them).
// Format: {"version":2,"tails":{PATH:MARK},"engine":SNAPSHOT}; version 1 (engine snapshot as a
// string) is still read.
#pragma once

#include "alarm_dispatch.hpp"
#include "fair_queue.hpp"
#include "metrics.hpp"
#include "detection.hpp"

#include "scanner/engine.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace hopguard::agent {

class ScanStage {
 public:
  ScanStage(FairQueue& queue, AlarmDispatch& dispatch, Metrics& metrics, std::string state_dir,
            std::vector<std::string> tail_paths, Detection detection,
            scanner::EngineOptions options);

  // Reads the checkpoint: restores the engine and returns the saved mark of each tail
  // (indexed like tail_paths). A corrupt checkpoint is logged and ignored.
  std::vector<std::optional<TailMark>> restore();

  // Runs until the queue is closed and empty; then commits and checkpoints. finish_incidents:
  // close every open incident at the end (end of stdin input) instead of persisting them.
  void run(bool finish_incidents);

  void offer_reload(Detection detection);  // any thread; applied between chunks
  void request_reopen();                   // any thread
  void inject(Alarm alarm);                // any thread: a self-alarm, dispatched in order
  // Steady-clock milliseconds of the last loop iteration (the watchdog's liveness signal).
  std::int64_t heartbeat_ms() const noexcept { return heartbeat_.load(); }

 private:
  void on_alarm(const Alarm& alarm);
  void maybe_checkpoint(bool force);
  void write_checkpoints();  // the checkpoint writer thread: fsyncs stay off the scan path
  void publish_stats();

  FairQueue& queue_;
  AlarmDispatch& dispatch_;
  Metrics& metrics_;
  std::string state_dir_;
  std::vector<std::string> tail_paths_;
  Detection detection_;
  scanner::Engine engine_;
  std::vector<std::optional<TailMark>> marks_;
  bool dirty_ = false;  // something moved since the last checkpoint
  std::chrono::steady_clock::time_point last_checkpoint_{};
  std::mutex reload_mutex_;
  std::optional<Detection> pending_reload_;
  std::vector<Alarm> injected_;  // guarded by reload_mutex_
  std::atomic<bool> inject_flag_{false};
  std::atomic<bool> reload_flag_{false};
  std::atomic<bool> reopen_flag_{false};
  std::atomic<std::int64_t> heartbeat_{0};
  scanner::AlarmSink sink_;
  Metrics::Counter* frames_;
  Metrics::Counter* checkpoint_build_us_;
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_cv_;
  struct PendingCheckpoint {
    std::string text;
    std::uint64_t alarms = 0;  // AlarmDispatch::added() when the snapshot was taken
  };
  std::optional<PendingCheckpoint> checkpoint_pending_;  // latest wins
  bool checkpoint_stop_ = false;
};

}  // namespace hopguard::agent
