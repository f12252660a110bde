#include "enforce.hpp"

#include "record.hpp"

#include <hopguard/rule_id.hpp>

namespace hopguard::pam {

Request make_request(const Call& call, std::optional<std::string_view> principal) {
  Request r;
  r.role = call.role;
  r.host = call.host != nullptr ? std::string_view(call.host->name) : std::string_view(call.options().host);
  r.user = call.user;
  r.stage = call.stage;
  r.principal = principal;
  if (call.rhost) r.rhost = std::string_view(*call.rhost);
  return r;
}

int conclude(const Call& call, const Request& request, const Decision& decision, int deny_code) {
  if (decision.verdict == Verdict::allow) {
    record_decision(call, request, decision, kVerdictAllow);
    return PAM_SUCCESS;
  }
  if (call.options().mode == EnforceMode::monitor) {
    record_decision(call, request, decision, kVerdictWouldDeny);
    return PAM_SUCCESS;
  }
  record_decision(call, request, decision, kVerdictDeny);
  return deny_code;
}

int fail_setup(const Call& call, const Request& request, int deny_code) {
  const Options& o = call.options();
  // Fail open only where the administrator said so on the stack line itself: role=bastion and
  // on_error=allow. The role in a config we cannot read is unknown, so it never counts.
  if (o.role == Role::bastion && o.on_error == OnError::allow) {
    record_decision(call, request,
                    Decision{Verdict::allow, rule_id::config_error, "on_error=allow: " + call.setup_error},
                    kVerdictAllow);
    return PAM_IGNORE;
  }
  record_decision(call, request, Decision{Verdict::deny, rule_id::config_error, call.setup_error}, kVerdictDeny);
  return deny_code;
}

}  // namespace hopguard::pam
