// sshd / sshd-session lines (OpenSSH 9.2p1 Debian; sshd-session from 9.8; a Solaris or illumos
// guest's "[ID N auth.info] " message ID in front is removed first):
//   Accepted METHOD for USER from IP port N ssh2[: EXTRA]        (EXTRA: the krb5 principal for
//   Failed METHOD for [invalid user ]USER from IP port N ssh2     gssapi-*, the key for publickey)
//   Postponed METHOD for USER from IP port N ssh2
// and the older forms a legacy guest's sshd writes (OpenSSH before 6.x, auth.c "...port %d%s"
// with auth1.c's info; protocol 1 up to 7.5):
//   ... port N ssh1[: EXTRA]                  protocol 1 (6.x and later)
//   ... port N                                protocol 1 (before 6.x): password, rsa, tis
//   ... port N ruser RUSER                    protocol 1 rhosts / rhosts-rsa (RUSER: client's word;
//                                             with an invalid USER, the client's too, the address
//                                             of such a failure is ambiguous: no rule reads it)
//   ... port N tktuser PRINCIPAL              protocol 1 kerberos (the ticket's client)
//   Accepted without authentication for ...   protocol 1, empty password (PermitEmptyPasswords)
//   Failed METHOD for illegal user USER ...   before 3.9 ("invalid user" since)
//   Authorized to USER, krb5 principal P (krb5_kuserok)          (Fedora/RHEL also "(ssh_gssapi_krb5_cmdok)")
//   Connection closed by authenticating user USER IP port N [preauth]
//   [error: ]PAM: pam_open_session(): ERROR
// Both ends of "for USER from IP port N ssh2[: EXTRA]" can hold remote-chosen text:
// - USER of an "invalid user" (sshd logs any name, up to 100 bytes, spaces and ':' included):
//   there "from IP port N ssh2" is found from the right, the rightmost " from " whose tail has
//   that exact shape (EXTRA of a failed attempt is sshd's own: a key type and fingerprint);
// - EXTRA of a valid user: a certificate's key ID ("ID %s (serial N) CA ...") or the GSSAPI
//   display name of a foreign realm's principal, which may hold "x from IP port N ssh2: y"; so
//   may RUSER and tktuser's PRINCIPAL. USER is then a local account name, the site's text, not
//   the client's, which cannot hold ':' (the passwd separator), so the first " from " from the
//   left whose tail has one of the shapes is sshd's own.
#include "decoder.hpp"
#include "text_search.hpp"

#include <algorithm>

