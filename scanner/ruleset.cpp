// Rule files: reader (toml++) -> compiler (CompiledRule) -> immutable Ruleset with an index by
// event kind and by program. Every error is reported with file, line and key; a file with three
// mistakes reports all three.
#include "ruleset.hpp"

#include "compiled_rule.hpp"
#include "correlator.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <array>
#include <map>
#include <set>
#include <unordered_map>

namespace hopguard::scanner {

struct Ruleset::Index {
  std::array<std::vector<const CompiledRule*>, static_cast<std::size_t>(EventKind::count_)> by_kind;
  std::unordered_map<std::string, std::vector<const CompiledRule*>> by_program;
  std::vector<const CompiledRule*> empty;
};

Ruleset::Ruleset() : index_(std::make_unique<Index>()) {}
Ruleset::~Ruleset() = default;
std::size_t Ruleset::size() const noexcept { return rules_.size(); }

std::vector<std::string> Ruleset::ids() const {
  std::set<std::string> ids;
  for (const auto& r : rules_) ids.insert(r->id);
  return {ids.begin(), ids.end()};
}

const std::vector<const CompiledRule*>& Ruleset::rules_for(EventKind kind) const noexcept {
  const auto i = static_cast<std::size_t>(kind);
  return i < index_->by_kind.size() ? index_->by_kind[i] : index_->empty;
}

const std::vector<const CompiledRule*>& Ruleset::regex_rules_for(std::string_view program) const noexcept {
  if (index_->by_program.empty()) return index_->empty;
  const auto it = index_->by_program.find(std::string(program));
  return it == index_->by_program.end() ? index_->empty : it->second;
}

bool Ruleset::has_regex_rules() const noexcept { return !index_->by_program.empty(); }

namespace {

struct Reporter {
  Errors& errors;
  std::string file;
  void add(ErrorCode code, const toml::source_region& at, std::string key, std::string message) {
    errors.push_back(Error{code, Location{file, at.begin.line, at.begin.column}, std::move(key),
                           std::move(message)});
  }
};

// Reads a string or an array of strings.
bool string_list(const toml::node& node, std::vector<std::string>& out) {
  if (const auto* s = node.as_string()) {
    out.push_back(s->get());
    return true;
  }
  if (const auto* a = node.as_array()) {
    for (const toml::node& e : *a) {
      const auto* s = e.as_string();
      if (s == nullptr) return false;
      out.push_back(s->get());
    }
    return true;
  }
  return false;
}

const std::set<std::string_view> kRuleKeys = {
    "id", "name", "severity", "events", "status", "principal_class", "target", "target_role",
    "target_vs_principal_host", "service", "address", "verdict", "record_rule", "threshold", "threshold_by",
    "window_seconds", "program", "regex", "description", "refusal_status", "detail_not"};

}  // namespace

class RulesetCompiler {
 public:
  explicit RulesetCompiler(const RulesConfig& config) : config_(config) {}

  Expected<std::shared_ptr<const Ruleset>> compile(const std::vector<RuleFile>& files) {
    std::shared_ptr<Ruleset> set(new Ruleset());
    for (const RuleFile& f : files) compile_file(f, *set);
    // The same id across files must agree on name and severity.
    std::map<std::string, const CompiledRule*> first;
    for (const auto& r : set->rules_) {
      const auto [it, inserted] = first.emplace(r->id, r.get());
      if (!inserted && (it->second->name != r->name || it->second->severity != r->severity)) {
        errors_.push_back(Error{ErrorCode::conflict, Location{r->file, r->line, 0}, "rule.name",
                                "rule " + r->id + " has a different name or severity in " +
                                    it->second->file + ":" + std::to_string(it->second->line)});
      }
    }
    for (const std::string& id : config_.disabled) {
      if (first.find(id) == first.end()) {
        errors_.push_back(Error{ErrorCode::bad_value, config_.disabled_at, "rules.disabled",
                                "disabled rule " + id + " does not exist"});
      }
    }
    if (!errors_.empty()) return errors_;
    // Drop disabled rules, then index.
    std::erase_if(set->rules_, [&](const std::unique_ptr<CompiledRule>& r) {
      return std::find(config_.disabled.begin(), config_.disabled.end(), r->id) != config_.disabled.end();
    });
    for (const auto& r : set->rules_) {
      if (r->regex) {
        set->index_->by_program[r->program].push_back(r.get());
        continue;
      }
      for (std::size_t k = 1; k < static_cast<std::size_t>(EventKind::count_); ++k) {
        if ((r->event_mask & (1u << k)) != 0) set->index_->by_kind[k].push_back(r.get());
      }
    }
    return std::shared_ptr<const Ruleset>(std::move(set));
  }

