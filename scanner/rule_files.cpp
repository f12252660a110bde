#include "rule_files.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace hopguard::scanner {

Expected<std::vector<RuleFile>> read_rule_files(const std::string& dir) {
  std::vector<RuleFile> files = shipped_rule_files();
  if (dir.empty()) return files;
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> paths;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".toml") paths.push_back(it->path());
  }
  if (ec) return Error{ErrorCode::io, Location{dir, 0, 0}, "", "cannot read rules directory: " + ec.message()};
  std::sort(paths.begin(), paths.end());
  Errors errors;
  for (const fs::path& p : paths) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in && !in.eof()) {
      errors.push_back(Error{ErrorCode::io, Location{p.string(), 0, 0}, "", "cannot read rule file"});
      continue;
    }
    files.push_back(RuleFile{p.string(), text.str()});
  }
  if (!errors.empty()) return errors;
  return files;
}

Expected<std::shared_ptr<const Ruleset>> load_ruleset(const Policy& policy, const std::string& dir_override) {
  auto files = read_rule_files(dir_override.empty() ? policy.config().rules.dir : dir_override);
  if (!files) return files.errors();
  return Ruleset::compile(files.value(), policy.config().rules);
}

}  // namespace hopguard::scanner
