#include "self_watch.hpp"

#include "daemon_log.hpp"

namespace hopguard::agent {

SelfWatch::SelfWatch(Metrics& metrics, std::vector<std::string> inputs, SelfWatchOptions options,
                     std::function<void(Alarm)> raise)
    : metrics_(metrics), options_(std::move(options)), raise_(std::move(raise)) {
  const auto now = std::chrono::steady_clock::now();
  for (auto& name : inputs) {
    Input in;
    in.lines = &metrics_.counter("hopguard_input_lines_total", "Frames read, by input", "input", name);
    in.name = std::move(name);
    in.last_value = in.lines->load();
    in.last_change = now;
    inputs_.push_back(std::move(in));
  }
  last_failure_check_ = now;
  last_queue_alarm_ = now - options_.repeat;
}

void SelfWatch::raise(std::string_view rule, std::string_view name, int severity,
                      std::string target, std::string text, std::int64_t wall_ms,
                      std::uint64_t count) {
  Alarm a;
  a.timestamp_ms = a.start_ms = a.end_ms = wall_ms;
  a.rule_id = std::string(rule);
  a.rule_name = std::string(name);
  a.severity = severity;
  a.target = std::move(target);
  a.count = count;
  a.evidence.push_back(Evidence{"hopguardd", options_.hostname, std::move(text), wall_ms});
  LogLine("self-alarm").kv("rule", rule).kv("subject", a.target);
  raise_(std::move(a));
}

void SelfWatch::check(std::chrono::steady_clock::time_point now, std::int64_t wall_ms) {
  if (options_.silence.count() > 0) {
    for (Input& in : inputs_) {
      const std::uint64_t v = in.lines->load(std::memory_order_relaxed);
      if (v != in.last_value) {
        in.last_value = v;
        in.last_change = now;
        in.reported = false;
      } else if (!in.reported && now - in.last_change >= options_.silence) {
        in.reported = true;
        raise("hopguard-input-silent", "An input of hopguardd went silent", 50, in.name,
              in.name + " read no line for " + std::to_string(options_.silence.count()) + " s",
              wall_ms, 1);
      }
    }
  }
  const std::uint64_t pressure =
      metrics_.counter("hopguard_input_backpressure_total", "").load() +
      metrics_.counter("hopguard_input_dropped_total", "", "reason", "queue_full").load();
  if (pressure != last_pressure_) {
    if (now - last_queue_alarm_ >= options_.repeat) {
      last_queue_alarm_ = now;
      raise("hopguard-queue-full", "hopguardd's input queue was full", 60, "queue",
            "senders paused or datagrams dropped " + std::to_string(pressure - last_pressure_) +
                " times since the last check (see hopguard_input_backpressure_total and "
                "hopguard_input_dropped_total)",
            wall_ms, pressure - last_pressure_);
    }
    last_pressure_ = pressure;
  }
  if (now - last_failure_check_ >= std::chrono::seconds(60)) {
    last_failure_check_ = now;
    for (const char* source : {"kdc", "sshd", "hopguard"}) {
      const std::uint64_t f =
          metrics_.counter("hopguard_parse_failures_total", "", "source", source).load();
      const std::uint64_t d =
          metrics_.counter("hopguard_decoded_lines_total", "", "source", source).load();
      const std::uint64_t df = f - last_failures_[source];
      const std::uint64_t dd = d - last_decoded_[source];
      last_failures_[source] = f;
      last_decoded_[source] = d;
      auto& last = last_failure_alarm_[source];
      if (df >= 100 && df * 10 >= dd && (last == std::chrono::steady_clock::time_point{} ||
                                         now - last >= options_.repeat)) {
        last = now;
        raise("hopguard-parse-failures", "Many log lines of a known program were not understood",
              50, source,
              std::to_string(df) + " " + source + " lines not understood in the last minute (" +
                  std::to_string(dd) + " decoded): a new log format, or lines crafted to evade",
              wall_ms, df);
      }
    }
  }
}

}  // namespace hopguard::agent
