// The decision behind the localauth module's userok(): may this Kerberos principal log in as
// this local account on this host? Only the credential is judged here (the policy's principal
// rules); the remote host is not known to krb5_kuserok() and is pam_hopguard's account stage's.
#pragma once

#include <hopguard/policy.hpp>
#include <hopguard/policy_cache.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace hopguard::localauth {

enum class OnError { deny, allow };

// From the krb5 profile's [hopguard] section (krb5.conf), read once per krb5 context.
struct Settings {
  std::string config_path;  // [hopguard] config, else HOPGUARD_CONFIG, else the default path
  std::string host;         // [hopguard] host, else HOPGUARD_HOST (resolve_host: then the host name)
  EnforceMode mode = EnforceMode::enforce;  // [hopguard] localauth_mode = enforce|monitor
  // [hopguard] localauth_on_error = deny|allow: the answer when the config is unusable. The
  // host's role is unknown then, so allow means "no opinion" whatever the host is; it belongs
  // in the krb5.conf of bastions only (krb5.conf is per host), never of legacy guests.
  OnError on_error = OnError::deny;
  std::string setting_error;  // a bad value in [hopguard]; makes every answer a config error
};

enum class Answer {
  no_opinion,  // KRB5_PLUGIN_NO_HANDLE: .k5login and the other modules decide
  refuse,      // EPERM: refused whatever .k5login says
};

struct UserokOutcome {
  Answer answer = Answer::refuse;
  std::string record;  // the decision record to log; empty: nothing to log (an allow)
  int priority = 0;    // syslog priority of the record
};

// Judges one userok() call. system_hostname is gethostname() (passed in: no I/O here besides
// the cache's stat()).
UserokOutcome judge_userok(PolicyCache& cache, const Settings& settings, std::string_view principal,
                           std::string_view local_user, std::string_view system_hostname);

}  // namespace hopguard::localauth
