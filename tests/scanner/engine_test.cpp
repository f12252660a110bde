// The engine end to end in-process: correlation of KDC and host evidence, windows, flood
// aggregation, snapshot/restore, rule compile errors, user regex rules and the alarm JSON.
#include "engine_fixture.hpp"
#include <scanner/compiled_rule.hpp>
#include <scanner/rule_files.hpp>

#include <hopguard/alarm.hpp>

#include <nlohmann/json.hpp>

#include <malloc.h>
#include <fstream>
#include <filesystem>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <utility>

namespace hopguard::scanner {
namespace {

using test::kReceive;
using test::scan;

const std::string kEt = "(2 etypes {aes256-cts-hmac-sha1-96(18), aes128-cts-hmac-sha1-96(17)})";
const std::string kIss = "etypes {rep=aes256-cts-hmac-sha1-96(18), tkt=aes256-cts-hmac-sha1-96(18), ses=aes256-cts-hmac-sha1-96(18)}";

std::string tgs(const std::string& time, const std::string& ip, const std::string& client, const std::string& server) {
  return "Nov 22 " + time + " kdc1 krb5kdc[77](info): TGS_REQ " + kEt + " " + ip +
         ": ISSUE: authtime 1795371052, " + kIss + ", " + client + " for " + server;
}
std::string as_fail(const std::string& time, const std::string& ip, const std::string& client) {
  return "Nov 22 " + time + " kdc1 krb5kdc[77](info): AS_REQ " + kEt + " " + ip + ": PREAUTH_FAILED: " +
         client + " for krbtgt/HG.TEST@HG.TEST, Preauthentication failed";
}

TEST(Engine, KdcAndHostEvidenceMergeIntoOneAlarm) {
  const auto alarms = scan({
      tgs("10:00:00", "127.0.0.2", "alice@HG.TEST", "host/legacy1.hg.test@HG.TEST"),
      "Nov 22 10:00:01 legacy1 sshd[400]: Authorized to alice, krb5 principal alice@HG.TEST (krb5_kuserok)",
      "Nov 22 10:00:01 legacy1 sshd[400]: Accepted gssapi-with-mic for alice from 127.0.0.2 port 5 ssh2: alice@HG.TEST",
  });
  ASSERT_EQ(alarms.size(), 1u);
  const Alarm& a = alarms[0];
  EXPECT_EQ(a.rule_id, "regular-cred-on-legacy");
  EXPECT_EQ(a.principal, "alice@HG.TEST");
  EXPECT_EQ(a.principal_class, "regular");
  EXPECT_EQ(a.target, "legacy1");
  EXPECT_EQ(a.user, "alice");
  EXPECT_EQ(a.source_ip, "127.0.0.2");
  EXPECT_EQ(a.count, 3u);
  ASSERT_EQ(a.evidence.size(), 3u);
  EXPECT_EQ(a.evidence[0].source, "kdc");
  EXPECT_EQ(a.evidence[1].source, "sshd");
  EXPECT_EQ(a.end_ms - a.start_ms, 1000);
}

TEST(Engine, LaterSeparateIncidentAlarmsAgain) {
  // Window 600 s + skew 300 s: an hour later is a new incident.
  const auto alarms = scan({
      tgs("10:00:00", "127.0.0.2", "alice@HG.TEST", "host/legacy1.hg.test@HG.TEST"),
      tgs("10:05:00", "127.0.0.2", "alice@HG.TEST", "host/legacy1.hg.test@HG.TEST"),
      tgs("11:00:00", "127.0.0.2", "alice@HG.TEST", "host/legacy1.hg.test@HG.TEST"),
  });
  ASSERT_EQ(alarms.size(), 2u);
  EXPECT_EQ(alarms[0].count, 2u);
  EXPECT_EQ(alarms[1].count, 1u);
}

TEST(Engine, EvidenceFarOutOfOrderIsASeparateIncident) {
  const auto alarms = scan({
      tgs("11:00:00", "127.0.0.2", "alice@HG.TEST", "host/legacy1.hg.test@HG.TEST"),
      tgs("10:00:00", "127.0.0.2", "alice@HG.TEST", "host/legacy1.hg.test@HG.TEST"),
      tgs("10:56:00", "127.0.0.2", "alice@HG.TEST", "host/legacy1.hg.test@HG.TEST"),  // within the skew
  });
  ASSERT_EQ(alarms.size(), 2u);
  std::uint64_t total = alarms[0].count + alarms[1].count;
  EXPECT_EQ(total, 3u);
}

TEST(Engine, WindowClosesOnEventTimeBeforeFinish) {
  auto policy = test::test_policy();
  Engine e(policy, test::shipped_rules(*policy));
  std::vector<Alarm> out;
  const AlarmSink sink = [&](const Alarm& a) { out.push_back(a); };
  e.feed_line(tgs("10:00:00", "127.0.0.2", "alice@HG.TEST", "host/legacy1.hg.test@HG.TEST"), kReceive, sink);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(e.open_incidents(), 1u);
  e.feed_line("Nov 22 10:20:00 x cron[1]: tick", kReceive, sink);  // other programs advance time too
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(e.open_incidents(), 0u);
}

TEST(Engine, FlushWithDaemonClockClosesWindows) {
  auto policy = test::test_policy();
  Engine e(policy, test::shipped_rules(*policy));
  std::vector<Alarm> out;
  const AlarmSink sink = [&](const Alarm& a) { out.push_back(a); };
  e.feed_line(tgs("10:00:00", "127.0.0.2", "alice@HG.TEST", "host/legacy1.hg.test@HG.TEST"), kReceive, sink);
  const std::int64_t ten = kReceive - 14 * 3600 * 1000;  // Nov 22 10:00:00
  e.flush(ten + 600'000, sink);
  EXPECT_TRUE(out.empty());
  e.flush(ten + 1'200'001, sink);
  EXPECT_EQ(out.size(), 1u);
}

// A line dated more than the skew (300 s in the test site) after its receipt counts as dated
// then: it cannot move the watermark past the open windows (the rule case of a forged line
// between two pieces of evidence), and evidence so dated gets that time. Lines dated up to the
// skew ahead keep their own time.
TEST(Engine, LineDatedAfterReceiptCountsAsDatedThen) {
  auto policy = test::test_policy();
  Engine e(policy, test::shipped_rules(*policy));
  std::vector<Alarm> out;
  const AlarmSink sink = [&](const Alarm& a) { out.push_back(a); };
  const std::int64_t skew = 300'000;
  // Evidence dated a day after receipt (Nov 23 23:59:50 against Nov 23 00:00:00), then a
  // forged noise line dated two days after it.
  e.feed_line("Nov 23 23:59:50 kdc1 krb5kdc[77](info): TGS_REQ " + kEt + " 127.0.0.2: ISSUE: authtime 1795371052, " +
                  kIss + ", alice@HG.TEST for host/legacy1.hg.test@HG.TEST",
              kReceive, sink);
  e.feed_line("<13>1 2026-11-25T10:00:00Z guest7 cron 1 - - x", kReceive, sink);
  // Within the skew: its own time.
  e.feed_line("<13>1 2026-11-23T00:04:59Z guest7 cron 1 - - x", kReceive, sink);
  EXPECT_EQ(e.stats().future_dated, 2u);
  EXPECT_TRUE(out.empty());  // the incident's window is still open
  e.finish(sink);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].start_ms, kReceive + skew);
  EXPECT_EQ(out[0].end_ms, kReceive + skew);
}

TEST(Engine, FirstEvidenceModeEmitsAtOnceAndAgainWithTheFullCount) {
  EngineOptions opt;
  opt.emit = EmitMode::first_evidence;
  const auto alarms = scan({
      tgs("10:00:00", "127.0.0.2", "alice@HG.TEST", "host/legacy1.hg.test@HG.TEST"),
      "Nov 22 10:00:01 legacy1 sshd[400]: Accepted gssapi-with-mic for alice from 127.0.0.2 port 5 ssh2: alice@HG.TEST",
      tgs("10:00:05", "127.0.0.2", "bob@HG.TEST", "host/legacy1.hg.test@HG.TEST"),
  }, opt);
  ASSERT_EQ(alarms.size(), 3u);
  EXPECT_EQ(alarms[0].principal, "alice@HG.TEST");
  EXPECT_EQ(alarms[0].count, 1u);
  EXPECT_EQ(alarms[1].principal, "bob@HG.TEST");
  EXPECT_EQ(alarms[2].principal, "alice@HG.TEST");
  EXPECT_EQ(alarms[2].count, 2u);
}

TEST(Engine, GuessingThresholdPerAddressAndTarget) {
  std::vector<std::string> lines;
  for (int i = 0; i < 4; ++i) lines.push_back(as_fail("10:00:0" + std::to_string(i), "127.0.0.4", "alice-legacy1@HG.TEST"));
  EXPECT_TRUE(scan(lines).empty());  // below the default threshold of 5
  lines.push_back(as_fail("10:00:09", "127.0.0.4", "bob-legacy1@HG.TEST"));
  lines.push_back(as_fail("10:00:10", "127.0.0.4", "bob-legacy1@HG.TEST"));
  const auto alarms = scan(lines);
  ASSERT_EQ(alarms.size(), 1u);
  EXPECT_EQ(alarms[0].rule_id, "special-cred-guessing");
  EXPECT_EQ(alarms[0].target, "legacy1");
  EXPECT_EQ(alarms[0].source_ip, "127.0.0.4");
  EXPECT_EQ(alarms[0].count, 6u);
  EXPECT_EQ(alarms[0].principal, "");  // several principals were tried
}

TEST(Engine, GuessingOutsideWindowDoesNotAdd) {
  std::vector<std::string> lines;
  for (int i = 0; i < 4; ++i) lines.push_back(as_fail("10:0" + std::to_string(i * 2) + ":00", "127.0.0.4", "alice-legacy1@HG.TEST"));
  lines.push_back(as_fail("10:09:00", "127.0.0.4", "alice-legacy1@HG.TEST"));  // 9 minutes after the first
  EXPECT_TRUE(scan(lines).empty());
}

// The threshold holds for any window of the matches' times, in whatever order they arrive: lines
// dated out of order, and many scattered lines (each an hour's worth of minutes apart) that fill
// the kept times, neither hide a burst nor restart its count.
TEST(Engine, GuessingCountsAnyWindowWhateverTheOrder) {
  std::vector<std::string> reversed;
  for (int i = 4; i >= 0; --i) reversed.push_back(as_fail("10:00:0" + std::to_string(i), "127.0.0.4", "alice-legacy1@HG.TEST"));
  const auto a = scan(reversed);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].count, 5u);

  std::vector<std::string> lines;
  char t[16];
  for (int i = 0; i < 300; ++i) {  // 04:00 hours of scattered single failures, 4 minutes apart
    std::snprintf(t, sizeof t, "%02d:%02d:00", i * 4 / 60, i * 4 % 60);
    lines.push_back(as_fail(t, "127.0.0.4", "x" + std::to_string(i) + "-legacy1@HG.TEST"));
  }
  const char* later[] = {"23:40:00", "23:46:00", "23:52:00", "23:58:00", "23:59:59"};
  for (int i = 0; i < 5; ++i) {  // then a burst, sent with a (forged) later line after each
    lines.push_back(as_fail("23:30:0" + std::to_string(i), "127.0.0.4", "alice-legacy1@HG.TEST"));
    lines.push_back(as_fail(later[i], "127.0.0.4", "y-legacy1@HG.TEST"));
  }
  const auto b = scan(lines);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].rule_id, "special-cred-guessing");
  EXPECT_EQ(b[0].count, 5u);
  EXPECT_EQ(b[0].start_ms, b[0].end_ms - 4000);  // the burst's own times
  ASSERT_EQ(b[0].evidence.size(), 5u);            // and its own lines
  for (const Evidence& e : b[0].evidence) EXPECT_NE(e.line.find("alice-legacy1@HG.TEST"), std::string::npos) << e.line;
}

