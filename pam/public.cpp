// The PAM entry points of pam_hopguard.so, and nothing else. Each has the same shape: prepare
// the call (arguments, items, policy), run one stage, return its code. No exception leaves the
// module: the one catch-all maps anything unexpected to PAM_SERVICE_ERR, a failure for every
// control value, so an internal error fails closed on every host.
//
// Exported: pam_sm_authenticate, pam_sm_setcred, pam_sm_acct_mgmt, pam_sm_open_session,
// pam_sm_close_session (pam_hopguard.map). Everything else is hidden.
#include "stages.hpp"

#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <syslog.h>

#define HOPGUARD_PAM_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

template <class Stage>
int run(pam_handle_t* pamh, const char* phase, Stage&& stage) noexcept {
  try {
    return stage();
  } catch (...) {
    pam_syslog(pamh, LOG_CRIT, "%s: internal error, refusing", phase);
    return PAM_SERVICE_ERR;
  }
}

}  // namespace

HOPGUARD_PAM_EXPORT int pam_sm_acct_mgmt(pam_handle_t* pamh, int, int argc, const char** argv) {
  return run(pamh, "account", [&] {
    auto call = hopguard::pam::begin_call(pamh, hopguard::Stage::account, "account", argc, argv, false);
    return hopguard::pam::account(call);
  });
}

HOPGUARD_PAM_EXPORT int pam_sm_open_session(pam_handle_t* pamh, int, int argc, const char** argv) {
  return run(pamh, "session", [&] {
    auto call = hopguard::pam::begin_call(pamh, hopguard::Stage::session, "session", argc, argv, false);
    return hopguard::pam::open_session(call);
  });
}

HOPGUARD_PAM_EXPORT int pam_sm_close_session(pam_handle_t* pamh, int, int argc, const char** argv) {
  return run(pamh, "close_session", [&] {
    auto call = hopguard::pam::begin_call(pamh, hopguard::Stage::session, "close_session", argc, argv, false);
    return hopguard::pam::close_session(call);
  });
}

HOPGUARD_PAM_EXPORT int pam_sm_authenticate(pam_handle_t* pamh, int, int argc, const char** argv) {
  return run(pamh, "auth", [&] {
    auto call = hopguard::pam::begin_call(pamh, hopguard::Stage::auth, "auth", argc, argv, true);
    return hopguard::pam::authenticate(call);
  });
}

HOPGUARD_PAM_EXPORT int pam_sm_setcred(pam_handle_t* pamh, int flags, int argc, const char** argv) {
  return run(pamh, "setcred", [&] {
    auto call = hopguard::pam::begin_call(pamh, hopguard::Stage::auth, "setcred", argc, argv, false);
    return hopguard::pam::setcred(call, flags);
  });
}
