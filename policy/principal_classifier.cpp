// Principal classification (DESIGN section 4). Syntax is libkrb5's; classes are the site's.
#include "principal_parser.hpp"

#include <hopguard/policy.hpp>

#include <krb5.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <functional>

namespace hopguard {

std::string_view to_string(PrincipalClass c) noexcept {
  switch (c) {
    case PrincipalClass::regular: return "regular";
    case PrincipalClass::special: return "special";
    case PrincipalClass::service: return "service";
    case PrincipalClass::foreign: return "foreign";
    case PrincipalClass::invalid: return "invalid";
  }
  return "invalid";
}

Expected<std::unique_ptr<PrincipalParser>> PrincipalParser::create() {
  krb5_context ctx = nullptr;
  const krb5_error_code rc = krb5_init_secure_context(&ctx);
  if (rc != 0) {
    const char* msg = krb5_get_error_message(nullptr, rc);  // a null context is allowed here
    Error e{ErrorCode::internal, {}, "", std::string("libkrb5 context: ") + msg};
    krb5_free_error_message(nullptr, msg);
    return e;
  }
  return std::unique_ptr<PrincipalParser>(new PrincipalParser(ctx));
}

PrincipalParser::~PrincipalParser() { krb5_free_context(ctx_); }

bool PrincipalParser::parse(std::string_view text, ParsedPrincipal* out, std::string* why) const {
  const std::string z(text);  // libkrb5 wants NUL-terminated text
  std::lock_guard<std::mutex> lock(mu_);
  krb5_principal p = nullptr;
  krb5_error_code rc = krb5_parse_name_flags(ctx_, z.c_str(), KRB5_PRINCIPAL_PARSE_REQUIRE_REALM, &p);
  if (rc != 0) {
    const char* msg = krb5_get_error_message(ctx_, rc);
    *why = msg;
    krb5_free_error_message(ctx_, msg);
    return false;
  }
  char* unparsed = nullptr;
  rc = krb5_unparse_name(ctx_, p, &unparsed);
  if (rc != 0) {
    krb5_free_principal(ctx_, p);
    *why = "cannot unparse";
    return false;
  }
  out->name = unparsed;
  krb5_free_unparsed_name(ctx_, unparsed);
  out->realm.assign(p->realm.data, p->realm.length);
  out->components.clear();
  for (krb5_int32 i = 0; i < p->length; ++i) {
    out->components.emplace_back(p->data[i].data, p->data[i].length);
  }
  krb5_free_principal(ctx_, p);
  return true;
}

namespace {

bool is_plain_byte(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

}  // namespace

// The common shape "comp[/comp...]@REALM" where every component and the realm are non-empty
// runs of [A-Za-z0-9._-]: libkrb5 parses such a name into exactly these components and realm
// and unparses it to the same text (none of these bytes is quoted or special to it), so the
// parse needs no krb5 context, lock or allocation per component of its own. Returns false
// (out untouched) for every other text, which then goes to libkrb5 as before; the equivalence
// is checked against libkrb5 in tests/policy.
bool plain_shape(std::string_view text, std::string_view& name, std::string_view& realm) noexcept {
  const std::size_t at = text.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= text.size()) return false;
  name = text.substr(0, at);
  realm = text.substr(at + 1);
  for (const char c : realm) {
    if (!is_plain_byte(c)) return false;
  }
  std::size_t start = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '/') {
      if (i == start) return false;  // empty component
      start = i + 1;
    } else if (!is_plain_byte(name[i])) {
      return false;
    }
  }
  return true;
}

bool parse_plain_principal(std::string_view text, ParsedPrincipal& out) {
  std::string_view name, realm;
  if (!plain_shape(text, name, realm)) return false;
  out.name.assign(text);
  out.realm.assign(realm);
  out.components.clear();
  std::size_t start = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '/') {
      out.components.emplace_back(name.substr(start, i - start));
      start = i + 1;
    }
  }
  return true;
}