// An incident keeps its first 8 lines and its latest 8: lines that anyone can put into it
// first (unauthenticated clients' failures, below) cannot decide all of its evidence.
TEST(Engine, EvidenceKeepsTheFirstAndTheLatestLines) {
  std::vector<std::string> lines;
  for (int i = 0; i < 20; ++i) {
    char t[16];
    std::snprintf(t, sizeof t, "10:00:%02d", i);
    lines.push_back(tgs(t, "127.0.0.2", "alice@HG.TEST", "host/legacy1.hg.test@HG.TEST"));
  }
  auto alarms = scan(lines);
  ASSERT_EQ(alarms.size(), 1u);
  EXPECT_EQ(alarms[0].count, 20u);
  ASSERT_EQ(alarms[0].evidence.size(), kMaxEvidencePerAlarm);
  for (std::size_t i = 0; i < kMaxEvidencePerAlarm; ++i) {
    const int second = i < 8 ? static_cast<int>(i) : static_cast<int>(i) + 4;  // 0..7, then 12..19
    EXPECT_EQ(alarms[0].evidence[i].time_ms - alarms[0].evidence[0].time_ms, second * 1000) << i;
  }

  // Sixteen failures of made-up names from anywhere, then a real guesser's six: the guesser's
  // lines are among the evidence.
  lines.clear();
  for (int i = 0; i < 16; ++i) {
    char t[16];
    std::snprintf(t, sizeof t, "10:00:%02d", i);
    lines.push_back("Nov 22 " + std::string(t) + " kdc1 krb5kdc[77](info): AS_REQ " + kEt + " 2001:db8::" +
                    std::to_string(i + 1) + ": CLIENT_NOT_FOUND: z" + std::to_string(i) +
                    "-legacy1@HG.TEST for krbtgt/HG.TEST@HG.TEST, Client not found in Kerberos database");
  }
  for (int i = 0; i < 6; ++i) {
    char t[16];
    std::snprintf(t, sizeof t, "10:00:%02d", 20 + i);
    lines.push_back(as_fail(t, "10.9.9.9", "alice-legacy1@HG.TEST"));
  }
  alarms = scan(lines);
  std::size_t real = 0;
  for (const Alarm& a : alarms) {
    if (a.rule_id != "special-cred-guessing" || a.target != "legacy1") continue;
    for (const Evidence& e : a.evidence) real += e.line.find("10.9.9.9: PREAUTH_FAILED: alice-legacy1@") != std::string::npos;
  }
  EXPECT_GE(real, 6u);
}

TEST(Engine, FloodAggregatesAndReportsIt) {
  EngineOptions opt;
  opt.max_open_incidents = 3;
  std::vector<std::string> lines;
  for (int i = 0; i < 10; ++i) {
    lines.push_back(tgs("10:00:00", "127.0.0.2", "user" + std::to_string(i) + "@HG.TEST", "host/legacy1.hg.test@HG.TEST"));
  }
  const auto alarms = scan(lines, opt);
  ASSERT_EQ(alarms.size(), 4u);
  std::uint64_t total = 0, aggregated = 0;
  for (const Alarm& a : alarms) {
    total += a.count;
    aggregated += a.aggregated;
  }
  EXPECT_EQ(total, 10u);       // nothing dropped
  EXPECT_EQ(aggregated, 7u);   // and the aggregation itself is reported
}

// A flood of one rule must not push another rule's incident into an aggregate that names no
// principal nor target: failed AS requests with client names of the requester's choosing, from
// addresses of its own (an IPv6 /64 holds plenty), open one special-cred-guessing incident per
// address (guesses over two guests). Once max_open_incidents are open, the flood's own new
// incidents still fold into its aggregate, but a new incident of another rule makes the flood's
// rule close one of its incidents early (whole, with its names) and opens.
TEST(Engine, FloodOfOneRuleDoesNotAggregateAnotherRulesIncident) {
  EngineOptions opt;
  opt.max_open_incidents = 3;
  std::vector<std::string> lines;
  for (int a = 0; a < 4; ++a) {
    for (int k = 0; k < 5; ++k) {
      lines.push_back(as_fail("10:00:0" + std::to_string(k), "2001:db8::" + std::to_string(a + 1),
                              "u" + std::to_string(a) + "x" + std::to_string(k) + (k % 2 == 0 ? "-legacy1" : "-legacy2") +
                                  "@HG.TEST"));
    }
  }
  lines.push_back(tgs("10:00:30", "10.9.9.9", "mallory@HG.TEST", "host/legacy1.hg.test@HG.TEST"));
  const auto alarms = scan(lines, opt);
  std::uint64_t flood_aggregated = 0;
  std::vector<std::string> guessing_sources;
  int real = 0;
  for (const Alarm& a : alarms) {
    if (a.rule_id == "special-cred-guessing") {
      flood_aggregated += a.aggregated;
      if (a.aggregated == 0 && !a.source_ip.empty()) guessing_sources.push_back(a.source_ip);
      continue;
    }
    ASSERT_EQ(a.rule_id, "regular-cred-on-legacy");
    ++real;
    EXPECT_EQ(a.aggregated, 0u);
    EXPECT_EQ(a.principal, "mallory@HG.TEST");
    EXPECT_EQ(a.target, "legacy1");
    EXPECT_EQ(a.source_ip, "10.9.9.9");
    EXPECT_EQ(a.count, 1u);
  }
  EXPECT_EQ(real, 1);
  EXPECT_EQ(flood_aggregated, 3u);  // the flood beyond the cap is still reported, as before
  // The incident closed early to make room was emitted whole: both the first two addresses' are.
  EXPECT_EQ(guessing_sources, (std::vector<std::string>{"2001:db8::1", "2001:db8::2"}));
}

// Bytes allocated on the heap, by glibc's count (heap chunks and mmapped large blocks); 0 under a
// sanitizer's allocator, which does not report there.
std::size_t heap_bytes() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// The memos of addresses and host names key on line text. Forged KDC lines with long distinct
// address fields and service instances (60 KB each, 2000 of each: 240 MB of keys) must not be
// kept whole: the memos empty themselves past a byte budget, and the engine goes on deciding
// right. (Measured with glibc's mallinfo2; a sanitizer's allocator reports nothing there, and
// then only the alarm is checked.)
TEST(Engine, LongAddressAndServiceFieldsDoNotGrowTheMemos) {
  auto policy = test::test_policy();
  auto rules = test::shipped_rules(*policy);
  Engine e(policy, rules);
  std::vector<Alarm> out;
  const AlarmSink sink = [&](const Alarm& a) { out.push_back(a); };
  const std::string filler(60000, 'x');
  const std::size_t before = heap_bytes();
  for (int i = 0; i < 2000; ++i) {
    const std::string n = std::to_string(i);
    e.feed_line("Nov 22 10:00:00 kdc1 krb5kdc[77](info): AS_REQ " + kEt + " 10." + filler + n +
                    ": ISSUE: authtime 1795371052, " + kIss + ", alice@HG.TEST for krbtgt/HG.TEST@HG.TEST",
                kReceive, sink);
    e.feed_line(tgs("10:00:00", "127.0.0.2", "alice@HG.TEST", "host/" + filler + n + ".hg.test@HG.TEST"),
                kReceive, sink);
  }
  const std::size_t after = heap_bytes();
  if (before != 0) {
    EXPECT_LT(after - std::min(after, before), std::size_t{16} << 20);
  }
  EXPECT_TRUE(out.empty());
  e.feed_line(tgs("10:00:01", "127.0.0.2", "alice@HG.TEST", "host/legacy1.hg.test@HG.TEST"), kReceive, sink);
  e.finish(sink);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].rule_id, "regular-cred-on-legacy");
  EXPECT_EQ(out[0].target, "legacy1");
}

// Threshold groups key on the match's address and keep it: 4000 forged guesses with distinct
// 30 KB address fields (each below the threshold on its own address) must not keep 120 KB each
// (the names are cut to Correlator::kMaxName). Guessing is still counted: per guest, from every
// address, the same burst is one alarm.
TEST(Engine, LongAddressesDoNotGrowTheGuessingGroups) {
  auto policy = test::test_policy();
  auto rules = test::shipped_rules(*policy);
  Engine e(policy, rules);
  std::vector<Alarm> out;
  const AlarmSink sink = [&](const Alarm& a) { out.push_back(a); };
  const std::string filler(30000, '9');
  const std::size_t before = heap_bytes();
  for (int i = 0; i < 4000; ++i) {
    e.feed_line(as_fail("10:00:00", "10." + filler + std::to_string(i), "alice-legacy1@HG.TEST"), kReceive, sink);
  }
  const std::size_t after = heap_bytes();
  if (before != 0) {
    EXPECT_LT(after - std::min(after, before), std::size_t{48} << 20);
  }
  e.finish(sink);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].rule_id, "special-cred-guessing");
  EXPECT_EQ(out[0].target, "legacy1");
  EXPECT_EQ(out[0].count, 4000u);
}

TEST(Engine, SnapshotRestoreContinuesTheIncident) {
  auto policy = test::test_policy();
  auto rules = test::shipped_rules(*policy);
  std::string snap;
  {
    Engine e(policy, rules);
    e.feed_line(tgs("10:00:00", "127.0.0.2", "alice@HG.TEST", "host/legacy1.hg.test@HG.TEST"), kReceive,
                [](const Alarm&) { FAIL() << "no alarm before the window closes"; });
    snap = e.snapshot();
  }
  Engine e2(policy, rules);
  ASSERT_TRUE(e2.restore(snap).ok());
  std::vector<Alarm> out;
  const AlarmSink sink = [&](const Alarm& a) { out.push_back(a); };
  e2.feed_line("Nov 22 10:00:02 legacy1 sshd[400]: Accepted gssapi-with-mic for alice from 127.0.0.2 port 5 ssh2: alice@HG.TEST",
               kReceive, sink);
  e2.finish(sink);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].count, 2u);
  EXPECT_FALSE(e2.restore("{not json").ok());
  EXPECT_FALSE(e2.restore(R"({"version":99})").ok());
}

TEST(Engine, AlarmJsonShapeMatchesDesign) {
  const auto alarms = scan({tgs("13:45:58", "127.0.0.4", "alice@HG.TEST", "host/legacy1.hg.test@HG.TEST")});
  ASSERT_EQ(alarms.size(), 1u);
  const std::string line = to_json(alarms[0]);
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["@timestamp"], "2026-11-22T13:45:58.000Z");
  EXPECT_EQ(j["event"]["kind"], "alert");
  EXPECT_EQ(j["event"]["severity"], 73);
  EXPECT_EQ(j["event"]["start"], "2026-11-22T13:45:58.000Z");
  EXPECT_EQ(j["rule"]["id"], "regular-cred-on-legacy");
  EXPECT_EQ(j["rule"]["name"], "Ordinary credential used toward a legacy guest");
  EXPECT_EQ(j["user"]["name"], "alice");
  EXPECT_EQ(j["source"]["ip"], "127.0.0.4");
  EXPECT_EQ(j["hopguard"]["principal"], "alice@HG.TEST");
  EXPECT_EQ(j["hopguard"]["principal_class"], "regular");
  EXPECT_EQ(j["hopguard"]["target"], "legacy1");
  EXPECT_EQ(j["hopguard"]["count"], 1);
  EXPECT_EQ(j["hopguard"]["evidence"][0]["source"], "kdc");
  EXPECT_EQ(j["hopguard"]["evidence"][0]["host"], "kdc1");
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.rfind("{\"@timestamp\":", 0), 0u);
}

