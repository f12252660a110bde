// The module arguments of pam_hopguard (DESIGN "Modules and their configuration", pam_hopguard(8)).
// Parsed from the PAM stack line on every call; a table sorted by name, one entry per option.
#pragma once

#include <hopguard/decision.hpp>
#include <hopguard/policy.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hopguard::pam {

enum class OnError { deny, allow };

struct Options {
  std::string ccache_dir = "/tmp";   // setcred: where the user's credential cache is created
  std::string config;                // config=PATH; empty: HOPGUARD_CONFIG, then the default path
  bool debug = false;                // extra LOG_DEBUG lines; records are written either way
  std::string host;                  // host=NAME; empty: HOPGUARD_HOST, then the system host name
  std::string keytab;                // auth: the host keytab; empty: libkrb5's default keytab
  EnforceMode mode = EnforceMode::enforce;
  // What a bastion does when the config cannot be used (unreadable, invalid, host unknown).
  // Honoured only with an explicit role=bastion: a legacy guest, or a host whose role is unknown
  // because the config is unusable, always fails closed.
  OnError on_error = OnError::deny;
  std::optional<Role> role;          // role=; absent: the role configured for this host
};

// One problem with the arguments, already worded for the log.
struct OptionProblem {
  bool unknown = false;   // an unknown argument: logged, then ignored
  std::string message;    // "unknown option \"foo\"" / "bad value \"x\" for role (bastion|legacy)"
};

struct ParsedOptions {
  Options options;
  // Unknown arguments are logged and ignored (as pam-krb5 does). A known argument with a bad
  // value makes the configuration unusable: the call is treated like an invalid config file.
  std::vector<OptionProblem> problems;
  bool usable() const noexcept;
};

ParsedOptions parse_options(int argc, const char** argv);

}  // namespace hopguard::pam
