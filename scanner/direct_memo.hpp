// DirectMemo: a direct-mapped memo of short texts, in front of a slower lookup.
#pragma once

#include "text_search.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace hopguard::scanner {

// A direct-mapped memo of (short text -> value) in front of a FlatTextMap, for texts that
// repeat from line to line in their dozens or hundreds (a KDC line's service and client
// address): kSlots slots, each holding the last text (up to kMaxKey bytes, inline) whose index
// fell on it. The index is a multiply of three words of the text (its first, middle and last
// eight bytes), not hash_bytes: a lookup that hits costs that and one compare of the text.
// Keys longer than kMaxKey are never kept. A slot is only a copy of what the map behind it
// would answer, so a collision (a hostile line's texts made to share a slot) costs a lookup
// in the map, nothing else.
// equal_bytes, inline for the usual keys of the memos: two overlapping words for texts of 4 to
// 7 bytes (32-bit) and of 8 to 16 (64-bit), four for 17 to 32; equal_bytes' loops otherwise.
// Reads only [a, a + n) and [b, b + n) (a and b may be null when n is 0).
[[gnu::always_inline]] inline bool equal_short_bytes(const char* a, const char* b, std::size_t n) noexcept {
  const auto word = [](const char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  };
  const auto half = [](const char* p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  };
  if (n < 8) {
    if (n >= 4) return ((half(a) ^ half(b)) | (half(a + n - 4) ^ half(b + n - 4))) == 0;
    return n == 0 || equal_bytes(a, b, n);
  }
  if (n > 32) return equal_bytes(a, b, n);
  if (n <= 16) return ((word(a) ^ word(b)) | (word(a + n - 8) ^ word(b + n - 8))) == 0;
  return ((word(a) ^ word(b)) | (word(a + 8) ^ word(b + 8)) | (word(a + n - 16) ^ word(b + n - 16)) |
          (word(a + n - 8) ^ word(b + n - 8))) == 0;
}

// std::copy_n(src, n, dst) for the same short texts: overlapping words for 4 to 32 bytes, where
// the library's memmove is a call through the PLT and a dispatch on the size. Reads only
// [src, src + n), writes only [dst, dst + n) (both may be null when n is 0); no overlap.
[[gnu::always_inline]] inline void copy_short_bytes(char* dst, const char* src, std::size_t n) noexcept {
  const auto copy = [&](std::size_t at, std::size_t size) { std::memcpy(dst + at, src + at, size); };
  if (n < 4 || n > 32) {
    std::copy_n(src, n, dst);
  } else if (n < 8) {
    std::uint32_t a, b;  // both loaded before either store
    std::memcpy(&a, src, 4);
    std::memcpy(&b, src + n - 4, 4);
    std::memcpy(dst, &a, 4);
    std::memcpy(dst + n - 4, &b, 4);
  } else if (n <= 16) {
    std::uint64_t a, b;
    std::memcpy(&a, src, 8);
    std::memcpy(&b, src + n - 8, 8);
    std::memcpy(dst, &a, 8);
    std::memcpy(dst + n - 8, &b, 8);
  } else {
    copy(0, 16);
    copy(n - 16, 16);
  }
}

template <typename V, std::size_t kSlots, std::size_t kMaxKey>
class DirectMemo {
 public:
  static_assert(kSlots >= 2 && (kSlots & (kSlots - 1)) == 0);
  static_assert(kMaxKey < 255);

  // The slot key maps to (for put()), and its value when the slot holds key.
  [[gnu::always_inline]] const V* find(std::string_view key, std::size_t& slot) const noexcept {
    slot = index(key.data(), key.size());
    const Slot& s = slots_[slot];
    // (A key of 255 bytes would match an empty slot's size: longer keys are never kept.)
    if (key.size() <= kMaxKey && s.size == key.size() && equal_short_bytes(s.key, key.data(), key.size())) return &s.value;
    return nullptr;
  }

  void put(std::size_t slot, std::string_view key, const V& value) noexcept {
    if (key.size() > kMaxKey) return;
    Slot& s = slots_[slot];
    std::copy_n(key.data(), key.size(), s.key);  // data() may be null when empty
    s.size = static_cast<std::uint8_t>(key.size());
    s.value = value;
  }

  void clear() noexcept {
    for (Slot& s : slots_) s.size = kNone;
  }

 private:
  static constexpr std::uint8_t kNone = 255;  // matches no key (keys are kMaxKey bytes at most)
  static constexpr unsigned kBits = std::countr_zero(kSlots);

  [[gnu::always_inline]] static std::size_t index(const char* p, std::size_t n) noexcept {
    std::uint64_t x;
    if (n >= 8) {
      std::uint64_t a, b, c;
      std::memcpy(&a, p, 8);
      std::memcpy(&b, p + n / 2 - 4, 8);
      std::memcpy(&c, p + n - 8, 8);
      x = a ^ std::rotl(b, 21) ^ std::rotl(c, 43);
    } else if (n >= 4) {
      std::uint32_t a, c;
      std::memcpy(&a, p, 4);
      std::memcpy(&c, p + n - 4, 4);
      x = a | (static_cast<std::uint64_t>(c) << 32);
    } else {
      x = 0;
      for (std::size_t i = 0; i < n; ++i) x = x << 8 | static_cast<unsigned char>(p[i]);
    }
    x = (x ^ n) * 0x9e3779b97f4a7c15ull;
    return static_cast<std::size_t>(x >> (64 - kBits));
  }

  struct Slot {
    std::uint8_t size = kNone;
    char key[kMaxKey];
    V value{};
  };
  Slot slots_[kSlots];
};

}  // namespace hopguard::scanner
