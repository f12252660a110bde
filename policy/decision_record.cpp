#include <hopguard/decision_record.hpp>

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

}  // namespace

void append_record_field(std::string& out, std::string_view key, std::string_view value) {
  if (!out.empty()) out += ' ';
  out += key;
  out += '=';
  if (!needs_quotes(value)) {
    out += value;
    return;
  }
  const bool cut = value.size() > kMaxRecordValue;
  if (cut) value = value.substr(0, kMaxRecordValue);
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
  append_record_field(out, "reason", decision.reason);
  return out;
}

}  // namespace hopguard
