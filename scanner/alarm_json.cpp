// The alarm line (DESIGN section 7, contract): ECS names, nested objects, one line.
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

std::string to_json(const Alarm& a) {
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