TEST(Engine, AlarmJsonReplacesInvalidUtf8) {
  Alarm a;
  a.rule_id = "x";
  a.user = "bad\xff\xfe";
  const auto j = nlohmann::json::parse(to_json(a));
  EXPECT_EQ(j["user"]["name"], "bad\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(Engine, PamRecordThroughSshdProgramIsHopguardEvidence) {
  const auto alarms = scan({
      "Nov 22 10:00:01 legacy1 sshd[400]: pam_hopguard(sshd:session): verdict=deny rule=regular-cred-on-legacy "
      "role=legacy host=legacy1 user=alice principal=alice@HG.TEST rhost=127.0.0.2 stage=session reason=\"no\"",
  });
  ASSERT_EQ(alarms.size(), 1u);
  EXPECT_EQ(alarms[0].rule_id, "regular-cred-on-legacy");
  EXPECT_EQ(alarms[0].target, "legacy1");
  EXPECT_EQ(alarms[0].evidence[0].source, "pam");
}

TEST(Engine, StatsCountEveryLine) {
  auto policy = test::test_policy();
  Engine e(policy, test::shipped_rules(*policy));
  const AlarmSink sink = [](const Alarm&) {};
  e.feed_line("Nov 22 10:00:00 h cron[1]: x", kReceive, sink);
  e.feed_line("Nov 22 10:00:00 h sshd[1]: Accepted password for x from 1.2.3.4 port x ssh2", kReceive, sink);
  e.feed_line("Nov 22 10:00:00 h sshd[1]: Received disconnect", kReceive, sink);
  e.feed_line("Nov 22 10:00:00 h sshd[1]: Failed password for x from 1.2.3.4 port 1 ssh2", kReceive, sink);
  const auto& s = e.stats();
  EXPECT_EQ(s.lines, 4u);
  EXPECT_EQ(s.skipped, 1u);
  EXPECT_EQ(s.parse_failures[static_cast<std::size_t>(EventSource::sshd)], 1u);
  EXPECT_EQ(s.ignored[static_cast<std::size_t>(EventSource::sshd)], 1u);
  EXPECT_EQ(s.decoded[static_cast<std::size_t>(EventSource::sshd)], 1u);
}

TEST(Ruleset, ReportsEveryErrorWithFileAndLine) {
  auto policy = test::test_policy();
  const std::vector<RuleFile> files = {
      {"bad.toml", "source = \"kdc\"\n"
                   "[[rule]]\nid = \"a\"\nname = \"A\"\nseverity = 200\nevents = [\"kdc.tgs\"]\n"
                   "[[rule]]\nid = \"b\"\nname = \"B\"\nseverity = 1\nevents = [\"kdc.nope\"]\nbogus = 1\n"
                   "[[rule]]\nid = \"c\"\nname = \"C\"\nseverity = 1\nevents = [\"kdc.as\"]\n"
                   "[[rule]]\nid = \"c\"\nname = \"C\"\nseverity = 1\nevents = [\"kdc.as\"]\n"},
  };
  auto r = Ruleset::compile(files, policy->config().rules);
  ASSERT_FALSE(r.ok());
  const std::string all = to_string(r.errors());
  EXPECT_NE(all.find("bad.toml:5"), std::string::npos) << all;   // severity
  EXPECT_NE(all.find("kdc.nope"), std::string::npos) << all;
  EXPECT_NE(all.find("bogus"), std::string::npos) << all;
  EXPECT_NE(all.find("duplicate rule id c"), std::string::npos) << all;
  EXPECT_EQ(r.errors().size(), 4u) << all;
}

TEST(Ruleset, ThresholdByIsCheckedWithFileAndLine) {
  auto policy = test::test_policy();
  const std::vector<RuleFile> files = {
      {"t.toml", "source = \"kdc\"\n"
                 "[[rule]]\nid = \"a\"\nname = \"A\"\nseverity = 1\nevents = [\"kdc.as\"]\n"
                 "threshold = 3\nwindow_seconds = 60\nthreshold_by = \"address\"\n"
                 "[[rule]]\nid = \"b\"\nname = \"B\"\nseverity = 1\nevents = [\"kdc.as\"]\nthreshold_by = \"target\"\n"
                 "[[rule]]\nid = \"c\"\nname = \"C\"\nseverity = 1\nevents = [\"kdc.as\"]\n"
                 "threshold = 3\nwindow_seconds = 60\nthreshold_by = [\"target\", \"target\"]\n"
                 "[[rule]]\nid = \"d\"\nname = \"D\"\nseverity = 1\nevents = [\"kdc.as\"]\n"
                 "threshold = 3\nwindow_seconds = 60\nthreshold_by = []\n"
                 "[[rule]]\nid = \"e\"\nname = \"E\"\nseverity = 1\nevents = [\"kdc.as\"]\n"
                 "threshold = 3\nwindow_seconds = 60\nthreshold_by = [\"target\", 7]\n"
                 "[[rule]]\nid = \"f\"\nname = \"F\"\nseverity = 1\nevents = [\"kdc.as\"]\n"
                 "threshold = 3\nwindow_seconds = 60\nthreshold_by = [\"address-over-targets\", \"target-and-address\"]\n"},
  };
  auto r = Ruleset::compile(files, policy->config().rules);
  ASSERT_FALSE(r.ok());
  const std::string all = to_string(r.errors());
  const std::string bad_value =
      "threshold_by must be one or a list of distinct \"target-and-address\", \"target\", \"address-over-targets\"";
  // Rule a: an unknown grouping; b: no threshold; c: twice the same; d: an empty list; e: not a
  // string. f, a valid list, has none.
  const std::map<std::uint32_t, std::string> want = {
      {9, bad_value}, {15, "threshold_by needs threshold"}, {23, bad_value}, {31, bad_value}, {39, bad_value}};
  std::map<std::uint32_t, std::string> got;
  for (const Error& e : r.errors()) {
    EXPECT_EQ(e.where.file, "t.toml") << all;
    EXPECT_TRUE(e.key.ends_with("].threshold_by")) << all;
    got[e.where.line] = e.message;
  }
  EXPECT_EQ(got, want) << all;
  EXPECT_EQ(r.errors().size(), 5u) << all;
}

// A rules directory's *.toml that is a device or a FIFO is an error naming it, not a hang or
// an unbounded read; the other files are still read and their errors reported with it.
TEST(Ruleset, RuleFilesMustBeRegularFiles) {
  const std::string dir = ::testing::TempDir() + "hg-rule-kinds";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::filesystem::create_symlink("/dev/zero", dir + "/a.toml");
  ASSERT_EQ(::mkfifo((dir + "/b.toml").c_str(), 0600), 0);
  std::ofstream(dir + "/c.toml") << "source = \"kdc\"\n";
  auto files = read_rule_files(dir);
  ASSERT_FALSE(files.ok());
  ASSERT_EQ(files.errors().size(), 2u) << to_string(files.errors());
  EXPECT_EQ(files.errors()[0].where.file, dir + "/a.toml");
  EXPECT_EQ(files.errors()[0].message, "cannot read rule file: not a regular file");
  EXPECT_EQ(files.errors()[1].where.file, dir + "/b.toml");
  std::filesystem::remove_all(dir);
}

// Values that compile but could never work are errors with their file and line: a verdict no
// record has, an empty regex (every line), a named capture the engine does not map (a typo).
TEST(Ruleset, ValuesThatCouldNeverWorkAreErrors) {
  auto policy = test::test_policy();
  const std::vector<RuleFile> files = {
      {"h.toml", "source = \"hopguard\"\n"
                 "[[rule]]\nid = \"a\"\nname = \"A\"\nseverity = 1\nevents = [\"hopguard.decision\"]\n"
                 "verdict = [\"deny\", \"maybe\"]\n"},
      {"u.toml", "source = \"syslog\"\n"
                 "[[rule]]\nid = \"b\"\nname = \"B\"\nseverity = 1\nprogram = \"su\"\nregex = ''\n"
                 "[[rule]]\nid = \"c\"\nname = \"C\"\nseverity = 1\nprogram = \"su\"\n"
                 "regex = '(?<=x)(?<usr>\\S+) \\(?<user>'\n"
                 "[[rule]]\nid = \"d\"\nname = \"D\"\nseverity = 1\nprogram = \"su\"\n"
                 "regex = '(?<=to )(?!x)(?<user>\\S+) \\(?<x (?<principal>\\S+)'\n"},
  };
  auto r = Ruleset::compile(files, policy->config().rules);
  ASSERT_FALSE(r.ok());
  std::map<std::string, std::string> got;
  for (const Error& e : r.errors()) got[e.where.file + ":" + std::to_string(e.where.line)] = e.message;
  const std::map<std::string, std::string> want = {
      {"h.toml:7", "unknown verdict maybe (allow, deny or would-deny)"},
      {"u.toml:7", "regex is empty (it would match every line)"},
      {"u.toml:13", "named capture usr is none of principal, user, address, target"},
  };
  EXPECT_EQ(got, want) << to_string(r.errors());
}

TEST(Ruleset, DetailNotIsCheckedWithFileAndLine) {
  auto policy = test::test_policy();
  const std::vector<RuleFile> files = {
      {"d.toml", "source = \"kdc\"\n"
                 "[[rule]]\nid = \"a\"\nname = \"A\"\nseverity = 1\nevents = [\"kdc.as\"]\ndetail_not = 5\n"
                 "[[rule]]\nid = \"b\"\nname = \"B\"\nseverity = 1\nevents = [\"kdc.as\"]\ndetail_not = [\"x\", \"y\"]\n"},
  };
  auto r = Ruleset::compile(files, policy->config().rules);
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors().size(), 1u) << to_string(r.errors());
  EXPECT_EQ(r.errors()[0].where.file, "d.toml");
  EXPECT_EQ(r.errors()[0].where.line, 7u);
  EXPECT_EQ(r.errors()[0].message, "detail_not must be a string or a list of strings");
}

// hopguardd passes the network peer's address: a record without HOSTNAME (an old guest's
// syslogd forwarding "<38>sshd[400]: ...") takes it as its host, as rsyslog would; a record
// with one keeps its own, and without a sender it stays without a target.
TEST(Engine, RecordWithoutHostnameTakesTheSendersAddress) {
  auto policy = test::test_policy();
  auto rules = test::shipped_rules(*policy);
  const std::string hostless = "<38>sshd[400]: Accepted password for alice from 127.0.0.9 port 2222 ssh2";
  const auto run = [&](const std::string& line, std::string_view sender) {
    Engine e(policy, rules);
    std::vector<Alarm> out;
    const AlarmSink sink = [&](const Alarm& a) { out.push_back(a); };
    e.feed_line(line, kReceive, sink, sender);
    e.finish(sink);
    return out;
  };
  auto alarms = run(hostless, "127.0.0.3");  // legacy1's address
  ASSERT_EQ(alarms.size(), 1u);
  EXPECT_EQ(alarms[0].rule_id, "legacy-login-not-via-bastion");
  EXPECT_EQ(alarms[0].target, "legacy1");
  EXPECT_EQ(alarms[0].source_ip, "127.0.0.9");
  EXPECT_TRUE(run(hostless, "").empty());
  EXPECT_TRUE(run(hostless, "127.0.0.30").empty());  // no configured host's address
  // A HOSTNAME of its own wins over the sender (a relay forwards every guest's lines).
  alarms = run("<38>Nov 22 10:00:01 legacy1 sshd[400]: Accepted password for alice from 127.0.0.9 port 2222 ssh2",
               "127.0.0.30");
  ASSERT_EQ(alarms.size(), 1u);
  EXPECT_EQ(alarms[0].target, "legacy1");
  // A krb5kdc line without HOSTNAME sent by a legacy guest is a guest's, and so forged.
  alarms = run("<30>krb5kdc[77]: AS_REQ " + kEt + " 127.0.0.4: PREAUTH_FAILED: x@HG.TEST for krbtgt/HG.TEST@HG.TEST, y",
               "127.0.0.3");
  ASSERT_EQ(alarms.size(), 1u);
  EXPECT_EQ(alarms[0].rule_id, "forged-log-sender");
}

