// Event: what a decoder extracted from one syslog record. Views into the record's frame (or
// into the decoder's scratch buffer for unescaped values); valid until the next decode call.
#pragma once

#include "syslog_record.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hopguard::scanner {

enum class EventSource : std::uint8_t { none, kdc, sshd, hopguard };

enum class EventKind : std::uint8_t {
  none = 0,
  kdc_as,              // krb5kdc AS_REQ
  kdc_tgs,             // krb5kdc TGS_REQ
  ssh_accepted,        // sshd "Accepted METHOD for USER from IP port N ssh2[: EXTRA]"
  ssh_failed,          // sshd "Failed METHOD for [invalid user ]USER from IP port N ssh2"
  ssh_postponed,       // sshd "Postponed METHOD for USER from IP port N ssh2"
  ssh_authorized,      // sshd "Authorized to USER, krb5 principal P (krb5_kuserok)"
  ssh_closed_preauth,  // sshd "Connection closed by authenticating user USER IP port N [preauth]"
  ssh_session_failed,  // sshd "PAM: pam_open_session(): ERROR"
  hg_decision,         // hopguard decision record (PAM module via pam_syslog, plugins via ident hopguard)
  sender_mismatch,     // an sshd or hopguard record whose kernel-verified sender (rsyslog trusted
                       // properties) is not that program: status = claimed program, detail = exe
  kdc_unreadable,      // krb5kdc "AS_REQ (" / "TGS_REQ (" line that is not whole (cut by the KDC, or
                       // an unknown format): status = "AS_REQ" or "TGS_REQ"
  count_               // number of kinds (not a kind)
};

std::string_view to_string(EventKind kind) noexcept;     // "kdc.as", "sshd.accepted", ...
EventKind parse_event_kind(std::string_view text) noexcept;  // none when unknown
std::string_view to_string(EventSource source) noexcept;  // "kdc", "sshd", "hopguard"

// "host/legacy1.hg.test@HG.TEST" -> primary "host", instance "legacy1.hg.test", realm "HG.TEST"
// (views into s; a third component is not part of the instance).
void split_service(std::string_view s, std::string_view& primary, std::string_view& instance,
                   std::string_view& realm) noexcept;

// MIT krb5kdc logs a principal name of kKdcCutAt bytes or more as its first kKdcKept bytes and
// "..." (kdc_util.c, limit_string); the cut form is all a KDC line has of such a name.
inline constexpr std::size_t kKdcCutAt = 128;
inline constexpr std::size_t kKdcKept = 124;

struct Event {
  EventKind kind = EventKind::none;
  EventSource source = EventSource::none;
  const SyslogRecord* record = nullptr;  // the record this event came from
  std::string_view host;      // the logging host (syslog hostname; empty when none)
  std::string_view pid;       // the logging process id (correlates sshd lines of one login)

  // KDC: the status word (ISSUE, PREAUTH_FAILED, HOPGUARD_..., any other word as-is);
  // sshd: the method's outcome is the kind, status holds nothing; hopguard: the verdict word.
  std::string_view status;
  std::string_view principal;   // KDC: client; sshd: krb5 principal when logged; hopguard: principal=
  bool principal_truncated = false;  // the KDC cut the name (124 bytes + "..."): never a configured principal
  std::string_view service;     // KDC: server principal
  bool service_truncated = false;
  std::string_view address;     // KDC: client address; sshd: "from" address; hopguard: rhost=
  std::string_view user;        // sshd: the user name (attacker text on failures); hopguard: user=
  bool invalid_user = false;    // sshd: "invalid user" (the account does not exist)
  std::string_view method;      // sshd: gssapi-with-mic, password, ...
  std::string_view port;        // sshd: source port
  std::string_view detail;      // KDC: error text; sshd: the EXTRA after "ssh2: " or the PAM error
  // hopguard records
  std::string_view rule;        // rule=
  std::string_view role;        // role=
  std::string_view record_host; // host= (the enforcing host's short name); the kdcpolicy
                                // module's target=, or its service's instance when the module
                                // names no configured host (as a KDC line's target)
  std::string_view stage;       // stage=
  std::string_view component;   // "pam_hopguard", "hopguard" (plugins)

  // Field by field, views by their text (tests compare decoders' events with it).
  friend bool operator==(const Event&, const Event&) = default;
};

}  // namespace hopguard::scanner
