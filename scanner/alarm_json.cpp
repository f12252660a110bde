// The alarm line (DESIGN section 7, contract): ECS names, nested objects, one line.
#include "alarm_json.hpp"

#include <hopguard/alarm.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>

namespace hopguard {

namespace {

// "2026-11-22T13:45:58.000Z"
std::string iso8601(std::int64_t ms) {
  const std::int64_t kDay = 86'400'000;
  std::int64_t days = ms >= 0 ? ms / kDay : (ms - (kDay - 1)) / kDay;
  std::int64_t rem = ms - days * kDay;
  // civil_from_days (Howard Hinnant)
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
  const std::int64_t h = rem / 3'600'000;
  rem %= 3'600'000;
  const std::int64_t mi = rem / 60'000;
  rem %= 60'000;
  char buf[128];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(y), static_cast<long long>(m), static_cast<long long>(d),
                static_cast<long long>(h), static_cast<long long>(mi),
                static_cast<long long>(rem / 1000), static_cast<long long>(rem % 1000));
  return buf;
}

}  // namespace

namespace {

bool is_ascii(std::string_view s) noexcept {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
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

// A JSON string of ASCII text, escaped as nlohmann::json::dump escapes it (ensure_ascii off):
// '"', '\\' and the short escapes \b \t \n \f \r, other bytes below 0x20 as \u00xx
// (lower-case hex), everything else as is.
void append_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // start of the bytes not yet copied
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
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
  append_field(out, "@timestamp", iso8601(a.timestamp_ms));
  out.append(",\"event\":{\"kind\":\"alert\",\"severity\":");
  out.append(std::to_string(a.severity));
  out.push_back(',');
  append_field(out, "start", iso8601(a.start_ms));
  out.push_back(',');
  append_field(out, "end", iso8601(a.end_ms));
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
    append_field(out, "ip", a.source_ip);
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
  if (!a.source_ip.empty()) j["source"] = json{{"ip", a.source_ip}};
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
