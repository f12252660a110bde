#include "correlator.hpp"

#include "text_search.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace hopguard::scanner {

namespace {

constexpr char kSep = '\x1f';  // never in a principal, user or host name we key on (escaped in logs)
constexpr int kSnapshotVersion = 1;

// An incident keeps its first kMaxEvidencePerAlarm / 2 lines and its latest ones: with the first
// lines alone, anyone who can put lines into an incident first (unauthenticated clients' failed
// requests into a guessing window, before a real guesser's) decided all of its evidence, and the
// lines that showed the real misuse only counted.
void add_evidence(Alarm& a, const Evidence& e) {
  if (a.evidence.size() >= kMaxEvidencePerAlarm) a.evidence.erase(a.evidence.begin() + kMaxEvidencePerAlarm / 2);
  a.evidence.push_back(e);
}

void widen(Alarm& a, std::int64_t t) {
  a.start_ms = std::min(a.start_ms, t);
  a.end_ms = std::max(a.end_ms, t);
  a.timestamp_ms = a.end_ms;
}

// Inserts hit (its arrival set here) into the group's times (sorted by time); past
// kMaxGroupTimes drops the earliest to arrive.
void add_time(Correlator::Group& g, Correlator::Hit hit) {
  auto& v = g.times;
  hit.arrival = g.arrivals++;
  const auto at = std::upper_bound(v.begin(), v.end(), hit.time_ms,
                                   [](std::int64_t x, const Correlator::Hit& h) { return x < h.time_ms; });
  v.insert(at, hit);
  if (v.size() <= Correlator::kMaxGroupTimes) return;
  v.erase(std::min_element(v.begin(), v.end(), [](const Correlator::Hit& a, const Correlator::Hit& b) {
    return a.arrival < b.arrival;
  }));
}

struct Window {
  std::uint64_t count = 0;
  std::int64_t start_ms = 0;
};

// The most times within window_ms of a first one (two pointers over the sorted times); with
// several_targets, of the windows whose times belong to two targets or more.
Window densest_window(const std::vector<Correlator::Hit>& times, std::int64_t window_ms, bool several_targets) {
  // other[i]: the first k > i whose target differs from times[i]'s (times.size() if none), so
  // that the window [i, j] spans several targets iff other[i] <= j.
  std::vector<std::size_t> other;
  if (several_targets) {
    other.assign(times.size(), times.size());
    for (std::size_t i = times.size(); i-- > 1;) {
      other[i - 1] = times[i].target != times[i - 1].target ? i : other[i];
    }
  }
  Window best;
  std::size_t j = 0;
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (j < i) j = i;
    while (j + 1 < times.size() && times[j + 1].time_ms - times[i].time_ms <= window_ms) ++j;
    if (several_targets && other[i] > j) continue;
    if (j - i + 1 > best.count) best = Window{j - i + 1, times[i].time_ms};
  }
  return best;
}

}  // namespace

std::string Correlator::incident_key(std::string_view rule, std::string_view who, std::string_view target) {
  std::string key;
  key.reserve(rule.size() + who.size() + target.size() + 2);
  key.append(rule).push_back(kSep);
  key.append(who).push_back(kSep);
  key.append(target);
  return key;
}

// MIT krb5kdc logs a name of kKdcCutAt bytes or more as its first kKdcKept bytes and "...",
// while the kdcpolicy module's record (and a host's line) of the same request names it whole:
// for the two sides to meet in one incident, a match of either form with no open incident of
// its own joins an open incident of the other form (same rule and target), if there is one.
// Two whole names that share their first kKdcKept bytes stay two incidents. key: the match's
// own key; returned unchanged when there is no such incident.
std::string Correlator::kdc_cut_counterpart(std::string_view rule, const Match& m, std::string key) const {
  const std::string_view name = m.principal;
  if (name.size() >= kKdcCutAt) {  // a whole name: its cut form's incident
    std::string cut(name.substr(0, kKdcKept));
    cut.append("...");
    std::string cut_key = incident_key(rule, cut, m.target);
    return incidents_.count(cut_key) != 0 ? cut_key : key;
  }
  if (name.size() == kKdcKept + 3 && name.ends_with("...")) {  // a cut form: a whole name's incident
    std::string prefix(rule);
    prefix.push_back(kSep);
    prefix.append(name.substr(0, kKdcKept));
    std::string tail(1, kSep);
    tail.append(m.target);
    // Keys sort by rule, then name: the whole names that start with these bytes are together.
    // Bounded: a flood of such names must not make each cut line walk all of them.
    int looked = 0;
    for (auto it = incidents_.lower_bound(prefix);
         it != incidents_.end() && looked < 16 && std::string_view(it->first).starts_with(prefix); ++it, ++looked) {
      const std::string_view k = it->first;
      if (k.size() >= prefix.size() + (kKdcCutAt - kKdcKept) + tail.size() && k.ends_with(tail)) return it->first;
    }
  }
  return key;
}

