// The detection engine: the whole scanner pipeline behind one object, for `hopguard scan`,
// `hopguard rules test` and hopguardd.
//
//   bytes -> Framer (framing.hpp, one per stream) -> frame
//   frame -> Engine::feed_line -> syslog record -> decoder (by program) -> event
//         -> rules x policy -> match -> correlator -> Alarm (to the caller's sink)
//
// Contract:
// - Pure: no I/O, threads, clocks or globals. Time comes in as parameters: receive_ms with
//   every line, now_ms with flush(). Event times come from the log lines themselves.
// - Not thread-safe: one Engine per pipeline thread. feed_line never throws and never stalls:
//   cost is linear in the line length (user regexes are bounded by the match limit).
// - Every line is counted in EngineStats (decoded per source, skipped, parse failure).
// - One incident per (rule, principal, target) within the window ([alarms] window_seconds):
//   KDC and host evidence merge into one Alarm with a count and event.start/event.end. By
//   default an incident's Alarm is emitted when its window closes (EmitMode::at_window_end),
//   which gives exactly one alarm per incident with all evidence. EmitMode::first_evidence emits
//   at the first evidence (lowest latency) and, if more evidence merged before the window
//   closed, a second Alarm for the same incident with the full count and evidence.
// - A window closes when event time (the watermark: the newest event time seen, or now_ms given
//   to flush) passes incident start + window + skew. Evidence up to skew seconds out of order
//   still merges.
// - Flood: at most max_open_incidents incidents are open; beyond that, new incidents of a rule
//   fold into one aggregate Alarm per rule (Alarm::aggregated = incidents folded) emitted when
//   its window closes. Nothing is dropped silently. A flood of one rule does not aggregate
//   another's: a new incident of a rule holding fewer open incidents (by two) than the rule
//   holding the most makes that rule close one of its incidents early (emitted whole) and opens.
// - Alarms are delivered through the AlarmSink passed to each call, synchronously, in order.
#pragma once

#include "decoder.hpp"
#include "event.hpp"
#include "framing.hpp"
#include "ruleset.hpp"
#include "syslog_record.hpp"

#include <hopguard/alarm.hpp>
#include <hopguard/error.hpp>
#include <hopguard/policy.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hopguard::scanner {

using AlarmSink = std::function<void(const Alarm&)>;

enum class EmitMode : std::uint8_t { at_window_end, first_evidence };

struct EngineOptions {
  EmitMode emit = EmitMode::at_window_end;
  std::size_t max_open_incidents = 10000;  // beyond this, new incidents aggregate per rule
  std::size_t max_evidence_line = 2048;    // evidence lines are cut to this many bytes
  SyslogOptions syslog;                    // header parsing options
  // Window and skew: 0 means take them from the policy ([alarms] window_seconds, skew_seconds).
  std::uint32_t window_seconds = 0;
  std::uint32_t skew_seconds = 0;
  // Entries of the bounded lookup memos, each emptied when full: the principal cache (names
  // libkrb5 parses; 64 x 2 x entries bytes of slots) and the memos of host names, addresses and
  // services. The defaults suit a busy realm; a fuzzer makes them small, so that an engine per
  // input is cheap to build and their emptying runs often.
  std::size_t principal_cache_entries = 8192;
  std::size_t memo_entries = 4096;
};

struct EngineStats {
  std::uint64_t lines = 0;
  std::uint64_t bytes = 0;
  std::uint64_t skipped = 0;  // lines of programs no decoder handles
  std::array<std::uint64_t, 4> decoded{};         // events, by EventSource (index 0 unused)
  std::array<std::uint64_t, 4> ignored{};         // lines of a known program that carry no event
  std::array<std::uint64_t, 4> parse_failures{};  // lines of a known program not understood
  std::uint64_t matches = 0;                      // rule matches (evidence lines)
  std::uint64_t alarms = 0;
  std::uint64_t aggregated_incidents = 0;         // incidents folded into aggregate alarms
  std::uint64_t time_unknown = 0;                 // records without a parsable timestamp
  std::uint64_t future_dated = 0;                 // records dated more than the skew after receipt
  std::map<std::string, std::uint64_t> alarms_by_rule;
  // User regex searches that ran out of their limits (regex_search.hpp) or failed in Boost: the
  // rule alarmed, failing closed.
  std::map<std::string, std::uint64_t> regex_errors_by_rule;
};

// What became of one line fed to the engine: counted in EngineStats as skipped (no decoder
// takes its program), or by its decoder's source as decoded (event), ignored (no_event) or
// parse_failure.
enum class LineOutcome : std::uint8_t { skipped, event, no_event, parse_failure };
struct LineResult {
  LineOutcome outcome = LineOutcome::skipped;
  EventSource source = EventSource::none;  // the decoder's source; none when skipped
};

// What `hopguard rules test` shows for one line.
struct Explanation {
  SyslogRecord record;        // views into the line passed to explain()
  bool unwrapped = false;     // the imfile form was unwrapped
  std::string decoder;        // "krb5kdc", "sshd", "hopguard" or "" (skipped)
  bool decoded = false;
  std::vector<std::pair<std::string, std::string>> fields;  // decoded event fields (non-empty)
  std::vector<std::pair<std::string, std::string>> facts;   // classes and policy facts
  std::vector<RuleTrace> rules;                              // every rule tried
};

class Engine {
 public:
  // policy and rules are shared read-only; replace() swaps them (hopguardd SIGHUP) and keeps
  // the correlation state.
  Engine(std::shared_ptr<const Policy> policy, std::shared_ptr<const Ruleset> rules,
         EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void replace(std::shared_ptr<const Policy> policy, std::shared_ptr<const Ruleset> rules);

  // One frame (one syslog message, without its line ending). Alarms whose window this line's
  // event time closed are delivered to sink before this call returns. The result says what
  // became of the line (the same count EngineStats took), so that a caller that knows where the
  // line came from (`hopguard scan`: file and line) can name the lines it could not read.
  // sender: the address of the network peer that sent the frame (hopguardd's listeners), or
  // empty. A record whose header has no HOSTNAME takes it as its host, as rsyslog does: an old
  // guest's syslogd forwards "<38>sshd[400]: Accepted ..." without one, and a login on the guest
  // must still have its target (a relay in between would have filled in the same address).
  LineResult feed_line(std::string_view line, std::int64_t receive_ms, const AlarmSink& sink,
                       std::string_view sender = {});

  // Advances time to now_ms (the daemon calls this periodically with its clock): closes every
  // window that ended before now_ms - skew and delivers their alarms.
  void flush(std::int64_t now_ms, const AlarmSink& sink);

  // End of input (`hopguard scan`, SIGTERM drain): closes every open incident now.
  void finish(const AlarmSink& sink);

  // The record, event, facts and rule traces for one line, without touching the correlation
  // state or the statistics.
  Explanation explain(std::string_view line, std::int64_t receive_ms) const;

  const EngineStats& stats() const noexcept;
  std::size_t open_incidents() const noexcept;

  // Correlation state (open incidents, threshold counters, watermark) as one JSON text, so the
  // daemon can persist it across restarts; restore() replaces the current state with it.
  // A snapshot from an incompatible version or corrupt text is an error (state unchanged).
  std::string snapshot() const;
  Expected<bool> restore(std::string_view snapshot_text);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hopguard::scanner
