// `hopguard scan --config F [--rules DIR] [--json] FILE... | -` (DESIGN section 6, contract):
// scan syslog files, KDC FILE: logs, or stdin, through the same engine as hopguardd.
// Exit 0 no alarm, 1 alarms, 2 error (unusable config or rules, unreadable input).
//
// Alarms go to stdout (JSON lines with --json, one readable line each otherwise); the summary
// goes to stderr. Files are LF-framed. The receive time given to the engine (which anchors the
// year of RFC 3164 dates) is the file's modification time, or now for stdin: no line in a file
// was written after the file was last modified.
#include "commands.hpp"
#include "config_source.hpp"

#include <hopguard/alarm.hpp>
#include <scanner/engine.hpp>
#include <scanner/rule_files.hpp>

#include <CLI/CLI.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace hopguard::cli {

namespace {

struct ScanOptions {
  std::string config, rules;
  bool json = false;
  std::vector<std::string> files;
};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void print_alarm_text(const Alarm& a) {
  std::printf("ALARM %s severity=%d", a.rule_id.c_str(), a.severity);
  if (!a.principal.empty()) std::printf(" principal=%s", a.principal.c_str());
  if (!a.user.empty()) std::printf(" user=%s", a.user.c_str());
  if (!a.target.empty()) std::printf(" target=%s", a.target.c_str());
  if (!a.source_ip.empty()) std::printf(" source=%s", a.source_ip.c_str());
  std::printf(" count=%llu", static_cast<unsigned long long>(a.count));
  if (a.aggregated) std::printf(" aggregated=%llu", static_cast<unsigned long long>(a.aggregated));
  std::printf("\n");
}

struct InputTotals {
  std::uint64_t oversized = 0;
  std::uint64_t files = 0;
};

// Reads one input through a Framer into the engine. Returns false on a read error (reported).
bool scan_input(const std::string& name, scanner::Engine& engine, std::uint32_t max_frame,
                const scanner::AlarmSink& sink, InputTotals& totals, bool progress) {
  FILE* f = name == "-" ? stdin : std::fopen(name.c_str(), "rb");
  if (f == nullptr) {
    std::fprintf(stderr, "hopguard: %s: %s\n", name.c_str(), std::strerror(errno));
    return false;
  }
  std::int64_t receive_ms = now_ms();
  std::int64_t size = 0;
  struct stat st {};
  if (f != stdin && fstat(fileno(f), &st) == 0) {
    receive_ms = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
    size = st.st_size;
  }
  const bool show_progress = progress && size > (256 << 20);
  scanner::FramerOptions fo;
  fo.max_frame_bytes = max_frame;
  fo.framing = scanner::Framing::lf;  // files and pipes are line-oriented
  scanner::Framer framer(fo);
  const auto on_frame = [&](const scanner::Frame& fr) { engine.feed_line(fr.text, receive_ms, sink); };
  std::vector<char> buf(1 << 20);
  std::int64_t done = 0;
  std::int64_t next_report = 1 << 28;
  bool ok = true;
  for (;;) {
    const std::size_t n = std::fread(buf.data(), 1, buf.size(), f);
    if (n > 0) framer.feed(std::string_view(buf.data(), n), on_frame);
    done += static_cast<std::int64_t>(n);
    if (show_progress && done >= next_report) {
      std::fprintf(stderr, "\rhopguard scan: %s %lld%%", name.c_str(), static_cast<long long>(done * 100 / size));
      next_report += 1 << 28;
    }
    if (n < buf.size()) {
      if (std::ferror(f)) {
        std::fprintf(stderr, "hopguard: %s: read error: %s\n", name.c_str(), std::strerror(errno));
        ok = false;
      }
      break;
    }
  }
  framer.finish(on_frame);
  if (show_progress) std::fprintf(stderr, "\r%*s\r", 60, "");
  totals.oversized += framer.stats().oversized;
  ++totals.files;
  if (f != stdin) std::fclose(f);
  return ok;
}

void print_summary(const scanner::EngineStats& s, const InputTotals& t) {
  using scanner::EventSource;
  auto idx = [](EventSource e) { return static_cast<std::size_t>(e); };
  std::fprintf(stderr, "hopguard scan summary\n");
  std::fprintf(stderr, "  %-28s %llu\n", "files", static_cast<unsigned long long>(t.files));
  std::fprintf(stderr, "  %-28s %llu\n", "lines", static_cast<unsigned long long>(s.lines));
  std::fprintf(stderr, "  %-28s %llu\n", "lines over max frame size", static_cast<unsigned long long>(t.oversized));
  std::fprintf(stderr, "  %-28s %llu\n", "lines of other programs", static_cast<unsigned long long>(s.skipped));
  std::fprintf(stderr, "  %-28s %llu\n", "lines without a timestamp", static_cast<unsigned long long>(s.time_unknown));
  std::fprintf(stderr, "  %-10s %10s %10s %14s\n", "source", "decoded", "no event", "parse failures");
  for (EventSource e : {EventSource::kdc, EventSource::sshd, EventSource::hopguard}) {
    std::fprintf(stderr, "  %-10s %10llu %10llu %14llu\n", std::string(scanner::to_string(e)).c_str(),
                 static_cast<unsigned long long>(s.decoded[idx(e)]),
                 static_cast<unsigned long long>(s.ignored[idx(e)]),
                 static_cast<unsigned long long>(s.parse_failures[idx(e)]));
  }
  std::fprintf(stderr, "  %-28s %llu\n", "rule matches", static_cast<unsigned long long>(s.matches));
  std::fprintf(stderr, "  %-28s %llu\n", "alarms", static_cast<unsigned long long>(s.alarms));
  for (const auto& [rule, n] : s.alarms_by_rule) {
    std::fprintf(stderr, "    %-32s %llu\n", rule.c_str(), static_cast<unsigned long long>(n));
  }
  if (s.aggregated_incidents > 0) {
    std::fprintf(stderr, "  %-28s %llu\n", "incidents aggregated (flood)", static_cast<unsigned long long>(s.aggregated_incidents));
  }
  for (const auto& [rule, n] : s.regex_errors_by_rule) {
    std::fprintf(stderr, "  regex errors %-20s %llu\n", rule.c_str(), static_cast<unsigned long long>(n));
  }
}

int run_scan(const ScanOptions& o) {
  auto loaded = load_policy_or_report(config_path(o.config));
  if (!loaded) return 2;
  auto policy = std::make_shared<const Policy>(std::move(*loaded));
  auto rules = scanner::load_ruleset(*policy, o.rules);
  if (!rules) {
    for (const Error& e : rules.errors()) std::fprintf(stderr, "hopguard: %s\n", e.to_string().c_str());
    return 2;
  }
  scanner::Engine engine(policy, rules.value());
  const scanner::AlarmSink sink = [&](const Alarm& a) {
    if (o.json) {
      const std::string line = to_json(a);
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fputc('\n', stdout);
    } else {
      print_alarm_text(a);
    }
  };
  InputTotals totals;
  bool ok = true;
  const bool progress = isatty(fileno(stderr)) != 0;
  for (const std::string& f : o.files) {
    ok = scan_input(f, engine, policy->config().agent.max_frame_bytes, sink, totals, progress) && ok;
  }
  engine.finish(sink);
  std::fflush(stdout);
  print_summary(engine.stats(), totals);
  if (!ok) return 2;
  return engine.stats().alarms > 0 ? 1 : 0;
}

}  // namespace

void add_scan_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<ScanOptions>();
  CLI::App* cmd = app.add_subcommand("scan", "Scan syslog files or KDC logs for misuse (exit 0 none, 1 alarms, 2 error)");
  cmd->add_option("--config", o->config, "site config (default: $HOPGUARD_CONFIG, else /etc/hopguard/hopguard.toml)");
  cmd->add_option("--rules", o->rules, "directory of extra rule files (*.toml), instead of [rules] dir");
  cmd->add_flag("--json", o->json, "alarms as JSON lines on stdout");
  cmd->add_option("files", o->files, "log files, or - for stdin")->required();
  cmd->callback([o, &exit_code] { exit_code = run_scan(*o); });
}

}  // namespace hopguard::cli
