// Internal to scanner/: byte-pair search for the decoders' field separators (") ", ": ", ", "),
// short-key comparison and hashing for the engine's caches and memos.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HOPGUARD_AVX2_DISPATCH 1
#endif

namespace hopguard::scanner {

#if defined(HOPGUARD_AVX2_DISPATCH)
// find_pair's loop, 32 positions a step, for CPUs with AVX2 (chosen at run time: the build
// targets baseline x86-64). Reads p[i, i + 33) while i + 33 <= n; returns n when nothing was
// found in the positions it covered (the caller finishes the tail).
__attribute__((target("avx2"))) inline std::size_t find_pair_avx2(const char* p, std::size_t n, char a, char b,
                                                                   std::size_t& i) noexcept {
  const __m256i va = _mm256_set1_epi8(a);
  const __m256i vb = _mm256_set1_epi8(b);
  for (; i + 33 <= n; i += 32) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    const __m256i y = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 1));
    const unsigned mask = static_cast<unsigned>(
        _mm256_movemask_epi8(_mm256_and_si256(_mm256_cmpeq_epi8(x, va), _mm256_cmpeq_epi8(y, vb))));
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(mask));
  }
  return n;
}

inline bool cpu_has_avx2() noexcept {
  static const bool has = __builtin_cpu_supports("avx2") != 0;  // a constant of the machine
  return has;
}
#endif

// memchr(p, '\n', n) inline, for the framer's search of every line's end: a library call per
// line (~50 instructions on a 126-byte line, and a tenth of a mixed log's scan time) becomes a
// loop of 64 bytes a step with AVX2 (chosen at run time), 32 with SSE2; the last bytes as
// memchr. Reads only p[0, n).
#if defined(HOPGUARD_AVX2_DISPATCH)
__attribute__((target("avx2"))) inline const char* find_lf_avx2(const char* p, const char* end) noexcept {
  const __m256i lf = _mm256_set1_epi8('\n');
  for (; end - p >= 64; p += 64) {
    const __m256i a = _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)), lf);
    const __m256i b = _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32)), lf);
    if (_mm256_testz_si256(_mm256_or_si256(a, b), _mm256_or_si256(a, b)) != 0) continue;
    const auto lo = static_cast<std::uint32_t>(_mm256_movemask_epi8(a));
    if (lo != 0) return p + __builtin_ctz(lo);
    return p + 32 + __builtin_ctz(static_cast<std::uint32_t>(_mm256_movemask_epi8(b)));
  }
  if (end - p >= 32) {
    const auto m = static_cast<std::uint32_t>(
        _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)), lf)));
    if (m != 0) return p + __builtin_ctz(m);
    p += 32;
  }
  return p;  // no LF before p; fewer than 32 bytes left
}
#endif

inline const char* find_lf(const char* p, std::size_t n) noexcept {
  const char* const end = p + n;
#if defined(HOPGUARD_AVX2_DISPATCH)
  if (cpu_has_avx2()) {
    p = find_lf_avx2(p, end);
    if (p != end && *p == '\n') return p;
  }
#endif
#if defined(__SSE2__)
  const __m128i lf = _mm_set1_epi8('\n');
  for (; end - p >= 32; p += 32) {
    const auto lo = static_cast<std::uint32_t>(
        _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), lf)));
    const auto hi = static_cast<std::uint32_t>(
        _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16)), lf)));
    const std::uint32_t m = lo | (hi << 16);
    if (m != 0) return p + __builtin_ctz(m);
  }
#endif
  return static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
}

// s.find({a, b}): the first i with s[i] == a and s[i + 1] == b, or npos. 32 positions per step
// where the CPU has AVX2 and the text is long (the KDC's etype lists: 100-200 bytes), else
// sixteen with SSE2 (every x86-64): string_view::find calls memchr for a and then memcmp at
// every a it meets, and a KDC line has a dozen ')' before its first ") ". Always inlined: with
// its first inline step GCC no longer inlines it by itself, and the call cost ~35 instructions
// on each of a KDC line's three searches. Reads s[0, s.size()) only.
[[gnu::always_inline]] inline std::size_t find_pair(std::string_view s, char a, char b) noexcept {
  const char* p = s.data();
  const std::size_t n = s.size();
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128i va = _mm_set1_epi8(a);
  const __m128i vb = _mm_set1_epi8(b);
  const auto step = [&](std::size_t at) __attribute__((always_inline)) {  // reads p[at, at + 17)
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + at));
    const __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + at + 1));
    return static_cast<unsigned>(_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(y, vb))));
  };
  // The first sixteen positions before the AVX2 loop, a call: the KDC decoder's ": " after an
  // address and after a status word is within them on nearly every line.
  if (n >= 17) {
    if (const unsigned mask = step(0); mask != 0) return static_cast<std::size_t>(__builtin_ctz(mask));
    i = 16;
  }
