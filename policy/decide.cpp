// decide(): the enforcement decision (DESIGN section 1, enforcement table). Pure.
//
// Order of checks, so the most specific rule id wins:
//   1. the request itself (known host, matching role, a local user)
//   2. the credential, at session and auth stages (a stolen credential is the stronger signal)
//   3. the remote host (not at the userok stage, which has none)
#include <hopguard/decision.hpp>
#include <hopguard/policy.hpp>
#include <hopguard/rule_id.hpp>

namespace hopguard {

std::string_view to_string(Role r) noexcept { return r == Role::bastion ? "bastion" : "legacy"; }

std::string_view to_string(Stage s) noexcept {
  switch (s) {
    case Stage::account: return "account";
    case Stage::session: return "session";
    case Stage::auth: return "auth";
    case Stage::userok: return "userok";
  }
  return "account";
}

std::string_view to_string(Verdict v) noexcept { return v == Verdict::allow ? "allow" : "deny"; }

std::optional<Role> parse_role(std::string_view text) noexcept {
  if (text == "bastion") return Role::bastion;
  if (text == "legacy") return Role::legacy;
  return std::nullopt;
}

std::optional<Stage> parse_stage(std::string_view text) noexcept {
  if (text == "account") return Stage::account;
  if (text == "session") return Stage::session;
  if (text == "auth") return Stage::auth;
  if (text == "userok") return Stage::userok;
  return std::nullopt;
}

namespace {

constexpr std::size_t kMaxUserLength = 255;  // longer than any useradd accepts

Decision allow() { return Decision{Verdict::allow, {}, {}}; }
Decision deny(std::string_view rule, std::string reason) {
  return Decision{Verdict::deny, rule, std::move(reason)};
}

// The credential check on a legacy guest: only this guest's special principal for this user.
std::optional<Decision> check_legacy_principal(const Policy& policy, const HostEntry& host,
                                               std::string_view user, const Principal& p) {
  switch (p.cls) {
    case PrincipalClass::special:
      if (p.host != host.name) {
        return deny(rule_id::special_cred_wrong_target,
                    "host-specific principal of legacy guest " + p.host + " used on " + host.name);
      }
      if (p.user != user) {
        return deny(rule_id::special_cred_wrong_target,
                    "host-specific principal of user " + p.user + " used for local user " + std::string(user));
      }
      return std::nullopt;
    case PrincipalClass::regular:
    case PrincipalClass::foreign:
    case PrincipalClass::service:
      return deny(rule_id::regular_cred_on_legacy,
                  std::string(to_string(p.cls)) + " principal " + p.name + " on legacy guest " + host.name +
                      ", which accepts only " + policy.special_principal_for(user, host.name));
    case PrincipalClass::invalid:
      return deny(rule_id::invalid_principal, p.why_invalid);
  }
  return deny(rule_id::invalid_principal, "unclassified principal");
}

std::optional<Decision> check_bastion_principal(const Principal& p) {
  if (p.cls == PrincipalClass::special) {
    return deny(rule_id::special_cred_on_bastion,
                "host-specific principal " + p.name + " of legacy guest " + p.host + " used on a bastion");
  }
  if (p.cls == PrincipalClass::invalid) return deny(rule_id::invalid_principal, p.why_invalid);
  return std::nullopt;  // ordinary, service and cross-realm principals: the bastion's own business
}

std::optional<Decision> check_rhost(const Policy& policy, const HostEntry& host,
                                    const std::optional<std::string_view>& rhost) {
  const bool legacy = host.role == Role::legacy;
  const std::string_view rule =
      legacy ? rule_id::legacy_login_not_via_bastion : rule_id::bastion_login_unlisted_source;
  if (!rhost || rhost->empty()) {
    const LoginOptions& o = legacy ? policy.config().legacy_login : policy.config().bastion_login;
    if (o.console == LoginDefault::allow) return std::nullopt;
    return deny(rule, std::string("no remote host (console login) and [login] ") +
                          (legacy ? "legacy_console" : "bastion_console") + " is deny");
  }
  const auto address = parse_address(*rhost);
  if (!address) {
    // A name (sshd with UseDNS) is never trusted: names are controlled by whoever runs DNS.
    return deny(rule, "remote host is not an IP address");
  }
  if (legacy) {
    if (policy.is_bastion_address(*address)) return std::nullopt;
    return deny(rule, "login from " + address->to_string() + ", which is not a bastion");
  }
  if (policy.is_allowed_source(*address)) return std::nullopt;
  return deny(rule, "login from " + address->to_string() + ", which is not in [bastion_access] allowed_sources");
}

}  // namespace

Decision decide(const Policy& policy, const Request& request) {
  const HostEntry* host = policy.find_host(request.host);
  if (host == nullptr) {
    return deny(rule_id::invalid_request, "host is not configured");
  }
  if (host->role != request.role) {
    return deny(rule_id::invalid_request,
                "host " + host->name + " is configured as " + std::string(to_string(host->role)));
  }
  if (request.user.empty() || request.user.size() > kMaxUserLength) {
    return deny(rule_id::invalid_request, "no usable local user name");
  }
  const bool legacy = host->role == Role::legacy;

  if (request.stage == Stage::userok && !request.principal) {
    return deny(rule_id::invalid_request, "userok without a principal");
  }
  if (request.stage != Stage::account) {
    if (request.principal) {
      const Principal p = policy.classify(*request.principal);
      auto d = legacy ? check_legacy_principal(policy, *host, request.user, p) : check_bastion_principal(p);
      if (d) return std::move(*d);
    } else {
      const LoginOptions& o = legacy ? policy.config().legacy_login : policy.config().bastion_login;
      if (o.without_principal == LoginDefault::deny) {
        return deny(rule_id::login_without_principal,
                    std::string("no Kerberos principal (public key or password login) and [login] ") +
                        (legacy ? "legacy_without_principal" : "bastion_without_principal") + " is deny");
      }
    }
  }
  if (request.stage == Stage::userok) return allow();  // the credential is all userok can judge
  if (auto d = check_rhost(policy, *host, request.rhost)) return std::move(*d);
  return allow();
}

}  // namespace hopguard
