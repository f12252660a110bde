#include "syslog_record.hpp"

#include "text_search.hpp"

#include <hopguard/address.hpp>

#include <algorithm>
#include <cstring>

namespace hopguard::scanner {

namespace {

constexpr std::int64_t kMsPerDay = 86'400'000;

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Reads exactly n digits at text[pos]; false if any is not a digit.
bool read_digits(std::string_view text, std::size_t pos, std::size_t n, unsigned& out) noexcept {
  if (pos + n > text.size()) return false;
  unsigned v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = text[pos + i];
    if (!is_digit(c)) return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  out = v;
  return true;
}

// "Jan".."Dec" -> 1..12, 0 when unknown (localised names are not fatal, see header). One switch
// on the three bytes packed into an integer: this runs for every line.
unsigned month_number(std::string_view m) noexcept {
  if (m.size() != 3) return 0;
  const auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(m[i])); };
  switch ((b(0) << 16) | (b(1) << 8) | b(2)) {
    case ('J' << 16) | ('a' << 8) | 'n': return 1;
    case ('F' << 16) | ('e' << 8) | 'b': return 2;
    case ('M' << 16) | ('a' << 8) | 'r': return 3;
    case ('A' << 16) | ('p' << 8) | 'r': return 4;
    case ('M' << 16) | ('a' << 8) | 'y': return 5;
    case ('J' << 16) | ('u' << 8) | 'n': return 6;
    case ('J' << 16) | ('u' << 8) | 'l': return 7;
    case ('A' << 16) | ('u' << 8) | 'g': return 8;
    case ('S' << 16) | ('e' << 8) | 'p': return 9;
    case ('O' << 16) | ('c' << 8) | 't': return 10;
    case ('N' << 16) | ('o' << 8) | 'v': return 11;
    case ('D' << 16) | ('e' << 8) | 'c': return 12;
    default: return 0;
  }
}

std::int64_t to_ms(std::int64_t days, unsigned h, unsigned mi, unsigned s, unsigned ms) noexcept {
  return days * kMsPerDay + (static_cast<std::int64_t>(h) * 3600 + mi * 60 + s) * 1000 + ms;
}

// Fractional seconds ".d+" at pos: returns milliseconds, advances pos past all digits.
unsigned read_fraction(std::string_view text, std::size_t& pos) noexcept {
  if (pos >= text.size() || text[pos] != '.') return 0;
  ++pos;
  unsigned ms = 0;
  unsigned scale = 100;
  while (pos < text.size() && is_digit(text[pos])) {
    ms += static_cast<unsigned>(text[pos] - '0') * scale;
    scale /= 10;
    ++pos;
  }
  return ms;
}

// The civil year of a time in ms since the epoch.
std::int64_t year_of(std::int64_t ms) noexcept {
  std::int64_t z = (ms >= 0 ? ms : ms - (kMsPerDay - 1)) / kMsPerDay + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  return yoe + era * 400 + (m <= 2 ? 1 : 0);
}

// RFC 3164 "Mmm dd HH:MM:SS[.frac]" at pos. Returns true and advances pos if the shape is there
// (the month may be unknown: then time_unknown is set).
// "Mmm dd HH:MM:SS" or "Mmm  d HH:MM:SS" at pos, the shape of nearly every RFC 3164 header:
// the fields the general parse in parse_3164_time finds for these bytes, read at their fixed
// offsets without its loops. False when the 15 bytes are not exactly this shape (the general
// parse then decides).
bool fixed_3164_time(std::string_view t, std::size_t pos, unsigned& day, unsigned& h, unsigned& mi,
                     unsigned& s) noexcept {
  if (pos > t.size() || t.size() - pos < 15) return false;
  const char* c = t.data() + pos;
  const auto word = [](char b) { return b != ' ' && !is_digit(b); };
  const auto two = [&](std::size_t i) { return static_cast<unsigned>((c[i] - '0') * 10 + (c[i + 1] - '0')); };
  if (!word(c[0]) || !word(c[1]) || !word(c[2]) || c[3] != ' ' || !is_digit(c[5]) || c[6] != ' ' ||
      !is_digit(c[7]) || !is_digit(c[8]) || c[9] != ':' || !is_digit(c[10]) || !is_digit(c[11]) ||
      c[12] != ':' || !is_digit(c[13]) || !is_digit(c[14])) {
    return false;
  }
  if (is_digit(c[4])) {
    day = two(4);
  } else if (c[4] == ' ') {
    day = static_cast<unsigned>(c[5] - '0');
  } else {
    return false;
  }
  h = two(7);
  mi = two(10);
  s = two(13);
  return true;
}

