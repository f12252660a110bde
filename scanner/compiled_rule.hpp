// A compiled rule (private to scanner/): the conditions of one [[rule]] table as enums and
// small vectors, evaluated on an event's fields and policy facts without allocating.
#pragma once

#include "event.hpp"
#include "regex_search.hpp"
#include "ruleset.hpp"

#include <boost/regex.hpp>

#include <bit>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hopguard::scanner {

enum class TargetFrom : std::uint8_t { none, service, host, principal, record };
// not_tgt_nor_password_change: neither the TGS nor kadmin/changepw of the client's realm (the
// kdcpolicy module lets a host-specific principal change its password: kinit on an expired one).
enum class ServiceCond : std::uint8_t { any, tgt, not_tgt, not_tgt_nor_password_change };
// different_or_other_account: the target is not the principal's host, or the event's local
// account (sshd's USER, a record's user=) is not the host-specific principal's user (decide()
// refuses both as special-cred-wrong-target).
enum class VsPrincipalHost : std::uint8_t { any, same, different, different_or_other_account };
enum class AddressCond : std::uint8_t {
  any, bastion, not_bastion, allowed_source, not_allowed_source, not_bastion_nor_allowed, present
};

// Bits of CompiledRule::class_mask.
enum ClassBit : std::uint32_t {
  kClassRegular = 1u << 0,
  kClassSpecial = 1u << 1,
  kClassService = 1u << 2,
  kClassForeign = 1u << 3,
  kClassInvalid = 1u << 4,
  kClassTruncated = 1u << 5,  // the KDC cut the name: never a configured principal
  kClassNone = 1u << 6,       // the event carries no principal
};
// Bits of CompiledRule::role_mask.
enum RoleBit : std::uint32_t { kRoleLegacy = 1u << 0, kRoleBastion = 1u << 1, kRoleUnknown = 1u << 2 };

// How a threshold rule groups its matches (threshold_by):
// - target_and_address: one group per (target, address);
// - target: one group per target, from every address (guessing spread over many sources);
// - address_over_targets: one group per address, over every target, which alarms only for a
//   window that spans two targets or more (guessing spread over several guests from one
//   source): a window on one target is the target groupings' incident, not a second alarm.
enum class ThresholdBy : std::uint8_t { target_and_address, target, address_over_targets };

struct StatusPattern {
  std::string text;
  bool prefix = false;  // "HOPGUARD_*"
};

struct CompiledRule {
  std::string id;
  std::string name;
  int severity = 50;
  std::string source;  // the file's source = "..."
  // The events this rule sees: those of its own source (an sshd rule never sees a hopguard
  // record's event of the same kind, e.g. syslog.sender-mismatch); none for syslog user rules.
  EventSource event_source = EventSource::none;
  std::string file;
  std::uint32_t line = 0;

  std::uint32_t event_mask = 0;  // bit per EventKind
  std::vector<StatusPattern> status;       // empty: any
  // refusal_status = true: the KDC status HOPGUARD_<ID> (hopguard's kdcpolicy refused the request
  // for this very rule) matches on its own, whatever the other conditions say: the module decided
  // with the same policy, and it also covers requests the conditions do not model (S4U2Self).
  std::string refusal_word;                // "" when off
  std::uint32_t class_mask = 0;            // 0: any
  TargetFrom target = TargetFrom::none;
  std::uint32_t role_mask = 0;             // 0: any
  VsPrincipalHost vs_principal_host = VsPrincipalHost::any;
  ServiceCond service = ServiceCond::any;
  AddressCond address = AddressCond::any;
  std::vector<std::string> detail_not;     // exact texts of the event's detail that never match
  std::vector<std::string> verdicts;       // empty: any
  bool record_rule_same = false;           // record's rule= equals this rule's id
  // Threshold (row 7): alarm when `threshold` matches of one group fall within window_ms; each
  // grouping of threshold_by counts every match on its own (see ThresholdBy).
  // 0: every match is evidence at once.
  std::uint32_t threshold = 0;
  std::int64_t window_ms = 0;
  std::vector<ThresholdBy> threshold_by{ThresholdBy::target_and_address};

