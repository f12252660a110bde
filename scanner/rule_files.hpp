// Reading rule files from disk: the one I/O edge of the scanner, kept in its own library
// (hopguard_scanner_files) so the engine itself never touches paths. Used by `hopguard scan`,
// `hopguard rules test` and hopguardd (initial load and SIGHUP reload).
#pragma once

#include "ruleset.hpp"

#include <hopguard/error.hpp>
#include <hopguard/policy.hpp>

#include <memory>
#include <string>
#include <vector>

namespace hopguard::scanner {

// The shipped rules plus every *.toml in dir (sorted by name; "" : shipped only). An unreadable
// directory or file is an error naming it.
Expected<std::vector<RuleFile>> read_rule_files(const std::string& dir);

// read_rule_files(dir_override if not empty, else policy [rules] dir) compiled with the
// policy's [rules] settings. Every error of every file is reported.
Expected<std::shared_ptr<const Ruleset>> load_ruleset(const Policy& policy,
                                                      const std::string& dir_override);

}  // namespace hopguard::scanner
