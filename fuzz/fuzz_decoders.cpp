// libFuzzer: every decoder of the registry and the kdcpolicy record decoder on the same record
// (whatever its program), and both record readers on the raw input. Views must lie inside the line or the scratch buffer.
#include <scanner/decoder.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {
void inside(std::string_view a, std::string_view b, std::string_view part) {
  if (part.empty()) return;
  const bool in_a = part.data() >= a.data() && part.data() + part.size() <= a.data() + a.size();
  const bool in_b = part.data() >= b.data() && part.data() + part.size() <= b.data() + b.size();
  if (!in_a && !in_b) std::abort();
}
void check(const hopguard::scanner::Event& e, std::string_view line, const std::string& scratch) {
  const std::string_view s(scratch);
  for (std::string_view f : {e.status, e.principal, e.service, e.address, e.user, e.method, e.port,
                             e.detail, e.rule, e.role, e.record_host, e.stage}) {
    inside(line, s, f);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hopguard::scanner;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const SyslogRecord r = parse_syslog_record(in, 1795392000000);
  DecodeScratch scratch;
  Event ev;
  for (const char* prog : {"krb5kdc", "sshd", "hopguard"}) {
    const DecoderEntry* d = find_decoder(prog);
    if (d == nullptr) std::abort();
    if (d->decode(r, ev, scratch) == DecodeResult::event) check(ev, in, scratch.buffer);
  }
  // The message alone, as if it were each program's.
  SyslogRecord bare = r;
  bare.message = in;
  for (const char* prog : {"krb5kdc", "sshd", "hopguard"}) {
    if (find_decoder(prog)->decode(bare, ev, scratch) == DecodeResult::event) check(ev, in, scratch.buffer);
  }
  if (decode_kdcpolicy(r, ev, scratch) == DecodeResult::event) check(ev, in, scratch.buffer);
  if (decode_kdcpolicy(bare, ev, scratch) == DecodeResult::event) check(ev, in, scratch.buffer);
  if (decode_decision_record(in, ev, scratch)) check(ev, in, scratch.buffer);
  if (decode_kdcpolicy_record(in, ev, scratch)) check(ev, in, scratch.buffer);
  return 0;
}