Principal Policy::classify(std::string_view text) const {
  Principal out;
  out.name = std::string(text.substr(0, kMaxPrincipalLength));
  if (text.empty()) {
    out.why_invalid = "empty principal";
    return out;
  }
  if (text.size() > kMaxPrincipalLength) {
    out.why_invalid = "principal longer than " + std::to_string(kMaxPrincipalLength) + " bytes";
    return out;
  }
  if (std::any_of(text.begin(), text.end(),
                  [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f; })) {
    out.why_invalid = "control byte in principal";
    return out;
  }
  ParsedPrincipal parsed;
  std::string why;
  if (!parse_plain_principal(text, parsed) && !parser_->parse(text, &parsed, &why)) {
    out.why_invalid = "not a principal: " + why;
    return out;
  }
  if (parsed.components.empty() || parsed.realm.empty() ||
      std::any_of(parsed.components.begin(), parsed.components.end(),
                  [](const std::string& c) { return c.empty(); })) {
    out.why_invalid = "principal with an empty component or realm";
    return out;
  }
  out.name = std::move(parsed.name);
  out.realm = std::move(parsed.realm);
  out.components = std::move(parsed.components);

  if (out.realm != config_.realm) {  // realms are case-sensitive: hg.test is not HG.TEST
    out.cls = PrincipalClass::foreign;
    if (out.components.size() == 1) out.user = out.components[0];
    return out;
  }
  if (out.components.size() >= 2) {
    out.cls = PrincipalClass::service;
    return out;
  }
  const std::string& primary = out.components[0];
  // Special iff primary == prefix + user + middle + host + suffix (or host before user) for a
  // configured legacy guest, with a non-empty user. Should two guests both fit, the longer host
  // name wins: "x-a-b" with guests "a-b" and "b" is user x on a-b.
  std::size_t user_at = 0, user_size = 0;
  const HostEntry* best = match_special(primary, user_at, user_size);
  std::string best_user;
  if (best != nullptr) best_user = primary.substr(user_at, user_size);
  // An enterprise name (RFC 6806, kinit -E) is one component holding a whole principal name:
  // the KDC logs "alice-legacy1\@HG.TEST@HG.TEST" for the client as requested and looks it up
  // as the principal in that component. The text cannot tell it from a name with a literal '@',
  // so a name that is special either way is special: the enterprise spelling of a host-specific
  // principal must not dodge the rules that watch it (rows 2, 3, 4 and 7).
  if (best == nullptr && primary.find('@') != std::string::npos) {
    ParsedPrincipal inner;
    std::string inner_why;
    if ((parse_plain_principal(primary, inner) || parser_->parse(primary, &inner, &inner_why)) &&
        inner.realm == config_.realm && inner.components.size() == 1 && !inner.components[0].empty()) {
      best = match_special(inner.components[0], user_at, user_size);
      if (best != nullptr) best_user = inner.components[0].substr(user_at, user_size);
    }
  }
  if (best != nullptr) {
    out.cls = PrincipalClass::special;
    out.user = std::move(best_user);
    out.host = best->name;
  } else {
    out.cls = PrincipalClass::regular;
    out.user = primary;
  }
  return out;
}

std::array<std::string_view, 7> Policy::special_principal_parts(std::string_view user,
                                                                std::string_view host) const noexcept {
  const std::string_view first = user_first_ ? user : host;
  const std::string_view second = user_first_ ? host : user;
  return {template_prefix_, first, template_middle_, second, template_suffix_, "@", config_.realm};
}

const HostEntry* Policy::match_special(std::string_view name, std::size_t& user_at,
                                       std::size_t& user_size) const noexcept {
  const HostEntry* best = nullptr;
  for (const SpecialPattern& sp : special_patterns_) {
    const HostEntry& host = config_.hosts[sp.host_index];
    if (name.size() <= sp.head.size() + sp.tail.size()) continue;
    if (name.substr(0, sp.head.size()) != sp.head) continue;
    if (name.substr(name.size() - sp.tail.size()) != sp.tail) continue;
    if (best != nullptr && best->name.size() >= host.name.size()) continue;
    best = &host;
    user_at = sp.head.size();
    user_size = name.size() - sp.head.size() - sp.tail.size();
  }
  return best;
}

namespace {

// Bytes of plain_shape's names: kPlain for [A-Za-z0-9._-], kSlash, kAt; 0 for every other byte.
// kPlain is the only value with bit 0: four bytes are all plain iff their values ANDed are kPlain.
enum : unsigned char { kOther = 0, kPlain = 1, kSlash = 2, kAt = 4 };
constexpr std::array<unsigned char, 256> kPlainBytes = [] {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                       c == '-' || c == '_';
    t[static_cast<std::size_t>(c)] = plain ? kPlain : c == '/' ? kSlash : c == '@' ? kAt : kOther;
  }
  return t;
}();

[[gnu::always_inline]] inline std::uint64_t load8(const char* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}
[[gnu::always_inline]] inline std::uint32_t load4(const char* p) noexcept {
  std::uint32_t w;
  std::memcpy(&w, p, 4);
  return w;
}

