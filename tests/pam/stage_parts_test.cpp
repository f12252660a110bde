// The pure parts of pam_hopguard: the option table and the SSH_AUTH_INFO_0 parser, each checked
// on ordinary and hostile input, and the audit record type per rule.
#include "options.hpp"
#include "record.hpp"
#include "ssh_auth_info.hpp"

#include <hopguard/rule_id.hpp>

#include <gtest/gtest.h>
#include <libaudit.h>

#include <string>
#include <vector>

namespace hopguard::pam {
namespace {

ParsedOptions parse(std::vector<const char*> args) {
  return parse_options(static_cast<int>(args.size()), args.data());
}

TEST(Options, DefaultsWithoutArguments) {
  const ParsedOptions p = parse({});
  EXPECT_TRUE(p.usable());
  EXPECT_TRUE(p.problems.empty());
  EXPECT_EQ(p.options.ccache_dir, "/tmp");
  EXPECT_EQ(p.options.config, "");
  EXPECT_FALSE(p.options.debug);
  EXPECT_EQ(p.options.mode, EnforceMode::enforce);
  EXPECT_EQ(p.options.on_error, OnError::deny);
  EXPECT_FALSE(p.options.role.has_value());
}

TEST(Options, EveryOptionIsRead) {
  const ParsedOptions p = parse({"config=/etc/x.toml", "role=bastion", "host=b1", "mode=monitor", "on_error=allow",
                                 "keytab=FILE:/k", "ccache_dir=/run/user", "debug"});
  ASSERT_TRUE(p.usable());
  EXPECT_TRUE(p.problems.empty());
  EXPECT_EQ(p.options.config, "/etc/x.toml");
  EXPECT_EQ(p.options.role, Role::bastion);
  EXPECT_EQ(p.options.host, "b1");
  EXPECT_EQ(p.options.mode, EnforceMode::monitor);
  EXPECT_EQ(p.options.on_error, OnError::allow);
  EXPECT_EQ(p.options.keytab, "FILE:/k");
  EXPECT_EQ(p.options.ccache_dir, "/run/user");
  EXPECT_TRUE(p.options.debug);
}

TEST(Options, UnknownIsReportedButUsable) {
  const ParsedOptions p = parse({"frobnicate", "use_first_pass", "role=legacy"});
  EXPECT_TRUE(p.usable());
  ASSERT_EQ(p.problems.size(), 2u);
  EXPECT_TRUE(p.problems[0].unknown);
  EXPECT_EQ(p.problems[0].message, "unknown option \"frobnicate\"");
  EXPECT_EQ(p.options.role, Role::legacy);
}

TEST(Options, BadValuesMakeTheCallUnusable) {
  for (const char* bad : {"role=", "role=Legacy", "mode=loud", "on_error=maybe", "config=", "host=", "debug=1",
                          "ccache_dir=relative", "role"}) {
    const ParsedOptions p = parse({bad});
    EXPECT_FALSE(p.usable()) << bad;
    ASSERT_EQ(p.problems.size(), 1u) << bad;
    EXPECT_FALSE(p.problems[0].unknown) << bad;
  }
}

TEST(Options, HostileArgumentIsBoundedAndPrintable) {
  std::string long_arg = "x" + std::string(300, 'A') + "\n\x01";
  const ParsedOptions p = parse({long_arg.c_str(), nullptr});
  ASSERT_EQ(p.problems.size(), 1u);
  const std::string& m = p.problems[0].message;
  EXPECT_LT(m.size(), 100u);
  for (char c : m) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << m;
}

TEST(SshAuthInfo, GssapiLinesNamePrincipals) {
  const SshAuthInfo i = parse_ssh_auth_info("publickey ssh-ed25519 AAAA\ngssapi-with-mic alice-legacy1@HG.TEST\n");
  EXPECT_TRUE(i.error.empty());
  EXPECT_EQ(i.methods, (std::vector<std::string>{"publickey", "gssapi-with-mic"}));
  EXPECT_EQ(i.principals, (std::vector<std::string>{"alice-legacy1@HG.TEST"}));
}

TEST(SshAuthInfo, KeyexAndDuplicates) {
  const SshAuthInfo i = parse_ssh_auth_info("gssapi-keyex a@R\ngssapi-with-mic a@R\ngssapi-with-mic b@R");
  EXPECT_EQ(i.principals, (std::vector<std::string>{"a@R", "b@R"}));  // no trailing newline needed
}

TEST(SshAuthInfo, OtherMethodsCarryNoPrincipal) {
  for (const char* v : {"", "password\n", "keyboard-interactive/pam\n", "publickey ssh-rsa AAAA alice@HG.TEST\n",
                        "gssapi alice@HG.TEST\n", "GSSAPI-WITH-MIC alice@HG.TEST\n"}) {
    const SshAuthInfo i = parse_ssh_auth_info(v);
    EXPECT_TRUE(i.error.empty()) << v;
    EXPECT_TRUE(i.principals.empty()) << v;
  }
}

TEST(SshAuthInfo, EmptyGssapiDetailIsAnEmptyPrincipal) {
  EXPECT_EQ(parse_ssh_auth_info("gssapi-with-mic\n").principals, (std::vector<std::string>{""}));
  EXPECT_EQ(parse_ssh_auth_info("gssapi-with-mic \n").principals, (std::vector<std::string>{""}));
}

TEST(SshAuthInfo, NotSshdsShapeTrustsNothing) {
  const std::string nul("gssapi-with-mic alice-legacy1@HG.TEST\0x", 39);
  std::string many;
  for (int i = 0; i < 33; ++i) many += "password\n";
  const std::string huge = "gssapi-with-mic a@R\n" + std::string(kMaxAuthInfoBytes, 'x');
  for (const std::string& v : {nul, many + "gssapi-with-mic a@R\n", huge, std::string("\ngssapi-with-mic a@R\n"),
                               std::string(" gssapi-with-mic a@R\n")}) {
    const SshAuthInfo i = parse_ssh_auth_info(v);
    EXPECT_FALSE(i.error.empty()) << v.substr(0, 40);
    EXPECT_TRUE(i.principals.empty()) << v.substr(0, 40);
  }
}

TEST(SshAuthInfo, LimitsAreInclusive) {
  std::string lines;
  for (std::size_t i = 0; i < kMaxAuthInfoLines; ++i) lines += "password\n";
  EXPECT_TRUE(parse_ssh_auth_info(lines).error.empty());
  std::string exact = "gssapi-with-mic a@R\n";
  exact += std::string(kMaxAuthInfoBytes - exact.size(), 'x');
  EXPECT_TRUE(parse_ssh_auth_info(exact).error.empty());
}

TEST(AuditType, PerRule) {
  EXPECT_EQ(audit_type_for(rule_id::legacy_login_not_via_bastion), AUDIT_ANOM_LOGIN_LOCATION);
  EXPECT_EQ(audit_type_for(rule_id::bastion_login_unlisted_source), AUDIT_ANOM_LOGIN_LOCATION);
  EXPECT_EQ(audit_type_for(rule_id::regular_cred_on_legacy), AUDIT_ANOM_LOGIN_ACCT);
  EXPECT_EQ(audit_type_for(rule_id::special_cred_on_bastion), AUDIT_ANOM_LOGIN_ACCT);
  EXPECT_EQ(audit_type_for(rule_id::special_cred_wrong_target), AUDIT_ANOM_LOGIN_ACCT);
  EXPECT_EQ(audit_type_for(rule_id::invalid_principal), AUDIT_ANOM_LOGIN_ACCT);
  EXPECT_EQ(audit_type_for(rule_id::login_without_principal), AUDIT_ANOM_LOGIN_ACCT);
  EXPECT_EQ(audit_type_for(rule_id::config_error), AUDIT_USER_ERR);
  EXPECT_EQ(audit_type_for(rule_id::invalid_request), AUDIT_USER_ERR);
  EXPECT_EQ(audit_type_for(kRuleAuthFailed), AUDIT_USER_ERR);
}

}  // namespace
}  // namespace hopguard::pam
