// auth, on legacy guests: a password login authenticates the host-specific principal
// <user>-<host>@REALM, never the ordinary one, and the ticket is verified with the host keytab.
// On success the principal and its credentials stay on the handle for session and setcred.
// On a bastion this stage has no opinion (PAM_IGNORE): ordinary logins are not ours to check.
#include "stages.hpp"

#include "enforce.hpp"
#include "kerberos_login.hpp"
#include "record.hpp"

#include <security/pam_ext.h>
#include <syslog.h>

namespace hopguard::pam {

int authenticate(Call& call) {
  if (call.setup_error.empty() && call.role == Role::bastion) {
    if (call.options().debug) pam_syslog(call.pamh, LOG_DEBUG, "auth: bastion, no opinion");
    return PAM_IGNORE;
  }
  // A new authentication forgets any earlier one on this handle: only a success of this call
  // may hand a principal and credentials to session and setcred.
  if (call.state != nullptr) {
    call.state->auth_user.clear();
    call.state->auth_principal.clear();
    call.state->credentials.reset();
  }
  if (!call.setup_error.empty()) {
    return fail_setup(call, make_request(call, std::nullopt), PAM_AUTH_ERR);
  }
  // The only principal this stage ever authenticates. decide() checks that it is this guest's
  // special principal for this user (a user name with '/' or '@' makes it something else and is
  // refused) and checks the remote host.
  const std::string principal = call.policy->special_principal_for(call.user, call.host->name);
  const Request request = make_request(call, std::string_view(principal));
  const Decision decision = decide(*call.policy, request);
  if (decision.verdict == Verdict::deny) {
    const int rc = conclude(call, request, decision, PAM_AUTH_ERR);
    if (rc != PAM_SUCCESS) return rc;  // enforce: refused before any password is asked for
    // monitor: recorded as would-deny; the password is still checked below, and that result,
    // which is authentication and not policy, is never softened.
  }

  const char* password = nullptr;
  int rc = pam_get_authtok(call.pamh, PAM_AUTHTOK, &password, nullptr);
  if (rc != PAM_SUCCESS || password == nullptr) {
    record_decision(call, request, Decision{Verdict::deny, kRuleAuthFailed, "no password"}, kVerdictDeny);
    return rc == PAM_SUCCESS ? PAM_AUTH_ERR : rc;
  }
  if (password[0] == '\0') {
    // An empty password would be an unauthenticated AS exchange on KDCs without preauth.
    record_decision(call, request, Decision{Verdict::deny, kRuleAuthFailed, "empty password"}, kVerdictDeny);
    return PAM_AUTH_ERR;
  }
  const std::string service = "host/" + call.host->fqdn + "@" + call.policy->config().realm;
  KerberosLogin login = kerberos_login(principal, password, call.options().keytab, service);
  if (login.code != 0) {
    record_decision(call, request, Decision{Verdict::deny, kRuleAuthFailed, login.message}, kVerdictDeny);
    return login.unavailable ? PAM_AUTHINFO_UNAVAIL : PAM_AUTH_ERR;
  }
  call.state->auth_user = call.user;
  call.state->auth_principal = principal;
  call.state->credentials = std::move(login.credentials);
  if (decision.verdict == Verdict::allow) record_decision(call, request, decision, kVerdictAllow);
  return PAM_SUCCESS;
}

}  // namespace hopguard::pam