// The hash of the special-pattern index (a function of the bytes only: the index is built and
// asked with it): the bytes 8 at a time (the last 8 overlapping), 4 + 4 overlapping for 4 to 7,
// then murmur3's finaliser, so that the low bits (the slot) depend on every byte. A part is ~8
// bytes ("-legacy1"): FNV-1a's byte loop cost ~50 instructions a lookup, on every TGS line toward
// a guest.
std::uint64_t part_hash(std::string_view s) noexcept {
  const std::size_t n = s.size();
  const char* p = s.data();
  std::uint64_t h = n;
  if (n >= 8) {
    for (std::size_t i = 0; i + 8 < n; i += 8) h = (h ^ load8(p + i)) * 0x9e3779b97f4a7c15ull;
    h ^= load8(p + n - 8);
  } else if (n >= 4) {
    h ^= (static_cast<std::uint64_t>(load4(p)) << 32 | load4(p + n - 4)) << 3;
  } else {
    for (std::size_t i = 0; i < n; ++i) h ^= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i + 8);
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 33);
}

// a == b without a call to memcmp (a realm and a pattern's part are short: the call and its
// set-up cost more than the compare): 8 bytes at a time and the last 8 overlapping, 4 + 4
// overlapping for 4 to 7 bytes, byte by byte below.
[[gnu::always_inline]] inline bool equal_text(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  if (n >= 8) {
    for (std::size_t i = 0; i + 8 < n; i += 8) {
      if (load8(p + i) != load8(q + i)) return false;
    }
    return load8(p + n - 8) == load8(q + n - 8);
  }
  if (n >= 4) return load4(p) == load4(q) && load4(p + n - 4) == load4(q + n - 4);
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] != q[i]) return false;
  }
  return true;
}

#if defined(__SSE2__)
// Bit i set iff byte i of x is not a plain byte ([A-Za-z0-9._-]; signed compares: a byte from
// 0x80 up is in no range).
[[gnu::always_inline]] inline unsigned not_plain_mask(__m128i x) noexcept {
  const auto in = [](__m128i v, char lo, char hi) {
    return _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(static_cast<char>(lo - 1))),
                         _mm_cmplt_epi8(v, _mm_set1_epi8(static_cast<char>(hi + 1))));
  };
  const __m128i letter = in(_mm_or_si128(x, _mm_set1_epi8(0x20)), 'a', 'z');  // | 0x20: A-Z -> a-z
  const __m128i punct = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('.')),
                                                  _mm_cmpeq_epi8(x, _mm_set1_epi8('-'))),
                                     _mm_cmpeq_epi8(x, _mm_set1_epi8('_')));
  const __m128i plain = _mm_or_si128(_mm_or_si128(letter, in(x, '0', '9')), punct);
  return ~static_cast<unsigned>(_mm_movemask_epi8(plain)) & 0xffffu;
}
#endif

// Bit j set iff byte base + j of text (j < 16, base + j < size) is not a plain byte, for the
// block that starts at base (base < size), and in *next the start of the block after it: 16
// bytes from base where text has them, else the last 16 of text (overlapping: the bytes before
// base shifted out), or for a text of 8 to 15 bytes its first 8 and last 8 in one register
// (overlapping: both describe the same bytes alike). Byte by byte for shorter texts. Reads
// text[0, size) only.
[[gnu::always_inline]] inline unsigned not_plain_block(std::string_view text, std::size_t base,
                                                       std::size_t* next) noexcept {
  const std::size_t n = text.size();
  const char* p = text.data();
#if defined(__SSE2__)
  if (n - base >= 16) {
    *next = base + 16;
    return not_plain_mask(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + base)));
  }
  if (n >= 16) {
    *next = n;
    return not_plain_mask(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - 16))) >> (base - (n - 16));
  }
  if (n >= 8) {
    *next = n;
    const unsigned m = not_plain_mask(_mm_set_epi64x(static_cast<long long>(load8(p + n - 8)),
                                                     static_cast<long long>(load8(p))));
    return ((m & 0xffu) | (m >> 8) << (n - 8)) >> base;
  }
#endif
  // Byte by byte: a text of fewer than 8 bytes, or any text without SSE2.
  const std::size_t end = n - base >= 16 ? base + 16 : n;
  *next = end;
  unsigned m = 0;
  for (std::size_t i = base; i < end; ++i) {
    if (kPlainBytes[static_cast<unsigned char>(p[i])] != kPlain) m |= 1u << (i - base);
  }
  return m;
}

