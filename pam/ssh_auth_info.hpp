// sshd's record of how a user authenticated, as exposed to PAM in the environment variable
// SSH_AUTH_INFO_0 (OpenSSH auth-pam.c expose_authinfo): one line per successful method,
// "METHOD[ DETAIL]\n". For gssapi-with-mic and Debian's gssapi-keyex the detail is the client's
// Kerberos principal (display name); no other method carries a principal.
//
// sshd fills it only after authentication completes, so it is empty at the account stage.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hopguard::pam {

inline constexpr std::size_t kMaxAuthInfoBytes = 65536;  // publickey lines carry whole keys
inline constexpr std::size_t kMaxAuthInfoLines = 32;

struct SshAuthInfo {
  // Principals named by gssapi-with-mic / gssapi-keyex lines, in order, duplicates removed.
  // A gssapi line with an empty detail contributes "" (an invalid principal, denied by decide()).
  std::vector<std::string> principals;
  std::vector<std::string> methods;  // every method, in order (for debug lines)
  std::string error;                 // non-empty: the value is not sshd's shape; trust none of it
};

// Parses the variable's value. Never fails silently: over-long text, too many lines, NUL bytes
// or a line without a method set error and leave principals empty.
SshAuthInfo parse_ssh_auth_info(std::string_view value);

}  // namespace hopguard::pam
