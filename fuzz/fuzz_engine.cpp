// libFuzzer: the whole engine (shipped rules, three user regex rules, the test site) on arbitrary
// input split into lines, then every alarm through to_json, which must be one line of valid JSON.
#include <scanner/engine.hpp>

#include <hopguard/alarm.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

namespace {
const char kSite[] = R"(realm = "HG.TEST"
special_principal = "{user}-{host}"
[bastion.bastion]
fqdn = "bastion.hg.test"
addresses = ["127.0.0.2"]
[legacy.legacy1]
fqdn = "legacy1.hg.test"
addresses = ["127.0.0.3"]
[legacy.legacy2]
fqdn = "legacy2.hg.test"
addresses = ["127.0.0.6"]
[bastion_access]
allowed_sources = ["127.0.0.5/32"]
[rules]
guessing_threshold = 2
)";

// User regex rules: one with every named capture, one that backtracks (a crafted line runs it out
// of its state limit, the undecided path), one whose atomic group, possessive repeat, lookahead
// and backreference read the line again from every start (the read limit).
const char kUserRules[] = R"(source = "syslog"
[[rule]]
id = "fuzz-captures"
name = "captures"
severity = 10
program = "su"
regex = '(?<user>\w+) (?<principal>\S+@\S+) from (?<address>[0-9a-f.:]+) to (?<target>\S+)'
[[rule]]
id = "fuzz-backtracks"
name = "backtracks"
severity = 10
program = "su"
regex = '.(\S+)+ to root'
[[rule]]
id = "fuzz-reads"
name = "reads"
severity = 10
program = "su"
regex = '.(?>\S+)(?=(\w*+))\1x'
)";

struct Setup {
  std::shared_ptr<const hopguard::Policy> policy;
  std::shared_ptr<const hopguard::scanner::Ruleset> rules;
  Setup() {
    auto p = hopguard::Policy::load(kSite, "fuzz-site.toml");
    if (!p) std::abort();
    policy = std::make_shared<const hopguard::Policy>(std::move(p.value()));
    auto files = hopguard::scanner::shipped_rule_files();
    files.push_back({"fuzz-user.toml", kUserRules});
    auto r = hopguard::scanner::Ruleset::compile(files, policy->config().rules);
    if (!r) std::abort();
    rules = r.value();
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Setup setup;
  hopguard::scanner::EngineOptions o;
  o.max_open_incidents = 4;
  // Small memos: two engines per input are cheap to build (the defaults' 2 MiB of tables made
  // this target run ~40 inputs a second), and their emptying when full runs on most inputs.
  o.principal_cache_entries = 4;
  o.memo_entries = 4;
  hopguard::scanner::Engine e(setup.policy, setup.rules, o);
  const hopguard::scanner::AlarmSink sink = [](const hopguard::Alarm& a) {
    const std::string j = hopguard::to_json(a);
    if (j.find('\n') != std::string::npos) std::abort();
    if (!nlohmann::json::accept(j)) std::abort();
  };
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::int64_t t = 1795392000000;
  while (!in.empty()) {
    const std::size_t nl = in.find('\n');
    e.feed_line(in.substr(0, nl), t, sink);
    t += 1000;
    if (nl == std::string_view::npos) break;
    in.remove_prefix(nl + 1);
  }
  const std::string snap = e.snapshot();
  hopguard::scanner::Engine e2(setup.policy, setup.rules, o);
  if (!e2.restore(snap).ok()) std::abort();
  e.finish(sink);
  e2.finish(sink);
  return 0;
}