std::string Correlator::add(const Match& match, const Sink& sink) {
  // The names come from log lines, as long as a frame in a forged line; every open incident and
  // threshold group keys on them and keeps them (a flood of distinct 60 KB addresses made each
  // group hold 120 KB of them). Cut to kMaxName bytes here, so that what the correlator holds
  // is bounded by its counts alone. No honest name is that long (DESIGN section 4: principals
  // over 255 bytes are invalid); the evidence keeps the line itself.
  Match m = match;
  m.principal = m.principal.substr(0, kMaxName);
  m.principal_class = m.principal_class.substr(0, kMaxName);
  m.user = m.user.substr(0, kMaxName);
  m.source_ip = m.source_ip.substr(0, kMaxName);
  m.target = m.target.substr(0, kMaxName);
  const CompiledRule& r = *m.rule;
  if (r.threshold == 0) {
    std::string key = incident_key(r.id, m.principal.empty() ? m.user : m.principal, m.target);
    // Only a name of the KDC's cut length or longer can have a counterpart: no second lookup for
    // the others.
    if (m.principal.size() >= kKdcKept + 3 && incidents_.count(key) == 0) {
      key = kdc_cut_counterpart(r.id, m, std::move(key));
    }
    key = open_or_merge(key, m, 1, nullptr);
    emit(sink);
    return key;
  }
  // Threshold rule: the match counts in the group of each of the rule's groupings; an incident
  // opens when a group reaches the threshold.
  std::string key;
  for (const ThresholdBy by : r.threshold_by) {
    std::string k = count_in_group(m, by);
    if (!k.empty()) key = std::move(k);
  }
  emit(sink);
  return key;
}

std::string Correlator::count_in_group(const Match& match, ThresholdBy by) {
  const CompiledRule& r = *match.rule;
  const bool per_address = by != ThresholdBy::target;
  const bool over_targets = by == ThresholdBy::address_over_targets;
  // An incident of a group over several targets names none (as one over several principals names
  // no principal): the match that opens it or merges into it carries no target.
  Match m = match;
  if (over_targets) m.target = {};
  // Keys: rule, "", then the target, or kOverTargets (never in a configured host name) for the
  // groups of one address over every target; then the address of a per-address group.
  constexpr char kOverTargets = '\x1d';
  std::string key;
  key.append(r.id).push_back(kSep);
  key.push_back(kSep);
  if (over_targets) {
    key.push_back(kOverTargets);
  } else {
    key.append(m.target);
  }
  key.push_back(kSep);
  if (per_address) key.append(m.source_ip);
  if (incidents_.count(key) != 0) return open_or_merge(key, m, 1, nullptr);
  if (per_address && groups_.size() >= options_.max_threshold_groups && groups_.count(key) == 0) {
    // Too many sources at once: count them together, never drop them.
    key.resize(key.size() - m.source_ip.size());
    key.push_back('*');
    if (incidents_.count(key) != 0) return open_or_merge(key, m, 1, nullptr);
  }
  Group& g = groups_[key];
  const std::uint64_t source = hash_bytes(m.source_ip), principal = hash_bytes(m.principal);
  add_time(g, Hit{m.event_ms, 0, over_targets ? hash_bytes(match.target) : 0, source, principal});
  // The evidence of the latest matches to arrive, as their times: the one that completes a window
  // is always among it.
  if (g.evidence.size() >= kMaxEvidencePerAlarm) g.evidence.erase(g.evidence.begin());
  g.evidence.push_back(m.evidence);
  const Window w = densest_window(g.times, r.window_ms, over_targets);
  if (w.count < r.threshold) return {};
  const auto in_window = [&](std::int64_t t) { return t >= w.start_ms && t - w.start_ms <= r.window_ms; };
  // The incident names this match's address and principal when every match of the window
  // shares them (the window holds this match: before it, no window of the group held the
  // threshold), and none otherwise.
  bool mixed_sources = false, mixed_principals = false;
  for (const Hit& h : g.times) {
    if (!in_window(h.time_ms)) continue;
    mixed_sources = mixed_sources || h.source != source;
    mixed_principals = mixed_principals || h.principal != principal;
  }
  Match first = m;
  if (mixed_sources) first.source_ip = {};
  if (mixed_principals) {
    first.principal = {};
    first.principal_class = {};
    first.user = {};
  }
  // The window that reached the threshold becomes the incident: its times and evidence leave the
  // group; matches dated elsewhere (forged ones among them) stay and go on counting, and neither
  // widen the alarm's time range nor take its evidence slots.
  std::vector<Evidence> evidence;
  std::erase_if(g.evidence, [&](Evidence& e) {
    if (!in_window(e.time_ms)) return false;
    evidence.push_back(std::move(e));
    return true;
  });
  std::erase_if(g.times, [&](const Hit& h) { return in_window(h.time_ms); });
  if (g.times.empty()) groups_.erase(key);
  std::string k = open_or_merge(key, first, w.count, &evidence);
  if (auto it = incidents_.find(k); it != incidents_.end()) {
    it->second.alarm.start_ms = std::min(it->second.alarm.start_ms, w.start_ms);
  }
  return k;
}

