// `hopguard rules test --config F [--rules DIR] [LINE | -]`: what the engine makes of one log
// line (or of each line on stdin): the parsed syslog record, the decoded event, the policy
// classes, and every rule tried with why it matched or not (like wazuh-logtest or
// fail2ban-regex). Exit 0 when some rule matched some line, 1 when none did, 2 on error.
// `hopguard rules check --config F [--rules DIR]`: compile the rules; exit 0 valid, 2 errors.
#include "commands.hpp"
#include "config_source.hpp"

#include <scanner/engine.hpp>
#include <scanner/rule_files.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

namespace hopguard::cli {

namespace {

struct RulesOptions {
  std::string config, rules, line;
};

std::string_view format_name(scanner::SyslogFormat f) {
  switch (f) {
    case scanner::SyslogFormat::rfc5424: return "rfc5424";
    case scanner::SyslogFormat::rfc3164: return "rfc3164";
    case scanner::SyslogFormat::file_3164: return "file (3164 date)";
    case scanner::SyslogFormat::file_3339: return "file (RFC 3339 date)";
    case scanner::SyslogFormat::bare: return "bare (no header)";
  }
  return "?";
}

// Control bytes and non-ASCII shown escaped, so the terminal shows what the engine saw.
std::string visible(std::string_view s) {
  std::string out;
  for (const unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

bool explain_line(const scanner::Engine& engine, const std::string& line) {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch()).count();
  const scanner::Explanation x = engine.explain(line, now);
  std::printf("line:      %s\n", visible(line).c_str());
  std::printf("record:    format=%s%s host=%s program=%s pid=%s event_ms=%lld%s\n",
              std::string(format_name(x.record.format)).c_str(), x.unwrapped ? " (imfile, unwrapped)" : "",
              visible(x.record.hostname).c_str(), visible(x.record.program).c_str(),
              visible(x.record.pid).c_str(), static_cast<long long>(x.record.event_ms),
              x.record.time_unknown ? " (no timestamp: receive time)" : "");
  std::printf("message:   %s\n", visible(x.record.message).c_str());
  std::printf("decoder:   %s\n", x.decoder.empty() ? "none (another program's line: skipped)" : x.decoder.c_str());
  for (const auto& [k, v] : x.fields) std::printf("  event.%s = %s\n", k.c_str(), visible(v).c_str());
  for (const auto& [k, v] : x.facts) std::printf("  fact.%s = %s\n", k.c_str(), visible(v).c_str());
  bool any = false;
  if (!x.rules.empty()) std::printf("rules:\n");
  for (const scanner::RuleTrace& t : x.rules) {
    std::printf("  [%s] %-32s %s:%u  %s\n", t.matched ? "MATCH" : "  -  ", t.rule_id.c_str(),
                t.file.c_str(), t.line, visible(t.why).c_str());
    any = any || t.matched;
  }
  std::printf("\n");
  return any;
}

struct Loaded {
  std::shared_ptr<const Policy> policy;
  std::shared_ptr<const scanner::Ruleset> rules;
};

std::optional<Loaded> load(const RulesOptions& o) {
  auto p = load_policy_or_report(config_path(o.config));
  if (!p) return std::nullopt;
  Loaded l;
  l.policy = std::make_shared<const Policy>(std::move(*p));
  auto r = scanner::load_ruleset(*l.policy, o.rules);
  if (!r) {
    for (const Error& e : r.errors()) std::fprintf(stderr, "hopguard: %s\n", e.to_string().c_str());
    return std::nullopt;
  }
  l.rules = r.value();
  return l;
}

int run_test(const RulesOptions& o) {
  const auto l = load(o);
  if (!l) return 2;
  const scanner::Engine engine(l->policy, l->rules);
  bool any = false;
  if (o.line.empty() || o.line == "-") {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      any = explain_line(engine, line) || any;
    }
  } else {
    any = explain_line(engine, o.line);
  }
  return any ? 0 : 1;
}

int run_check(const RulesOptions& o) {
  const auto l = load(o);
  if (!l) return 2;
  std::printf("%zu rules valid\n", l->rules->size());
  return 0;
}

}  // namespace

void add_rules_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<RulesOptions>();
  CLI::App* cmd = app.add_subcommand("rules", "Test and check detection rules");
  cmd->require_subcommand(1);
  CLI::App* test = cmd->add_subcommand("test", "Show how one log line is parsed, decoded and matched");
  test->add_option("--config", o->config, "site config (default: $HOPGUARD_CONFIG, else /etc/hopguard/hopguard.toml)");
  test->add_option("--rules", o->rules, "directory of extra rule files (*.toml)");
  test->add_option("line", o->line, "one log line, or - (default) for lines on stdin");
  test->callback([o, &exit_code] { exit_code = run_test(*o); });
  CLI::App* check = cmd->add_subcommand("check", "Compile the rules and report every error");
  check->add_option("--config", o->config, "site config");
  check->add_option("--rules", o->rules, "directory of extra rule files (*.toml)");
  check->callback([o, &exit_code] { exit_code = run_check(*o); });
}

}  // namespace hopguard::cli
