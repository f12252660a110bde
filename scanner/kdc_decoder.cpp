// krb5kdc request lines (MIT krb5 1.20, observed lines in tests/harness/README.md):
//   AS_REQ (N etypes {...}) ADDR: STATUS: [authtime T, etypes {...}, ]CLIENT for SERVER[, TEXT]
//   TGS_REQ (N etypes {...}) ADDR: STATUS: authtime T, etypes {...}[,] CLIENT for SERVER[, TEXT]
// The parts up to STATUS are the KDC's own text. CLIENT (and SERVER on AS_REQ) are whatever the
// client sent on a failed request, spaces and " for " included, so they are split from the
// right: SERVER starts after the last " for " whose SERVER (up to the first ", " after it) looks
// like a unparsed principal, with an '@' and no space; TEXT is the rest. Some of MIT's own error
// texts hold " for " ("KDC has no support for encryption type", "Ticket is ineligible for
// postdating"), so the last " for " alone is not enough. The server of an issued or refused
// ticket is a database principal; when no candidate qualifies (a made-up service name with
// spaces), the last " for " is taken as before.
#include "decoder.hpp"
#include "text_search.hpp"

#include <cstring>
#include <utility>

namespace hopguard::scanner {

namespace {

constexpr std::size_t kKdcCutLength = kKdcKept + 3;  // the kept bytes + "..."

bool is_truncated_name(std::string_view name) noexcept {
  return name.size() >= kKdcCutLength && name.ends_with("...");
}

// The KDC's status word: capitals, digits and '_' (ISSUE, NEEDED_PREAUTH, HOPGUARD_*), or several
// such words joined by single spaces, as MIT writes some of its own ("NO PREAUTH", "VALIDATE
// VALID TICKET", "TICKET NOT RENEWABLE"). readable: how many bytes from s.data() may be read (at
// least s.size()): a status of up to 16 bytes with 16 readable is checked in one vector step.
bool is_status_word(std::string_view s, std::size_t readable) noexcept {
  if (s.empty() || s.size() > 64 || s.front() == ' ' || s.back() == ' ') return false;
  bool spaces = false;
#if defined(__SSE2__)
  if (s.size() <= 16 && readable >= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data()));
    const auto in = [&](char lo, char hi) {  // signed compares: bytes >= 0x80 are in no range
      return _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8(static_cast<char>(lo - 1))),
                           _mm_cmplt_epi8(x, _mm_set1_epi8(static_cast<char>(hi + 1))));
    };
    const __m128i space = _mm_cmpeq_epi8(x, _mm_set1_epi8(' '));
    const __m128i ok = _mm_or_si128(_mm_or_si128(in('A', 'Z'), in('0', '9')),
                                    _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('_')), space));
    const unsigned want = (1u << s.size()) - 1;
    if ((static_cast<unsigned>(_mm_movemask_epi8(ok)) & want) != want) return false;
    spaces = (static_cast<unsigned>(_mm_movemask_epi8(space)) & want) != 0;
  } else
#endif
  {
    for (const char c : s) {
      if (c == ' ') {
        spaces = true;
      } else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
        return false;
      }
    }
  }
  return !spaces || s.find("  ") == std::string_view::npos;
}

// The status word at the start of m when it is one of the two kept (DecodeScratch::kdc_status:
// a word that passed is_status_word, with its ": "), by one 16-byte compare each: its size, as
// find_pair(m, ':', ' ') would give it (a status word holds no ':', so the first ": " of m is
// the kept one's), and is_status_word holds for it. npos when neither is there (or m is
// shorter than 16 bytes): the caller searches and checks as before. Reads m[0, 16) only.
[[gnu::always_inline]] inline std::size_t kept_status(std::string_view m, const DecodeScratch& scratch) noexcept {
#if defined(__SSE2__)
  if (m.size() < 16) return std::string_view::npos;
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(m.data()));
  for (int e = 0; e < 2; ++e) {
    const unsigned k = scratch.kdc_status_size[e];
    const __m128i kept = _mm_load_si128(reinterpret_cast<const __m128i*>(scratch.kdc_status[e]));
    const unsigned same = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, kept)));
    const unsigned want = (1u << k) - 1;
    if (k != 0 && (same & want) == want) return k - 2;
  }