// a[0, 13) == b[0, 13): two overlapping 8-byte compares.
bool same_minute(const char* a, const char* b) noexcept {
  return detail::load64(a) == detail::load64(b) && detail::load64(a + 5) == detail::load64(b + 5);
}

// minute_ms plus the seconds "SS" at c[13, 15) of "Mmm dd HH:MM:SS": false unless they are two
// digits 00..60 (the seconds every memoised minute holds; see SyslogDateMemo).
[[gnu::always_inline]] inline bool add_seconds(const char* c, std::int64_t minute_ms, std::int64_t& event_ms) noexcept {
  if (!is_digit(c[13]) || !is_digit(c[14])) return false;
  const int s = (c[13] - '0') * 10 + (c[14] - '0');
  if (s > 60) return false;
  event_ms = minute_ms + s * 1000;
  return true;
}

// The event time of "Mmm dd HH:MM:SS" at t[pos, pos + 15) (15 readable bytes) from the memoised
// minute: false when the memo does not hold its minute or its seconds are not 00..60. Otherwise
// the value parse_3164_time computes for those bytes (SyslogDateMemo: the memo holds only minutes
// whose every second gets the same year).
[[gnu::always_inline]] inline bool memoised_time(std::string_view t, std::size_t pos, std::int64_t receive_ms, std::int32_t offset,
                   const SyslogDateMemo& memo, std::int64_t& event_ms) noexcept {
  if (!memo.minute_set || memo.minute_receive_ms != receive_ms || memo.minute_offset != offset) return false;
  const char* c = t.data() + pos;
  return same_minute(c, memo.minute) && add_seconds(c, memo.minute_ms, event_ms);
}

// Which year the date of a time of day gets (the most recent not later than limit, among the
// years before, of and after y's; see parse_3164_time), as the path through the comparisons
// (each monotonic in the time) and the resulting time. One date computation on the common
// path: the same month and day a year later is 365 or 366 days later, so only when this year's
// date is at least 365 days before the limit may the next year's fit.
enum class YearPath : std::uint8_t { next, this_before_next, this_year, last, none };
struct YearPick {
  YearPath path;
  std::int64_t ms;
};
YearPick pick_year(std::int64_t y, std::int64_t days, unsigned month, unsigned day, unsigned h, unsigned mi,
                   unsigned s, unsigned ms, std::int64_t limit, std::int64_t offset_ms) noexcept {
  const std::int64_t this_year = to_ms(days, h, mi, s, ms) - offset_ms;
  if (this_year <= limit) {
    if (this_year + 365 * kMsPerDay <= limit) {
      const std::int64_t next_year = to_ms(days_from_civil(y + 1, month, day), h, mi, s, ms) - offset_ms;
      if (next_year <= limit) return {YearPath::next, next_year};
      return {YearPath::this_before_next, this_year};
    }
    return {YearPath::this_year, this_year};
  }
  const std::int64_t last_year = to_ms(days_from_civil(y - 1, month, day), h, mi, s, ms) - offset_ms;
  if (last_year <= limit) return {YearPath::last, last_year};
  return {YearPath::none, 0};
}