std::string Correlator::open_or_merge(const std::string& key, const Match& m, std::uint64_t add_count,
                                      const std::vector<Evidence>* held) {
  const CompiledRule& r = *m.rule;
  auto it = incidents_.find(key);
  if (it != incidents_.end() &&
      (m.event_ms < it->second.alarm.start_ms - options_.skew_ms ||
       m.event_ms > it->second.deadline_ms + options_.skew_ms)) {
    // Same (rule, principal, target) but far outside the open incident's window (input out of
    // order by more than the skew): a separate incident, under a key of its own.
    return open_or_merge(key + '\x1e' + std::to_string(m.event_ms / std::max<std::int64_t>(1, options_.window_ms)),
                         m, add_count, held);
  }
  if (it != incidents_.end()) {
    Alarm& a = it->second.alarm;
    a.count += add_count;
    add_evidence(a, m.evidence);
    widen(a, m.event_ms);
    if (a.source_ip.empty() && r.threshold == 0) {
      a.source_ip = m.source_ip;
    } else if (r.threshold != 0 && a.source_ip != m.source_ip) {
      a.source_ip.clear();  // a threshold incident over several addresses names none
    }
    if (a.user.empty() && r.threshold == 0) a.user = m.user;
    if (a.principal.empty() && r.threshold == 0) {
      a.principal = m.principal;
      a.principal_class = m.principal_class;
    } else if (r.threshold != 0 && a.principal != m.principal) {
      a.principal.clear();  // a threshold incident over several principals names none (nor a user)
      a.principal_class.clear();
      a.user.clear();
    }
    return key;
  }
  Alarm a;
  a.rule_id = r.id;
  a.rule_name = r.name;
  a.severity = r.severity;
  a.principal = m.principal;
  a.principal_class = m.principal_class;
  a.user = m.user;
  a.source_ip = m.source_ip;
  a.target = m.target;
  a.count = add_count;
  a.start_ms = a.end_ms = a.timestamp_ms = m.event_ms;
  if (held != nullptr) {
    for (const Evidence& e : *held) {
      add_evidence(a, e);
      widen(a, e.time_ms);
    }
  } else {
    add_evidence(a, m.evidence);
  }
  const std::int64_t deadline = a.start_ms + options_.window_ms;
  if (incidents_.size() >= options_.max_open_incidents && !make_room(r.id)) {
    // Flood: fold into the rule's aggregate, reported when its window closes.
    ++aggregated_total_;
    auto [ag, fresh] = aggregates_.try_emplace(r.id);
    Incident& inc = ag->second;
    if (fresh) {
      inc.alarm = a;
      inc.alarm.principal.clear();
      inc.alarm.principal_class.clear();
      inc.alarm.user.clear();
      inc.alarm.source_ip.clear();
      inc.alarm.target.clear();
      inc.alarm.aggregated = 1;
      inc.deadline_ms = deadline;
    } else {
      inc.alarm.count += add_count;
      ++inc.alarm.aggregated;
      add_evidence(inc.alarm, m.evidence);
      widen(inc.alarm, m.event_ms);
    }
    return {};
  }
  Incident inc;
  inc.alarm = std::move(a);
  inc.deadline_ms = deadline;
  if (options_.emit_first_evidence) {
    pending_.push_back(inc.alarm);
    inc.emitted = true;
    inc.emitted_count = inc.alarm.count;
  }
  incidents_.emplace(key, std::move(inc));
  deadlines_.emplace(deadline, key);
  ++open_by_rule_[r.id];
  return key;
}

