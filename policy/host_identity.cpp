// Which host is this, and where is its config (DESIGN "Modules and their configuration").
#include <hopguard/policy.hpp>

namespace hopguard {

std::string resolve_config_path(std::string_view explicit_path, std::string_view env_path) {
  if (!explicit_path.empty()) return std::string(explicit_path);
  if (!env_path.empty()) return std::string(env_path);
  return std::string(kDefaultConfigPath);
}

Expected<const HostEntry*> resolve_host(const Policy& policy, std::string_view explicit_name,
                                        std::string_view env_name,
                                        std::string_view system_hostname) {
  const std::string_view given = !explicit_name.empty() ? explicit_name : env_name;
  if (!given.empty()) {
    if (const HostEntry* h = policy.find_host(given)) return h;
    return Error{ErrorCode::unknown_host, {policy.config().source, 0, 0}, "",
                 "host \"" + std::string(given.substr(0, 64)) + "\" is not configured"};
  }
  if (!system_hostname.empty()) {
    if (const HostEntry* h = policy.find_host(system_hostname)) return h;
    if (const HostEntry* h = policy.find_host_by_fqdn(system_hostname)) return h;
    const auto dot = system_hostname.find('.');
    if (dot != std::string_view::npos) {
      if (const HostEntry* h = policy.find_host(system_hostname.substr(0, dot))) return h;
    }
  }
  return Error{ErrorCode::unknown_host, {policy.config().source, 0, 0}, "",
               "system host name \"" + std::string(system_hostname.substr(0, 64)) +
                   "\" matches no configured host; set host= or HOPGUARD_HOST"};
}

}  // namespace hopguard
