// The one record per decision (DESIGN "Modules and their configuration"): the shared
// format_decision_record() line through pam_syslog, and, for a refusal or a would-be refusal,
// a Linux audit record. The log line is an API decoded by the scanner; nothing else is added
// to it here except what pam_syslog prefixes ("pam_hopguard(SERVICE:TYPE): ").
#pragma once

#include <hopguard/rule_id.hpp>

#include "context.hpp"

#include <hopguard/decision.hpp>

#include <string_view>

namespace hopguard::pam {

inline constexpr std::string_view kVerdictAllow = "allow";
inline constexpr std::string_view kVerdictDeny = "deny";
inline constexpr std::string_view kVerdictWouldDeny = "would-deny";

// Rule id of a failed Kerberos password check in the auth stage: not a policy rule, but a
// refusal all the same, recorded in the same shape.
inline constexpr std::string_view kRuleAuthFailed = rule_id::auth_failed;

// Writes the record; for deny and would-deny also an audit record (AUDIT_ANOM_LOGIN_LOCATION
// for remote-host rules, AUDIT_ANOM_LOGIN_ACCT for credential rules, AUDIT_USER_ERR for config
// and authentication failures). A kernel without audit, or a process without CAP_AUDIT_WRITE,
// is tolerated silently (ECONNREFUSED, EPERM, EPROTONOSUPPORT...).
void record_decision(const Call& call, const Request& request, const Decision& decision,
                     std::string_view verdict_word);

// The audit record type for a refused decision (exposed for tests).
int audit_type_for(std::string_view rule);

}  // namespace hopguard::pam
