// Syslog records: one frame -> header fields + message. Contract: parse_syslog_record never
// fails and never allocates; every field is a view into the frame; what cannot be parsed is
// reported in SyslogRecord::quality and the rest of the record is still usable.
//
// Accepted shapes (tried in this order):
//   RFC 5424   "<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD...] MSG"
//   RFC 3164   "<PRI>Mmm dd HH:MM:SS[.frac] [HOST] TAG[PID]: MSG"   (HOST may be missing)
//   file forms without PRI: "Mmm dd HH:MM:SS HOST TAG[PID]: MSG" (rsyslog traditional file
//              format), "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm) HOST TAG[PID]: MSG" (rsyslog
//              RSYSLOG_FileFormat), and the MIT KDC FILE: log "Mmm dd HH:MM:SS HOST
//              krb5kdc[PID](info): MSG" (the "(level)" suffix after the PID is accepted).
// RFC 3164 has no year: the event time is the most recent date not later than the receive
// time plus one day (a clock a little ahead on the sender is not a year in the past).
// An unknown (for example localised) month name is not fatal: the record keeps the receive
// time as event time and is marked time_unknown.
#pragma once

#include <cstdint>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace hopguard::scanner {

enum class SyslogFormat : std::uint8_t {
  rfc5424,
  rfc3164,      // with <PRI>
  file_3164,    // "Mmm dd HH:MM:SS host tag: msg" without PRI (rsyslog files, KDC FILE: log)
  file_3339,    // "YYYY-MM-DDTHH:MM:SS... host tag: msg" without PRI
  bare,         // nothing recognisable: the whole frame is the message, no program
};

struct SyslogRecord {
  SyslogFormat format = SyslogFormat::bare;
  int priority = -1;           // 0..191, -1 when absent
  std::int64_t event_ms = 0;   // event time, ms since the epoch UTC (receive time if unknown)
  std::int64_t receive_ms = 0; // when the frame was received (given by the caller)
  bool time_unknown = false;   // the header had no parsable timestamp
  std::string_view hostname;   // empty when the header has none ("-" in RFC 5424 is empty)
  std::string_view program;    // TAG / APP-NAME without "[pid]" and ":"; empty when none
  std::string_view pid;        // digits between [ ] (or RFC 5424 PROCID); empty when none
  std::string_view message;    // after "TAG[PID]: " (RFC 5424: after the structured data)
  std::string_view raw;        // the whole frame
  // Kernel-verified sender credentials that rsyslog's imuxsock (Annotate, ParseTrusted) adds and
  // etc/rsyslog.d/60-hopguard-forward.conf forwards as the RFC 5424 structured-data element
  // [trusted@32473 pid="..." uid="..." exe="..."]. Raw (still escaped) parameter values.
  bool has_trusted = false;
  std::string_view trusted_pid;
  std::string_view trusted_uid;
  std::string_view trusted_exe;
};

struct SyslogOptions {
  // Offset applied to header times without a zone (RFC 3164): local time of the senders, in
  // seconds east of UTC. The scanner is pure, so the caller supplies it (0: UTC).
  std::int32_t utc_offset_seconds = 0;
};

// Parses one frame. receive_ms is the time the frame arrived (the year of RFC 3164 headers is
// inferred from it).
SyslogRecord parse_syslog_record(std::string_view frame, std::int64_t receive_ms,
                                 const SyslogOptions& options = {}) noexcept;

// The year and day number of the last RFC 3164 date parsed (the date repeats on every line of
// a day, and the receive time of a whole file is one): year_of and days_from_civil, with their
// divisions, run once per change of date instead of per line. Owned by the caller (one per
// pipeline), starts empty.
struct SyslogDateMemo {
  std::int64_t receive_ms = INT64_MIN;
  std::int64_t year = 0;   // the year of receive_ms
  std::int64_t days = 0;   // days_from_civil(year, month, day)
  unsigned month = 0, day = 0;
  // The minute "Mmm dd HH:MM:" of the last whole "Mmm dd HH:MM:SS" without a fraction, and the
  // event time of its second 00: a line of that minute (lines of a log come in time order) is
  // its 13 bytes compared and its seconds added, instead of read and converted again. Set only
  // when every second 00..60 of the minute gets the same year (a minute the year limit does
  // not cut).
  bool minute_set = false;
  char minute[13] = {};
  std::int64_t minute_receive_ms = 0;
  std::int32_t minute_offset = 0;
  std::int64_t minute_ms = 0;
  // The header "Mmm dd HH:MM:SS HOST TAG[PID]: " (a space before the message, 48 bytes at most)
  // of the first line of the last minute parse_syslog_record read, kept with where its fields
  // are: a line whose 48 first bytes are the same but for the seconds and past the header (a KDC
  // log's next request, from the same process in the same minute) gets the same fields and the
  // kept minute's time plus its seconds, from one compare. The first line of another header
  // drops it until the next minute. header_set: a header is kept and the record last returned
  // took its host, program and pid from it; header_id counts the headers kept (the engine keeps
  // what it derives from them by header_id).
  bool header_set = false;
  std::uint8_t header_size = 0;  // where the message starts
  std::uint8_t host_size = 0, program_at = 0, program_size = 0, pid_at = 0, pid_size = 0;
  std::int32_t header_offset = 0;
  std::uint64_t header_mask = 0;  // bit i: byte i belongs to the header (bytes 13 and 14 do not)
  std::uint64_t header_id = 0;
  std::int64_t header_receive_ms = 0;
  std::int64_t header_minute_ms = 0;
  char header[48] = {};
};