 private:
  void compile_file(const RuleFile& f, Ruleset& set) {
    Reporter rep{errors_, f.name};
    toml::parse_result parsed = toml::parse(f.text, f.name);
    if (!parsed) {
      const auto& e = parsed.error();
      rep.add(ErrorCode::syntax, e.source(), "", std::string(e.description()));
      return;
    }
    const toml::table& root = parsed.table();
    std::string source;
    for (const auto& [k, v] : root) {
      const std::string_view key = k.str();
      if (key == "source") {
        if (const auto* s = v.as_string()) {
          source = s->get();
          if (source != "kdc" && source != "sshd" && source != "hopguard" && source != "syslog") {
            rep.add(ErrorCode::bad_value, v.source(), "source",
                    "source must be kdc, sshd, hopguard or syslog");
          }
        } else {
          rep.add(ErrorCode::wrong_type, v.source(), "source", "source must be a string");
        }
      } else if (key != "rule") {
        rep.add(ErrorCode::unknown_key, v.source(), std::string(key), "unknown key");
      }
    }
    if (source.empty() && !root.contains("source")) {
      rep.add(ErrorCode::missing_key, toml::source_region{{1, 1}, {1, 1}, {}}, "source", "missing source");
    }
    // A file without rules detects nothing: a typo in the table name ([rule], [[rules]], which
    // have their own errors above and below) or a file emptied by accident would otherwise drop
    // its detections without a word. An empty file is no exception: a shipped or site rules
    // file truncated to nothing is exactly that accident.
    constexpr const char* kNoRules = "a rules file without rules detects nothing";
    const toml::node* rules = root.get("rule");
    if (rules == nullptr) {
      errors_.push_back(Error{ErrorCode::missing_key, Location{f.name, 0, 0}, "rule",
                              std::string("no [[rule]] in the file: ") + kNoRules});
      return;
    }
    const toml::array* arr = rules->as_array();
    if (arr == nullptr) {
      rep.add(ErrorCode::wrong_type, rules->source(), "rule", "rule must be an array of tables ([[rule]])");
      return;
    }
    if (arr->empty()) {
      rep.add(ErrorCode::bad_value, rules->source(), "rule", std::string("must not be empty: ") + kNoRules);
      return;
    }
    std::set<std::string> ids_here;
    std::size_t index = 0;
    for (const toml::node& n : *arr) {
      const std::string prefix = "rule[" + std::to_string(index++) + "]";
      const toml::table* t = n.as_table();
      if (t == nullptr) {
        rep.add(ErrorCode::wrong_type, n.source(), prefix, "rule must be a table");
        continue;
      }
      auto rule = compile_rule(*t, source, prefix, rep);
      if (!rule) continue;
      if (!ids_here.insert(rule->id).second) {
        rep.add(ErrorCode::duplicate, t->source(), prefix + ".id", "duplicate rule id " + rule->id);
        continue;
      }
      for (const auto& other : set.rules_) {
        if (other->id == rule->id && other->source == rule->source) {
          rep.add(ErrorCode::duplicate, t->source(), prefix + ".id",
                  "duplicate rule id " + rule->id + " for source " + source + " (first in " +
                      other->file + ":" + std::to_string(other->line) + ")");
          rule.reset();
          break;
        }
      }
      if (rule) set.rules_.push_back(std::move(rule));
    }
  }

