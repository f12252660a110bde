#include "detection.hpp"

#include "scanner/rule_files.hpp"

namespace hopguard::agent {

Expected<Detection> load_detection(const std::string& config_path) {
  auto policy = Policy::load_file(config_path);
  if (!policy) return policy.errors();
  auto shared = std::make_shared<const Policy>(std::move(policy).value());
  auto files = scanner::read_rule_files(shared->config().rules.dir);
  if (!files) return files.errors();
  auto rules = scanner::Ruleset::compile(files.value(), shared->config().rules);
  if (!rules) return rules.errors();
  Detection d;
  d.policy = std::move(shared);
  d.rules = std::move(rules).value();
  d.rule_files = files.value().size();
  return d;
}

}  // namespace hopguard::agent
