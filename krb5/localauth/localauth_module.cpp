// hopguard_localauth.so: an MIT krb5 localauth module (krb5/localauth_plugin.h, major version 1).
// sshd asks krb5_kuserok(principal, local user) before accepting GSSAPI; userok() answers EPERM
// when the site policy forbids the principal on this host (sshd then refuses before any
// session), and KRB5_PLUGIN_NO_HANDLE otherwise, so .k5login and the built-in rules still
// decide the rest. an2ln is not provided. Each refusal is recorded with the principal (syslog
// ident "hopguard"), because sshd logs no principal when it refuses.
//
// Exported: localauth_hopguard_initvt only (hopguard_localauth.map). No exception leaves the
// module; anything unexpected in userok() refuses (EPERM).
//
// krb5.conf:
//   [plugins]
//       localauth = {
//           module = hopguard:/usr/lib/x86_64-linux-gnu/krb5/plugins/localauth/hopguard_localauth.so
//       }
//   [hopguard]
//       config = /etc/hopguard/hopguard.toml   # optional
//       host = legacy1                         # optional
//       localauth_mode = enforce               # or monitor
//       localauth_on_error = deny              # or allow (bastions only)
#include "syslog_writer.hpp"
#include "userok_decision.hpp"

#include <krb5/localauth_plugin.h>
#include <profile.h>
#include <syslog.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <utility>

namespace {

using hopguard::localauth::Settings;

// Per krb5 context (MIT creates one module instance per context, and a context is used by one
// thread at a time): the settings and the config cache. No globals.
struct ModuleData {
  explicit ModuleData(Settings s) : settings(std::move(s)) {}
  const Settings settings;
  // keep_last_good=false: a broken edit makes userok fail closed rather than run on a stale policy.
  hopguard::PolicyCache cache{false};
};

std::string profile_value(profile_t profile, const char* name) {
  std::string out;
  char* value = nullptr;
  if (profile != nullptr && profile_get_string(profile, "hopguard", name, nullptr, nullptr, &value) == 0 &&
      value != nullptr) {
    out = value;
  }
  profile_release_string(value);
  return out;
}

std::string secure_env(const char* name) {
  const char* v = secure_getenv(name);  // null in setuid callers such as ksu
  return v != nullptr ? v : "";
}

Settings read_settings(krb5_context context) {
  Settings s;
  profile_t profile = nullptr;
  if (krb5_get_profile(context, &profile) != 0) profile = nullptr;
  s.config_path = hopguard::resolve_config_path(profile_value(profile, "config"), secure_env("HOPGUARD_CONFIG"));
  s.host = profile_value(profile, "host");
  if (s.host.empty()) s.host = secure_env("HOPGUARD_HOST");
  const std::string mode = profile_value(profile, "localauth_mode");
  if (mode == "monitor") {
    s.mode = hopguard::EnforceMode::monitor;
  } else if (!mode.empty() && mode != "enforce") {
    s.setting_error = "krb5 profile [hopguard] localauth_mode: \"" + mode.substr(0, 32) + "\" is not enforce|monitor";
  }
  const std::string on_error = profile_value(profile, "localauth_on_error");
  if (on_error == "allow") {
    s.on_error = hopguard::localauth::OnError::allow;
  } else if (!on_error.empty() && on_error != "deny") {
    s.setting_error = "krb5 profile [hopguard] localauth_on_error: \"" + on_error.substr(0, 32) + "\" is not deny|allow";
  }
  if (profile != nullptr) profile_release(profile);
  return s;
}

krb5_error_code hopguard_init(krb5_context context, krb5_localauth_moddata* data) noexcept {
  try {
    *data = reinterpret_cast<krb5_localauth_moddata>(new ModuleData(read_settings(context)));
    return 0;
  } catch (...) {
    return ENOMEM;
  }
}

void hopguard_fini(krb5_context, krb5_localauth_moddata data) noexcept {
  delete reinterpret_cast<ModuleData*>(data);
}

krb5_error_code hopguard_userok(krb5_context context, krb5_localauth_moddata data, krb5_const_principal aname,
                                const char* lname) noexcept {
  try {
    auto* module = reinterpret_cast<ModuleData*>(data);
    if (module == nullptr || aname == nullptr || lname == nullptr) return EPERM;
    char* unparsed = nullptr;
    if (krb5_unparse_name(context, aname, &unparsed) != 0) return EPERM;
    const std::string principal(unparsed);
    krb5_free_unparsed_name(context, unparsed);

    std::array<char, 256> hostname{};
    if (gethostname(hostname.data(), hostname.size() - 1) != 0) hostname[0] = '\0';
    const auto outcome =
        hopguard::localauth::judge_userok(module->cache, module->settings, principal, lname, hostname.data());
    if (!outcome.record.empty()) hopguard::localauth::send_to_syslog(outcome.priority, outcome.record);
    return outcome.answer == hopguard::localauth::Answer::refuse ? EPERM : KRB5_PLUGIN_NO_HANDLE;
  } catch (...) {
    return EPERM;
  }
}

}  // namespace

extern "C" __attribute__((visibility("default"))) krb5_error_code localauth_hopguard_initvt(
    krb5_context, int maj_ver, int, krb5_plugin_vtable vtable) {
  if (maj_ver != 1) return KRB5_PLUGIN_VER_NOTSUPP;
  auto vt = reinterpret_cast<krb5_localauth_vtable>(vtable);
  vt->name = "hopguard";
  vt->an2ln_types = nullptr;
  vt->init = hopguard_init;
  vt->fini = hopguard_fini;
  vt->userok = hopguard_userok;
  vt->an2ln = nullptr;
  vt->free_string = nullptr;
  return 0;
}