// A KDC file line forwarded by rsyslog's imfile under the tag krb5kdc (a second header around
// it) is unwrapped: its request is decoded and matched, and its own host is checked (a
// bastion's krb5kdc line is forged). The engine skips the wrapped-line check only for messages
// that are KDC requests themselves.
TEST(Engine, WrappedKdcFileLinesAreUnwrapped) {
  const std::string inner_request =
      "TGS_REQ " + kEt + " 127.0.0.2: ISSUE: authtime 1, " + kIss + ", alice@HG.TEST for host/legacy1.hg.test@HG.TEST";
  const auto rules_of = [](const std::vector<Alarm>& alarms) {
    std::vector<std::string> ids;
    for (const Alarm& a : alarms) ids.push_back(a.rule_id);
    return ids;
  };
  // From the KDC's own host: the request's alarm.
  EXPECT_EQ(rules_of(scan({"<30>Nov 22 10:00:01 kdc1 krb5kdc: Nov 22 10:00:01 kdc1 krb5kdc[77](info): " + inner_request})),
            std::vector<std::string>{"regular-cred-on-legacy"});
  // A file line that a bastion logged: forged, whatever the outer header says.
  EXPECT_EQ(rules_of(scan({"<30>Nov 22 10:00:01 kdc1 krb5kdc: Nov 22 10:00:01 bastion krb5kdc[77](info): " +
                           inner_request})),
            std::vector<std::string>{"forged-log-sender"});
}

// Two wrong passwords from (address, principal) at 10:00:00 and 10:00:01 (below the threshold)
// in one engine, its snapshot restored into another, then three for alice-legacy1@ from
// 127.0.0.4: the alarms of the second engine.
std::vector<Alarm> guesses_across_a_snapshot(const std::array<std::pair<const char*, const char*>, 2>& before) {
  auto policy = test::test_policy();
  auto rules = test::shipped_rules(*policy);
  std::string snap;
  {
    Engine e(policy, rules);
    const AlarmSink none = [](const Alarm&) { ADD_FAILURE() << "below the threshold"; };
    e.feed_line(as_fail("10:00:00", before[0].first, before[0].second), kReceive, none);
    e.feed_line(as_fail("10:00:01", before[1].first, before[1].second), kReceive, none);
    snap = e.snapshot();
  }
  Engine e2(policy, rules);
  EXPECT_TRUE(e2.restore(snap).ok());
  std::vector<Alarm> out;
  const AlarmSink sink = [&](const Alarm& a) { out.push_back(a); };
  for (const char* t : {"10:00:02", "10:00:03", "10:00:04"}) {
    e2.feed_line(as_fail(t, "127.0.0.4", "alice-legacy1@HG.TEST"), kReceive, sink);
  }
  e2.finish(sink);
  return out;
}

// A guessing group keeps its address, or that it has several, through a snapshot: the alarm
// after the restore counts both sides and names the address only when all came from one.
TEST(Engine, SnapshotKeepsTheAddressesOfAGuessingGroup) {
  for (const char* second : {"127.0.0.4", "127.0.0.7"}) {
    SCOPED_TRACE(second);
    const auto out = guesses_across_a_snapshot({{{"127.0.0.4", "alice-legacy1@HG.TEST"}, {second, "alice-legacy1@HG.TEST"}}});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].rule_id, "special-cred-guessing");
    EXPECT_EQ(out[0].count, 5u);
    EXPECT_EQ(out[0].source_ip, std::string(second) == "127.0.0.4" ? "127.0.0.4" : "");
    EXPECT_EQ(out[0].principal, "alice-legacy1@HG.TEST");
  }
}

// A per-address guessing group keeps the guest of each guess through a snapshot: after the
// restore, a window over two guests alarms (with the address, no guest), and one over a single
// guest does not alarm a second time beside that guest's own alarm (it would if the restored
// guesses lost their guest and looked like another one's).
TEST(Engine, SnapshotKeepsTheGuestsOfAGuessingGroup) {
  for (const char* first : {"alice-legacy1@HG.TEST", "alice-legacy2@HG.TEST"}) {
    SCOPED_TRACE(first);
    const bool two_guests = std::string(first) == "alice-legacy2@HG.TEST";
    const auto out = guesses_across_a_snapshot({{{"127.0.0.4", first}, {"127.0.0.4", "alice-legacy1@HG.TEST"}}});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].rule_id, "special-cred-guessing");
    EXPECT_EQ(out[0].count, 5u);
    EXPECT_EQ(out[0].source_ip, "127.0.0.4");
    EXPECT_EQ(out[0].target, two_guests ? "" : "legacy1");
    EXPECT_EQ(out[0].principal, two_guests ? "" : "alice-legacy1@HG.TEST");
  }
}

TEST(Ruleset, SyntaxErrorNamesLine) {
  auto policy = test::test_policy();
  auto r = Ruleset::compile({{"x.toml", "source = \"kdc\"\n[[rule]\n"}}, policy->config().rules);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors()[0].where.file, "x.toml");
  EXPECT_EQ(r.errors()[0].where.line, 2u);
}

// A rules file without a single [[rule]] detects nothing: a typo in the table name, or a
// shipped or site file emptied by accident, must not silently drop its detections. The typos
// have their own errors too ([rule] is no array of tables, [[rules]] is an unknown key).
TEST(Ruleset, AFileWithoutRulesIsAnError) {
  auto policy = test::test_policy();
  const std::string none = "no [[rule]] in the file: a rules file without rules detects nothing";
  struct Case {
    std::string text;
    std::vector<std::string> errors;  // Error::to_string(), in order
  };
  const Case cases[] = {
      {"source = \"kdc\"\n# every rule commented out\n", {"x.toml: rule: " + none}},
      {"source = \"kdc\"\nrule = []\n", {"x.toml:2:8: rule: must not be empty: a rules file without rules detects nothing"}},
      {"source = \"kdc\"\n[[rules]]\nid = \"a\"\n", {"x.toml:2:1: rules: unknown key", "x.toml: rule: " + none}},
      {"source = \"kdc\"\n[rule]\nid = \"a\"\n", {"x.toml:2:1: rule: rule must be an array of tables ([[rule]])"}},
      // An empty file: no source and no rules.
      {"", {"x.toml:1:1: source: missing source", "x.toml: rule: " + none}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    auto r = Ruleset::compile({{"x.toml", c.text}}, policy->config().rules);
    ASSERT_FALSE(r.ok());
    std::vector<std::string> got;
    for (const Error& e : r.errors()) got.push_back(e.to_string());
    EXPECT_EQ(got, c.errors);
  }
  // The error names the file among several, and the others still load.
  auto r = Ruleset::compile({{"a.toml", "source = \"syslog\"\n[[rule]]\nid = \"x\"\nname = \"x\"\nseverity = 1\n"
                                        "program = \"su\"\nregex = 'x'\n"},
                             {"b.toml", "source = \"syslog\"\n"}},
                            policy->config().rules);
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors().size(), 1u) << to_string(r.errors());
  EXPECT_EQ(r.errors()[0].where.file, "b.toml");
  EXPECT_EQ(r.errors()[0].code, ErrorCode::missing_key);
}

TEST(Ruleset, DisabledRulesAreDropped) {
  auto policy = test::test_policy("[rules]\ndisabled = [\"regular-cred-on-legacy\"]\n");
  ASSERT_TRUE(policy);
  auto rules = test::shipped_rules(*policy);
  const auto alarms = scan({tgs("13:45:58", "127.0.0.4", "alice@HG.TEST", "host/legacy1.hg.test@HG.TEST")}, {},
                           policy, rules);
  EXPECT_TRUE(alarms.empty());
}

// An unknown id in [rules] disabled is an error at the line of the disabled key of the site
// config, so the operator finds the typo in a long config.
TEST(Ruleset, UnknownDisabledRuleNamesTheConfigLine) {
  const std::string path = std::string(HOPGUARD_TEST_DATA) + "/hopguard.toml";
  std::ifstream in(path);
  const std::string base((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // test_policy appends "\n" and the extra text: [rules] is two lines after the last line.
  const auto rules_line = static_cast<std::uint32_t>(std::count(base.begin(), base.end(), '\n') + 2);
  auto policy = test::test_policy("[rules]\ndisabled = [\n  \"regular-cred-on-legacy\",\n  \"no-such-rule\",\n]\n");
  ASSERT_TRUE(policy);
  auto r = Ruleset::compile(shipped_rule_files(), policy->config().rules);
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors().size(), 1u) << to_string(r.errors());
  EXPECT_EQ(r.errors()[0].code, ErrorCode::bad_value);
  EXPECT_EQ(r.errors()[0].where.file, path);
  EXPECT_EQ(r.errors()[0].where.line, rules_line + 1);
  EXPECT_EQ(r.errors()[0].key, "rules.disabled");
  EXPECT_EQ(r.errors()[0].to_string(),
            path + ":" + std::to_string(rules_line + 1) + ":12: rules.disabled: disabled rule no-such-rule does not exist");
}

TEST(Ruleset, UserRegexRuleWithNamedCaptures) {
  auto policy = test::test_policy();
  auto rules = test::shipped_rules(*policy, {{"user.toml",
      "source = \"syslog\"\n[[rule]]\nid = \"su-to-root\"\nname = \"su to root\"\nseverity = 40\n"
      "program = \"su\"\nregex = '^\\(to root\\) (?<user>\\S+) on'\n"}});
  ASSERT_TRUE(rules);
  const auto alarms = scan({"Nov 22 10:00:00 legacy1 su[5]: (to root) alice on pts/0",
                            "Nov 22 10:00:00 legacy1 sudo[5]: (to root) alice on pts/0"},
                           {}, policy, rules);
  ASSERT_EQ(alarms.size(), 1u);
  EXPECT_EQ(alarms[0].rule_id, "su-to-root");
  EXPECT_EQ(alarms[0].user, "alice");
}

// A line that runs a user regex out of its limits (scanner/regex_search.hpp) is counted for
// the rule and fails closed: the rule's alarm, with the line as evidence and nothing captured
// (before, it counted only: a long crafted line was a way past the rule). The engine goes on.
TEST(Ruleset, PathologicalUserRegexIsCountedAndFailsClosed) {
  auto policy = test::test_policy();
  auto rules = test::shipped_rules(*policy, {{"user.toml",
      "source = \"syslog\"\n[[rule]]\nid = \"slow\"\nname = \"slow\"\nseverity = 1\n"
      "program = \"evil\"\nregex = '(?<user>a+)+$'\n"}});
  ASSERT_TRUE(rules);
  Engine e(policy, rules);
  std::vector<Alarm> alarms;
  const AlarmSink sink = [&](const Alarm& a) { alarms.push_back(a); };
  const std::string crafted = "Nov 22 10:00:00 h evil[1]: " + std::string(4000, 'a') + "b";
  e.feed_line(crafted, kReceive, sink);
  e.feed_line("Nov 22 10:00:00 h evil[1]: aaa", kReceive, sink);  // matches: user "aaa"
  e.feed_line("Nov 22 10:00:00 h sshd[1]: Failed password for x from 1.2.3.4 port 1 ssh2", kReceive, sink);
  e.finish(sink);
  EXPECT_EQ(e.stats().lines, 3u);
  EXPECT_EQ(e.stats().regex_errors_by_rule.at("slow"), 1u);
  ASSERT_EQ(alarms.size(), 2u);
  const Alarm* undecided = alarms[0].user.empty() ? &alarms[0] : &alarms[1];
  const Alarm* matched = alarms[0].user.empty() ? &alarms[1] : &alarms[0];
  EXPECT_EQ(undecided->rule_id, "slow");
  EXPECT_TRUE(undecided->principal.empty());
  ASSERT_EQ(undecided->evidence.size(), 1u);
  EXPECT_EQ(undecided->evidence[0].line, crafted.substr(0, undecided->evidence[0].line.size()));
  EXPECT_EQ(matched->rule_id, "slow");
  EXPECT_EQ(matched->user, "aaa");
}

// One user rule, at line 2 of u.toml, whose regex (line 7) is pattern.
auto compile_user_regex(const std::string& pattern) {
  auto policy = test::test_policy();
  return Ruleset::compile({{"u.toml", "source = \"syslog\"\n[[rule]]\nid = \"x\"\nname = \"x\"\nseverity = 1\n"
                                      "program = \"p\"\nregex = '" + pattern + "'\n"}},
                          policy->config().rules);
}

TEST(Ruleset, InvalidUserRegexIsACompileError) {
  auto r = compile_user_regex("(unclosed");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(to_string(r.errors()).find("u.toml:7"), std::string::npos) << to_string(r.errors());
}

// A regex that recurses ((?R), (?1), (?&name)) is refused at its line: the search limits do not
// bound its cost (regex_search.hpp).
TEST(Ruleset, RecursiveUserRegexIsACompileError) {
  auto r = compile_user_regex("(\\((?:[^()]|(?1))*\\))");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors().size(), 1u) << to_string(r.errors());
  EXPECT_EQ(r.errors()[0].where.line, 7u);
  EXPECT_EQ(r.errors()[0].message,
            "regex recursion ((?R), (?1), (?&name)) is not allowed: its cost on a crafted line is not bounded");
}

