// The alarm line (DESIGN section 7, contract): ECS names, nested objects, one line.
#include "alarm_json.hpp"

#include <hopguard/address.hpp>
#include <hopguard/alarm.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace hopguard {

namespace {

struct Civil {
  std::int64_t y, m, d, h, mi, s, ms;
};

// Milliseconds since the epoch as UTC calendar fields (civil_from_days, Howard Hinnant), for
// every int64 value (floor division without the overflow of ms - (day - 1)).
Civil civil(std::int64_t ms) noexcept {
  const std::int64_t kDay = 86'400'000;
  std::int64_t days = ms / kDay;
  std::int64_t rem = ms % kDay;
  if (rem < 0) {
    --days;
    rem += kDay;
  }
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const std::int64_t doe = days - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = yoe + era * 400;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  return {y, m, d, rem / 3'600'000, rem / 60'000 % 60, rem / 1000 % 60, rem % 1000};
}

// "2026-11-22T13:45:58.000Z" (a year outside 0..9999 as printf's %04lld writes it).
std::string iso8601(std::int64_t ms) {
  const Civil c = civil(ms);
  char buf[128];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ", static_cast<long long>(c.y),
                static_cast<long long>(c.m), static_cast<long long>(c.d), static_cast<long long>(c.h),
                static_cast<long long>(c.mi), static_cast<long long>(c.s), static_cast<long long>(c.ms));
  return buf;
}

// The same bytes as iso8601, appended without printf for the years of every parsed log time
// (four digits): three snprintf calls were about 40% of an alarm line's cost.
void append_iso8601(std::string& out, std::int64_t ms) {
  const Civil c = civil(ms);
  if (c.y < 0 || c.y > 9999) {
    out.append(iso8601(ms));
    return;
  }
  char b[24];
  const auto two = [&](std::size_t at, std::int64_t v) {
    b[at] = static_cast<char>('0' + v / 10);
    b[at + 1] = static_cast<char>('0' + v % 10);
  };
  two(0, c.y / 100);
  two(2, c.y % 100);
  b[4] = '-';
  two(5, c.m);
  b[7] = '-';
  two(8, c.d);
  b[10] = 'T';
  two(11, c.h);
  b[13] = ':';
  two(14, c.mi);
  b[16] = ':';
  two(17, c.s);
  b[19] = '.';
  b[20] = static_cast<char>('0' + c.ms / 100);
  two(21, c.ms % 100);
  b[23] = 'Z';
  out.append(b, sizeof b);
}

}  // namespace

namespace {

bool is_ascii(std::string_view s) noexcept {
  std::size_t i = 0;
#if defined(__SSE2__)
  for (; i + 16 <= s.size(); i += 16) {  // evidence lines are a few hundred bytes
    if (_mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i))) != 0) return false;
  }
#endif
  for (; i < s.size(); ++i) {
    if (static_cast<unsigned char>(s[i]) >= 0x80) return false;
  }
  return true;
}

bool all_ascii(const Alarm& a) noexcept {
  if (!is_ascii(a.rule_id) || !is_ascii(a.rule_name) || !is_ascii(a.user) || !is_ascii(a.source_ip) ||
      !is_ascii(a.principal) || !is_ascii(a.principal_class) || !is_ascii(a.target)) {
    return false;
  }
  for (const Evidence& e : a.evidence) {
    if (!is_ascii(e.source) || !is_ascii(e.host) || !is_ascii(e.line)) return false;
  }
  return true;
}

// The first byte at or after i that append_string escapes (below 0x20, '"', '\\'), or s.size().
std::size_t next_escape(std::string_view s, std::size_t i) noexcept {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), below = _mm_set1_epi8(0x1f);
  for (; i + 16 <= s.size(); i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
    const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
                                     _mm_cmpeq_epi8(_mm_min_epu8(x, below), x));  // x <= 0x1f, unsigned
    const int mask = _mm_movemask_epi8(hit);
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == '"' || c == '\\') return i;
  }
  return s.size();
}

// A JSON string of ASCII text, escaped as nlohmann::json::dump escapes it (ensure_ascii off):
// '"', '\\' and the short escapes \b \t \n \f \r, other bytes below 0x20 as \u00xx
// (lower-case hex), everything else as is.
void append_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // start of the bytes not yet copied
  for (std::size_t i = next_escape(s, 0); i < s.size(); i = next_escape(s, i + 1)) {
    const auto c = static_cast<unsigned char>(s[i]);
    out.append(s.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\b': out.append("\\b"); break;
      case '\t': out.append("\\t"); break;
      case '\n': out.append("\\n"); break;
      case '\f': out.append("\\f"); break;
      case '\r': out.append("\\r"); break;
      default:
        out.append("\\u00");
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
    }
  }
  out.append(s.substr(run));
  out.push_back('"');
}

