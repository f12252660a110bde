// hopguardd's own log lines are an API (STYLE 9): one line on stderr per event, fixed shape
//
//   hopguardd: event=NAME key=value key="value with spaces" ...
//
// Keys are fixed words chosen by the caller; values are bounded and escaped by
// append_record_field (the same rules as the decision record), so a peer address, a file name
// or an error text from the network can never forge a second line or a key. systemd's journal
// (or the test harness) captures stderr. Tests assert these lines.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hopguard::agent {

class LogLine {
 public:
  explicit LogLine(std::string_view event);
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;
  ~LogLine();  // writes the line with one write(2), so concurrent lines never interleave

  LogLine& kv(std::string_view key, std::string_view value);
  LogLine& kv(std::string_view key, std::uint64_t value);
  LogLine& kv(std::string_view key, std::int64_t value);
  LogLine& kv(std::string_view key, int value) { return kv(key, static_cast<std::int64_t>(value)); }
  LogLine& kv(std::string_view key, const char* value) { return kv(key, std::string_view(value)); }
  LogLine& kv(std::string_view key, const std::string& value) {
    return kv(key, std::string_view(value));
  }

 private:
  std::string text_;
};

}  // namespace hopguard::agent
