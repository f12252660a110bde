#include <hopguard/decision_record.hpp>

#include <algorithm>

namespace hopguard {

namespace {

bool needs_quotes(std::string_view v) {
  if (v.empty() || v.size() > kMaxRecordValue) return true;
  for (const char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '=') return true;
  }
  return false;
}

// append_record_field with at most max_raw bytes of the value kept (the rest cut, "...").
void append_field(std::string& out, std::string_view key, std::string_view value, std::size_t max_raw) {
  if (!out.empty()) out += ' ';
  out += key;
  out += '=';
  if (value.size() <= max_raw && !needs_quotes(value)) {
    out += value;
    return;
  }
  const bool cut = value.size() > max_raw;
  if (cut) value = value.substr(0, max_raw);
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += ch;
        }
    }
  }
  if (cut) out += "...";
  out += '"';
}

}  // namespace

void append_record_field(std::string& out, std::string_view key, std::string_view value) {
  append_field(out, key, value, kMaxRecordValue);
}

void append_reason_field(std::string& out, std::string_view reason) {
  // " reason=" and the quotes and "..." around a cut value: 15 bytes; each kept byte is at most
  // four escaped.
  constexpr std::size_t kOverhead = 15;
  const std::size_t room = out.size() + kOverhead < kMaxRecordBytes ? kMaxRecordBytes - out.size() - kOverhead : 0;
  append_field(out, "reason", reason, std::min(kMaxRecordValue, room / 4));
}

std::string format_decision_record(const Request& request, const Decision& decision,
                                   std::string_view verdict_word) {
  std::string out;
  out.reserve(256);
  append_record_field(out, "verdict", verdict_word);
  append_record_field(out, "rule", decision.rule);
  append_record_field(out, "role", to_string(request.role));
  append_record_field(out, "host", request.host);
  append_record_field(out, "user", request.user);
  append_record_field(out, "principal", request.principal.value_or(std::string_view{}));
  append_record_field(out, "rhost", request.rhost.value_or(std::string_view{}));
  append_record_field(out, "stage", to_string(request.stage));
  append_reason_field(out, decision.reason);
  return out;
}

}  // namespace hopguard
