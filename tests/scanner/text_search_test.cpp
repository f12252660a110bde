// find_pair (scanner/text_search.hpp) against its reference, std::string_view::find of the
// two-byte string, on many random texts of every length around the 16- and 32-byte steps.
#include <scanner/text_search.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

namespace hopguard::scanner {
namespace {

TEST(FindPair, SameAsStringViewFind) {
  std::mt19937 rnd(11);
  const std::string alphabet = ") :,x";
  for (int i = 0; i < 50000; ++i) {
    std::string s(rnd() % 200, 'x');  // past 64 bytes: the AVX2 steps where the CPU has them
    for (char& c : s) c = alphabet[rnd() % alphabet.size()];
    const char a = alphabet[rnd() % 4];
    const char b = alphabet[rnd() % 4];
    const char pair[2] = {a, b};
    // Offsets into a longer buffer, so that unaligned starts are covered.
    const std::size_t off = rnd() % 8;
    const std::string_view v = std::string_view(s).substr(std::min(off, s.size()));
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

}  // namespace
}  // namespace hopguard::scanner