// A localauth record without rhost takes the address of the latest auth line of its sshd
// process, whatever the lengths of the addresses that process logged before (the engine keeps
// them in reused room: 46 bytes first, 255 when a longer one comes).
// sshd process 30186 on the bastion: a GSSAPI auth line from address, and the localauth record
// (no rhost) that its krb5_kuserok() logs next.
std::string bastion_postponed(const std::string& address) {
  return "Nov 22 10:00:01 bastion sshd[30186]: Postponed gssapi-with-mic for alice from " + address +
         " port 40185 ssh2 [preauth]";
}
const std::string kBastionLocalauth =
    "Nov 22 10:00:01 bastion hopguard[30186]: verdict=deny rule=special-cred-on-bastion role=bastion host=bastion "
    "user=alice principal=alice-legacy1@HG.TEST rhost=\"\" stage=session reason=\"x\"";

TEST(Engine, LocalauthRecordTakesLatestPeerAddressOfItsProcess) {
  const std::string long_address = "2001:0db8:0000:0000:0000:ff00:0042:8329%" + std::string(60, 'z');
  const auto& postponed = bastion_postponed;
  const std::string& record = kBastionLocalauth;
  for (const auto& [first, latest] : {std::pair{std::string("127.0.0.5"), long_address},
                                      std::pair{long_address, std::string("127.0.0.6")},
                                      std::pair{std::string("127.0.0.5"), std::string("127.0.0.7")}}) {
    const auto alarms = scan({postponed(first), postponed(latest), record});
    ASSERT_EQ(alarms.size(), 1u) << first << " then " << latest;
    EXPECT_EQ(alarms[0].rule_id, "special-cred-on-bastion");
    EXPECT_EQ(alarms[0].source_ip, latest);
  }
}


// Only the localauth record (ident hopguard) without an rhost takes its sshd process's peer
// address: a pam_hopguard record of the same process without one names no source (it is not the
// record that address belongs to), and a record with its own rhost keeps that.
TEST(Engine, OnlyALocalauthRecordWithoutRhostTakesItsPeerAddress) {
  const std::string postponed = bastion_postponed("127.0.0.5");
  const std::string pam =
      "Nov 22 10:00:01 bastion sshd[30186]: pam_hopguard(sshd:account): verdict=deny rule=special-cred-on-bastion "
      "role=bastion host=bastion user=alice principal=alice-legacy1@HG.TEST rhost=\"\" stage=account reason=\"x\"";
  const std::string own_rhost =
      "Nov 22 10:00:01 bastion hopguard[30186]: verdict=deny rule=special-cred-on-bastion role=bastion host=bastion "
      "user=alice principal=alice-legacy1@HG.TEST rhost=127.0.0.9 stage=session reason=\"x\"";
  for (const auto& [record, source] : {std::pair{pam, std::string()}, std::pair{own_rhost, std::string("127.0.0.9")},
                                       std::pair{kBastionLocalauth, std::string("127.0.0.5")}}) {
    const auto alarms = scan({postponed, record});
    ASSERT_EQ(alarms.size(), 1u) << record;
    EXPECT_EQ(alarms[0].rule_id, "special-cred-on-bastion") << record;
    EXPECT_EQ(alarms[0].source_ip, source) << record;
  }
}

// The engine remembers the latest 4096 sshd processes at least (two generations of them): a
// flood of other sshd connections between a login's auth line and its later record must not
// make it forget the login. (Emptying a full map at once lost the localauth alarm's source and
// the session failure's evidence.)
// A GSSAPI login's Postponed line on the bastion, fillers Postponed lines of other sshd processes
// on filler_host, then the login's localauth record (no rhost): its alarms.
std::vector<Alarm> localauth_after_other_processes(const std::string& filler_host, int fillers) {
  std::vector<std::string> lines{
      "Nov 22 10:00:01 bastion sshd[30186]: Postponed gssapi-with-mic for alice from 127.0.0.5 port 40185 ssh2 "
      "[preauth]"};
  for (int pid = 1; pid <= fillers; ++pid) {
    lines.push_back("Nov 22 10:00:01 " + filler_host + " sshd[" + std::to_string(100000 + pid) +
                    "]: Postponed gssapi-with-mic for bob from 127.0.0.9 port 1 ssh2 [preauth]");
  }
  lines.push_back(
      "Nov 22 10:00:02 bastion hopguard[30186]: verdict=deny rule=special-cred-on-bastion role=bastion host=bastion "
      "user=alice principal=alice-legacy1@HG.TEST rhost=\"\" stage=session reason=\"x\"");
  return scan(lines);
}

TEST(Engine, LocalauthRecordKeepsItsSourceAfterThousandsOfOtherProcesses) {
  const auto alarms = localauth_after_other_processes("bastion", 5000);
  ASSERT_EQ(alarms.size(), 1u);
  EXPECT_EQ(alarms[0].rule_id, "special-cred-on-bastion");
  EXPECT_EQ(alarms[0].source_ip, "127.0.0.5");
}

TEST(Engine, SessionFailureJoinsItsLoginAfterThousandsOfOtherProcesses) {
  const std::string refused = "Nov 22 10:00:03 legacy1 sshd[400]: error: PAM: pam_open_session(): Permission denied";
  std::vector<std::string> lines{
      "Nov 22 10:00:01 legacy1 sshd[400]: Accepted gssapi-with-mic for alice from 127.0.0.2 port 5 ssh2: alice@HG.TEST"};
  for (int pid = 1; pid <= 5000; ++pid) {
    lines.push_back("Nov 22 10:00:02 legacy1 sshd[" + std::to_string(100000 + pid) +
                    "]: Accepted gssapi-with-mic for alice from 127.0.0.2 port 5 ssh2: alice@HG.TEST");
  }
  lines.push_back(refused);
  const auto alarms = scan(lines);
  ASSERT_EQ(alarms.size(), 1u);
  EXPECT_EQ(alarms[0].rule_id, "regular-cred-on-legacy");
  ASSERT_FALSE(alarms[0].evidence.empty());
  EXPECT_EQ(alarms[0].evidence.back().line, refused);
}


// A process the previous generation knows keeps what it had when its next line comes just as
// the current generation is full (the rotation must not drop it first).
TEST(Engine, ProcessKeepsItsIncidentsAcrossARotation) {
  const std::string refused = "Nov 22 10:00:03 legacy1 sshd[400]: error: PAM: pam_open_session(): Permission denied";
  std::vector<std::string> lines{
      "Nov 22 10:00:01 legacy1 sshd[400]: Accepted gssapi-with-mic for alice from 127.0.0.2 port 5 ssh2: alice@HG.TEST"};
  for (int pid = 1; pid <= 4095 + 4096; ++pid) {  // fills the first generation, then the next
    lines.push_back("Nov 22 10:00:02 legacy1 sshd[" + std::to_string(100000 + pid) +
                    "]: Accepted gssapi-with-mic for carol from 127.0.0.2 port 5 ssh2: carol@HG.TEST");
  }
  lines.push_back(
      "Nov 22 10:00:02 legacy1 sshd[400]: Accepted gssapi-with-mic for bob from 127.0.0.2 port 5 ssh2: bob@HG.TEST");
  lines.push_back(refused);
  const auto alarms = scan(lines);
  bool seen = false;
  for (const Alarm& a : alarms) {
    if (a.principal != "alice@HG.TEST") continue;
    seen = true;
    ASSERT_FALSE(a.evidence.empty());
    EXPECT_EQ(a.evidence.back().line, refused);
  }
  EXPECT_TRUE(seen);
}

// Long host names fill a generation's 1 MiB of keys before 4096 processes: it rotates then too,
// rather than empty itself (or write past its keys). 4090 keys of the longest tracked host name
// and a six-digit pid hold 4090 x 261 bytes, more than 1 MiB.
TEST(Engine, LocalauthRecordKeepsItsSourceAfterProcessesWithLongHostNames) {
  const auto alarms = localauth_after_other_processes(std::string(255, 'h'), 4090);
  ASSERT_EQ(alarms.size(), 1u);
  EXPECT_EQ(alarms[0].source_ip, "127.0.0.5");
}


// The service and address facts come through a direct-mapped memo (one text per slot) in front
// of the engine's maps: on lines whose service and address are drawn, over and over, from a
// pool of perturbed texts (more than the memos' slots, so texts share slots; leading zeros,
// trailing bytes, IPv6 and mapped forms, long and empty instances), an engine that has seen
// them all explains every line as an engine that sees the line first; and after replace(),
// as an engine made with the new policy.
TEST(Engine, ServiceAndAddressMemosGiveTheFactsOfAFirstLookup) {
  std::mt19937 rnd(37);
  auto policy = test::test_policy();
  auto rules = test::shipped_rules(*policy);
  const std::string addresses[] = {"127.0.0.2", "127.0.0.3", "127.0.0.5", "127.0.0.6", "127.0.0.9", "10.0.0.2",
                                   "::1", "::ffff:127.0.0.2", "::ffff:127.0.0.5", "fe80::2", "2001:db8::5",
                                   "255.255.255.255", "0.0.0.0", "1.2.3.4"};
  const std::string services[] = {"krbtgt/HG.TEST@HG.TEST", "host/legacy1.hg.test@HG.TEST", "host/legacy2@HG.TEST",
                                  "host/bastion.hg.test@HG.TEST", "host/bastion2.hg.test@HG.TEST",
                                  "kadmin/changepw@HG.TEST", "host/@HG.TEST", "HTTP/legacy1.hg.test@OTHER.TEST",
                                  "host/legacy1.hg.test.example.org.and.a.long.domain@HG.TEST"};
  const std::string noise = "0123456789.:/@xf ";
  const auto perturb = [&](std::string t) {
    for (auto k = rnd() % 3; k > 0; --k) {
      const std::size_t at = t.empty() ? 0 : rnd() % (t.size() + 1);
      switch (rnd() % 4) {
        case 0: if (at < t.size()) t[at] = noise[rnd() % noise.size()]; break;
        case 1: t.insert(at, 1, noise[rnd() % noise.size()]); break;
        case 2: if (at < t.size()) t.erase(at, 1); break;
        default: t.insert(at, rnd() % 40, rnd() % 2 ? '0' : 'a'); break;
      }
    }
    return t;
  };
  std::vector<std::string> address_pool, service_pool;
  for (int i = 0; i < 1500; ++i) {
    address_pool.push_back(rnd() % 3 == 0 ? addresses[rnd() % std::size(addresses)]
                                          : perturb(addresses[rnd() % std::size(addresses)]));
    service_pool.push_back(rnd() % 3 == 0 ? services[rnd() % std::size(services)]
                                          : perturb(services[rnd() % std::size(services)]));
  }
  address_pool.push_back(std::string(300, '1'));
  service_pool.push_back("host/" + std::string(300, 'l') + "@HG.TEST");
  EngineOptions small;
  small.principal_cache_entries = 16;
  small.memo_entries = 64;  // the maps behind the memos empty themselves too
  const auto line_of = [&](std::size_t a, std::size_t s) {
    return tgs("10:00:00", address_pool[a], "alice@HG.TEST", service_pool[s]);
  };
  const auto check = [&](Engine& warm, const std::shared_ptr<const Policy>& p, int lines) {
    for (int i = 0; i < lines; ++i) {
      // Mostly a few texts (as a log), then any of the pool.
      const std::size_t a = rnd() % 2 ? rnd() % 8 : rnd() % address_pool.size();
      const std::size_t s = rnd() % 2 ? rnd() % 8 : rnd() % service_pool.size();
      const std::string line = line_of(a, s);
      const Explanation got = warm.explain(line, kReceive);
      const Engine fresh(p, rules, small);
      const Explanation want = fresh.explain(line, kReceive);
      ASSERT_EQ(got.decoded, want.decoded) << line;
      ASSERT_EQ(got.facts, want.facts) << line;
    }
  };
  Engine warm(policy, rules, small);
  check(warm, policy, 20000);
  // A second bastion at 127.0.0.9: its address and service change facts. Both texts are in
  // their memo slots when the policy is replaced (the memos must be emptied with the maps).
  const std::string bastion2_line = tgs("10:00:00", "127.0.0.9", "alice@HG.TEST", "host/bastion2.hg.test@HG.TEST");
  const std::pair<std::string, std::string> bastion{"address_is_bastion", "true"},
      bastion2_host{"service_host", "bastion2 (bastion)"};
  const Explanation before = warm.explain(bastion2_line, kReceive);
  EXPECT_EQ(std::find(before.facts.begin(), before.facts.end(), bastion), before.facts.end());
  EXPECT_EQ(std::find(before.facts.begin(), before.facts.end(), bastion2_host), before.facts.end());
  auto policy2 = test::test_policy("[bastion.bastion2]\nfqdn = \"bastion2.hg.test\"\naddresses = [\"127.0.0.9\"]\n");
  ASSERT_TRUE(policy2);
  warm.replace(policy2, rules);
  const Explanation x = warm.explain(bastion2_line, kReceive);
  EXPECT_NE(std::find(x.facts.begin(), x.facts.end(), bastion), x.facts.end());
  EXPECT_NE(std::find(x.facts.begin(), x.facts.end(), bastion2_host), x.facts.end());
  check(warm, policy2, 5000);
}


