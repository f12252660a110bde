// Addresses and CIDR matching, checked against a simple reference over many random addresses.
#include <hopguard/address.hpp>

#include <gtest/gtest.h>

#include <random>

namespace hopguard {
namespace {

TEST(Address, ParsesAndNormalisesMappedIPv4) {
  const auto a = parse_address("127.0.0.2");
  const auto m = parse_address("::ffff:127.0.0.2");
  const auto h = parse_address("::ffff:7f00:2");
  ASSERT_TRUE(a && m && h);
  EXPECT_EQ(*a, *m);
  EXPECT_EQ(*a, *h);
  EXPECT_TRUE(m->is_v4());
  EXPECT_EQ(m->to_string(), "127.0.0.2");
  EXPECT_EQ(parse_address("FD00:0::1")->to_string(), "fd00::1");
  EXPECT_FALSE(parse_address("fd00::1")->is_v4());
}

TEST(Address, RejectsEverythingElse) {
  for (const char* bad : {"", "localhost", "bastion.hg.test", "127.0.0.1:22", "[::1]", "::1%lo", "127.1",
                          "0x7f.0.0.1", "127.0.0.01", " 127.0.0.1", "127.0.0.1 ", "1.2.3.4.5", "::ffff:1.2.3.4.5"}) {
    EXPECT_FALSE(parse_address(bad)) << bad;
  }
  EXPECT_FALSE(parse_address(std::string("127.0.0.1\0x", 11)));
  EXPECT_FALSE(parse_address(std::string(1000, '1')));
}

TEST(Cidr, Parses) {
  EXPECT_EQ(parse_cidr("10.0.0.0/8")->to_string(), "10.0.0.0/8");
  EXPECT_EQ(parse_cidr("127.0.0.5")->to_string(), "127.0.0.5/32");
  EXPECT_EQ(parse_cidr("fd00::/8")->to_string(), "fd00::/8");
  EXPECT_EQ(parse_cidr("0.0.0.0/0")->prefix_len, 96u);
  for (const char* bad : {"10.0.0.1/8", "10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/08x",
                          "/8", "10.0.0.0/8/8", "host/8"}) {
    EXPECT_FALSE(parse_cidr(bad)) << bad;
  }
}

TEST(Cidr, MappedAddressesMatchIPv4Blocks) {
  const auto block = parse_cidr("127.0.0.0/24");
  EXPECT_TRUE(block->contains(*parse_address("::ffff:127.0.0.200")));
  EXPECT_FALSE(block->contains(*parse_address("::ffff:127.0.1.1")));
  EXPECT_FALSE(block->contains(*parse_address("::127.0.0.1")));  // IPv4-compatible is not mapped
  EXPECT_FALSE(parse_cidr("fd00::/8")->contains(*parse_address("127.0.0.1")));
}

// The reference: compare the first prefix_len bits one at a time.
bool reference_contains(const Cidr& c, const Address& a) {
  for (unsigned bit = 0; bit < c.prefix_len; ++bit) {
    const unsigned byte = bit / 8, shift = 7 - bit % 8;
    if (((a.bytes[byte] >> shift) & 1u) != ((c.base.bytes[byte] >> shift) & 1u)) return false;
  }
  return true;
}

TEST(Cidr, MatchesReferenceOnRandomAddresses) {
  std::mt19937_64 rng(20261122);
  auto random_address = [&](bool v4) {
    Address a;
    for (auto& b : a.bytes) b = static_cast<std::uint8_t>(rng());
    if (v4) {
      for (int i = 0; i < 10; ++i) a.bytes[static_cast<std::size_t>(i)] = 0;
      a.bytes[10] = a.bytes[11] = 0xff;
    }
    return a;
  };
  int inside = 0;
  for (int round = 0; round < 2000; ++round) {
    const bool v4 = round % 2 == 0;
    const unsigned len = static_cast<unsigned>(rng() % (v4 ? 33 : 129));
    Address base = random_address(v4);
    // Clear host bits through the text form, so parse_cidr is exercised too.
    Cidr probe{base, v4 ? len + 96 : len};
    Address masked = base;
    for (unsigned bit = probe.prefix_len; bit < 128; ++bit) masked.bytes[bit / 8] &= static_cast<std::uint8_t>(~(1u << (7 - bit % 8)));
    const auto c = parse_cidr(masked.to_string() + "/" + std::to_string(len));
    ASSERT_TRUE(c) << masked.to_string() << "/" << len;
    for (int k = 0; k < 50; ++k) {
      Address a = random_address(v4);
      if (k % 2 == 0) {  // half the probes share a random-length prefix with the block
        const unsigned keep = static_cast<unsigned>(rng() % 129);
        for (unsigned bit = 0; bit < keep; ++bit) {
          const std::uint8_t m = static_cast<std::uint8_t>(1u << (7 - bit % 8));
          a.bytes[bit / 8] = static_cast<std::uint8_t>((a.bytes[bit / 8] & ~m) | (masked.bytes[bit / 8] & m));
        }
      }
      const bool want = reference_contains(*c, a);
      inside += want;
      ASSERT_EQ(c->contains(a), want) << c->to_string() << " " << a.to_string();
    }
    // overlaps() agrees with the reference on a second random block.
    const auto other_len = static_cast<unsigned>(rng() % 129);
    Cidr other{random_address(v4), other_len};
    for (unsigned bit = other_len; bit < 128; ++bit) other.base.bytes[bit / 8] &= static_cast<std::uint8_t>(~(1u << (7 - bit % 8)));
    const bool want_overlap = c->prefix_len <= other.prefix_len ? reference_contains(*c, other.base)
                                                                : reference_contains(other, c->base);
    ASSERT_EQ(overlaps(*c, other), want_overlap);
  }
  EXPECT_GT(inside, 1000);  // the probes really exercise both outcomes
}

}  // namespace
}  // namespace hopguard
