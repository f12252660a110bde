#include "rule_files.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace hopguard::agent {

Expected<std::vector<scanner::RuleFile>> read_rule_files(const std::string& dir) {
  std::vector<scanner::RuleFile> files = scanner::shipped_rule_files();
  if (dir.empty()) return files;
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    Error e;
    e.code = ErrorCode::io;
    e.where.file = dir;
    e.key = "rules.dir";
    e.message = std::string("cannot open rules directory: ") + std::strerror(errno);
    return e;
  }
  std::vector<std::string> names;
  while (const dirent* ent = ::readdir(d)) {
    const std::string name = ent->d_name;
    if (name.size() > 5 && name.ends_with(".toml") && name.front() != '.') names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  Errors errors;
  for (const std::string& name : names) {
    const std::string path = dir + "/" + name;
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    if (in) text << in.rdbuf();
    if (!in) {
      Error e;
      e.code = ErrorCode::io;
      e.where.file = path;
      e.message = std::string("cannot read rule file: ") + std::strerror(errno);
      errors.push_back(std::move(e));
      continue;
    }
    files.push_back(scanner::RuleFile{path, text.str()});
  }
  if (!errors.empty()) return errors;
  return files;
}

Expected<Detection> load_detection(const std::string& config_path) {
  auto policy = Policy::load_file(config_path);
  if (!policy) return policy.errors();
  auto shared = std::make_shared<const Policy>(std::move(policy).value());
  auto files = read_rule_files(shared->config().rules.dir);
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
