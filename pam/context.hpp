// What one call of a pam_sm_* entry point works with: the parsed arguments, the PAM items, the
// policy for this host (or why there is none), and the state kept on the PAM handle between
// calls (pam_set_data): the config cache, the principal our auth stage authenticated, and its
// credentials until setcred stores them for the user.
//
// Nothing lives in globals: the handle owns everything and frees it at pam_end(). sshd runs
// auth (password), setcred and open_session on one handle in its privileged monitor, so the
// auth stage's principal reaches the session stage.
#pragma once

#include "options.hpp"

#include <hopguard/decision.hpp>
#include <hopguard/policy.hpp>
#include <hopguard/policy_cache.hpp>

#include <krb5.h>
#include <security/pam_modules.h>

#include <memory>
#include <optional>
#include <string>

namespace hopguard::pam {

// The pam_set_data name of HandleState. Private to this module by convention.
inline constexpr const char* kHandleDataName = "hopguard-pam-state";

// Credentials from the auth stage, in a MEMORY ccache, until setcred copies them.
class StashedCredentials {
 public:
  StashedCredentials(krb5_context ctx, krb5_ccache cache) noexcept : ctx_(ctx), cache_(cache) {}
  ~StashedCredentials();
  StashedCredentials(const StashedCredentials&) = delete;
  StashedCredentials& operator=(const StashedCredentials&) = delete;
  krb5_context context() const noexcept { return ctx_; }
  krb5_ccache cache() const noexcept { return cache_; }

 private:
  krb5_context ctx_;
  krb5_ccache cache_;
};

struct HandleState {
  // Serves no policy while the file is broken: a legacy guest must fail closed, not run on a
  // stale copy (PolicyCache keep_last_good=false).
  PolicyCache cache{false};
  // Set by a successful auth stage; used by session when sshd reports no GSSAPI principal.
  std::string auth_user;
  std::string auth_principal;
  std::unique_ptr<StashedCredentials> credentials;
  // The credential cache setcred created for the user ("FILE:/tmp/krb5cc_UID_XXXXXX").
  std::string user_ccache;
};

struct Call {
  pam_handle_t* pamh = nullptr;
  Stage stage = Stage::account;
  const char* phase = "account";  // for debug lines: account, session, auth, setcred, close_session
  ParsedOptions parsed;
  const Options& options() const noexcept { return parsed.options; }
  HandleState* state = nullptr;  // null only when PAM refused the data (then: internal error)

  std::string user;                  // PAM_USER; empty when unset
  std::optional<std::string> rhost;  // PAM_RHOST; absent when unset

  std::shared_ptr<const Policy> policy;  // null when the config is unusable
  const HostEntry* host = nullptr;       // this host, when policy is set and host resolved
  Role role = Role::legacy;              // role= when given, else the configured role, else legacy
  std::string config_path;
  std::string setup_error;  // non-empty: the configuration is unusable, and why
};

// Parses the arguments, logs argument problems, fetches the handle state (creating it), the
// user (prompting only when may_prompt_user) and rhost, and loads the policy and this host.
// Never throws past the module boundary (the entry point catches); setup problems are reported
// in call.setup_error, not as a return value, because every stage must record them.
Call begin_call(pam_handle_t* pamh, Stage stage, const char* phase, int argc, const char** argv,
                bool may_prompt_user);

}  // namespace hopguard::pam
