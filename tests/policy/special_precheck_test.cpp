// The scanner's two cheap looks at a principal name against their reference, Policy::classify
// (libkrb5's parse and the per-guest pattern loop):
// - may_be_special: whenever classify calls a name special, may_be_special must say true (a
//   false lets the scanner fail rows 2, 3, 4 and 7 without classifying: a missed alarm if
//   wrong). Checked on names built from every spelling classify accepts (escapes, enterprise
//   names, realms, instances, case, look-alike guests) and on random bytes, for several
//   special_principal templates and guest sets.
// - classify_plain: answers exactly for the plain-shaped names (the same class, guest and, for a
//   special principal, user as classify) and for no other text.
#include "principal_parser.hpp"

#include <hopguard/policy.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <random>
#include <string>
#include <vector>

namespace hopguard {
namespace {

struct Site {
  std::string tmpl;                 // special_principal
  std::vector<std::string> guests;  // legacy host names
};

Policy load(const Site& s) {
  std::string text = "realm = \"HG.TEST\"\nspecial_principal = \"" + s.tmpl +
                     "\"\n[bastion.bastion]\nfqdn = \"bastion.hg.test\"\naddresses = [\"127.0.0.2\"]\n";
  for (std::size_t i = 0; i < s.guests.size(); ++i) {
    text += "[legacy.\"" + s.guests[i] + "\"]\nfqdn = \"g" + std::to_string(i) + ".hg.test\"\n";
  }
  auto loaded = Policy::load(text, "t.toml");
  EXPECT_TRUE(loaded) << (loaded ? "" : loaded.errors().front().message);
  if (!loaded) std::abort();
  return std::move(loaded).value();
}

std::vector<Site> sites() {
  std::vector<std::string> many;
  std::mt19937 rnd(7);
  const std::string letters = "abcdefghijklmnopqrstuvwxyz0123456789-";
  for (int i = 0; i < 300; ++i) {
    std::string h(1, static_cast<char>('a' + rnd() % 26));  // host names start with a letter
    const std::size_t n = rnd() % 14;
    for (std::size_t k = 0; k < n; ++k) h.push_back(letters[rnd() % (letters.size() - 1)]);
    h += std::to_string(i);  // distinct
    many.push_back(h);
  }
  std::vector<std::string> bench;
  for (int i = 1; i <= 20; ++i) bench.push_back("legacy" + std::to_string(i));
  bench.push_back("a-b");
  bench.push_back("b");
  return {
      {"{user}-{host}", bench},
      {"{host}-{user}", bench},
      {"{user}_{host}", {"l1", "legacy1", "legacy12", "x-y", "x"}},
      {"p.{user}--{host}.s", {"legacy1", "legacy12", "a", "a-a"}},
      {"u{host}.{user}x", {"legacy1", "legacy12", "a", "a.b"}},
      {"{user}-{host}", many},
      {"{host}.{user}", many},
      {"{user}-{host}", {}},  // no legacy guest: nothing is special
  };
}

// Names as the KDC may log them for a client: built from the template's pieces, the guests'
// names and their look-alikes, and every spelling libkrb5 reads differently from its bytes.
std::vector<std::string> names_for(const Site& s, std::mt19937& rnd, int count) {
  const auto u = s.tmpl.find("{user}");
  const auto h = s.tmpl.find("{host}");
  const bool user_first = u < h;
  const std::size_t first = std::min(u, h), second = std::max(u, h);
  const std::string prefix = s.tmpl.substr(0, first);
  const std::string middle = s.tmpl.substr(first + 6, second - first - 6);
  const std::string suffix = s.tmpl.substr(second + 6);

  std::vector<std::string> hosts = {"", "legacy", "legacy2x", "LEGACY1", "x"};
  for (const std::string& g : s.guests) {
    hosts.push_back(g);
    std::string upper = g;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    hosts.push_back(upper);
    hosts.push_back(g + "x");
    hosts.push_back(g.substr(0, g.size() - 1));
    hosts.push_back(g.substr(1));
    std::string escaped = g;  // the same component bytes for libkrb5: "leg\acy1"
    escaped.insert(rnd() % escaped.size(), "\\");
    hosts.push_back(escaped);
  }
  const std::vector<std::string> users = {"alice", "x", "", "a-b", "al\\@ice", "al\\-ice", "al\\/ice", "alice/x",
                                          "_.-", "\xff", "ALICE", "a\\n", "host/", "-", "--", ".", "\\\\"};
  const std::vector<std::string> middles = {middle, middle, middle, "-", "_", ".", "--", "", "\\" + middle.substr(0, 1)};
  const std::vector<std::string> fixes = {"", "p.", ".s", "u", "x", "\\p"};
  const std::vector<std::string> realms = {"@HG.TEST", "@HG.TEST", "@HG.TEST", "@hg.test", "", "@", "@OTHER",
                                           "@HG.TEST@HG.TEST", "\\@HG.TEST@HG.TEST", "@HG.TES\\T", "@HG.TEST/x",
                                           "\\@OTHER@HG.TEST", "@HG.TEST\\"};
  const std::vector<std::string> pieces = {"/", "@", "\\", "\\@", "\n", ".", "-", "_", "\x7f", " ", middle};
  std::vector<std::string> out;
  const auto pick = [&](const std::vector<std::string>& v) -> const std::string& { return v[rnd() % v.size()]; };
  for (int i = 0; i < count; ++i) {
    const std::string& user = pick(users);
    // Half the time a configured guest's own name, so that many names are special.
    const std::string& host = rnd() % 2 && !s.guests.empty() ? pick(s.guests) : pick(hosts);
    const std::string& mid = pick(middles);
    std::string n = (rnd() % 4 ? prefix : pick(fixes)) + (user_first ? user + mid + host : host + mid + user) +
                    (rnd() % 4 ? suffix : pick(fixes));
    if (rnd() % 8 == 0) n = "host/" + n;  // an instance in front: two components
    if (rnd() % 6 == 0) {                 // an enterprise name around it
      n += "\\@HG.TEST";
    }
    n += rnd() % 2 ? std::string("@HG.TEST") : pick(realms);
    if (rnd() % 4 == 0) n.insert(rnd() % (n.size() + 1), pick(pieces));
    if (rnd() % 16 == 0 && !n.empty()) n.erase(rnd() % n.size(), 1);
    out.push_back(n);
  }
  // Random bytes over an alphabet of the names' own bytes and the separators.
  std::string alphabet = "@/\\-_.\n \xff" + prefix + middle + suffix + "HGTES";
  for (const std::string& g : s.guests) alphabet += g.substr(0, 3);
  for (int i = 0; i < count; ++i) {
    std::string n;
    const std::size_t len = rnd() % 40;
    for (std::size_t k = 0; k < len; ++k) n.push_back(alphabet[rnd() % alphabet.size()]);
    out.push_back(n);
    if (!s.guests.empty()) {  // and a guest's name inside such bytes, with the site's realm
      std::string t = n.substr(0, len / 2) + middle + s.guests[rnd() % s.guests.size()] + n.substr(len / 2) + "@HG.TEST";
      if (!user_first) t = prefix + s.guests[rnd() % s.guests.size()] + middle + n + suffix + "@HG.TEST";
      out.push_back(t);
    }
  }
  return out;
}

TEST(SpecialPrecheck, NeverFalseForASpecialName) {
  std::mt19937 rnd(20261123);
  for (const Site& s : sites()) {
    SCOPED_TRACE(s.tmpl + " with " + std::to_string(s.guests.size()) + " guests");
    const Policy p = load(s);
    int special = 0, ruled_out = 0;
    for (const std::string& n : names_for(s, rnd, 20000)) {
      const bool may = p.may_be_special(n);
      if (!may) ++ruled_out;
      if (p.classify(n).cls != PrincipalClass::special) continue;
      ++special;
      ASSERT_TRUE(may) << "classify calls '" << n << "' special";
    }
    // Both answers occurred: the implication was tested, and the pre-check rules names out.
    if (!s.guests.empty()) {
      EXPECT_GT(special, 1000);
    }
    EXPECT_GT(ruled_out, 1000);
  }
}

TEST(SpecialPrecheck, Examples) {
  const Policy p = load(sites()[0]);  // {user}-{host}, legacy1..legacy20, a-b, b
  for (const char* special : {"alice-legacy1@HG.TEST", "x-a-b@HG.TEST", "x-b@HG.TEST", "al\\@ice-legacy1@HG.TEST",
                              "alice-legacy1\\@HG.TEST@HG.TEST", "alice-leg\\acy1@HG.TEST", "alice\\-legacy1@HG.TEST",
                              "bob-legacy1-legacy1@HG.TEST", "\xff-legacy20@HG.TEST"}) {
    EXPECT_EQ(p.classify(special).cls, PrincipalClass::special) << special;
    EXPECT_TRUE(p.may_be_special(special)) << special;
  }
  for (const char* other : {"alice@HG.TEST", "user51@HG.TEST", "alice@OTHER", "-legacy1@HG.TEST", "alice",
                            "", "@", "alicelegacy1@HG.TEST", "alice_legacy1@HG.TEST"}) {
    EXPECT_NE(p.classify(other).cls, PrincipalClass::special) << other;
    EXPECT_FALSE(p.may_be_special(other)) << other;
  }
}

// may_be_special's search for the first '@', '\\' or '/' (first_at_or_escape) reads 16 or 8 bytes
// a step, overlapping at the end: on texts of every size from 0 to 50, with none of those bytes or
// one to three of them at any position (the overlapped bytes included), it finds what a byte loop
// finds. A text in a larger buffer, so that a read past its end would see a stop byte there.
TEST(SpecialPrecheck, FirstStopAsByteLoop) {
  std::mt19937 rnd(29);
  const char stops[] = {'@', '\\', '/'};
  const std::string filler = "abcXYZ019.-_ \xff\x7f:";
  int found = 0;
  for (int i = 0; i < 60000; ++i) {
    const std::size_t n = static_cast<std::size_t>(i % 51);
    std::string buffer(n + 16, '@');
    for (std::size_t k = 0; k < n; ++k) buffer[k] = filler[rnd() % filler.size()];
    for (auto k = rnd() % 4; k > 0 && n > 0; --k) buffer[rnd() % n] = stops[rnd() % 3];
    const std::string_view text(buffer.data(), n);
    const std::size_t want = std::min(text.find_first_of("@\\/"), n);
    ASSERT_EQ(first_at_or_escape(text), want) << n << " " << text;
    if (want < n) ++found;
  }
  EXPECT_GT(found, 30000);
}

// classify_plain finds the bytes that are not [A-Za-z0-9._-] sixteen (or 8 + 8) at a time: on
// texts of 0 to 40 bytes made of the plain bytes and their neighbours ('@' and '[' around the
// capitals, '`' and '{' around the small letters, '/' and ':' around the digits, ',' and DEL, bytes
// from 0x80 up, NUL), with the site's realm after them or not, it takes exactly the texts that
// plain_shape takes, and then classifies them as classify does.
TEST(ClassifyPlain, PlainBytesAtEveryPosition) {
  const Site site{"{user}-{host}", {"legacy1", "legacy12", "a-b"}};
  const Policy p = load(site);
  std::mt19937 rnd(31);
  const std::string alphabet = std::string("azAZ09._-/@`{[:,\x7f\x80\xff") + '\0';
  int plain = 0;
  for (int i = 0; i < 60000; ++i) {
    const std::size_t len = rnd() % 41;
    std::string n;
    for (std::size_t k = 0; k < len; ++k) {
      n.push_back(rnd() % 4 == 0 ? alphabet[rnd() % alphabet.size()] : "user-legacy1"[rnd() % 12]);
    }
    if (rnd() % 2 == 0) n += "@HG.TEST";
    std::string_view name, realm;
    const bool want = plain_shape(n, name, realm);
    Policy::ClassOf c;
    ASSERT_EQ(p.classify_plain(n, c), want) << n;
    if (!want) continue;
    ++plain;
    const Principal ref = p.classify(n);
    ASSERT_EQ(to_string(c.cls), to_string(ref.cls)) << n;
    ASSERT_EQ(c.guest, ref.cls == PrincipalClass::special ? p.find_host(ref.host) : nullptr) << n;
  }
  EXPECT_GT(plain, 5000);
}

TEST(ClassifyPlain, SameAsClassifyOnPlainNamesOnly) {
  std::mt19937 rnd(11);
  for (const Site& s : sites()) {
    SCOPED_TRACE(s.tmpl + " with " + std::to_string(s.guests.size()) + " guests");
    const Policy p = load(s);
    int plain = 0, special = 0;
    for (const std::string& n : names_for(s, rnd, 16000)) {
      const Principal ref = p.classify(n);
      const HostEntry* guest = ref.cls == PrincipalClass::special ? p.find_host(ref.host) : nullptr;
      Policy::ClassOf c;
      ParsedPrincipal parsed;
      const bool want_plain = n.size() <= kMaxPrincipalLength && parse_plain_principal(n, parsed);
      ASSERT_EQ(p.classify_plain(n, c), want_plain) << n;
      if (want_plain) {
        ++plain;
        if (c.cls == PrincipalClass::special) ++special;
        ASSERT_EQ(to_string(c.cls), to_string(ref.cls)) << n;
        ASSERT_EQ(c.guest, guest) << n;
        // The user of a special principal is classify's; no other class names one.
        ASSERT_EQ(c.user, c.cls == PrincipalClass::special ? std::string_view(ref.user) : std::string_view()) << n;
      }
      const Policy::ClassOf whole = p.classify_class(n);
      ASSERT_EQ(to_string(whole.cls), to_string(ref.cls)) << n;
      ASSERT_EQ(whole.guest, guest) << n;
    }
    EXPECT_GT(plain, 1000);
    if (!s.guests.empty()) {
      EXPECT_GT(special, 300);
    }
  }
}

}  // namespace
}  // namespace hopguard
