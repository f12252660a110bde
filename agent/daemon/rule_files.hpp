// The rule files the daemon compiles: the shipped rules built into the scanner library, then
// every *.toml in [rules] dir in name order (site rules). Reading is the daemon's job because
// scanner/ does no I/O.
#pragma once

#include "scanner/ruleset.hpp"

#include <hopguard/error.hpp>
#include <hopguard/policy.hpp>

#include <memory>
#include <string>
#include <vector>

namespace hopguard::agent {

Expected<std::vector<scanner::RuleFile>> read_rule_files(const std::string& dir);

// What the scan stage runs with: an immutable policy and ruleset, replaced whole on reload.
struct Detection {
  std::shared_ptr<const Policy> policy;
  std::shared_ptr<const scanner::Ruleset> rules;
  std::size_t rule_files = 0;
};

// Loads the config file and compiles the rules it names. Every error (config or rule file,
// with file and line) is returned; nothing is half-loaded.
Expected<Detection> load_detection(const std::string& config_path);

}  // namespace hopguard::agent