  std::unique_ptr<CompiledRule> compile_rule(const toml::table& t, const std::string& source,
                                             const std::string& prefix, Reporter& rep) {
    auto r = std::make_unique<CompiledRule>();
    r->source = source;
    if (source == "kdc") r->event_source = EventSource::kdc;
    else if (source == "sshd") r->event_source = EventSource::sshd;
    else if (source == "hopguard") r->event_source = EventSource::hopguard;
    r->file = rep.file;
    r->line = t.source().begin.line;
    const std::size_t errors_before = errors_.size();
    for (const auto& [k, v] : t) {
      if (kRuleKeys.count(k.str()) == 0) {
        rep.add(ErrorCode::unknown_key, v.source(), prefix + "." + std::string(k.str()), "unknown key");
      }
    }
    auto str = [&](std::string_view key, std::string& out, bool required) {
      const toml::node* n = t.get(key);
      if (n == nullptr) {
        if (required) rep.add(ErrorCode::missing_key, t.source(), prefix + "." + std::string(key), "missing key");
        return false;
      }
      const auto* s = n->as_string();
      if (s == nullptr) {
        rep.add(ErrorCode::wrong_type, n->source(), prefix + "." + std::string(key), "must be a string");
        return false;
      }
      out = s->get();
      return true;
    };
    auto bad = [&](std::string_view key, std::string msg) {
      const toml::node* n = t.get(key);
      rep.add(ErrorCode::bad_value, n ? n->source() : t.source(), prefix + "." + std::string(key), std::move(msg));
    };

    if (str("id", r->id, true)) {
      const bool ok = !r->id.empty() && r->id.size() <= 64 &&
                      std::all_of(r->id.begin(), r->id.end(), [](char c) {
                        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                      });
      if (!ok) bad("id", "id must be 1-64 characters a-z, 0-9 and -");
    }
    str("name", r->name, true);
    if (const toml::node* n = t.get("severity")) {
      const auto* i = n->as_integer();
      if (i == nullptr || i->get() < 0 || i->get() > 100) {
        bad("severity", "severity must be an integer 0..100");
      } else {
        r->severity = static_cast<int>(i->get());
      }
    } else {
      rep.add(ErrorCode::missing_key, t.source(), prefix + ".severity", "missing key");
    }

    const bool is_regex_rule = source == "syslog";
    if (is_regex_rule) {
      compile_regex(t, *r, prefix, rep);
    } else {
      if (t.get("program") || t.get("regex")) {
        bad(t.get("regex") ? "regex" : "program", "program and regex belong to source = \"syslog\" rules");
      }
      std::vector<std::string> events;
      if (const toml::node* n = t.get("events")) {
        if (!string_list(*n, events) || events.empty()) {
          bad("events", "events must be a non-empty list of event kinds");
        }
        for (const std::string& e : events) {
          const EventKind k = parse_event_kind(e);
          if (k == EventKind::none) {
            bad("events", "unknown event kind " + e);
          } else {
            r->event_mask |= 1u << static_cast<unsigned>(k);
          }
        }
      } else {
        rep.add(ErrorCode::missing_key, t.source(), prefix + ".events", "missing key");
      }
    }
    if (const toml::node* n = t.get("status")) {
      std::vector<std::string> v;
      if (!string_list(*n, v)) bad("status", "status must be a string or a list of strings");
      for (std::string& s : v) {
        StatusPattern p;
        p.prefix = !s.empty() && s.back() == '*';
        if (p.prefix) s.pop_back();
        p.text = s;
        r->status.push_back(std::move(p));
      }
    }
    if (const toml::node* n = t.get("refusal_status")) {
      const auto* b = n->as_boolean();
      if (b == nullptr) {
        bad("refusal_status", "refusal_status must be true or false");
      } else if (b->get()) {
        if (source != "kdc") bad("refusal_status", "refusal_status belongs to source = \"kdc\" rules");
        r->refusal_word = "HOPGUARD_";
        for (const char c : r->id) r->refusal_word.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
      }
    }
    if (const toml::node* n = t.get("principal_class")) {
      std::vector<std::string> v;
      if (!string_list(*n, v)) bad("principal_class", "principal_class must be a string or a list");
      for (const std::string& c : v) {
        static const std::map<std::string, std::uint32_t> kClasses = {
            {"regular", kClassRegular}, {"special", kClassSpecial}, {"service", kClassService},
            {"foreign", kClassForeign}, {"invalid", kClassInvalid}, {"truncated", kClassTruncated},
            {"none", kClassNone}};
        const auto it = kClasses.find(c);
        if (it == kClasses.end()) {
          bad("principal_class", "unknown principal class " + c);
        } else {
          r->class_mask |= it->second;
        }
      }
    }
    std::string text;
    if (str("target", text, false)) {
      static const std::map<std::string, TargetFrom> kTargets = {
          {"service", TargetFrom::service}, {"host", TargetFrom::host},
          {"principal", TargetFrom::principal}, {"record", TargetFrom::record}};
      const auto it = kTargets.find(text);
      if (it == kTargets.end()) {
        bad("target", "target must be service, host, principal or record");
      } else {
        r->target = it->second;
      }
    }
    if (const toml::node* n = t.get("target_role")) {
      std::vector<std::string> v;
      if (!string_list(*n, v)) bad("target_role", "target_role must be a string or a list");
      for (const std::string& c : v) {
        if (c == "legacy") r->role_mask |= kRoleLegacy;
        else if (c == "bastion") r->role_mask |= kRoleBastion;
        else if (c == "unknown") r->role_mask |= kRoleUnknown;
        else if (c == "configured") r->role_mask |= kRoleLegacy | kRoleBastion;
        else bad("target_role", "target_role must be legacy, bastion, configured or unknown");
      }
      if (r->target == TargetFrom::none) bad("target_role", "target_role needs target");
    }
    if (str("target_vs_principal_host", text, false)) {
      if (text == "same") r->vs_principal_host = VsPrincipalHost::same;
      else if (text == "different") r->vs_principal_host = VsPrincipalHost::different;
      else if (text == "different-or-other-account") r->vs_principal_host = VsPrincipalHost::different_or_other_account;
      else bad("target_vs_principal_host", "must be same, different or different-or-other-account");
      if (r->target == TargetFrom::none) bad("target_vs_principal_host", "needs target");
    }
    if (str("service", text, false)) {
      if (text == "tgt") r->service = ServiceCond::tgt;
      else if (text == "not-tgt") r->service = ServiceCond::not_tgt;
      else if (text == "not-tgt-nor-password-change") r->service = ServiceCond::not_tgt_nor_password_change;
      else bad("service", "service must be tgt, not-tgt or not-tgt-nor-password-change");
    }
    if (str("address", text, false)) {
      static const std::map<std::string, AddressCond> kAddr = {
          {"bastion", AddressCond::bastion}, {"not-bastion", AddressCond::not_bastion},
          {"allowed-source", AddressCond::allowed_source},
          {"not-allowed-source", AddressCond::not_allowed_source},
          {"not-bastion-nor-allowed", AddressCond::not_bastion_nor_allowed},
          {"present", AddressCond::present}};
      const auto it = kAddr.find(text);
      if (it == kAddr.end()) {
        bad("address", "address must be bastion, not-bastion, allowed-source, not-allowed-source, "
                       "not-bastion-nor-allowed or present");
      } else {
        r->address = it->second;
      }
    }
    if (const toml::node* n = t.get("detail_not")) {
      if (!string_list(*n, r->detail_not)) bad("detail_not", "detail_not must be a string or a list of strings");
    }
    if (const toml::node* n = t.get("verdict")) {
      if (!string_list(*n, r->verdicts)) bad("verdict", "verdict must be a string or a list");
      for (const std::string& v : r->verdicts) {
        // The record's words (decision_record.hpp): any other never matches, so the rule never would.
        if (v != "allow" && v != "deny" && v != "would-deny") {
          bad("verdict", "unknown verdict " + v + " (allow, deny or would-deny)");
        }
      }
    }
    if (str("record_rule", text, false)) {
      if (text != "same") bad("record_rule", "record_rule must be \"same\"");
      r->record_rule_same = true;
    }
    if (const toml::node* n = t.get("threshold")) {
      if (const auto* s = n->as_string(); s && s->get() == "config") {
        // The config allows 1..256 (policy/config_loader.cpp), the times a group keeps.
        r->threshold = std::clamp<std::uint32_t>(config_.guessing_threshold, 1, Correlator::kMaxGroupTimes);
        r->window_ms = static_cast<std::int64_t>(config_.guessing_window_seconds) * 1000;
      } else if (const auto* i = n->as_integer();
                 i && i->get() >= 1 && i->get() <= static_cast<std::int64_t>(Correlator::kMaxGroupTimes)) {
        r->threshold = static_cast<std::uint32_t>(i->get());
        const toml::node* w = t.get("window_seconds");
        const auto* wi = w ? w->as_integer() : nullptr;
        if (wi == nullptr || wi->get() < 1 || wi->get() > 86400 * 7) {
          bad("window_seconds", "an integer threshold needs window_seconds 1..604800");
        } else {
          r->window_ms = wi->get() * 1000;
        }
      } else {
        bad("threshold", "threshold must be \"config\" or an integer 1..256");
      }
    } else if (t.get("window_seconds")) {
      bad("window_seconds", "window_seconds needs threshold");
    }
    if (const toml::node* n = t.get("threshold_by")) {
      static const std::map<std::string, ThresholdBy> kBy = {
          {"target-and-address", ThresholdBy::target_and_address},
          {"target", ThresholdBy::target},
          {"address-over-targets", ThresholdBy::address_over_targets}};
      std::vector<std::string> names;
      std::vector<ThresholdBy> by;
      bool ok = string_list(*n, names) && !names.empty();
      for (const std::string& name : names) {
        const auto it = kBy.find(name);
        if (it == kBy.end() || std::find(by.begin(), by.end(), it->second) != by.end()) {
          ok = false;
          break;
        }
        by.push_back(it->second);
      }
      if (r->threshold == 0) {
        bad("threshold_by", "threshold_by needs threshold");
      } else if (!ok) {
        bad("threshold_by", "threshold_by must be one or a list of distinct \"target-and-address\", "
                            "\"target\", \"address-over-targets\"");
      } else {
        r->threshold_by = std::move(by);
      }
    }
    if (errors_.size() != errors_before) return nullptr;
    return r;
  }

