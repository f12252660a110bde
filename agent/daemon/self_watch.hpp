// Self-alarms: hopguardd watching its own inputs. Checked once a second by the main thread
// from the metrics counters; each condition raises an Alarm through the same pipeline as any
// other (alarm log and sinks), at most once per condition and subject per `repeat` interval:
//
//   hopguard-input-silent    an input (listener or tailed file) read no line for `silence`
//                            (reported once per silence; again after it spoke and fell silent)
//   hopguard-queue-full      TCP senders were paused or UDP datagrams dropped since the last check
//   hopguard-parse-failures  >= 100 lines of a known program not understood within a minute,
//                            and at least 10% of what that source decoded
#pragma once

#include "metrics.hpp"

#include <hopguard/alarm.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace hopguard::agent {

struct SelfWatchOptions {
  std::chrono::seconds silence{3600};  // 0: input silence is not watched
  std::chrono::seconds repeat{600};
  std::string hostname;
};

class SelfWatch {
 public:
  // inputs: the label values of hopguard_input_lines_total to watch ("tcp://...", "file:...").
  SelfWatch(Metrics& metrics, std::vector<std::string> inputs, SelfWatchOptions options,
            std::function<void(Alarm)> raise);
  void check(std::chrono::steady_clock::time_point now, std::int64_t wall_ms);

 private:
  void raise(std::string_view rule, std::string_view name, int severity, std::string target,
             std::string text, std::int64_t wall_ms, std::uint64_t count);

  Metrics& metrics_;
  SelfWatchOptions options_;
  std::function<void(Alarm)> raise_;
  struct Input {
    std::string name;
    Metrics::Counter* lines;
    std::uint64_t last_value = 0;
    std::chrono::steady_clock::time_point last_change;
    bool reported = false;
  };
  std::vector<Input> inputs_;
  std::uint64_t last_pressure_ = 0;
  std::chrono::steady_clock::time_point last_queue_alarm_{};
  std::map<std::string, std::uint64_t> last_failures_, last_decoded_;
  std::chrono::steady_clock::time_point last_failure_check_{};
  std::map<std::string, std::chrono::steady_clock::time_point> last_failure_alarm_;
};

}  // namespace hopguard::agent
