// The status words of the KDC module's refusals (DESIGN "Modules and their configuration",
// contract): the KDC writes them into its log line, where the scanner finds them.
#pragma once

#include <string_view>

namespace hopguard::kdcpolicy {

// "HOPGUARD_<RULE_ID_IN_CAPITALS>" for a rule id (DESIGN "Modules and their configuration"),
// as a string literal with static storage: the KDC keeps the pointer and logs it after the call.
// Unknown ids map to "HOPGUARD_INTERNAL_ERROR".
const char* status_word(std::string_view rule) noexcept;
inline constexpr const char* kStatusInternalError = "HOPGUARD_INTERNAL_ERROR";

}  // namespace hopguard::kdcpolicy