// The flood aggregate names no principal, target or source, and a flood of one rule is cheap
// to raise (failed AS requests with client names and addresses of the requester's choosing open
// a special-cred-guessing incident per address): it must not push another rule's incident into
// that rule's aggregate. When the rule holding the most open incidents holds at least two more
// than rule_id, its first incident (in key order: keys start with the rule id) closes early,
// whole, and true is returned (room for rule_id's new incident); else false, and the new
// incident folds into its rule's aggregate as before. The margin of two keeps two rules near a
// tie from closing each other's incidents in turn. Each early close emits the alarm its incident
// would have emitted at its deadline, so nothing is added to the output but its timing.
bool Correlator::make_room(const std::string& rule_id) {
  const std::string* top = nullptr;
  std::size_t top_count = 0;
  for (const auto& [id, n] : open_by_rule_) {
    if (n > top_count) {
      top = &id;
      top_count = n;
    }
  }
  const auto own = open_by_rule_.find(rule_id);
  const std::size_t own_count = own == open_by_rule_.end() ? 0 : own->second;
  if (top == nullptr || top_count < own_count + 2) return false;
  std::string prefix = *top;
  prefix.push_back(kSep);
  const auto it = incidents_.lower_bound(prefix);
  if (it == incidents_.end() || !std::string_view(it->first).starts_with(prefix)) return false;
  close(it);
  return true;
}

void Correlator::append(const std::string& key, const Evidence& evidence, std::int64_t event_ms,
                        std::string_view source_ip) {
  auto it = incidents_.find(key);
  if (it == incidents_.end()) return;
  Alarm& a = it->second.alarm;
  ++a.count;
  if (a.source_ip.empty()) a.source_ip = std::string(source_ip.substr(0, kMaxName));
  add_evidence(a, evidence);
  widen(a, event_ms);
}

void Correlator::close(std::map<std::string, Incident>::iterator it) {
  Incident& inc = it->second;
  if (auto n = open_by_rule_.find(inc.alarm.rule_id); n != open_by_rule_.end() && --n->second == 0) {
    open_by_rule_.erase(n);
  }
  if (!inc.emitted || inc.alarm.count > inc.emitted_count) pending_.push_back(std::move(inc.alarm));
  incidents_.erase(it);
}

void Correlator::advance(std::int64_t watermark_ms, const Sink& sink) {
  while (!deadlines_.empty() && deadlines_.begin()->first < watermark_ms) {
    const auto d = deadlines_.begin();
    auto it = incidents_.find(d->second);
    if (it != incidents_.end() && it->second.deadline_ms == d->first) close(it);
    deadlines_.erase(d);
  }
  for (auto it = aggregates_.begin(); it != aggregates_.end();) {
    if (it->second.deadline_ms < watermark_ms) {
      pending_.push_back(std::move(it->second.alarm));
      it = aggregates_.erase(it);
    } else {
      ++it;
    }
  }
  // Forget threshold groups whose window has passed (bounded memory).
  if (groups_.size() > kMaxIdleGroups) {
    std::erase_if(groups_, [&](const auto& kv) {
      return kv.second.times.empty() || kv.second.times.back().time_ms + options_.window_ms + options_.skew_ms < watermark_ms;
    });
  }
  emit(sink);
}

