// hopguard_kdcpolicy.so: the MIT krb5 kdcpolicy module (krb5 >= 1.16) that refuses misused
// tickets where they are born. A thin shell: KDC request -> TicketRequest -> decide_ticket()
// -> status word + record. Every entry point catches everything: no exception reaches the KDC.
//
// Fail-closed choices, each stated where it is made (listed in SECURITY.md, KDC enforcement):
//   - a site config that cannot be loaded at KDC start aborts the KDC start (init fails);
//   - a config that becomes unusable later keeps the last good policy (PolicyCache), logged once;
//   - any internal failure while deciding refuses the ticket (HOPGUARD_INTERNAL_ERROR).
#include "status_word.hpp"

#include <hopguard/decision_record.hpp>
#include <hopguard/policy_cache.hpp>
#include <hopguard/rule_id.hpp>
#include <hopguard/ticket_decision.hpp>

extern "C" {  // com_err.h has no C++ guard; krb5.h includes it, so it goes first
#include <et/com_err.h>
}
#include <krb5/krb5.h>
#include <krb5/plugin.h>
#include <krb5/kdcpolicy_plugin.h>
#include <kdb.h>
#include <profile.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

namespace {

using hopguard::Exchange;
using hopguard::TicketDecision;
using hopguard::TicketRequest;

// Writes one line into the KDC's own log: "krb5kdc[PID](info): hopguard: <text>". krb5kdc
// installs a com_err hook (krb5_klog_init) that sends com_err() text to every [logging] kdc
// destination, so our records sit beside the KDC's AS_REQ/TGS_REQ lines, in the file the agent
// already tails. With code 0 the hook drops the whoami argument and logs at severity info, so
// the "hopguard:" tag is part of the text.
void kdc_log(const std::string& line) noexcept { com_err("hopguard", 0, "hopguard: %s", line.c_str()); }

struct ModuleState {
  std::string config_path;
  hopguard::PolicyCache cache{/*keep_last_good=*/true};  // one bad edit must not open or close every ticket
  std::shared_ptr<const hopguard::Policy> in_use;  // to notice (and log) a successful reload
  std::string reported_error;  // the reload error already logged (log each distinct error once)
};

// The site config path: [hopguard] config = PATH in the KDC's profile (kdc.conf merged with
// krb5.conf), else HOPGUARD_CONFIG, else the default path.
std::string config_path_from(krb5_context context) {
  std::string from_profile;
  profile_t profile = nullptr;
  if (krb5_get_profile(context, &profile) == 0 && profile != nullptr) {
    char* value = nullptr;
    if (profile_get_string(profile, "hopguard", "config", nullptr, nullptr, &value) == 0 &&
        value != nullptr) {
      from_profile = value;
    }
    profile_release_string(value);
    profile_release(profile);
  }
  const char* env = std::getenv("HOPGUARD_CONFIG");
  return hopguard::resolve_config_path(from_profile, env != nullptr ? env : "");
}

// "kdcpolicy config <what> config=PATH mode=M require_bastion_addresses=B"
std::string config_line(std::string_view what, const std::string& path,
                        const hopguard::Policy& policy) {
  std::string line = "kdcpolicy config ";
  line += what;
  hopguard::append_record_field(line, "config", path);
  hopguard::append_record_field(
      line, "mode", policy.config().kdc.mode == hopguard::EnforceMode::monitor ? "monitor" : "enforce");
  hopguard::append_record_field(line, "require_bastion_addresses",
                                policy.config().kdc.require_bastion_addresses ? "true" : "false");
  return line;
}

// Error text for one log line: control bytes (the errors' newlines among them) become "; " or
// '?', and the text is cut at 1500 bytes (the KDC's log buffer is 2048).
std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 1500)) {
    if (c == '\n') {
      out += "; ";
    } else {
      out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    }
  }
  return out;
}

