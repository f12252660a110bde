// Config loading shared by the hopguard subcommands: the DESIGN lookup order and error printing.
#pragma once

#include <hopguard/policy.hpp>

#include <optional>
#include <string>

namespace hopguard::cli {

// --config PATH, else $HOPGUARD_CONFIG, else /etc/hopguard/hopguard.toml.
std::string config_path(const std::string& option_value);

// Loads the policy; on failure prints every error to stderr ("hopguard: FILE:LINE:COL: KEY: ...")
// and returns nullopt.
std::optional<Policy> load_policy_or_report(const std::string& path);

}  // namespace hopguard::cli
