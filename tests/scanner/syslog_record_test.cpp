#include <scanner/syslog_record.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>

namespace hopguard::scanner {
namespace {

// 2026-11-23T00:00:00Z
constexpr std::int64_t kReceive = 1795392000000;
std::int64_t at(int y, unsigned m, unsigned d, unsigned h, unsigned mi, unsigned s) {
  return (days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + s) * 1000;
}

// The memo tests' receive times and UTC offsets (now, a millisecond later, 300 days before).
const std::int64_t kMemoReceives[] = {kReceive, kReceive + 1, kReceive - 86'400'000 * 300LL};
const std::int32_t kMemoOffsets[] = {0, 3600, -18000};

// One random edit of line within its first `within` bytes: a byte replaced by one of noise, one
// of noise inserted, a byte erased, or a run of min_run + (0 to runs - 1) 'a's inserted (a
// longer host or tag).
void edit_line(std::string& line, std::mt19937& rnd, const std::string& noise, std::size_t within,
               unsigned min_run, unsigned runs) {
  const std::size_t at = std::min(line.size() - 1, static_cast<std::size_t>(rnd() % within));
  switch (rnd() % 4) {
    case 0: line[at] = noise[rnd() % noise.size()]; break;
    case 1: line.insert(at, 1, noise[rnd() % noise.size()]); break;
    case 2: line.erase(at, 1); break;
    default: line.insert(at, min_run + rnd() % runs, 'a'); break;
  }
}

TEST(SyslogRecord, KdcFileLog) {
  const auto r = parse_syslog_record("Nov 22 18:10:52 vm krb5kdc[5709](info): AS_REQ (x", kReceive);
  EXPECT_EQ(r.format, SyslogFormat::file_3164);
  EXPECT_EQ(r.hostname, "vm");
  EXPECT_EQ(r.program, "krb5kdc");
  EXPECT_EQ(r.pid, "5709");
  EXPECT_EQ(r.message, "AS_REQ (x");
  EXPECT_EQ(r.event_ms, at(2026, 11, 22, 18, 10, 52));
  EXPECT_FALSE(r.time_unknown);
}

TEST(SyslogRecord, Rfc3164WithPriAndPaddedDay) {
  const auto r = parse_syslog_record("<38>Nov  2 03:04:05 legacy1 sshd[12]: Accepted x", kReceive);
  EXPECT_EQ(r.format, SyslogFormat::rfc3164);
  EXPECT_EQ(r.priority, 38);
  EXPECT_EQ(r.hostname, "legacy1");
  EXPECT_EQ(r.program, "sshd");
  EXPECT_EQ(r.message, "Accepted x");
  EXPECT_EQ(r.event_ms, at(2026, 11, 2, 3, 4, 5));
}

TEST(SyslogRecord, YearInferenceTakesMostRecentPastDate) {
  // Received on 2026-11-23: a December date is last year's.
  EXPECT_EQ(parse_syslog_record("Dec 31 23:59:59 h p: m", kReceive).event_ms, at(2025, 12, 31, 23, 59, 59));
  // Within a day ahead (sender clock a little fast) stays this year.
  EXPECT_EQ(parse_syslog_record("Nov 23 12:00:00 h p: m", kReceive).event_ms, at(2026, 11, 23, 12, 0, 0));
  // Received on Jan 1st: "Dec 31" is the day before.
  const std::int64_t jan1 = at(2027, 1, 1, 0, 5, 0);
  EXPECT_EQ(parse_syslog_record("Dec 31 23:59:00 h p: m", jan1).event_ms, at(2026, 12, 31, 23, 59, 0));
}

TEST(SyslogRecord, FractionalSecondsAndMissingHostname) {
  const auto r = parse_syslog_record("<13>Nov 22 13:45:58.250 sshd[7]: hello", kReceive);
  EXPECT_EQ(r.hostname, "");
  EXPECT_EQ(r.program, "sshd");
  EXPECT_EQ(r.pid, "7");
  EXPECT_EQ(r.message, "hello");
  EXPECT_EQ(r.event_ms, at(2026, 11, 22, 13, 45, 58) + 250);
}

// A hostname that is an IPv6 address ending in "::" ends with ':' like a tag: it is still the
// hostname when a tag follows it. A first token ending in ':' that is no address, or one that
// is an address with no tag after it, stays the tag of a header without hostname.
TEST(SyslogRecord, Ipv6HostnameEndingInDoubleColon) {
  for (const char* host : {"2001:db8:1::", "fe80::", "::"}) {
    const std::string line = std::string("Nov 22 13:45:58 ") + host + " sshd[7]: hello";
    const auto r = parse_syslog_record(line, kReceive);  // views into line
    EXPECT_EQ(r.hostname, host);
    EXPECT_EQ(r.program, "sshd");
    EXPECT_EQ(r.pid, "7");
    EXPECT_EQ(r.message, "hello");
    const std::string forwarded_line = std::string("<38>Nov 22 13:45:58 ") + host + " sshd[7]: hi";
    const auto forwarded = parse_syslog_record(forwarded_line, kReceive);
    EXPECT_EQ(forwarded.hostname, host);
    EXPECT_EQ(forwarded.program, "sshd");
  }
  const auto no_tag = parse_syslog_record("Nov 22 13:45:58 fe80:: hello world", kReceive);
  EXPECT_EQ(no_tag.hostname, "");
  EXPECT_EQ(no_tag.program, "fe80");
  const auto tag = parse_syslog_record("Nov 22 13:45:58 prog:: sshd[7]: hello", kReceive);
  EXPECT_EQ(tag.hostname, "");
  EXPECT_EQ(tag.program, "prog");
}

TEST(SyslogRecord, LocalisedMonthIsNotFatal) {
  const auto r = parse_syslog_record("Okt 22 13:45:58 h sshd[7]: hello", kReceive);
  EXPECT_TRUE(r.time_unknown);
  EXPECT_EQ(r.event_ms, kReceive);
  EXPECT_EQ(r.hostname, "h");
  EXPECT_EQ(r.program, "sshd");
  EXPECT_EQ(r.message, "hello");
}

TEST(SyslogRecord, Rfc5424) {
  const auto r = parse_syslog_record(
      "<34>1 2026-11-22T13:45:58.123+01:00 kdc1 krb5kdc 42 - [x@1 a=\"]\\]\"] AS_REQ (y", kReceive);
  EXPECT_EQ(r.format, SyslogFormat::rfc5424);
  EXPECT_EQ(r.hostname, "kdc1");
  EXPECT_EQ(r.program, "krb5kdc");
  EXPECT_EQ(r.pid, "42");
  EXPECT_EQ(r.message, "AS_REQ (y");
  EXPECT_EQ(r.event_ms, at(2026, 11, 22, 12, 45, 58) + 123);
}

TEST(SyslogRecord, Rfc5424NilValues) {
  const auto r = parse_syslog_record("<34>1 - - - - - - msg", kReceive);
  EXPECT_TRUE(r.time_unknown);
  EXPECT_EQ(r.hostname, "");
  EXPECT_EQ(r.program, "");
  EXPECT_EQ(r.message, "msg");
}

TEST(SyslogRecord, Rfc5424FromRsyslogKeepsNoLeadingSpace) {
  // What rsyslogd sends with RSYSLOG_SyslogProtocol23Format for a local "sshd[4242]: Accepted
  // ..." (its msg property starts with the space after the tag), with and without a BOM.
  const auto r = parse_syslog_record(
      "<38>1 2026-11-22T13:45:58+00:00 legacy1 sshd 4242 - -  Accepted password for a", kReceive);
  EXPECT_EQ(r.program, "sshd");
  EXPECT_EQ(r.message, "Accepted password for a");
  const auto b = parse_syslog_record(
      "<38>1 2026-11-22T13:45:58+00:00 legacy1 sshd 4242 - [x@1 a=\"b\"] \xEF\xBB\xBF Accepted", kReceive);
  EXPECT_EQ(b.message, "Accepted");
}

TEST(SyslogRecord, RsyslogFileFormat) {
  const auto r = parse_syslog_record("2026-11-22T13:45:58.123456+00:00 bastion sshd[9]: Accepted", kReceive);
  EXPECT_EQ(r.format, SyslogFormat::file_3339);
  EXPECT_EQ(r.hostname, "bastion");
  EXPECT_EQ(r.program, "sshd");
  EXPECT_EQ(r.event_ms, at(2026, 11, 22, 13, 45, 58) + 123);
}

TEST(SyslogRecord, ImfileUnwrapSameProgramOnly) {
  const auto outer = parse_syslog_record(
      "<13>Nov 22 18:10:53 kdc1 krb5kdc: Nov 22 18:10:52 vm krb5kdc[5709](info): TGS_REQ (z", kReceive);
  const auto inner = unwrap_inner_record(outer);
  EXPECT_EQ(inner.program, "krb5kdc");
  EXPECT_EQ(inner.hostname, "vm");
  EXPECT_EQ(inner.message, "TGS_REQ (z");
  EXPECT_EQ(inner.event_ms, at(2026, 11, 22, 18, 10, 52));
  // Another program's message claiming to be sshd stays that program's message.
  const auto evil = parse_syslog_record(
      "<13>Nov 22 18:10:53 h logger: Nov 22 18:10:52 h sshd[1]: Accepted password for x", kReceive);
  const auto same = unwrap_inner_record(evil);
  EXPECT_EQ(same.program, "logger");
}

// The kernel-verified sender of a wrapped line is the outer record's, on the outer record's
// host and at its time: the inner header is the sender's own text. Empty trusted values (a relayed message)
// leave the inner header's host.
TEST(SyslogRecord, UnwrapKeepsTheOuterTrustedSender) {
  const std::string line =
      "<38>1 2026-11-22T10:00:01+00:00 legacy1 sshd 999 - [trusted@32473 pid=\"999\" uid=\"1000\" "
      "exe=\"/usr/bin/python3\"] Nov 20 08:00:00 legacy2 sshd[1]: Accepted password for x";
  const auto inner = unwrap_inner_record(parse_syslog_record(line, kReceive));
  EXPECT_EQ(inner.program, "sshd");
  EXPECT_EQ(inner.pid, "1");
  EXPECT_TRUE(inner.has_trusted);
  EXPECT_EQ(inner.trusted_pid, "999");
  EXPECT_EQ(inner.trusted_uid, "1000");
  EXPECT_EQ(inner.trusted_exe, "/usr/bin/python3");
  EXPECT_EQ(inner.hostname, "legacy1");
  EXPECT_EQ(inner.event_ms, at(2026, 11, 22, 10, 0, 1));  // the outer record's time
  const std::string relayed =
      "<38>1 2026-11-22T10:00:01+00:00 kdc1 krb5kdc - - [trusted@32473 pid=\"\" uid=\"\" exe=\"\"] "
      "Nov 22 10:00:01 vm krb5kdc[5709](info): TGS_REQ (z";
  const auto kdc = unwrap_inner_record(parse_syslog_record(relayed, kReceive));
  EXPECT_EQ(kdc.program, "krb5kdc");
  EXPECT_TRUE(kdc.has_trusted);
  EXPECT_EQ(kdc.hostname, "vm");
}

TEST(SyslogRecord, GarbageIsBare) {
  static constexpr char kText[] = "\x00\xff<999>garbage";
  const auto r = parse_syslog_record(std::string_view(kText, sizeof kText - 1), kReceive);
  EXPECT_EQ(r.format, SyslogFormat::bare);
  EXPECT_EQ(r.program, "");
}

TEST(SyslogRecord, NoTagKeepsMessage) {
  const auto r = parse_syslog_record("Nov 22 18:10:52 host just some text", kReceive);
  EXPECT_EQ(r.hostname, "host");
  EXPECT_EQ(r.program, "");
  EXPECT_EQ(r.message, "just some text");
}

// RFC 3164 dates of the usual shape are read at fixed offsets, others by the general loops:
// on dates made from perturbed bytes, the record must be what the general loops give. The
// reference here is those loops (month word, one optional extra space, one or two day digits,
// HH:MM:SS); a date they accept means the same as its canonical "Mmm dd HH:MM:SS" spelling.
TEST(SyslogRecord, Rfc3164DatesOfAnyShapeAsTheGeneralParse) {
  struct Ref {
    bool ok = false;
    std::string month;
    unsigned day = 0, h = 0, mi = 0, s = 0;
  };
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  const auto ref = [&](std::string_view t) {
    Ref r;
    std::size_t p = 0;
    while (p < t.size() && p < 10 && t[p] != ' ' && !digit(t[p])) ++p;
    if (p == 0 || p >= t.size() || t[p] != ' ') return r;
    r.month = std::string(t.substr(0, p));
    ++p;
    if (p < t.size() && t[p] == ' ') ++p;
    if (p + 1 < t.size() && digit(t[p]) && digit(t[p + 1])) {
      r.day = static_cast<unsigned>((t[p] - '0') * 10 + (t[p + 1] - '0'));
      p += 2;
    } else if (p < t.size() && digit(t[p])) {
      r.day = static_cast<unsigned>(t[p] - '0');
      p += 1;
    } else {
      return r;
    }
    if (p >= t.size() || t[p] != ' ') return r;
    ++p;
    unsigned v[3];
    for (int k = 0; k < 3; ++k, p += 3) {
      if (p + 1 >= t.size() || !digit(t[p]) || !digit(t[p + 1]) || (k < 2 && (p + 2 >= t.size() || t[p + 2] != ':'))) return r;
      v[k] = static_cast<unsigned>((t[p] - '0') * 10 + (t[p + 1] - '0'));
    }
    if (p - 1 != t.size()) return r;  // the whole date (no fraction in these)
    r.h = v[0];
    r.mi = v[1];
    r.s = v[2];
    r.ok = true;
    return r;
  };
  std::mt19937 rnd(23);
  const std::string bases[] = {"Nov 21 10:20:30", "Nov  2 03:04:05", "Nov 2 03:04:05", "Sept 9 23:59:60", "Feb 29 12:00:00"};
  const std::string noise = "0123456789 :Nx";
  for (int i = 0; i < 30000; ++i) {
    std::string date = bases[rnd() % 5];
    for (auto k = rnd() % 3; k > 0; --k) date[rnd() % date.size()] = noise[rnd() % noise.size()];
    if (date[0] >= '0' && date[0] <= '9') date[0] = 'x';  // not an RFC 3339 start
    const std::string line = date + " host prog: message";
    const SyslogRecord r = parse_syslog_record(line, kReceive);
    const Ref e = ref(date);
    if (!e.ok) {
      // The general parse may still accept a shorter date followed by other bytes; then the
      // host is not "host". Only the accepted dates are compared.
      if (r.format == SyslogFormat::file_3164 && r.hostname == "host") ADD_FAILURE() << '"' << date << '"';
      continue;
    }
    ASSERT_EQ(r.format, SyslogFormat::file_3164) << '"' << date << '"';
    ASSERT_EQ(r.hostname, "host") << '"' << date << '"';
    ASSERT_EQ(r.program, "prog") << '"' << date << '"';
    char canonical[64];
    std::snprintf(canonical, sizeof canonical, "%s %02u %02u:%02u:%02u host prog: message", e.month.c_str(), e.day,
                  e.h, e.mi, e.s);
    const SyslogRecord c = parse_syslog_record(canonical, kReceive);
    ASSERT_EQ(r.time_unknown, c.time_unknown) << '"' << date << "\" / " << canonical;
    ASSERT_EQ(r.event_ms, c.event_ms) << '"' << date << "\" / " << canonical;
  }
}

// The usual "HOST TAG[PID]: " header is read by a fast path of byte masks over 32 bytes, every
// other shape by the general loops: on headers made from perturbed bytes (delimiters moved,
// doubled, dropped; fields lengthened past the 32 bytes), every field of the record must be what
// the general loops alone give.
TEST(SyslogRecord, HostAndTagFastPathAsTheGeneralParse) {
  std::mt19937 rnd(29);
  const std::string bases[] = {
      "Nov 21 10:20:30 web32 dhclient[29356]: DHCPACK of 10.9.32.7 from 10.9.0.1",
      "Nov 21 10:20:30 kdc1 krb5kdc[811](info): AS_REQ (4 etypes {aes256-cts-hmac-sha1-96(18)}) 10.0.0.2: ISSUE",
      "<38>Nov  2 03:04:05 legacy1 sshd[12]: Accepted gssapi-with-mic for alice from 10.0.0.2 port 5 ssh2",
      "Nov 21 10:20:30 mail30 postfix/smtpd[66337]: connect from unknown[198.51.100.30]",
      "Nov 21 10:20:30 db28 kernel: [44218.123456] TCP: request_sock_TCP: Possible SYN flooding on port 5432",
      "2026-11-21T10:20:30.123+01:00 bastion sshd-session[4242]: Postponed gssapi-with-mic for bob from ::1",
      "Nov 21 10:20:30 sshd[5]: no host in this one, and the message is long enough to read",
      "Nov 21 10:20:30 h x[1](y): z and more bytes after the tag to make the line long enough",
  };
  // The closing ']' and ')' at and around parse_tag's bounds (21 and 16 bytes), inside the 32.
  for (std::size_t n = 0; n <= 24; ++n) {
    for (const std::string& line : {"Nov 21 10:20:30 h x[" + std::string(n, '7') + "]: message of some length here",
                                    "Nov 21 10:20:30 h x[1](" + std::string(n, 'i') + "): message of some length"}) {
      const SyslogRecord f = parse_syslog_record(line, kReceive);
      const SyslogRecord g = detail::parse_syslog_record_general(line, kReceive);
      ASSERT_EQ(f.program, g.program) << line;
      ASSERT_EQ(f.pid, g.pid) << line;
      ASSERT_EQ(f.message, g.message) << line;
    }
  }
  const std::string noise = " []():x1";
  for (int i = 0; i < 60000; ++i) {
    std::string line = bases[rnd() % std::size(bases)];
    const std::size_t header = 16 + rnd() % 24;  // perturb the host/tag part mostly
    for (auto k = rnd() % 4; k > 0; --k) {
      const std::size_t at = std::min(line.size() - 1, static_cast<std::size_t>(rnd() % header) + 4);
      switch (rnd() % 4) {
        case 0: line[at] = noise[rnd() % noise.size()]; break;
        case 1: line.insert(at, 1, noise[rnd() % noise.size()]); break;
        case 2: line.erase(at, 1); break;
        default: line.insert(at, rnd() % 20, 'a'); break;
      }
    }
    line.resize(std::min(line.size(), static_cast<std::size_t>(20 + rnd() % 90)));
    const SyslogRecord f = parse_syslog_record(line, kReceive);
    const SyslogRecord g = detail::parse_syslog_record_general(line, kReceive);
    ASSERT_EQ(f.format, g.format) << line;
    ASSERT_EQ(f.hostname, g.hostname) << line;
    ASSERT_EQ(f.program, g.program) << line;
    ASSERT_EQ(f.pid, g.pid) << line;
    ASSERT_EQ(f.message, g.message) << line;
    ASSERT_EQ(f.event_ms, g.event_ms) << line;
    ASSERT_EQ(f.time_unknown, g.time_unknown) << line;
    ASSERT_EQ(f.priority, g.priority) << line;
  }
}

// The date memo (the year of a date, and the event time of the last whole minute) changes no
// record: a stream of lines parsed with one memo, whose dates repeat, differ by a byte or in
// their seconds, carry fractions, and come with changing receive times and UTC offsets, gives
// what each line gives parsed alone.
TEST(SyslogRecord, DateMemoChangesNoRecord) {
  std::mt19937 rnd(31);
  const std::string stamps[] = {"Nov 21 10:20:30", "Nov 21 10:20:31", "Nov 21 10:20:30.5", "Dec 31 23:59:59",
                                "Jan  1 00:00:00", "Nov 24 00:00:00", "Nov 22 23:59:59", "Feb 29 12:00:00",
                                "Nov 21 10:20:3x", "Xyz 21 10:20:30", "Nov 21 10:20:30.", "Nov 21 25:20:30"};
  // Minutes whose seconds are drawn 00..61: kept in the memo and read from it by their seconds,
  // among them the minutes the year limit (receive + 1 day: Nov 24 00:00:00 UTC for kReceive,
  // other minutes under the other offsets and receive times) cuts, whose seconds get two years.
  const std::string minutes[] = {"Nov 24 00:00:", "Nov 23 23:59:", "Nov 24 01:00:", "Nov 23 19:00:",
                                 "Jan 31 23:59:", "Nov 21 10:20:", "Nov  2 03:04:"};
  SyslogDateMemo memo;
  for (int i = 0; i < 40000; ++i) {
    std::string stamp = stamps[rnd() % std::size(stamps)];
    if (rnd() % 2 == 0) {
      const unsigned sec = static_cast<unsigned>(rnd() % 62);
      stamp = minutes[rnd() % 4 == 0 ? rnd() % std::size(minutes) : 0] + static_cast<char>('0' + sec / 10) +
              static_cast<char>('0' + sec % 10);
    }
    const std::string line = stamp + " host prog[1]: message";
    const std::int64_t receive = kMemoReceives[rnd() % 8 == 0 ? rnd() % 3 : 0];
    const SyslogOptions options{kMemoOffsets[rnd() % 8 == 0 ? rnd() % 3 : 0]};
    const SyslogRecord m = parse_syslog_record(line, receive, options, &memo);
    const SyslogRecord a = parse_syslog_record(line, receive, options);
    ASSERT_EQ(m.event_ms, a.event_ms) << line << " receive " << receive << " offset " << options.utc_offset_seconds;
    ASSERT_EQ(m.time_unknown, a.time_unknown) << line;
    ASSERT_EQ(m.format, a.format) << line;
    ASSERT_EQ(m.hostname, a.hostname) << line;
    ASSERT_EQ(m.message, a.message) << line;
  }
}

}  // namespace
}  // namespace hopguard::scanner

