// `hopguard config check [FILE]`: validate a site config and summarise it.
// Exit 0 valid, 2 invalid or unreadable (every error printed, with file, line and key).
#include "commands.hpp"
#include "config_source.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>

namespace hopguard::cli {

namespace {

std::string join(const std::vector<Cidr>& cidrs) {
  std::string out;
  for (const auto& c : cidrs) out += (out.empty() ? "" : ", ") + c.to_string();
  return out.empty() ? "(none)" : out;
}

const char* word(LoginDefault d) { return d == LoginDefault::allow ? "allow" : "deny"; }

int run_config_check(const std::string& file) {
  const std::string path = config_path(file);
  const auto policy = load_policy_or_report(path);
  if (!policy) return 2;
  const SiteConfig& c = policy->config();
  std::printf("%s: valid\n", path.c_str());
  std::printf("realm              %s\n", c.realm.c_str());
  std::printf("special principal  %s\n", policy->special_principal_for("{user}", "{host}").c_str());
  for (const auto& h : c.hosts) {
    std::printf("%-7s %-10s %s  addresses %s\n", std::string(to_string(h.role)).c_str(), h.name.c_str(),
                h.fqdn.c_str(), join(h.addresses).c_str());
  }
  std::printf("bastion sources    %s\n", join(c.allowed_sources).c_str());
  std::printf("legacy logins      console %s, without principal %s\n", word(c.legacy_login.console),
              word(c.legacy_login.without_principal));
  std::printf("bastion logins     console %s, without principal %s\n", word(c.bastion_login.console),
              word(c.bastion_login.without_principal));
  std::printf("kdc module         %s%s\n", c.kdc.mode == EnforceMode::enforce ? "enforce" : "monitor",
              c.kdc.require_bastion_addresses ? ", special TGTs bound to bastion addresses" : "");
  return 0;
}

}  // namespace

void add_config_command(CLI::App& app, int& exit_code) {
  CLI::App* config = app.add_subcommand("config", "Site config tools");
  config->require_subcommand(1);
  auto file = std::make_shared<std::string>();
  CLI::App* check = config->add_subcommand("check", "Validate a site config and print a summary");
  check->add_option("file", *file, "config file (default: $HOPGUARD_CONFIG, then /etc/hopguard/hopguard.toml)");
  check->callback([file, &exit_code] { exit_code = run_config_check(*file); });
}

}  // namespace hopguard::cli
