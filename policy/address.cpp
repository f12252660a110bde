#include <hopguard/address.hpp>

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace hopguard {

namespace {
constexpr std::array<std::uint8_t, 12> kMappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
constexpr std::size_t kMaxAddressText = 64;  // longer than any literal inet_pton accepts
}  // namespace

bool Address::is_v4() const noexcept {
  return std::memcmp(bytes.data(), kMappedPrefix.data(), kMappedPrefix.size()) == 0;
}

std::string Address::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_v4()) {
    inet_ntop(AF_INET, bytes.data() + 12, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  }
  return buf;
}

std::optional<Address> parse_address(std::string_view text) noexcept {
  if (text.empty() || text.size() >= kMaxAddressText) return std::nullopt;
  char buf[kMaxAddressText];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  if (std::memchr(buf, '\0', text.size()) != nullptr) return std::nullopt;  // embedded NUL

  Address a;
  in_addr v4{};
  if (inet_pton(AF_INET, buf, &v4) == 1) {
    std::memcpy(a.bytes.data(), kMappedPrefix.data(), kMappedPrefix.size());
    std::memcpy(a.bytes.data() + 12, &v4, 4);
    return a;
  }
  if (inet_pton(AF_INET6, buf, a.bytes.data()) == 1) return a;  // mapped forms stay mapped
  return std::nullopt;
}

bool Cidr::contains(const Address& address) const noexcept {
  unsigned bits = prefix_len;
  for (std::size_t i = 0; i < 16 && bits > 0; ++i) {
    const unsigned take = bits >= 8 ? 8 : bits;
    const auto mask = static_cast<std::uint8_t>(0xffu << (8 - take));
    if ((address.bytes[i] & mask) != base.bytes[i]) return false;
    bits -= take;
  }
  return true;
}

std::string Cidr::to_string() const {
  const unsigned len = base.is_v4() && prefix_len >= 96 ? prefix_len - 96 : prefix_len;
  return base.to_string() + "/" + std::to_string(len);
}

std::optional<Cidr> parse_cidr(std::string_view text) noexcept {
  const auto slash = text.find('/');
  const auto address = parse_address(text.substr(0, slash));
  if (!address) return std::nullopt;
  // A "::ffff:a.b.c.d/len" block counts over the 128-bit form; a plain IPv4 one over 32 bits.
  const bool v4_text = text.substr(0, slash).find(':') == std::string_view::npos;
  const unsigned max_len = v4_text ? 32 : 128;
  unsigned len = max_len;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
    if (ec != std::errc{} || end != digits.data() + digits.size() || len > max_len) {
      return std::nullopt;
    }
  }
  Cidr c;
  c.prefix_len = v4_text ? len + 96 : len;
  c.base = *address;
  // Host bits set below the prefix are refused: "10.0.0.1/8" is probably a typo.
  Cidr masked = c;
  unsigned bits = c.prefix_len;
  for (std::size_t i = 0; i < 16; ++i) {
    const unsigned take = bits >= 8 ? 8 : bits;
    const auto mask = take == 0 ? std::uint8_t{0} : static_cast<std::uint8_t>(0xffu << (8 - take));
    masked.base.bytes[i] = static_cast<std::uint8_t>(c.base.bytes[i] & mask);
    bits -= take;
  }
  if (!(masked.base == c.base)) return std::nullopt;
  return c;
}

bool overlaps(const Cidr& a, const Cidr& b) noexcept {
  // Two aligned blocks overlap iff the shorter prefix contains the other's base.
  return a.prefix_len <= b.prefix_len ? a.contains(b.base) : b.contains(a.base);
}

}  // namespace hopguard
