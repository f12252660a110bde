#include "config_source.hpp"

#include <cstdio>
#include <cstdlib>

namespace hopguard::cli {

std::string config_path(const std::string& option_value) {
  const char* env = std::getenv("HOPGUARD_CONFIG");
  return resolve_config_path(option_value, env != nullptr ? env : "");
}

std::optional<Policy> load_policy_or_report(const std::string& path) {
  auto loaded = Policy::load_file(path);
  if (!loaded) {
    for (const Error& e : loaded.errors()) {
      std::fprintf(stderr, "hopguard: %s\n", e.to_string().c_str());
    }
    return std::nullopt;
  }
  return std::move(loaded).value();
}

}  // namespace hopguard::cli
