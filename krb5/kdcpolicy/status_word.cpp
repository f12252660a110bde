#include "status_word.hpp"

#include <hopguard/rule_id.hpp>

#include <utility>

namespace hopguard::kdcpolicy {

const char* status_word(std::string_view rule) noexcept {
  // One literal per rule id; tests/kdcpolicy checks each is HOPGUARD_ + the id in capitals.
  static constexpr std::pair<std::string_view, const char*> kWords[] = {
      {rule_id::regular_cred_on_legacy, "HOPGUARD_REGULAR_CRED_ON_LEGACY"},
      {rule_id::special_cred_on_bastion, "HOPGUARD_SPECIAL_CRED_ON_BASTION"},
      {rule_id::special_cred_off_bastion, "HOPGUARD_SPECIAL_CRED_OFF_BASTION"},
      {rule_id::special_cred_wrong_target, "HOPGUARD_SPECIAL_CRED_WRONG_TARGET"},
      {rule_id::legacy_login_not_via_bastion, "HOPGUARD_LEGACY_LOGIN_NOT_VIA_BASTION"},
      {rule_id::bastion_login_unlisted_source, "HOPGUARD_BASTION_LOGIN_UNLISTED_SOURCE"},
      {rule_id::special_cred_guessing, "HOPGUARD_SPECIAL_CRED_GUESSING"},
      {rule_id::invalid_principal, "HOPGUARD_INVALID_PRINCIPAL"},
      {rule_id::login_without_principal, "HOPGUARD_LOGIN_WITHOUT_PRINCIPAL"},
      {rule_id::invalid_request, "HOPGUARD_INVALID_REQUEST"},
      {rule_id::config_error, "HOPGUARD_CONFIG_ERROR"},
  };
  for (const auto& [id, word] : kWords) {
    if (id == rule) return word;
  }
  return kStatusInternalError;
}

}  // namespace hopguard::kdcpolicy