// replace() with a ruleset whose rules of a kind differ (two more, on the address): the engine
// matches each line by the new rules' conditions, as an engine made with them does (FactMasks and
// the field-verdict memo are made again).
TEST(Engine, ReplacedRulesAreMatchedByTheirOwnConditions) {
  auto policy = test::test_policy();
  auto rules = test::shipped_rules(*policy);
  const std::string extra = "source = \"kdc\"\n"
                            "[[rule]]\nid = \"extra-bastion\"\nname = \"X\"\nseverity = 1\n"
                            "events = [\"kdc.as\"]\nstatus = \"ISSUE\"\naddress = \"bastion\"\n"
                            "[[rule]]\nid = \"extra-elsewhere\"\nname = \"Y\"\nseverity = 1\n"
                            "events = [\"kdc.as\"]\nstatus = \"ISSUE\"\naddress = \"not-bastion\"\n";
  auto rules2 = test::shipped_rules(*policy, {{"extra.toml", extra}});
  ASSERT_TRUE(rules && rules2);
  const auto as_issue = [](const std::string& ip) {
    return "Nov 22 10:00:00 kdc1 krb5kdc[77](info): AS_REQ " + kEt + " " + ip + ": ISSUE: authtime 1795371052, " +
           kIss + ", alice@HG.TEST for krbtgt/HG.TEST@HG.TEST";
  };
  const AlarmSink none = [](const Alarm&) {};
  const auto matches_of = [&](Engine& e, const std::string& line) {
    const std::uint64_t before = e.stats().matches;
    e.feed_line(line, kReceive, none);
    return e.stats().matches - before;
  };
  Engine warm(policy, rules);
  for (const char* ip : {"127.0.0.2", "127.0.0.9"}) EXPECT_EQ(matches_of(warm, as_issue(ip)), 0u) << ip;
  warm.replace(policy, rules2);
  for (const char* ip : {"127.0.0.2", "127.0.0.9"}) {
    Engine fresh(policy, rules2);
    EXPECT_EQ(matches_of(fresh, as_issue(ip)), 1u) << ip;
    EXPECT_EQ(matches_of(warm, as_issue(ip)), 1u) << ip;
  }
}


// The rules' conditions on an event's own fields (kind, status, rule=) are memoised by those
// fields, compared as they are: in a stream of KDC lines and decision records whose status,
// verdict and rule= are drawn from perturbed words (same sizes, one byte off, refusal words,
// words past the memo's 45 bytes), each line makes as many rule matches in an engine that has
// seen the others as in an engine that sees it first.
TEST(Engine, FieldVerdictMemoCountsTheMatchesOfAFirstLookup) {
  std::mt19937 rnd(53);
  auto policy = test::test_policy();
  auto rules = test::shipped_rules(*policy);
  const std::string words[] = {"ISSUE", "ISSUF", "PREAUTH_FAILED", "PREAUTH_FAILEE", "CLIENT_NOT_FOUND", "LOCKED_OUT",
                               "HOPGUARD_SPECIAL_CRED_OFF_BASTION", "HOPGUARD_SPECIAL_CRED_OFF_BASTIOM",
                               "HOPGUARD_REGULAR_CRED_ON_LEGACY", "HOPGUARD_SPECIAL_CRED_WRONG_TARGET_AND_MORE_WORDS",
                               "NEEDED_PREAUTH", "NO PREAUTH", "deny", "would-deny", "allow", "denx"};
  const std::string rule_ids[] = {"regular-cred-on-legacy", "regular-cred-on-legacz", "special-cred-on-bastion",
                                  "special-cred-off-bastion", "", "x"};
  const auto word = [&] {
    std::string w = words[rnd() % std::size(words)];
    if (rnd() % 4 == 0) w[rnd() % w.size()] = "AZ_ 9x"[rnd() % 6];
    return w;
  };
  EngineOptions small;
  small.principal_cache_entries = 16;
  Engine warm(policy, rules, small);
  const AlarmSink none = [](const Alarm&) {};
  for (int i = 0; i < 20000; ++i) {
    std::string line;
    if (rnd() % 3 == 0) {
      line = "Nov 22 10:00:01 legacy1 sshd[400]: pam_hopguard(sshd:session): verdict=" + word() +
             " rule=" + rule_ids[rnd() % std::size(rule_ids)] +
             " role=legacy host=legacy1 user=alice principal=alice@HG.TEST rhost=127.0.0.2 stage=session reason=\"no\"";
    } else {
      const std::string client = rnd() % 2 ? "alice-legacy1@HG.TEST" : "alice@HG.TEST";
      const std::string server = rnd() % 2 ? "host/legacy1.hg.test@HG.TEST" : "krbtgt/HG.TEST@HG.TEST";
      line = std::string("Nov 22 10:00:01 kdc1 krb5kdc[77](info): ") + (rnd() % 2 ? "AS_REQ " : "TGS_REQ ") + kEt +
             " 10.1.2.3: " + word() + ": " + client + " for " + server;
    }
    const std::uint64_t before = warm.stats().matches;
    warm.feed_line(line, kReceive, none);
    Engine fresh(policy, rules, small);
    fresh.feed_line(line, kReceive, none);
    ASSERT_EQ(warm.stats().matches - before, fresh.stats().matches) << line;
  }
  EXPECT_GT(warm.stats().matches, 1000u);
}


// The memo's key holds the event's source as well as its kind and status: a sender-mismatch
// event has the tag as its status ("sshd") whether the forged record was an sshd line or a
// hopguard decision record under the sshd tag, and a rule of one source must not match the
// other's (the shipped forged-log-sender rules are the same for every source, so this ruleset
// has one for sshd only).
// Once a rule has the principal classified, the later rules whose principal_class condition fails
// for it are dropped from the line's rules (FactMasks::principal_class), but not a rule the KDC
// refused the request for (refusal_status): it matches on its refusal word alone, whatever the
// principal. Rule "a" (any status, special principals) classifies alice-legacy1 first; rule "b"
// (regular principals only) still matches the line refused as HOPGUARD_B, and rule "c" (regular
// only, no refusal) does not.
TEST(Engine, RefusedRuleMatchesAfterAnotherClassifiedThePrincipal) {
  auto policy = test::test_policy();
  const std::string rules =
      "source = \"kdc\"\n"
      "[[rule]]\nid = \"a\"\nname = \"a\"\nseverity = 1\nevents = [\"kdc.tgs\"]\nprincipal_class = \"special\"\n"
      "target = \"service\"\ntarget_role = \"legacy\"\n"
      "[[rule]]\nid = \"b\"\nname = \"b\"\nseverity = 1\nevents = [\"kdc.tgs\"]\nstatus = \"ISSUE\"\n"
      "refusal_status = true\nprincipal_class = \"regular\"\n"
      "[[rule]]\nid = \"c\"\nname = \"c\"\nseverity = 1\nevents = [\"kdc.tgs\"]\nprincipal_class = \"regular\"\n";
  auto r = Ruleset::compile({{"r.toml", rules}}, policy->config().rules);
  ASSERT_TRUE(r.ok()) << to_string(r.errors());
  Engine e(policy, r.value());
  std::vector<std::string> ids;
  const AlarmSink sink = [&](const Alarm& a) { ids.push_back(a.rule_id); };
  e.feed_line("Nov 22 10:00:00 kdc1 krb5kdc[77](info): TGS_REQ " + kEt +
                  " 127.0.0.2: HOPGUARD_B: authtime 1795371052, " + kIss +
                  ", alice-legacy1@HG.TEST for host/legacy1.hg.test@HG.TEST, KDC policy rejects request",
              kReceive, sink);
  e.finish(sink);
  EXPECT_EQ(e.stats().matches, 2u);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b"}));
}

TEST(Engine, FieldVerdictMemoKeysOnTheSource) {
  auto policy = test::test_policy();
  auto r = Ruleset::compile({{"m.toml", "source = \"sshd\"\n[[rule]]\nid = \"m\"\nname = \"m\"\nseverity = 1\n"
                                        "events = [\"syslog.sender-mismatch\"]\ntarget = \"host\"\n"}},
                            policy->config().rules);
  ASSERT_TRUE(r.ok()) << to_string(r.errors());
  const std::string header =
      "<38>1 2026-11-22T10:00:01+00:00 legacy1 sshd 400 - [trusted@32473 pid=\"400\" uid=\"1000\" "
      "exe=\"/usr/bin/logger\"] ";
  const std::string sshd_line = header + "Accepted password for alice from 127.0.0.4 port 1 ssh2";
  const std::string record_line = header +
      "pam_hopguard(sshd:session): verdict=deny rule=legacy-login-not-via-bastion role=legacy host=legacy1 "
      "user=alice principal=alice@HG.TEST rhost=127.0.0.4 stage=session";
  Engine e(policy, r.value());
  const AlarmSink none = [](const Alarm&) {};
  // Both decode to the same kind and status (the premise of the test).
  const Explanation xs = e.explain(sshd_line, kReceive), xr = e.explain(record_line, kReceive);
  const std::pair<std::string, std::string> kind{"kind", "syslog.sender-mismatch"}, status{"status", "sshd"};
  for (const Explanation* x : {&xs, &xr}) {
    EXPECT_NE(std::find(x->fields.begin(), x->fields.end(), kind), x->fields.end());
    EXPECT_NE(std::find(x->fields.begin(), x->fields.end(), status), x->fields.end());
  }
  EXPECT_NE(xs.decoder, xr.decoder);
  e.feed_line(sshd_line, kReceive, none);
  EXPECT_EQ(e.stats().matches, 1u);
  e.feed_line(record_line, kReceive, none);  // the same kind and status, from source hopguard
  EXPECT_EQ(e.stats().matches, 1u);
  e.feed_line(sshd_line, kReceive, none);
  EXPECT_EQ(e.stats().matches, 2u);
}