// The current policy, reloaded when its file changed; logs each reload and each distinct
// rejected version once. Null only if no version ever loaded (init prevents that).
std::shared_ptr<const hopguard::Policy> current_policy(ModuleState& state) {
  auto snap = state.cache.get(state.config_path);
  if (snap.policy != state.in_use && snap.policy != nullptr) {
    if (state.in_use != nullptr) kdc_log(config_line("reloaded", state.config_path, *snap.policy));
    state.in_use = snap.policy;
  }
  if (snap.error != state.reported_error) {
    state.reported_error = snap.error;
    if (!snap.error.empty()) {
      std::string line = "kdcpolicy config rejected, keeping the previous policy:";
      hopguard::append_record_field(line, "config", state.config_path);
      kdc_log(line + " error: " + one_line(snap.error));
    }
  }
  return snap.policy;
}

struct UnparsedName {
  krb5_context context;
  char* text = nullptr;
  ~UnparsedName() { krb5_free_unparsed_name(context, text); }
};

std::optional<std::string> unparse(krb5_context context, krb5_const_principal princ) {
  if (princ == nullptr) return std::nullopt;
  UnparsedName n{context};
  if (krb5_unparse_name(context, princ, &n.text) != 0 || n.text == nullptr) return std::nullopt;
  return std::string(n.text);
}

bool has_padata(const krb5_kdc_req* request, krb5_preauthtype type) {
  if (request->padata == nullptr) return false;
  for (krb5_pa_data** pa = request->padata; *pa != nullptr; ++pa) {
    if ((*pa)->pa_type == type) return true;
  }
  return false;
}

// Record fields after the component word: verdict rule exchange principal service target mode
// reason. Same escaping as the PAM records (decision_record.hpp).
std::string record(const hopguard::Policy& policy, std::string_view verdict_word,
                   const TicketRequest& r, const TicketDecision& d) {
  std::string line;
  hopguard::append_record_field(line, "verdict", verdict_word);
  hopguard::append_record_field(line, "rule", d.rule);
  hopguard::append_record_field(line, "exchange", hopguard::to_string(r.exchange));
  hopguard::append_record_field(line, "principal", r.client);
  hopguard::append_record_field(line, "service", r.service);
  hopguard::append_record_field(line, "target", d.target);
  hopguard::append_record_field(
      line, "mode",
      policy.config().kdc.mode == hopguard::EnforceMode::monitor ? "monitor" : "enforce");
  hopguard::append_reason_field(line, d.reason);  // the record fits the KDC's 2 KiB log line
  return line;
}

// Applies a decision: 0 to issue, KRB5KDC_ERR_POLICY with *status set to refuse.
krb5_error_code enforce(const hopguard::Policy& policy, const TicketRequest& r,
                        const TicketDecision& d, const char** status) {
  if (d.verdict == hopguard::Verdict::allow) return 0;
  if (policy.config().kdc.mode == hopguard::EnforceMode::monitor) {
    kdc_log(record(policy, "would-deny", r, d));
    return 0;
  }
  kdc_log(record(policy, "deny", r, d));
  *status = hopguard::kdcpolicy::status_word(d.rule);
  return KRB5KDC_ERR_POLICY;
}

krb5_error_code internal_error(const char** status, const char* what) noexcept {
  // Fail closed: a ticket we could not decide on is not issued.
  com_err("hopguard", 0, "hopguard: kdcpolicy internal error, ticket refused: %s", what);
  *status = hopguard::kdcpolicy::kStatusInternalError;
  return KRB5KDC_ERR_POLICY;
}

// The name the client asked for when it differs from the database entry's canonical name (an
// alias): the issued ticket carries the requested name, so both are decided on.
std::optional<std::string> requested_alias(krb5_context context, const krb5_db_entry* server,
                                           const krb5_kdc_req* request) {
  if (server == nullptr || server->princ == nullptr || request->server == nullptr ||
      krb5_principal_compare(context, server->princ, request->server)) {
    return std::nullopt;
  }
  return unparse(context, request->server);
}