bool parse_3164_time(std::string_view t, std::size_t& pos, std::int64_t receive_ms,
                     const SyslogOptions& opt, SyslogRecord& r, SyslogDateMemo* memo) noexcept {
  const bool whole_second = pos <= t.size() && t.size() - pos >= 15 && (t.size() - pos == 15 || t[pos + 15] != '.');
  if (memo != nullptr && whole_second && memoised_time(t, pos, receive_ms, opt.utc_offset_seconds, *memo, r.event_ms)) {
    pos += 15;
    return true;
  }
  std::size_t p = pos;
  std::string_view month_text;
  unsigned day = 0, h = 0, mi = 0, s = 0;
  const bool fixed = fixed_3164_time(t, pos, day, h, mi, s);
  if (fixed) {
    month_text = t.substr(pos, 3);
    p = pos + 15;
  } else {
    // Month: 3 ASCII letters; other letter runs up to 9 bytes (localised) are tolerated.
    p = find_space_or_digit(t, pos, 10);
    if (p == pos || p >= t.size() || t[p] != ' ') return false;
    month_text = t.substr(pos, p - pos);
    ++p;
    if (p < t.size() && t[p] == ' ') ++p;  // "Nov  2"
    if (p + 1 < t.size() && is_digit(t[p]) && is_digit(t[p + 1])) {
      day = static_cast<unsigned>((t[p] - '0') * 10 + (t[p + 1] - '0'));
      p += 2;
    } else if (p < t.size() && is_digit(t[p])) {
      day = static_cast<unsigned>(t[p] - '0');
      p += 1;
    } else {
      return false;
    }
    if (p >= t.size() || t[p] != ' ') return false;
    ++p;
    if (!read_digits(t, p, 2, h) || p + 2 >= t.size() || t[p + 2] != ':' ||
        !read_digits(t, p + 3, 2, mi) || p + 5 >= t.size() || t[p + 5] != ':' ||
        !read_digits(t, p + 6, 2, s)) {
      return false;
    }
    p += 8;
  }
  const unsigned ms = read_fraction(t, p);
  const std::size_t stamp_at = pos;
  pos = p;
  const unsigned month = month_number(month_text);
  if (month == 0 || day == 0 || day > 31 || h > 23 || mi > 59 || s > 60) {
    r.time_unknown = true;
    r.event_ms = receive_ms;
    return true;
  }
  // The most recent date not later than receive + 1 day, among the years before, of and after
  // receive_ms (pick_year).
  std::int64_t y = 0, days = 0;
  if (memo != nullptr && memo->receive_ms == receive_ms && memo->month == month && memo->day == day) {
    y = memo->year;
    days = memo->days;
  } else {
    y = year_of(receive_ms);
    days = days_from_civil(y, month, day);
    if (memo != nullptr) {
      memo->receive_ms = receive_ms;
      memo->year = y;
      memo->days = days;
      memo->month = month;
      memo->day = day;
    }
  }
  const std::int64_t limit = receive_ms + kMsPerDay;
  const std::int64_t offset_ms = static_cast<std::int64_t>(opt.utc_offset_seconds) * 1000;
  const YearPick pick = pick_year(y, days, month, day, h, mi, s, ms, limit, offset_ms);
  if (pick.path == YearPath::none) {
    r.event_ms = receive_ms;
    r.time_unknown = true;
    return true;
  }
  r.event_ms = pick.ms;
  if (memo != nullptr && fixed && whole_second) {
    // The minute is kept when its seconds 00 and 60 take the same path: each comparison on the
    // way is monotonic in the time, so every second between them takes it too, and its time is
    // second 00's plus the seconds.
    const YearPick first = pick_year(y, days, month, day, h, mi, 0, 0, limit, offset_ms);
    const YearPick leap = pick_year(y, days, month, day, h, mi, 60, 0, limit, offset_ms);
    memo->minute_set = first.path == leap.path;
    if (memo->minute_set) {
      std::copy_n(t.data() + stamp_at, 13, memo->minute);
      memo->minute_receive_ms = receive_ms;
      memo->minute_offset = opt.utc_offset_seconds;
      memo->minute_ms = first.ms;
    }
  }
  return true;
}

// RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" at pos.
bool parse_3339_time(std::string_view t, std::size_t& pos, SyslogRecord& r) noexcept {
  unsigned y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  std::size_t p = pos;
  if (!read_digits(t, p, 4, y) || p + 4 >= t.size() || t[p + 4] != '-' ||
      !read_digits(t, p + 5, 2, mo) || p + 7 >= t.size() || t[p + 7] != '-' ||
      !read_digits(t, p + 8, 2, d) || p + 10 >= t.size() || (t[p + 10] != 'T' && t[p + 10] != 't') ||
      !read_digits(t, p + 11, 2, h) || p + 13 >= t.size() || t[p + 13] != ':' ||
      !read_digits(t, p + 14, 2, mi) || p + 16 >= t.size() || t[p + 16] != ':' ||
      !read_digits(t, p + 17, 2, s)) {
    return false;
  }
  p += 19;
  const unsigned ms = read_fraction(t, p);
  std::int64_t offset_s = 0;
  if (p < t.size() && (t[p] == 'Z' || t[p] == 'z')) {
    ++p;
  } else if (p < t.size() && (t[p] == '+' || t[p] == '-')) {
    unsigned oh = 0, om = 0;
    if (!read_digits(t, p + 1, 2, oh) || p + 3 >= t.size() || t[p + 3] != ':' ||
        !read_digits(t, p + 4, 2, om)) {
      return false;
    }
    offset_s = (t[p] == '+' ? 1 : -1) * static_cast<std::int64_t>(oh * 3600 + om * 60);
    p += 6;
  } else {
    return false;
  }
  pos = p;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    r.time_unknown = true;
    return true;
  }
  r.event_ms = to_ms(days_from_civil(y, mo, d), h, mi, s, ms) - offset_s * 1000;
  return true;
}

