// The ticket decision; the rules and their order are stated in hopguard/ticket_decision.hpp.
#include <hopguard/ticket_decision.hpp>

#include <hopguard/rule_id.hpp>

#include <utility>

namespace hopguard {

std::string_view to_string(Exchange e) noexcept { return e == Exchange::as ? "as" : "tgs"; }

namespace {

TicketDecision allow(std::string target = {}) {
  return TicketDecision{Verdict::allow, {}, {}, std::move(target)};
}

TicketDecision deny(std::string_view rule, std::string reason, std::string target = {}) {
  return TicketDecision{Verdict::deny, rule, std::move(reason), std::move(target)};
}

// The configured host a service principal's instance names (fqdn, alias, or short name), or
// null. The realm is not compared: a legacy guest's name is protected in every realm this KDC
// serves, so a second realm on the same KDC is no way around the rule (fail closed).
const HostEntry* service_host(const Policy& policy, const Principal& service) {
  if (service.cls != PrincipalClass::service && service.cls != PrincipalClass::foreign) {
    return nullptr;
  }
  if (service.components.size() < 2) return nullptr;
  const std::string& instance = service.components[1];
  if (const HostEntry* h = policy.find_host_by_fqdn(instance)) return h;
  return policy.find_host(instance);
}

bool is_local_tgs(const Policy& policy, const Principal& service) {
  const std::string& realm = policy.config().realm;
  return service.cls == PrincipalClass::service && service.components.size() == 2 &&
         service.components[0] == "krbtgt" && service.components[1] == realm &&
         service.realm == realm;
}

bool is_password_change(const Policy& policy, const Principal& service) {
  return service.cls == PrincipalClass::service && service.components.size() == 2 &&
         service.components[0] == "kadmin" && service.components[1] == "changepw" &&
         service.realm == policy.config().realm;
}

std::string how(const TicketRequest& r) {
  if (r.s4u2self) return " (protocol transition requested by this service)";
  if (r.s4u2proxy) return " (constrained delegation with this client's evidence ticket)";
  return {};
}

}  // namespace

TicketDecision decide_ticket(const Policy& policy, const TicketRequest& request) {
  const Principal client = policy.classify(request.client);
  const Principal service = policy.classify(request.service);
  const HostEntry* host = service_host(policy, service);
  std::string target = host != nullptr ? host->name : std::string();

  if (client.cls == PrincipalClass::special) {
    if (is_local_tgs(policy, service) || is_password_change(policy, service)) return allow();
    if (host != nullptr && host->role == Role::legacy && host->name == client.host) {
      return allow(std::move(target));
    }
    if (host != nullptr && host->role == Role::bastion) {
      return deny(rule_id::special_cred_on_bastion,
                  "host-specific principal " + client.name + " of legacy guest " + client.host +
                      " asked for " + service.name + " on bastion " + host->name + how(request),
                  std::move(target));
    }
    return deny(rule_id::special_cred_wrong_target,
                "host-specific principal " + client.name + " may only reach legacy guest " +
                    client.host + ", not " + service.name + how(request),
                std::move(target));
  }

  if (host != nullptr && host->role == Role::legacy) {
    if (client.cls == PrincipalClass::invalid) {
      return deny(rule_id::invalid_principal,
                  "client of a ticket for legacy guest " + host->name + ": " + client.why_invalid,
                  std::move(target));
    }
    return deny(rule_id::regular_cred_on_legacy,
                std::string(to_string(client.cls)) + " principal " + client.name + " asked for " +
                    service.name + how(request) + "; legacy guest " + host->name +
                    " is reached only with its host-specific principals",
                std::move(target));
  }
  return allow(std::move(target));
}

TicketDecision decide_as_addresses(const Policy& policy, std::string_view client,
                                   std::span<const std::optional<Address>> addresses) {
  const Principal p = policy.classify(client);
  if (p.cls != PrincipalClass::special) return allow();
  if (addresses.empty()) {
    return deny(rule_id::special_cred_off_bastion,
                "initial ticket for host-specific principal " + p.name +
                    " requested without addresses; [kdc] require_bastion_addresses needs "
                    "noaddresses = false on bastions",
                p.host);
  }
  for (const auto& a : addresses) {
    if (!a) {
      return deny(rule_id::special_cred_off_bastion,
                  "initial ticket for host-specific principal " + p.name +
                      " requested with an address that is not IPv4 or IPv6",
                  p.host);
    }
    if (!policy.is_bastion_address(*a)) {
      return deny(rule_id::special_cred_off_bastion,
                  "initial ticket for host-specific principal " + p.name + " requested for " +
                      a->to_string() + ", which is not a bastion address",
                  p.host);
    }
  }
  return allow(p.host);
}

}  // namespace hopguard
