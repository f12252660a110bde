#include "file_tail.hpp"

#include "../read_buffer.hpp"
#include "daemon_log.hpp"
#include "state_store.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

namespace hopguard::agent {
namespace {

std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// FNV-1a 64 of the len bytes at offset; ok is false if the file holds fewer.
std::uint64_t hash_range(int fd, std::uint64_t offset, std::uint64_t len, bool& ok) {
  std::string buf(len, '\0');
  std::size_t got = 0;
  while (got < len) {
    const ssize_t n = ::pread(fd, buf.data() + got, len - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ok = got == len;
  return fnv1a64(buf);
}

}  // namespace

FileTail::FileTail(std::uint32_t index, std::string path, std::uint32_t sender,
                   std::uint32_t max_line_bytes, std::chrono::milliseconds rotate_grace)
    : index_(index),
      path_(std::move(path)),
      sender_(sender),
      max_line_bytes_(max_line_bytes),
      rotate_grace_(rotate_grace) {}

std::string FileTail::find_missed_rotation(std::int64_t after_mtime_ns) const {
  const std::string dir = dir_of(path_);
  const std::string base = path_.substr(path_.rfind('/') == std::string::npos ? 0 : path_.rfind('/') + 1);
  struct stat cur {};
  const bool have_cur = ::stat(path_.c_str(), &cur) == 0;
  std::string best;
  std::int64_t best_mtime = 0;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return {};
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (!name.starts_with(base + ".")) continue;
    if (name.ends_with(".gz") || name.ends_with(".xz") || name.ends_with(".bz2") ||
        name.ends_with(".zst") || name.ends_with(".tmp"))
      continue;
    const std::string candidate = dir + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    const auto dev = static_cast<std::uint64_t>(st.st_dev);
    const auto ino = static_cast<std::uint64_t>(st.st_ino);
    if (dev == drained_device_ && ino == drained_inode_) continue;
    if (have_cur && st.st_dev == cur.st_dev && st.st_ino == cur.st_ino) continue;
    const std::int64_t mtime = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 +
                               st.st_mtim.tv_nsec;
    if (mtime <= after_mtime_ns) continue;
    if (best.empty() || mtime < best_mtime) {
      best = candidate;
      best_mtime = mtime;
    }
  }
  ::closedir(d);
  return best;
}

FileTail::~FileTail() { close_file(); }

void FileTail::close_file() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string FileTail::state_name(const std::string& path) {
  return "tail-" + hex64(fnv1a64(path)) + ".state";
}

std::string FileTail::encode_mark(const TailMark& m) {
  return "v2 " + std::to_string(m.device) + " " + std::to_string(m.inode) + " " +
         std::to_string(m.offset) + " " + std::to_string(m.fingerprint_len) + " " +
         std::to_string(m.fingerprint) + " " + std::to_string(m.edge_len) + " " +
         std::to_string(m.edge) + "\n";
}

// v1 marks (no edge) come from hopguardd before the edge fingerprint; they are still honoured.
std::optional<TailMark> FileTail::decode_mark(std::string_view text) {
  std::size_t fields = 0;
  if (text.starts_with("v1 ")) fields = 5;
  else if (text.starts_with("v2 ")) fields = 7;
  else return std::nullopt;
  text.remove_prefix(3);
  std::uint64_t v[7] = {};
  for (std::size_t i = 0; i < fields; ++i) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v[i]);
    if (ec != std::errc()) return std::nullopt;
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  }
  if (text != "\n" || v[3] > kFingerprintBytes || v[5] > kFingerprintBytes || v[5] > v[2])
    return std::nullopt;
  TailMark m;
  m.device = v[0];
  m.inode = v[1];
  m.offset = v[2];
  m.fingerprint_len = v[3];
  m.fingerprint = v[4];
  m.edge_len = v[5];
  m.edge = v[6];
  return m;
}

bool FileTail::fingerprint_matches(int fd, std::uint64_t len, std::uint64_t expected) const {
  bool ok = false;
  const std::uint64_t h = hash_range(fd, 0, len, ok);
  return ok && h == expected;
}

bool FileTail::edge_matches(int fd, std::uint64_t end, std::uint64_t len,
                            std::uint64_t expected) const {
  if (len == 0) return true;
  if (len > end) return false;
  bool ok = false;
  const std::uint64_t h = hash_range(fd, end - len, len, ok);
  return ok && h == expected;
}

bool FileTail::saved_position_holds(const TailMark& saved) const {
  return file_size_ >= saved.offset && file_size_ >= saved.fingerprint_len &&
         fingerprint_matches(fd_, saved.fingerprint_len, saved.fingerprint) &&
         edge_matches(fd_, saved.offset, saved.edge_len, saved.edge);
}

