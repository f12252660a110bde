// `hopguard scan --config F [--rules DIR] [--json] FILE... | -` (DESIGN section 6, contract):
// scan syslog files, KDC FILE: logs, or stdin, through the same engine as hopguardd.
// Exit 0 no alarm, 1 alarms, 2 error (unusable config or rules, unreadable input).
//
// Alarms go to stdout (JSON lines with --json, one readable line each otherwise); the summary
// goes to stderr. Files (and stdin) may be gzip-compressed, as logrotate leaves them (zlib's
// gzread detects it, and passes other bytes through unchanged): scanning a .gz file as text
// would find no line and report no alarm. Files are LF-framed; several files are merged by event time, so that KDC and
// host evidence of one incident meet in the correlator's window. The receive time given to the engine (which anchors the
// year of RFC 3164 dates) is the file's modification time, or now for stdin: no line in a file
// was written after the file was last modified.
#include "commands.hpp"
#include "config_source.hpp"
#include "../read_buffer.hpp"

#include <hopguard/alarm.hpp>
#include <scanner/engine.hpp>
#include <scanner/rule_files.hpp>

#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace hopguard::cli {

namespace {

using scanner::SyslogOptions;

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

// A line waiting in a merged input: its text in the input's arena, and its line number.
struct QueuedLine {
  std::size_t offset = 0, size = 0;
  std::uint64_t number = 0;
};

// One input file (or stdin), read in 1 MiB chunks and split into lines by a Framer.
struct Input {
  std::string name;
  std::uint32_t max_frame = 0;
  gzFile f = nullptr;
  std::int64_t receive_ms = 0;
  std::int64_t size = 0;  // of the file as stored (compressed or not), for the progress line
  bool identified = false;  // dev and ino are the opened file's (fstat worked)
  dev_t dev = 0;
  ino_t ino = 0;
  bool eof = false;
  bool error = false;
  scanner::Framer framer;
  std::uint64_t line_number = 0;  // of the last frame the framer gave
  std::uint64_t warnings = 0;     // lines named on stderr (warn_line), shown or not
  // Only used when several inputs are merged by time: the lines of the last chunk read, their
  // text back to back in one arena (no allocation per line), emptied before the next chunk.
  std::deque<QueuedLine> lines;
  std::string arena;
  scanner::SyslogDateMemo date_memo;  // for the head line's time
  std::int64_t head_ms = 0;       // event time of lines.front()
  std::int64_t last_ms = 0;

