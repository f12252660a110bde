// Listener and collector addresses of the [agent] and [alarms] sections:
// "tcp://127.0.0.1:5514", "udp://[::1]:5514", "tcp://collector.example:6514".
#pragma once

#include <hopguard/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace hopguard::agent {

enum class Transport { tcp, udp };

struct Endpoint {
  Transport transport = Transport::tcp;
  std::string host;  // literal address for listeners; a name is allowed for collectors
  std::uint16_t port = 0;
  std::string text;  // the configured spelling, for messages
};

// Parses "tcp://HOST:PORT" or "udp://HOST:PORT"; IPv6 literals in brackets. Port 0..65535:
// a listener on port 0 gets an ephemeral port (logged by event=listening; used by tests).
// key names the config key in the error ("agent.listen[0]").
Expected<Endpoint> parse_endpoint(std::string_view text, std::string_view key);

}  // namespace hopguard::agent
