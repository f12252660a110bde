// Correlator (private to scanner/): matches -> incidents -> alarms. One incident per
// (rule, principal-or-user, target) within the window; threshold rules first count in the
// groups of their threshold_by (per (target, address), per target, per address over several
// targets: ThresholdBy). See engine.hpp for the contract it implements.
#pragma once

#include "compiled_rule.hpp"

#include <hopguard/alarm.hpp>
#include <hopguard/error.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hopguard::scanner {

// One evidence line for one rule, as the engine derived it.
struct Match {
  const CompiledRule* rule = nullptr;
  std::string_view principal;
  std::string_view principal_class;
  std::string_view user;
  std::string_view source_ip;
  std::string_view target;
  std::int64_t event_ms = 0;
  Evidence evidence;  // owns the (bounded) line
};

struct CorrelatorOptions {
  std::int64_t window_ms = 600'000;
  std::int64_t skew_ms = 300'000;
  std::size_t max_open_incidents = 10000;
  bool emit_first_evidence = false;
  // Threshold groups held at once; past it, a new address's matches count in one '*' group per
  // (rule, target) (more counting, never less). Each group may hold kMaxEvidencePerAlarm
  // evidence lines and kMaxGroupTimes times: ~40 KB at most, 400 MB for 10000.
  std::size_t max_threshold_groups = 10000;
};

// The sinks are called only when the correlator's state is whole again, at the end of add(),
// advance() and close_all(), never while it holds an iterator: a sink may feed the engine a line
// of its own (Engine's feed_nested), which may add to, advance or close the very incidents the
// outer call was closing.
class Correlator {
 public:
  using Sink = std::function<void(const Alarm&)>;

  explicit Correlator(CorrelatorOptions options) : options_(options) {}

  // Merges the match into its incident or opens one. Returns the incident key ("" when the
  // match went to a rule's aggregate or only counted toward a threshold).
  std::string add(const Match& match, const Sink& sink);
  // Appends evidence to an open incident (an sshd session failure after its Accepted line; an
  // Accepted line without a principal after the Authorized line of its sshd process, which
  // gives the incident source_ip when it has none).
  void append(const std::string& key, const Evidence& evidence, std::int64_t event_ms,
              std::string_view source_ip = {});
  // Closes every incident whose window ended before watermark_ms (the caller has already
  // subtracted the skew tolerance).
  void advance(std::int64_t watermark_ms, const Sink& sink);
  // False when advance(watermark_ms) would change nothing and call no sink: no incident due, no
  // aggregate, no threshold groups to forget. Asked inline before advance, whose call (with a
  // Sink made from a lambda) costs more than these tests on every line that moves the watermark.
  bool may_advance(std::int64_t watermark_ms) const noexcept {
    return (!deadlines_.empty() && deadlines_.begin()->first < watermark_ms) || !aggregates_.empty() ||
           groups_.size() > kMaxIdleGroups;
  }
  void close_all(const Sink& sink);

  std::size_t open_incidents() const noexcept { return incidents_.size(); }
  std::uint64_t aggregated_incidents() const noexcept { return aggregated_total_; }

  std::string snapshot(std::int64_t watermark_ms) const;
  // Returns the watermark stored in the snapshot.
  Expected<std::int64_t> restore(std::string_view text);

  struct Incident {
    Alarm alarm;
    std::int64_t deadline_ms = 0;  // start + window; closes once watermark - skew passes it
    bool emitted = false;          // first_evidence mode: already emitted once
    std::uint64_t emitted_count = 0;
  };
  // Threshold counting, one group per key of each of the rule's groupings (ThresholdBy). The
  // event times of the latest kMaxGroupTimes matches to arrive are kept, sorted by time, and the
  // rule fires once some window of window_ms holds `threshold` of them, whatever order they came
  // in: a line dated far later (a forged one) adds a time of its own and cannot restart the count
  // of the others; to push a burst's first guesses out, kMaxGroupTimes other matches of the same
  // group must arrive during the burst.
  // A match's address and principal travel with its time as hashes (hash_bytes), so that the
  // incident a window becomes names an address (or a principal) exactly when all the window's
  // matches share it: a stray match of another address an hour earlier, still in the group, must
  // not hide the address of the burst that alarms. The target's hash tells an
  // address_over_targets group whether a window spans two targets.
  struct Hit {
    std::int64_t time_ms = 0;
    std::uint64_t arrival = 0;
    std::uint64_t target = 0;     // address_over_targets groups; else 0
    std::uint64_t source = 0;
    std::uint64_t principal = 0;
  };
  struct Group {
    std::vector<Hit> times;  // sorted by time_ms
    std::uint64_t arrivals = 0;
    std::vector<Evidence> evidence;
  };
  static constexpr std::size_t kMaxGroupTimes = 256;
  static constexpr std::size_t kMaxName = 255;  // bytes kept of a match's names (see add())

 private:
  static constexpr std::size_t kMaxIdleGroups = 1024;  // advance() forgets stale groups past this many
  static std::string incident_key(std::string_view rule, std::string_view who, std::string_view target);
  std::string kdc_cut_counterpart(std::string_view rule, const Match& m, std::string key) const;
  std::string count_in_group(const Match& m, ThresholdBy by);
  std::string open_or_merge(const std::string& key, const Match& m, std::uint64_t add_count,
                            const std::vector<Evidence>* held);
  void close(std::map<std::string, Incident>::iterator it);
  bool make_room(const std::string& rule_id);
  // Calls sink with the alarms due (pending_), each once, those a sink's own nested call makes
  // included.
  void emit(const Sink& sink);

  CorrelatorOptions options_;
  std::map<std::string, Incident> incidents_;
  std::multimap<std::int64_t, std::string> deadlines_;
  std::unordered_map<std::string, Group> groups_;
  std::map<std::string, Incident> aggregates_;  // by rule id, under a flood
  std::unordered_map<std::string, std::size_t> open_by_rule_;  // rule id -> its incidents_ count
  std::vector<Alarm> pending_;  // alarms due, not yet given to the sink (see emit)
  std::uint64_t aggregated_total_ = 0;
};

}  // namespace hopguard::scanner
