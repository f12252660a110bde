// The one registry of decoders, keyed by the syslog program name (exact match).
#include "decoder.hpp"

namespace hopguard::scanner {

namespace {
constexpr DecoderEntry kDecoders[] = {
    {"krb5kdc", EventSource::kdc, &decode_kdc},
    {"sshd", EventSource::sshd, &decode_sshd},
    {"sshd-session", EventSource::sshd, &decode_sshd},  // OpenSSH >= 9.8
    {"hopguard", EventSource::hopguard, &decode_hopguard},
};
}  // namespace

const DecoderEntry* find_decoder(std::string_view program) noexcept {
  // Dispatch on length and first byte before comparing: most lines are other programs'.
  if (program.size() < 4 || program.size() > 12) return nullptr;
  const char c = program.front();
  if (c != 'k' && c != 's' && c != 'h') return nullptr;
  for (const DecoderEntry& d : kDecoders) {
    if (d.program == program) return &d;
  }
  return nullptr;
}

}  // namespace hopguard::scanner
