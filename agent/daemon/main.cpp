// hopguardd: the service (DESIGN section 6). Startup is the ordered list of steps in
// kStartup; each either succeeds or stops the daemon with event=startup-failed naming the
// step and the reason (exit 2). Then the main thread only handles signals:
//   SIGHUP   reload config and rules (a broken new version is reported, the old one kept),
//            reopen the alarm log and sinks (logrotate)
//   SIGTERM  drain: stop reading, scan what was read, commit alarms, checkpoint, deliver
//   SIGINT   as SIGTERM
// and pings the systemd watchdog while the scan stage is alive.
#include "alarm_dispatch.hpp"
#include "daemon_log.hpp"
#include "fair_queue.hpp"
#include "local_inputs.hpp"
#include "metrics.hpp"
#include "metrics_export.hpp"
#include "network_input.hpp"
#include "detection.hpp"
#include "scan_stage.hpp"
#include "self_watch.hpp"
#include "sinks/jsonl_sink.hpp"
#include "sinks/sink_registry.hpp"
#include "sinks/sink_spool.hpp"
#include "state_store.hpp"

#include <CLI/CLI.hpp>
#include <curl/curl.h>
#include <systemd/sd-daemon.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace hopguard::agent {
namespace {

struct Options {
  std::string config;
  bool read_stdin = false;
  std::string emit;            // "" : [alarms] emit from the config
  long silence_seconds = -1;   // -1 : [agent] silence_seconds from the config
};

struct Daemon {
  Options options;
  std::string config_path;
  std::optional<Detection> detection;
  Metrics metrics;
  std::unique_ptr<FairQueue> queue;
  std::unique_ptr<AlarmDispatch> dispatch;
  std::unique_ptr<ScanStage> scan;
  std::unique_ptr<NetworkInput> network;
  std::unique_ptr<TailInput> tails;
  std::unique_ptr<StdinInput> stdin_input;
  std::unique_ptr<MetricsExport> metrics_export;
  std::unique_ptr<SelfWatch> self_watch;
  std::thread network_thread, tail_thread, scan_thread, stdin_thread;
  sigset_t signals{};
};

const AgentConfig& agent_config(const Daemon& d) { return d.detection->policy->config().agent; }

using StepResult = std::optional<std::string>;  // an error text, or nothing

StepResult block_signals(Daemon& d) {
  // Blocked in every thread (threads inherit the mask); the main thread takes them with
  // sigtimedwait. SIGPIPE is ignored: a vanished peer is an error value, not a death.
  std::signal(SIGPIPE, SIG_IGN);
  sigemptyset(&d.signals);
  sigaddset(&d.signals, SIGHUP);
  sigaddset(&d.signals, SIGTERM);
  sigaddset(&d.signals, SIGINT);
  if (pthread_sigmask(SIG_BLOCK, &d.signals, nullptr) != 0) return "pthread_sigmask failed";
  return std::nullopt;
}

StepResult load_config(Daemon& d) {
  const char* env = std::getenv("HOPGUARD_CONFIG");
  d.config_path = resolve_config_path(d.options.config, env ? env : "");
  auto detection = load_detection(d.config_path);
  if (!detection) return to_string(detection.errors());
  d.detection = std::move(detection).value();
  // Policy::load checked [agent] and [alarms] (endpoints, exec, webhook) with file and line.
  const AgentConfig& a = agent_config(d);
  if (a.listen.empty() && a.tail.empty() && !d.options.read_stdin)
    return "nothing to read: [agent] listen and tail are both empty (and no --stdin)";
  LogLine("config-loaded").kv("config", d.config_path)
      .kv("rule_files", std::uint64_t{d.detection->rule_files})
      .kv("rules", std::uint64_t{d.detection->rules->size()});
  return std::nullopt;
}

StepResult prepare_state(Daemon& d) {
  if (auto err = prepare_state_dir(agent_config(d).state_dir)) return err->to_string();
  return std::nullopt;
}

StepResult open_sinks(Daemon& d) {
  const AgentConfig& a = agent_config(d);
  auto jsonl = std::make_unique<JsonlSink>(a.alarm_log);
  if (Delivery r = jsonl->open(); !r.ok) return "alarm_log " + r.error;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::vector<std::unique_ptr<SinkSpool>> spools;
  for (auto& s : make_sinks(d.detection->policy->config().alarms, host)) {
    auto spool = std::make_unique<SinkSpool>(std::move(s), a.state_dir, d.metrics);
    if (std::string err = spool->open(); !err.empty()) return "spool " + err;
    spools.push_back(std::move(spool));
  }
  d.dispatch = std::make_unique<AlarmDispatch>(std::move(jsonl), std::move(spools), d.metrics);
  d.dispatch->remember_written();
  return std::nullopt;
}

StepResult restore_state(Daemon& d) {
  const AgentConfig& a = agent_config(d);
  // A sender's share: a quarter of the queue, so at least four senders always fit.
  d.queue = std::make_unique<FairQueue>(a.queue_messages, std::max<std::size_t>(a.queue_messages / 4, 1));
  scanner::EngineOptions eo;
  const bool first = d.options.emit.empty()
                         ? d.detection->policy->config().alarms.emit == AlarmEmit::first_evidence
                         : d.options.emit == "first-evidence";
  eo.emit = first ? scanner::EmitMode::first_evidence : scanner::EmitMode::at_window_end;
  d.scan = std::make_unique<ScanStage>(*d.queue, *d.dispatch, d.metrics, a.state_dir, a.tail,
                                       *d.detection, eo);
  const auto marks = d.scan->restore();
  d.tails = std::make_unique<TailInput>(*d.queue, d.metrics, a.tail, a.max_frame_bytes);
  d.tails->restore(marks);
  d.metrics.gauge("hopguard_queue_capacity", "Frames the queue holds at most",
                  [cap = a.queue_messages](std::string& out) {
                    Metrics::sample(out, "hopguard_queue_capacity", {}, {}, cap);
                  });
  return std::nullopt;
}

StepResult bind_listeners(Daemon& d) {
  const AgentConfig& a = agent_config(d);
  d.network = std::make_unique<NetworkInput>(*d.queue, d.metrics,
                                             NetworkOptions{a.max_frame_bytes, a.allowed_peers});
  if (auto err = d.network->bind(a.listen)) return err->to_string();
  return std::nullopt;
}

StepResult start_metrics(Daemon& d) {
  d.metrics_export = std::make_unique<MetricsExport>(d.metrics, agent_config(d).metrics);
  if (auto err = d.metrics_export->start()) return err->to_string();
  return std::nullopt;
}

StepResult start_threads(Daemon& d) {
  for (auto& s : d.dispatch->spools()) s->start();
  const bool finish_at_end = d.options.read_stdin;
  d.scan_thread = std::thread([&d, finish_at_end] { d.scan->run(finish_at_end); });
  d.network_thread = std::thread([&d] { d.network->run(); });
  d.tail_thread = std::thread([&d] { d.tails->run(); });
  if (d.options.read_stdin) {
    d.stdin_input = std::make_unique<StdinInput>(*d.queue, d.metrics, agent_config(d).max_frame_bytes);
    d.stdin_thread = std::thread([&d] {
      d.stdin_input->run([] { ::kill(::getpid(), SIGTERM); });  // end of input: drain and exit
    });
  }
  return std::nullopt;
}

StepResult start_self_watch(Daemon& d) {
  std::vector<std::string> inputs = d.network->bound_addresses();
  for (const std::string& path : agent_config(d).tail) inputs.push_back("file:" + path);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  SelfWatchOptions o;
  o.silence = std::chrono::seconds(d.options.silence_seconds >= 0 ? d.options.silence_seconds
                                                                  : agent_config(d).silence_seconds);
  o.hostname = host;
  d.self_watch = std::make_unique<SelfWatch>(d.metrics, std::move(inputs), o,
                                             [&d](Alarm a) { d.scan->inject(std::move(a)); });
  return std::nullopt;
}

StepResult notify_ready(Daemon& d) {
  LogLine("ready").kv("config", d.config_path).kv("pid", static_cast<std::int64_t>(::getpid()));
  sd_notify(0, "READY=1\nSTATUS=scanning");
  return std::nullopt;
}

struct Step {
  const char* name;
  StepResult (*run)(Daemon&);
};

// The startup, in order. Each step may rely on everything above it.
constexpr Step kStartup[] = {
    {"block-signals", block_signals},   {"load-config", load_config},
    {"prepare-state-dir", prepare_state}, {"open-sinks", open_sinks},
    {"restore-checkpoint", restore_state}, {"bind-listeners", bind_listeners},
    {"start-metrics", start_metrics},   {"start-threads", start_threads},
    {"start-self-watch", start_self_watch}, {"notify-ready", notify_ready},
};

void reload(Daemon& d) {
  sd_notify(0, "RELOADING=1\nSTATUS=reloading");
  d.metrics.counter("hopguard_reloads_total", "SIGHUP reloads, by result", "result", "requested")
      .fetch_add(1);
  auto fresh = load_detection(d.config_path);
  if (!fresh) {
    d.metrics.counter("hopguard_reloads_total", "SIGHUP reloads, by result", "result", "failed")
        .fetch_add(1);
    LogLine("reload-failed").kv("config", d.config_path).kv("error", to_string(fresh.errors()))
        .kv("kept", "previous config and rules");
  } else {
    const AgentConfig& old_a = agent_config(d);
    const AgentConfig& new_a = fresh->policy->config().agent;
    const AlarmConfig& old_s = d.detection->policy->config().alarms;
    const AlarmConfig& new_s = fresh->policy->config().alarms;
    if (old_a.listen != new_a.listen || old_a.tail != new_a.tail ||
        old_a.state_dir != new_a.state_dir || old_a.alarm_log != new_a.alarm_log ||
        old_a.allowed_peers != new_a.allowed_peers || old_a.max_frame_bytes != new_a.max_frame_bytes ||
        old_a.queue_messages != new_a.queue_messages || old_a.metrics != new_a.metrics ||
        old_s.syslog_target != new_s.syslog_target || old_s.exec != new_s.exec ||
        old_s.webhook != new_s.webhook) {
      // Inputs, state and sinks are bound at startup; only policy and rules swap live.
      LogLine("reload-needs-restart").kv("sections", "agent, alarms sinks")
          .kv("kept", "running inputs and sinks");
    }
    LogLine("reload-ok").kv("config", d.config_path)
        .kv("rule_files", std::uint64_t{fresh->rule_files})
        .kv("rules", std::uint64_t{fresh->rules->size()});
    // The running inputs keep using the old agent section; keep that Policy object alive.
    d.scan->offer_reload(*fresh);
    d.detection->rules = fresh->rules;
  }
  d.scan->request_reopen();
  sd_notify(0, "READY=1\nSTATUS=scanning");
}

int drain(Daemon& d) {
  sd_notify(0, "STOPPING=1\nSTATUS=draining");
  LogLine("stopping");
  if (d.network) d.network->stop();
  if (d.network_thread.joinable()) d.network_thread.join();
  if (d.tails) d.tails->stop();
  if (d.tail_thread.joinable()) d.tail_thread.join();
  if (d.queue) d.queue->close();
  if (d.stdin_input) d.stdin_input->stop();
  if (d.stdin_thread.joinable()) d.stdin_thread.join();
  if (d.scan_thread.joinable()) d.scan_thread.join();
  std::uint64_t left = 0;
  if (d.dispatch)
    for (auto& s : d.dispatch->spools()) left += s->drain(std::chrono::seconds(5));
  if (d.metrics_export) d.metrics_export->stop();
  LogLine("stopped").kv("spooled", left);
  return 0;
}

int run(const Options& options) {
  Daemon d;
  d.options = options;
  for (const Step& step : kStartup) {
    if (StepResult err = step.run(d)) {
      LogLine("startup-failed").kv("step", step.name).kv("error", *err);
      if (d.network_thread.joinable() || d.scan_thread.joinable()) return drain(d) == 0 ? 2 : 2;
      return 2;
    }
  }
  std::uint64_t watchdog_usec = 0;
  const bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
  const long wait_ms =
      watchdog ? std::clamp<long>(static_cast<long>(watchdog_usec / 4000), 100, 1000) : 1000;
  for (;;) {
    timespec ts{wait_ms / 1000, (wait_ms % 1000) * 1000000};
    const int sig = sigtimedwait(&d.signals, nullptr, &ts);
    if (sig == SIGHUP) {
      LogLine("signal").kv("signal", "HUP");
      reload(d);
    } else if (sig == SIGTERM || sig == SIGINT) {
      LogLine("signal").kv("signal", sig == SIGTERM ? "TERM" : "INT");
      return drain(d);
    }
    d.self_watch->check(std::chrono::steady_clock::now(),
                        std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
    if (watchdog) {
      // Only a scan stage that is still looping earns the ping; a wedged one gets restarted.
      const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now().time_since_epoch())
                           .count();
      if (now - d.scan->heartbeat_ms() < static_cast<std::int64_t>(watchdog_usec / 2000))
        sd_notify(0, "WATCHDOG=1");
    }
  }
}

}  // namespace
}  // namespace hopguard::agent