  void compile_regex(const toml::table& t, CompiledRule& r, const std::string& prefix, Reporter& rep) {
    const toml::node* p = t.get("program");
    const toml::node* x = t.get("regex");
    if (p == nullptr || p->as_string() == nullptr || p->as_string()->get().empty()) {
      rep.add(p ? ErrorCode::wrong_type : ErrorCode::missing_key, p ? p->source() : t.source(),
              prefix + ".program", "syslog rules need program = \"NAME\"");
    } else {
      r.program = p->as_string()->get();
    }
    if (x == nullptr || x->as_string() == nullptr) {
      rep.add(x ? ErrorCode::wrong_type : ErrorCode::missing_key, x ? x->source() : t.source(),
              prefix + ".regex", "syslog rules need regex = '...'");
      return;
    }
    if (t.get("events")) {
      rep.add(ErrorCode::bad_value, t.get("events")->source(), prefix + ".events",
              "syslog rules match a program's messages, not decoded events");
    }
    const std::string& pattern = x->as_string()->get();
    if (pattern.empty()) {
      rep.add(ErrorCode::bad_value, x->source(), prefix + ".regex", "regex is empty (it would match every line)");
      return;
    }
    if (const std::string name = unknown_capture(pattern); !name.empty()) {
      rep.add(ErrorCode::bad_value, x->source(), prefix + ".regex",
              "named capture " + name + " is none of principal, user, address, target");
      return;
    }
    try {
      r.regex.emplace(pattern, boost::regex::perl);
    } catch (const std::exception& e) {
      rep.add(ErrorCode::bad_value, x->source(), prefix + ".regex", std::string("invalid regex: ") + e.what());
      return;
    }
    if (regex_uses_recursion(*r.regex)) {
      rep.add(ErrorCode::bad_value, x->source(), prefix + ".regex",
              "regex recursion ((?R), (?1), (?&name)) is not allowed: its cost on a crafted line is not bounded");
      r.regex.reset();
      return;
    }
    r.captures.principal = named_index(*r.regex, "principal");
    r.captures.user = named_index(*r.regex, "user");
    r.captures.address = named_index(*r.regex, "address");
    r.captures.target = named_index(*r.regex, "target");
  }

