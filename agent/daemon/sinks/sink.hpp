// Where alarms go. Every sink is these four methods; the registry of kinds is make_sinks()
// in sink_registry.cpp. A sink is used by one thread at a time (its own delivery thread, or
// the scan stage for the JSONL log), so implementations need no locking of their own.
#pragma once

#include <string>
#include <string_view>

namespace hopguard::agent {

struct Delivery {
  bool ok = true;
  std::string error;  // one short phrase when !ok (logged with the sink name)
  static Delivery failed(std::string why) { return Delivery{false, std::move(why)}; }
};

class Sink {
 public:
  virtual ~Sink() = default;
  // "jsonl", "syslog", "exec", "webhook": used in log lines, metrics and spool file names.
  virtual std::string_view name() const = 0;
  // Delivers one alarm (one JSON object, no newline). ok means the receiver has it (or, for
  // buffered sinks, that flush() will make it durable).
  virtual Delivery deliver(std::string_view alarm_json) = 0;
  // Durability barrier: everything delivered so far is on stable storage / acknowledged.
  virtual Delivery flush() { return {}; }
  // SIGHUP: reopen files or connections (logrotate moved the file away).
  virtual void reopen() {}
};

}  // namespace hopguard::agent