int main(int argc, char** argv) {
  hopguard::agent::Options options;
  CLI::App app{"hopguardd: the hopguard syslog scanner service"};
  app.set_version_flag("--version", "hopguardd 0.1.0");
  app.add_option("--config", options.config,
                 "site config (default: $HOPGUARD_CONFIG, else /etc/hopguard/hopguard.toml)");
  app.add_flag("--stdin", options.read_stdin,
               "also read syslog frames from stdin; at its end, close open incidents and exit");
  app.add_option("--emit", options.emit,
                 "when an incident's alarm is written, overriding [alarms] emit: window-end (one "
                 "alarm with all evidence) or first-evidence (lowest latency; a second alarm if "
                 "more evidence merged)")
      ->check(CLI::IsMember({"window-end", "first-evidence"}));
  app.add_option("--silence-seconds", options.silence_seconds,
                 "raise hopguard-input-silent when an input reads nothing this long (0: never), "
                 "overriding [agent] silence_seconds")
      ->check(CLI::Range(0L, 86400L * 30));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  ::curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc = 2;
  try {
    rc = hopguard::agent::run(options);
  } catch (const std::exception& e) {
    hopguard::agent::LogLine("internal-error").kv("error", e.what());
    rc = 2;
  }
  ::curl_global_cleanup();
  return rc;
}
