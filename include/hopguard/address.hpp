// IP addresses and CIDR blocks as the policy sees them.
// IPv4 is stored as IPv4-mapped IPv6 (::ffff:a.b.c.d), so "::ffff:127.0.0.2" and "127.0.0.2"
// are the same address. A host name is never an address: it parses to nothing, and so is never
// on an allow list.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hopguard {

struct Address {
  std::array<std::uint8_t, 16> bytes{};  // network order, IPv6 or IPv4-mapped

  bool is_v4() const noexcept;
  std::string to_string() const;  // dotted quad for IPv4 (mapped or not), RFC 5952 for IPv6
  friend bool operator==(const Address&, const Address&) = default;
};

// Parses a literal IPv4 or IPv6 address (no brackets, no zone, no port).
// Returns nullopt for anything else, including host names and empty text.
std::optional<Address> parse_address(std::string_view text) noexcept;

struct Cidr {
  Address base;          // already masked to prefix_len bits
  unsigned prefix_len = 128;  // over the 128-bit mapped form (IPv4 /24 is 96 + 24)

  // True iff address lies inside this block.
  bool contains(const Address& address) const noexcept;
  std::string to_string() const;  // "127.0.0.0/8", "fd00::/8"
  friend bool operator==(const Cidr&, const Cidr&) = default;
};

// Parses "ADDR" (a single host) or "ADDR/LEN" (LEN 0..32 for IPv4, 0..128 for IPv6).
// Host bits set below the prefix are an error (ambiguous intent), not silently cleared.
std::optional<Cidr> parse_cidr(std::string_view text) noexcept;

// True iff the two blocks share at least one address.
bool overlaps(const Cidr& a, const Cidr& b) noexcept;

}  // namespace hopguard
