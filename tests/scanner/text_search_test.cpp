// find_pair (scanner/text_search.hpp) against its reference, std::string_view::find of the
// two-byte string, on many random texts of every length around the 16- and 32-byte steps, in
// blocks of their exact size.
#include <scanner/direct_memo.hpp>
#include <scanner/text_search.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace hopguard::scanner {
namespace {

TEST(FindPair, SameAsStringViewFind) {
  std::mt19937 rnd(11);
  const std::string alphabet(") :,x\0\x80\xff", 8);
  for (int i = 0; i < 50000; ++i) {
    std::string s(rnd() % 200, 'x');  // past 64 bytes: the AVX2 steps where the CPU has them
    for (char& c : s) c = alphabet[rnd() % (rnd() % 4 ? 4 : alphabet.size())];
    const char a = alphabet[rnd() % (rnd() % 4 ? 4 : alphabet.size())];
    const char b = alphabet[rnd() % (rnd() % 4 ? 4 : alphabet.size())];
    const char pair[2] = {a, b};
    // In a heap block of exactly the text's size (a read past its end is an ASan error; a
    // std::string's terminating NUL would hide one), at offsets into it, so that unaligned
    // starts are covered.
    const std::unique_ptr<char[]> block(new char[s.size()]);
    std::copy(s.begin(), s.end(), block.get());
    const std::size_t off = std::min<std::size_t>(rnd() % 8, s.size());
    const std::string_view v(block.get() + off, s.size() - off);
    ASSERT_EQ(find_pair(v, a, b), v.find(std::string_view(pair, 2))) << '"' << v << '"';
  }
}

TEST(EqualBytes, SameAsMemcmp) {
  std::mt19937 rnd(13);
  for (int i = 0; i < 50000; ++i) {
    std::string a(rnd() % 70, 'a');
    for (char& c : a) c = static_cast<char>('a' + rnd() % 2);
    std::string b = a;
    if (!b.empty() && rnd() % 2) b[rnd() % b.size()] ^= static_cast<char>(1 + rnd() % 2);
    ASSERT_EQ(equal_bytes(a.data(), b.data(), a.size()), std::memcmp(a.data(), b.data(), a.size()) == 0);
  }
}

// The header helpers against the byte loops they replace in syslog_record.cpp, on random texts
// of every length around the 16-byte steps, from every start (also past the end) and limit.
TEST(HeaderScans, SameAsByteLoops) {
  std::mt19937 rnd(17);
  const std::string alphabet = "ab[: 09\x80";
  for (int i = 0; i < 40000; ++i) {
    std::string s(rnd() % 70, 'a');
    for (char& c : s) c = alphabet[rnd() % alphabet.size()];
    const std::size_t off = rnd() % 8;
    const std::string_view t = std::string_view(s).substr(std::min(off, s.size()));
    const std::size_t from = rnd() % (t.size() + 3);
    const std::size_t limit = rnd() % 2 ? 64 : rnd() % 24;
    std::size_t p = from;
    while (p < t.size() && t[p] != '[' && t[p] != ':' && t[p] != ' ' && p - from < limit) ++p;
    ASSERT_EQ(find_any_of3(t, from, limit, '[', ':', ' '), p) << '"' << t << "\" from " << from;
    p = from;
    while (p < t.size() && p - from < limit && t[p] != ' ' && !(t[p] >= '0' && t[p] <= '9')) ++p;
    ASSERT_EQ(find_space_or_digit(t, from, limit), p) << '"' << t << "\" from " << from;
    p = from;
    bool bracket = false;
    while (p < t.size() && t[p] != ' ') bracket |= t[p++] == '[';
    bool got_bracket = true;
    ASSERT_EQ(find_space_noting_bracket(t, from, got_bracket), p) << '"' << t << "\" from " << from;
    ASSERT_EQ(got_bracket, bracket) << '"' << t << "\" from " << from;
  }
}

TEST(SkipDigits, SameAsByteLoop) {
  std::mt19937 rnd(19);
  const std::string alphabet = "0123456789x,\x80";
  for (int i = 0; i < 40000; ++i) {
    std::string s(rnd() % 50, '0');
    for (char& c : s) c = rnd() % 4 == 0 ? alphabet[rnd() % alphabet.size()] : static_cast<char>('0' + rnd() % 10);
    const std::string_view t = std::string_view(s).substr(std::min<std::size_t>(rnd() % 4, s.size()));
    const std::size_t from = rnd() % (t.size() + 1);
    std::size_t p = from;
    while (p < t.size() && t[p] >= '0' && t[p] <= '9') ++p;
    ASSERT_EQ(skip_digits(t, from), p) << '"' << t << "\" from " << from;
  }
}

}  // namespace
}  // namespace hopguard::scanner