#else
  (void)m;
  (void)scratch;
#endif
  return std::string_view::npos;
}

// The requested-etypes group at the start of m when it is the kept one (DecodeScratch::
// kdc_etypes: the last line's text through its first ") "): where its ") " starts, as
// find_pair(m, ')', ' ') would give it (m starts with the kept text, which holds no ") " before
// its last two bytes, so neither does m). npos when m does not start with it: the caller
// searches as before. Sixteen bytes a compare, ANDed, one mask at the end (a line's group is
// ~130 bytes: the search's call and its 32-byte steps cost more). Reads m[0, kept size) only.
[[gnu::always_inline]] inline std::size_t kept_etypes(std::string_view m, const DecodeScratch& scratch) noexcept {
  const std::size_t k = scratch.kdc_etypes_size;
  if (k == 0 || m.size() < k) return std::string_view::npos;
  const char* p = m.data();
  const char* q = scratch.kdc_etypes;
#if defined(__SSE2__)
  if (k >= 16) {
    const auto same16 = [&](std::size_t i) {
      return _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)),
                            _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + i)));
    };
    __m128i all = same16(k - 16);  // the last 16 bytes (overlapping the steps below)
    std::size_t i = 0;
    for (; i + 32 <= k; i += 32) all = _mm_and_si128(all, _mm_and_si128(same16(i), same16(i + 16)));
    if (i + 16 <= k) all = _mm_and_si128(all, same16(i));
    return _mm_movemask_epi8(all) == 0xffff ? k - 2 : std::string_view::npos;
  }
#endif
  return equal_bytes(p, q, k) ? k - 2 : std::string_view::npos;
}

void keep_etypes(std::string_view group, DecodeScratch& scratch) noexcept {
  if (group.size() > DecodeScratch::kKdcEtypesMax) return;
  std::memcpy(scratch.kdc_etypes, group.data(), group.size());
  scratch.kdc_etypes_size = static_cast<std::uint16_t>(group.size());
}

// Keeps word + ": " (word passed is_status_word) in the older of the two entries.
void keep_status(std::string_view word, DecodeScratch& scratch) noexcept {
  if (word.size() + 2 > 16) return;
  const unsigned e = scratch.kdc_status_next;
  scratch.kdc_status_next = static_cast<std::uint8_t>(e ^ 1u);
  char* kept = scratch.kdc_status[e];
  std::memset(kept, 0, 16);
  std::memcpy(kept, word.data(), word.size());
  kept[word.size()] = ':';
  kept[word.size() + 1] = ' ';
  scratch.kdc_status_size[e] = static_cast<std::uint8_t>(word.size() + 2);
}

// starts_with (text_search.hpp): inlined compares against literals, several on every KDC line.

// m.rfind(" for "), without libstdc++'s rfind, which calls memcmp at every position from the
// end: memrchr finds each space from the end (the server and an error text hold few), and a
// space that ends " for " is the answer (the last " for " ends at the last such space).
// last_space (when not null) is set when the " for " found ends at the last space of m: then
// nothing after it holds a space.
std::size_t rfind_for(std::string_view m, bool* last_space = nullptr) noexcept {
  if (m.size() < 5) return std::string_view::npos;
  std::size_t n = m.size();  // the ending space is looked for in m[4, n)
  while (n > 4) {
    const void* hit = memrchr(m.data() + 4, ' ', n - 4);
    if (hit == nullptr) return std::string_view::npos;
    const std::size_t j = static_cast<std::size_t>(static_cast<const char*>(hit) - m.data());
    if (m[j - 4] == ' ' && m[j - 3] == 'f' && m[j - 2] == 'o' && m[j - 1] == 'r') {
      if (last_space != nullptr) *last_space = n == m.size();
      return j - 4;
    }
    n = j;
  }
  return std::string_view::npos;
}

