// session: the credential. The principal comes from sshd's SSH_AUTH_INFO_0 (gssapi-with-mic,
// gssapi-keyex), else from our own auth stage on this handle (a password login that
// authenticated <user>-<host>); with neither, decide() applies [login] *_without_principal.
#include "stages.hpp"

#include "enforce.hpp"
#include "record.hpp"
#include "ssh_auth_info.hpp"

#include <hopguard/rule_id.hpp>

#include <security/pam_ext.h>
#include <syslog.h>

#include <algorithm>
#include <vector>

namespace hopguard::pam {

int open_session(Call& call) {
  const char* raw = pam_getenv(call.pamh, "SSH_AUTH_INFO_0");
  const SshAuthInfo info = parse_ssh_auth_info(raw != nullptr ? std::string_view(raw) : std::string_view{});
  std::vector<std::string> principals = info.principals;
  if (call.state != nullptr && !call.state->auth_principal.empty() && call.state->auth_user == call.user &&
      std::find(principals.begin(), principals.end(), call.state->auth_principal) == principals.end()) {
    principals.push_back(call.state->auth_principal);
  }
  if (call.options().debug) {
    std::string methods;
    for (const auto& m : info.methods) methods += (methods.empty() ? "" : ",") + m;
    pam_syslog(call.pamh, LOG_DEBUG, "session: SSH_AUTH_INFO_0 methods \"%.200s\", %zu principal(s)%s",
               methods.c_str(), principals.size(),
               call.state != nullptr && !call.state->auth_principal.empty() ? ", one from auth" : "");
  }

  std::optional<std::string_view> first;
  if (!principals.empty()) first = principals.front();
  if (!call.setup_error.empty()) return fail_setup(call, make_request(call, first), PAM_SESSION_ERR);

  if (!info.error.empty()) {
    // Not sshd's shape: trust no principal in it. Refused as an invalid principal.
    return conclude(call, make_request(call, std::nullopt),
                    Decision{Verdict::deny, rule_id::invalid_principal, info.error}, PAM_SESSION_ERR);
  }
  if (principals.empty()) {
    const Request request = make_request(call, std::nullopt);
    return conclude(call, request, decide(*call.policy, request), PAM_SESSION_ERR);
  }
  // One decision, and one record, per principal; any refusal refuses the session.
  int result = PAM_SUCCESS;
  for (const std::string& p : principals) {
    const Request request = make_request(call, std::string_view(p));
    const int rc = conclude(call, request, decide(*call.policy, request), PAM_SESSION_ERR);
    if (rc != PAM_SUCCESS) result = rc;
  }
  return result;
}

int close_session(Call& call) {
  // Credentials live as long as the session, as pam-krb5 users expect.
  const int rc = setcred(call, PAM_DELETE_CRED);
  return rc == PAM_IGNORE ? PAM_SUCCESS : rc;
}

}  // namespace hopguard::pam