// rule_facts_hold without an explanation (the engine's per-line calls) is the same code as
// with one: on random facts and events, for every shipped rule, the three calls agree, and the
// explained one says why exactly when it fails; the rule's bits in the engine's pre-check
// (FactMasks) are set whenever the whole holds, and its bit in the class words is clear exactly
// when its principal_class condition fails.
TEST(Ruleset, FactsHoldWithAndWithoutExplanationAgree) {
  std::mt19937 rnd(67);
  auto policy = test::test_policy();
  auto rules = test::shipped_rules(*policy);
  const HostEntry* hosts[] = {nullptr, policy->find_host("legacy1"), policy->find_host("legacy2"),
                              policy->find_host("bastion")};
  const std::string details[] = {"", "More preauthentication data is required", "Preauthentication failed"};
  const std::string services[] = {"krbtgt/HG.TEST@HG.TEST", "kadmin/changepw@HG.TEST", "kadmin/changepw@OTHER",
                                  "host/legacy1.hg.test@HG.TEST"};
  const PrincipalClass classes[] = {PrincipalClass::regular, PrincipalClass::special, PrincipalClass::service,
                                    PrincipalClass::foreign, PrincipalClass::invalid};
  std::vector<const CompiledRule*> all;
  for (const auto& r : rules->all()) all.push_back(r.get());
  ASSERT_LE(all.size(), 64u);
  const FactMasks masks = fact_masks(all);
  std::size_t held = 0;
  for (int i = 0; i < 20000; ++i) {
    Event ev;
    ev.principal = rnd() % 2 ? "alice-legacy1@HG.TEST" : "alice@HG.TEST";
    ev.service = services[rnd() % std::size(services)];
    ev.detail = details[rnd() % std::size(details)];
    ev.address = rnd() % 4 ? "10.1.2.3" : "";
    EventFacts f;
    f.has_principal = rnd() % 4 != 0;
    f.principal_class = classes[rnd() % std::size(classes)];
    f.principal_pending = rnd() % 3 == 0;
    f.principal_truncated = rnd() % 5 == 0;
    f.service_host = hosts[rnd() % std::size(hosts)];
    f.logging_host = hosts[rnd() % std::size(hosts)];
    f.record_host = hosts[rnd() % std::size(hosts)];
    f.principal_host = hosts[rnd() % std::size(hosts)];
    f.principal_guest = f.principal_host;
    f.account_not_principal_user = rnd() % 2 == 0;
    f.service_is_tgt = rnd() % 2 == 0;
    f.address_parsed = rnd() % 4 != 0;
    f.address_is_bastion = rnd() % 2 == 0;
    f.address_allowed = rnd() % 2 == 0;
    const std::uint64_t live = masks.holding(!ev.address.empty(), f);
    const std::uint64_t class_ok = masks.class_holding(f);
    for (std::size_t k = 0; k < all.size(); ++k) {
      const CompiledRule* r = all[k];
      if (r->regex) continue;
      std::string why;
      const bool fast = rule_facts_hold(*r, ev, f);
      ASSERT_EQ(rule_facts_hold(*r, ev, f, nullptr), fast) << r->id;
      ASSERT_EQ(rule_facts_hold(*r, ev, f, &why), fast) << r->id;
      ASSERT_EQ(why == "matched", fast) << r->id << ": " << why;
      // The engine's pre-check is a necessary condition.
      if (fast) {
        ASSERT_TRUE(live >> k & 1u) << r->id;
      }
      // Once the principal is classified, a rule whose class word bit is clear fails (the
      // engine drops it from the line's rules on that alone), and one whose bit is set fails
      // its class condition never.
      if (!f.principal_pending) {
        const bool class_fails =
            r->class_mask != 0 && (r->class_mask & principal_class_bit(f)) == 0;
        ASSERT_EQ((class_ok >> k & 1u) == 0, class_fails) << r->id;
        if ((class_ok >> k & 1u) == 0) {
          ASSERT_FALSE(fast) << r->id;
        }
      }
      held += fast;
    }
  }
  EXPECT_GT(held, 1000u);
}


// FactMasks are exact: for every combination of target, target_role, service and address
// condition, and every combination of the facts they read, a rule's bit is set in the facts'
// words iff rule_facts_hold() holds for a principal not classified yet (on an event without
// detail and a service that is not the password change service); the text and principal words
// name the rules with such conditions. The rules are compiled by hand, 64 to a mask.
TEST(Ruleset, FactMasksAreExactOnEveryCondition) {
  auto policy = test::test_policy();
  const HostEntry* legacy = policy->find_host("legacy1");
  const HostEntry* bastion = policy->find_host("bastion");
  ASSERT_TRUE(legacy != nullptr && bastion != nullptr);
  const HostEntry* by_role[] = {nullptr, legacy, bastion};
  std::vector<CompiledRule> rules;
  for (const TargetFrom target : {TargetFrom::none, TargetFrom::service, TargetFrom::host, TargetFrom::principal,
                                  TargetFrom::record}) {
    for (std::uint32_t roles = 0; roles < 8; ++roles) {
      for (const ServiceCond service : {ServiceCond::any, ServiceCond::tgt, ServiceCond::not_tgt,
                                        ServiceCond::not_tgt_nor_password_change}) {
        for (const AddressCond address :
             {AddressCond::any, AddressCond::bastion, AddressCond::not_bastion, AddressCond::allowed_source,
              AddressCond::not_allowed_source, AddressCond::not_bastion_nor_allowed, AddressCond::present}) {
          CompiledRule r;
          r.target = target;
          r.role_mask = roles;
          r.service = service;
          r.address = address;
          r.class_mask = rules.size() % 3 == 0 ? std::uint32_t{kClassSpecial} : 0u;
          if (rules.size() % 5 == 0) r.detail_not = {"x"};
          rules.push_back(std::move(r));
        }
      }
    }
  }
  std::size_t held = 0, failed = 0;
  for (std::size_t first = 0; first < rules.size(); first += 64) {
    std::vector<const CompiledRule*> chunk;
    for (std::size_t i = first; i < rules.size() && i < first + 64; ++i) chunk.push_back(&rules[i]);
    const FactMasks m = fact_masks(chunk);
    for (std::size_t k = 0; k < chunk.size(); ++k) {
      const CompiledRule& r = *chunk[k];
      const bool text = !r.detail_not.empty() || r.service == ServiceCond::not_tgt_nor_password_change;
      ASSERT_EQ((m.text >> k & 1u) != 0, text);
      ASSERT_EQ((m.principal >> k & 1u) != 0, rule_needs_principal(r));
    }
    // Every combination of the facts the words are indexed by (and of the principal's host,
    // which they do not read).
    for (unsigned combo = 0; combo < 2 * 3 * 3 * 3 * 3 * 8; ++combo) {
      unsigned c = combo;
      const bool tgt = c % 2 != 0;
      c /= 2;
      const HostEntry* service_host = by_role[c % 3];
      c /= 3;
      const HostEntry* logging_host = by_role[c % 3];
      c /= 3;
      const HostEntry* record_host = by_role[c % 3];
      c /= 3;
      const HostEntry* principal_host = by_role[c % 3];
      c /= 3;
      const bool present = (c & 1u) != 0, is_bastion = (c & 2u) != 0, allowed = (c & 4u) != 0;
      Event ev;
      ev.principal = "alice-legacy1@HG.TEST";
      ev.service = "host/legacy1.hg.test@HG.TEST";
      ev.address = present ? "10.1.2.3" : "";
      EventFacts f;
      f.has_principal = true;
      f.principal_pending = true;
      f.principal_host = principal_host;
      f.service_is_tgt = tgt;
      f.service_host = service_host;
      f.logging_host = logging_host;
      f.record_host = record_host;
      f.address_parsed = present;
      f.address_is_bastion = is_bastion;
      f.address_allowed = allowed;
      const std::uint64_t live = m.holding(present, f);
      for (std::size_t k = 0; k < chunk.size(); ++k) {
        const bool holds = rule_facts_hold(*chunk[k], ev, f);
        ASSERT_EQ((live >> k & 1u) != 0, holds) << "rule " << first + k << ", facts " << combo;
        (holds ? held : failed) += 1;
      }
    }
  }
  EXPECT_GT(held, 10000u);
  EXPECT_GT(failed, 10000u);
}


// A kind with more than 64 rules (the field memo and FactMasks cover the first 64): the rules
// past them are tried whole, with their principal and address conditions, and match as the
// first 64 do.
TEST(Engine, RulesPastTheFirstSixtyFourOfAKindMatchToo) {
  auto policy = test::test_policy();
  std::string text = "source = \"kdc\"\n";
  for (int i = 0; i < 80; ++i) {
    // Even rules: from a bastion's address only; odd ones: from anywhere. All: special only.
    text += "[[rule]]\nid = \"extra-" + std::to_string(i) + "\"\nname = \"X\"\nseverity = 1\n" +
            "events = [\"kdc.as\"]\nstatus = \"PREAUTH_FAILED\"\nprincipal_class = \"special\"\n" +
            "target = \"principal\"\n" + (i % 2 == 0 ? "address = \"bastion\"\n" : "");
  }
  auto rules = test::shipped_rules(*policy, {{"extra.toml", text}});
  ASSERT_TRUE(rules != nullptr);
  ASSERT_GT(rules->rules_for(EventKind::kdc_as).size(), 80u);
  const auto ids = [&](const std::string& ip, const std::string& client) {
    std::set<std::string> out;
    for (const Alarm& a : scan({as_fail("10:00:00", ip, client)}, {}, policy, rules)) {
      if (a.rule_id.starts_with("extra-")) out.insert(a.rule_id);
    }
    return out;
  };
  std::set<std::string> all, odd;
  for (int i = 0; i < 80; ++i) {
    all.insert("extra-" + std::to_string(i));
    if (i % 2 != 0) odd.insert("extra-" + std::to_string(i));
  }
  EXPECT_EQ(ids("127.0.0.2", "alice-legacy1@HG.TEST"), all);  // from the bastion
  EXPECT_EQ(ids("127.0.0.9", "alice-legacy1@HG.TEST"), odd);  // from elsewhere
  EXPECT_TRUE(ids("127.0.0.2", "alice@HG.TEST").empty());     // not a special principal
}


// A sink may feed the engine a line of its own while the engine is inside feed_line (the line
// decodes into an Event of its own): both lines are counted and matched, and the outer line's
// event is not overwritten by the inner one's (its alarm names its own principal).
TEST(Engine, LineFedFromInsideASinkIsAnEventOfItsOwn) {
  auto policy = test::test_policy();
  auto rules = test::shipped_rules(*policy);
  EngineOptions opt;
  opt.emit = EmitMode::first_evidence;
  Engine e(policy, rules, opt);
  std::vector<std::string> principals;
  int depth = 0;
  AlarmSink sink;
  sink = [&](const Alarm& a) {
    principals.push_back(a.principal);
    if (depth++ == 0) {
      const LineResult r = e.feed_line(tgs("10:00:00", "127.0.0.2", "carol@HG.TEST", "host/legacy2.hg.test@HG.TEST"),
                                       kReceive, sink);
      EXPECT_EQ(r.outcome, LineOutcome::event);
      EXPECT_EQ(r.source, EventSource::kdc);
    }
  };
  const LineResult outer =
      e.feed_line(tgs("10:00:00", "127.0.0.2", "alice@HG.TEST", "host/legacy1.hg.test@HG.TEST"), kReceive, sink);
  EXPECT_EQ(outer.outcome, LineOutcome::event);
  EXPECT_EQ(e.stats().lines, 2u);
  EXPECT_EQ(e.stats().matches, 2u);
  ASSERT_EQ(principals.size(), 2u);
  EXPECT_EQ(principals[0], "alice@HG.TEST");
  EXPECT_EQ(principals[1], "carol@HG.TEST");
}