void Correlator::close_all(const Sink& sink) {
  while (!deadlines_.empty()) {
    const auto d = deadlines_.begin();
    auto it = incidents_.find(d->second);
    if (it != incidents_.end() && it->second.deadline_ms == d->first) close(it);
    deadlines_.erase(d);
  }
  for (auto& [id, inc] : aggregates_) pending_.push_back(std::move(inc.alarm));
  aggregates_.clear();
  incidents_.clear();
  open_by_rule_.clear();
  groups_.clear();
  emit(sink);
}

void Correlator::emit(const Sink& sink) {
  // Taken out first: a sink's nested call adds its own alarms to pending_ and emits them itself.
  while (!pending_.empty()) {
    std::vector<Alarm> due;
    due.swap(pending_);
    for (const Alarm& a : due) sink(a);
  }
}

// ---- snapshot ---------------------------------------------------------------------------------

namespace {

nlohmann::json alarm_state(const Alarm& a) {
  nlohmann::json ev = nlohmann::json::array();
  for (const Evidence& e : a.evidence) {
    ev.push_back({{"source", e.source}, {"host", e.host}, {"line", e.line}, {"time_ms", e.time_ms}});
  }
  return {{"timestamp_ms", a.timestamp_ms}, {"start_ms", a.start_ms}, {"end_ms", a.end_ms},
          {"rule_id", a.rule_id}, {"rule_name", a.rule_name}, {"severity", a.severity},
          {"user", a.user}, {"source_ip", a.source_ip}, {"principal", a.principal},
          {"principal_class", a.principal_class}, {"target", a.target}, {"count", a.count},
          {"aggregated", a.aggregated}, {"evidence", ev}};
}

Alarm alarm_from(const nlohmann::json& j) {
  Alarm a;
  a.timestamp_ms = j.at("timestamp_ms").get<std::int64_t>();
  a.start_ms = j.at("start_ms").get<std::int64_t>();
  a.end_ms = j.at("end_ms").get<std::int64_t>();
  a.rule_id = j.at("rule_id").get<std::string>();
  a.rule_name = j.at("rule_name").get<std::string>();
  a.severity = j.at("severity").get<int>();
  a.user = j.at("user").get<std::string>();
  a.source_ip = j.at("source_ip").get<std::string>();
  a.principal = j.at("principal").get<std::string>();
  a.principal_class = j.at("principal_class").get<std::string>();
  a.target = j.at("target").get<std::string>();
  a.count = j.at("count").get<std::uint64_t>();
  a.aggregated = j.at("aggregated").get<std::uint64_t>();
  for (const auto& e : j.at("evidence")) {
    if (a.evidence.size() >= kMaxEvidencePerAlarm) break;
    a.evidence.push_back(Evidence{e.at("source").get<std::string>(), e.at("host").get<std::string>(),
                                  e.at("line").get<std::string>(), e.at("time_ms").get<std::int64_t>()});
  }
  return a;
}

}  // namespace

