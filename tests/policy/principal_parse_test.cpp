// The plain-name fast path of principal parsing (parse_plain_principal) against its reference,
// libkrb5's krb5_parse_name_flags + krb5_unparse_name (PrincipalParser), on many names: where
// the fast path answers, libkrb5 must give the same name, realm and components.
#include "principal_parser.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace hopguard {
namespace {

void expect_same_as_libkrb5(const PrincipalParser& krb5, const std::string& text, int& fast) {
  ParsedPrincipal plain;
  if (!parse_plain_principal(text, plain)) return;
  ++fast;
  ParsedPrincipal ref;
  std::string why;
  ASSERT_TRUE(krb5.parse(text, &ref, &why)) << text << ": " << why;
  EXPECT_EQ(plain.name, ref.name) << text;
  EXPECT_EQ(plain.realm, ref.realm) << text;
  EXPECT_EQ(plain.components, ref.components) << text;
}

TEST(PlainPrincipal, AcceptsOnlyPlainShapes) {
  ParsedPrincipal p;
  EXPECT_TRUE(parse_plain_principal("alice@HG.TEST", p));
  EXPECT_EQ(p.components, std::vector<std::string>{"alice"});
  EXPECT_EQ(p.realm, "HG.TEST");
  EXPECT_TRUE(parse_plain_principal("host/legacy1.hg.test@HG.TEST", p));
  EXPECT_EQ(p.components, (std::vector<std::string>{"host", "legacy1.hg.test"}));
  for (const char* other : {"", "alice", "@HG.TEST", "alice@", "a@b@C", "a//b@R", "/a@R", "a/@R",
                            "a\\@b@R", "a b@R", "a@R/x", "a\n@R", "al\xC3\xA9@R", "x for y@R"}) {
    ParsedPrincipal q;
    EXPECT_FALSE(parse_plain_principal(other, q)) << other;
  }
}

TEST(PlainPrincipal, SameAsLibkrb5OnGeneratedNames) {
  auto krb5 = PrincipalParser::create();
  ASSERT_TRUE(krb5);
  const std::string alphabet = "aZ09._-/@\\ \t\n:+=x\x01\xff";
  std::mt19937 rnd(20261122);
  int fast = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const int n = 1 + static_cast<int>(rnd() % 24);
    for (int k = 0; k < n; ++k) s.push_back(alphabet[rnd() % alphabet.size()]);
    expect_same_as_libkrb5(**krb5, s, fast);
    // Mostly-plain names with one '@', so that the fast path is taken often.
    std::string t = "u" + std::to_string(rnd() % 1000);
    if (rnd() % 2) t += "-legacy" + std::to_string(rnd() % 30);
    if (rnd() % 3 == 0) t = "host/" + t + ".hg.test";
    if (rnd() % 5 == 0) t.insert(rnd() % t.size(), 1, alphabet[rnd() % alphabet.size()]);
    t += rnd() % 4 ? "@HG.TEST" : "@hg.test";
    expect_same_as_libkrb5(**krb5, t, fast);
  }
  EXPECT_GT(fast, 15000);  // the comparison ran on many names, not on none
}

}  // namespace
}  // namespace hopguard
