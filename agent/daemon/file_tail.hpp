// Follows one KDC log file (DESIGN section 9): complete lines only (a partial last line waits
// for its newline), rotation by rename and by copytruncate (a file shorter than the position,
// or whose first bytes changed, is read again from its start), and a restart position that
// survives both.
//
// Rotation by rename: the writer keeps appending to the renamed file until it reopens the
// path (krb5kdc on its next log reopen), so the old file is read until it has not grown for
// rotate_grace before the new one is opened. Then, before the new file, any file of the same
// directory named "<log name>.*" (not compressed) that was modified after the old one and is
// neither the old nor the current file is read from its start: a rotation that happened while
// hopguardd was down or still catching up (logged as event=tail-catch-up).
//
// A position is a TailMark: device, inode, offset, a fingerprint of the first bytes and one of
// the bytes just before the offset (the "edge"): copytruncate followed by writes past the old
// offset, with a head that looks the same (lines of the same second), is caught by the edge,
// while running (checked at every poll) and across a restart. The
// caller persists marks only after the lines before them are scanned and their alarms are
// durable; restore() finds the saved file again even after it was renamed within its
// directory (logrotate's path.1), finishes it, then continues with the current file.
#pragma once

#include "chunk.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace hopguard::agent {

inline constexpr std::size_t kFingerprintBytes = 256;

class FileTail {
 public:
  FileTail(std::uint32_t index, std::string path, std::uint32_t sender,
           std::uint32_t max_line_bytes,
           std::chrono::milliseconds rotate_grace = std::chrono::milliseconds(2000));
  FileTail(const FileTail&) = delete;
  FileTail& operator=(const FileTail&) = delete;
  ~FileTail();

  // Positions the tail at `saved` if that file can still be found (see above); otherwise at
  // the start of the current file (nothing is skipped). Logs what it decided.
  void restore(const std::optional<TailMark>& saved);

  // Appends the complete lines read since the last call (about max_bytes at most) to chunk and
  // sets chunk.mark to the position after them. Returns the number of lines added. Handles
  // rotation and truncation as described above; never blocks on an absent file.
  std::size_t poll(Chunk& chunk, std::size_t max_bytes);

  // Bytes in the file beyond the last complete line handed out (the tail lag metric).
  std::uint64_t lag_bytes() const;
  const std::string& path() const noexcept { return path_; }
  std::uint32_t index() const noexcept { return index_; }

  // The name of the state file holding this path's mark (stable across restarts).
  static std::string state_name(const std::string& path);
  static std::string encode_mark(const TailMark& mark);
  static std::optional<TailMark> decode_mark(std::string_view text);

 private:
  bool open_at(const std::string& file, std::uint64_t offset);
  void close_file();
  void refresh_fingerprint(std::uint64_t file_size);
  bool fingerprint_matches(int fd, std::uint64_t len, std::uint64_t expected) const;
  bool edge_matches(int fd, std::uint64_t end, std::uint64_t len, std::uint64_t expected) const;
  bool saved_position_holds(const TailMark& saved) const;
  void resume_at(const TailMark& saved);
  void refresh_edge();
  void reset_edge();
  void restart_from_zero(const char* why);
  std::uint64_t mark_offset() const;
  TailMark mark();
  std::string find_missed_rotation(std::int64_t after_mtime_ns) const;

  std::uint32_t index_;
  std::string path_;
  std::uint32_t sender_;
  std::uint32_t max_line_bytes_;
  int fd_ = -1;
  std::uint64_t device_ = 0, inode_ = 0;
  std::uint64_t read_offset_ = 0;  // bytes read from the file (complete lines + partial_)
  std::uint64_t file_size_ = 0;
  std::uint64_t fp_len_ = 0, fp_ = 0;
  std::uint64_t edge_end_ = 0, edge_len_ = 0, edge_fp_ = 0;  // edge fingerprint, see above
  std::string partial_;       // read but not yet terminated by '\n'
  bool skipping_ = false;     // inside an over-long line, discarding until its newline
  bool warned_missing_ = false;
  std::chrono::milliseconds rotate_grace_;
  std::optional<std::chrono::steady_clock::time_point> rotation_seen_;  // old file idle since
  std::uint64_t drained_device_ = 0, drained_inode_ = 0;  // the file finished last
};

}  // namespace hopguard::agent
