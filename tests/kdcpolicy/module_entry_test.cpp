// hopguard_kdcpolicy.so through its vtable, in-process: the request shapes a real KDC rarely
// or never produces through kinit/kvno (missing tickets, unreadable evidence tickets, aliases,
// hostile principal structures, odd address types) must never crash, and must refuse whenever
// the module cannot decide. The module's log lines are captured through a com_err hook, as
// krb5kdc's own hook would receive them.
extern "C" {
#include <et/com_err.h>
}
#include <krb5/krb5.h>
#include <krb5/plugin.h>
#include <krb5/kdcpolicy_plugin.h>
#include <kdb.h>

#include <gtest/gtest.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::vector<std::string>& captured() {
  static std::vector<std::string> lines;
  return lines;
}

void capture(const char*, long, const char* fmt, va_list ap) {
  char buf[8192];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  captured().emplace_back(buf);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ModuleEntry : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/hg-kdcpolicy-entry-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    config_ = dir_ + "/hopguard.toml";
    write_config("");
    setenv("HOPGUARD_CONFIG", config_.c_str(), 1);
    set_com_err_hook(capture);
    captured().clear();
    handle_ = dlopen(HOPGUARD_KDCPOLICY_SO, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle_, nullptr) << dlerror();
    using initvt_fn = krb5_error_code (*)(krb5_context, int, int, krb5_plugin_vtable);
    auto initvt = reinterpret_cast<initvt_fn>(dlsym(handle_, "kdcpolicy_hopguard_initvt"));
    ASSERT_NE(initvt, nullptr);
    ASSERT_EQ(krb5_init_context(&ctx_), 0);
    EXPECT_EQ(initvt(ctx_, 2, 0, reinterpret_cast<krb5_plugin_vtable>(&vt_)),
              KRB5_PLUGIN_VER_NOTSUPP);
    ASSERT_EQ(initvt(ctx_, 1, 1, reinterpret_cast<krb5_plugin_vtable>(&vt_)), 0);
    ASSERT_STREQ(vt_.name, "hopguard");
  }

  void TearDown() override {
    if (data_ != nullptr) vt_.fini(ctx_, data_);
    for (auto p : principals_) krb5_free_principal(ctx_, p);
    if (ctx_ != nullptr) krb5_free_context(ctx_);
    if (handle_ != nullptr) dlclose(handle_);
    reset_com_err_hook();
    unsetenv("HOPGUARD_CONFIG");
    std::remove(config_.c_str());
    rmdir(dir_.c_str());
  }

  // data/site.toml plus a [kdc] section; the mtime is bumped so a rewrite within one clock tick
  // is still a change.
  void write_config(const std::string& kdc_section, const char* raw = nullptr) {
    struct stat before {};
    const bool existed = stat(config_.c_str(), &before) == 0;
    {
      std::ofstream out(config_, std::ios::trunc);
      if (raw != nullptr) {
        out << raw;
      } else {
        out << read_file(std::string(HOPGUARD_KDCPOLICY_TEST_DATA) + "/site.toml") << "\n[kdc]\n"
            << kdc_section;
      }
    }
    if (existed) {
      struct timespec times[2] = {{0, UTIME_OMIT}, before.st_mtim};
      times[1].tv_sec += 1;
      utimensat(AT_FDCWD, config_.c_str(), times, 0);
    }
  }

  void init() { ASSERT_EQ(vt_.init(ctx_, &data_), 0); }

  krb5_principal name(const char* text) {
    krb5_principal p = nullptr;
    EXPECT_EQ(krb5_parse_name(ctx_, text, &p), 0) << text;
    principals_.push_back(p);
    return p;
  }

  // A principal built by hand from raw components (krb5_build_principal_ext takes lengths, so
  // NUL bytes and any length are possible, as they are in a KDB entry).
  krb5_principal raw_name(const std::string& realm, const std::vector<std::string>& comps) {
    krb5_principal p = static_cast<krb5_principal>(calloc(1, sizeof(krb5_principal_data)));
    p->magic = KV5M_PRINCIPAL;
    p->realm.data = static_cast<char*>(malloc(realm.size() + 1));
    std::memcpy(p->realm.data, realm.data(), realm.size());
    p->realm.length = static_cast<unsigned>(realm.size());
    p->length = static_cast<krb5_int32>(comps.size());
    p->data = static_cast<krb5_data*>(calloc(comps.size() + 1, sizeof(krb5_data)));
    for (std::size_t i = 0; i < comps.size(); ++i) {
      p->data[i].data = static_cast<char*>(malloc(comps[i].size() + 1));
      std::memcpy(p->data[i].data, comps[i].data(), comps[i].size());
      p->data[i].length = static_cast<unsigned>(comps[i].size());
    }
    principals_.push_back(p);
    return p;
  }

  struct Outcome {
    krb5_error_code rc;
    std::string status;
  };

  Outcome tgs(krb5_principal client, krb5_principal service, krb5_flags options = 0,
              krb5_pa_data** padata = nullptr, krb5_ticket** second = nullptr,
              const krb5_db_entry* server_entry = nullptr, bool with_enc_part = true,
              bool with_ticket = true) {
    krb5_kdc_req req{};
    req.msg_type = KRB5_TGS_REQ;
    req.server = service;
    req.kdc_options = options;
    req.padata = padata;
    req.second_ticket = second;
    krb5_enc_tkt_part enc{};
    enc.client = client;
    krb5_ticket ticket{};
    ticket.enc_part2 = with_enc_part ? &enc : nullptr;
    const char* status = nullptr;
    krb5_deltat life = 0, rlife = 0;
    krb5_error_code rc = vt_.check_tgs(ctx_, data_, &req, server_entry,
                                       with_ticket ? &ticket : nullptr, nullptr, &status, &life,
                                       &rlife);
    return {rc, status != nullptr ? status : ""};
  }

  Outcome as(krb5_principal client, krb5_principal service, krb5_address** addresses = nullptr) {
    krb5_kdc_req req{};
    req.msg_type = KRB5_AS_REQ;
    req.client = client;
    req.server = service;
    req.addresses = addresses;
    const char* status = nullptr;
    krb5_deltat life = 0, rlife = 0;
    krb5_error_code rc = vt_.check_as(ctx_, data_, &req, nullptr, nullptr, nullptr, &status,
                                      &life, &rlife);
    return {rc, status != nullptr ? status : ""};
  }

  std::string dir_, config_;
  void* handle_ = nullptr;
  krb5_context ctx_ = nullptr;
  krb5_kdcpolicy_vtable_st vt_{};
  krb5_kdcpolicy_moddata data_ = nullptr;
  std::vector<krb5_principal> principals_;
};

