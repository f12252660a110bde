#include <hopguard/policy.hpp>

#include <gtest/gtest.h>

namespace hopguard {
namespace {

TEST(Endpoint, ParsesTheConfiguredForms) {
  auto a = parse_endpoint("tcp://127.0.0.1:5514", "k");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->transport, Transport::tcp);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 5514);
  auto b = parse_endpoint("udp://[::1]:514", "k");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->transport, Transport::udp);
  EXPECT_EQ(b->host, "::1");
  auto c = parse_endpoint("tcp://collector.example:6514", "k");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "collector.example");
  EXPECT_TRUE(parse_endpoint("tcp://127.0.0.1:0", "k").ok());  // ephemeral (tests)
}

TEST(Endpoint, RejectsWithTheKeyNamed) {
  for (const char* bad : {"127.0.0.1:5514", "http://x:1", "tcp://::1:5514", "tcp://[::1]5514",
                          "tcp://:5514", "tcp://h:", "tcp://h:65536", "tcp://h:-1", "tcp://h:12x",
                          "udp://[::1", ""}) {
    auto r = parse_endpoint(bad, "agent.listen[3]");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.errors().front().key, "agent.listen[3]") << bad;
    EXPECT_EQ(r.errors().front().code, ErrorCode::bad_value) << bad;
  }
}

}  // namespace
}  // namespace hopguard
