// What the scan stage runs with: an immutable policy and ruleset, loaded together and
// replaced together (startup and SIGHUP). Reading rule files is scanner/rule_files.hpp's.
#pragma once

#include "scanner/ruleset.hpp"

#include <hopguard/error.hpp>
#include <hopguard/policy.hpp>

#include <memory>
#include <string>

namespace hopguard::agent {

struct Detection {
  std::shared_ptr<const Policy> policy;
  std::shared_ptr<const scanner::Ruleset> rules;
  std::size_t rule_files = 0;  // shipped + [rules] dir, for the log line
};

// Loads the config file and compiles the shipped rules plus [rules] dir. Every error (config
// or rule file, with file, line and key) is returned; nothing is half-loaded.
Expected<Detection> load_detection(const std::string& config_path);

}  // namespace hopguard::agent