constexpr krb5_error_code kRefused = KRB5KDC_ERR_POLICY;

TEST_F(ModuleEntry, InitFailsWithTheReasonWhenTheConfigCannotBeLoaded) {
  write_config("", "realm = \"HG.TEST\"\nbogus = 1\n");
  krb5_kdcpolicy_moddata data = nullptr;
  const krb5_error_code rc = vt_.init(ctx_, &data);
  EXPECT_EQ(rc, KRB5_CONFIG_BADFORMAT);
  EXPECT_EQ(data, nullptr);
  const char* msg = krb5_get_error_message(ctx_, rc);
  EXPECT_EQ(std::string(msg), "hopguard_kdcpolicy: cannot load site config " + config_ + ": " +
                                  config_ + ":2:1: bogus: unknown key; " + config_ +
                                  ": bastion: no [bastion.<name>] is configured");
  krb5_free_error_message(ctx_, msg);
}

TEST_F(ModuleEntry, DecidesAndLogsOneRecordPerRefusal) {
  init();
  ASSERT_EQ(captured().size(), 1u);
  EXPECT_EQ(captured()[0], "hopguard: kdcpolicy config loaded config=" + config_ +
                               " mode=enforce require_bastion_addresses=false");
  captured().clear();
  auto o = tgs(name("alice@HG.TEST"), name("host/legacy1.hg.test@HG.TEST"));
  EXPECT_EQ(o.rc, kRefused);
  EXPECT_EQ(o.status, "HOPGUARD_REGULAR_CRED_ON_LEGACY");
  ASSERT_EQ(captured().size(), 1u);
  EXPECT_EQ(captured()[0].rfind("hopguard: verdict=deny rule=regular-cred-on-legacy exchange=tgs "
                                "principal=alice@HG.TEST service=host/legacy1.hg.test@HG.TEST "
                                "target=legacy1 mode=enforce reason=\"",
                                0),
            0u)
      << captured()[0];
  captured().clear();
  o = tgs(name("alice-legacy1@HG.TEST"), name("host/legacy1.hg.test@HG.TEST"));
  EXPECT_EQ(o.rc, 0);
  EXPECT_EQ(o.status, "");
  EXPECT_TRUE(captured().empty()) << "no record for an allowed ticket";
}

