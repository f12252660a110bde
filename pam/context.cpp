#include "context.hpp"

#include <security/pam_ext.h>
#include <syslog.h>
#include <unistd.h>

#include <array>
#include <cstdlib>

namespace hopguard::pam {

StashedCredentials::~StashedCredentials() {
  // A MEMORY ccache lives in this process only; destroying it never touches the user's files.
  if (cache_ != nullptr) krb5_cc_destroy(ctx_, cache_);
  if (ctx_ != nullptr) krb5_free_context(ctx_);
}

namespace {

void free_handle_state(pam_handle_t*, void* data, int) {
  // Also called with PAM_DATA_SILENT in a forked child of the application: only memory and
  // this process's MEMORY ccache are released here, never files shared with the parent.
  delete static_cast<HandleState*>(data);
}

HandleState* handle_state(pam_handle_t* pamh) {
  const void* existing = nullptr;
  if (pam_get_data(pamh, kHandleDataName, &existing) == PAM_SUCCESS && existing != nullptr) {
    return static_cast<HandleState*>(const_cast<void*>(existing));
  }
  auto state = std::make_unique<HandleState>();
  if (pam_set_data(pamh, kHandleDataName, state.get(), free_handle_state) != PAM_SUCCESS) return nullptr;
  return state.release();  // owned by the handle now
}

// Environment lookups that a setuid caller (su, sudo) must not let its user steer:
// secure_getenv() returns null under AT_SECURE.
std::string_view secure_env(const char* name) {
  const char* v = secure_getenv(name);
  return v != nullptr ? std::string_view(v) : std::string_view{};
}

}  // namespace

Call begin_call(pam_handle_t* pamh, Stage stage, const char* phase, int argc, const char** argv,
                bool may_prompt_user) {
  Call call;
  call.pamh = pamh;
  call.stage = stage;
  call.phase = phase;
  call.parsed = parse_options(argc, argv);
  for (const OptionProblem& p : call.parsed.problems) pam_syslog(pamh, LOG_ERR, "%s", p.message.c_str());

  call.state = handle_state(pamh);

  const char* user = nullptr;
  if (may_prompt_user) {
    if (pam_get_user(pamh, &user, nullptr) != PAM_SUCCESS) user = nullptr;
  } else {
    const void* item = nullptr;
    if (pam_get_item(pamh, PAM_USER, &item) == PAM_SUCCESS) user = static_cast<const char*>(item);
  }
  if (user != nullptr) call.user = user;
  const void* rhost = nullptr;
  if (pam_get_item(pamh, PAM_RHOST, &rhost) == PAM_SUCCESS && rhost != nullptr) {
    call.rhost = static_cast<const char*>(rhost);
  }

  const Options& o = call.options();
  call.role = o.role.value_or(Role::legacy);
  if (call.state == nullptr) {
    call.setup_error = "cannot keep module state on the PAM handle";
    return call;
  }
  if (!call.parsed.usable()) {
    for (const OptionProblem& p : call.parsed.problems) {
      if (p.unknown) continue;
      if (!call.setup_error.empty()) call.setup_error += "; ";
      call.setup_error += "module arguments: " + p.message;
    }
    return call;
  }
  call.config_path = resolve_config_path(o.config, secure_env("HOPGUARD_CONFIG"));
  auto snapshot = call.state->cache.get(call.config_path);
  if (!snapshot.policy) {
    call.setup_error = snapshot.error.empty() ? call.config_path + ": no usable config" : snapshot.error;
    return call;
  }
  std::array<char, 256> hostname{};
  if (gethostname(hostname.data(), hostname.size() - 1) != 0) hostname[0] = '\0';
  auto host = resolve_host(*snapshot.policy, o.host, secure_env("HOPGUARD_HOST"), hostname.data());
  if (!host) {
    call.setup_error = to_string(host.errors());
    while (!call.setup_error.empty() && call.setup_error.back() == '\n') call.setup_error.pop_back();
    return call;
  }
  call.policy = std::move(snapshot.policy);
  call.host = host.value();
  call.role = o.role.value_or(call.host->role);
  if (o.debug) {
    pam_syslog(pamh, LOG_DEBUG, "%s: config %s, host %s, role %s, user \"%.64s\", rhost \"%.64s\"", phase,
               call.config_path.c_str(), call.host->name.c_str(), std::string(to_string(call.role)).c_str(),
               call.user.c_str(), call.rhost ? call.rhost->c_str() : "");
  }
  return call;
}

}  // namespace hopguard::pam