// [trusted@32473 pid="1" uid="0" exe="/usr/sbin/sshd"]: the first such element counts (a later
// one, which a sender could append, is ignored).
void read_trusted(std::string_view element, SyslogRecord& r) noexcept {
  constexpr std::string_view kId = "[trusted@32473 ";
  if (r.has_trusted || element.substr(0, kId.size()) != kId) return;
  r.has_trusted = true;
  std::size_t p = kId.size();
  while (p < element.size()) {
    const std::size_t eq = element.find("=\"", p);
    if (eq == std::string_view::npos) return;
    const std::string_view name = element.substr(p, eq - p);
    std::size_t v = eq + 2;
    const std::size_t start = v;
    while (v < element.size() && element[v] != '"') v += (element[v] == '\\' && v + 1 < element.size()) ? 2 : 1;
    if (v >= element.size()) return;
    const std::string_view value = element.substr(start, v - start);
    if (name == "pid") r.trusted_pid = value;
    else if (name == "uid") r.trusted_uid = value;
    else if (name == "exe") r.trusted_exe = value;
    p = v + 1;
    while (p < element.size() && element[p] == ' ') ++p;
  }
}

std::string_view next_token(std::string_view t, std::size_t& pos) noexcept {
  const std::size_t start = pos;
  while (pos < t.size() && t[pos] != ' ') ++pos;
  const std::string_view tok = t.substr(start, pos - start);
  if (pos < t.size()) ++pos;  // the space
  return tok;
}

// "TAG[PID](level): MSG" at pos. Returns false (nothing set) if there is no such tag.
bool parse_tag(std::string_view t, std::size_t pos, SyslogRecord& r) noexcept {
  std::size_t p = find_any_of3(t, pos, 64, '[', ':', ' ');
  if (p == pos || p >= t.size()) return false;
  const std::string_view program = t.substr(pos, p - pos);
  std::string_view pid;
  if (t[p] == '[') {
    // "]" within 21 bytes, ")" within 16: bounded byte loops (a search of the whole line would
    // cost a library call per line and read an attacker's long line to its end).
    std::size_t close = p + 1;
    while (close < t.size() && close - p <= 21 && t[close] != ']') ++close;
    if (close >= t.size() || close - p > 21) return false;
    pid = t.substr(p + 1, close - p - 1);
    p = close + 1;
    if (p < t.size() && t[p] == '(') {  // KDC FILE: log "(info)"
      std::size_t rp = p + 1;
      while (rp < t.size() && rp - p <= 16 && t[rp] != ')') ++rp;
      if (rp >= t.size() || rp - p > 16) return false;
      p = rp + 1;
    }
  }
  if (p >= t.size() || t[p] != ':') return false;
  ++p;
  if (p < t.size() && t[p] == ' ') ++p;
  r.program = program;
  r.pid = pid;
  r.message = t.substr(p);
  return true;
}

#if defined(__SSE2__)
// "HOST TAG[PID]: " or "HOST TAG[PID](level): " or "HOST TAG: " whole within the 32 bytes at
// pos, the shape of nearly every header: the fields parse_host_and_tag's general loops find for
// these bytes, from one pass of byte masks over the 32 bytes instead of three scans and a byte
// loop. False (r untouched) for every other shape and whenever a field reaches past the 32
// bytes; the general loops then decide. Needs t.size() >= pos + 32.
struct HostTag {
  std::string_view hostname, program, pid, message;
};

