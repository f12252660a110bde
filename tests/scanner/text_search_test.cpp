// find_pair (scanner/text_search.hpp) against its reference, std::string_view::find of the
// two-byte string, on many random texts of every length around the 16-byte steps.
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
    std::string s(rnd() % 80, 'x');
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

}  // namespace
}  // namespace hopguard::scanner
