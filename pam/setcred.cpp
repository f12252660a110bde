// setcred and the end of a session: the credentials our auth stage obtained become the user's
// credential cache, FILE:<ccache_dir>/krb5cc_<uid>_XXXXXX owned by the user, named in the PAM
// environment as KRB5CCNAME (what pam-krb5 users expect; sshd copies it into the session).
// Deleted at PAM_DELETE_CRED and at close_session.
#include "stages.hpp"

#include <security/pam_ext.h>
#include <security/pam_modutil.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace hopguard::pam {

namespace {

std::string krb5_message(krb5_context ctx, krb5_error_code code) {
  const char* m = krb5_get_error_message(ctx, code);
  std::string out(m != nullptr ? m : "unknown error");
  krb5_free_error_message(ctx, m);
  return out.substr(0, 200);
}

// Writes the stashed credentials to path (created if absent) and gives the file to the user.
bool write_user_cache(const Call& call, const StashedCredentials& creds, const std::string& path, uid_t uid,
                      gid_t gid) {
  krb5_context ctx = creds.context();
  krb5_principal client = nullptr;
  krb5_ccache out = nullptr;
  const std::string name = "FILE:" + path;
  krb5_error_code rc = krb5_cc_get_principal(ctx, creds.cache(), &client);
  if (rc == 0) rc = krb5_cc_resolve(ctx, name.c_str(), &out);
  if (rc == 0) rc = krb5_cc_initialize(ctx, out, client);
  if (rc == 0) rc = krb5_cc_copy_creds(ctx, creds.cache(), out);
  if (client != nullptr) krb5_free_principal(ctx, client);
  if (out != nullptr) krb5_cc_close(ctx, out);
  if (rc != 0) {
    pam_syslog(call.pamh, LOG_ERR, "setcred: cannot write %s: %s", path.c_str(), krb5_message(ctx, rc).c_str());
    return false;
  }
  // Root wrote the file in a sticky directory; hand it over without following a link.
  const int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st {};
  const bool ok = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && fchown(fd, uid, gid) == 0 &&
                  fchmod(fd, 0600) == 0;
  if (fd >= 0) close(fd);
  if (!ok) {
    pam_syslog(call.pamh, LOG_ERR, "setcred: cannot give %s to uid %u: %s", path.c_str(), static_cast<unsigned>(uid),
               std::strerror(errno));
    unlink(path.c_str());
  }
  return ok;
}

int establish(Call& call) {
  HandleState& s = *call.state;
  const passwd* pw = pam_modutil_getpwnam(call.pamh, call.user.c_str());
  if (pw == nullptr) {
    pam_syslog(call.pamh, LOG_ERR, "setcred: no account \"%.64s\"", call.user.c_str());
    return PAM_USER_UNKNOWN;
  }
  std::string path = s.user_ccache;
  if (path.empty()) {
    std::string templ = call.options().ccache_dir + "/krb5cc_" + std::to_string(pw->pw_uid) + "_XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    const int fd = mkstemp(buf.data());
    if (fd < 0) {
      pam_syslog(call.pamh, LOG_ERR, "setcred: cannot create a cache in %s: %s", call.options().ccache_dir.c_str(),
                 std::strerror(errno));
      return PAM_CRED_ERR;
    }
    close(fd);
    path = buf.data();
  }
  if (!write_user_cache(call, *s.credentials, path, pw->pw_uid, pw->pw_gid)) {
    if (s.user_ccache.empty()) unlink(path.c_str());
    return PAM_CRED_ERR;
  }
  s.user_ccache = path;
  const std::string env = "KRB5CCNAME=FILE:" + path;
  if (pam_putenv(call.pamh, env.c_str()) != PAM_SUCCESS) {
    pam_syslog(call.pamh, LOG_ERR, "setcred: cannot set KRB5CCNAME");
    return PAM_CRED_ERR;
  }
  if (call.options().debug) pam_syslog(call.pamh, LOG_DEBUG, "setcred: credentials in FILE:%s", path.c_str());
  return PAM_SUCCESS;
}

int remove_user_cache(Call& call) {
  HandleState& s = *call.state;
  if (s.user_ccache.empty()) return PAM_IGNORE;
  if (unlink(s.user_ccache.c_str()) != 0 && errno != ENOENT) {
    pam_syslog(call.pamh, LOG_ERR, "cannot remove %s: %s", s.user_ccache.c_str(), std::strerror(errno));
  }
  if (call.options().debug) pam_syslog(call.pamh, LOG_DEBUG, "%s: removed %s", call.phase, s.user_ccache.c_str());
  s.user_ccache.clear();
  pam_putenv(call.pamh, "KRB5CCNAME");  // unset in the PAM environment
  return PAM_SUCCESS;
}

}  // namespace

int setcred(Call& call, int flags) {
  if (call.state == nullptr) return PAM_IGNORE;
  if ((flags & PAM_DELETE_CRED) != 0) return remove_user_cache(call);
  if ((flags & (PAM_ESTABLISH_CRED | PAM_REINITIALIZE_CRED | PAM_REFRESH_CRED)) == 0) return PAM_IGNORE;
  // Only credentials this module obtained, for the user it obtained them for.
  if (!call.state->credentials || call.state->auth_user != call.user) return PAM_IGNORE;
  return establish(call);
}

}  // namespace hopguard::pam
