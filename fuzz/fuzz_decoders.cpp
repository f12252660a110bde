// libFuzzer: every decoder of the registry and the kdcpolicy record decoder on the same record
// (whatever its program), and both record readers on the raw input. Views must lie inside the line or the scratch buffer.
// The input's lines are also decoded as one stream, against a fresh scratch per line.
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

  // The input's lines as one stream: a decoder that keeps what it learnt from earlier lines in
  // its scratch (decode_kdc's last status words, error text and etype group) must give every
  // line the result and event a fresh scratch gives it, whatever came before.
  DecodeScratch stream;
  for (std::string_view rest = in; !rest.empty();) {
    const std::size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    SyslogRecord rec = parse_syslog_record(line, 1795392000000);
    rec.message = line;
    for (const char* prog : {"krb5kdc", "sshd", "hopguard"}) {
      const DecodeFn decode = find_decoder(prog)->decode;
      Event streamed, fresh;
      DecodeScratch own;
      const DecodeResult a = decode(rec, streamed, stream);
      const DecodeResult b = decode(rec, fresh, own);
      if (a != b || (a == DecodeResult::event && !(streamed == fresh))) std::abort();
    }
  }
  return 0;
}
