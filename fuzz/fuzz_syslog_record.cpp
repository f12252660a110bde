// libFuzzer: the syslog header parser and the imfile unwrapping on arbitrary frames. Every view
// must lie inside the frame, and the header's fast paths (the usual host and tag; a memoised
// second) must give what the general loops give.
#include <scanner/syslog_record.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {
void inside(std::string_view whole, std::string_view part) {
  if (part.empty()) return;
  if (part.data() < whole.data() || part.data() + part.size() > whole.data() + whole.size()) std::abort();
}
// The same bytes of the frame (an empty view may point anywhere).
void same(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || (!a.empty() && a.data() != b.data())) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto r = hopguard::scanner::parse_syslog_record(in, 1795392000000);
  inside(in, r.hostname);
  inside(in, r.program);
  inside(in, r.pid);
  inside(in, r.message);
  const auto g = hopguard::scanner::detail::parse_syslog_record_general(in, 1795392000000);
  same(r.hostname, g.hostname);
  same(r.program, g.program);
  same(r.pid, g.pid);
  same(r.message, g.message);
  if (r.format != g.format || r.event_ms != g.event_ms || r.time_unknown != g.time_unknown) std::abort();
  // Through a date memo, twice (the first parse may memoise the line's second, the second then
  // takes the memoised-second path): every field as without a memo.
  hopguard::scanner::SyslogDateMemo memo;
  for (int pass = 0; pass < 2; ++pass) {
    const auto m = hopguard::scanner::parse_syslog_record(in, 1795392000000, {}, &memo);
    same(m.hostname, r.hostname);
    same(m.program, r.program);
    same(m.pid, r.pid);
    same(m.message, r.message);
    same(m.raw, r.raw);
    same(m.trusted_pid, r.trusted_pid);
    same(m.trusted_uid, r.trusted_uid);
    same(m.trusted_exe, r.trusted_exe);
    if (m.format != r.format || m.event_ms != r.event_ms || m.time_unknown != r.time_unknown ||
        m.priority != r.priority || m.receive_ms != r.receive_ms || m.has_trusted != r.has_trusted) {
      std::abort();
    }
  }
  const auto u = hopguard::scanner::unwrap_inner_record(r);
  inside(in, u.hostname);
  inside(in, u.program);
  inside(in, u.message);
  return 0;
}
