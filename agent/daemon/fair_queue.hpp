// The bounded queue between the inputs and the scan stage.
//
// Contract:
// - At most `capacity` frames are queued in total and at most `per_sender` frames per sender
//   (a sender is one peer address or one tailed file), except that a sender with nothing queued
//   may always queue one chunk, so every sender makes progress.
// - pop() serves senders round-robin, one chunk per turn: a sender flooding at line rate (an
//   "authorization tsunami") delays another sender's chunk by at most one chunk per active sender.
// - try_push() never blocks: a refusal is the input's signal to apply backpressure (TCP stops
//   reading so rsyslog queues on its side; UDP counts a drop). The space callback fires, outside
//   the lock, when a refused sender has room again. push_wait() blocks (file and stdin inputs).
#pragma once

#include "chunk.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace hopguard::agent {

class FairQueue {
 public:
  FairQueue(std::size_t capacity, std::size_t per_sender);

  // Takes the chunk iff there is room; on refusal the chunk is left untouched in `chunk`.
  bool try_push(Chunk& chunk);
  // Waits for room; false iff the queue was closed (chunk untouched).
  bool push_wait(Chunk& chunk);
  // Next chunk in round-robin order; nullopt after `timeout` or when closed and empty.
  std::optional<Chunk> pop(std::chrono::milliseconds timeout);

  void set_space_callback(std::function<void()> callback);
  void close();  // wakes everyone; pushes fail, pops drain what is left

  std::size_t depth() const;  // frames queued
  bool closed() const;
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  struct SenderQueue {
    std::deque<Chunk> chunks;
    std::size_t frames = 0;
  };
  bool has_room(const SenderQueue& q, std::size_t frames) const noexcept;
  // Appends chunk (moved from) to q; the caller holds mutex_ and has checked has_room().
  void enqueue_locked(SenderQueue& q, Chunk& chunk, std::size_t frames);

  const std::size_t capacity_;
  const std::size_t per_sender_;
  mutable std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::unordered_map<std::uint32_t, SenderQueue> senders_;
  std::deque<std::uint32_t> ready_;  // senders with queued chunks, in service order
  std::size_t total_ = 0;
  // Senders refused since the last space callback. The callback fires when one of them is at
  // most half full or the whole queue is at most half full, so a paused input is resumed
  // neither too early (thrashing) nor never (a sender refused on total capacity).
  std::unordered_set<std::uint32_t> refused_;
  bool closed_ = false;
  std::function<void()> on_space_;
};

}  // namespace hopguard::agent
