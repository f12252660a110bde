// kuserok_probe: asks libkrb5 krb5_kuserok() -- the call sshd makes before accepting GSSAPI --
// for each "PRINCIPAL LOCALUSER" line on stdin, in one krb5 context (so the localauth module
// stays loaded and its config cache warm), and answers one line each on stdout:
// "authorized", "refused", or "error: ..." for a principal libkrb5 cannot parse.
// KRB5_CONFIG selects the krb5.conf (and so the [plugins] localauth modules).
#include <krb5.h>

#include <cstdio>
#include <iostream>
#include <string>

int main() {
  krb5_context ctx = nullptr;
  if (krb5_init_context(&ctx) != 0) {
    std::fprintf(stderr, "kuserok_probe: cannot create a krb5 context\n");
    return 2;
  }
  std::string line;
  while (std::getline(std::cin, line)) {
    const auto sp = line.rfind(' ');
    if (sp == std::string::npos) {
      std::cout << "error: expected PRINCIPAL LOCALUSER" << std::endl;
      continue;
    }
    const std::string principal = line.substr(0, sp);
    const std::string user = line.substr(sp + 1);
    krb5_principal p = nullptr;
    if (krb5_parse_name(ctx, principal.c_str(), &p) != 0) {
      std::cout << "error: unparsable principal" << std::endl;
      continue;
    }
    const bool ok = krb5_kuserok(ctx, p, user.c_str()) != FALSE;
    krb5_free_principal(ctx, p);
    std::cout << (ok ? "authorized" : "refused") << std::endl;
  }
  krb5_free_context(ctx);
  return 0;
}