namespace hopguard::scanner {
namespace {

// find_lf (the framer's search for a line's end) against memchr, on texts of every length
// around its 32- and 64-byte steps, at unaligned starts, with none, one or many LFs.
TEST(FindLf, SameAsMemchr) {
  std::mt19937 rnd(13);
  for (int i = 0; i < 50000; ++i) {
    std::string s(rnd() % 300, 'x');
    const unsigned lfs = rnd() % 4;
    for (unsigned k = 0; k < lfs && !s.empty(); ++k) s[rnd() % s.size()] = '\n';
    if (rnd() % 8 == 0) std::fill(s.begin(), s.end(), '\n');
    const std::size_t off = std::min(static_cast<std::size_t>(rnd() % 8), s.size());
    const char* p = s.data() + off;
    const std::size_t n = s.size() - off;
    ASSERT_EQ(find_lf(p, n), static_cast<const char*>(std::memchr(p, '\n', n))) << n << " bytes";
  }
}


// DirectMemo against a map of every key put: a hit gives the value put for that very key
// (never another key's that shares its slot), a key just put is found again in the same slot,
// longer keys than the memo keeps are never found, and clear() forgets every key. Keys are
// drawn from families that share their size and most bytes (dotted quads, services), with
// random bytes of every value and length around the 4-, 8-, 16- and 32-byte compare steps;
// two and four slots make them share slots all the time.
template <std::size_t kSlots, std::size_t kMaxKey>
void check_direct_memo(std::uint32_t seed) {
  std::mt19937 rnd(seed);
  DirectMemo<std::uint32_t, kSlots, kMaxKey> memo;
  std::map<std::string, std::uint32_t> value_of;
  std::vector<std::string> keys;
  const std::string families[] = {"127.0.0.1", "10.0.5.186", "krbtgt/HG.TEST@HG.TEST", "host/legacy12.hg.test@HG.TEST",
                                  "::ffff:10.0.0.2", "", "a"};
  for (int i = 0; i < 3000; ++i) {
    std::string k = families[rnd() % std::size(families)];
    switch (rnd() % 4) {
      case 0: if (!k.empty()) k[rnd() % k.size()] = static_cast<char>(rnd() % 256); break;  // same size
      case 1: k = std::string(rnd() % (kMaxKey + 4), '\0'); for (char& c : k) c = static_cast<char>(rnd() % 4); break;
      case 2: k.resize(rnd() % (kMaxKey + 4), static_cast<char>(rnd() % 256)); break;
      default: break;
    }
    keys.push_back(k);
  }
  keys.push_back(std::string(255, 'x'));  // the size byte of an empty slot
  keys.push_back(std::string(256, 'x'));
  std::uint32_t next = 1;
  for (int i = 0; i < 200000; ++i) {
    if (rnd() % 20000 == 0) memo.clear();
    const std::string& k = keys[rnd() % keys.size()];
    auto [it, added] = value_of.try_emplace(k, next);  // one value per key
    if (added) ++next;
    std::size_t slot = 0;
    const std::uint32_t* v = memo.find(k, slot);
    ASSERT_LT(slot, kSlots);
    if (v != nullptr) {
      ASSERT_EQ(*v, it->second) << "key of " << k.size() << " bytes";
      continue;
    }
    memo.put(slot, k, it->second);
    std::size_t again = kSlots;
    v = memo.find(k, again);
    ASSERT_EQ(again, slot);
    if (k.size() > kMaxKey) {
      ASSERT_EQ(v, nullptr);
    } else {
      ASSERT_NE(v, nullptr);
      ASSERT_EQ(*v, it->second);
    }
  }
  memo.clear();
  for (const std::string& k : keys) {
    std::size_t slot = 0;
    ASSERT_EQ(memo.find(k, slot), nullptr);
  }
}

TEST(DirectMemo, HitsOnlyItsOwnKey) {
  check_direct_memo<2, 15>(41);
  check_direct_memo<4, 47>(43);
  check_direct_memo<2, 47>(45);
  check_direct_memo<64, 47>(47);
  check_direct_memo<512, 15>(49);
}


// equal_short_bytes (the memos' inline compare) as memcmp, on texts of every length around its
// 4-, 8-, 16- and 32-byte steps, equal or one byte off anywhere, at any alignment.
TEST(DirectMemo, EqualShortBytesAsMemcmp) {
  std::mt19937 rnd(59);
  std::string a(80, 'x'), b(80, 'x');
  for (int i = 0; i < 200000; ++i) {
    const std::size_t n = rnd() % 41, ao = rnd() % 8, bo = rnd() % 8;
    for (std::size_t k = 0; k < n; ++k) a[ao + k] = b[bo + k] = static_cast<char>(rnd() % 3);
    if (n > 0 && rnd() % 2) b[bo + rnd() % n] ^= static_cast<char>(1 + rnd() % 255);
    ASSERT_EQ(equal_short_bytes(a.data() + ao, b.data() + bo, n), std::memcmp(a.data() + ao, b.data() + bo, n) == 0)
        << n;
  }
  EXPECT_TRUE(equal_short_bytes(nullptr, nullptr, 0));
}

}  // namespace
}  // namespace hopguard::scanner
