// `hopguard check` and `hopguard config check` as a user runs them: the real binary, its exit
// code, stdout and stderr (DESIGN section 6, contract).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

struct Outcome {
  int code = -1;
  std::string out, err;
};

// Runs the hopguard binary with args (no shell), with HOPGUARD_CONFIG set to env_config if given.
Outcome run(const std::vector<std::string>& args, const char* env_config = nullptr) {
  int out_pipe[2], err_pipe[2];
  if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    close(out_pipe[0]);
    close(err_pipe[0]);
    if (env_config) setenv("HOPGUARD_CONFIG", env_config, 1); else unsetenv("HOPGUARD_CONFIG");
    std::vector<char*> argv{const_cast<char*>(HOPGUARD_BIN)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(HOPGUARD_BIN, argv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  Outcome r;
  auto drain = [](int fd, std::string& into) {
    std::array<char, 4096> buf{};
    ssize_t n;
    while ((n = read(fd, buf.data(), buf.size())) > 0) into.append(buf.data(), static_cast<std::size_t>(n));
    close(fd);
  };
  drain(out_pipe[0], r.out);
  drain(err_pipe[0], r.err);
  int status = 0;
  waitpid(pid, &status, 0);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

const std::string kSite = std::string(HOPGUARD_TEST_DATA) + "/site.toml";

std::vector<std::string> check(std::vector<std::string> extra) {
  std::vector<std::string> a{"check", "--config", kSite};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

TEST(CheckCommand, AllowIsExitZero) {
  const Outcome r = run(check({"--role", "legacy", "--host", "legacy1", "--user", "alice", "--principal",
                           "alice-legacy1@HG.TEST", "--rhost", "127.0.0.2", "--json"}));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"verdict\":\"allow\",\"rule\":\"\",\"reason\":\"\"}\n");
}

TEST(CheckCommand, DenyIsExitOneWithRuleAndReason) {
  Outcome r = run(check({"--role", "legacy", "--host", "legacy1", "--user", "alice", "--principal", "alice@HG.TEST",
                     "--rhost", "127.0.0.2", "--json"}));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out.rfind("{\"verdict\":\"deny\",\"rule\":\"regular-cred-on-legacy\",\"reason\":\"", 0), 0u) << r.out;
  r = run(check({"--role", "bastion", "--host", "bastion", "--user", "alice", "--rhost", "127.0.0.4"}));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out.rfind("deny bastion-login-unlisted-source: ", 0), 0u) << r.out;
}

TEST(CheckCommand, StageDefaultsOnPrincipal) {
  // With --principal the stage is session: the principal is checked.
  EXPECT_EQ(run(check({"--role", "bastion", "--host", "bastion", "--user", "alice", "--principal",
                       "alice-legacy1@HG.TEST", "--rhost", "127.0.0.5"})).code, 1);
  // An explicit account stage sees only the rhost, as sshd's account stage does.
  EXPECT_EQ(run(check({"--role", "bastion", "--host", "bastion", "--user", "alice", "--principal",
                       "alice-legacy1@HG.TEST", "--rhost", "127.0.0.5", "--stage", "account"})).code, 0);
  // Without --principal: account stage, so no login-without-principal denial on a legacy guest.
  EXPECT_EQ(run(check({"--role", "legacy", "--host", "legacy1", "--user", "alice", "--rhost", "127.0.0.2"})).code, 0);
  EXPECT_EQ(run(check({"--role", "legacy", "--host", "legacy1", "--user", "alice", "--rhost", "127.0.0.2",
                       "--stage", "session"})).code, 1);
}

TEST(CheckCommand, ErrorsAreExitTwo) {
  // unknown host
  Outcome r = run(check({"--role", "legacy", "--host", "nosuch", "--user", "alice"}));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("not configured"), std::string::npos);
  // a role that is not the host's
  EXPECT_EQ(run(check({"--role", "bastion", "--host", "legacy1", "--user", "alice"})).code, 2);
  // bad arguments
  EXPECT_EQ(run(check({"--role", "router", "--host", "legacy1", "--user", "alice"})).code, 2);
  EXPECT_EQ(run(check({"--host", "legacy1", "--user", "alice"})).code, 2);
  EXPECT_EQ(run(check({"--role", "legacy", "--host", "legacy1", "--user", "alice", "--stage", "auth"})).code, 2);
  EXPECT_EQ(run({"frobnicate"}).code, 2);
  EXPECT_EQ(run({}).code, 2);
  // unusable config: every error, with file and line
  r = run({"check", "--config", "/nonexistent.toml", "--role", "legacy", "--host", "legacy1", "--user", "a"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("/nonexistent.toml"), std::string::npos);
}

TEST(CheckCommand, ConfigFromEnvironment) {
  const std::vector<std::string> a{"check", "--role", "legacy", "--host", "legacy1", "--user", "alice", "--rhost", "127.0.0.2"};
  EXPECT_EQ(run(a, kSite.c_str()).code, 0);
  EXPECT_EQ(run(a, "/nonexistent.toml").code, 2);
}

TEST(ConfigCommand, ValidatesAndSummarises) {
  Outcome r = run({"config", "check", HOPGUARD_EXAMPLE_CONFIG});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("realm              HG.TEST"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("legacy  legacy1"), std::string::npos) << r.out;

  char path[] = "/tmp/hopguard-cli-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << "realm = 5\ncolour = 1\n[bastion.b]\nfqdn = \"b.hg.test\"\naddresses = [\"300.0.0.1\"]\n";
  r = run({"config", "check", path});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find(std::string(path) + ":1:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(std::string(path) + ":2:1: colour: unknown key"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(std::string(path) + ":5:"), std::string::npos) << r.err;
  std::remove(path);
}

// hopguardd's keys are checked by the loader every component uses, so `config check` reports
// them as it reports any other mistake: one line each, file:line:col, the dotted key, exit 2.
TEST(ConfigCommand, ReportsDaemonKeysAtLoad) {
  const std::string text =
      "realm = \"HG.TEST\"\n"
      "[bastion.bastion]\n"
      "fqdn = \"bastion.hg.test\"\n"
      "addresses = [\"127.0.0.2\"]\n"
      "[agent]\n"
      "listen = [\"tcp://127.0.0.1:5514\", \"udp://collector.hg.test:514\"]\n"  // 6
      "[alarms]\n"
      "syslog_target = \"tcp://[::1]:0\"\n"                                     // 8
      "exec = [\"logger\"]\n"                                                   // 9
      "webhook = \"hxxp://siem\"\n";                                            // 10
  char path[] = "/tmp/hopguard-cli-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  const Outcome r = run({"config", "check", path});
  std::remove(path);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_EQ(r.out, "");
  const std::string f = std::string("hopguard: ") + path + ":";
  EXPECT_EQ(r.err,
            f + "6:35: agent.listen[1]: \"udp://collector.hg.test:514\": a listener needs a literal IPv4 or "
                "IPv6 address\n" +
            f + "8:17: alarms.syslog_target: \"tcp://[::1]:0\": the collector's port must not be 0\n" +
            f + "9:9: alarms.exec[0]: \"logger\": the program must be an absolute path (no shell, no PATH "
                "search)\n" +
            f + "10:11: alarms.webhook: \"hxxp://siem\": expected an http:// or https:// URL with a host\n");
}

}  // namespace
