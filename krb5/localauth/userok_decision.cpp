#include "userok_decision.hpp"

#include <hopguard/decision_record.hpp>
#include <hopguard/rule_id.hpp>

#include <syslog.h>

namespace hopguard::localauth {

namespace {

constexpr int kFacility = LOG_AUTHPRIV;

UserokOutcome config_failure(const Settings& settings, std::string_view principal, std::string_view local_user,
                             const std::string& why) {
  Request request;
  request.host = settings.host;
  request.user = local_user;
  request.stage = Stage::userok;  // the credential only: krb5_kuserok knows no remote host
  request.principal = principal;
  UserokOutcome out;
  if (settings.on_error == OnError::allow) {
    out.answer = Answer::no_opinion;
    out.record = format_decision_record(
        request, Decision{Verdict::allow, rule_id::config_error, "localauth_on_error=allow: " + why}, "allow");
  } else {
    out.answer = Answer::refuse;  // fail closed: the role of this host is unknown
    out.record = format_decision_record(request, Decision{Verdict::deny, rule_id::config_error, why}, "deny");
  }
  out.priority = kFacility | LOG_ERR;
  return out;
}

}  // namespace

UserokOutcome judge_userok(PolicyCache& cache, const Settings& settings, std::string_view principal,
                           std::string_view local_user, std::string_view system_hostname) {
  if (!settings.setting_error.empty()) return config_failure(settings, principal, local_user, settings.setting_error);
  const auto snapshot = cache.get(settings.config_path);
  if (!snapshot.policy) {
    return config_failure(settings, principal, local_user,
                          snapshot.error.empty() ? settings.config_path + ": no usable config" : snapshot.error);
  }
  const Policy& policy = *snapshot.policy;
  const auto host = resolve_host(policy, settings.host, {}, system_hostname);
  if (!host) {
    std::string why = to_string(host.errors());
    while (!why.empty() && why.back() == '\n') why.pop_back();
    return config_failure(settings, principal, local_user, why);
  }
  Request request;
  request.role = host.value()->role;
  request.host = host.value()->name;
  request.user = local_user;
  request.stage = Stage::userok;  // the credential only: krb5_kuserok knows no remote host
  request.principal = principal;
  const Decision decision = decide(policy, request);

  UserokOutcome out;
  if (decision.verdict == Verdict::allow) {
    out.answer = Answer::no_opinion;  // allowed: recorded by sshd itself ("Authorized to ...")
    return out;
  }
  out.priority = kFacility | LOG_NOTICE;
  if (settings.mode == EnforceMode::monitor) {
    out.answer = Answer::no_opinion;
    out.record = format_decision_record(request, decision, "would-deny");
  } else {
    out.answer = Answer::refuse;
    out.record = format_decision_record(request, decision, "deny");
  }
  return out;
}

}  // namespace hopguard::localauth
