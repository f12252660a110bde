#include "fair_queue.hpp"

namespace hopguard::agent {

FairQueue::FairQueue(std::size_t capacity, std::size_t per_sender)
    : capacity_(capacity == 0 ? 1 : capacity),
      per_sender_(per_sender == 0 ? 1 : per_sender) {}

bool FairQueue::has_room(const SenderQueue& q, std::size_t frames) const noexcept {
  if (q.frames == 0 && total_ < capacity_) return true;  // every sender progresses
  return q.frames + frames <= per_sender_ && total_ + frames <= capacity_;
}

void FairQueue::enqueue_locked(SenderQueue& q, Chunk& chunk, std::size_t frames) {
  const bool was_idle = q.chunks.empty();
  q.frames += frames;
  total_ += frames;
  const std::uint32_t sender = chunk.sender;
  q.chunks.push_back(std::move(chunk));
  if (was_idle) ready_.push_back(sender);  // a sender joins the round-robin when it has work
}

bool FairQueue::try_push(Chunk& chunk) {
  std::unique_lock lock(mutex_);
  if (closed_) return false;
  SenderQueue& q = senders_[chunk.sender];
  const std::size_t n = chunk.frames();
  if (!has_room(q, n)) {
    refused_.insert(chunk.sender);
    return false;
  }
  enqueue_locked(q, chunk, n);
  lock.unlock();
  not_empty_.notify_one();
  return true;
}

bool FairQueue::push_wait(Chunk& chunk) {
  std::unique_lock lock(mutex_);
  const std::size_t n = chunk.frames();
  not_full_.wait(lock, [&] { return closed_ || has_room(senders_[chunk.sender], n); });
  if (closed_) return false;
  enqueue_locked(senders_[chunk.sender], chunk, n);
  lock.unlock();
  not_empty_.notify_one();
  return true;
}

std::optional<Chunk> FairQueue::pop(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!not_empty_.wait_for(lock, timeout, [&] { return closed_ || !ready_.empty(); }))
    return std::nullopt;
  if (ready_.empty()) return std::nullopt;
  const std::uint32_t sender = ready_.front();
  ready_.pop_front();
  SenderQueue& q = senders_[sender];
  Chunk chunk = std::move(q.chunks.front());
  q.chunks.pop_front();
  q.frames -= chunk.frames();
  total_ -= chunk.frames();
  if (!q.chunks.empty()) ready_.push_back(sender);
  bool wake_refused = false;
  if (!refused_.empty()) {
    if (total_ <= capacity_ / 2) {
      wake_refused = true;
    } else {
      for (const std::uint32_t id : refused_) {
        const auto it = senders_.find(id);
        if (it == senders_.end() || it->second.frames <= per_sender_ / 2) {
          wake_refused = true;
          break;
        }
      }
    }
    if (wake_refused) refused_.clear();
  }
  std::function<void()> callback = wake_refused ? on_space_ : nullptr;
  lock.unlock();
  not_full_.notify_all();
  if (callback) callback();
  return chunk;
}

void FairQueue::set_space_callback(std::function<void()> callback) {
  std::lock_guard lock(mutex_);
  on_space_ = std::move(callback);
}

void FairQueue::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  not_empty_.notify_all();
  not_full_.notify_all();
}

std::size_t FairQueue::depth() const {
  std::lock_guard lock(mutex_);
  return total_;
}

}  // namespace hopguard::agent

namespace hopguard::agent {

bool FairQueue::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

}  // namespace hopguard::agent