  // User regex rules (source = "syslog"): program equality and a regex over the message.
  std::string program;
  std::optional<boost::regex> regex;
  RegexCaptureIndexes captures;
  boost::match_flag_type regex_flags = boost::match_default;
};

// True iff the rule's conditions hold for the event; on false, why (if not null) gets the first
// failed condition. Does not evaluate regexes or thresholds.
bool rule_matches(const CompiledRule& rule, const Event& event, const EventFacts& facts,
                  std::string* why);

// The conditions of rule_matches() on the event's own fields (kind, status or refusal word,
// verdict, record rule): false when they fail (the rule cannot match whatever the facts);
// true with refusal set when the status is the rule's refusal word (the rule matches on that
// alone); true otherwise, and then rule_matches() == rule_facts_hold().
bool rule_may_match(const CompiledRule& rule, const Event& event, bool& refusal) noexcept;
// The rest of rule_matches(): the conditions on the facts.
bool rule_facts_hold(const CompiledRule& rule, const Event& event, const EventFacts& facts,
                     std::string* why);
// The same without an explanation (the engine's per-line calls).
bool rule_facts_hold(const CompiledRule& rule, const Event& event, const EventFacts& facts) noexcept;

// The facts (EventFacts) a rule's conditions and target read, as FactBit bits.
enum FactBit : std::uint32_t {
  kFactService = 1u << 0,     // service_host, service_instance, service_is_tgt
  kFactLoggingHost = 1u << 1,
  kFactRecordHost = 1u << 2,
  kFactAddress = 1u << 3,     // address_parsed, address_is_bastion, address_allowed
  kFactAll = 0xffu,
};
std::uint32_t rule_fact_needs(const CompiledRule& rule) noexcept;

// True iff some condition of the rule depends on the event's principal class or its host.
bool rule_needs_principal(const CompiledRule& rule) noexcept;

// The ClassBit of the event's principal, as the principal_class condition reads it (once
// classified, f.principal_pending false): kClassNone without a principal, kClassTruncated for a
// name the KDC cut, else its class's bit.
inline std::uint32_t principal_class_bit(const EventFacts& f) noexcept {
  if (!f.has_principal) return kClassNone;
  if (f.principal_truncated) return kClassTruncated;
  switch (f.principal_class) {
    case PrincipalClass::regular: return kClassRegular;
    case PrincipalClass::special: return kClassSpecial;
    case PrincipalClass::service: return kClassService;
    case PrincipalClass::foreign: return kClassForeign;
    case PrincipalClass::invalid: return kClassInvalid;
  }
  return kClassNone;
}

// The target host the rule names for this event (null when not configured or no target).
inline const HostEntry* rule_target(const CompiledRule& rule, const EventFacts& f) noexcept {
  switch (rule.target) {
    case TargetFrom::none: return nullptr;
    case TargetFrom::service: return f.service_host;
    case TargetFrom::host: return f.logging_host;
    case TargetFrom::principal: return f.principal_host;
    case TargetFrom::record: return f.record_host;
  }
  return nullptr;
}

// The RoleBit of a target host (kRoleUnknown when there is none or it is not configured).
inline std::uint32_t role_bit(const HostEntry* target) noexcept {
  return target == nullptr ? kRoleUnknown : target->role == Role::legacy ? kRoleLegacy : kRoleBastion;
}

// The target_role condition alone, on a target's RoleBit: false when it fails.
inline bool rule_role_holds(const CompiledRule& r, std::uint32_t target_role_bit) noexcept {
  return r.role_mask == 0 || (r.role_mask & target_role_bit) != 0;
}
inline bool rule_role_holds(const CompiledRule& r, const HostEntry* target) noexcept {
  return rule_role_holds(r, role_bit(target));
}

// The service condition (the TGS or not) of a rule: null when it holds, else why not (the text
// rule_facts_hold() explains with).
inline const char* service_failure(const CompiledRule& r, bool service_is_tgt) noexcept {
  if (r.service == ServiceCond::tgt && !service_is_tgt) return "service is not the TGS";
  if ((r.service == ServiceCond::not_tgt || r.service == ServiceCond::not_tgt_nor_password_change) &&
      service_is_tgt) {
    return "service is the TGS";
  }
  return nullptr;
}