void append_field(std::string& out, const char* key, std::string_view value) {
  out.push_back('"');
  out.append(key);
  out.append("\":");
  append_string(out, value);
}

void append_time_field(std::string& out, const char* key, std::int64_t ms) {
  out.push_back('"');
  out.append(key);
  out.append("\":\"");
  append_iso8601(out, ms);
  out.push_back('"');
}


// ECS source.ip is an ip field: a SIEM rejects a document whose value is no address (sshd with
// UseDNS gives PAM a host name as rhost; a forged line any text), and the alarm would be lost
// there. Such a text goes to source.address (ECS: an address or a domain, a keyword) instead.
const char* source_key(std::string_view source) noexcept {
  return parse_address(source) ? "ip" : "address";
}

}  // namespace

// The alarm line of an all-ASCII alarm (every alarm of a well-formed log), written directly:
// the same bytes as the general path below (tests/scanner checks both on many alarms), without
// building a JSON document per alarm.
std::string to_json(const Alarm& a) {
  if (!all_ascii(a)) return scanner::alarm_json_reference(a);
  std::string out;
  std::size_t size = 512;
  for (const Evidence& e : a.evidence) size += e.line.size() + e.host.size() + 48;
  out.reserve(size);
  out.push_back('{');
  append_time_field(out, "@timestamp", a.timestamp_ms);
  out.append(",\"event\":{\"kind\":\"alert\",\"severity\":");
  out.append(std::to_string(a.severity));
  out.push_back(',');
  append_time_field(out, "start", a.start_ms);
  out.push_back(',');
  append_time_field(out, "end", a.end_ms);
  out.append("},\"rule\":{");
  append_field(out, "id", a.rule_id);
  out.push_back(',');
  append_field(out, "name", a.rule_name);
  out.push_back('}');
  if (!a.user.empty()) {
    out.append(",\"user\":{");
    append_field(out, "name", a.user);
    out.push_back('}');
  }
  if (!a.source_ip.empty()) {
    out.append(",\"source\":{");
    append_field(out, source_key(a.source_ip), a.source_ip);
    out.push_back('}');
  }
  out.append(",\"hopguard\":{");
  if (!a.principal.empty()) {
    append_field(out, "principal", a.principal);
    out.push_back(',');
    if (!a.principal_class.empty()) {
      append_field(out, "principal_class", a.principal_class);
      out.push_back(',');
    }
  }
  if (!a.target.empty()) {
    append_field(out, "target", a.target);
    out.push_back(',');
  }
  out.append("\"count\":");
  out.append(std::to_string(a.count));
  if (a.aggregated > 0) {
    out.append(",\"aggregated\":");
    out.append(std::to_string(a.aggregated));
  }
  out.append(",\"evidence\":[");
  for (std::size_t i = 0; i < a.evidence.size(); ++i) {
    const Evidence& e = a.evidence[i];
    if (i > 0) out.push_back(',');
    out.push_back('{');
    append_field(out, "source", e.source);
    out.push_back(',');
    append_field(out, "host", e.host);
    out.push_back(',');
    append_field(out, "line", e.line);
    out.push_back('}');
  }
  out.append("]}}");
  return out;
}

std::string scanner::alarm_json_reference(const Alarm& a) {
  using json = nlohmann::ordered_json;
  json j;
  j["@timestamp"] = iso8601(a.timestamp_ms);
  j["event"] = json{{"kind", "alert"}, {"severity", a.severity}, {"start", iso8601(a.start_ms)},
                    {"end", iso8601(a.end_ms)}};
  j["rule"] = json{{"id", a.rule_id}, {"name", a.rule_name}};
  if (!a.user.empty()) j["user"] = json{{"name", a.user}};
  if (!a.source_ip.empty()) j["source"] = json{{source_key(a.source_ip), a.source_ip}};
  json hg = json::object();
  if (!a.principal.empty()) {
    hg["principal"] = a.principal;
    if (!a.principal_class.empty()) hg["principal_class"] = a.principal_class;
  }
  if (!a.target.empty()) hg["target"] = a.target;
  hg["count"] = a.count;
  if (a.aggregated > 0) hg["aggregated"] = a.aggregated;
  json ev = json::array();
  for (const Evidence& e : a.evidence) {
    ev.push_back(json{{"source", e.source}, {"host", e.host}, {"line", e.line}});
  }
  hg["evidence"] = std::move(ev);
  j["hopguard"] = std::move(hg);
  // Invalid UTF-8 in attacker text becomes U+FFFD: the line is always valid JSON.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace hopguard