[[gnu::always_inline]] inline bool fast_host_and_tag(std::string_view t, std::size_t pos, HostTag& r) noexcept {
  const char* c = t.data() + pos;
  const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(c));
  const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(c + 16));
  // Both helpers inlined (GCC otherwise called each of the five masks as a function).
  const auto mask = [&](char b) __attribute__((always_inline)) {
    const __m128i v = _mm_set1_epi8(b);
    return static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(lo, v))) |
           (static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(hi, v))) << 16);
  };
  // The first b after position from, at most bound bytes past it and inside the 32 bytes; 0 if
  // none (parse_tag's bounded searches for the closing ']' and ')').
  const auto close_of = [&](char b, unsigned from, unsigned bound) __attribute__((always_inline)) -> unsigned {
    const std::uint32_t after = from + 1 < 32 ? mask(b) >> (from + 1) : 0;
    if (after == 0) return 0;
    const unsigned k = from + 1 + static_cast<unsigned>(__builtin_ctz(after));
    return k - from <= bound ? k : 0;
  };
  const std::uint32_t space = mask(' '), open = mask('['), colon = mask(':');
  if (space == 0) return false;
  const unsigned host_end = static_cast<unsigned>(__builtin_ctz(space));
  // An empty first token, or one that is itself a tag (holds '[' or ends with ':'): the
  // general loops (missing hostname).
  if (host_end == 0 || (open & ((1u << host_end) - 1)) != 0 || (colon >> (host_end - 1) & 1u) != 0) return false;
  const unsigned tag = host_end + 1;
  if (tag >= 32) return false;  // the tag starts past the 32 bytes (and a 32-bit shift by 32 is undefined)
  // parse_tag: the program runs to the first '[', ':' or space.
  const std::uint32_t stops = (open | colon | space) >> tag;
  if (stops == 0) return false;
  unsigned p = tag + static_cast<unsigned>(__builtin_ctz(stops));
  if (p == tag) return false;
  const unsigned program_end = p;
  unsigned pid_begin = p, pid_end = p;
  if (c[p] == '[') {
    const unsigned k = close_of(']', p, 21);  // "]" within 21 bytes
    if (k == 0) return false;
    pid_begin = p + 1;
    pid_end = k;
    p = k + 1;
    if (p >= 32) return false;
    if (c[p] == '(') {  // "(info)": ")" within 16 bytes
      const unsigned k2 = close_of(')', p, 16);
      if (k2 == 0) return false;
      p = k2 + 1;
      if (p >= 32) return false;
    }
  }
  if (c[p] != ':') return false;
  std::size_t m = pos + p + 1;
  if (m < t.size() && t[m] == ' ') ++m;
  // Views built directly: every offset is inside t (m <= t.size()).
  r.hostname = std::string_view(c, host_end);
  r.program = std::string_view(c + tag, program_end - tag);
  r.pid = std::string_view(c + pid_begin, pid_end - pid_begin);
  r.message = std::string_view(t.data() + m, t.size() - m);
  return true;
}

bool fast_host_and_tag(std::string_view t, std::size_t pos, SyslogRecord& r) noexcept {
  HostTag h;
  if (!fast_host_and_tag(t, pos, h)) return false;
  r.hostname = h.hostname;
  r.program = h.program;
  r.pid = h.pid;
  r.message = h.message;
  return true;
}
#endif

// After the timestamp: "[HOST ]TAG[PID]: MSG". A first token that is itself a tag (ends with
// ':' or holds '[') means the hostname is missing.
// fast: try fast_host_and_tag first (false only in the tests that compare the two).
// Returns true when fast_host_and_tag gave the fields.
bool parse_host_and_tag(std::string_view t, std::size_t pos, SyslogRecord& r, bool fast) noexcept {
#if defined(__SSE2__)
  if (fast && pos <= t.size() && t.size() - pos >= 32 && fast_host_and_tag(t, pos, r)) return true;
#else
  (void)fast;
#endif
  // The first token, noting a '[' in it on the way (one pass).
  bool bracket = false;
  std::size_t p = find_space_noting_bracket(t, pos, bracket);
  const std::string_view first = t.substr(pos, p - pos);
  if (p < t.size()) ++p;  // the space
  // An IPv6 address ending in "::" ("2001:db8:1::", as a relay writes a sender without a DNS
  // name) ends with ':' too: it is the hostname when a tag follows it (a program named like an
  // address, with the rest of its name as message, is no real reading of such a header).
  const bool ipv6_host = first.size() >= 2 && first[first.size() - 2] == ':' && first.back() == ':' &&
                         !bracket && parse_address(first).has_value();
  if (ipv6_host && parse_tag(t, p, r)) {
    r.hostname = first;
    return false;
  }
  const bool first_is_tag = !first.empty() && (first.back() == ':' || bracket);
  if (first_is_tag && parse_tag(t, pos, r)) return false;
  r.hostname = first;
  if (!parse_tag(t, p, r)) r.message = t.substr(p);
  return false;
}

}  // namespace

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

