// Cost of the KDC ticket decision (DESIGN section 8: plugin decisions under 5 microseconds).
//   BM_DecideTicket/*  the pure decision (policy/ticket_decision.cpp)
//   BM_CheckTgs/*      the module's check_tgs entry point as krb5kdc calls it: names unparsed
//                      from krb5 structures, the PolicyCache stat() of the config, the decision,
//                      and for refusals the record (its com_err output discarded here).
// The module is dlopen()ed from HOPGUARD_KDCPOLICY_SO, else <dir of this program>/../
// hopguard_kdcpolicy.so; BM_CheckTgs is skipped when it cannot be loaded.
// The end-to-end figure (kvno against a real krb5kdc with and without the module) is
// bench/kdcpolicy_kvno_loop.py.
#include <hopguard/ticket_decision.hpp>

extern "C" {
#include <et/com_err.h>
}
#include <krb5/krb5.h>
#include <krb5/plugin.h>
#include <krb5/kdcpolicy_plugin.h>

#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdlib>
#include <string>

namespace {

const std::string kSite = std::string(HOPGUARD_SOURCE_DIR) + "/tests/kdcpolicy/data/site.toml";

const hopguard::Policy& site() {
  static const hopguard::Policy policy = [] {
    auto p = hopguard::Policy::load_file(kSite);
    if (!p) {
      std::fprintf(stderr, "%s\n", hopguard::to_string(p.errors()).c_str());
      std::abort();
    }
    return std::move(p).value();
  }();
  return policy;
}

void BM_DecideTicket(benchmark::State& state, const char* client, const char* service) {
  const auto& policy = site();
  hopguard::TicketRequest r;
  r.client = client;
  r.service = service;
  for (auto _ : state) {
    auto d = hopguard::decide_ticket(policy, r);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK_CAPTURE(BM_DecideTicket, special_to_own_guest_allow, "alice-legacy1@HG.TEST",
                  "host/legacy1.hg.test@HG.TEST");
BENCHMARK_CAPTURE(BM_DecideTicket, regular_to_bastion_allow, "alice@HG.TEST",
                  "host/bastion.hg.test@HG.TEST");
BENCHMARK_CAPTURE(BM_DecideTicket, regular_to_legacy_deny, "alice@HG.TEST",
                  "host/legacy1.hg.test@HG.TEST");
BENCHMARK_CAPTURE(BM_DecideTicket, special_renewal_allow, "alice-legacy1@HG.TEST",
                  "krbtgt/HG.TEST@HG.TEST");

void discard_com_err(const char*, long, const char*, va_list) {}

struct LoadedModule {
  krb5_context context = nullptr;
  krb5_kdcpolicy_vtable_st vt{};
  krb5_kdcpolicy_moddata data = nullptr;
  std::string error;
};

LoadedModule& module() {
  static LoadedModule m = [] {
    LoadedModule lm;
    std::string path;
    if (const char* env = std::getenv("HOPGUARD_KDCPOLICY_SO")) {
      path = env;
    } else {
      char self[4096];
      const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
      if (n > 0) {
        std::string exe(self, static_cast<std::size_t>(n));
        path = exe.substr(0, exe.rfind('/')) + "/../hopguard_kdcpolicy.so";
      }
    }
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      lm.error = std::string("cannot load module: ") + dlerror();
      return lm;
    }
    using initvt_fn = krb5_error_code (*)(krb5_context, int, int, krb5_plugin_vtable);
    auto initvt = reinterpret_cast<initvt_fn>(dlsym(h, "kdcpolicy_hopguard_initvt"));
    setenv("HOPGUARD_CONFIG", kSite.c_str(), 1);
    set_com_err_hook(discard_com_err);  // refusal records are part of the cost, not the output
    if (initvt == nullptr || krb5_init_context(&lm.context) != 0 ||
        initvt(lm.context, 1, 1, reinterpret_cast<krb5_plugin_vtable>(&lm.vt)) != 0 ||
        lm.vt.init(lm.context, &lm.data) != 0) {
      lm.error = "module initialisation failed";
    }
    return lm;
  }();
  return m;
}

void BM_CheckTgs(benchmark::State& state, const char* client, const char* service,
                 krb5_error_code expected) {
  auto& m = module();
  if (!m.error.empty()) {
    state.SkipWithError(m.error.c_str());
    return;
  }
  krb5_principal cprinc = nullptr, sprinc = nullptr;
  krb5_parse_name(m.context, client, &cprinc);
  krb5_parse_name(m.context, service, &sprinc);
  krb5_kdc_req request{};
  request.msg_type = KRB5_TGS_REQ;
  request.server = sprinc;
  krb5_enc_tkt_part enc{};
  enc.client = cprinc;
  krb5_ticket ticket{};
  ticket.enc_part2 = &enc;
  for (auto _ : state) {
    const char* status = nullptr;
    krb5_deltat life = 0, rlife = 0;
    const krb5_error_code rc = m.vt.check_tgs(m.context, m.data, &request, nullptr, &ticket,
                                              nullptr, &status, &life, &rlife);
    if (rc != expected) {
      state.SkipWithError("unexpected verdict");
      break;
    }
    benchmark::DoNotOptimize(status);
  }
  krb5_free_principal(m.context, cprinc);
  krb5_free_principal(m.context, sprinc);
}
BENCHMARK_CAPTURE(BM_CheckTgs, special_to_own_guest_allow, "alice-legacy1@HG.TEST",
                  "host/legacy1.hg.test@HG.TEST", 0);
BENCHMARK_CAPTURE(BM_CheckTgs, regular_to_bastion_allow, "alice@HG.TEST",
                  "host/bastion.hg.test@HG.TEST", 0);
BENCHMARK_CAPTURE(BM_CheckTgs, regular_to_legacy_deny, "alice@HG.TEST",
                  "host/legacy1.hg.test@HG.TEST", KRB5KDC_ERR_POLICY);

}  // namespace

BENCHMARK_MAIN();