TEST_F(ModuleEntry, UndecidableRequestsAreRefused) {
  init();
  auto alice = name("alice@HG.TEST");
  auto bastion = name("host/bastion.hg.test@HG.TEST");
  // No ticket, or one the KDC did not decrypt: refused even toward an ordinary service.
  EXPECT_EQ(tgs(alice, bastion, 0, nullptr, nullptr, nullptr, true, false).status,
            "HOPGUARD_INTERNAL_ERROR");
  EXPECT_EQ(tgs(alice, bastion, 0, nullptr, nullptr, nullptr, false).status,
            "HOPGUARD_INTERNAL_ERROR");
  // S4U2Proxy without a (decrypted) evidence ticket.
  EXPECT_EQ(tgs(alice, bastion, KDC_OPT_CNAME_IN_ADDL_TKT).status, "HOPGUARD_INTERNAL_ERROR");
  krb5_ticket evidence{};
  krb5_ticket* second[] = {&evidence, nullptr};
  auto o = tgs(alice, bastion, KDC_OPT_CNAME_IN_ADDL_TKT, nullptr, second);
  EXPECT_EQ(o.rc, kRefused);
  EXPECT_EQ(o.status, "HOPGUARD_INTERNAL_ERROR");
  ASSERT_FALSE(captured().empty());
  EXPECT_EQ(captured().back(), "hopguard: kdcpolicy internal error, ticket refused: constrained "
                               "delegation without a readable evidence ticket");
}

TEST_F(ModuleEntry, ConstrainedDelegationIsDecidedOnTheEvidenceClient) {
  init();
  auto service = name("HTTP/web.hg.test@HG.TEST");  // the delegating service (header ticket)
  krb5_enc_tkt_part evidence_enc{};
  krb5_ticket evidence{};
  evidence.enc_part2 = &evidence_enc;
  krb5_ticket* second[] = {&evidence, nullptr};
  evidence_enc.client = name("alice@HG.TEST");
  EXPECT_EQ(tgs(service, name("host/legacy1.hg.test@HG.TEST"), KDC_OPT_CNAME_IN_ADDL_TKT, nullptr,
                second).status,
            "HOPGUARD_REGULAR_CRED_ON_LEGACY");
  EXPECT_EQ(tgs(service, name("host/bastion.hg.test@HG.TEST"), KDC_OPT_CNAME_IN_ADDL_TKT, nullptr,
                second).rc,
            0);
  evidence_enc.client = name("alice-legacy1@HG.TEST");
  EXPECT_EQ(tgs(service, name("host/bastion.hg.test@HG.TEST"), KDC_OPT_CNAME_IN_ADDL_TKT, nullptr,
                second).status,
            "HOPGUARD_SPECIAL_CRED_ON_BASTION");
  EXPECT_EQ(tgs(service, name("host/legacy1.hg.test@HG.TEST"), KDC_OPT_CNAME_IN_ADDL_TKT, nullptr,
                second).rc,
            0);
}

