// The inputs that read local files: tailed KDC logs (one thread polls them all) and stdin.
// Both wait for queue room instead of dropping (a file can always be read later).
#pragma once

#include "fair_queue.hpp"
#include "file_tail.hpp"
#include "metrics.hpp"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace hopguard::agent {

class TailInput {
 public:
  TailInput(FairQueue& queue, Metrics& metrics, const std::vector<std::string>& paths,
            std::uint32_t max_line_bytes);
  void restore(const std::vector<std::optional<TailMark>>& marks);
  // Polls every file; sleeps 100 ms when none had new lines. Until stop().
  void run();
  void stop();

 private:
  FairQueue& queue_;
  std::vector<std::unique_ptr<FileTail>> tails_;
  std::vector<std::unique_ptr<std::atomic<std::uint64_t>>> lag_;
  std::vector<Metrics::Counter*> lines_;
  std::vector<std::optional<TailMark>> last_;  // last position handed to the queue, per file
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

// Reads syslog frames from stdin (framing detected like a TCP stream) until EOF or stop().
// Calls on_eof() once at EOF (not after stop()).
class StdinInput {
 public:
  StdinInput(FairQueue& queue, Metrics& metrics, std::uint32_t max_frame_bytes);
  void run(const std::function<void()>& on_eof);
  void stop() { stopping_.store(true); }  // run() returns within 200 ms

 private:
  std::atomic<bool> stopping_{false};
  FairQueue& queue_;
  std::uint32_t max_frame_bytes_;
  Metrics::Counter* lines_;
};

}  // namespace hopguard::agent