// The first '@', '\\' or '/' of text (first_at_or_escape, principal_parser.hpp), sixteen bytes a
// compare where text has them (a client name is 8 to 30 bytes: a table lookup per byte cost ~50
// instructions on every name may_be_special looked at, once per KDC ISSUE line):
// whole 16-byte blocks from the start, then the last 16 bytes (overlapping: the bytes already
// looked at are shifted out of the mask), or for 8 to 15 bytes the first 8 and the last 8 in one
// register (overlapping too: the first 8 are asked first). Shorter texts byte by byte. Reads
// text[0, size) only. Inlined into may_be_special (first_at_or_escape is its name for the tests).
[[gnu::always_inline]] inline std::size_t first_stop(std::string_view text) noexcept {
  const std::size_t n = text.size();
  const char* p = text.data();
#if defined(__SSE2__)
  const auto stops = [](__m128i x) {
    const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('@')),
                                                  _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
                                     _mm_cmpeq_epi8(x, _mm_set1_epi8('/')));
    return static_cast<unsigned>(_mm_movemask_epi8(hit));
  };
  if (n >= 16) {
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
      const unsigned m = stops(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)));
      if (m != 0) return i + static_cast<std::size_t>(__builtin_ctz(m));
    }
    // Bit b of the last block is byte n - 16 + b; bytes before i were looked at above.
    const unsigned m = stops(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - 16))) >> (i - (n - 16));
    return m != 0 ? i + static_cast<std::size_t>(__builtin_ctz(m)) : n;
  }
  if (n >= 8) {
    std::uint64_t lo, hi;
    std::memcpy(&lo, p, 8);
    std::memcpy(&hi, p + n - 8, 8);
    const unsigned m = stops(_mm_set_epi64x(static_cast<long long>(hi), static_cast<long long>(lo)));
    if ((m & 0xffu) != 0) return static_cast<std::size_t>(__builtin_ctz(m));
    if (m != 0) return n - 8 + static_cast<std::size_t>(__builtin_ctz(m >> 8));
    return n;
  }
#endif
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] == '@' || p[i] == '\\' || p[i] == '/') return i;
  }
  return n;
}

}  // namespace

std::size_t first_at_or_escape(std::string_view text) noexcept { return first_stop(text); }

void Policy::index_special_patterns() {
  special_part_sizes_.clear();
  separator_probes_.clear();
  std::size_t n = 16;
  while (n < special_patterns_.size() * 2) n <<= 1;
  special_slots_.assign(n, 0);
  special_mask_ = n - 1;
  for (std::size_t k = 0; k < special_patterns_.size(); ++k) {
    const SpecialPattern& sp = special_patterns_[k];
    const std::string_view part = user_first_ ? sp.tail : sp.head;
    std::size_t i = part_hash(part) & special_mask_;
    bool duplicate = false;
    for (; special_slots_[i] != 0; i = (i + 1) & special_mask_) {
      const SpecialPattern& other = special_patterns_[special_slots_[i] - 1];
      if ((user_first_ ? other.tail : other.head) == part) duplicate = true;  // match_special keeps the first
    }
    if (!duplicate) special_slots_[i] = static_cast<std::uint32_t>(k + 1);
    if (std::find(special_part_sizes_.begin(), special_part_sizes_.end(), part.size()) == special_part_sizes_.end()) {
      special_part_sizes_.push_back(part.size());
    }
    // The byte of the middle next to {user}: the first of the tail (user first) or the last of
    // the head (host first); the middle is never empty (the loader refuses such a template).
    const SeparatorProbe probe{sp.head.size() + sp.tail.size() + 1,
                               user_first_ ? sp.tail.size() : sp.head.size() - 1, user_first_,
                               user_first_ ? sp.tail.front() : sp.head.back()};
    const auto same = [&](const SeparatorProbe& q) {
      return q.min_size == probe.min_size && q.offset == probe.offset && q.from_end == probe.from_end && q.sep == probe.sep;
    };
    if (std::none_of(separator_probes_.begin(), separator_probes_.end(), same)) separator_probes_.push_back(probe);
  }
  std::sort(special_part_sizes_.begin(), special_part_sizes_.end(), std::greater<>());
}