struct Split {
  std::size_t sep = std::string_view::npos;  // where " for " starts
  std::string_view server, detail;
};

Split split_at(std::string_view m, std::size_t sep) noexcept {
  Split s{sep, m.substr(sep + 5), {}};
  const std::size_t comma = find_pair(s.server, ',', ' ');
  if (comma != std::string_view::npos) {
    s.detail = s.server.substr(comma + 2);
    s.server = s.server.substr(0, comma);
  }
  return s;
}

bool looks_like_principal(std::string_view s) noexcept {
  return !s.empty() && std::memchr(s.data(), '@', s.size()) != nullptr &&
         std::memchr(s.data(), ' ', s.size()) == nullptr;
}

// "CLIENT for SERVER[, TEXT]": see the header comment. An error text holds one " for " at most,
// so a few candidates from the right are enough; the bound keeps a line made of " for "s linear.
constexpr int kMaxForCandidates = 4;

// The usual end, "CLIENT for SERVER" with SERVER the bytes after m's last space, holding an '@'
// and no more than 31 bytes (krbtgt/REALM@REALM, host/FQDN@REALM), read off the last 32 bytes of
// m in one vector step (16 when m is shorter than 32). True (out set) only when the general path
// below gives the same: its rfind_for finds that last space first (memrchr from the end), takes
// it as the end of " for " when " for" precedes it (at m[4] or later: rfind_for looks at
// m[4, n) only), and returns that split (last_space) when SERVER holds an '@'. False in every
// other case (no space in the window, a space that does not end " for ", no '@' after it, m
// shorter than 16): the general path decides. Reads m[0, m.size()) only.
[[gnu::always_inline]] inline bool usual_end(std::string_view m, Split& out) noexcept {
#if defined(__SSE2__)
  const std::size_t n = m.size();
  if (n < 16) return false;
  const char* p = m.data();
  const __m128i space = _mm_set1_epi8(' '), at = _mm_set1_epi8('@');
  std::uint32_t spaces, ats;
  std::size_t base;  // m index of the window's bit 0
  {
    const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - 16));
    spaces = static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(hi, space)));
    ats = static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(hi, at)));
    base = n - 16;
  }
  if (spaces == 0 && n >= 32) {  // no space in the last 16: SERVER is longer, look at 32
    const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - 32));
    spaces = static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(lo, space)));
    ats = ats << 16 | static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(lo, at)));
    base = n - 32;
  }
  if (spaces == 0) return false;
  const unsigned bit = 31u - static_cast<unsigned>(__builtin_clz(spaces));  // m's last space
  const std::size_t j = base + bit;
  if (j < 4 || (ats >> bit) == 0) return false;  // no '@' after it
  std::uint32_t word;
  std::memcpy(&word, p + j - 4, 4);
  std::uint32_t want;
  std::memcpy(&want, " for", 4);
  if (word != want) return false;
  out = Split{j - 4, m.substr(j + 1), {}};
  return true;
#else
  (void)m;
  (void)out;
  return false;
#endif
}

// An error text that the general split below always cuts off whole as TEXT, wherever it ends a
// line: it holds no " for " (the last " for " of such a line is never inside it) and does not
// start with "for " (", " + "for " would make one at the ", ").
bool keepable_tail(std::string_view text) noexcept {
  return text.size() + 2 <= DecodeScratch::kKdcTailMax && !text.starts_with("for ") &&
         text.find(" for ") == std::string_view::npos;
}

// "CLIENT for SERVER, TEXT" with TEXT the kept one (DecodeScratch::kdc_tail): m is head + ", " +
// TEXT. No " for " of m reaches into ", " + TEXT (keepable_tail; " for " holds no ','), so the
// general split's last " for " is head's; when usual_end(head) holds, it ends at head's last
// space, SERVER (head after it) holds no space and so no ", ", and the first ", " after it is
// the one before TEXT: the general split gives that SERVER, TEXT as the detail, and SERVER looks
// like a principal (an '@', no space). False otherwise: the general path decides.
[[gnu::always_inline]] inline bool kept_tail_end(std::string_view m, const DecodeScratch& scratch, Split& out) noexcept {
  const std::size_t k = scratch.kdc_tail_size;
  if (k == 0 || m.size() < k || !equal_bytes(m.data() + m.size() - k, scratch.kdc_tail, k)) return false;
  if (!usual_end(m.substr(0, m.size() - k), out)) return false;
  out.detail = m.substr(m.size() - k + 2);
  return true;
}