TEST_F(ModuleEntry, ProtocolTransitionIsDecidedOnTheRequestingService) {
  init();
  krb5_pa_data for_user{};
  for_user.pa_type = KRB5_PADATA_FOR_USER;
  krb5_pa_data* padata[] = {&for_user, nullptr};
  auto legacy = name("host/legacy1.hg.test@HG.TEST");
  auto o = tgs(legacy, legacy, 0, padata);
  EXPECT_EQ(o.status, "HOPGUARD_REGULAR_CRED_ON_LEGACY");
  ASSERT_FALSE(captured().empty());
  EXPECT_NE(captured().back().find("(protocol transition requested by this service)"),
            std::string::npos);
  for_user.pa_type = KRB5_PADATA_S4U_X509_USER;
  EXPECT_EQ(tgs(legacy, legacy, 0, padata).status, "HOPGUARD_REGULAR_CRED_ON_LEGACY");
  auto bastion = name("host/bastion.hg.test@HG.TEST");
  EXPECT_EQ(tgs(bastion, bastion, 0, padata).rc, 0);
}

TEST_F(ModuleEntry, AnAliasIsDecidedOnBothNames) {
  init();
  // The database entry (canonical name) is an ordinary service; the client asked for a legacy
  // guest's name that is an alias of it. The issued ticket would carry the requested name.
  krb5_db_entry entry{};
  entry.princ = name("host/other.hg.test@HG.TEST");
  auto o = tgs(name("alice@HG.TEST"), name("host/legacy1.hg.test@HG.TEST"), 0, nullptr, nullptr,
               &entry);
  EXPECT_EQ(o.status, "HOPGUARD_REGULAR_CRED_ON_LEGACY");
  // And the other way round.
  entry.princ = name("host/legacy1.hg.test@HG.TEST");
  EXPECT_EQ(tgs(name("alice@HG.TEST"), name("host/innocent.hg.test@HG.TEST"), 0, nullptr, nullptr,
                &entry)
                .status,
            "HOPGUARD_REGULAR_CRED_ON_LEGACY");
}

TEST_F(ModuleEntry, HostilePrincipalStructuresNeverCrashNorOpenALegacyGuest) {
  init();
  auto legacy = name("host/legacy1.hg.test@HG.TEST");
  const std::string nul_name("alice-legacy1\0x", 15);
  const std::vector<std::vector<std::string>> clients = {
      {},                                        // no component at all
      {""},                                      // one empty component
      {nul_name},                                // a NUL byte inside
      {"alice-legacy1\nhopguard: verdict=allow"},  // a newline and a forged record
      {std::string(100000, 'a') + "-legacy1"},   // 100 kB
      {"alice-legacy1", ""},                     // trailing empty component
  };
  for (const auto& comps : clients) {
    captured().clear();
    auto o = tgs(raw_name("HG.TEST", comps), legacy);
    EXPECT_EQ(o.rc, kRefused);
    for (const auto& line : captured()) {
      EXPECT_EQ(line.find('\n'), std::string::npos) << "a record must stay one line";
      EXPECT_LE(line.size(), 4096u);
    }
  }
  // An empty realm.
  EXPECT_EQ(tgs(raw_name("", {"alice-legacy1"}), legacy).rc, kRefused);
  // A hostile service name toward which an ordinary client is not our business.
  EXPECT_EQ(tgs(name("alice@HG.TEST"), raw_name("HG.TEST", {"host", std::string(70000, 'x')})).rc,
            0);
}