  // The first named group "(?<name>" or "(?'name'" (Boost's perl syntax) whose name is not
  // a field the engine maps (a typo would silently capture nothing), or "". Lookbehinds
  // "(?<=" and "(?<!" name nothing; an escaped "\(" opens no group.
  static std::string unknown_capture(std::string_view re) {
    for (std::size_t i = 0; i + 3 < re.size(); ++i) {
      if (re[i] == '\\') {
        ++i;
        continue;
      }
      if (re[i] != '(' || re[i + 1] != '?') continue;
      std::size_t p = i + 2;
      if (re[p] != '<' && re[p] != '\'') continue;
      const char close = re[p] == '<' ? '>' : '\'';
      ++p;
      if (p < re.size() && (re[p] == '=' || re[p] == '!')) continue;
      const std::size_t end = re.find(close, p);
      if (end == std::string_view::npos) continue;  // the regex compiler reports it
      const std::string_view name = re.substr(p, end - p);
      if (name != "principal" && name != "user" && name != "address" && name != "target") return std::string(name);
    }
    return {};
  }

  static int named_index(const boost::regex& re, const std::string& name) {
    // The index of a named sub-expression "(?<name>...)", or -1.
    const int i = re.get_named_subs()->get_id(name.data(), name.data() + name.size());
    return i > 0 ? i : -1;
  }