// The general split of the header comment.
Split split_general(std::string_view m) noexcept {
  bool last_space = false;
  const std::size_t last = rfind_for(m, &last_space);
  if (last == std::string_view::npos) return {};
  if (last_space) {
    // The usual "CLIENT for SERVER": no space after " for ", so no ", " and no TEXT (split_at
    // would find none), and SERVER looks like a principal iff it holds an '@'.
    const Split s{last, m.substr(last + 5), {}};
    if (!s.server.empty() && std::memchr(s.server.data(), '@', s.server.size()) != nullptr) return s;
  }
  Split s = split_at(m, last);
  if (looks_like_principal(s.server)) return s;
  std::size_t end = last;
  for (int tries = 1; tries < kMaxForCandidates && end > 0; ++tries) {
    const std::size_t sep = rfind_for(m.substr(0, end));
    if (sep == std::string_view::npos) break;
    const Split earlier = split_at(m, sep);
    if (looks_like_principal(earlier.server)) return earlier;
    end = sep;
  }
  return s;
}

Split split_client_server(std::string_view m, DecodeScratch& scratch) noexcept {
  if (Split s; usual_end(m, s) || kept_tail_end(m, scratch, s)) return s;
  Split s = split_general(m);
  if (!s.detail.empty() && keepable_tail(s.detail)) {
    scratch.kdc_tail_size = static_cast<std::uint8_t>(s.detail.size() + 2);
    scratch.kdc_tail[0] = ',';
    scratch.kdc_tail[1] = ' ';
    std::memcpy(scratch.kdc_tail + 2, s.detail.data(), s.detail.size());
  }
  return s;
}

}  // namespace

