#include <hopguard/policy.hpp>

#include <gtest/gtest.h>

namespace hopguard {
namespace {

TEST(HostIdentity, ExplicitThenEnvThenSystemName) {
  auto p = Policy::load(R"(realm = "HG.TEST"
[bastion.bastion]
fqdn = "bastion.hg.test"
addresses = ["127.0.0.2"]
[legacy.legacy1]
fqdn = "legacy1.hg.test"
aliases = ["old-name.hg.test"]
)", "t.toml");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(resolve_host(*p, "legacy1", "bastion", "x").value()->name, "legacy1");
  EXPECT_EQ(resolve_host(*p, "", "bastion", "legacy1").value()->name, "bastion");
  EXPECT_EQ(resolve_host(*p, "", "", "legacy1").value()->name, "legacy1");
  EXPECT_EQ(resolve_host(*p, "", "", "LEGACY1.hg.test").value()->name, "legacy1");
  EXPECT_EQ(resolve_host(*p, "", "", "old-name.hg.test").value()->name, "legacy1");
  EXPECT_EQ(resolve_host(*p, "", "", "bastion.other.domain").value()->name, "bastion");
  // DNS names: case and the root's trailing dot do not matter; nothing else is loosened.
  EXPECT_EQ(resolve_host(*p, "LEGACY1", "", "x").value()->name, "legacy1");
  EXPECT_EQ(resolve_host(*p, "", "", "Legacy1.HG.test.").value()->name, "legacy1");
  EXPECT_EQ(p->find_host("legacy1."), p->find_host("legacy1"));
  EXPECT_EQ(p->find_host_by_fqdn("OLD-NAME.hg.test."), p->find_host("legacy1"));
  EXPECT_EQ(p->find_host("legacy1.."), nullptr);
  EXPECT_EQ(p->find_host("legacy10"), nullptr);
  EXPECT_EQ(p->find_host_by_fqdn("legacy1.hg.test.evil"), nullptr);
  // An address literal names the host configured with it (a relay's HOSTNAME for a sender
  // without a DNS name); other addresses name nothing.
  EXPECT_EQ(p->find_host_by_fqdn("127.0.0.2"), p->find_host("bastion"));
  EXPECT_EQ(p->find_host_by_fqdn("::ffff:127.0.0.2"), p->find_host("bastion"));
  EXPECT_EQ(p->find_host_by_fqdn("127.0.0.20"), nullptr);
  // An explicit name that is not configured is an error, never a fall-through to the system name.
  auto bad = resolve_host(*p, "nosuch", "", "legacy1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.errors()[0].code, ErrorCode::unknown_host);
  EXPECT_FALSE(resolve_host(*p, "", "", "unknown").ok());
  EXPECT_FALSE(resolve_host(*p, "", "", "").ok());
}

TEST(HostIdentity, ConfigPathLookup) {
  EXPECT_EQ(resolve_config_path("/a", "/b"), "/a");
  EXPECT_EQ(resolve_config_path("", "/b"), "/b");
  EXPECT_EQ(resolve_config_path("", ""), "/etc/hopguard/hopguard.toml");
}

}  // namespace
}  // namespace hopguard