TEST_F(ModuleEntry, MonitorModeIssuesAndRecordsWouldDeny) {
  write_config("mode = \"monitor\"\n");
  init();
  captured().clear();
  auto o = tgs(name("alice@HG.TEST"), name("host/legacy1.hg.test@HG.TEST"));
  EXPECT_EQ(o.rc, 0);
  EXPECT_EQ(o.status, "");
  ASSERT_EQ(captured().size(), 1u);
  EXPECT_EQ(captured()[0].rfind("hopguard: verdict=would-deny rule=regular-cred-on-legacy ", 0), 0u)
      << captured()[0];
}

TEST_F(ModuleEntry, ReloadKeepsTheLastGoodPolicyAndReportsEachErrorOnce) {
  init();
  auto alice = name("alice@HG.TEST");
  auto legacy = name("host/legacy1.hg.test@HG.TEST");
  write_config("", "realm = [\n");
  captured().clear();
  EXPECT_EQ(tgs(alice, legacy).rc, kRefused);
  EXPECT_EQ(tgs(alice, legacy).rc, kRefused);
  int rejected = 0;
  for (const auto& l : captured()) {
    if (l.find("config rejected, keeping the previous policy") != std::string::npos) ++rejected;
  }
  EXPECT_EQ(rejected, 1);
  write_config("mode = \"monitor\"\n");
  captured().clear();
  EXPECT_EQ(tgs(alice, legacy).rc, 0);
  ASSERT_GE(captured().size(), 1u);
  EXPECT_EQ(captured()[0], "hopguard: kdcpolicy config reloaded config=" + config_ +
                               " mode=monitor require_bastion_addresses=false");
}

TEST_F(ModuleEntry, CheckAsBindsSpecialTicketsToBastionAddresses) {
  write_config("require_bastion_addresses = true\n");
  init();
  auto special = name("alice-legacy1@HG.TEST");
  auto tgt = name("krbtgt/HG.TEST@HG.TEST");
  krb5_octet bastion_v4[4] = {127, 0, 0, 2}, outside_v4[4] = {127, 0, 0, 4};
  krb5_octet netbios[16] = {'B', 'A', 'S', 'T', 'I', 'O', 'N'};
  krb5_address a_bastion{KV5M_ADDRESS, ADDRTYPE_INET, 4, bastion_v4};
  krb5_address a_outside{KV5M_ADDRESS, ADDRTYPE_INET, 4, outside_v4};
  krb5_address a_short{KV5M_ADDRESS, ADDRTYPE_INET, 3, bastion_v4};  // truncated IPv4
  krb5_address a_netbios{KV5M_ADDRESS, ADDRTYPE_NETBIOS, 16, netbios};
  krb5_address* only_bastion[] = {&a_bastion, nullptr};
  krb5_address* mixed[] = {&a_bastion, &a_outside, nullptr};
  krb5_address* with_short[] = {&a_bastion, &a_short, nullptr};
  krb5_address* with_netbios[] = {&a_bastion, &a_netbios, nullptr};
  EXPECT_EQ(as(special, tgt, only_bastion).rc, 0);
  EXPECT_EQ(as(special, tgt).status, "HOPGUARD_SPECIAL_CRED_OFF_BASTION");
  EXPECT_EQ(as(special, tgt, mixed).status, "HOPGUARD_SPECIAL_CRED_OFF_BASTION");
  EXPECT_EQ(as(special, tgt, with_short).status, "HOPGUARD_SPECIAL_CRED_OFF_BASTION");
  EXPECT_EQ(as(special, tgt, with_netbios).status, "HOPGUARD_SPECIAL_CRED_OFF_BASTION");
  EXPECT_EQ(as(name("alice@HG.TEST"), tgt).rc, 0);
  // The target rules hold in the AS exchange too, before the address check.
  EXPECT_EQ(as(special, name("host/bastion.hg.test@HG.TEST"), only_bastion).status,
            "HOPGUARD_SPECIAL_CRED_ON_BASTION");
}

}  // namespace
