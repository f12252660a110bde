// pam_caller: a PAM application as su or login is one, for tests that need what pam_wrapper
// cannot give. It uses the real libpam (pam_start_confdir, no LD_PRELOAD), so it still works
// when installed set-group-id, where the dynamic loader ignores LD_PRELOAD and the kernel sets
// AT_SECURE: the condition in which pam_hopguard must ignore the caller's environment.
//
//   pam_caller CONFDIR SERVICE USER [rhost=ADDR] OP...
//   OP: authenticate:PASSWORD | authenticate (no password: the conversation fails) |
//       acct_mgmt | setcred | delete_cred | open_session | close_session
//
// All operations run on one handle, in order, each whatever the previous returned. Output on
// stdout, one line per event, in order:
//   at_secure=0|1 env HOPGUARD_CONFIG=set|unset KRB5_CONFIG=set|unset
//   SYSLOG(PRIORITY): TEXT              every syslog() line of libpam and the module
//   OP rc=N PAM_TEXT                    the result of each operation
//   env KRB5CCNAME=VALUE|unset          the PAM environment after the last operation
// Exit 0 once every operation ran (whatever they returned), 2 on bad usage or pam_start failure.
//
// syslog() is captured by defining it here: a definition in the executable comes first in the
// global symbol scope, so libpam's pam_syslog reaches it without any preloading.
#include <security/pam_appl.h>
#include <sys/auxv.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace {

void emit_syslog(int priority, const char* format, va_list ap) {
  char text[2048];
  std::vsnprintf(text, sizeof text, format, ap);
  std::printf("SYSLOG(%d): %s\n", priority & 7, text);
  std::fflush(stdout);
}

struct Answer {
  const char* password = nullptr;  // null: the conversation fails
};

int converse(int n, const pam_message** msgs, pam_response** out, void* data) {
  const auto* answer = static_cast<const Answer*>(data);
  if (n <= 0 || n > PAM_MAX_NUM_MSG) return PAM_CONV_ERR;
  auto* replies = static_cast<pam_response*>(std::calloc(static_cast<std::size_t>(n), sizeof(pam_response)));
  if (replies == nullptr) return PAM_BUF_ERR;
  for (int i = 0; i < n; ++i) {
    const int style = msgs[i]->msg_style;
    if (style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON) {
      if (answer->password == nullptr) {
        for (int j = 0; j < i; ++j) std::free(replies[j].resp);
        std::free(replies);
        return PAM_CONV_ERR;
      }
      std::printf("CONV prompt \"%s\"\n", msgs[i]->msg);
      replies[i].resp = strdup(answer->password);
    } else {
      std::printf("CONV message \"%s\"\n", msgs[i]->msg);
    }
  }
  *out = replies;
  return PAM_SUCCESS;
}

const char* set_or_unset(const char* name) { return std::getenv(name) != nullptr ? "set" : "unset"; }

}  // namespace

extern "C" {
// The syslog entry points glibc has (the _chk ones under _FORTIFY_SOURCE, as libpam is built).
__attribute__((visibility("default"))) void syslog(int priority, const char* format, ...) {
  va_list ap;
  va_start(ap, format);
  emit_syslog(priority, format, ap);
  va_end(ap);
}
__attribute__((visibility("default"))) void vsyslog(int priority, const char* format, va_list ap) {
  emit_syslog(priority, format, ap);
}
__attribute__((visibility("default"))) void __syslog_chk(int priority, int, const char* format, ...) {
  va_list ap;
  va_start(ap, format);
  emit_syslog(priority, format, ap);
  va_end(ap);
}
__attribute__((visibility("default"))) void __vsyslog_chk(int priority, int, const char* format, va_list ap) {
  emit_syslog(priority, format, ap);
}
}

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: pam_caller CONFDIR SERVICE USER [rhost=ADDR] OP...\n");
    return 2;
  }
  std::printf("at_secure=%lu env HOPGUARD_CONFIG=%s KRB5_CONFIG=%s\n", getauxval(AT_SECURE),
              set_or_unset("HOPGUARD_CONFIG"), set_or_unset("KRB5_CONFIG"));
  Answer answer;
  const pam_conv conv{converse, &answer};
  pam_handle_t* pamh = nullptr;
  int rc = pam_start_confdir(argv[2], argv[3], &conv, argv[1], &pamh);
  if (rc != PAM_SUCCESS) {
    std::printf("pam_start rc=%d %s\n", rc, pam_strerror(nullptr, rc));
    return 2;
  }
  int first_op = 4;
  if (std::string_view(argv[4]).starts_with("rhost=")) {
    pam_set_item(pamh, PAM_RHOST, argv[4] + 6);
    ++first_op;
  }
  for (int i = first_op; i < argc; ++i) {
    const std::string_view op(argv[i]);
    const auto colon = op.find(':');
    const std::string_view name = op.substr(0, colon);
    answer.password = colon == std::string_view::npos ? nullptr : argv[i] + colon + 1;
    if (name == "authenticate") {
      // A new attempt on the same handle, as a login program retrying a password does (libpam
      // forgets the previous PAM_AUTHTOK at the end of each pam_authenticate).
      rc = pam_authenticate(pamh, 0);
    } else if (name == "acct_mgmt") {
      rc = pam_acct_mgmt(pamh, 0);
    } else if (name == "setcred") {
      rc = pam_setcred(pamh, PAM_ESTABLISH_CRED);
    } else if (name == "delete_cred") {
      rc = pam_setcred(pamh, PAM_DELETE_CRED);
    } else if (name == "open_session") {
      rc = pam_open_session(pamh, 0);
    } else if (name == "close_session") {
      rc = pam_close_session(pamh, 0);
    } else {
      std::fprintf(stderr, "pam_caller: unknown operation %s\n", argv[i]);
      pam_end(pamh, PAM_ABORT);
      return 2;
    }
    std::printf("%.*s rc=%d %s\n", static_cast<int>(name.size()), name.data(), rc, pam_strerror(pamh, rc));
    std::fflush(stdout);
  }
  const char* cc = pam_getenv(pamh, "KRB5CCNAME");
  std::printf("env KRB5CCNAME=%s\n", cc != nullptr ? cc : "unset");
  pam_end(pamh, rc);
  return 0;
}
