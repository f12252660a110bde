// Principal classes (DESIGN section 4), parsed by libkrb5.
#include <hopguard/policy.hpp>

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace hopguard {
namespace {

const Policy& site() {
  static const Policy p = [] {
    auto loaded = Policy::load(R"(realm = "HG.TEST"
[bastion.bastion]
fqdn = "bastion.hg.test"
addresses = ["127.0.0.2"]
[legacy.legacy1]
fqdn = "legacy1.hg.test"
[legacy.a-b]
fqdn = "ab.hg.test"
[legacy.b]
fqdn = "b.hg.test"
)", "t.toml");
    if (!loaded) std::abort();
    return std::move(loaded).value();
  }();
  return p;
}

struct Want {
  const char* text;
  PrincipalClass cls;
  const char* user;
  const char* host;
};

TEST(Principal, Classes) {
  const Want cases[] = {
      {"alice@HG.TEST", PrincipalClass::regular, "alice", ""},
      {"alice-legacy1@HG.TEST", PrincipalClass::special, "alice", "legacy1"},
      {"alice-legacy2@HG.TEST", PrincipalClass::regular, "alice-legacy2", ""},  // not a configured guest
      {"host/legacy1.hg.test@HG.TEST", PrincipalClass::service, "", ""},
      {"krbtgt/HG.TEST@HG.TEST", PrincipalClass::service, "", ""},
      {"alice-legacy1/root@HG.TEST", PrincipalClass::service, "", ""},
      {"alice@OTHER.REALM", PrincipalClass::foreign, "alice", ""},
      {"alice-legacy1@hg.test", PrincipalClass::foreign, "alice-legacy1", ""},
      {"-legacy1@HG.TEST", PrincipalClass::regular, "-legacy1", ""},  // no user part
      {"x-a-b@HG.TEST", PrincipalClass::special, "x", "a-b"},          // the longer guest name wins
      {"x-b@HG.TEST", PrincipalClass::special, "x", "b"},
      {"bob-legacy1-legacy1@HG.TEST", PrincipalClass::special, "bob-legacy1", "legacy1"},
      {"al\\@ice-legacy1@HG.TEST", PrincipalClass::special, "al@ice", "legacy1"},  // escaped, per libkrb5
      // Enterprise names (kinit -E), as the KDC logs the client it was asked for: special when
      // the principal inside is; otherwise the literal reading stands.
      {"alice-legacy1\\@HG.TEST@HG.TEST", PrincipalClass::special, "alice", "legacy1"},
      {"alice\\@HG.TEST@HG.TEST", PrincipalClass::regular, "alice@HG.TEST", ""},
      {"alice-legacy1\\@OTHER.TEST@HG.TEST", PrincipalClass::regular, "alice-legacy1@OTHER.TEST", ""},
      {"alice-legacy1\\@HG.TEST@OTHER.TEST", PrincipalClass::foreign, "alice-legacy1@HG.TEST", ""},
      {"", PrincipalClass::invalid, "", ""},
      {"@@", PrincipalClass::invalid, "", ""},
      {"@HG.TEST", PrincipalClass::invalid, "", ""},
      {"alice", PrincipalClass::invalid, "", ""},  // no realm: never guessed
      {"alice@", PrincipalClass::invalid, "", ""},
      {"alice\n@HG.TEST", PrincipalClass::invalid, "", ""},
      {"alice//x@HG.TEST", PrincipalClass::invalid, "", ""},
  };
  for (const Want& w : cases) {
    SCOPED_TRACE(w.text);
    const Principal p = site().classify(w.text);
    EXPECT_EQ(to_string(p.cls), to_string(w.cls)) << p.why_invalid;
    EXPECT_EQ(p.user, w.user);
    EXPECT_EQ(p.host, w.host);
    if (p.cls == PrincipalClass::invalid) {
      EXPECT_FALSE(p.why_invalid.empty());
    }
  }
}

// classify_class (the scanner's first look at a name) gives classify's class and guest, on
// the table above and on names built from pieces of them (plain, escaped, enterprise, other
// realms, several components, control bytes, over-long).
TEST(Principal, ClassOfAsClassify) {
  std::vector<std::string> names = {"", "@", "a@", "@R", "alice@HG.TEST", "x-a-b@HG.TEST", "-b@HG.TEST",
                                    std::string(250, 'a') + "@HG.TEST", std::string(236, 'a') + "-legacy1@HG.TEST",
                                    std::string(237, 'a') + "-legacy1@HG.TEST"};
  // user part, host part, realm part, and a piece put anywhere now and then.
  const char* users[] = {"alice", "x", "", "a", "al\\@ice", "alice/x", "host/", "x-a", "_.-", "\xff"};
  const char* hosts[] = {"-legacy1", "-a-b", "-b", "-legacy10", "-LEGACY1", "", "-", "legacy1", "-legacy1\\@HG.TEST"};
  const char* realms[] = {"@HG.TEST", "@hg.test", "@OTHER", "", "@", "@HG.TEST@HG.TEST", "@HG.TES", "@HG.TEST\n"};
  const char* pieces[] = {"/", "@", "\\", "\n", ".", "-", "\x7f", " "};
  std::mt19937 rnd(41);
  for (int i = 0; i < 20000; ++i) {
    std::string n = std::string(users[rnd() % std::size(users)]) + hosts[rnd() % std::size(hosts)] +
                    realms[rnd() % std::size(realms)];
    if (rnd() % 4 == 0) n.insert(rnd() % (n.size() + 1), pieces[rnd() % std::size(pieces)]);
    names.push_back(n);
  }
  for (const std::string& n : names) {
    const Principal p = site().classify(n);
    const Policy::ClassOf c = site().classify_class(n);
    ASSERT_EQ(to_string(c.cls), to_string(p.cls)) << n;
    ASSERT_EQ(c.guest, p.cls == PrincipalClass::special ? site().find_host(p.host) : nullptr) << n;
  }
}

TEST(Principal, OverLongAndHostileBytes) {
  EXPECT_EQ(site().classify(std::string(250, 'a') + "@HG.TEST").cls, PrincipalClass::invalid);
  EXPECT_EQ(site().classify(std::string(240, 'a') + "@HG.TEST").cls, PrincipalClass::regular);
  EXPECT_EQ(site().classify(std::string("alice\0-legacy1@HG.TEST", 22)).cls, PrincipalClass::invalid);
  EXPECT_EQ(site().classify("\xff\xfe-legacy1@HG.TEST").cls, PrincipalClass::special);  // bytes, not UTF-8
  const Principal p = site().classify(std::string(100000, 'x'));
  EXPECT_EQ(p.cls, PrincipalClass::invalid);
  EXPECT_LE(p.name.size(), kMaxPrincipalLength);
}

TEST(Principal, CanonicalNameComesFromLibkrb5) {
  const Principal p = site().classify("host/legacy1.hg.test@HG.TEST");
  EXPECT_EQ(p.name, "host/legacy1.hg.test@HG.TEST");
  ASSERT_EQ(p.components.size(), 2u);
  EXPECT_EQ(p.components[1], "legacy1.hg.test");
  EXPECT_EQ(p.realm, "HG.TEST");
  EXPECT_EQ(site().special_principal_for("alice", "legacy1"), "alice-legacy1@HG.TEST");
  // The user of a special principal as the scanner reads it on a login line (ClassOf::user).
  const HostEntry* legacy1 = site().find_host("legacy1");
  const Policy::ClassOf c = site().classify_class("alice-legacy1@HG.TEST");
  EXPECT_EQ(c.cls, PrincipalClass::special);
  EXPECT_EQ(c.guest, legacy1);
  EXPECT_EQ(c.user, "alice");
  for (const char* other : {"bob-legacy1@HG.TEST", "alice-legacy10@HG.TEST", "alice-legacy1@hg.test",
                            "alice-legacy1", "alice-legacy1@HG.TEST@HG.TEST", "xalice-legacy1@HG.TEST"}) {
    const Policy::ClassOf o = site().classify_class(other);
    EXPECT_FALSE(o.cls == PrincipalClass::special && o.guest == legacy1 && o.user == "alice") << other;
  }
}

}  // namespace
}  // namespace hopguard
