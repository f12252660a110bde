// The enforcement request and decision shared by the PAM module, the Kerberos plugins and
// `hopguard check`: PAM items -> Request -> decide() -> Decision -> record.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hopguard {

enum class Role { bastion, legacy };
enum class Stage {
  account,  // only the remote host is known (sshd exposes no principal here)
  session,  // remote host and, when sshd reports one, the Kerberos principal
  auth,     // the PAM module authenticates <user>-<host> itself; rhost and principal are checked
  userok,   // krb5_kuserok (the localauth module): the principal only; no remote host is known,
            // and the remote host is judged by pam_hopguard's account stage
};
enum class Verdict { allow, deny };

std::string_view to_string(Role r) noexcept;
std::string_view to_string(Stage s) noexcept;
std::string_view to_string(Verdict v) noexcept;
std::optional<Role> parse_role(std::string_view text) noexcept;
std::optional<Stage> parse_stage(std::string_view text) noexcept;

// Views into caller-owned text; a Request never outlives the strings it points to.
struct Request {
  Role role = Role::legacy;
  std::string_view host;   // this host's short name, as configured
  std::string_view user;   // the local account
  Stage stage = Stage::account;
  std::optional<std::string_view> principal;  // absent: no Kerberos principal is known
  std::optional<std::string_view> rhost;      // absent or empty: a local (console) login
};

struct Decision {
  Verdict verdict = Verdict::deny;
  std::string_view rule;  // a rule_id:: constant; empty on allow
  std::string reason;     // one short sentence for people; not parsed by tools
};

}  // namespace hopguard