// The address condition of a rule: null when it holds, else why not. present: the event has an
// address; bastion, allowed: the facts of it. An address that is present but not parsable counts
// as neither bastion nor allowed: the conditions that alarm on "not ..." then hold (fail closed
// toward an alarm).
inline const char* address_failure(const CompiledRule& r, bool present, bool bastion, bool allowed) noexcept {
  switch (r.address) {
    case AddressCond::any: return nullptr;
    case AddressCond::present: return present ? nullptr : "no address";
    case AddressCond::bastion: return bastion ? nullptr : "address is not a bastion's";
    case AddressCond::not_bastion:
      if (!present) return "no address";
      return bastion ? "address is a bastion's" : nullptr;
    case AddressCond::allowed_source: return allowed ? nullptr : "address not in allowed_sources";
    case AddressCond::not_allowed_source:
      if (!present) return "no address";
      return allowed ? "address in allowed_sources" : nullptr;
    case AddressCond::not_bastion_nor_allowed:
      if (!present) return "no address";
      if (bastion) return "address is a bastion's";
      return allowed ? "address in allowed_sources" : nullptr;
  }
  return nullptr;
}

// The conditions of rule_facts_hold() on the facts known before the principal, as bit masks over
// the first 64 rules of an event kind (Ruleset::rules_for): the service condition by whether the
// service is the TGS, the target role by the role of the service host, the logging host or the
// record's host (for a rule whose target is that host), the address condition by whether the
// event has an address and its facts. Bit i of tgt[t] is set iff rule i's service condition holds
// when service_is_tgt == t, and so on. The engine ANDs one word of each with the rules that pass
// the field conditions: what is left are the rules whose other conditions may hold (the principal,
// detail_not and the password change service are asked per rule), in a few instructions instead
// of a call per rule. A rule whose condition does not depend on a fact has its bit set in every
// word of that fact. So for a principal not classified yet (EventFacts::principal_pending), the
// rule's facts conditions hold iff its bit is set in the words of the event's facts and, for a
// rule whose bit is set in text, rule_facts_hold() holds.
struct FactMasks {
  // Index of a host's role in the role words: the position of its RoleBit (role_bit).
  static std::size_t role_index(const HostEntry* h) noexcept {
    return static_cast<std::size_t>(std::countr_zero(role_bit(h)));
  }
  // Index of the address words.
  static std::size_t address_index(bool present, bool bastion, bool allowed) noexcept {
    return static_cast<std::size_t>(present) | static_cast<std::size_t>(bastion) << 1 |
           static_cast<std::size_t>(allowed) << 2;
  }
  // The rules whose conditions on these facts hold (one word of each fact, ANDed), for an event
  // with an address or without.
  std::uint64_t holding(bool address_present, const EventFacts& f) const noexcept {
    return tgt[f.service_is_tgt] & service_role[role_index(f.service_host)] & logging_role[role_index(f.logging_host)] &
           record_role[role_index(f.record_host)] &
           address[address_index(address_present, f.address_is_bastion, f.address_allowed)];
  }
  std::uint64_t tgt[2] = {};
  std::uint64_t service_role[3] = {}, logging_role[3] = {}, record_role[3] = {};
  std::uint64_t address[8] = {};
  // The rules with a condition on the event's text (detail_not, the password change service).
  std::uint64_t text = 0;
  // The rules with a condition on the principal (rule_needs_principal).
  std::uint64_t principal = 0;
  // The rules whose principal_class condition holds (or that have none), by the principal's
  // ClassBit (principal_class_bit; the index is the bit's position): once the principal is
  // classified, a rule whose bit is clear here fails rule_facts_hold on that alone.
  std::uint64_t principal_class[7] = {};
  std::uint64_t class_holding(const EventFacts& f) const noexcept {
    return principal_class[std::countr_zero(principal_class_bit(f))];
  }
};
// The masks of rules[0, min(64, size)).
FactMasks fact_masks(const std::vector<const CompiledRule*>& rules) noexcept;

// The target short name for the alarm ("" when none).
std::string_view rule_target_name(const CompiledRule& rule, const Event& event,
                                  const EventFacts& facts) noexcept;

}  // namespace hopguard::scanner
