#include "ssh_auth_info.hpp"

#include <algorithm>

namespace hopguard::pam {

namespace {

bool carries_principal(std::string_view method) {
  return method == "gssapi-with-mic" || method == "gssapi-keyex";
}

}  // namespace

SshAuthInfo parse_ssh_auth_info(std::string_view value) {
  SshAuthInfo info;
  if (value.size() > kMaxAuthInfoBytes) {
    info.error = "SSH_AUTH_INFO_0 is longer than " + std::to_string(kMaxAuthInfoBytes) + " bytes";
    return info;
  }
  if (value.find('\0') != std::string_view::npos) {
    info.error = "SSH_AUTH_INFO_0 holds a NUL byte";
    return info;
  }
  std::vector<std::string> principals;
  std::size_t lines = 0;
  while (!value.empty()) {
    const auto nl = value.find('\n');
    const std::string_view line = value.substr(0, nl);
    value = nl == std::string_view::npos ? std::string_view{} : value.substr(nl + 1);
    if (++lines > kMaxAuthInfoLines) {
      info.error = "SSH_AUTH_INFO_0 has more than " + std::to_string(kMaxAuthInfoLines) + " lines";
      return info;
    }
    const auto sp = line.find(' ');
    const std::string_view method = line.substr(0, sp);
    if (method.empty()) {
      info.error = "SSH_AUTH_INFO_0 line " + std::to_string(lines) + " names no method";
      return info;
    }
    info.methods.emplace_back(method);
    if (!carries_principal(method)) continue;
    const std::string_view principal = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
    if (std::find(principals.begin(), principals.end(), principal) == principals.end()) {
      principals.emplace_back(principal);
    }
  }
  info.principals = std::move(principals);
  return info;
}

}  // namespace hopguard::pam
