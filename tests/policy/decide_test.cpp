// The decision table as data: tests/policy/data/decisions.txt over data/site.toml.
#include <hopguard/decision.hpp>
#include <hopguard/policy.hpp>
#include <hopguard/rule_id.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

namespace hopguard {
namespace {

struct Case {
  int line = 0;
  std::string role, host, user, stage, principal, rhost, verdict, rule;
  std::string text;
};

std::string expand(const std::string& field) {
  if (field == "''") return "";
  std::string out = field;
  const auto at = out.find("<LONG>");
  if (at != std::string::npos) out.replace(at, 6, std::string(300, 'x'));
  return out;
}

std::vector<Case> load_cases() {
  std::ifstream in(std::string(HOPGUARD_TEST_DATA) + "/decisions.txt");
  std::vector<Case> cases;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream s(line);
    Case c;
    std::string arrow;
    s >> c.role >> c.host >> c.user >> c.stage >> c.principal >> c.rhost >> arrow >> c.verdict >> c.rule;
    EXPECT_EQ(arrow, "->") << "decisions.txt:" << n << ": malformed case";
    c.line = n;
    c.text = line;
    cases.push_back(c);
  }
  return cases;
}

const Policy& site() {
  static const Policy p = [] {
    auto loaded = Policy::load_file(std::string(HOPGUARD_TEST_DATA) + "/site.toml");
    if (!loaded) {
      ADD_FAILURE() << to_string(loaded.errors());
      std::abort();
    }
    return std::move(loaded).value();
  }();
  return p;
}

TEST(Decide, TableOfCases) {
  const auto cases = load_cases();
  ASSERT_GE(cases.size(), 40u);
  std::set<std::string> rules_seen;
  for (const Case& c : cases) {
    SCOPED_TRACE("decisions.txt:" + std::to_string(c.line) + ": " + c.text);
    const std::string host = expand(c.host), user = expand(c.user), principal = expand(c.principal),
                      rhost = expand(c.rhost);
    Request r;
    r.role = *parse_role(c.role);
    r.host = host;
    r.user = user;
    r.stage = *parse_stage(c.stage);
    if (c.principal != "-") r.principal = principal;
    if (c.rhost != "-") r.rhost = rhost;
    const Decision d = decide(site(), r);
    EXPECT_EQ(to_string(d.verdict), c.verdict);
    EXPECT_EQ(std::string(d.rule), c.rule == "-" ? "" : c.rule);
    if (d.verdict == Verdict::deny) {
      EXPECT_FALSE(d.reason.empty());
      rules_seen.insert(std::string(d.rule));
    }
  }
  // Every rule id decide() can return is covered by the table.
  for (auto id : {rule_id::regular_cred_on_legacy, rule_id::special_cred_on_bastion,
                  rule_id::special_cred_wrong_target, rule_id::legacy_login_not_via_bastion,
                  rule_id::bastion_login_unlisted_source, rule_id::invalid_principal,
                  rule_id::login_without_principal, rule_id::invalid_request}) {
    EXPECT_TRUE(rules_seen.count(std::string(id))) << id;
  }
}

Policy load(const std::string& text) {
  auto p = Policy::load(text, "inline.toml");
  if (!p) {
    ADD_FAILURE() << to_string(p.errors());
    std::abort();
  }
  return std::move(p).value();
}

constexpr const char* kBase = R"(realm = "HG.TEST"
[bastion.b]
fqdn = "b.hg.test"
addresses = ["127.0.0.2"]
[legacy.l1]
fqdn = "l1.hg.test"
[bastion_access]
allowed_sources = ["127.0.0.5"]
)";

TEST(Decide, LoginDefaultsAreConfigurable) {
  const Policy strict = load(std::string(kBase) + "[login]\nbastion_console = \"deny\"\nbastion_without_principal = \"deny\"\n");
  Request r{Role::bastion, "b", "alice", Stage::session, std::nullopt, std::nullopt};
  Decision d = decide(strict, r);
  EXPECT_EQ(d.rule, rule_id::login_without_principal);
  r.principal = "alice@HG.TEST";
  d = decide(strict, r);
  EXPECT_EQ(d.rule, rule_id::bastion_login_unlisted_source);

  const Policy lax = load(std::string(kBase) + "[login]\nlegacy_console = \"allow\"\nlegacy_without_principal = \"allow\"\n");
  Request l{Role::legacy, "l1", "alice", Stage::session, std::nullopt, std::nullopt};
  EXPECT_EQ(decide(lax, l).verdict, Verdict::allow);
  l.rhost = "127.0.0.4";  // a remote host still has to be a bastion
  EXPECT_EQ(decide(lax, l).rule, rule_id::legacy_login_not_via_bastion);
}

TEST(Decide, OtherTemplates) {
  const std::string host_first = R"(realm = "HG.TEST"
special_principal = "x.{host}.{user}"
[bastion.b]
fqdn = "b.hg.test"
addresses = ["127.0.0.2"]
[legacy.l1]
fqdn = "l1.hg.test"
)";
  const Policy p = load(host_first);
  EXPECT_EQ(p.special_principal_for("alice", "l1"), "x.l1.alice@HG.TEST");
  const Policy::ClassOf c = p.classify_class("x.l1.alice@HG.TEST");
  EXPECT_EQ(c.cls, PrincipalClass::special);
  EXPECT_EQ(c.guest, p.find_host("l1"));
  EXPECT_EQ(c.user, "alice");
  for (const char* other : {"x.l1.alicex@HG.TEST", "x.l1.alic@HG.TEST", "x.l1.alice@HG.TES", "x.l1.alice@HG.TESTX",
                            "x.l1alice@HG.TEST", "alice-l1@HG.TEST", "x.l1.alice", ""}) {
    const Policy::ClassOf o = p.classify_class(other);
    EXPECT_FALSE(o.cls == PrincipalClass::special && o.guest == p.find_host("l1") && o.user == "alice") << other;
  }
  const Principal pr = p.classify("x.l1.alice@HG.TEST");
  EXPECT_EQ(pr.cls, PrincipalClass::special);
  EXPECT_EQ(pr.user, "alice");
  EXPECT_EQ(pr.host, "l1");
  Request r{Role::legacy, "l1", "alice", Stage::session, "x.l1.alice@HG.TEST", "127.0.0.2"};
  EXPECT_EQ(decide(p, r).verdict, Verdict::allow);
  r.principal = "alice-l1@HG.TEST";
  EXPECT_EQ(decide(p, r).rule, rule_id::regular_cred_on_legacy);
}

}  // namespace
}  // namespace hopguard
