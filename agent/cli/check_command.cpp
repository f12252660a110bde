// `hopguard check`: the decision the PAM module would take (DESIGN section 6, contract).
// Exit 0 allow, 1 deny, 2 error (bad arguments, unusable config, unknown host).
// CLI11 (Debian libcli11-dev, header-only) parses arguments; nlohmann-json writes --json with
// invalid UTF-8 replaced, so the line is always valid JSON.
#include "commands.hpp"
#include "config_source.hpp"

#include <hopguard/decision.hpp>
#include <hopguard/policy.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

namespace hopguard::cli {

namespace {

struct CheckOptions {
  std::string config, role, host, user, principal, rhost, stage;
  bool json = false;
};

int run_check(const CheckOptions& o, bool have_principal, bool have_rhost) {
  const auto policy = load_policy_or_report(config_path(o.config));
  if (!policy) return 2;

  Request r;
  r.role = *parse_role(o.role);  // CLI11 has checked membership
  r.host = o.host;
  r.user = o.user;
  if (have_principal) r.principal = o.principal;
  if (have_rhost) r.rhost = o.rhost;
  r.stage = o.stage.empty() ? (have_principal ? Stage::session : Stage::account) : *parse_stage(o.stage);

  const HostEntry* host = policy->find_host(o.host);
  if (host == nullptr) {
    std::fprintf(stderr, "hopguard: host \"%s\" is not configured in %s\n", o.host.c_str(),
                 policy->config().source.c_str());
    return 2;
  }
  if (host->role != r.role) {
    std::fprintf(stderr, "hopguard: host %s is configured as a %s, not a %s\n", host->name.c_str(),
                 std::string(to_string(host->role)).c_str(), o.role.c_str());
    return 2;
  }

  const Decision d = decide(*policy, r);
  if (o.json) {
    const nlohmann::ordered_json j = {{"verdict", to_string(d.verdict)}, {"rule", d.rule}, {"reason", d.reason}};
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
  } else if (d.verdict == Verdict::allow) {
    std::printf("allow\n");
  } else {
    std::printf("deny %s: %s\n", std::string(d.rule).c_str(), d.reason.c_str());
  }
  return d.verdict == Verdict::allow ? 0 : 1;
}

}  // namespace

void add_check_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<CheckOptions>();
  CLI::App* cmd = app.add_subcommand("check", "Print the decision the PAM module would take");
  cmd->add_option("--config", o->config, "site config (default: $HOPGUARD_CONFIG, then /etc/hopguard/hopguard.toml)");
  cmd->add_option("--role", o->role, "this host's role")->required()->check(CLI::IsMember({"bastion", "legacy"}));
  cmd->add_option("--host", o->host, "this host's short name")->required();
  cmd->add_option("--user", o->user, "the local account")->required();
  auto* principal = cmd->add_option("--principal", o->principal, "the Kerberos principal");
  auto* rhost = cmd->add_option("--rhost", o->rhost, "the remote address");
  cmd->add_option("--stage", o->stage, "account (default without --principal) or session")
      ->check(CLI::IsMember({"account", "session"}));
  cmd->add_flag("--json", o->json, "one JSON line: verdict, rule, reason");
  cmd->callback([o, principal, rhost, &exit_code] {
    exit_code = run_check(*o, principal->count() > 0, rhost->count() > 0);
  });
}

}  // namespace hopguard::cli