#endif
#if defined(HOPGUARD_AVX2_DISPATCH)
  if (n >= 64 && cpu_has_avx2()) {
    const std::size_t hit = find_pair_avx2(p, n, a, b, i);
    if (hit != n) return hit;
  }
#endif
#if defined(__SSE2__)
  for (; i + 17 <= n; i += 16) {
    if (const unsigned mask = step(i); mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(mask));
  }
#endif
  for (; i + 1 < n; ++i) {
    if (p[i] == a && p[i + 1] == b) return i;
  }
  return std::string_view::npos;
}

// The syslog header's byte loops (scanner/syslog_record.cpp), sixteen bytes a step where the
// text goes on for sixteen more (every header token of every line passes through them; a byte
// loop is ~10 instructions per byte there). Each returns what its byte loop returns.

namespace detail {
// The first i in [from, min(s.size(), from + limit)) whose byte is hit; that end if none (from
// itself when from >= s.size()). hit16(x) gives a byte mask (0xff where hit) of 16 bytes and
// must agree with hit(c) on each byte.
template <typename Hit16, typename Hit>
inline std::size_t find_bounded(std::string_view s, std::size_t from, std::size_t limit, Hit16 hit16,
                                Hit hit) noexcept {
  const char* p = s.data();
  const std::size_t n = s.size();
  if (from >= n) return from;
  const std::size_t end = limit < n - from ? from + limit : n;
  std::size_t i = from;
#if defined(__SSE2__)
  for (; i < end && i + 16 <= n; i += 16) {
    const int mask = _mm_movemask_epi8(hit16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i))));
    if (mask != 0) {
      const std::size_t j = i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
      return j < end ? j : end;
    }
  }
  if (i >= end) return end;
#else
  (void)hit16;
#endif
  for (; i < end; ++i) {
    if (hit(p[i])) return i;
  }
  return end;
}
}  // namespace detail

// The first i in [from, min(s.size(), from + limit)) with s[i] == a, b or c; that end if none
// (from itself when from >= s.size()).
inline std::size_t find_any_of3(std::string_view s, std::size_t from, std::size_t limit, char a, char b,
                                char c) noexcept {
#if defined(__SSE2__)
  const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b), vc = _mm_set1_epi8(c);
  const auto hit16 = [&](__m128i x) {
    return _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)), _mm_cmpeq_epi8(x, vc));
  };
#else
  const auto hit16 = [](int) { return 0; };
#endif
  return detail::find_bounded(s, from, limit, hit16, [&](char x) { return x == a || x == b || x == c; });
}

// The first i in [from, min(s.size(), from + limit)) with s[i] a space or an ASCII digit; that
// end if none.
inline std::size_t find_space_or_digit(std::string_view s, std::size_t from, std::size_t limit) noexcept {
#if defined(__SSE2__)
  const __m128i space = _mm_set1_epi8(' '), below0 = _mm_set1_epi8('0' - 1), above9 = _mm_set1_epi8('9' + 1);
  const auto hit16 = [&](__m128i x) {
    // Signed compares: bytes >= 0x80 are negative, never between '0' and '9'.
    const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x, below0), _mm_cmplt_epi8(x, above9));
    return _mm_or_si128(digit, _mm_cmpeq_epi8(x, space));
  };
#else
  const auto hit16 = [](int) { return 0; };
#endif
  return detail::find_bounded(s, from, limit, hit16, [](char x) { return x == ' ' || (x >= '0' && x <= '9'); });
}

// The first space at or after from (s.size() if none, from if from > s.size()); bracket: whether
// a '[' comes before it.
inline std::size_t find_space_noting_bracket(std::string_view s, std::size_t from, bool& bracket) noexcept {
  const char* p = s.data();
  const std::size_t n = s.size();
  bracket = false;
  std::size_t i = from;
#if defined(__SSE2__)
  const __m128i space = _mm_set1_epi8(' '), open = _mm_set1_epi8('[');
  for (; i + 16 <= n; i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const unsigned ms = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, space)));
    const unsigned mb = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, open)));
    if (ms != 0) {
      const unsigned k = static_cast<unsigned>(__builtin_ctz(ms));
      bracket = bracket || (mb & ((1u << k) - 1)) != 0;
      return i + k;
    }
    bracket = bracket || mb != 0;
  }
