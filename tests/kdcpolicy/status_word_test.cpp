// The status words the module refuses with (krb5/kdcpolicy/status_word.cpp).
#include "status_word.hpp"

#include <hopguard/rule_id.hpp>

#include <gtest/gtest.h>

#include <cctype>
#include <string>

namespace hopguard::kdcpolicy {
namespace {

// The status word is HOPGUARD_ + the rule id in capitals with '_' for '-' (DESIGN contract),
// for every rule id hopguard defines.
TEST(StatusWord, EveryRuleId) {
  const std::string_view ids[] = {
      rule_id::regular_cred_on_legacy,       rule_id::special_cred_on_bastion,
      rule_id::special_cred_off_bastion,     rule_id::special_cred_wrong_target,
      rule_id::legacy_login_not_via_bastion, rule_id::bastion_login_unlisted_source,
      rule_id::special_cred_guessing,        rule_id::invalid_principal,
      rule_id::login_without_principal,      rule_id::invalid_request,
      rule_id::config_error};
  for (auto id : ids) {
    std::string expected = "HOPGUARD_";
    for (char c : id) expected += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_STREQ(status_word(id), expected.c_str());
  }
  EXPECT_STREQ(status_word("no-such-rule"), "HOPGUARD_INTERNAL_ERROR");
  EXPECT_STREQ(status_word(""), "HOPGUARD_INTERNAL_ERROR");
}

}  // namespace
}  // namespace hopguard::kdcpolicy
