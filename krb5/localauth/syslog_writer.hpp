// Sends a record to the local syslog socket (/dev/log) under the ident "hopguard", without
// openlog(): the module lives inside other programs (sshd, ksu, ...) whose own syslog ident
// and facility must not change. The line is RFC 3164 as glibc writes it:
// "<PRI>Mmm dd hh:mm:ss hopguard[PID]: MESSAGE".
#pragma once

#include <string_view>

namespace hopguard::localauth {

inline constexpr const char* kSyslogPath = "/dev/log";
inline constexpr std::string_view kSyslogIdent = "hopguard";

// Returns false when the record could not be handed to syslog (no socket, full for over a
// second). The caller's verdict stands either way; the refusal itself is never softened by a
// logging failure.
bool send_to_syslog(int priority, std::string_view message) noexcept;

}  // namespace hopguard::localauth
