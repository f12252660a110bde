// Per-call cost of the login enforcement entry points with a warm config cache (issue 4):
//   - decide() alone, for the account and session requests the modules build;
//   - pam_acct_mgmt / pam_open_session through the real libpam into the built pam_hopguard.so
//     (one handle, so the per-handle cache is warm: what sshd pays per stage after the first);
//   - krb5_kuserok through the real libkrb5 into the built hopguard_localauth.so (one context).
// Each module call includes writing its record (pam_syslog / the hopguard syslog socket); with
// no syslog daemon listening, that write fails fast, so a real host pays somewhat more.
//
// Run: build/bench/pam_bench (finds the modules in the build directory next to bench/).
#include <benchmark/benchmark.h>

#include <hopguard/policy.hpp>

#include <krb5.h>
#include <security/pam_appl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace {

const char* kConfig = R"(realm = "HG.TEST"
special_principal = "{user}-{host}"
[bastion.bastion]
fqdn = "bastion.hg.test"
addresses = ["127.0.0.2"]
[legacy.legacy1]
fqdn = "legacy1.hg.test"
addresses = ["127.0.0.3"]
[bastion_access]
allowed_sources = ["127.0.0.5/32"]
)";

std::string build_dir() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  std::string exe(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  exe = exe.substr(0, exe.rfind('/'));         // .../build/bench
  return exe.substr(0, exe.rfind('/'));        // .../build
}

struct Fixture {
  std::string dir;
  std::string config;
  Fixture() {
    char tmpl[] = "/tmp/hg-pam-bench-XXXXXX";
    dir = mkdtemp(tmpl);
    config = dir + "/hopguard.toml";
    std::ofstream(config) << kConfig;
    const std::string module = build_dir() + "/pam_hopguard.so";
    std::ofstream(dir + "/legacy") << "account required " << module << " config=" << config
                                   << " role=legacy host=legacy1\n"
                                   << "session required " << module << " config=" << config
                                   << " role=legacy host=legacy1\n";
    // The same calls through pam_permit.so only: libpam's own cost (dispatch, and the audit
    // record libpam writes per call), to subtract from BM_pam.
    std::ofstream(dir + "/permit") << "account required pam_permit.so\nsession required pam_permit.so\n";
    std::ofstream(dir + "/krb5.conf") << "[libdefaults]\n default_realm = HG.TEST\n"
                                      << "[plugins]\n localauth = {\n  module = hopguard:" << build_dir()
                                      << "/hopguard_localauth.so\n }\n"
                                      << "[hopguard]\n config = " << config << "\n host = legacy1\n";
    // libkrb5's own userok modules only: the cost krb5_kuserok has without hopguard.
    std::ofstream(dir + "/krb5-builtin.conf") << "[libdefaults]\n default_realm = HG.TEST\n";
  }
};

const Fixture& fixture() {
  static const Fixture f;
  return f;
}

void BM_decide(benchmark::State& state, bool session) {
  auto policy = hopguard::Policy::load_file(fixture().config);
  if (!policy) {
    state.SkipWithError("config did not load");
    return;
  }
  hopguard::Request r;
  r.role = hopguard::Role::legacy;
  r.host = "legacy1";
  r.user = "alice";
  r.rhost = "127.0.0.2";
  if (session) {
    r.stage = hopguard::Stage::session;
    r.principal = "alice-legacy1@HG.TEST";
  }
  for (auto _ : state) benchmark::DoNotOptimize(hopguard::decide(*policy, r));
}
BENCHMARK_CAPTURE(BM_decide, account, false);
BENCHMARK_CAPTURE(BM_decide, session_principal, true);

int no_conversation(int, const pam_message**, pam_response**, void*) { return PAM_CONV_ERR; }

// (pam_sm_* cannot be called directly on a libpam handle: pam_set_data refuses callers outside
// libpam's dispatch, and the module then fails closed.)
void BM_pam(benchmark::State& state, const char* service, const char* rhost, const char* auth_info, bool session) {
  pam_conv conv{no_conversation, nullptr};
  pam_handle_t* pamh = nullptr;
  if (pam_start_confdir(service, "alice", &conv, fixture().dir.c_str(), &pamh) != PAM_SUCCESS) {
    state.SkipWithError("pam_start_confdir failed");
    return;
  }
  pam_set_item(pamh, PAM_RHOST, rhost);
  if (auth_info != nullptr) pam_putenv(pamh, (std::string("SSH_AUTH_INFO_0=") + auth_info).c_str());
  int rc = session ? pam_open_session(pamh, 0) : pam_acct_mgmt(pamh, 0);  // warms the cache
  for (auto _ : state) {
    rc = session ? pam_open_session(pamh, 0) : pam_acct_mgmt(pamh, 0);
    benchmark::DoNotOptimize(rc);
  }
  state.counters["pam_rc"] = rc;
  pam_end(pamh, PAM_SUCCESS);
}
BENCHMARK_CAPTURE(BM_pam, baseline_pam_permit_acct_mgmt, "permit", "127.0.0.2", nullptr, false);
BENCHMARK_CAPTURE(BM_pam, baseline_pam_permit_open_session, "permit", "127.0.0.2", nullptr, true);
BENCHMARK_CAPTURE(BM_pam, acct_mgmt_allow, "legacy", "127.0.0.2", nullptr, false);
BENCHMARK_CAPTURE(BM_pam, acct_mgmt_deny, "legacy", "127.0.0.4", nullptr, false);
BENCHMARK_CAPTURE(BM_pam, open_session_allow, "legacy", "127.0.0.2", "gssapi-with-mic alice-legacy1@HG.TEST\n", true);
BENCHMARK_CAPTURE(BM_pam, open_session_deny, "legacy", "127.0.0.2", "gssapi-with-mic alice@HG.TEST\n", true);

void BM_kuserok(benchmark::State& state, const char* principal, const char* conf) {
  setenv("KRB5_CONFIG", (fixture().dir + "/" + conf).c_str(), 1);
  krb5_context ctx = nullptr;
  krb5_principal p = nullptr;
  if (krb5_init_context(&ctx) != 0 || krb5_parse_name(ctx, principal, &p) != 0) {
    state.SkipWithError("krb5 setup failed");
    return;
  }
  krb5_boolean ok = krb5_kuserok(ctx, p, "alice");  // loads the module, warms its cache
  for (auto _ : state) {
    ok = krb5_kuserok(ctx, p, "alice");
    benchmark::DoNotOptimize(ok);
  }
  state.counters["authorized"] = ok;
  krb5_free_principal(ctx, p);
  krb5_free_context(ctx);
}
BENCHMARK_CAPTURE(BM_kuserok, baseline_builtin_modules_only, "alice-legacy1@HG.TEST", "krb5-builtin.conf");
BENCHMARK_CAPTURE(BM_kuserok, refuse_regular_on_legacy, "alice@HG.TEST", "krb5.conf");
BENCHMARK_CAPTURE(BM_kuserok, no_opinion_special, "alice-legacy1@HG.TEST", "krb5.conf");

}  // namespace

BENCHMARK_MAIN();
