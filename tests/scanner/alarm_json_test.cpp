// to_json writes all-ASCII alarms directly; it must give the bytes of the general serializer
// (nlohmann::json, scanner/alarm_json.hpp) on every alarm: checked on many generated alarms
// with quotes, backslashes, every control byte and DEL in every field, optional fields on and off.
#include <scanner/alarm_json.hpp>

#include <hopguard/alarm.hpp>

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace hopguard {
namespace {

std::string random_text(std::mt19937& rnd, bool allow_high) {
  static const std::string kSpecial = "\"\\/\b\f\n\r\t\x01\x1f\x7f {}[],:";
  std::string s;
  // Mostly short; some longer than the 16-byte blocks the writer scans, with an escape anywhere.
  const int n = static_cast<int>(rnd() % 8 == 0 ? rnd() % 300 : rnd() % 40);
  for (int i = 0; i < n; ++i) {
    const auto r = rnd() % 10;
    if (r < 5) {
      s.push_back(static_cast<char>('a' + rnd() % 26));
    } else if (r < 8) {
      s.push_back(kSpecial[rnd() % kSpecial.size()]);
    } else if (r < 9) {
      s.push_back(static_cast<char>(rnd() % 0x80));  // any ASCII byte, NUL included
    } else {
      s.push_back(allow_high ? static_cast<char>(0x80 + rnd() % 0x80) : 'z');
    }
  }
  return s;
}

Alarm random_alarm(std::mt19937& rnd, bool allow_high) {
  auto maybe = [&](std::string s) { return rnd() % 3 == 0 ? std::string() : s; };
  Alarm a;
  a.timestamp_ms = static_cast<std::int64_t>(rnd()) * 1000 - 1'000'000'000'000LL;
  a.start_ms = a.timestamp_ms - static_cast<std::int64_t>(rnd() % 100000);
  a.end_ms = a.timestamp_ms;
  // The direct writer prints years 0..9999 itself and falls back to printf outside them.
  static const std::int64_t kEdges[] = {INT64_MIN, INT64_MIN + 1, -62'167'219'200'001LL, -62'167'219'200'000LL, -1, 0,
                                        951'782'400'000LL /* 2000-02-29 */, 253'402'300'799'999LL,
                                        253'402'300'800'000LL, INT64_MAX};
  if (rnd() % 4 == 0) a.timestamp_ms = kEdges[rnd() % std::size(kEdges)];
  if (rnd() % 4 == 0) a.start_ms = kEdges[rnd() % std::size(kEdges)];
  if (rnd() % 4 == 0) a.end_ms = kEdges[rnd() % std::size(kEdges)];
  a.rule_id = random_text(rnd, allow_high);
  a.rule_name = random_text(rnd, allow_high);
  a.severity = static_cast<int>(rnd() % 101);
  a.user = maybe(random_text(rnd, allow_high));
  a.source_ip = maybe(random_text(rnd, allow_high));
  a.principal = maybe(random_text(rnd, allow_high));
  a.principal_class = maybe(random_text(rnd, allow_high));
  a.target = maybe(random_text(rnd, allow_high));
  a.count = rnd() % 5 == 0 ? UINT64_MAX - rnd() % 3 : rnd() % 1000;
  a.aggregated = rnd() % 4 == 0 ? rnd() % 100000 : 0;
  const auto n = rnd() % 5;
  for (std::uint32_t i = 0; i < n; ++i) {
    a.evidence.push_back(Evidence{random_text(rnd, allow_high), random_text(rnd, allow_high),
                                  random_text(rnd, allow_high), a.start_ms});
  }
  return a;
}

TEST(AlarmJson, DirectWriterGivesTheReferenceBytes) {
  std::mt19937 rnd(7);
  for (int i = 0; i < 20000; ++i) {
    const Alarm a = random_alarm(rnd, /*allow_high=*/i % 2 == 1);
    ASSERT_EQ(to_json(a), scanner::alarm_json_reference(a)) << "alarm " << i;
  }
}

TEST(AlarmJson, TimesAreIso8601Utc) {
  Alarm a;
  a.rule_id = "r";
  for (const auto& [ms, want] : std::initializer_list<std::pair<std::int64_t, const char*>>{
           {0, "1970-01-01T00:00:00.000Z"},
           {-1, "1969-12-31T23:59:59.999Z"},
           {951'782'400'000LL, "2000-02-29T00:00:00.000Z"},
           {1'795'392'001'234LL, "2026-11-23T00:00:01.234Z"},
           {253'402'300'799'999LL, "9999-12-31T23:59:59.999Z"},
           {-62'167'219'200'000LL, "0000-01-01T00:00:00.000Z"},
           {253'402'300'800'000LL, "10000-01-01T00:00:00.000Z"}}) {
    a.timestamp_ms = ms;
    const std::string prefix = std::string(R"({"@timestamp":")") + want + "\"";
    EXPECT_EQ(to_json(a).substr(0, prefix.size()), prefix) << ms;
  }
}

TEST(AlarmJson, ControlBytesAreEscaped) {
  Alarm a;
  a.rule_id = "r";
  a.rule_name = std::string("a\"b\\c\x01\x7f\n", 8);
  a.evidence.push_back(Evidence{"kdc", "h", std::string("x\0y", 3), 0});
  const std::string j = to_json(a);
  EXPECT_NE(j.find(R"("name":"a\"b\\c\u0001)" "\x7f" R"(\n")"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("line":"x\u0000y")"), std::string::npos) << j;
}

// ECS source.ip is an ip field: a SIEM rejects a document whose value is none, and the alarm is
// lost there. A source that is no address (a host name sshd gave PAM as rhost) is
// source.address, in the direct writer and the reference alike.
TEST(AlarmJson, SourceIsIpOnlyWhenItIsAnAddress) {
  Alarm a;
  a.rule_id = "r";
  for (const auto& [source, want] : std::initializer_list<std::pair<const char*, const char*>>{
           {"127.0.0.4", R"("source":{"ip":"127.0.0.4"})"},
           {"2001:db8::4", R"("source":{"ip":"2001:db8::4"})"},
           {"desktop9.hg.test", R"("source":{"address":"desktop9.hg.test"})"},
           {"127.0.0.2 port 22", R"("source":{"address":"127.0.0.2 port 22"})"}}) {
    a.source_ip = source;
    EXPECT_NE(to_json(a).find(want), std::string::npos) << to_json(a);
    EXPECT_EQ(to_json(a), scanner::alarm_json_reference(a));
  }
  a.source_ip = "h\xc3\xa9te";  // not ASCII: the reference writer's path
  EXPECT_NE(to_json(a).find(R"("source":{"address":")"), std::string::npos) << to_json(a);
}

}  // namespace
}  // namespace hopguard
