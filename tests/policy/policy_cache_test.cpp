#include <hopguard/policy_cache.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace hopguard {
namespace {

constexpr const char* kSite = R"(realm = "HG.TEST"
[bastion.b]
fqdn = "b.hg.test"
addresses = ["127.0.0.2"]
)";

class PolicyCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hopguard-cache-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/site.toml";
  }
  void TearDown() override {
    std::remove(path_.c_str());
    rmdir(dir_.c_str());
  }
  // Replaces the file atomically (a new inode), as editors and config management do.
  void write(const std::string& text) {
    const std::string tmp = path_ + ".new";
    std::ofstream(tmp) << text;
    ASSERT_EQ(std::rename(tmp.c_str(), path_.c_str()), 0);
  }
  std::string dir_, path_;
};

TEST_F(PolicyCacheTest, ReloadsWhenTheFileChangesAndOnlyThen) {
  PolicyCache cache(false);
  write(kSite);
  auto a = cache.get(path_);
  ASSERT_TRUE(a.policy) << a.error;
  EXPECT_EQ(cache.get(path_).policy, a.policy);  // unchanged file: the same object
  write(std::string(kSite) + "[legacy.l1]\nfqdn = \"l1.hg.test\"\n");
  auto b = cache.get(path_);
  ASSERT_TRUE(b.policy);
  EXPECT_NE(b.policy, a.policy);
  EXPECT_NE(b.policy->find_host("l1"), nullptr);
}

TEST_F(PolicyCacheTest, FailClosedDropsThePolicyOnABadEdit) {
  PolicyCache cache(false);
  write(kSite);
  ASSERT_TRUE(cache.get(path_).policy);
  write("realm = 5\n");
  auto s = cache.get(path_);
  EXPECT_FALSE(s.policy);
  EXPECT_NE(s.error.find(path_ + ":1:"), std::string::npos) << s.error;
  std::remove(path_.c_str());
  s = cache.get(path_);
  EXPECT_FALSE(s.policy);
  EXPECT_NE(s.error.find("cannot read config"), std::string::npos);
}

TEST_F(PolicyCacheTest, KeepLastGoodServesTheOldPolicyAndReportsTheError) {
  PolicyCache cache(true);
  write(kSite);
  auto good = cache.get(path_).policy;
  ASSERT_TRUE(good);
  write("realm = 5\n");
  auto s = cache.get(path_);
  EXPECT_EQ(s.policy, good);
  EXPECT_FALSE(s.error.empty());
  EXPECT_FALSE(cache.get(path_).error.empty());  // reported until fixed
  write(kSite);
  s = cache.get(path_);
  EXPECT_TRUE(s.error.empty());
  EXPECT_NE(s.policy, good);
}

}  // namespace
}  // namespace hopguard
