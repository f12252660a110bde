// The ticket decision (DESIGN section 1, enforcement table, row "the KDC"): may this client be
// issued a ticket for this service? Pure: no I/O, no clock, no libkrb5 structures. Domain logic
// of the policy: the KDC module (krb5/kdcpolicy/kdcpolicy_module.cpp) turns the KDC's request
// into a TicketRequest and enforces the result; the scanner may judge logged requests with it.
//
// Rules, in order (the first that applies decides):
//   1. A special principal (alice-legacy1@REALM) gets tickets only for
//        - krbtgt/REALM@REALM (TGT renewal, validation, forwarding in its own realm),
//        - kadmin/changepw@REALM (so its password can be changed and expired passwords work),
//        - services whose instance names its own legacy guest (fqdn, alias or short name).
//      A service on a bastion is special-cred-on-bastion; anything else (another guest, any other
//      service, a cross-realm TGT, a user-to-user ticket) is special-cred-wrong-target.
//   2. A service whose instance (second component, any realm) names a legacy guest by fqdn,
//      alias or short name is issued to nobody else: regular-cred-on-legacy for regular, service
//      and foreign clients, invalid-principal for a client name the policy cannot classify.
//   3. Everything else is allowed: the policy has no opinion on it.
// Protocol transition (S4U2Self): the client decided on is the requesting service, since the
// impersonated user never authenticated; a legacy guest's service is therefore refused by rule 2.
// Constrained delegation (S4U2Proxy): the client decided on is the evidence ticket's client,
// the identity the issued ticket carries.
#pragma once

#include <hopguard/address.hpp>
#include <hopguard/decision.hpp>
#include <hopguard/policy.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace hopguard {

enum class Exchange { as, tgs };
std::string_view to_string(Exchange e) noexcept;

// Views into caller-owned text.
struct TicketRequest {
  Exchange exchange = Exchange::tgs;
  std::string_view client;   // the identity the issued ticket will carry (see header comment)
  std::string_view service;  // the requested server principal
  bool s4u2self = false;     // protocol transition: client is the requesting service
  bool s4u2proxy = false;    // constrained delegation: client is the evidence ticket's client
};

struct TicketDecision {
  Verdict verdict = Verdict::deny;
  std::string_view rule;  // a rule_id:: constant; empty on allow
  std::string reason;     // one short sentence for people
  std::string target;     // short name of the host the service lives on; empty if none
};

// Returns the decision for one ticket. Never throws except std::bad_alloc.
TicketDecision decide_ticket(const Policy& policy, const TicketRequest& request);

// check_as in [kdc] require_bastion_addresses mode: a special principal's initial ticket must be
// bound to addresses (the client's krb5.conf noaddresses = false), every one of them a bastion
// address, so that the KDC's own address check confines the ticket to bastions. Allows anything
// that is not a special principal. addresses that did not parse are passed as nullopt.
TicketDecision decide_as_addresses(const Policy& policy, std::string_view client,
                                   std::span<const std::optional<Address>> addresses);

}  // namespace hopguard
