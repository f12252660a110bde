#include "rule_files.hpp"

#include <hopguard/text_file.hpp>

#include <algorithm>
#include <filesystem>

namespace hopguard::scanner {

namespace {
constexpr std::size_t kMaxRuleFileBytes = 4 << 20;  // as a site config: rule files are small
}  // namespace

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
    auto text = read_text_file(p.string(), kMaxRuleFileBytes, "rule file");
    if (!text) {
      for (const Error& e : text.errors()) errors.push_back(e);
      continue;
    }
    files.push_back(RuleFile{p.string(), std::move(text.value())});
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