namespace hopguard::scanner {
namespace {

// Every field of two records, views compared as the same bytes of the frame (an empty view may
// point anywhere).
void expect_same_record(const SyslogRecord& a, const SyslogRecord& b, const std::string& line) {
  const auto same = [](std::string_view x, std::string_view y) {
    return x.size() == y.size() && (x.empty() || x.data() == y.data());
  };
  ASSERT_EQ(a.format, b.format) << line;
  ASSERT_EQ(a.priority, b.priority) << line;
  ASSERT_EQ(a.event_ms, b.event_ms) << line;
  ASSERT_EQ(a.receive_ms, b.receive_ms) << line;
  ASSERT_EQ(a.time_unknown, b.time_unknown) << line;
  ASSERT_TRUE(same(a.hostname, b.hostname)) << line;
  ASSERT_TRUE(same(a.program, b.program)) << line;
  ASSERT_TRUE(same(a.pid, b.pid)) << line;
  ASSERT_TRUE(same(a.message, b.message)) << line;
  ASSERT_TRUE(same(a.raw, b.raw)) << line;
  ASSERT_EQ(a.has_trusted, b.has_trusted) << line;
  ASSERT_TRUE(same(a.trusted_pid, b.trusted_pid)) << line;
  ASSERT_TRUE(same(a.trusted_uid, b.trusted_uid)) << line;
  ASSERT_TRUE(same(a.trusted_exe, b.trusted_exe)) << line;
}

// With a date memo, a line of the second the memo holds, a space after it and 32 bytes more
// ("Mmm dd HH:MM:SS HOST TAG[PID]: MSG") is read by a short path of its own: on a stream of such
// lines, perturbed in the date, at the space after it and in the host and tag, cut around the 48
// bytes the path needs, and with changing receive times and UTC offsets, every field of every
// record must be what parse_syslog_record gives without a memo (parse_record alone).
TEST(SyslogRecord, MemoisedSecondPathGivesTheWholeRecord) {
  std::mt19937 rnd(37);
  const std::string stamps[] = {"Nov 21 10:20:30", "Nov 21 10:20:31", "Nov  2 03:04:05", "Feb 29 12:00:00"};
  const std::string rests[] = {
      " web32 dhclient[29356]: DHCPACK of 10.9.32.7 from 10.9.0.1",
      " kdc1 krb5kdc[811](info): AS_REQ (4 etypes {aes256-cts-hmac-sha1-96(18)}) 10.0.0.2: ISSUE",
      " mail30 postfix/smtpd[66337]: connect from unknown[198.51.100.30]",
      " db28 kernel: [44218.123456] TCP: request_sock_TCP: Possible SYN flooding on port 5432",
      " bastion sshd-session[4242]: Postponed gssapi-with-mic for bob from ::1 port 22",
      " sshd[5]: no host in this one, and the message is long enough to read",
      " h x[1](y): z and more bytes after the tag to make the line long enough",
      " a-very-long-host-name-of-a-site.example.org sshd[77]: Accepted password for x",
  };
  const std::string noise = " []():x1.N";
  SyslogDateMemo memo;
  std::string previous_stamp;
  int candidates = 0;  // lines of the shape the short path takes (the test must exercise it)
  for (int i = 0; i < 60000; ++i) {
    std::string line = stamps[rnd() % 8 == 0 ? rnd() % std::size(stamps) : 0] + rests[rnd() % std::size(rests)];
    for (auto k = rnd() % 3; k > 0; --k) edit_line(line, rnd, noise, 48, 0, 20);
    if (rnd() % 4 == 0) line.resize(std::min(line.size(), static_cast<std::size_t>(44 + rnd() % 8)));
    const std::int64_t receive = kMemoReceives[rnd() % 16 == 0 ? rnd() % 3 : 0];
    const SyslogOptions options{kMemoOffsets[rnd() % 16 == 0 ? rnd() % 3 : 0]};
    const SyslogRecord m = parse_syslog_record(line, receive, options, &memo);
    const SyslogRecord a = parse_syslog_record(line, receive, options);
    ASSERT_NO_FATAL_FAILURE(expect_same_record(m, a, line));
    if (line.size() >= 48 && line[15] == ' ' && line.substr(0, 15) == previous_stamp) ++candidates;
    if (line.size() >= 15) previous_stamp = line.substr(0, 15);
  }
  EXPECT_GT(candidates, 20000);
}

// A line whose 48 first bytes are those of the header the memo keeps, but for the seconds, takes
// the kept header's fields from one compare: on a stream of lines that mostly repeat a few
// headers (KDC lines of one process, minute after minute), perturbed in every byte of the first
// 50 (the minute, the seconds, the space after them, host, tag, pid, the level, the ": " before
// the message, the first bytes of the message), cut around 48 bytes and with the message
// starting around the 48th, under changing receive times and UTC offsets, every field of every
// record must be what parse_syslog_record gives without a memo.
TEST(SyslogRecord, KeptHeaderGivesTheWholeRecord) {
  std::mt19937 rnd(41);
  const std::string heads[] = {
      "Nov 21 10:20:30 kdc1 krb5kdc[811](info): ",
      "Nov 21 10:20:30 kdc1 krb5kdc[811](info):",
      "Nov 21 10:20:30 kdc1 krb5kdc[811]: ",
      "Nov 21 10:20:30 kdc1 krb5kdc: ",
      "Nov 21 10:20:30 a-long-kdc-name.example.org krb5kdc[8]: ",  // the message at byte 48
      "Nov 21 10:20:30 a-long-kdc-name.example.org krb5kdc[81]: ",  // at 49: not kept
      "Nov 21 10:20:30 kdc1 x[1](y): ",
      "Nov  2 03:04:05 legacy1 sshd[12]: ",
      "Nov 24 00:00:30 kdc1 krb5kdc[811](info): ",  // the year limit cuts this minute
      "Nov 23 23:59:30 kdc1 krb5kdc[811](info): ",
  };
  const std::string bodies[] = {
      "AS_REQ (4 etypes {aes256-cts-hmac-sha1-96(18)}) 10.0.0.2: ISSUE: authtime 1, alice@HG.TEST for x",
      " TGS_REQ (2 etypes {a(1)}) 10.0.0.3: NEEDED_PREAUTH: bob@HG.TEST for krbtgt/HG.TEST@HG.TEST",
      ": [] () x1 more text",
      "",
  };
  const std::string noise = " []():x1.N9";
  SyslogDateMemo memo;
  std::size_t head = 0;
  unsigned minute = 20;
  int kept = 0;  // records given from a kept header (the test must exercise that path)
  for (int i = 0; i < 200000; ++i) {
    if (rnd() % 16 == 0) {  // the next minute, or another header
      minute = (minute + 1) % 60;
      head = rnd() % 2 == 0 ? 0 : rnd() % std::size(heads);
    }
    std::string line = heads[head] + bodies[rnd() % std::size(bodies)];
    if (head < 7) {
      line[10] = static_cast<char>('0' + minute / 10);
      line[11] = static_cast<char>('0' + minute % 10);
    }
    const unsigned sec = rnd() % 8 == 0 ? static_cast<unsigned>(rnd() % 100) : static_cast<unsigned>(rnd() % 60);
    line[13] = static_cast<char>('0' + sec / 10);
    line[14] = static_cast<char>('0' + sec % 10);
    if (rnd() % 10 == 0) {
      for (auto k = 1 + rnd() % 2; k > 0; --k) edit_line(line, rnd, noise, 50, 1, 4);
    }
    if (rnd() % 16 == 0) line.resize(std::min(line.size(), static_cast<std::size_t>(44 + rnd() % 8)));
    const std::int64_t receive = kMemoReceives[rnd() % 64 == 0 ? rnd() % 3 : 0];
    const SyslogOptions options{kMemoOffsets[rnd() % 64 == 0 ? rnd() % 3 : 0]};
    const std::uint64_t id = memo.header_id;
    const SyslogRecord m = parse_syslog_record(line, receive, options, &memo);
    const SyslogRecord a = parse_syslog_record(line, receive, options);
    ASSERT_NO_FATAL_FAILURE(expect_same_record(m, a, line));
    if (memo.header_set) {
      // The kept header's fields are the record's.
      ASSERT_EQ(m.hostname, std::string_view(memo.header + 16, memo.host_size)) << line;
      ASSERT_EQ(m.program, std::string_view(memo.header + memo.program_at, memo.program_size)) << line;
      ASSERT_EQ(m.pid, std::string_view(memo.header + memo.pid_at, memo.pid_size)) << line;
      if (memo.header_id == id) ++kept;
    }
  }
  EXPECT_GT(kept, 8000);
}

}  // namespace
}  // namespace hopguard::scanner
