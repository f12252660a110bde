// account: who may log in from where. sshd exposes no principal here (SSH_AUTH_INFO_0 is
// filled after account), so only PAM_RHOST is judged: a legacy guest only from a bastion, a
// bastion only from [bastion_access] allowed_sources.
#include "stages.hpp"

#include "enforce.hpp"

namespace hopguard::pam {

int account(Call& call) {
  const Request request = make_request(call, std::nullopt);
  if (!call.setup_error.empty()) return fail_setup(call, request, PAM_PERM_DENIED);
  return conclude(call, request, decide(*call.policy, request), PAM_PERM_DENIED);
}

}  // namespace hopguard::pam
