// Internal to scanner/: byte-pair search for the decoders' field separators (") ", ": ", ", ").
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace hopguard::scanner {

// s.find({a, b}): the first i with s[i] == a and s[i + 1] == b, or npos. Sixteen positions per
// step where SSE2 is there (every x86-64): string_view::find calls memchr for a and then memcmp
// at every a it meets, and a KDC line has a dozen ')' before its first ") ".
inline std::size_t find_pair(std::string_view s, char a, char b) noexcept {
  const char* p = s.data();
  const std::size_t n = s.size();
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128i va = _mm_set1_epi8(a);
  const __m128i vb = _mm_set1_epi8(b);
  for (; i + 17 <= n; i += 16) {  // reads p[i, i + 17)
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 1));
    const int mask = _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(y, vb)));
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  for (; i + 1 < n; ++i) {
    if (p[i] == a && p[i + 1] == b) return i;
  }
  return std::string_view::npos;
}

// std::memcmp(a, b, n) == 0 for the short keys of the engine's memos and caches (names,
// status words: tens of bytes), eight bytes a step, inlined: the library call costs more than
// the comparison there.
inline bool equal_bytes(const char* a, const char* b, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t x, y;
    std::memcpy(&x, a + i, 8);
    std::memcpy(&y, b + i, 8);
    if (x != y) return false;
  }
  for (; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace hopguard::scanner
