// Kerberos principal classes (DESIGN section 4, contract).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hopguard {

enum class PrincipalClass {
  regular,  // one component, site realm, not special: alice@HG.TEST
  special,  // one component, site realm, primary matches special_principal for a configured legacy guest
  service,  // two or more components: host/legacy1.hg.test@HG.TEST, krbtgt/HG.TEST@HG.TEST
  foreign,  // any realm other than the site realm (realms compare case-sensitively)
  invalid,  // not a principal: empty, over-long, no realm, control bytes, unparsable by libkrb5
};

std::string_view to_string(PrincipalClass c) noexcept;

// Longest principal text (bytes) accepted. The KDC cuts names of 128 bytes or more in its log;
// libkrb5 itself accepts far longer names, but no sane site uses them.
inline constexpr std::size_t kMaxPrincipalLength = 255;

struct Principal {
  PrincipalClass cls = PrincipalClass::invalid;
  std::string name;                     // canonical text (krb5_unparse_name); the input when invalid
  std::string realm;                    // empty when invalid
  std::vector<std::string> components;  // empty when invalid
  std::string user;                     // special: the {user} part; regular/foreign: the primary
  std::string host;                     // special: the legacy guest's short name
  std::string why_invalid;              // invalid: one sentence
};

}  // namespace hopguard