namespace {

// Event's fields, counted: aggregate initialisation of Event takes as many values as it has
// fields and no more, so event_has_fields(N) holds for N up to the count.
constexpr std::size_t kEventFields = 21;
struct AnyValue {
  template <typename T>
  operator T() const noexcept;  // declared only: used in unevaluated requires-expressions
};
template <std::size_t... I>
constexpr bool event_has_fields(std::index_sequence<I...>) noexcept {
  return requires { Event{(static_cast<void>(I), AnyValue{})...}; };
}

// The request line after "AS_REQ (" or "TGS_REQ (" (m); failed when it is not the whole shape.
[[gnu::always_inline]] inline DecodeResult decode_request(const SyslogRecord& record, std::string_view m,
                                                         EventKind kind, Event& ev, DecodeScratch& scratch) noexcept {
  // Requested etypes: "(N etypes {a(18), b(17)}) " ends at the first ") ".
  std::size_t close = kept_etypes(m, scratch);
  if (close == std::string_view::npos) {
    close = find_pair(m, ')', ' ');
    if (close == std::string_view::npos) return DecodeResult::failed;
    keep_etypes(m.substr(0, close + 2), scratch);
  }
  m.remove_prefix(close + 2);
  const std::size_t addr_end = find_pair(m, ':', ' ');
  if (addr_end == std::string_view::npos || addr_end == 0) return DecodeResult::failed;
  const std::string_view address = m.substr(0, addr_end);
  m.remove_prefix(addr_end + 2);
  std::size_t status_end = kept_status(m, scratch);
  if (status_end == std::string_view::npos) {
    status_end = find_pair(m, ':', ' ');
    if (status_end == std::string_view::npos) return DecodeResult::failed;
    if (!is_status_word(m.substr(0, status_end), m.size())) return DecodeResult::failed;
    keep_status(m.substr(0, status_end), scratch);
  }
  const std::string_view status = m.substr(0, status_end);
  m.remove_prefix(status_end + 2);
  if (starts_with(m, "authtime ")) {
    const std::size_t p = skip_digits(m, 9);
    if (p == 9 || m.substr(p, 2) != ", ") return DecodeResult::failed;
    m.remove_prefix(p + 2);
    if (starts_with(m, "etypes {")) {
      const std::size_t brace = m.find('}');
      if (brace == std::string_view::npos) return DecodeResult::failed;
      m.remove_prefix(brace + 1);
      if (starts_with(m, ",")) m.remove_prefix(1);
    }
    while (starts_with(m, " ")) m.remove_prefix(1);
  } else if (starts_with(m, "etypes {")) {
    const std::size_t brace = m.find('}');
    if (brace == std::string_view::npos) return DecodeResult::failed;
    m.remove_prefix(brace + 1);
    if (starts_with(m, ",")) m.remove_prefix(1);
    while (starts_with(m, " ")) m.remove_prefix(1);
  }
  const Split split = split_client_server(m, scratch);
  if (split.sep == std::string_view::npos) return DecodeResult::failed;
  const std::string_view client = m.substr(0, split.sep);
  const std::string_view server = split.server;
  const std::string_view detail = split.detail;
  if (server.empty()) return DecodeResult::failed;

  // Every field assigned, not `ev = Event{}` and then the KDC's: clearing the whole Event first
  // cost a loop of ~70 instructions on every KDC line. A field added to Event must be set here
  // too: kEventFields below counts them (a size check would miss a new bool in padding).
  static_assert(event_has_fields(std::make_index_sequence<kEventFields>{}) &&
                    !event_has_fields(std::make_index_sequence<kEventFields + 1>{}),
                "a new Event field: clear it here as well, and count it in kEventFields");
  ev.kind = kind;
  ev.source = EventSource::kdc;
  ev.record = &record;
  ev.host = record.hostname;
  ev.pid = record.pid;
  ev.status = status;
  ev.principal = client;
  ev.principal_truncated = is_truncated_name(client);
  ev.service = server;
  ev.service_truncated = is_truncated_name(server);
  ev.address = address;
  ev.user = {};
  ev.invalid_user = false;
  ev.method = {};
  ev.port = {};
  ev.detail = detail;
  ev.rule = {};
  ev.role = {};
  ev.record_host = {};
  ev.stage = {};
  ev.component = {};
  return DecodeResult::event;
}

}  // namespace

DecodeResult decode_kdc(const SyslogRecord& record, Event& ev, DecodeScratch& scratch) noexcept {
  std::string_view m = record.message;
  EventKind kind;
  if (starts_with(m, "AS_REQ (")) {
    kind = EventKind::kdc_as;
    m.remove_prefix(8);
  } else if (starts_with(m, "TGS_REQ (")) {
    kind = EventKind::kdc_tgs;
    m.remove_prefix(9);
  } else {
    return DecodeResult::ignored;  // start-up, "closing down fd", "preauth ... failure", ...
  }
  const DecodeResult result = decode_request(record, m, kind, ev, scratch);
  if (result != DecodeResult::failed) return result;
  // A request line the KDC wrote but that is not whole: the KDC cuts a log line at its buffer
  // (2 KiB), and a client chooses how long the line gets (a hundred requested etypes push the
  // address, status and names off its end: guesses at a host-specific password that no rule
  // would see), or the KDC's format is one this version does not know. Either way its evidence
  // cannot be checked: an event of its own (rule kdc-request-unreadable), counted as a parse
  // failure too.
  ev = Event{};
  ev.kind = EventKind::kdc_unreadable;
  ev.source = EventSource::kdc;
  ev.record = &record;
  ev.host = record.hostname;
  ev.pid = record.pid;
  // The request word itself ("AS_REQ" or "TGS_REQ"), a view into the line like every other field.
  ev.status = record.message.substr(0, kind == EventKind::kdc_as ? 6 : 7);
  return DecodeResult::event;
}

}  // namespace hopguard::scanner