// Decides on one name pair; a second (alias) server name is decided on as well when given.
krb5_error_code decide_and_enforce(const hopguard::Policy& policy, TicketRequest r,
                                   const std::optional<std::string>& alias_service,
                                   const char** status) {
  TicketDecision d = hopguard::decide_ticket(policy, r);
  if (d.verdict == hopguard::Verdict::allow && alias_service && *alias_service != r.service) {
    r.service = *alias_service;
    d = hopguard::decide_ticket(policy, r);
  }
  return enforce(policy, r, d, status);
}

krb5_error_code hg_init(krb5_context context, krb5_kdcpolicy_moddata* data_out) {
  try {
    auto state = std::make_unique<ModuleState>();
    state->config_path = config_path_from(context);
    auto snap = state->cache.get(state->config_path);
    if (snap.policy == nullptr) {
      // Fail closed: never run a KDC that silently stopped enforcing. The KDC logs this message
      // ("... while loading KDC policy plugin") and exits.
      krb5_set_error_message(context, KRB5_CONFIG_BADFORMAT,
                             "hopguard_kdcpolicy: cannot load site config %s: %s",
                             state->config_path.c_str(), one_line(snap.error).c_str());
      return KRB5_CONFIG_BADFORMAT;
    }
    state->in_use = snap.policy;
    kdc_log(config_line("loaded", state->config_path, *snap.policy));
    *data_out = reinterpret_cast<krb5_kdcpolicy_moddata>(state.release());
    return 0;
  } catch (const std::exception& e) {
    krb5_set_error_message(context, ENOMEM, "hopguard_kdcpolicy: %s", e.what());
    return ENOMEM;
  } catch (...) {
    krb5_set_error_message(context, ENOMEM, "hopguard_kdcpolicy: initialisation failed");
    return ENOMEM;
  }
}

krb5_error_code hg_fini(krb5_context, krb5_kdcpolicy_moddata moddata) {
  delete reinterpret_cast<ModuleState*>(moddata);  // noexcept destructors only
  return 0;
}

// The frame of both checks: the module state, the policy in force, then body(policy). Anything
// that fails on the way (no state, no policy, an exception) refuses the ticket.
template <class Body>
krb5_error_code with_policy(krb5_kdcpolicy_moddata moddata, const char** status, Body&& body) noexcept {
  try {
    if (moddata == nullptr) return internal_error(status, "module not initialised");
    // Held for the whole check: a reload in between must not free the policy being used.
    const std::shared_ptr<const hopguard::Policy> policy =
        current_policy(*reinterpret_cast<ModuleState*>(moddata));
    if (policy == nullptr) return internal_error(status, "no policy");
    return body(*policy);
  } catch (const std::exception& e) {
    return internal_error(status, e.what());
  } catch (...) {
    return internal_error(status, "unknown exception");
  }
}

// The ticket's client and server as text: the server's canonical name from the database when
// the KDC found an entry (an alias or enterprise name cannot dodge a rule), else as requested.
struct Names {
  std::string client, server;
};
std::optional<Names> names(krb5_context context, krb5_const_principal client,
                           const krb5_db_entry* server, const krb5_kdc_req* request) {
  auto client_name = unparse(context, client);
  auto server_name = unparse(context, server != nullptr ? server->princ : request->server);
  if (!client_name || !server_name) return std::nullopt;
  return Names{std::move(*client_name), std::move(*server_name)};
}