  const RulesConfig& config_;
  Errors errors_;
};

Expected<std::shared_ptr<const Ruleset>> Ruleset::compile(const std::vector<RuleFile>& files,
                                                          const RulesConfig& config) {
  try {
    RulesetCompiler c(config);
    return c.compile(files);
  } catch (const std::exception& e) {
    return Error{ErrorCode::internal, {}, "", std::string("rule compiler failed: ") + e.what()};
  }
}

// ---- evaluation ------------------------------------------------------------------------------

std::string_view rule_target_name(const CompiledRule& rule, const Event& ev, const EventFacts& f) noexcept {
  if (const HostEntry* h = rule_target(rule, f)) return h->name;
  switch (rule.target) {
    case TargetFrom::none: return {};
    case TargetFrom::service: return f.service_instance;
    case TargetFrom::host: return ev.host;
    case TargetFrom::principal:
      return f.has_principal && f.principal_guest != nullptr ? std::string_view(f.principal_guest->name) : std::string_view{};
    case TargetFrom::record: return ev.record_host;
  }
  return {};
}

namespace {
// a == b for the short words of status lists: sizes first, then an inlined byte loop (no
// library call per rule and line).
inline bool same_word(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}
}  // namespace

bool rule_may_match(const CompiledRule& r, const Event& ev, bool& refusal) noexcept {
  refusal = false;
  if ((r.event_mask & (1u << static_cast<unsigned>(ev.kind))) == 0) return false;
  if (r.event_source != EventSource::none && r.event_source != ev.source) return false;
  if (!r.refusal_word.empty() && same_word(ev.status, r.refusal_word)) {
    refusal = true;
    return true;
  }
  if (!r.status.empty()) {
    bool ok = false;
    for (const StatusPattern& p : r.status) {
      if (p.prefix ? same_word(ev.status.substr(0, p.text.size()), p.text) : same_word(ev.status, p.text)) {
        ok = true;
        break;
      }
    }
    if (!ok) return false;
  }
  if (!r.verdicts.empty() && std::find(r.verdicts.begin(), r.verdicts.end(), ev.status) == r.verdicts.end()) {
    return false;
  }
  return !(r.record_rule_same && ev.rule != r.id);
}

std::uint32_t rule_fact_needs(const CompiledRule& r) noexcept {
  std::uint32_t n = 0;
  if (r.service != ServiceCond::any || r.target == TargetFrom::service) n |= kFactService;
  if (r.target == TargetFrom::host) n |= kFactLoggingHost;
  if (r.target == TargetFrom::record) n |= kFactRecordHost;
  if (r.address != AddressCond::any) n |= kFactAddress;
  return n;
}

bool rule_needs_principal(const CompiledRule& r) noexcept {
  return r.class_mask != 0 || r.vs_principal_host != VsPrincipalHost::any || r.target == TargetFrom::principal;
}

namespace {
// ev.service is kadmin/changepw@R with R the client's realm (as the kdcpolicy module's
// is_password_change, whose realm is the site's: a host-specific client is always in it).
// The service first: it is kadmin/changepw on few lines, and the principal's rfind('@') cost ~60
// instructions on every TGS line toward a guest (rule special-cred-wrong-target asks).
bool is_password_change(const Event& ev) noexcept {
  constexpr std::string_view kChangepw = "kadmin/changepw@";
  if (!ev.service.starts_with(kChangepw)) return false;
  const std::size_t at = ev.principal.rfind('@');
  return at != std::string_view::npos && ev.service.substr(kChangepw.size()) == ev.principal.substr(at + 1);
}

bool fail(std::string* why, const char* text) {
  if (why != nullptr) *why = text;
  return false;
}
}  // namespace

bool rule_matches(const CompiledRule& r, const Event& ev, const EventFacts& f, std::string* why) {
  if ((r.event_mask & (1u << static_cast<unsigned>(ev.kind))) == 0) return fail(why, "event kind differs");
  if (!r.refusal_word.empty() && ev.status == r.refusal_word) {
    if (why != nullptr) *why = "matched (refused by hopguard's kdcpolicy for this rule)";
    return true;
  }
  if (!r.status.empty()) {
    bool ok = false;
    for (const StatusPattern& p : r.status) {
      if (p.prefix ? ev.status.substr(0, p.text.size()) == p.text : ev.status == p.text) {
        ok = true;
        break;
      }
    }
    if (!ok) return fail(why, "status not listed");
  }
  if (!r.verdicts.empty() &&
      std::find(r.verdicts.begin(), r.verdicts.end(), ev.status) == r.verdicts.end()) {
    return fail(why, "verdict not listed");
  }
  if (r.record_rule_same && ev.rule != r.id) return fail(why, "record names another rule");
  return rule_facts_hold(r, ev, f, why);
}

namespace {
// rule_facts_hold, compiled twice: with kExplain the failed condition is written to why (when
// not null); without it, for the engine's per-line calls, no string is touched (the code for
// the assignments made the hot version save and restore registers on every call).
template <bool kExplain>
bool facts_hold(const CompiledRule& r, const Event& ev, const EventFacts& f, std::string* why) {
  const auto fail = [why](const char* text) {
    if constexpr (kExplain) {
      if (why != nullptr) *why = text;
    } else {
      (void)why;
      (void)text;
    }
    return false;
  };
  // Not a field condition of rule_may_match(): those are memoised by status and rule= alone.
  for (const std::string& d : r.detail_not) {
    if (ev.detail == d) return fail("detail is excluded (detail_not)");
  }
  if (r.class_mask != 0 && !f.principal_pending && (r.class_mask & principal_class_bit(f)) == 0) {
    return fail("principal class not listed");
  }
  if (const char* failed = service_failure(r, f.service_is_tgt)) return fail(failed);
  if (r.service == ServiceCond::not_tgt_nor_password_change && is_password_change(ev)) {
    return fail("service is the password change service");
  }
  const HostEntry* target = rule_target(r, f);
  if (r.target != TargetFrom::none && !(f.principal_pending && r.target == TargetFrom::principal) &&
      !rule_role_holds(r, target)) {
    return fail("target role not listed");
  }
  if (r.vs_principal_host != VsPrincipalHost::any && !f.principal_pending) {
    const bool same = target != nullptr && f.principal_host != nullptr && target == f.principal_host;
    if (r.vs_principal_host == VsPrincipalHost::same && !same) return fail("target is not the principal's host");
    if (r.vs_principal_host == VsPrincipalHost::different && same) return fail("target is the principal's host");
    if (r.vs_principal_host == VsPrincipalHost::different_or_other_account && same && !f.account_not_principal_user) {
      return fail("target is the principal's host, for its own user");
    }
  }
  if (const char* failed = address_failure(r, !ev.address.empty(), f.address_is_bastion, f.address_allowed)) {
    return fail(failed);
  }
  if constexpr (kExplain) {
    if (why != nullptr) *why = "matched";
  }
  return true;
}
}  // namespace

bool rule_facts_hold(const CompiledRule& r, const Event& ev, const EventFacts& f, std::string* why) {
  return why != nullptr ? facts_hold<true>(r, ev, f, why) : facts_hold<false>(r, ev, f, nullptr);
}

bool rule_facts_hold(const CompiledRule& r, const Event& ev, const EventFacts& f) noexcept {
  return facts_hold<false>(r, ev, f, nullptr);
}

FactMasks fact_masks(const std::vector<const CompiledRule*>& rules) noexcept {
  FactMasks m;
  for (std::size_t i = 0; i < rules.size() && i < 64; ++i) {
    const CompiledRule& r = *rules[i];
    const std::uint64_t bit = std::uint64_t{1} << i;
    if (!r.detail_not.empty() || r.service == ServiceCond::not_tgt_nor_password_change) m.text |= bit;
    if (rule_needs_principal(r)) m.principal |= bit;
    for (unsigned k = 0; k < std::size(m.principal_class); ++k) {
      if (r.class_mask == 0 || (r.class_mask & (1u << k)) != 0) m.principal_class[k] |= bit;
    }
    for (const bool tgt : {false, true}) {
      if (service_failure(r, tgt) == nullptr) m.tgt[tgt] |= bit;
    }
    for (std::size_t k = 0; k < 3; ++k) {
      // The role condition, on the one host that is the rule's target (a rule whose target is the
      // principal's host is asked once the principal is classified).
      const bool holds = rule_role_holds(r, std::uint32_t{1} << k);  // the role of index k (role_index)
      if (r.target != TargetFrom::service || holds) m.service_role[k] |= bit;
      if (r.target != TargetFrom::host || holds) m.logging_role[k] |= bit;
      if (r.target != TargetFrom::record || holds) m.record_role[k] |= bit;
    }
    for (const bool present : {false, true}) {
      for (const bool bastion : {false, true}) {
        for (const bool allowed : {false, true}) {
          if (address_failure(r, present, bastion, allowed) == nullptr) {
            m.address[FactMasks::address_index(present, bastion, allowed)] |= bit;
          }
        }
      }
    }
  }
  return m;
}

}  // namespace hopguard::scanner
