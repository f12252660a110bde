// An alarm: one incident (rule, principal, target) with its evidence (DESIGN section 7, contract).
// Produced by the scanner's correlator, written by the agent's sinks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hopguard {

// One log line that contributed to an alarm.
struct Evidence {
  std::string source;  // "kdc", "sshd", "pam", "localauth", "kdcpolicy"
  std::string host;    // the host that logged it (syslog hostname or KDC host)
  std::string line;    // the original line, bounded by the producer
  std::int64_t time_ms = 0;  // event time, ms since the Unix epoch (UTC)
};

// The first half and the latest half of an incident's lines are kept; the others only count.
inline constexpr std::size_t kMaxEvidencePerAlarm = 16;

struct Alarm {
  std::int64_t timestamp_ms = 0;  // @timestamp: event time of the newest evidence
  std::int64_t start_ms = 0;      // event.start: first evidence
  std::int64_t end_ms = 0;        // event.end: newest evidence
  std::string rule_id;            // rule_id:: constant (rule.id)
  std::string rule_name;          // rule.name
  int severity = 0;               // event.severity, 0..100
  std::string user;               // user.name; empty when unknown
  std::string source_ip;          // source.ip; empty when unknown
  std::string principal;          // hopguard.principal; empty when unknown
  std::string principal_class;    // hopguard.principal_class (principal.hpp to_string)
  std::string target;             // hopguard.target: bastion or legacy short name
  std::uint64_t count = 0;        // hopguard.count: evidence lines merged into this incident
  std::vector<Evidence> evidence; // hopguard.evidence: at most kMaxEvidencePerAlarm
  // Set on the report an aggregation emits instead of individual alarms under a flood
  // (hopguard.aggregated = number of incidents folded into this one); 0 otherwise.
  std::uint64_t aggregated = 0;
};

// One line of JSON, no trailing newline, ECS names with nested objects exactly as DESIGN
// section 7; strings are JSON-escaped and invalid UTF-8 is replaced, so the line is always
// valid JSON. Implemented in scanner/alarm_json.cpp.
std::string to_json(const Alarm& alarm);

}  // namespace hopguard