namespace hopguard::scanner {

namespace {



bool all_digits(std::string_view s) noexcept {
  if (s.empty() || s.size() > 5) return false;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// sshd logs the peer's numeric address here, but a forged line may hold a name or anything
// else: any token is kept (the rules then treat what does not parse as an address as neither a
// bastion's nor an allowed source, as decide() does), so such a line can never hide a login.
bool is_address_text(std::string_view s) noexcept {
  if (s.empty() || s.size() > 255) return false;
  for (const char c : s) {
    if (static_cast<unsigned char>(c) <= 0x20) return false;
  }
  return true;
}

// The first i in [0, min(s.size(), limit)) with s[i] <= 0x20 (a space or a control byte); that
// end if none.
std::size_t first_control_or_space(std::string_view s, std::size_t limit) noexcept {
#if defined(__SSE2__)
  const __m128i top = _mm_set1_epi8(0x20);
  // Unsigned x <= 0x20: min(x, 0x20) == x (bytes >= 0x80 are above, as in is_address_text).
  const auto hit16 = [&](__m128i x) { return _mm_cmpeq_epi8(_mm_min_epu8(x, top), x); };
#else
  const auto hit16 = [](int) { return 0; };
#endif
  return detail::find_bounded(s, 0, limit, hit16, [](char c) { return static_cast<unsigned char>(c) <= 0x20; });
}

// What follows "port N" (see the header). Each form is one OpenSSH version's own text; anything
// else is not a login line.
enum class Tail { protocol, none, ruser, tktuser };

// "IP port N" followed by one of the tails above. Fills address, port, detail (EXTRA, RUSER or
// the PRINCIPAL), and only when it returns true (ev is untouched otherwise).
bool parse_from_tail(std::string_view tail, Event& ev, Tail& form) noexcept {
  // IP: up to the first space, 1..255 bytes all above 0x20 (is_address_text), so the first byte
  // <= 0x20 within 256 must be that space: one bounded search instead of a search and a loop.
  const std::size_t sp = first_control_or_space(tail, 256);
  if (sp == 0 || sp > 255 || sp >= tail.size() || tail[sp] != ' ') return false;
  const std::string_view ip = tail.substr(0, sp);
  tail.remove_prefix(sp);
  if (!starts_with(tail, " port ")) return false;
  tail.remove_prefix(6);
  // PORT: 1..5 ASCII digits (all_digits), followed by the end or one of the tails below, each of
  // which starts with a space: so the whole token up to the next space is those digits.
  const std::size_t digits = skip_digits(tail, 0);
  if (digits == 0 || digits > 5) return false;
  const std::string_view port = tail.substr(0, digits);
  tail.remove_prefix(digits);
  std::string_view detail;
  if (tail.empty()) {
    form = Tail::none;
  } else if (starts_with(tail, " ssh2") || starts_with(tail, " ssh1")) {
    tail.remove_prefix(5);
    if (!tail.empty() && !starts_with(tail, ": ")) return false;
    form = Tail::protocol;
    if (!tail.empty()) detail = tail.substr(2);
  } else if (starts_with(tail, " ruser ") || starts_with(tail, " tktuser ")) {
    form = tail[1] == 'r' ? Tail::ruser : Tail::tktuser;
    detail = tail.substr(form == Tail::ruser ? 7 : 9);
  } else {
    return false;
  }
  ev.detail = detail;
  ev.address = ip;
  ev.port = port;
  return true;
}

// "METHOD for USER from IP port N TAIL[ [preauth]]" after the verb (sshd's privilege separated
// child appends " [preauth]" to lines it logs before authentication completes). form: the tail's.
bool parse_auth_line(std::string_view m, Event& ev, Tail& form) noexcept {
  if (m.ends_with(" [preauth]")) m.remove_suffix(10);
  constexpr std::string_view kEmptyPassword = "without authentication";  // the one two-word METHOD
  const std::size_t sp = starts_with(m, "without authentication ") ? kEmptyPassword.size() : m.find(' ');
  if (sp == std::string_view::npos || sp == 0) return false;
  ev.method = m.substr(0, sp);
  m.remove_prefix(sp);
  if (!starts_with(m, " for ")) return false;
  m.remove_prefix(5);
  // sshd's word for a name that is no local account: "illegal user " before OpenSSH 3.9.
  const bool invalid = starts_with(m, "invalid user ") || starts_with(m, "illegal user ");
  const auto take = [&](std::size_t f) {
    if (!parse_from_tail(m.substr(f + 6), ev, form)) return false;  // ev untouched then
    std::string_view user = m.substr(0, f);
    if (invalid) {
      ev.invalid_user = true;
      // "invalid user from ...": the empty name's " from " starts at the prefix's own space.
      user.remove_prefix(std::min<std::size_t>(13, user.size()));
    }
    ev.user = user;
    return true;
  };
  if (!invalid) {  // a local account: the first tail (see the header)
    for (std::size_t f = m.find(" from "); f != std::string_view::npos; f = m.find(" from ", f + 1)) {
      if (take(f)) return true;
    }
    return false;
  }
  std::size_t pos = m.size();
  while (pos > 0) {
    const std::size_t f = m.rfind(" from ", pos - 1);
    if (f == std::string_view::npos) return false;
    if (take(f)) return true;
    pos = f;
  }
  return false;
}

// Solaris and illumos syslog (msgid on) starts each message with "[ID N FACILITY.LEVEL] "
// ("[ID 800047 auth.info] Accepted ..."): removed, so that such a legacy guest's sshd lines are
// read as anyone's. Anything else in brackets is left as it is.
std::string_view strip_solaris_msgid(std::string_view m) noexcept {
  if (!starts_with(m, "[ID ")) return m;
  std::size_t p = 4;
  const std::size_t digits = p;
  while (p < m.size() && p - digits < 11 && m[p] >= '0' && m[p] <= '9') ++p;
  if (p == digits || p >= m.size() || m[p] != ' ') return m;
  ++p;
  bool dot = false;
  const std::size_t word = p;
  while (p < m.size() && p - word < 32 && m[p] != ']') {
    const char c = m[p];
    if (c == '.' && !dot && p != word) {
      dot = true;
    } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
      return m;
    }
    ++p;
  }
  if (!dot || p >= m.size() || m[p] != ']' || m[p - 1] == '.') return m;
  ++p;
  if (p < m.size() && m[p] == ' ') ++p;
  return m.substr(p);
}

}  // namespace

DecodeResult decode_sshd(const SyslogRecord& record, Event& ev, DecodeScratch&) noexcept {
  std::string_view m = strip_solaris_msgid(record.message);
  ev = Event{};
  ev.source = EventSource::sshd;
  ev.record = &record;
  ev.host = record.hostname;
  ev.pid = record.pid;

  Tail form = Tail::none;
  if (starts_with(m, "Accepted ") || starts_with(m, "Failed ")) {
    const bool accepted = m[0] == 'A';
    ev.kind = accepted ? EventKind::ssh_accepted : EventKind::ssh_failed;
    if (!parse_auth_line(m.substr(accepted ? 9 : 7), ev, form)) return DecodeResult::failed;
    // The client's principal: for GSSAPI the EXTRA (Debian logs it; stock OpenSSH may not; a
    // failure after krb5_kuserok succeeded, PAM account refused, still names it), and protocol
    // 1's kerberos method the tktuser.
    if ((form == Tail::protocol && starts_with(ev.method, "gssapi-")) || form == Tail::tktuser) {
      ev.principal = ev.detail;
    }
    return DecodeResult::event;
  }
  if (starts_with(m, "Postponed ")) {
    ev.kind = EventKind::ssh_postponed;
    return parse_auth_line(m.substr(10), ev, form) ? DecodeResult::event : DecodeResult::failed;
  }
  if (starts_with(m, "Authorized to ")) {
    ev.kind = EventKind::ssh_authorized;
    m.remove_prefix(14);
    // Upstream's suffix, and the one Fedora/RHEL's GSSAPI patches (gss-serv-krb5.c) log when
    // ~/.k5users authorized the login instead of krb5_kuserok(): the same principal, the same
    // account. (An older sshd's Accepted line has no ": P": then only this line names it.)
    constexpr std::string_view kSuffix = " (krb5_kuserok)";
    constexpr std::string_view kPatchedSuffix = " (ssh_gssapi_krb5_cmdok)";
    if (m.ends_with(kPatchedSuffix)) {
      m.remove_suffix(kPatchedSuffix.size());
    } else if (m.ends_with(kSuffix)) {
      m.remove_suffix(kSuffix.size());
    } else {
      return DecodeResult::failed;
    }
    // USER is a local account name (sshd resolved it), so the first separator is the real one.
    const std::size_t sep = m.find(", krb5 principal ");
    if (sep == std::string_view::npos || sep == 0) return DecodeResult::failed;
    ev.user = m.substr(0, sep);
    ev.principal = m.substr(sep + 17);
    if (ev.principal.empty()) return DecodeResult::failed;
    return DecodeResult::event;
  }
  if (starts_with(m, "Connection closed by authenticating user ")) {
    ev.kind = EventKind::ssh_closed_preauth;
    m.remove_prefix(41);
    if (!m.ends_with(" [preauth]")) return DecodeResult::failed;
    m.remove_suffix(10);
    const std::size_t p = m.rfind(" port ");
    if (p == std::string_view::npos || !all_digits(m.substr(p + 6))) return DecodeResult::failed;
    ev.port = m.substr(p + 6);
    m = m.substr(0, p);
    const std::size_t a = m.rfind(' ');
    if (a == std::string_view::npos || !is_address_text(m.substr(a + 1))) return DecodeResult::failed;
    ev.address = m.substr(a + 1);
    ev.user = m.substr(0, a);
    return DecodeResult::event;
  }
  // OpenSSH 9.2 logs it at level error: "error: PAM: pam_open_session(): ...".
  std::string_view pam = m;
  if (starts_with(pam, "error: ")) pam.remove_prefix(7);
  if (starts_with(pam, "PAM: pam_open_session(): ")) {
    ev.kind = EventKind::ssh_session_failed;
    ev.detail = pam.substr(25);
    return DecodeResult::event;
  }
  return DecodeResult::ignored;
}

}  // namespace hopguard::scanner