std::string Correlator::snapshot(std::int64_t watermark_ms) const {
  nlohmann::json incidents = nlohmann::json::array();
  for (const auto& [key, inc] : incidents_) {
    incidents.push_back({{"key", key}, {"deadline_ms", inc.deadline_ms}, {"emitted", inc.emitted},
                         {"emitted_count", inc.emitted_count}, {"alarm", alarm_state(inc.alarm)}});
  }
  nlohmann::json aggregates = nlohmann::json::array();
  for (const auto& [id, inc] : aggregates_) {
    aggregates.push_back({{"key", id}, {"deadline_ms", inc.deadline_ms}, {"alarm", alarm_state(inc.alarm)}});
  }
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& [key, g] : groups_) {
    nlohmann::json ev = nlohmann::json::array();
    for (const Evidence& e : g.evidence) {
      ev.push_back({{"source", e.source}, {"host", e.host}, {"line", e.line}, {"time_ms", e.time_ms}});
    }
    std::vector<Hit> hits = g.times;  // written in arrival order, which restore() keeps
    std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) { return a.arrival < b.arrival; });
    nlohmann::json times = nlohmann::json::array(), targets = nlohmann::json::array(),
                   sources = nlohmann::json::array(), principals = nlohmann::json::array();
    for (const Hit& h : hits) {
      times.push_back(h.time_ms);
      targets.push_back(h.target);
      sources.push_back(h.source);
      principals.push_back(h.principal);
    }
    groups.push_back({{"key", key}, {"times", times}, {"targets", targets}, {"sources", sources},
                      {"principals", principals}, {"evidence", ev}});
  }
  const nlohmann::json j = {{"version", kSnapshotVersion}, {"watermark_ms", watermark_ms},
                            {"incidents", incidents}, {"aggregates", aggregates}, {"groups", groups}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Expected<std::int64_t> Correlator::restore(std::string_view text) {
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    if (j.at("version").get<int>() != kSnapshotVersion) {
      return Error{ErrorCode::bad_value, {}, "version", "snapshot version is not " + std::to_string(kSnapshotVersion)};
    }
    std::map<std::string, Incident> incidents;
    std::multimap<std::int64_t, std::string> deadlines;
    std::map<std::string, Incident> aggregates;
    std::unordered_map<std::string, Group> groups;
    for (const auto& i : j.at("incidents")) {
      Incident inc;
      inc.alarm = alarm_from(i.at("alarm"));
      inc.deadline_ms = i.at("deadline_ms").get<std::int64_t>();
      inc.emitted = i.at("emitted").get<bool>();
      inc.emitted_count = i.at("emitted_count").get<std::uint64_t>();
      const std::string key = i.at("key").get<std::string>();
      deadlines.emplace(inc.deadline_ms, key);
      incidents.emplace(key, std::move(inc));
    }
    for (const auto& i : j.at("aggregates")) {
      Incident inc;
      inc.alarm = alarm_from(i.at("alarm"));
      inc.deadline_ms = i.at("deadline_ms").get<std::int64_t>();
      aggregates.emplace(i.at("key").get<std::string>(), std::move(inc));
    }
    for (const auto& i : j.at("groups")) {
      Group g;
      if (const auto t = i.find("times"); t != i.end()) {
        // In arrival order, with the hashes of each match's target, address and principal.
        // Older snapshots have fewer of them: a missing one reads 0, and a window with such a
        // time then names no address or principal (never a wrong one).
        const auto tag = [&](const char* name, std::size_t k) -> std::uint64_t {
          const auto a = i.find(name);
          return a != i.end() && a->size() == t->size() ? (*a)[k].get<std::uint64_t>() : 0;
        };
        for (std::size_t k = 0; k < t->size(); ++k) {
          add_time(g, Hit{(*t)[k].get<std::int64_t>(), 0, tag("targets", k), tag("sources", k), tag("principals", k)});
        }
      } else {
        // A snapshot written before the times were kept: its count, all at its start.
        const auto n = std::min<std::uint64_t>(i.at("count").get<std::uint64_t>(), kMaxGroupTimes);
        for (std::uint64_t k = 0; k < n; ++k) add_time(g, Hit{i.at("start_ms").get<std::int64_t>()});
      }
      for (const auto& e : i.at("evidence")) {
        if (g.evidence.size() >= kMaxEvidencePerAlarm) break;
        g.evidence.push_back(Evidence{e.at("source").get<std::string>(), e.at("host").get<std::string>(),
                                      e.at("line").get<std::string>(), e.at("time_ms").get<std::int64_t>()});
      }
      groups.emplace(i.at("key").get<std::string>(), std::move(g));
    }
    const std::int64_t watermark = j.at("watermark_ms").get<std::int64_t>();
    incidents_ = std::move(incidents);
    open_by_rule_.clear();
    for (const auto& [key, inc] : incidents_) ++open_by_rule_[inc.alarm.rule_id];
    deadlines_ = std::move(deadlines);
    aggregates_ = std::move(aggregates);
    groups_ = std::move(groups);
    return watermark;
  } catch (const std::exception& e) {
    return Error{ErrorCode::syntax, {}, "", std::string("corrupt correlation snapshot: ") + e.what()};
  }
}

}  // namespace hopguard::scanner
