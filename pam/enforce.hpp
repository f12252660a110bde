// From a decision to a PAM return code, with its record. Every fail-open and fail-closed
// choice of the module is made here (listed in SECURITY.md, login enforcement).
#pragma once

#include "context.hpp"

#include <hopguard/decision.hpp>

#include <string_view>

namespace hopguard::pam {

// The Request for this call. Views into call; principal as given.
Request make_request(const Call& call, std::optional<std::string_view> principal);

// Records decision and returns the code: allow -> PAM_SUCCESS; deny -> deny_code, except in
// mode=monitor, where it is recorded as would-deny and PAM_SUCCESS is returned.
int conclude(const Call& call, const Request& request, const Decision& decision, int deny_code);

// For a call whose configuration is unusable (call.setup_error): records rule config-error and
// fails closed with deny_code, unless the stack line says role=bastion on_error=allow, which
// records verdict=allow and returns PAM_IGNORE (the rest of the stack decides). Monitor mode
// does not soften this: it only softens policy verdicts.
int fail_setup(const Call& call, const Request& request, int deny_code);

}  // namespace hopguard::pam