#endif
  for (; i < n && p[i] != ' '; ++i) bracket = bracket || p[i] == '[';
  return i;
}

// The first i >= from with s[i] not an ASCII digit, or s.size().
inline std::size_t skip_digits(std::string_view s, std::size_t from) noexcept {
  const char* p = s.data();
  const std::size_t n = s.size();
  std::size_t i = from;
#if defined(__SSE2__)
  const __m128i below0 = _mm_set1_epi8('0' - 1), above9 = _mm_set1_epi8('9' + 1);
  for (; i + 16 <= n; i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x, below0), _mm_cmplt_epi8(x, above9));
    const unsigned other = ~static_cast<unsigned>(_mm_movemask_epi8(digit)) & 0xffffu;
    if (other != 0) return i + static_cast<std::size_t>(__builtin_ctz(other));
  }
#endif
  while (i < n && p[i] >= '0' && p[i] <= '9') ++i;
  return i;
}

// std::memcmp(a, b, n) == 0 for the short keys of the engine's memos and caches (names,
// status words: tens of bytes), eight bytes a step, inlined: the library call costs more than
// the comparison there.
// s starts with the literal p: a compare of a constant size, which the compiler inlines (a
// string_view compare calls memcmp with a size it cannot see).
template <std::size_t N>
inline bool starts_with(std::string_view s, const char (&p)[N]) noexcept {
  return s.size() >= N - 1 && std::memcmp(s.data(), p, N - 1) == 0;
}

// The last partial word is compared as an overlapping load (a byte loop there cost up to seven
// rounds: "krb5kdc", a 7-byte name, is compared on every KDC line).
inline bool equal_bytes(const char* a, const char* b, std::size_t n) noexcept {
  const auto word = [](const char* p, std::size_t k) {
    std::uint64_t v = 0;
    std::memcpy(&v, p, k);
    return v;
  };
  if (n < 8) {
    if (n >= 4) return word(a, 4) == word(b, 4) && word(a + n - 4, 4) == word(b + n - 4, 4);
    for (std::size_t i = 0; i < n; ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    if (word(a + i, 8) != word(b + i, 8)) return false;
  }
  return i == n || word(a + n - 8, 8) == word(b + n - 8, 8);
}

namespace detail {
__extension__ typedef unsigned __int128 u128;
inline std::uint64_t mix64(std::uint64_t a, std::uint64_t b) noexcept {
  const u128 r = static_cast<u128>(a) * b;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}
inline std::uint64_t load64(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline std::uint64_t load32(const char* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
}  // namespace detail

// A 64-bit hash of n bytes for the engine's caches of names and addresses (tens of bytes):
// 16 bytes per 128-bit multiply-fold step (the wyhash construction), short keys read with two
// overlapping loads, inlined. std::hash (murmur, a library call) cost about twice as much per
// key. Like std::hash its seed is fixed: the tables that use it bound their probe work by
// their load factor, not by the hash being secret (see engine.cpp).
inline std::uint64_t hash_bytes(const char* p, std::size_t n) noexcept {
  using detail::load32;
  using detail::load64;
  using detail::mix64;
  constexpr std::uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull, k2 = 0x8ebc6af09c88c6e3ull;
  std::uint64_t seed = k0 ^ (static_cast<std::uint64_t>(n) * k2);
  std::uint64_t a = 0, b = 0;
  if (n <= 16) {
    if (n >= 8) {
      a = load64(p);
      b = load64(p + n - 8);
    } else if (n >= 4) {
      a = load32(p);
      b = load32(p + n - 4);
    } else if (n > 0) {
      a = (static_cast<std::uint64_t>(static_cast<unsigned char>(p[0])) << 16) |
          (static_cast<std::uint64_t>(static_cast<unsigned char>(p[n >> 1])) << 8) |
          static_cast<unsigned char>(p[n - 1]);
    }
  } else {
    std::size_t i = 0;
    for (; i + 16 < n; i += 16) seed = mix64(load64(p + i) ^ k1, load64(p + i + 8) ^ seed);
    a = load64(p + n - 16);
    b = load64(p + n - 8);
  }
  return mix64(k1 ^ n, mix64(a ^ k1, b ^ seed));
}

inline std::uint64_t hash_bytes(std::string_view s) noexcept { return hash_bytes(s.data(), s.size()); }

}  // namespace hopguard::scanner