// The same, with a date memo (the result does not depend on the memo's content).
SyslogRecord parse_syslog_record(std::string_view frame, std::int64_t receive_ms, const SyslogOptions& options,
                                 SyslogDateMemo* memo) noexcept;

namespace detail {
// parse_syslog_record for a line that is not of the kept header (memo null, or its header_set
// false): its other cases.
SyslogRecord parse_syslog_record_unkept(std::string_view frame, std::int64_t receive_ms, const SyslogOptions& options,
                                        SyslogDateMemo* memo) noexcept;

#if defined(__SSE2__)
// Bit i set where t[i] == kept[i], for i in [0, 48) (48 bytes readable at both).
[[gnu::always_inline]] inline std::uint64_t same_bytes48(const char* t, const char* kept) noexcept {
  const auto eq = [&](int i) __attribute__((always_inline)) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(t + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kept + i));
    return static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(a, b))));
  };
  return eq(0) | (eq(16) << 16) | (eq(32) << 32);
}
#endif

// Whether t is a line of the kept header (memo.header_set must hold): the same bytes but for the
// seconds, which must be 00..60, under the same receive time and offset. Then event_ms is set:
// the record parse_syslog_record(t, receive_ms, options, &memo) returns (its first case) is
// kept_header_record(t, receive_ms, memo, event_ms). False (event_ms untouched) otherwise.
[[gnu::always_inline]] inline bool kept_header_time(std::string_view t, std::int64_t receive_ms,
                                                    const SyslogOptions& options, const SyslogDateMemo& memo,
                                                    std::int64_t& event_ms) noexcept {
#if defined(__SSE2__)
  if (t.size() < 48) return false;
  const char* c = t.data();
  if ((same_bytes48(c, memo.header) & memo.header_mask) != memo.header_mask || memo.header_receive_ms != receive_ms ||
      memo.header_offset != options.utc_offset_seconds) {
    return false;
  }
  // The seconds "SS" at c[13, 15): two digits 00..60 (every second of a memoised minute gets its
  // year; see SyslogDateMemo).
  if (c[13] < '0' || c[13] > '9' || c[14] < '0' || c[14] > '9') return false;
  const int s = (c[13] - '0') * 10 + (c[14] - '0');
  if (s > 60) return false;
  event_ms = memo.header_minute_ms + s * 1000;
  return true;
#else
  (void)t;
  (void)receive_ms;
  (void)options;
  (void)memo;
  (void)event_ms;
  return false;
#endif
}

// The record of a line t of the kept header (kept_header_time gave event_ms).
[[gnu::always_inline]] inline SyslogRecord kept_header_record(std::string_view t, std::int64_t receive_ms,
                                                              const SyslogDateMemo& memo, std::int64_t event_ms) noexcept {
  const char* c = t.data();
  return SyslogRecord{.format = SyslogFormat::file_3164, .priority = -1, .event_ms = event_ms,
                      .receive_ms = receive_ms, .time_unknown = false,
                      .hostname = std::string_view(c + 16, memo.host_size),
                      .program = std::string_view(c + memo.program_at, memo.program_size),
                      .pid = std::string_view(c + memo.pid_at, memo.pid_size), .message = t.substr(memo.header_size),
                      .raw = t, .has_trusted = false, .trusted_pid = {}, .trusted_uid = {}, .trusted_exe = {}};
}
}  // namespace detail

// parse_syslog_record(frame, receive_ms, options, &memo), with its kept-header case inline in the
// caller (the engine's call per line: most lines of a KDC log are that case, and the call, its
// frame and its stack guard cost ~25 instructions a line). The kept header (SyslogDateMemo) is
// dropped at the first line of another header: a header is kept again only where a minute
// starts (parse_record), so a log of many hosts and programs pays its compare about once a
// minute.
[[gnu::always_inline]] inline SyslogRecord parse_syslog_line(std::string_view frame, std::int64_t receive_ms,
                                                             const SyslogOptions& options, SyslogDateMemo& memo) noexcept {
  if (memo.header_set) {
    std::int64_t event_ms = 0;
    if (detail::kept_header_time(frame, receive_ms, options, memo, event_ms)) {
      return detail::kept_header_record(frame, receive_ms, memo, event_ms);
    }
    memo.header_set = false;
  }
  return detail::parse_syslog_record_unkept(frame, receive_ms, options, &memo);
}

// The rsyslog imfile form: a file line carried as the message of a second syslog header
// ("<13>Nov 22 ... kdc1 krb5kdc: Nov 22 ... kdc1 krb5kdc[12](info): AS_REQ ..."). If `outer`'s
// message is itself a syslog line whose program equals outer's program, returns the inner
// record (event time from the inner header when it has one); otherwise returns outer unchanged.
// Only the same program may be unwrapped, so a message can never claim another program.
SyslogRecord unwrap_inner_record(const SyslogRecord& outer, const SyslogOptions& options = {}) noexcept;

// False when unwrap_inner_record(outer) returns outer unchanged whatever the options (a check
// of a few bytes, so that callers copy no record for the lines that are not wrapped: nearly all).
bool may_be_wrapped(const SyslogRecord& outer) noexcept;

namespace detail {
// parse_syslog_record without its fast path for the usual "HOST TAG[PID]: " (the general loops
// only, no date memo): the reference the tests compare the fast path with.
SyslogRecord parse_syslog_record_general(std::string_view frame, std::int64_t receive_ms) noexcept;
}  // namespace detail

// Days since 1970-01-01 of a proleptic Gregorian date (exposed for the tests).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept;

}  // namespace hopguard::scanner
