// The one registry of decoders, keyed by the syslog program name (exact match).
#include "decoder.hpp"

#include "text_search.hpp"

#include <array>

namespace hopguard::scanner {

namespace {
constexpr DecoderEntry kDecoders[] = {
    {"krb5kdc", EventSource::kdc, &decode_kdc},
    {"sshd", EventSource::sshd, &decode_sshd},
    {"sshd-session", EventSource::sshd, &decode_sshd},  // OpenSSH >= 9.8
    {"hopguard", EventSource::hopguard, &decode_hopguard},
};

// Every line's program name is looked up, and four in five belong to no decoder: the names
// differ in length, so the length picks the one candidate and a single compare decides.
constexpr std::size_t kMaxName = 12;
constexpr std::array<const DecoderEntry*, kMaxName + 1> by_length() {
  std::array<const DecoderEntry*, kMaxName + 1> a{};
  for (const DecoderEntry& d : kDecoders) {
    if (d.program.size() > kMaxName || a[d.program.size()] != nullptr) throw "decoder names must differ in length";
    a[d.program.size()] = &d;
  }
  return a;
}
constexpr auto kByLength = by_length();  // a throw above fails the build
}  // namespace

const DecoderEntry* find_decoder(std::string_view program) noexcept {
  if (program.size() > kMaxName) return nullptr;
  const DecoderEntry* d = kByLength[program.size()];
  if (d == nullptr || program.front() != d->program.front() ||
      !equal_bytes(program.data(), d->program.data(), program.size())) {
    return nullptr;
  }
  return d;
}

}  // namespace hopguard::scanner