  Input(std::string n, std::uint32_t max_frame_bytes)
      : name(std::move(n)),
        max_frame(max_frame_bytes),
        framer(scanner::FramerOptions{max_frame_bytes, scanner::Framing::lf}) {}
};

// Lines the scan could not read whole are named on stderr, file and line (the summary counts
// them all): "hopguard: FILE:LINE: WHAT". At most kMaxLineWarnings per input; the rest are
// counted in one line at the end of that input, so a file of garbage cannot flood the terminal.
constexpr std::uint64_t kMaxLineWarnings = 10;

const char* display_name(const Input& in) { return in.name == "-" ? "(stdin)" : in.name.c_str(); }

void warn_line(Input& in, std::uint64_t number, const std::string& what) {
  if (++in.warnings > kMaxLineWarnings) return;
  std::fprintf(stderr, "hopguard: %s:%llu: %s\n", display_name(in), static_cast<unsigned long long>(number),
               what.c_str());
}

// The rare cases out of line (gnu::cold), so that the per-line code stays a counter and a compare.
[[gnu::cold]] void note_frame_issue(Input& in, const scanner::Frame& fr) {
  if (fr.issue != scanner::FrameIssue::oversized) return;
  warn_line(in, in.line_number,
            "line longer than max_frame_bytes (" + std::to_string(in.max_frame) + "): only its first " +
                std::to_string(in.max_frame) + " bytes were scanned");
}

// A line of a known program that its decoder did not understand (a format this version does not
// know, or a forged line).
[[gnu::cold]] void note_parse_failure(Input& in, std::uint64_t number, scanner::EventSource source) {
  warn_line(in, number, std::string(scanner::to_string(source)) + " line not understood (a parse failure)");
}

// A frame as the framer gave it: numbered, and named when the framer cut it.
inline std::uint64_t take_frame(Input& in, const scanner::Frame& fr) {
  ++in.line_number;
  if (fr.issue_set) note_frame_issue(in, fr);
  return in.line_number;
}

// What the engine made of a line.
inline void note_result(Input& in, std::uint64_t number, scanner::LineResult r) {
  if (r.outcome == scanner::LineOutcome::parse_failure) note_parse_failure(in, number, r.source);
}

void report_hidden_warnings(const Input& in) {
  if (in.warnings <= kMaxLineWarnings) return;
  std::fprintf(stderr, "hopguard: %s: %llu more lines like these not named\n", display_name(in),
               static_cast<unsigned long long>(in.warnings - kMaxLineWarnings));
}

bool open_input(Input& in) {
  const bool is_stdin = in.name == "-";
  const int fd = is_stdin ? STDIN_FILENO : ::open(in.name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::fprintf(stderr, "hopguard: %s: %s\n", in.name.c_str(), std::strerror(errno));
    return false;
  }
  in.receive_ms = now_ms();
  struct stat st {};
  if (fstat(fd, &st) == 0) {
    in.identified = true;
    in.dev = st.st_dev;
    in.ino = st.st_ino;
    if (!is_stdin) {
      in.receive_ms = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
      in.size = st.st_size;
    }
  }
  in.f = gzdopen(fd, "rb");  // owns fd from here
  if (in.f == nullptr) {
    std::fprintf(stderr, "hopguard: %s: cannot read: out of memory\n", in.name.c_str());
    if (!is_stdin) ::close(fd);
    return false;
  }
  // zlib's input buffer, and twice that for its output: 192 KiB per input, also for a plain
  // file (every input of a time-merged scan is open at once). Reads of a plain file larger than
  // this (ours are 1 MiB) go straight into the caller's buffer.
  gzbuffer(in.f, 1 << 16);
  return true;
}

// Reads the next chunk and passes its complete lines to on_frame (a callable taking a
// scanner::Frame); false at end of input.
template <typename OnFrame>
bool read_chunk(Input& in, agent::ReadBuffer& buf, OnFrame&& on_frame) {
  if (in.eof) return false;
  // gzread returns fewer bytes than asked only at the end of the input or on an error (a read
  // error, a corrupt gzip stream, or one cut short: "unexpected end of file"), and -1 when the
  // error came before any byte; gzerror tells which.
  const int n = gzread(in.f, buf.data(), static_cast<unsigned>(buf.size()));
  if (n > 0) in.framer.feed_each(std::string_view(buf.data(), static_cast<std::size_t>(n)), on_frame);
  if (n < 0 || static_cast<std::size_t>(n) < buf.size()) {
    int code = Z_OK;
    std::string_view what = gzerror(in.f, &code);
    if (code != Z_OK) {
      // zlib's text is "<fd:N>: why" for a stream opened by gzdopen: the file is named here.
      if (const std::size_t colon = what.find(": "); what.starts_with("<fd:") && colon != std::string_view::npos) {
        what.remove_prefix(colon + 2);
      }
      const std::string why = code == Z_ERRNO ? std::strerror(errno) : std::string(what);
      std::fprintf(stderr, "hopguard: %s: read error: %s\n", display_name(in), why.c_str());
      in.error = true;
    }
    in.framer.finish(on_frame);
    in.eof = true;
    gzclose(in.f);
    in.f = nullptr;
  }
  return true;
}

std::string_view text_of(const Input& in, const QueuedLine& line) {
  return std::string_view(in.arena).substr(line.offset, line.size);
}

// Several inputs are merged by event time (a KDC log and a syslog file of the same day must
// meet in the correlator's windows); lines without a timestamp keep their file order.
void scan_merged(std::vector<Input>& inputs, scanner::Engine& engine, const scanner::AlarmSink& sink,
                 const SyslogOptions& syslog) {
  agent::ReadBuffer buf(1 << 20);
  auto refill = [&](Input& in) {
    while (in.lines.empty() && !in.eof) {
      in.arena.clear();  // every line of the last chunk has been fed
      read_chunk(in, buf, [&](const scanner::Frame& fr) {
        const std::uint64_t number = take_frame(in, fr);
        in.lines.push_back(QueuedLine{in.arena.size(), fr.text.size(), number});
        in.arena.append(fr.text);
      });
    }
    if (!in.lines.empty()) {
      const auto rec = scanner::parse_syslog_record(text_of(in, in.lines.front()), in.receive_ms, syslog, &in.date_memo);
      in.head_ms = rec.time_unknown ? in.last_ms : rec.event_ms;
      in.last_ms = in.head_ms;
    }
  };
  for (Input& in : inputs) refill(in);
  for (;;) {
    Input* next = nullptr;
    for (Input& in : inputs) {
      if (!in.lines.empty() && (next == nullptr || in.head_ms < next->head_ms)) next = &in;
    }
    if (next == nullptr) break;
    const QueuedLine& line = next->lines.front();
    note_result(*next, line.number, engine.feed_line(text_of(*next, line), next->receive_ms, sink));
    next->lines.pop_front();
    refill(*next);
  }
}

void scan_single(Input& in, scanner::Engine& engine, const scanner::AlarmSink& sink, bool progress) {
  agent::ReadBuffer buf(1 << 20);
  const bool show_progress = progress && in.size > (256 << 20);
  std::int64_t next_report = 1 << 28;
  const auto on_frame = [&](const scanner::Frame& fr) {
    const std::uint64_t number = take_frame(in, fr);
    note_result(in, number, engine.feed_line(fr.text, in.receive_ms, sink));
  };
  while (read_chunk(in, buf, on_frame)) {
    const std::int64_t done = in.f != nullptr ? gzoffset(in.f) : in.size;  // bytes of the file as stored
    if (show_progress && done >= next_report) {
      std::fprintf(stderr, "\rhopguard scan: %s %lld%%", in.name.c_str(), static_cast<long long>(done * 100 / in.size));
      next_report = done + (1 << 28);
    }
  }
  if (show_progress) std::fprintf(stderr, "\r%*s\r", 60, "");
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
  if (s.future_dated > 0) {
    std::fprintf(stderr, "  %-28s %llu\n", "lines dated after receipt", static_cast<unsigned long long>(s.future_dated));
  }
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
  std::vector<Input> inputs;
  inputs.reserve(o.files.size());
  for (const std::string& f : o.files) {
    if (f == "-" && std::any_of(inputs.begin(), inputs.end(), [](const Input& in) { return in.name == "-"; })) {
      std::fprintf(stderr, "hopguard: (stdin): given twice: scanned once\n");
      continue;
    }
    inputs.emplace_back(f, policy->config().agent.max_frame_bytes);
    if (!open_input(inputs.back())) {
      inputs.pop_back();
      ok = false;
      continue;
    }
    // One file given twice (a glob that also matches a file named before it, a link) would
    // count its lines twice: evidence counts doubled, and a threshold rule (row 7) reached by
    // half the guesses it needs. It is scanned once, and said.
    const Input& added = inputs.back();
    const auto same = std::find_if(inputs.begin(), inputs.end() - 1, [&](const Input& other) {
      return added.identified && other.identified && other.dev == added.dev && other.ino == added.ino;
    });
    if (same != inputs.end() - 1) {
      std::fprintf(stderr, "hopguard: %s: the same file as %s: scanned once\n", display_name(added),
                   display_name(*same));
      gzclose(inputs.back().f);  // its own descriptor (stdin twice is caught below)
      inputs.pop_back();
    }
  }
  if (inputs.size() == 1) {
    scan_single(inputs[0], engine, sink, progress);
  } else if (!inputs.empty()) {
    scan_merged(inputs, engine, sink, SyslogOptions{});
  }
  for (const Input& in : inputs) {
    report_hidden_warnings(in);
    totals.oversized += in.framer.stats().oversized;
    ++totals.files;
    ok = ok && !in.error;
  }
  engine.finish(sink);
  // Alarms that did not reach stdout are lost: an error, said before the summary.
  errno = 0;
  const bool flushed = std::fflush(stdout) == 0;
  if (!flushed || std::ferror(stdout) != 0) {
    // errno tells why only when this flush failed (an earlier write's reason is gone).
    std::fprintf(stderr, "hopguard: writing the alarms to standard output failed: %s\n",
                 !flushed && errno != 0 ? std::strerror(errno) : "write error");
    ok = false;
  }
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
