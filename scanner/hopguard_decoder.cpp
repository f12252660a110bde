// hopguard's own decision records (decision_record.hpp): "verdict=... rule=... role=... host=...
// user=... principal=... rhost=... stage=... reason=...", through pam_syslog (prefixed
// "pam_hopguard(SERVICE:TYPE): ", logged under the PAM application's program name) or through
// syslog with ident "hopguard" (the Kerberos plugins).
#include "decoder.hpp"

namespace hopguard::scanner {

namespace {

bool starts_with(std::string_view s, std::string_view p) noexcept { return s.substr(0, p.size()) == p; }

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One value at text[pos]: bare (up to the next space) or double-quoted with escapes. Quoted
// values are unescaped into out (which has capacity reserved, so views stay valid).
bool read_value(std::string_view text, std::size_t& pos, std::string& out, std::string_view& value) noexcept {
  if (pos < text.size() && text[pos] == '"') {
    ++pos;
    const std::size_t start = out.size();
    while (pos < text.size() && text[pos] != '"') {
      char c = text[pos];
      if (c == '\\') {
        if (pos + 1 >= text.size()) return false;
        const char e = text[pos + 1];
        pos += 2;
        switch (e) {
          case '"': c = '"'; break;
          case '\\': c = '\\'; break;
          case 'n': c = '\n'; break;
          case 'r': c = '\r'; break;
          case 't': c = '\t'; break;
          case 'x': {
            const int hi = pos < text.size() ? hex_value(text[pos]) : -1;
            const int lo = pos + 1 < text.size() ? hex_value(text[pos + 1]) : -1;
            if (hi < 0 || lo < 0) return false;
            c = static_cast<char>(hi * 16 + lo);
            pos += 2;
            break;
          }
          default: return false;
        }
      } else {
        ++pos;
      }
      if (out.size() == out.capacity()) return false;  // never reallocate under live views
      out.push_back(c);
    }
    if (pos >= text.size()) return false;  // no closing quote
    ++pos;
    value = std::string_view(out).substr(start);
    return true;
  }
  const std::size_t start = pos;
  while (pos < text.size() && text[pos] != ' ') {
    if (text[pos] == '"' || text[pos] == '=') return false;
    ++pos;
  }
  value = text.substr(start, pos - start);
  return true;
}

}  // namespace

bool decode_decision_record(std::string_view text, Event& ev, DecodeScratch& scratch) noexcept {
  static constexpr std::string_view kKeys[] = {"verdict", "rule", "role", "host", "user",
                                               "principal", "rhost", "stage", "reason"};
  std::string_view* slots[] = {&ev.status, &ev.rule, &ev.role, &ev.record_host, &ev.user,
                               &ev.principal, &ev.address, &ev.stage, &ev.detail};
  unsigned seen = 0;
  scratch.buffer.clear();
  if (scratch.buffer.capacity() < text.size()) {
    try {
      scratch.buffer.reserve(text.size());
    } catch (...) {
      return false;
    }
  }
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t eq = text.find('=', pos);
    if (eq == std::string_view::npos) return false;
    const std::string_view key = text.substr(pos, eq - pos);
    std::size_t k = 0;
    while (k < 9 && kKeys[k] != key) ++k;
    if (k == 9 || (seen & (1u << k)) != 0) return false;  // unknown or repeated key
    seen |= 1u << k;
    pos = eq + 1;
    if (!read_value(text, pos, scratch.buffer, *slots[k])) return false;
    if (pos < text.size()) {
      if (text[pos] != ' ') return false;
      ++pos;
    }
  }
  // verdict and rule are always present (decision_record.hpp: every key is present).
  return (seen & 1u) != 0 && (seen & 2u) != 0;
}

DecodeResult decode_hopguard(const SyslogRecord& record, Event& ev, DecodeScratch& scratch) noexcept {
  std::string_view m = record.message;
  ev = Event{};
  ev.kind = EventKind::hg_decision;
  ev.source = EventSource::hopguard;
  ev.record = &record;
  ev.host = record.hostname;
  ev.pid = record.pid;
  ev.component = "hopguard";
  if (starts_with(m, "pam_hopguard(")) {
    const std::size_t close = m.find("): ");
    if (close == std::string_view::npos || close > 80) return DecodeResult::failed;
    m.remove_prefix(close + 3);
    ev.component = "pam_hopguard";
  }
  if (!starts_with(m, "verdict=")) return DecodeResult::ignored;  // other messages of the module
  if (!decode_decision_record(m, ev, scratch)) return DecodeResult::failed;
  return DecodeResult::event;
}

}  // namespace hopguard::scanner
