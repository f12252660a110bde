#include "jsonl_sink.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace hopguard::agent {

JsonlSink::JsonlSink(std::string path) : path_(std::move(path)) {}

JsonlSink::~JsonlSink() {
  if (fd_ >= 0) ::close(fd_);
}

Delivery JsonlSink::open() {
  if (fd_ >= 0) return {};
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd_ < 0) return Delivery::failed(path_ + ": " + std::strerror(errno));
  return {};
}

Delivery JsonlSink::deliver(std::string_view alarm_json) {
  buffer_.append(alarm_json);
  buffer_.push_back('\n');
  return {};
}

Delivery JsonlSink::flush() {
  if (buffer_.empty()) return {};
  if (Delivery d = open(); !d.ok) return d;
  std::size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = path_ + ": " + std::strerror(errno);
      // Keep what was not written; a partial line already written is completed next time
      // because the rest stays in the buffer in order.
      buffer_.erase(0, done);
      return Delivery::failed(why);
    }
    done += static_cast<std::size_t>(n);
  }
  buffer_.clear();
  if (::fdatasync(fd_) != 0) return Delivery::failed(path_ + ": fdatasync: " + std::strerror(errno));
  return {};
}

void JsonlSink::reopen() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  open();
}

}  // namespace hopguard::agent
