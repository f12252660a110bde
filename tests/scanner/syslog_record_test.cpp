#include <scanner/syslog_record.hpp>

#include <gtest/gtest.h>

namespace hopguard::scanner {
namespace {

// 2026-11-23T00:00:00Z
constexpr std::int64_t kReceive = 1795392000000;
std::int64_t at(int y, unsigned m, unsigned d, unsigned h, unsigned mi, unsigned s) {
  return (days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + s) * 1000;
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

}  // namespace
}  // namespace hopguard::scanner
