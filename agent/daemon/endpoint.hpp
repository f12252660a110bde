// Listener and collector addresses of the [agent] and [alarms] sections. The type and its
// grammar belong to the site config (include/hopguard/policy.hpp, policy/endpoint.cpp): a
// loaded Policy holds [agent] listen and [alarms] syslog_target already parsed and checked.
#pragma once

#include <hopguard/policy.hpp>

namespace hopguard::agent {

using hopguard::Endpoint;
using hopguard::parse_endpoint;
using hopguard::Transport;

}  // namespace hopguard::agent
