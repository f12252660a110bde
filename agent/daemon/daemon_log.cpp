#include "daemon_log.hpp"

#include <hopguard/decision_record.hpp>

#include <unistd.h>

namespace hopguard::agent {

LogLine::LogLine(std::string_view event) {
  text_.reserve(160);
  text_ = "hopguardd:";
  append_record_field(text_, "event", event);
}

LogLine::~LogLine() {
  text_.push_back('\n');
  const char* p = text_.data();
  std::size_t left = text_.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) return;  // stderr gone: nothing better to do in a destructor
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

LogLine& LogLine::kv(std::string_view key, std::string_view value) {
  append_record_field(text_, key, value);
  return *this;
}

LogLine& LogLine::kv(std::string_view key, std::uint64_t value) {
  append_record_field(text_, key, std::to_string(value));
  return *this;
}

LogLine& LogLine::kv(std::string_view key, std::int64_t value) {
  append_record_field(text_, key, std::to_string(value));
  return *this;
}

}  // namespace hopguard::agent
