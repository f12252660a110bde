// hopguard's own decision records (decision_record.hpp): "verdict=... rule=... role=... host=...
// user=... principal=... rhost=... stage=... reason=...", through pam_syslog (prefixed
// "pam_hopguard(SERVICE:TYPE): ", logged under the PAM application's program name) or through
// syslog with ident "hopguard" (the localauth plugin); and the kdcpolicy module's records, which
// krb5kdc writes into its own log ("krb5kdc[PID](info): hopguard: verdict=...").
#include "decoder.hpp"

#include <iterator>

namespace hopguard::scanner {

namespace {

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

namespace {

// One record schema: its keys, the Event field each value goes to (null: checked, not kept),
// and the keys that must be present.
struct RecordKey {
  std::string_view name;
  std::string_view Event::*slot;
  bool required;
};

bool decode_record(std::string_view text, const RecordKey* keys, std::size_t key_count, Event& ev,
                   DecodeScratch& scratch) noexcept {
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
    while (k < key_count && keys[k].name != key) ++k;
    if (k == key_count || (seen & (1u << k)) != 0) return false;  // unknown or repeated key
    seen |= 1u << k;
    pos = eq + 1;
    std::string_view value;
    if (!read_value(text, pos, scratch.buffer, value)) return false;
    if (keys[k].slot != nullptr) ev.*keys[k].slot = value;
    if (pos < text.size()) {
      if (text[pos] != ' ') return false;
      ++pos;
    }
  }
  for (std::size_t k = 0; k < key_count; ++k) {
    if (keys[k].required && (seen & (1u << k)) == 0) return false;
  }
  return true;
}

// decision_record.hpp: every key is written, but only verdict and rule are needed to match.
constexpr RecordKey kDecisionKeys[] = {
    {"verdict", &Event::status, true},     {"rule", &Event::rule, true},
    {"role", &Event::role, false},         {"host", &Event::record_host, false},
    {"user", &Event::user, false},         {"principal", &Event::principal, false},
    {"rhost", &Event::address, false},     {"stage", &Event::stage, false},
    {"reason", &Event::detail, false},
};

// krb5/kdcpolicy record(): the ticket exchange (as, tgs) is the decision's stage and the
// target guest or bastion is the host the decision protects; mode (enforce, monitor) is
// implied by the verdict (would-deny is monitor mode), so it must be present but is not kept.
constexpr RecordKey kKdcPolicyKeys[] = {
    {"verdict", &Event::status, true},       {"rule", &Event::rule, true},
    {"exchange", &Event::stage, true},       {"principal", &Event::principal, true},
    {"service", &Event::service, true},      {"target", &Event::record_host, true},
    {"mode", nullptr, true},                 {"reason", &Event::detail, false},
};

}  // namespace

bool decode_decision_record(std::string_view text, Event& ev, DecodeScratch& scratch) noexcept {
  return decode_record(text, kDecisionKeys, std::size(kDecisionKeys), ev, scratch);
}

bool decode_kdcpolicy_record(std::string_view text, Event& ev, DecodeScratch& scratch) noexcept {
  return decode_record(text, kKdcPolicyKeys, std::size(kKdcPolicyKeys), ev, scratch);
}

namespace {

// A decision event of record, before its key=value text is read.
void start_decision(const SyslogRecord& record, std::string_view component, Event& ev) noexcept {
  ev = Event{};
  ev.kind = EventKind::hg_decision;
  ev.source = EventSource::hopguard;
  ev.record = &record;
  ev.host = record.hostname;
  ev.pid = record.pid;
  ev.component = component;
}

}  // namespace

DecodeResult decode_hopguard(const SyslogRecord& record, Event& ev, DecodeScratch& scratch) noexcept {
  std::string_view m = record.message;
  start_decision(record, "hopguard", ev);
  if (m.starts_with("pam_hopguard(")) {
    const std::size_t close = m.find("): ");
    if (close == std::string_view::npos || close > 80) return DecodeResult::failed;
    m.remove_prefix(close + 3);
    ev.component = "pam_hopguard";
  }
  if (!m.starts_with("verdict=")) return DecodeResult::ignored;  // other messages of the module
  if (!decode_decision_record(m, ev, scratch)) return DecodeResult::failed;
  return DecodeResult::event;
}

DecodeResult decode_kdcpolicy(const SyslogRecord& record, Event& ev, DecodeScratch& scratch) noexcept {
  std::string_view m = record.message;
  start_decision(record, "hopguard_kdcpolicy", ev);
  if (!m.starts_with(kKdcPolicyPrefix)) return DecodeResult::ignored;
  m.remove_prefix(kKdcPolicyPrefix.size());
  // Start-up, reload and internal-error lines of the module are not decisions.
  if (!m.starts_with("verdict=")) return DecodeResult::ignored;
  if (!decode_kdcpolicy_record(m, ev, scratch)) return DecodeResult::failed;
  // A refusal toward a service of no configured host (krbtgt/OTHER.TEST@HG.TEST) has target=""
  // while the request's KDC line names the service's instance: the same target, so that both
  // lines are one incident (one alarm), not two.
  if (ev.record_host.empty()) {
    std::string_view primary, realm;
    split_service(ev.service, primary, ev.record_host, realm);
  }
  return DecodeResult::event;
}

}  // namespace hopguard::scanner