SyslogRecord parse_syslog_record(std::string_view t, std::int64_t receive_ms,
                                 const SyslogOptions& options) noexcept {
  return parse_syslog_record(t, receive_ms, options, nullptr);
}

namespace {
#if defined(__SSE2__)
// Keeps the header of t, whose record r parse_record has just read: its time the whole second
// t[0, 15) of the minute the memo holds (memoised_time gives it), then one space, and its host
// and tag from fast_host_and_tag at 16 (48 bytes readable); kept when the message follows a
// space within the 48 bytes. fast_host_and_tag's result then depends on t[16, header_size)
// alone: each of its decisions reads a byte before the message (the first space, '[', ':', ']'
// and ')' it looks for, the ':' and the space after it), and the space makes t.size() greater
// than the colon's position + 1, its one test of the line's size past 48. So a line of the
// same bytes there and in the minute, with seconds 00..60, under the same receive time and
// offset, gets from parse_record the same fields and the minute's time plus its seconds.
void keep_header(std::string_view t, const SyslogRecord& r, std::int64_t receive_ms, std::int32_t offset,
                 SyslogDateMemo& memo) noexcept {
  const auto at = [&](std::string_view v) { return static_cast<std::size_t>(v.data() - t.data()); };
  const std::size_t m = at(r.message);
  if (m > 48 || t[m - 1] != ' ') return;
  std::memcpy(memo.header, t.data(), 48);
  memo.header_size = static_cast<std::uint8_t>(m);
  memo.header_mask = ((std::uint64_t{1} << m) - 1) & ~(std::uint64_t{3} << 13);
  memo.host_size = static_cast<std::uint8_t>(r.hostname.size());
  memo.program_at = static_cast<std::uint8_t>(at(r.program));
  memo.program_size = static_cast<std::uint8_t>(r.program.size());
  memo.pid_at = static_cast<std::uint8_t>(at(r.pid));
  memo.pid_size = static_cast<std::uint8_t>(r.pid.size());
  memo.header_receive_ms = receive_ms;
  memo.header_offset = offset;
  memo.header_minute_ms = memo.minute_ms;
  memo.header_set = true;
  ++memo.header_id;
}
#endif

SyslogRecord parse_record(std::string_view t, std::int64_t receive_ms, const SyslogOptions& options,
                          SyslogDateMemo* memo, bool fast) noexcept {
  SyslogRecord r;
  r.raw = t;
  r.receive_ms = receive_ms;
  r.event_ms = receive_ms;
  r.message = t;
  std::size_t pos = 0;

  // <PRI>
  if (!t.empty() && t[0] == '<') {
    std::size_t p = 1;
    int pri = 0;
    while (p < t.size() && p < 5 && is_digit(t[p])) pri = pri * 10 + (t[p++] - '0');
    if (p > 1 && p < t.size() && t[p] == '>' && pri <= 191) {
      r.priority = pri;
      pos = p + 1;
    }
  }

  // RFC 5424: "1 TIMESTAMP HOST APP PROCID MSGID SD [MSG]"
  if (r.priority >= 0 && pos + 1 < t.size() && t[pos] == '1' && t[pos + 1] == ' ') {
    std::size_t p = pos + 2;
    r.format = SyslogFormat::rfc5424;
    if (p < t.size() && t[p] == '-') {
      r.time_unknown = true;
      p += 1;
      if (p < t.size() && t[p] == ' ') ++p;
    } else if (parse_3339_time(t, p, r)) {
      if (p < t.size() && t[p] == ' ') ++p;
    } else {
      r.time_unknown = true;
      next_token(t, p);
    }
    const std::string_view host = next_token(t, p);
    const std::string_view app = next_token(t, p);
    const std::string_view procid = next_token(t, p);
    next_token(t, p);  // MSGID
    r.hostname = host == "-" ? std::string_view{} : host;
    r.program = app == "-" ? std::string_view{} : app;
    r.pid = procid == "-" ? std::string_view{} : procid;
    // Structured data: "-" or one or more "[...]" with escaped \] inside.
    if (p < t.size() && t[p] == '-') {
      ++p;
    } else {
      // Quoted PARAM-VALUEs may hold ']' (senders do not always escape it): skip them whole.
      while (p < t.size() && t[p] == '[') {
        const std::size_t element = p;
        ++p;
        bool quoted = false;
        while (p < t.size() && (quoted || t[p] != ']')) {
          if (t[p] == '\\' && p + 1 < t.size()) {
            p += 2;
            continue;
          }
          if (t[p] == '"') quoted = !quoted;
          ++p;
        }
        if (p < t.size()) ++p;
        read_trusted(t.substr(element, p - element), r);
      }
    }
    if (p < t.size() && t[p] == ' ') ++p;
    // A UTF-8 BOM may start MSG.
    if (t.substr(p, 3) == "\xEF\xBB\xBF") p += 3;
    // rsyslog's msg property keeps the space that followed "TAG:" in the local message, so
    // every record it forwards with RSYSLOG_SyslogProtocol23Format (or the shipped template)
    // has MSG " Accepted ...". Decoders match from the first character: drop leading spaces
    // (no decoder gives them meaning, so nothing can be smuggled through them).
    while (p < t.size() && t[p] == ' ') ++p;
    r.message = t.substr(std::min(p, t.size()));
    return r;
  }

  std::size_t p = pos;
  if (p + 4 < t.size() && is_digit(t[p]) && t[p + 4] == '-' && parse_3339_time(t, p, r)) {
    r.format = r.priority >= 0 ? SyslogFormat::rfc3164 : SyslogFormat::file_3339;
    if (p < t.size() && t[p] == ' ') ++p;
    parse_host_and_tag(t, p, r, fast);
    return r;
  }
  p = pos;
  if (parse_3164_time(t, p, receive_ms, options, r, memo)) {
    r.format = r.priority >= 0 ? SyslogFormat::rfc3164 : SyslogFormat::file_3164;
    if (p < t.size() && t[p] == ' ') ++p;
    const bool fast_fields = parse_host_and_tag(t, p, r, fast);
#if defined(__SSE2__)
    // A header is kept where a minute starts: the first line of each minute comes here (the
    // memoised-second path in parse_syslog_record takes the others). p == 16 after the whole
    // second t[0, 15) and its space (memoised_time checks the minute; no <PRI>: its minute
    // starts with a letter).
    std::int64_t minute_ms = 0;
    if (memo != nullptr && fast_fields && p == 16 && t[15] == ' ' && r.priority < 0 &&
        memoised_time(t, 0, receive_ms, options.utc_offset_seconds, *memo, minute_ms)) {
      keep_header(t, r, receive_ms, options.utc_offset_seconds, *memo);
    }
#else
    (void)fast_fields;
#endif
    return r;
  }
  r.time_unknown = true;
  if (r.priority >= 0) {
    // "<PRI>TAG: MSG" without a timestamp (some local senders).
    r.format = SyslogFormat::rfc3164;
    if (!parse_tag(t, pos, r)) r.message = t.substr(pos);
    return r;
  }
  r.format = SyslogFormat::bare;
  return r;
}

#if defined(__SSE2__)
// The record of a file line "Mmm dd HH:MM:SS HOST TAG[PID]: MSG" (no <PRI>, a known time) whose
// fields a memo gave.
SyslogRecord memoised_record(std::string_view t, std::int64_t receive_ms, std::int64_t event_ms,
                             std::string_view host, std::string_view program, std::string_view pid,
                             std::string_view message) noexcept {
  return SyslogRecord{.format = SyslogFormat::file_3164, .priority = -1, .event_ms = event_ms,
                      .receive_ms = receive_ms, .time_unknown = false, .hostname = host, .program = program,
                      .pid = pid, .message = message, .raw = t, .has_trusted = false, .trusted_pid = {},
                      .trusted_uid = {}, .trusted_exe = {}};
}
#endif

}  // namespace

