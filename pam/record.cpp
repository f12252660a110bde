#include "record.hpp"

#include <hopguard/decision_record.hpp>
#include <hopguard/rule_id.hpp>

#include <libaudit.h>
#include <security/pam_ext.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace hopguard::pam {

int audit_type_for(std::string_view rule) {
  if (rule == rule_id::legacy_login_not_via_bastion || rule == rule_id::bastion_login_unlisted_source) {
    return AUDIT_ANOM_LOGIN_LOCATION;
  }
  if (rule == rule_id::regular_cred_on_legacy || rule == rule_id::special_cred_on_bastion ||
      rule == rule_id::special_cred_wrong_target || rule == rule_id::invalid_principal ||
      rule == rule_id::login_without_principal) {
    return AUDIT_ANOM_LOGIN_ACCT;
  }
  return AUDIT_USER_ERR;  // config-error, invalid-request, auth-failed
}

namespace {

void write_audit(const Call& call, const Request& request, const Decision& decision) {
  const int fd = audit_open();
  if (fd < 0) {
    // No audit in this kernel or container (EPROTONOSUPPORT, EINVAL, EAFNOSUPPORT): nothing to
    // report to; the syslog record has been written.
    return;
  }
  const std::string op = "hopguard:" + std::string(decision.rule);
  const std::string user(request.user.substr(0, 256));
  const std::string rhost(request.rhost.value_or(std::string_view{}).substr(0, 64));
  const void* tty = nullptr;
  if (pam_get_item(call.pamh, PAM_TTY, &tty) != PAM_SUCCESS) tty = nullptr;
  errno = 0;
  const int rc = audit_log_acct_message(fd, audit_type_for(decision.rule), nullptr, op.c_str(), user.c_str(),
                                        static_cast<unsigned int>(-1), nullptr, rhost.empty() ? nullptr : rhost.c_str(),
                                        static_cast<const char*>(tty), 0);
  const int err = errno;
  audit_close(fd);
  // ECONNREFUSED: no audit daemon/kernel support; EPERM: no CAP_AUDIT_WRITE (containers).
  if (rc <= 0 && err != ECONNREFUSED && err != EPERM && call.options().debug) {
    pam_syslog(call.pamh, LOG_DEBUG, "audit record not written: errno %d", err);
  }
}

}  // namespace

void record_decision(const Call& call, const Request& request, const Decision& decision,
                     std::string_view verdict_word) {
  const std::string line = format_decision_record(request, decision, verdict_word);
  const int priority = verdict_word == kVerdictAllow && decision.rule.empty() ? LOG_INFO
                       : decision.rule == rule_id::config_error          ? LOG_ERR
                                                                          : LOG_NOTICE;
  pam_syslog(call.pamh, priority, "%s", line.c_str());
  if (verdict_word != kVerdictAllow) write_audit(call, request, decision);
}

}  // namespace hopguard::pam
