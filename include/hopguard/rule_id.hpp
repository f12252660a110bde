// The rule ids of DESIGN section 5 (contract). Every deny decision, match and alarm names one.
#pragma once

#include <string_view>

namespace hopguard::rule_id {

inline constexpr std::string_view regular_cred_on_legacy = "regular-cred-on-legacy";          // row 1
inline constexpr std::string_view special_cred_on_bastion = "special-cred-on-bastion";        // row 2
inline constexpr std::string_view special_cred_off_bastion = "special-cred-off-bastion";      // row 3
inline constexpr std::string_view special_cred_wrong_target = "special-cred-wrong-target";    // row 4
inline constexpr std::string_view legacy_login_not_via_bastion = "legacy-login-not-via-bastion";  // row 5
inline constexpr std::string_view bastion_login_unlisted_source = "bastion-login-unlisted-source";  // row 6
inline constexpr std::string_view special_cred_guessing = "special-cred-guessing";            // row 7
// Added by hopguard: a name that is not a principal at all (empty, over-long, no realm, unparsable).
inline constexpr std::string_view invalid_principal = "invalid-principal";
// Added by hopguard: a session with no Kerberos principal (public key, or a password not checked
// by hopguard's auth stage) where [login] <role>_without_principal is deny.
inline constexpr std::string_view login_without_principal = "login-without-principal";
// Added by hopguard: the request cannot be decided (host not configured, role not the host's,
// no local user); always a deny.
inline constexpr std::string_view invalid_request = "invalid-request";
// Added by hopguard: pam_hopguard's auth stage could not authenticate <user>-<host> (wrong
// password, unknown principal, ticket not verifiable with the host keytab, KDC unreachable).
inline constexpr std::string_view auth_failed = "auth-failed";
// Added by hopguard: an sshd or hopguard record whose kernel-verified sender (rsyslog trusted
// properties) is not the process its tag claims: a local user forging log lines.
inline constexpr std::string_view forged_log_sender = "forged-log-sender";
// Added by hopguard: the site config could not be loaded, so the decision failed closed.
inline constexpr std::string_view config_error = "config-error";

}  // namespace hopguard::rule_id