SyslogRecord parse_syslog_record(std::string_view t, std::int64_t receive_ms, const SyslogOptions& options,
                                 SyslogDateMemo* memo) noexcept {
  if (memo == nullptr) return detail::parse_syslog_record_unkept(t, receive_ms, options, nullptr);
  return parse_syslog_line(t, receive_ms, options, *memo);
}

SyslogRecord detail::parse_syslog_record_unkept(std::string_view t, std::int64_t receive_ms,
                                                const SyslogOptions& options, SyslogDateMemo* memo) noexcept {
#if defined(__SSE2__)
  if (memo != nullptr) {
    // The usual line of a file, "Mmm dd HH:MM:SS HOST TAG[PID]: MSG" of the same minute as an
    // earlier line, in one function without parse_record's calls and branches: the record
    // parse_record gives for these bytes. A minute is memoised only from a known month, so a
    // match means t[0] is a letter: no <PRI> and no RFC 3339 date; t[15] == ' ' is a whole
    // second followed by the one space parse_record skips; 48 bytes are what fast_host_and_tag
    // needs after it. Every other line, and a header fast_host_and_tag declines, goes to
    // parse_record.
    std::int64_t known_ms = 0;
    if (t.size() >= 48 && t[15] == ' ' && memoised_time(t, 0, receive_ms, options.utc_offset_seconds, *memo, known_ms)) {
      HostTag h;
      if (fast_host_and_tag(t, 16, h)) {
        return memoised_record(t, receive_ms, known_ms, h.hostname, h.program, h.pid, h.message);
      }
    }
  }
#endif
  return parse_record(t, receive_ms, options, memo, /*fast=*/true);
}