// A sink that feeds lines dated later, each moving the watermark past open incidents, while the
// engine is closing incidents (the correlator's advance and close_all): each incident alarms once,
// and none is closed twice (the nested advance used to close and erase the incident the outer
// one was closing: a crash).
TEST(Engine, SinkFeedingLaterLinesWhileIncidentsCloseAlarmsEachOnce) {
  for (const EmitMode mode : {EmitMode::at_window_end, EmitMode::first_evidence}) {
    auto policy = test::test_policy();
    auto rules = test::shipped_rules(*policy);
    EngineOptions opt;
    opt.emit = mode;
    Engine e(policy, rules, opt);
    std::map<std::string, int> closed;  // principal -> its alarms
    int fed = 0;
    AlarmSink sink;
    sink = [&](const Alarm& a) {
      ++closed[a.principal];
      if (fed < 6) {
        ++fed;
        const std::string hour = std::to_string(11 + fed);
        e.feed_line(tgs(hour + ":00:00", "127.0.0.2", "fed" + std::to_string(fed) + "@HG.TEST",
                        "host/legacy1.hg.test@HG.TEST"),
                    kReceive, sink);
      }
    };
    for (const char* who : {"alice", "bob", "carol", "dave"}) {
      e.feed_line(tgs("10:00:00", "127.0.0.2", std::string(who) + "@HG.TEST", "host/legacy1.hg.test@HG.TEST"), kReceive,
                  sink);
    }
    e.feed_line("Nov 22 11:00:00 web1 cron[1]: a later line", kReceive, sink);  // closes the four
    e.finish(sink);
    std::map<std::string, int> want;
    for (const char* who : {"alice", "bob", "carol", "dave"}) want[std::string(who) + "@HG.TEST"] = 1;
    for (int i = 1; i <= 6; ++i) want["fed" + std::to_string(i) + "@HG.TEST"] = 1;
    EXPECT_EQ(fed, 6);
    // first_evidence too: each incident once, at its first evidence (none came after it).
    EXPECT_EQ(closed, want);
    EXPECT_EQ(e.open_incidents(), 0u);
  }
}


// The outer line's event keeps its values while a sink feeds the engine another line: a
// decision record's unescaped values (in the engine's decode scratch, which the inner line
// gets its own of) and a localauth record's address taken from its sshd process (copied: the
// inner line may be that process's next auth line). Two rules match each outer record, so the
// second alarm is made after the inner line was fed.
TEST(Engine, LineFedFromInsideASinkLeavesTheOuterEventWhole) {
  auto policy = test::test_policy();
  const std::string rule = "[[rule]]\nname = \"r\"\nseverity = 1\nevents = [\"hopguard.decision\"]\n"
                           "verdict = [\"deny\"]\ntarget = \"record\"\n";
  auto r = Ruleset::compile({{"two.toml", "source = \"hopguard\"\n" + rule + "id = \"a\"\n" + rule + "id = \"b\"\n"}},
                            policy->config().rules);
  ASSERT_TRUE(r.ok()) << to_string(r.errors());
  EngineOptions opt;
  opt.emit = EmitMode::first_evidence;
  const auto run = [&](const std::vector<std::string>& before, const std::string& outer, const std::string& inner) {
    Engine e(policy, r.value(), opt);
    std::vector<Alarm> alarms;
    const AlarmSink none = [](const Alarm&) {};
    for (const std::string& l : before) e.feed_line(l, kReceive, none);
    int depth = 0;
    AlarmSink sink;
    sink = [&](const Alarm& a) {
      alarms.push_back(a);
      if (depth++ == 0) e.feed_line(inner, kReceive, sink);
    };
    e.feed_line(outer, kReceive, sink);
    EXPECT_EQ(e.stats().lines, before.size() + 2);
    return alarms;
  };
  const std::string record = "Nov 22 10:00:01 legacy1 sshd[400]: pam_hopguard(sshd:session): verdict=";
  const std::string tail = " rule=regular-cred-on-legacy role=legacy host=legacy1 principal=alice@HG.TEST "
                           "rhost=127.0.0.4 stage=session reason=\"x\"";
  auto alarms = run({}, record + "deny user=\"al ice\"" + tail, record + "allow user=\"zz zzz\"" + tail);
  ASSERT_EQ(alarms.size(), 2u);
  for (const Alarm& a : alarms) EXPECT_EQ(a.user, "al ice") << a.rule_id;

  alarms = run({bastion_postponed("127.0.0.5")}, kBastionLocalauth, bastion_postponed("127.0.0.9"));
  ASSERT_EQ(alarms.size(), 2u);
  for (const Alarm& a : alarms) EXPECT_EQ(a.source_ip, "127.0.0.5") << a.rule_id;
}

}  // namespace
}  // namespace hopguard::scanner

namespace hopguard::scanner {
namespace {

// The dispatch keeps, for the syslog header the date memo keeps, the header's decoder and
// whether the line's logging host is a configured one (a forged KDC line): on a stream of lines
// of a few headers (hosts of the site and not, programs with a decoder and not, wrapped lines
// whose inner host is another), minute after minute, with the policy replaced now and then (by
// one that configures the KDC's own host name as a guest), every line must decode and match as
// in a fresh engine, which reads it without a kept header.
TEST(Engine, KeptHeaderFactsAsAFreshEngine) {
  auto plain = test::test_policy();
  auto kdc_is_guest = test::test_policy("[legacy.kdc1]\nfqdn = \"kdc1.hg.test\"\naddresses = [\"127.0.0.9\"]\n");
  ASSERT_TRUE(plain && kdc_is_guest);
  const char* const kinds[] = {"syslog.sender-mismatch", "kdc.unreadable", "kdc.as", "kdc.tgs"};
  std::string kdc_rules = "source = \"kdc\"\n";
  for (const char* k : kinds) {
    std::string id = k;
    std::replace(id.begin(), id.end(), '.', '-');
    kdc_rules += "[[rule]]\nid = \"" + id + "\"\nname = \"n\"\nseverity = 1\nevents = [\"" + k +
                 "\"]\ntarget = \"host\"\n";
  }
  const std::string sshd_rules =
      "source = \"sshd\"\n[[rule]]\nid = \"s\"\nname = \"n\"\nseverity = 1\nevents = [\"sshd.accepted\"]\n"
      "target = \"host\"\n";
  const auto compile = [&](const Policy& p) {
    auto r = Ruleset::compile({{"k.toml", kdc_rules}, {"s.toml", sshd_rules}}, p.config().rules);
    EXPECT_TRUE(r.ok()) << to_string(r.errors());
    return r.value();
  };
  const std::shared_ptr<const Ruleset> plain_rules = compile(*plain), guest_rules = compile(*kdc_is_guest);
  std::mt19937 rnd(53);
  const std::string hosts[] = {"kdc1", "kdc2", "legacy1", "bastion", "legacy2"};
  const std::string tags[] = {"krb5kdc[77](info)", "krb5kdc[78](info)", "krb5kdx[77](info)", "sshd[77]", "krb5kdc[77]"};
  const std::string request = "AS_REQ " + kEt + " 10.1.2.3: PREAUTH_FAILED: alice@HG.TEST for krbtgt/HG.TEST@HG.TEST";
  const std::string messages[] = {
      request,
      "TGS_REQ " + kEt + " 10.1.2.3: ISSUE: authtime 1, " + kIss + ", alice@HG.TEST for host/legacy1.hg.test@HG.TEST",
      "AS_REQ (cut",
      "Accepted gssapi-with-mic for alice from 127.0.0.4 port 5 ssh2",
      "Nov 22 10:00:01 legacy1 krb5kdc[77](info): " + request,  // wrapped: the inner host is a guest
      "Nov 22 10:00:01 kdc2 krb5kdc[77](info): " + request,
  };
  Engine warm(plain, plain_rules);
  bool guest = false;
  const AlarmSink none = [](const Alarm&) {};
  std::size_t host = 0, tag = 0;
  unsigned minute = 0;
  for (int i = 0; i < 8000; ++i) {
    if (rnd() % 8 == 0) {  // the next minute, or another header
      minute = (minute + 1) % 60;
      host = rnd() % 2 == 0 ? 0 : rnd() % std::size(hosts);
      tag = rnd() % 2 == 0 ? 0 : rnd() % std::size(tags);
    }
    if (rnd() % 200 == 0) {
      guest = !guest;
      warm.replace(guest ? kdc_is_guest : plain, guest ? guest_rules : plain_rules);
    }
    const std::size_t h = rnd() % 16 == 0 ? rnd() % std::size(hosts) : host;
    const std::size_t t = rnd() % 16 == 0 ? rnd() % std::size(tags) : tag;
    const auto sec = static_cast<unsigned>(rnd() % 60);
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "Nov 22 10:%02u:%02u ", minute, sec);
    const std::string line = stamp + hosts[h] + " " + tags[t] + ": " + messages[rnd() % std::size(messages)];
    const std::uint64_t before = warm.stats().matches;
    const LineResult w = warm.feed_line(line, kReceive, none);
    Engine fresh(guest ? kdc_is_guest : plain, guest ? guest_rules : plain_rules);
    const LineResult f = fresh.feed_line(line, kReceive, none);
    ASSERT_EQ(w.outcome, f.outcome) << line;
    ASSERT_EQ(w.source, f.source) << line;
    ASSERT_EQ(warm.stats().matches - before, fresh.stats().matches) << line << (guest ? " (kdc1 a guest)" : "");
  }
  EXPECT_GT(warm.stats().matches, 4000u);
}

}  // namespace
}  // namespace hopguard::scanner

#include <scanner/correlator.hpp>

namespace hopguard::scanner {
namespace {

// The engine advances the correlator only when may_advance says advance would do something: on a
// stream of matches (incidents of a window, threshold groups past advance's limit of idle ones,
// a flood's aggregates), with the watermark moving by small and large steps, a correlator so
// advanced must emit the same alarms in the same order and hold the same state as one advanced
// on every step.
TEST(Correlator, MayAdvanceAsAdvancingAlways) {
  CompiledRule every, counted;
  every.id = "every";
  every.name = "every";
  counted.id = "counted";
  counted.name = "counted";
  counted.threshold = 3;
  counted.window_ms = 60'000;
  counted.threshold_by = {ThresholdBy::address_over_targets};
  CorrelatorOptions o;
  o.max_open_incidents = 6;  // a flood: further incidents of a rule go to its aggregate
  Correlator gated(o), always(o);
  std::vector<std::string> from_gated, from_always;
  const auto sink_into = [](std::vector<std::string>& out) {
    return Correlator::Sink([&out](const Alarm& a) {
      out.push_back(a.rule_id + "|" + a.target + "|" + a.source_ip + "|" + std::to_string(a.count) + "|" +
                    std::to_string(a.end_ms));
    });
  };
  const Correlator::Sink sink_gated = sink_into(from_gated), sink_always = sink_into(from_always);
  std::mt19937 rnd(61);
  std::int64_t now = 1'795'300'000'000;
  int skipped = 0;
  for (int i = 0; i < 6000; ++i) {
    // Steps of half a second, so that the watermark often meets a deadline exactly, and the
    // next step is the first past it.
    now += 500 * (rnd() % 8 == 0 ? static_cast<std::int64_t>(rnd() % 1800) : static_cast<std::int64_t>(rnd() % 4));
    const std::int64_t watermark = now - o.skew_ms;
    if (gated.may_advance(watermark)) {
      gated.advance(watermark, sink_gated);
    } else {
      ++skipped;
    }
    always.advance(watermark, sink_always);
    ASSERT_EQ(from_gated, from_always) << "step " << i;
    const std::string target = "legacy" + std::to_string(rnd() % 8);
    const std::string ip = "10.0." + std::to_string(rnd() % 8) + "." + std::to_string(rnd() % 250);
    Match m;
    m.rule = rnd() % 3 == 0 ? &every : &counted;
    m.principal = "alice";
    m.principal_class = "regular";
    m.source_ip = ip;
    m.target = target;
    m.event_ms = now;
    m.evidence = Evidence{"kdc", "kdc1", "line " + std::to_string(i), now};
    gated.add(m, sink_gated);
    always.add(m, sink_always);
    ASSERT_EQ(from_gated, from_always) << "step " << i;
    if (i % 200 == 0) {
      ASSERT_EQ(gated.snapshot(watermark), always.snapshot(watermark)) << "step " << i;
    }
  }
  gated.close_all(sink_gated);
  always.close_all(sink_always);
  EXPECT_EQ(from_gated, from_always);
  EXPECT_GT(skipped, 1000);
  EXPECT_GT(from_always.size(), 100u);
  EXPECT_GT(always.aggregated_incidents(), 50u);
}

}  // namespace
}  // namespace hopguard::scanner
