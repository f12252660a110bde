// The one structured record per decision (DESIGN "Modules and their configuration"), written by
// the PAM module and the Kerberos plugins and decoded by the scanner. A log line is an API:
//
//   verdict=deny rule=regular-cred-on-legacy role=legacy host=legacy1 user=alice
//   principal=alice@HG.TEST rhost=127.0.0.4 stage=session reason="..."
//
// Keys always appear in this order; every key is present. A value that is empty, longer than
// kMaxRecordValue, or holds a space, '"', '\\', '=' or a byte outside printable ASCII is written
// double-quoted with \" \\ \n \r \t and \xHH escapes; an over-long value is cut and ends in "...".
// The producer adds a leading "component" word only through syslog (ident/tag), never here.
#pragma once

#include <hopguard/decision.hpp>

#include <string>
#include <string_view>

namespace hopguard {

inline constexpr std::size_t kMaxRecordValue = 256;
// A whole record, escaped, fits the 2 KiB log buffers it passes through (the KDC's log line, the
// localauth writer's message): every non-ASCII byte is four bytes escaped, so a foreign
// principal of 255 such bytes, repeated in the reason, made a record of over 2 KiB that was cut
// before its end, unreadable to the scanner (no alarm). The reason is cut to fit, before the
// fields the scanner matches on.
inline constexpr std::size_t kMaxRecordBytes = 1900;

// verdict_word is "allow", "deny" or "would-deny" (monitor mode).
std::string format_decision_record(const Request& request, const Decision& decision,
                                   std::string_view verdict_word);

// Appends `key=value` (value escaped as above) to out, preceded by one space unless out is
// empty; the building block of the record.
void append_record_field(std::string& out, std::string_view key, std::string_view value);

// Appends the last field, `reason=`, cut (ending in "...") so that out stays within
// kMaxRecordBytes when the fields before it leave room for it.
void append_reason_field(std::string& out, std::string_view reason);

}  // namespace hopguard
