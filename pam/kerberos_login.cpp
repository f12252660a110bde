#include "kerberos_login.hpp"

#include <sys/auxv.h>

#include <cstring>

namespace hopguard::pam {

namespace {

// Owns one krb5 object; the deleter needs the context.
struct ContextGuard {
  krb5_context ctx = nullptr;
  ~ContextGuard() {
    if (ctx != nullptr) krb5_free_context(ctx);
  }
};

std::string message_of(krb5_context ctx, krb5_error_code code, const char* what) {
  const char* m = krb5_get_error_message(ctx, code);
  std::string out = std::string(what) + ": " + std::string(m != nullptr ? m : "unknown error").substr(0, 200);
  krb5_free_error_message(ctx, m);
  return out;
}

bool is_unavailable(krb5_error_code code) {
  switch (code) {
    case KRB5_KDC_UNREACH:
    case KRB5_REALM_UNKNOWN:
    case KRB5_REALM_CANT_RESOLVE:
    case KRB5_CONFIG_CANTOPEN:
    case KRB5_KT_NOTFOUND:
    case KRB5_KT_NOWRITE:
    case ENOENT:
    case EACCES:
      return true;
    default:
      return false;
  }
}

}  // namespace

KerberosLogin kerberos_login(const std::string& principal, const std::string& password,
                             const std::string& keytab, const std::string& verify_service) {
  KerberosLogin out;
  ContextGuard guard;
  // In a setuid or setgid caller (su, sudo) the environment belongs to the user, who could
  // point KRB5_CONFIG at a KDC and KRB5_KTNAME at a keytab of their own and so forge the
  // verification: there, a secure context ignores the environment. Elsewhere (sshd, login,
  // tests) the administrator's KRB5_CONFIG applies, as for pam-krb5.
  const bool secure = getauxval(AT_SECURE) != 0;
  if (krb5_error_code rc = secure ? krb5_init_secure_context(&guard.ctx) : krb5_init_context(&guard.ctx); rc != 0) {
    out.code = rc;
    out.message = message_of(nullptr, rc, "cannot create a Kerberos context");
    out.unavailable = true;
    return out;
  }
  krb5_context ctx = guard.ctx;

  krb5_principal client = nullptr;
  krb5_principal server = nullptr;
  krb5_keytab kt = nullptr;
  krb5_get_init_creds_opt* gic_opts = nullptr;
  krb5_ccache mem = nullptr;
  krb5_creds creds;
  std::memset(&creds, 0, sizeof creds);
  bool have_creds = false;

  const auto fail = [&](krb5_error_code rc, const char* what) {
    out.code = rc;
    out.message = message_of(ctx, rc, what);
    out.unavailable = is_unavailable(rc);
  };

  krb5_error_code rc =
      krb5_parse_name_flags(ctx, principal.c_str(), KRB5_PRINCIPAL_PARSE_REQUIRE_REALM, &client);
  if (rc != 0) {
    fail(rc, "cannot parse the principal");
  } else if ((rc = krb5_parse_name_flags(ctx, verify_service.c_str(), KRB5_PRINCIPAL_PARSE_REQUIRE_REALM,
                                         &server)) != 0) {
    fail(rc, "cannot parse the verification service");
  } else if ((rc = keytab.empty() ? krb5_kt_default(ctx, &kt) : krb5_kt_resolve(ctx, keytab.c_str(), &kt)) != 0) {
    fail(rc, "cannot open the keytab");
  } else if ((rc = krb5_get_init_creds_opt_alloc(ctx, &gic_opts)) != 0) {
    fail(rc, "cannot allocate options");
  } else if ((rc = krb5_get_init_creds_password(ctx, &creds, client, password.c_str(), nullptr, nullptr, 0,
                                                nullptr, gic_opts)) != 0) {
    fail(rc, "cannot obtain a ticket");
  } else {
    have_creds = true;
    krb5_verify_init_creds_opt vopts;
    krb5_verify_init_creds_opt_init(&vopts);
    // Fail unless the ticket decrypts with the host key: no "keytab missing, so trust it".
    krb5_verify_init_creds_opt_set_ap_req_nofail(&vopts, 1);
    if ((rc = krb5_verify_init_creds(ctx, &creds, server, kt, nullptr, &vopts)) != 0) {
      fail(rc, "ticket not verified with the host keytab");
      out.unavailable = false;  // a forged KDC or a stale keytab: refuse, as for a wrong password
    } else if ((rc = krb5_cc_new_unique(ctx, "MEMORY", nullptr, &mem)) != 0 ||
               (rc = krb5_cc_initialize(ctx, mem, client)) != 0 || (rc = krb5_cc_store_cred(ctx, mem, &creds)) != 0) {
      fail(rc, "cannot keep the credentials");
      out.unavailable = true;
    }
  }

  if (have_creds) krb5_free_cred_contents(ctx, &creds);
  if (gic_opts != nullptr) krb5_get_init_creds_opt_free(ctx, gic_opts);
  if (kt != nullptr) krb5_kt_close(ctx, kt);
  if (server != nullptr) krb5_free_principal(ctx, server);
  if (client != nullptr) krb5_free_principal(ctx, client);
  if (out.code != 0) {
    if (mem != nullptr) krb5_cc_destroy(ctx, mem);
    return out;
  }
  out.credentials = std::make_unique<StashedCredentials>(ctx, mem);
  guard.ctx = nullptr;  // owned by the credentials now
  return out;
}

}  // namespace hopguard::pam