krb5_error_code hg_check_as(krb5_context context, krb5_kdcpolicy_moddata moddata,
                            const krb5_kdc_req* request, const krb5_db_entry* client,
                            const krb5_db_entry* server, const char* const*, const char** status,
                            krb5_deltat*, krb5_deltat*) {
  return with_policy(moddata, status, [&](const hopguard::Policy& policy) -> krb5_error_code {
    // The client's canonical name from the database, as for the server.
    auto n = names(context, client != nullptr ? client->princ : request->client, server, request);
    if (!n) return internal_error(status, "cannot unparse names");
    auto requested = requested_alias(context, server, request);

    TicketRequest r;
    r.exchange = Exchange::as;
    r.client = n->client;
    r.service = n->server;
    if (krb5_error_code rc = decide_and_enforce(policy, r, requested, status); rc != 0) return rc;

    if (policy.config().kdc.require_bastion_addresses) {
      std::vector<std::optional<hopguard::Address>> addresses;
      for (krb5_address** a = request->addresses; a != nullptr && *a != nullptr; ++a) {
        hopguard::Address addr;
        if ((*a)->addrtype == ADDRTYPE_INET && (*a)->length == 4) {
          addr.bytes[10] = 0xff;
          addr.bytes[11] = 0xff;
          std::memcpy(addr.bytes.data() + 12, (*a)->contents, 4);
          addresses.emplace_back(addr);
        } else if ((*a)->addrtype == ADDRTYPE_INET6 && (*a)->length == 16) {
          std::memcpy(addr.bytes.data(), (*a)->contents, 16);
          addresses.emplace_back(addr);
        } else {
          addresses.emplace_back(std::nullopt);
        }
      }
      auto d = hopguard::decide_as_addresses(policy, r.client, addresses);
      return enforce(policy, r, d, status);
    }
    return 0;
  });
}

krb5_error_code hg_check_tgs(krb5_context context, krb5_kdcpolicy_moddata moddata,
                             const krb5_kdc_req* request, const krb5_db_entry* server,
                             const krb5_ticket* ticket, const char* const*, const char** status,
                             krb5_deltat*, krb5_deltat*) {
  return with_policy(moddata, status, [&](const hopguard::Policy& policy) -> krb5_error_code {
    if (ticket == nullptr || ticket->enc_part2 == nullptr) {
      return internal_error(status, "TGS request without a decrypted ticket");
    }
    TicketRequest r;
    r.exchange = Exchange::tgs;
    r.s4u2self = has_padata(request, KRB5_PADATA_FOR_USER) ||
                 has_padata(request, KRB5_PADATA_S4U_X509_USER);
    r.s4u2proxy = (request->kdc_options & KDC_OPT_CNAME_IN_ADDL_TKT) != 0;
    krb5_const_principal client_princ = ticket->enc_part2->client;
    if (r.s4u2proxy) {
      // The issued ticket carries the evidence ticket's client. The KDC has decrypted the
      // evidence ticket in place before consulting kdcpolicy (krb5 1.16 .. 1.21); if it has
      // not, we cannot know who the ticket is for: refuse.
      const krb5_ticket* evidence =
          request->second_ticket != nullptr ? request->second_ticket[0] : nullptr;
      if (evidence == nullptr || evidence->enc_part2 == nullptr) {
        return internal_error(status, "constrained delegation without a readable evidence ticket");
      }
      client_princ = evidence->enc_part2->client;
    }
    auto n = names(context, client_princ, server, request);
    if (!n) return internal_error(status, "cannot unparse names");
    r.client = n->client;
    r.service = n->server;
    return decide_and_enforce(policy, r, requested_alias(context, server, request), status);
  });
}

}  // namespace

// The only exported symbol (hopguard_kdcpolicy.map).
extern "C" __attribute__((visibility("default"))) krb5_error_code kdcpolicy_hopguard_initvt(krb5_context, int maj_ver, int,
                                                     krb5_plugin_vtable vtable) {
  if (maj_ver != 1) return KRB5_PLUGIN_VER_NOTSUPP;
  auto vt = reinterpret_cast<krb5_kdcpolicy_vtable>(vtable);
  vt->name = "hopguard";
  vt->init = hg_init;
  vt->fini = hg_fini;
  vt->check_as = hg_check_as;
  vt->check_tgs = hg_check_tgs;
  return 0;
}
