// Ruleset: rules/*.toml compiled once into an immutable object (reader -> compiler -> ruleset).
// Reload builds a new Ruleset and swaps the shared_ptr; a failed compile keeps the old one.
//
// A rule file declares its source and a list of rules (at least one: a file without rules is an
// error, so that a misspelt [[rule]] or an emptied file cannot drop detections silently):
//
//   source = "kdc"                        # kdc | sshd | hopguard | syslog (user rules)
//   [[rule]]
//   id = "regular-cred-on-legacy"         # DESIGN section 5 id, or a user id
//   name = "Ordinary credential used toward a legacy guest"
//   severity = 73                         # 0..100
//   events = ["kdc.tgs"]                  # event kinds (event.hpp to_string)
//   status = ["ISSUE", "HOPGUARD_*"]      # optional; a trailing * is a prefix match
//   refusal_status = true                 # optional, kdc: status HOPGUARD_<ID> alone matches
//   principal_class = ["regular", "foreign"]  # optional; also "truncated", "none" (no principal)
//   target = "service"                    # service | host | principal | record: where the
//                                         # target host comes from (see ruleset.cpp)
//   target_role = "legacy"                # optional: legacy | bastion | configured | unknown
//   target_vs_principal_host = "different"  # optional: same | different | different-or-other-account
//                                         # (or the event's local account is not the principal's user)
//   service = "not-tgt"                   # optional: tgt | not-tgt (krbtgt/REALM@REALM) |
//                                         # not-tgt-nor-password-change (nor kadmin/changepw@REALM)
//   address = "not-bastion"               # optional: bastion | not-bastion | allowed-source |
//                                         # not-allowed-source | not-bastion-nor-allowed | present
//   detail_not = ["More preauthentication data is required"]  # optional: an event whose
//                                         # detail (the KDC's error text, ...) is one of these
//                                         # exact texts does not match
//   verdict = ["deny", "would-deny"]      # optional, hopguard records
//   record_rule = "same"                  # optional, hopguard records: rule= equals this id
//   threshold = "config"                  # optional: count per (target, address) and alarm at
//                                         # [rules] guessing_threshold within its window; or an integer
//   window_seconds = 300                  # optional with an integer threshold
//   threshold_by = "target"               # optional with a threshold, one or a list of:
//                                         # "target-and-address" (the default), "target" (the
//                                         # matches from every address count together: guessing
//                                         # spread over many sources), "address-over-targets"
//                                         # (per address over every target; alarms for a window
//                                         # on two targets or more). Each grouping counts every
//                                         # match on its own (ThresholdBy in compiled_rule.hpp).
//
// User rules (source = "syslog") add: program = "NAME" (exact) and regex = '...' (Boost.Regex,
// perl syntax, compiled once, bounded by Boost.Regex's own complexity limit) with named captures
// principal, user, address, target mapped to those fields. The same id may appear in several
// files (one per source: that is how KDC and host evidence meet in one incident) but only once
// per source, and with the same name and severity everywhere.
#pragma once

#include "event.hpp"

#include <hopguard/error.hpp>
#include <hopguard/policy.hpp>
#include <hopguard/principal.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hopguard::scanner {

struct RuleFile {
  std::string name;  // for messages ("rules/kdc.toml")
  std::string text;  // TOML
};

// The rule files built into the library (rules/*.toml of the source tree at build time), so
// `hopguard scan` needs no installed data directory.
const std::vector<RuleFile>& shipped_rule_files();

struct CompiledRule;  // ruleset.cpp

// Why one rule did or did not match one event (for `hopguard rules test`).
struct RuleTrace {
  std::string rule_id;
  std::string file;
  std::uint32_t line = 0;
  bool matched = false;
  std::string why;  // "matched" or the first condition that failed, one short phrase
};

// The facts a rule sees about an event, derived once from the event and the policy. The
// pointers and the view first, then the class and the flags: no padding between flags, 72
// bytes on x86-64 (the engine makes one per KDC line; with the flags between the pointers it
// was 88 bytes, cleared by a loop of ~26 instructions).
struct EventFacts {
  // The event's principal as classified (the per-line facts only; the whole Principal, user
  // and why_invalid included, is computed again for an alarm or an explanation).
  const HostEntry* principal_guest = nullptr;  // special: its legacy guest, even when truncated
  const HostEntry* service_host = nullptr;  // host of the KDC service principal
  const HostEntry* logging_host = nullptr;  // host named by the syslog hostname
  const HostEntry* record_host = nullptr;   // host named by a record's host=
  const HostEntry* principal_host = nullptr;  // the legacy guest of a special principal
  std::string_view service_instance;  // "legacy1.hg.test" of host/legacy1.hg.test@REALM
  PrincipalClass principal_class = PrincipalClass::invalid;
  bool has_principal = false;  // false when the event has none
  // True while the principal is not classified yet (the engine classifies it only for rules
  // whose other conditions hold): rule_matches() then passes every principal condition, and
  // the caller must classify and ask again before trusting a match (rule_needs_principal()).
  bool principal_pending = false;
  bool principal_truncated = false;
  // The event names a local account (sshd's USER, a record's user=) and its special principal
  // is another user's ("Authorized to bob, krb5 principal alice-legacy1@R").
  bool account_not_principal_user = false;
  bool service_is_tgt = false;     // service is krbtgt/REALM@REALM (TGT request or renewal)
  bool address_parsed = false;
  bool address_is_bastion = false;
  bool address_allowed = false;
};

class Ruleset {
 public:
  // Compiles every file; reports every error (file, line, key) at once. config supplies
  // disabled ids, the guessing threshold and window, and the regex match limit.
  static Expected<std::shared_ptr<const Ruleset>> compile(const std::vector<RuleFile>& files,
                                                          const RulesConfig& config);

  ~Ruleset();
  Ruleset(const Ruleset&) = delete;
  Ruleset& operator=(const Ruleset&) = delete;

  std::size_t size() const noexcept;
  // The distinct rule ids, sorted.
  std::vector<std::string> ids() const;
  // Rules that apply to an event kind, in file order.
  const std::vector<const CompiledRule*>& rules_for(EventKind kind) const noexcept;
  // User regex rules for a program name (exact), in file order; empty when none.
  const std::vector<const CompiledRule*>& regex_rules_for(std::string_view program) const noexcept;
  bool has_regex_rules() const noexcept;

  const std::vector<std::unique_ptr<CompiledRule>>& all() const noexcept { return rules_; }

 private:
  Ruleset();
  std::vector<std::unique_ptr<CompiledRule>> rules_;
  struct Index;
  std::unique_ptr<Index> index_;
  friend class RulesetCompiler;
};

}  // namespace hopguard::scanner