SyslogRecord detail::parse_syslog_record_general(std::string_view t, std::int64_t receive_ms) noexcept {
  return parse_record(t, receive_ms, SyslogOptions{}, nullptr, /*fast=*/false);
}

// A necessary condition for parse_syslog_record(m) to return file_3164 or file_3339 (the only
// formats unwrap_inner_record accepts), checked without parsing: the RFC 3339 branch needs a
// digit first and '-' at byte 4; parse_3164_time needs 1-10 bytes that are neither space nor
// digit, then one or two spaces, then a digit. Every KDC request line ("AS_REQ (4 etypes") and
// most messages fail it, so the full header parse runs only for lines that may be wrapped.
namespace {
bool may_be_file_header(std::string_view m) noexcept {
  if (m.size() > 4 && is_digit(m[0]) && m[4] == '-') return true;
  std::size_t p = find_space_or_digit(m, 0, 10);
  if (p == 0 || p >= m.size() || m[p] != ' ') return false;
  ++p;
  if (p < m.size() && m[p] == ' ') ++p;
  return p < m.size() && is_digit(m[p]);
}
}  // namespace

bool may_be_wrapped(const SyslogRecord& outer) noexcept {
  if (outer.program.empty() || outer.message.empty()) return false;
  // The inner line starts with a month word or a year.
  const char c = outer.message.front();
  if (!((c >= 'A' && c <= 'Z') || is_digit(c))) return false;
  return may_be_file_header(outer.message);
}

SyslogRecord unwrap_inner_record(const SyslogRecord& outer, const SyslogOptions& options) noexcept {
  if (!may_be_wrapped(outer)) return outer;
  SyslogRecord inner = parse_syslog_record(outer.message, outer.receive_ms, options);
  if ((inner.format != SyslogFormat::file_3164 && inner.format != SyslogFormat::file_3339) ||
      inner.program != outer.program) {
    return outer;
  }
  if (inner.time_unknown) inner.event_ms = outer.event_ms;
  if (inner.hostname.empty()) inner.hostname = outer.hostname;
  inner.priority = outer.priority;
  if (outer.has_trusted) {
    // The inner header is the sender's own text; who sent it is the outer record's
    // kernel-verified sender, on the outer record's host and at its time (when the sender is
    // known: empty values are a relayed message's). Without these, any local user wrapped an
    // sshd line in a header of its own and passed as sshd on any host, at any time.
    inner.has_trusted = true;
    inner.trusted_pid = outer.trusted_pid;
    inner.trusted_uid = outer.trusted_uid;
    inner.trusted_exe = outer.trusted_exe;
    if (!outer.trusted_pid.empty() || !outer.trusted_exe.empty()) {
      inner.hostname = outer.hostname;
      inner.event_ms = outer.event_ms;
      inner.time_unknown = outer.time_unknown;
    }
  }
  return inner;
}

}  // namespace hopguard::scanner