const HostEntry* Policy::match_special_indexed(std::string_view name, std::string_view& user) const noexcept {
  // The part that does not depend on the host (the prefix when {user} comes first, else the
  // suffix) is the same in every pattern.
  const std::string_view fixed = user_first_ ? template_prefix_ : template_suffix_;
  if (special_part_sizes_.empty() || name.size() <= fixed.size()) return nullptr;
  if (user_first_ ? !name.starts_with(fixed) : !name.ends_with(fixed)) return nullptr;
  const char sep = user_first_ ? template_middle_.front() : template_middle_.back();  // next to {user}
  for (const std::size_t size : special_part_sizes_) {
    if (name.size() <= fixed.size() + size) continue;  // no room for a non-empty user
    const std::string_view part = user_first_ ? name.substr(name.size() - size) : name.substr(0, size);
    if ((user_first_ ? part.front() : part.back()) != sep) continue;  // every part has it there
    for (std::size_t i = part_hash(part) & special_mask_; special_slots_[i] != 0; i = (i + 1) & special_mask_) {
      const SpecialPattern& sp = special_patterns_[special_slots_[i] - 1];
      if (equal_text(user_first_ ? sp.tail : sp.head, part)) {
        user = name.substr(sp.head.size(), name.size() - sp.head.size() - sp.tail.size());  // match_special's
        return &config_.hosts[sp.host_index];
      }
    }
  }
  return nullptr;
}

bool Policy::classify_plain(std::string_view text, ClassOf& out) const noexcept {
  // plain_shape in one pass: components of plain bytes separated by '/', one '@', a realm of
  // plain bytes; no empty component, no empty realm.
  if (text.size() > kMaxPrincipalLength) return false;
  const std::size_t n = text.size();
  const auto* b = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t start = 0, at = std::string_view::npos;
  bool slash = false;
  // The bytes that are not plain, in order (a name is mostly runs of plain bytes: they are
  // skipped sixteen at a time, not_plain_block), as one loop over all bytes would see them.
  for (std::size_t base = 0, next = 0; base < n; base = next) {
    for (unsigned m = not_plain_block(text, base, &next); m != 0; m &= m - 1) {
      const std::size_t i = base + static_cast<std::size_t>(__builtin_ctz(m));
      const unsigned char k = kPlainBytes[b[i]];
      if (k == kOther || at != std::string_view::npos || i == start) return false;  // realm: plain bytes only
      if (k == kSlash) {
        slash = true;
        start = i + 1;
      } else {
        at = i;
      }
    }
  }
  if (at == std::string_view::npos || at + 1 >= text.size()) return false;
  // libkrb5 would parse this text into exactly these components and realm (see
  // parse_plain_principal), so the class follows as in classify().
  if (!equal_text(text.substr(at + 1), config_.realm)) {
    out = {PrincipalClass::foreign, nullptr, {}};
  } else if (slash) {
    out = {PrincipalClass::service, nullptr, {}};
  } else if (std::string_view user; const HostEntry* guest = match_special_indexed(text.substr(0, at), user)) {
    out = {PrincipalClass::special, guest, user};
  } else {
    out = {PrincipalClass::regular, nullptr, {}};
  }
  return true;
}

Policy::ClassOf Policy::classify_class(std::string_view text) const {
  ClassOf out;
  if (classify_plain(text, out)) return out;
  const Principal p = classify(text);
  return {p.cls, p.cls == PrincipalClass::special ? find_host(p.host) : nullptr, {}};  // p dies here: no user
}

// Why false is sound (classify_class(text) is then never special):
// - With no '\\' and no '/' before the first '@', the one component libkrb5 would parse (its
//   parse_name splits only at unescaped '/' and '@'; an unescaped second '@' is malformed) and the
//   name plain_shape would take are both exactly `primary` below, the text before the first '@'
//   (or the whole text, when there is no '@' and the name is invalid anyway). It holds no '@', so
//   the enterprise reading (a component holding '@', only spelt "\\@") does not arise, and the
//   class is special iff the realm is the site's and match_special(primary) finds a guest.
// - match_special(primary) finds a pattern only if primary is longer than its head and tail, ends
//   with its tail and starts with its head: then it holds the middle's byte next to {user} where
//   that pattern's probe looks. No probe fits: no pattern fits.
// Any '\\' (escapes, enterprise names) or '/' before the first '@' answers true: classify decides.
bool Policy::may_be_special(std::string_view text) const noexcept {
  if (separator_probes_.empty()) return false;  // no legacy guest: match_special finds nothing
  const std::size_t n = text.size();
  const std::size_t at = first_stop(text);
  if (at < n && text[at] != '@') return true;  // a '\\' or '/' before any '@'
  // Here at is the first '@', or n when there is none.
  const std::size_t size = at;  // primary = text.substr(0, at)
  for (const SeparatorProbe& p : separator_probes_) {
    if (size < p.min_size) continue;
    if (text[p.from_end ? size - p.offset : p.offset] == p.sep) return true;
  }
  return false;
}

std::string Policy::special_principal_for(std::string_view user, std::string_view host) const {
  std::string name;
  for (const std::string_view part : special_principal_parts(user, host)) name.append(part);
  return name;
}

}  // namespace hopguard