bool FileTail::open_at(const std::string& file, std::uint64_t offset) {
  close_file();
  fd_ = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd_ < 0) return false;
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    LogLine("tail-not-regular").kv("path", file);
    close_file();
    return false;
  }
  device_ = static_cast<std::uint64_t>(st.st_dev);
  inode_ = static_cast<std::uint64_t>(st.st_ino);
  file_size_ = static_cast<std::uint64_t>(st.st_size);
  read_offset_ = offset;
  partial_.clear();
  skipping_ = false;
  fp_len_ = 0;
  fp_ = fnv1a64({});
  reset_edge();
  refresh_fingerprint(file_size_);
  return true;
}

void FileTail::refresh_fingerprint(std::uint64_t file_size) {
  if (fp_len_ >= kFingerprintBytes || file_size <= fp_len_) return;
  const std::uint64_t len = std::min<std::uint64_t>(file_size, kFingerprintBytes);
  bool ok = false;
  const std::uint64_t h = hash_range(fd_, 0, len, ok);
  if (ok) {
    fp_len_ = len;
    fp_ = h;
  }
}

void FileTail::refresh_edge() {
  const std::uint64_t end = mark_offset();
  if (end == edge_end_ && (edge_len_ > 0 || end == 0)) return;
  const std::uint64_t len = std::min<std::uint64_t>(end, kFingerprintBytes);
  bool ok = false;
  const std::uint64_t h = hash_range(fd_, end - len, len, ok);
  edge_end_ = end;
  edge_len_ = ok ? len : 0;
  edge_fp_ = ok ? h : 0;
}

void FileTail::restart_from_zero(const char* why) {
  LogLine("tail-truncated").kv("path", path_).kv("reason", why).kv("offset", read_offset_);
  read_offset_ = 0;
  partial_.clear();
  skipping_ = false;
  fp_len_ = 0;
  fp_ = fnv1a64({});
  reset_edge();
}

void FileTail::resume_at(const TailMark& saved) {
  read_offset_ = saved.offset;
  edge_end_ = saved.offset;
  edge_len_ = saved.edge_len;
  edge_fp_ = saved.edge;
}

void FileTail::reset_edge() {
  edge_end_ = 0;
  edge_len_ = 0;
  edge_fp_ = 0;
}

std::uint64_t FileTail::mark_offset() const {
  return read_offset_ - (skipping_ ? 0 : partial_.size());
}

TailMark FileTail::mark() {
  refresh_edge();
  TailMark m;
  m.tail_index = index_;
  m.device = device_;
  m.inode = inode_;
  m.offset = mark_offset();
  m.fingerprint_len = fp_len_;
  m.fingerprint = fp_;
  m.edge_len = edge_len_;
  m.edge = edge_fp_;
  return m;
}

void FileTail::restore(const std::optional<TailMark>& saved) {
  if (!saved) {
    if (open_at(path_, 0)) LogLine("tail-start").kv("path", path_).kv("offset", std::uint64_t{0});
    return;
  }
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 && static_cast<std::uint64_t>(st.st_dev) == saved->device &&
      static_cast<std::uint64_t>(st.st_ino) == saved->inode) {
    if (open_at(path_, 0)) {
      if (saved_position_holds(*saved)) {
        resume_at(*saved);
        LogLine("tail-resume").kv("path", path_).kv("offset", saved->offset);
      } else {
        LogLine("tail-truncated").kv("path", path_).kv("reason", "changed while stopped")
            .kv("offset", saved->offset);
      }
    }
    return;
  }
  // The saved file is no longer at path_: look for it, renamed, in the same directory.
  const std::string dir = dir_of(path_);
  if (DIR* d = ::opendir(dir.c_str())) {
    std::string found;
    while (const dirent* e = ::readdir(d)) {
      const std::string candidate = dir + "/" + e->d_name;
      struct stat cs {};
      if (::stat(candidate.c_str(), &cs) != 0 || !S_ISREG(cs.st_mode)) continue;
      if (static_cast<std::uint64_t>(cs.st_dev) == saved->device &&
          static_cast<std::uint64_t>(cs.st_ino) == saved->inode) {
        found = candidate;
        break;
      }
    }
    ::closedir(d);
    if (!found.empty() && open_at(found, 0)) {
      if (saved_position_holds(*saved)) {
        resume_at(*saved);
        LogLine("tail-resume-rotated").kv("path", path_).kv("rotated", found)
            .kv("offset", saved->offset);
        return;  // poll() drains it, then sees path_ is another file and switches
      }
      close_file();
    }
  }
  LogLine("tail-rotated-file-lost").kv("path", path_).kv("offset", saved->offset);
  if (open_at(path_, 0)) LogLine("tail-start").kv("path", path_).kv("offset", std::uint64_t{0});
}

