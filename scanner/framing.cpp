#include "framing.hpp"

#include <algorithm>
#include <cstring>

namespace hopguard::scanner {

std::string_view to_string(FrameIssue issue) noexcept {
  switch (issue) {
    case FrameIssue::oversized: return "oversized";
    case FrameIssue::truncated: return "truncated";
    case FrameIssue::bad_count: return "bad_count";
  }
  return "unknown";
}

std::string_view to_string(Framing framing) noexcept {
  switch (framing) {
    case Framing::unknown: return "unknown";
    case Framing::lf: return "lf";
    case Framing::octet_counted: return "octet-counted";
  }
  return "unknown";
}

namespace {
constexpr std::uint32_t kMaxCountDigits = 9;  // 999,999,999: far beyond any max_frame_bytes
}  // namespace

Framer::Framer(FramerOptions options) : options_(options), framing_(options.framing) {
  if (options_.max_frame_bytes == 0) options_.max_frame_bytes = 1;
}

void Framer::emit(std::string_view text, bool issue_set, FrameIssue issue, const FrameCallback& cb) {
  ++stats_.frames;
  if (issue_set) {
    if (issue == FrameIssue::oversized) ++stats_.oversized;
    if (issue == FrameIssue::truncated) ++stats_.truncated;
  }
  cb(Frame{text, issue_set, issue});
}

void Framer::feed(std::string_view bytes, const FrameCallback& on_frame) {
  if (bytes.empty()) return;
  detect_framing(bytes);
  if (framing_ == Framing::lf) {
    feed_lf(bytes, on_frame);
  } else {
    feed_octet(bytes, on_frame);
  }
}

// LF framing. A line longer than max_frame_bytes: its first max_frame_bytes are emitted marked
// oversized, the rest up to the next LF is dropped (counted, never buffered).
void Framer::feed_lf(std::string_view bytes, const FrameCallback& cb) {
  const std::size_t max = options_.max_frame_bytes;
  while (!bytes.empty()) {
    const std::size_t nl = bytes.find('\n');
    const std::string_view chunk = bytes.substr(0, nl);  // whole rest when no LF
    const bool complete = nl != std::string_view::npos;
    bytes = complete ? bytes.substr(nl + 1) : std::string_view{};

    if (discarding_) {
      if (complete) discarding_ = false;
      continue;
    }
    if (buffer_.empty() && complete && chunk.size() <= max) {
      const std::string_view line = detail::strip_cr(chunk);
      if (!line.empty()) emit(line, false, FrameIssue::oversized, cb);
      continue;
    }
    if (buffer_.size() + chunk.size() > max) {
      // The line cannot fit: emit its head and drop the rest of it.
      const std::size_t take = max - buffer_.size();
      buffer_.append(chunk.substr(0, take));
      emit(buffer_, true, FrameIssue::oversized, cb);
      buffer_.clear();
      discarding_ = !complete;
      continue;
    }
    buffer_.append(chunk);
    if (complete) {
      const std::string_view line = detail::strip_cr(buffer_);
      if (!line.empty()) emit(line, false, FrameIssue::oversized, cb);
      buffer_.clear();
    }
  }
}

// RFC 6587 octet counting: "LEN SP MSG" repeated. LF, CR and spaces between frames are
// tolerated (some senders add a trailer). A malformed length turns the rest of the stream into
// LF framing (never a silent drop: the bytes become lines).
void Framer::feed_octet(std::string_view bytes, const FrameCallback& cb) {
  const std::size_t max = options_.max_frame_bytes;
  while (!bytes.empty()) {
    if (skip_ > 0) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, bytes.size()));
      skip_ -= n;
      bytes.remove_prefix(n);
      if (skip_ == 0) in_count_ = true;
      continue;
    }
    if (in_count_) {
      const char c = bytes.front();
      if (count_digits_ == 0 && (c == '\n' || c == '\r' || c == ' ')) {
        bytes.remove_prefix(1);
        continue;
      }
      if (c >= '0' && c <= '9' && !(count_digits_ == 0 && c == '0') &&
          count_digits_ < kMaxCountDigits) {
        count_ = count_ * 10 + static_cast<std::uint64_t>(c - '0');
        ++count_digits_;
        buffer_.push_back(c);
        bytes.remove_prefix(1);
        continue;
      }
      if (c == ' ' && count_digits_ > 0) {
        bytes.remove_prefix(1);
        buffer_.clear();
        in_count_ = false;
        remaining_ = count_;
        count_ = 0;
        count_digits_ = 0;
        continue;
      }
      // Not a length: fall back to LF framing; the digits already read start the line.
      ++stats_.bad_count;
      framing_ = Framing::lf;
      count_ = 0;
      count_digits_ = 0;
      std::string held;
      held.swap(buffer_);
      feed_lf(held, cb);
      feed_lf(bytes, cb);
      return;
    }
    // Inside a message of remaining_ bytes (count_ already consumed into remaining_).
    if (buffer_.empty() && remaining_ <= bytes.size() && remaining_ <= max) {
      std::string_view msg = bytes.substr(0, static_cast<std::size_t>(remaining_));
      bytes.remove_prefix(static_cast<std::size_t>(remaining_));
      remaining_ = 0;
      in_count_ = true;
      if (!msg.empty() && msg.back() == '\n') msg.remove_suffix(1);
      emit(msg, false, FrameIssue::oversized, cb);
      continue;
    }
    const std::size_t room = max - std::min<std::size_t>(max, buffer_.size());
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, bytes.size()));
    buffer_.append(bytes.substr(0, std::min(n, room)));
    remaining_ -= n;
    bytes.remove_prefix(n);
    if (buffer_.size() >= max && remaining_ > 0) {
      // Oversized: emit the head now, drop the rest as it arrives.
      emit(buffer_, true, FrameIssue::oversized, cb);
      buffer_.clear();
      skip_ = remaining_;
      remaining_ = 0;
      continue;
    }
    if (remaining_ == 0) {
      std::string_view msg = buffer_;
      if (!msg.empty() && msg.back() == '\n') msg.remove_suffix(1);
      emit(msg, n > room, FrameIssue::oversized, cb);
      buffer_.clear();
      in_count_ = true;
    }
  }
}

void Framer::finish(const FrameCallback& on_frame) {
  if (framing_ == Framing::lf || framing_ == Framing::unknown) {
    if (!buffer_.empty() && !discarding_) {
      const std::string_view line = detail::strip_cr(buffer_);
      if (!line.empty()) emit(line, false, FrameIssue::oversized, on_frame);
    }
  } else if (in_count_) {
    if (count_digits_ > 0) {
      // A length without its message: report it as a truncated frame holding the digits
      // (cut to max_frame_bytes, like every frame).
      emit(std::string_view(buffer_).substr(0, options_.max_frame_bytes), true, FrameIssue::truncated, on_frame);
    }
  } else if (skip_ == 0) {
    emit(buffer_, true, FrameIssue::truncated, on_frame);
  }
  buffer_.clear();
  discarding_ = false;
  in_count_ = true;
  count_ = 0;
  count_digits_ = 0;
  remaining_ = 0;
  skip_ = 0;
}

}  // namespace hopguard::scanner
