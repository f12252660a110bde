// The Kerberos exchange of the auth stage: obtain a TGT for the host-specific principal with the
// typed password, then verify it against this host's keytab (krb5_verify_init_creds with
// ap_req_nofail), so that a forged KDC answering for the realm cannot log anyone in: only the
// real KDC shares the host key. This is the only place the module blocks on the network.
#pragma once

#include "context.hpp"

#include <krb5.h>

#include <memory>
#include <string>

namespace hopguard::pam {

struct KerberosLogin {
  krb5_error_code code = 0;  // 0: authenticated and verified
  std::string message;       // libkrb5's message when code != 0, bounded
  bool unavailable = false;  // the KDC or the keytab could not be used at all (not a wrong password)
  std::unique_ptr<StashedCredentials> credentials;  // set when code == 0
};

// principal: "<user>-<host>@REALM"; keytab: empty for libkrb5's default; verify_service: the
// host principal whose key must decrypt the verification ticket ("host/<fqdn>@REALM").
KerberosLogin kerberos_login(const std::string& principal, const std::string& password,
                             const std::string& keytab, const std::string& verify_service);

}  // namespace hopguard::pam