std::size_t FileTail::poll(Chunk& chunk, std::size_t max_bytes) {
  if (fd_ < 0) {
    if (!open_at(path_, 0)) {
      if (!warned_missing_) LogLine("tail-waiting").kv("path", path_).kv("error", std::strerror(errno));
      warned_missing_ = true;
      return 0;
    }
    warned_missing_ = false;
    LogLine("tail-start").kv("path", path_).kv("offset", std::uint64_t{0});
  }
  struct stat st {};
  if (::fstat(fd_, &st) == 0) file_size_ = static_cast<std::uint64_t>(st.st_size);
  if (file_size_ < read_offset_) {
    restart_from_zero("file shrank (copytruncate)");
  } else if (fp_len_ > 0 && !fingerprint_matches(fd_, fp_len_, fp_)) {
    restart_from_zero("first bytes changed");
  } else if (!edge_matches(fd_, edge_end_, edge_len_, edge_fp_)) {
    // Truncated and written past our position between two polls, with the same first bytes.
    restart_from_zero("bytes before the position changed");
  }
  refresh_fingerprint(file_size_);

  chunk.sender = sender_;
  chunk.kind = InputKind::file;
  chunk.origin = path_;
  std::size_t lines = 0;
  const std::size_t read_bytes = std::min<std::size_t>(max_bytes, 1 << 20);
  ReadBuffer buf(read_bytes);
  bool at_eof = false;
  std::size_t consumed = 0;
  while (consumed < max_bytes) {
    const ssize_t n = ::pread(fd_, buf.data(), read_bytes, static_cast<off_t>(read_offset_));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      at_eof = true;
      break;
    }
    read_offset_ += static_cast<std::uint64_t>(n);
    consumed += static_cast<std::size_t>(n);
    std::string_view data(buf.data(), static_cast<std::size_t>(n));
    while (!data.empty()) {
      const auto nl = data.find('\n');
      const std::string_view piece = data.substr(0, nl);
      if (skipping_) {
        if (nl != std::string_view::npos) skipping_ = false;
      } else if (partial_.size() + piece.size() > max_line_bytes_) {
        partial_.append(piece.substr(0, max_line_bytes_ - partial_.size()));
        LogLine("frame-truncated").kv("origin", path_).kv("max_frame_bytes",
                                                            std::uint64_t{max_line_bytes_});
        chunk.add_frame(partial_);
        ++lines;
        partial_.clear();
        skipping_ = nl == std::string_view::npos;
      } else if (nl == std::string_view::npos) {
        partial_.append(piece);
      } else {
        std::string_view line = piece;
        if (!partial_.empty()) {
          partial_.append(piece);
          line = partial_;
        }
        if (!line.empty()) {
          chunk.add_frame(line);
          ++lines;
        }
        partial_.clear();
      }
      if (nl == std::string_view::npos) break;
      data.remove_prefix(nl + 1);
    }
  }
  chunk.mark = mark();
  if (!at_eof) return lines;

  // At the end of the open file: has path_ been renamed away (or replaced)?
  struct stat now {};
  const bool same = ::stat(path_.c_str(), &now) == 0 &&
                    static_cast<std::uint64_t>(now.st_dev) == device_ &&
                    static_cast<std::uint64_t>(now.st_ino) == inode_;
  if (same) {
    rotation_seen_.reset();
    return lines;
  }
  // Renamed away: keep reading it until it has been idle for rotate_grace (the writer may not
  // have reopened yet).
  const auto t = std::chrono::steady_clock::now();
  if (consumed > 0 || !rotation_seen_) {
    rotation_seen_ = t;
    if (rotate_grace_.count() > 0) return lines;
  } else if (t - *rotation_seen_ < rotate_grace_) {
    return lines;
  }
  rotation_seen_.reset();
  if (!partial_.empty() && !skipping_) {
    // The old file is finished; its unterminated last line is still a line.
    LogLine("tail-unterminated-line").kv("path", path_).kv("bytes", std::uint64_t{partial_.size()});
    chunk.add_frame(partial_);
    ++lines;
    partial_.clear();
    chunk.mark = mark();
  }
  LogLine("tail-rotated").kv("path", path_).kv("old_inode", inode_).kv("offset", read_offset_);
  struct stat old_st {};
  ::fstat(fd_, &old_st);
  const std::int64_t old_mtime = static_cast<std::int64_t>(old_st.st_mtim.tv_sec) * 1000000000 +
                                 old_st.st_mtim.tv_nsec;
  drained_device_ = device_;
  drained_inode_ = inode_;
  close_file();
  // The chunk's mark stays on the old file: its lines must be checkpointed there first.
  const std::string missed = find_missed_rotation(old_mtime);
  if (!missed.empty() && open_at(missed, 0)) {
    LogLine("tail-catch-up").kv("path", path_).kv("rotated", missed);
    return lines;
  }
  if (open_at(path_, 0)) LogLine("tail-start").kv("path", path_).kv("offset", std::uint64_t{0});
  return lines;
}

std::uint64_t FileTail::lag_bytes() const {
  if (fd_ < 0) return 0;
  const std::uint64_t offset = mark_offset();
  return file_size_ > offset ? file_size_ - offset : 0;
}

}  // namespace hopguard::agent
