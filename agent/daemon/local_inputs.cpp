#include "local_inputs.hpp"

#include "daemon_log.hpp"
#include "scanner/framing.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <poll.h>
#include <unistd.h>

namespace hopguard::agent {
namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TailInput::TailInput(FairQueue& queue, Metrics& metrics, const std::vector<std::string>& paths,
                     std::uint32_t max_line_bytes)
    : queue_(queue) {
  for (std::size_t i = 0; i < paths.size(); ++i) {
    tails_.push_back(std::make_unique<FileTail>(static_cast<std::uint32_t>(i), paths[i],
                                                static_cast<std::uint32_t>(i + 1), max_line_bytes));
    lag_.push_back(std::make_unique<std::atomic<std::uint64_t>>(0));
    last_.emplace_back();
    lines_.push_back(&metrics.counter("hopguard_input_lines_total", "Frames read, by input",
                                      "input", "file:" + paths[i]));
  }
  metrics.gauge("hopguard_tail_lag_bytes", "Bytes of a tailed file not yet read",
                [this, paths](std::string& out) {
                  for (std::size_t i = 0; i < paths.size(); ++i)
                    Metrics::sample(out, "hopguard_tail_lag_bytes", "path", paths[i],
                                    lag_[i]->load(std::memory_order_relaxed));
                });
}

void TailInput::restore(const std::vector<std::optional<TailMark>>& marks) {
  for (std::size_t i = 0; i < tails_.size(); ++i) {
    tails_[i]->restore(i < marks.size() ? marks[i] : std::nullopt);
    last_[i] = i < marks.size() ? marks[i] : std::nullopt;
  }
}

void TailInput::run() {
  for (;;) {
    bool any = false;
    for (std::size_t i = 0; i < tails_.size(); ++i) {
      Chunk chunk;
      chunk.received_ms = wall_ms();
      const std::size_t n = tails_[i]->poll(chunk, 1 << 20);
      lag_[i]->store(tails_[i]->lag_bytes(), std::memory_order_relaxed);
      if (n == 0) {
        // No lines, but a new file after a rotation: pass the position on anyway, so the
        // scan stage checkpoints the switch at once (see ScanStage) and a restart continues
        // with this file, not with whatever file the path names by then.
        const bool switched = chunk.mark && last_[i] &&
                              (chunk.mark->inode != last_[i]->inode ||
                               chunk.mark->device != last_[i]->device);
        if (!switched) continue;
      }
      if (chunk.mark) last_[i] = chunk.mark;
      any = true;
      lines_[i]->fetch_add(n, std::memory_order_relaxed);
      if (!queue_.push_wait(chunk)) return;  // closed: shutting down
    }
    std::unique_lock lock(mutex_);
    if (stopping_) return;
    if (!any) wake_.wait_for(lock, std::chrono::milliseconds(100), [&] { return stopping_; });
    if (stopping_) return;
  }
}

void TailInput::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
}

StdinInput::StdinInput(FairQueue& queue, Metrics& metrics, std::uint32_t max_frame_bytes)
    : queue_(queue), max_frame_bytes_(max_frame_bytes) {
  lines_ = &metrics.counter("hopguard_input_lines_total", "Frames read, by input", "input", "stdin");
}

void StdinInput::run(const std::function<void()>& on_eof) {
  scanner::Framer framer(scanner::FramerOptions{max_frame_bytes_, scanner::Framing::unknown});
  std::string buf(256 * 1024, '\0');
  constexpr std::uint32_t kStdinSender = 0;
  auto push = [&](Chunk& chunk) {
    if (chunk.frames() == 0) return true;
    lines_->fetch_add(chunk.frames(), std::memory_order_relaxed);
    return queue_.push_wait(chunk);
  };
  for (;;) {
    pollfd p{STDIN_FILENO, POLLIN, 0};
    const int ready = ::poll(&p, 1, 200);
    if (stopping_.load()) return;
    if (ready == 0 || (ready < 0 && errno == EINTR)) continue;
    const ssize_t n = ::read(STDIN_FILENO, buf.data(), buf.size());
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    Chunk chunk;
    chunk.sender = kStdinSender;
    chunk.kind = InputKind::stdin_stream;
    chunk.origin = "stdin";
    chunk.received_ms = wall_ms();
    const auto add = [&](const scanner::Frame& f) {
      if (!f.text.empty()) chunk.add_frame(f.text);
    };
    if (n <= 0) {
      if (n < 0) LogLine("stdin-failed").kv("error", std::strerror(errno));
      framer.finish(add);
      push(chunk);
      break;
    }
    framer.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)), add);
    if (!push(chunk)) return;
  }
  LogLine("stdin-eof").kv("frames", framer.stats().frames);
  on_eof();
}

}  // namespace hopguard::agent
