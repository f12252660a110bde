// The grammar of listener and collector addresses ([agent] listen, [alarms] syslog_target,
// [agent] metrics). Pure: text in, value or error out; config_loader.cpp adds file and line.
#include <hopguard/policy.hpp>

#include <charconv>

namespace hopguard {

Expected<Endpoint> parse_endpoint(std::string_view text, std::string_view key) {
  auto fail = [&](std::string why) {
    Error e;
    e.code = ErrorCode::bad_value;
    e.key = std::string(key);
    e.message = "\"" + std::string(text.substr(0, 200)) + "\": " + std::move(why);
    return e;
  };
  Endpoint ep;
  ep.text = std::string(text);
  std::string_view rest;
  if (text.starts_with("tcp://")) {
    ep.transport = Transport::tcp;
    rest = text.substr(6);
  } else if (text.starts_with("udp://")) {
    ep.transport = Transport::udp;
    rest = text.substr(6);
  } else {
    return fail("expected tcp://HOST:PORT or udp://HOST:PORT");
  }
  std::string_view port_text;
  if (rest.starts_with("[")) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      return fail("an IPv6 address is written [ADDR]:PORT");
    ep.host = std::string(rest.substr(1, close - 1));
    port_text = rest.substr(close + 2);
  } else {
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) return fail("missing :PORT");
    ep.host = std::string(rest.substr(0, colon));
    if (ep.host.find(':') != std::string::npos) return fail("an IPv6 address needs brackets");
    port_text = rest.substr(colon + 1);
  }
  if (ep.host.empty()) return fail("missing host");
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535)
    return fail("port must be 0..65535");
  ep.port = static_cast<std::uint16_t>(port);
  return ep;
}

}  // namespace hopguard
