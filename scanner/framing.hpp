// Framing: a byte stream (one TCP connection, one UDP datagram, one file) -> frames, one syslog
// message each. Contract: every byte fed ends up in exactly one emitted frame or in one counted
// FrameIssue; no frame is longer than Options::max_frame_bytes; memory held between calls never
// exceeds max(max_frame_bytes, 9) (the 9 digits of an octet count being read).
//
// Two framings, detected per stream from its first byte (RFC 6587): a stream whose first byte is
// an ASCII digit 1-9 is octet-counted ("LEN SP MSG"), anything else is LF-delimited. A trailing
// CR before the LF is removed (CRLF senders). A NUL byte is kept inside the frame (the syslog
// parser and decoders treat it as an ordinary byte); it never ends a frame.
#pragma once

#include "text_search.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

namespace hopguard::scanner {

enum class Framing : std::uint8_t { unknown, lf, octet_counted };

enum class FrameIssue : std::uint8_t {
  oversized,     // longer than max_frame_bytes: the first max_frame_bytes are emitted, marked
  truncated,     // the stream ended inside a frame: what was received is emitted, marked
  bad_count,     // octet-counted stream with a malformed length (not digits, 0, > 9 digits):
                 // the stream falls back to LF framing from that byte on
};

std::string_view to_string(FrameIssue issue) noexcept;
std::string_view to_string(Framing framing) noexcept;

struct FramerOptions {
  std::uint32_t max_frame_bytes = 65536;  // as [agent] max_frame_bytes
  Framing framing = Framing::unknown;     // unknown: detect from the first byte of the stream
};

struct FramerStats {
  std::uint64_t frames = 0;
  std::uint64_t oversized = 0;
  std::uint64_t truncated = 0;
  std::uint64_t bad_count = 0;
};

// One frame. `text` is valid only during the callback. `issue_set` is false for a clean frame.
struct Frame {
  std::string_view text;
  bool issue_set = false;
  FrameIssue issue = FrameIssue::oversized;
};

// Not thread-safe; one Framer per stream (connection or file). Cheap to construct.
class Framer {
 public:
  using FrameCallback = std::function<void(const Frame&)>;

  explicit Framer(FramerOptions options = {});

  // Feeds the next bytes of the stream; calls on_frame for every frame completed by them.
  // Complete frames inside `bytes` are passed without copying.
  void feed(std::string_view bytes, const FrameCallback& on_frame);
  // The same as feed(bytes, on_frame), for a caller that passes its own callable: complete lines
  // of an LF stream go to it directly, without a std::function call per line (a file scan's
  // lines are a few hundred instructions each; the indirection was a tenth of a short one).
  // Lines that continue a held partial line, and every other framing, take feed()'s path.
  template <typename F>
  void feed_each(std::string_view bytes, F&& on_frame);

  // End of stream: a partial frame still held is emitted, marked truncated (LF framing: a last
  // line without LF is emitted as a clean frame, since files commonly end that way).
  void finish(const FrameCallback& on_frame);

  Framing framing() const noexcept { return framing_; }
  const FramerStats& stats() const noexcept { return stats_; }
  // Bytes held for an incomplete frame (never more than max(max_frame_bytes, 9)).
  std::size_t pending_bytes() const noexcept { return buffer_.size(); }

 private:
  // The stream's framing from its first byte when not known yet (RFC 6587, see above).
  void detect_framing(std::string_view bytes) noexcept {
    if (framing_ != Framing::unknown || bytes.empty()) return;
    const char c = bytes.front();
    framing_ = (c >= '1' && c <= '9') ? Framing::octet_counted : Framing::lf;
  }
  void emit(std::string_view text, bool issue_set, FrameIssue issue, const FrameCallback& cb);
  void feed_lf(std::string_view bytes, const FrameCallback& cb);
  void feed_octet(std::string_view bytes, const FrameCallback& cb);

  FramerOptions options_;
  Framing framing_;
  FramerStats stats_;
  std::string buffer_;         // partial frame (LF) or partial length/message (octet-counted)
  bool discarding_ = false;    // LF: inside an oversized line, dropping until the next LF
  // octet-counted state
  bool in_count_ = true;       // reading the decimal length
  std::uint64_t count_ = 0;    // declared length of the current message
  std::uint32_t count_digits_ = 0;
  std::uint64_t remaining_ = 0;  // bytes of the current message still to come
  std::uint64_t skip_ = 0;       // bytes of an oversized message still to drop
};

namespace detail {
// A trailing CR before the LF is removed (CRLF senders).
inline std::string_view strip_cr(std::string_view text) noexcept {
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  return text;
}
}  // namespace detail

template <typename F>
void Framer::feed_each(std::string_view bytes, F&& on_frame) {
  if (bytes.empty()) return;
  detect_framing(bytes);
  const FrameCallback slow = [&on_frame](const Frame& f) { on_frame(f); };
  if (framing_ != Framing::lf) {
    feed_octet(bytes, slow);
    return;
  }
  const std::size_t max = options_.max_frame_bytes;
  while (!bytes.empty()) {
    const char* nl = find_lf(bytes.data(), bytes.size());
    if (nl == nullptr) {  // a partial line: held by feed_lf
      feed_lf(bytes, slow);
      return;
    }
    const std::size_t n = static_cast<std::size_t>(nl - bytes.data());
    if (!buffer_.empty() || discarding_ || n > max) {
      // Ends a held or dropped line, or is oversized: feed_lf's rules, up to and including the LF
      // (after which nothing is held and nothing is being dropped).
      feed_lf(bytes.substr(0, n + 1), slow);
    } else {
      const std::string_view line = detail::strip_cr(std::string_view(bytes.data(), n));
      if (!line.empty()) {
        ++stats_.frames;
        on_frame(Frame{line, false, FrameIssue::oversized});
      }
    }
    bytes.remove_prefix(n + 1);
  }
}

}  // namespace hopguard::scanner
