// Every config error kind, each asserting file, line and key in the message.
#include <hopguard/policy.hpp>

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include <fstream>
#include <iterator>
#include <random>

namespace hopguard {
namespace {

constexpr const char* kGood = R"(realm = "HG.TEST"
special_principal = "{user}-{host}"
[bastion.b]
fqdn = "b.hg.test"
addresses = ["127.0.0.2", "fd00::2/128"]
[legacy.l1]
fqdn = "l1.hg.test"
addresses = ["127.0.0.3"]
[bastion_access]
allowed_sources = ["127.0.0.5/32"]
)";

struct Expect {
  ErrorCode code;
  std::uint32_t line;
  std::string key;
  std::string message_part;
};

// Loads text, expects failure with exactly the listed errors (in order).
void expect_errors(const std::string& text, const std::vector<Expect>& want) {
  auto p = Policy::load(text, "site.toml");
  ASSERT_FALSE(p.ok()) << "config unexpectedly valid:\n" << text;
  const Errors& got = p.errors();
  ASSERT_EQ(got.size(), want.size()) << to_string(got);
  for (std::size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(got[i].to_string());
    EXPECT_EQ(got[i].code, want[i].code) << to_string(got[i].code);
    EXPECT_EQ(got[i].where.file, "site.toml");
    EXPECT_EQ(got[i].where.line, want[i].line);
    EXPECT_EQ(got[i].key, want[i].key);
    EXPECT_NE(got[i].message.find(want[i].message_part), std::string::npos);
    // The printed form leads with file and line, then the key.
    const std::string printed = got[i].to_string();
    const std::string lead = want[i].line == 0 ? std::string("site.toml: ")
                                               : "site.toml:" + std::to_string(want[i].line) + ":";
    EXPECT_EQ(printed.rfind(lead, 0), 0u) << printed;
    if (!want[i].key.empty()) {
      EXPECT_NE(printed.find(want[i].key + ": "), std::string::npos);
    }
  }
}

TEST(Config, GoodConfigLoads) {
  auto p = Policy::load(kGood, "site.toml");
  ASSERT_TRUE(p.ok()) << to_string(p.errors());
  const SiteConfig& c = p->config();
  EXPECT_EQ(c.realm, "HG.TEST");
  ASSERT_EQ(c.hosts.size(), 2u);
  EXPECT_EQ(c.hosts[0].name, "b");
  EXPECT_EQ(c.hosts[0].role, Role::bastion);
  EXPECT_EQ(c.hosts[0].where.line, 3u);
  EXPECT_EQ(c.hosts[1].addresses[0].to_string(), "127.0.0.3/32");
  EXPECT_EQ(c.agent.state_dir, "/var/lib/hopguard");  // defaults apply
  EXPECT_EQ(c.legacy_login.console, LoginDefault::deny);
  EXPECT_EQ(c.bastion_login.console, LoginDefault::allow);
}

TEST(Config, ShippedExampleIsValidAndDocumentsEveryDefault) {
  const char* src = HOPGUARD_SOURCE_DIR;
  auto p = Policy::load_file(std::string(src) + "/etc/hopguard.toml");
  ASSERT_TRUE(p.ok()) << to_string(p.errors());
  // The example spells out the defaults: loading it changes none of them.
  const SiteConfig& c = p->config();
  const SiteConfig d;
  EXPECT_EQ(c.agent.max_frame_bytes, d.agent.max_frame_bytes);
  EXPECT_EQ(c.agent.queue_messages, d.agent.queue_messages);
  EXPECT_EQ(c.alarms.window_seconds, d.alarms.window_seconds);
  EXPECT_EQ(c.alarms.skew_seconds, d.alarms.skew_seconds);
  EXPECT_EQ(c.alarms.emit, d.alarms.emit);
  EXPECT_EQ(c.agent.silence_seconds, d.agent.silence_seconds);
  EXPECT_EQ(c.rules.guessing_threshold, d.rules.guessing_threshold);
  EXPECT_EQ(c.rules.guessing_window_seconds, d.rules.guessing_window_seconds);
  EXPECT_EQ(c.legacy_login.console, d.legacy_login.console);
  EXPECT_EQ(c.legacy_login.without_principal, d.legacy_login.without_principal);
  EXPECT_EQ(c.bastion_login.console, d.bastion_login.console);
  EXPECT_EQ(c.bastion_login.without_principal, d.bastion_login.without_principal);
  EXPECT_EQ(c.kdc.mode, d.kdc.mode);
  EXPECT_EQ(c.kdc.require_bastion_addresses, d.kdc.require_bastion_addresses);
}

TEST(Config, SyntaxError) {
  expect_errors("realm = \"HG.TEST\"\n[bastion.b\nfqdn = 1\n", {{ErrorCode::syntax, 2, "", ""}});
}

TEST(Config, DuplicateKeyIsASyntaxErrorWithItsLine) {
  expect_errors("realm = \"X\"\n" + std::string(kGood), {{ErrorCode::syntax, 2, "", "realm"}});
}

TEST(Config, UnknownKeys) {
  expect_errors("colour = \"blue\"\n" + std::string(kGood), {{ErrorCode::unknown_key, 1, "colour", "unknown key"}});
  std::string t = kGood;
  t.insert(t.find("[legacy.l1]"), "adresses = [\"127.0.0.9\"]\n");
  expect_errors(t, {{ErrorCode::unknown_key, 6, "bastion.b.adresses", "unknown key"}});
  expect_errors(std::string(kGood) + "[agent]\nlisten = []\nbogus = 1\n",
                {{ErrorCode::unknown_key, 13, "agent.bogus", "unknown key"}});
  expect_errors(std::string(kGood) + "[nonsense]\n", {{ErrorCode::unknown_key, 11, "nonsense", "unknown key"}});
}

TEST(Config, WrongTypes) {
  std::string t = kGood;
  t.replace(0, t.find('\n'), "realm = 5");
  expect_errors(t, {{ErrorCode::wrong_type, 1, "realm", "expected a string, found an integer"}});
  t = kGood;
  t.replace(t.find("[\"127.0.0.3\"]"), 13, "\"127.0.0.3\"");
  expect_errors(t, {{ErrorCode::wrong_type, 8, "legacy.l1.addresses", "expected an array"}});
  expect_errors(std::string(kGood) + "[rules]\nguessing_threshold = \"5\"\n",
                {{ErrorCode::wrong_type, 12, "rules.guessing_threshold", "expected an integer"}});
  expect_errors(std::string(kGood) + "[kdc]\nrequire_bastion_addresses = \"yes\"\n",
                {{ErrorCode::wrong_type, 12, "kdc.require_bastion_addresses", "expected a boolean"}});
  expect_errors(std::string(kGood) + "[legacy.l2]\nfqdn = \"l2.hg.test\"\naddresses = [1]\n",
                {{ErrorCode::wrong_type, 13, "legacy.l2.addresses[0]", "expected a string"}});
}

TEST(Config, MissingKeys) {
  std::string t = kGood;
  t.erase(0, t.find('\n') + 1);  // no realm
  expect_errors(t, {{ErrorCode::missing_key, 1, "realm", "required"}});
  t = kGood;
  t.erase(t.find("fqdn = \"l1.hg.test\"\n"), 20);
  expect_errors(t, {{ErrorCode::missing_key, 6, "legacy.l1.fqdn", "required"}});
}

TEST(Config, DuplicateAndEmptyNames) {
  expect_errors(std::string(kGood) + "[legacy.b]\nfqdn = \"other.hg.test\"\n",
                {{ErrorCode::duplicate, 11, "legacy.b", "already used by [bastion.b]"}});
  // Host names compare as DNS names (find_host ignores case): B is b.
  expect_errors(std::string(kGood) + "[legacy.B]\nfqdn = \"other.hg.test\"\n",
                {{ErrorCode::duplicate, 11, "legacy.B", "already used by [bastion.b]"}});
  expect_errors(std::string(kGood) + "[legacy.\"\"]\nfqdn = \"x.hg.test\"\n",
                {{ErrorCode::bad_value, 11, "legacy.", "short name"}});
  std::string t = kGood;
  t.replace(t.find("\"l1.hg.test\""), 12, "\"\"");
  expect_errors(t, {{ErrorCode::bad_value, 7, "legacy.l1.fqdn", "must not be empty"}});
  expect_errors(std::string(kGood) + "[legacy.l2]\nfqdn = \"l2.hg.test\"\naliases = [\"\"]\n",
                {{ErrorCode::bad_value, 13, "legacy.l2.aliases[0]", "must not be empty"}});
}

TEST(Config, FqdnUsedByTwoHosts) {
  expect_errors(std::string(kGood) + "[legacy.l2]\nfqdn = \"L1.hg.test\"\n",
                {{ErrorCode::duplicate, 11, "legacy.l2.fqdn", "also a name of [legacy.l1]"}});
  expect_errors(std::string(kGood) + "[legacy.l2]\nfqdn = \"l2.hg.test\"\naliases = [\"b.hg.test\"]\n",
                {{ErrorCode::duplicate, 11, "legacy.l2.aliases[0]", "also a name of [bastion.b]"}});
}

// Short names, fqdns and aliases are one namespace: ticket decisions look a service instance
// up by fqdn then by short name, the scanner by short name then by fqdn, so a name two hosts
// share would mean one host to one part and the other host to another.
TEST(Config, AnotherHostsShortNameIsNoFqdnOrAlias) {
  expect_errors(std::string(kGood) + "[legacy.l2]\nfqdn = \"l2.hg.test\"\naliases = [\"L1\"]\n",
                {{ErrorCode::duplicate, 11, "legacy.l2.aliases[0]", "\"L1\" is also a name of [legacy.l1] (as \"l1\")"}});
  expect_errors(std::string(kGood) + "[legacy.l2]\nfqdn = \"b\"\n",
                {{ErrorCode::duplicate, 11, "legacy.l2.fqdn", "\"b\" is also a name of [bastion.b]"}});
  // The later host is reported, whichever kind of name came first.
  expect_errors(std::string(kGood) + "[legacy.l2]\nfqdn = \"l2.hg.test\"\naliases = [\"l3.\"]\n"
                                     "[legacy.l3]\nfqdn = \"l3.hg.test\"\n",
                {{ErrorCode::duplicate, 14, "legacy.l3", "\"l3\" is also a name of [legacy.l2] (as \"l3.\")"}});
  // A host may repeat its own names.
  auto p = Policy::load(std::string(kGood) + "[legacy.l2]\nfqdn = \"l2.hg.test\"\naliases = [\"l2\", \"L2.hg.test.\"]\n",
                        "site.toml");
  EXPECT_TRUE(p.ok()) << to_string(p.errors());
}

// find_host and find_host_by_fqdn take "x." (the absolute form, with the root's dot) as "x":
// names that differ only by it are the same name, as names that differ only by case are.
TEST(Config, NamesDifferingOnlyByTheRootDotAreDuplicates) {
  expect_errors(std::string(kGood) + "[legacy.l2]\nfqdn = \"l2.hg.test\"\naliases = [\"L1.hg.test.\"]\n",
                {{ErrorCode::duplicate, 11, "legacy.l2.aliases[0]",
                  "\"L1.hg.test.\" is also a name of [legacy.l1] (as \"l1.hg.test\")"}});
  expect_errors(std::string(kGood) + "[legacy.\"l1.\"]\nfqdn = \"other.hg.test\"\n",
                {{ErrorCode::duplicate, 11, "legacy.l1.", "host name already used by [legacy.l1]"}});
  // Only one root dot is dropped, as find_with_root_dot drops it: "l1.hg.test.." is another name.
  auto p = Policy::load(std::string(kGood) + "[legacy.l2]\nfqdn = \"l2.hg.test\"\naliases = [\"l1.hg.test..\"]\n",
                        "site.toml");
  EXPECT_TRUE(p.ok()) << to_string(p.errors());
}

TEST(Config, BadAddresses) {
  for (const char* bad : {"127.0.0.300", "10.0.0.1/8", "fd00::/129", "127.0.0.1/33", "bastion.hg.test",
                          "", "127.0.0.1/", "127.0.0.1/+8", "::1%eth0", " 127.0.0.1"}) {
    std::string t = kGood;
    t.replace(t.find("\"127.0.0.5/32\""), 14, "\"" + std::string(bad) + "\"");
    SCOPED_TRACE(bad);
    expect_errors(t, {{ErrorCode::bad_address, 10, "bastion_access.allowed_sources[0]", "not an IPv4/IPv6"}});
  }
  std::string t = kGood;
  t.replace(t.find("[\"127.0.0.5/32\"]"), 16, "[\"127.0.0.5\", \"127.0.0.5/32\"]");
  expect_errors(t, {{ErrorCode::duplicate, 10, "bastion_access.allowed_sources[1]", "listed twice"}});
}

TEST(Config, BastionAddressInsideALegacyGuests) {
  std::string t = kGood;
  t.replace(t.find("[\"127.0.0.3\"]"), 13, "[\"127.0.0.0/24\"]");
  expect_errors(t, {{ErrorCode::conflict, 3, "bastion.b.addresses", "overlaps legacy guest l1"}});
  t = kGood;
  t.replace(t.find("[\"127.0.0.3\"]"), 13, "[\"::ffff:127.0.0.2\"]");
  expect_errors(t, {{ErrorCode::conflict, 3, "bastion.b.addresses", "overlaps"}});
}

// A site with thousands of legacy guests loads (the name checks are linear: with pairwise
// checks 8000 hosts took seconds), and a collision at the end of a large file is still found
// once, against the right host. Not a timing assertion: the time is measured by hand.
std::string many_hosts(std::size_t legacy_count) {
  std::string t = "realm = \"HG.TEST\"\n[bastion.b]\nfqdn = \"b.hg.test\"\naddresses = [\"127.0.0.2\", \"fd00::2/128\"]\n";
  for (std::size_t i = 0; i < legacy_count; ++i) {
    const std::string n = "l" + std::to_string(i);
    t += "[legacy." + n + "]\nfqdn = \"" + n + ".hg.test\"\naliases = [\"" + n + ".legacy.hg.test\"]\naddresses = [\"10." +
         std::to_string(i / 65536) + "." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256) + "\"]\n";
  }
  return t;
}

TEST(Config, ManyHostsLoad) {
  const std::string t = many_hosts(7999);
  auto p = Policy::load(t, "site.toml");
  ASSERT_TRUE(p.ok()) << to_string(p.errors()).substr(0, 2000);
  ASSERT_EQ(p->config().hosts.size(), 8000u);
  const HostEntry* h = p->find_host_by_fqdn("l7998.legacy.hg.test");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->name, "l7998");

  const auto line_after = static_cast<std::uint32_t>(std::count(t.begin(), t.end(), '\n') + 1);
  expect_errors(t + "[legacy.late]\nfqdn = \"late.hg.test\"\naliases = [\"L4000.HG.TEST\"]\n",
                {{ErrorCode::duplicate, line_after, "legacy.late.aliases[0]", "also a name of [legacy.l4000]"}});
  expect_errors(t + "[legacy.late]\nfqdn = \"late.hg.test\"\naddresses = [\"127.0.0.0/30\"]\n",
                {{ErrorCode::conflict, 2, "bastion.b.addresses", "overlaps legacy guest late"}});
}

TEST(Config, TemplateNeedsUserAndHost) {
  for (const char* bad : {"{user}", "{host}-x", "{user}-{user}", "{user}{host}", "{user}@{host}", "{user}-{host}-{host}"}) {
    std::string t = kGood;
    t.replace(t.find("\"{user}-{host}\""), 15, "\"" + std::string(bad) + "\"");
    SCOPED_TRACE(bad);
    auto p = Policy::load(t, "site.toml");
    ASSERT_FALSE(p.ok());
    ASSERT_EQ(p.errors().size(), 1u) << to_string(p.errors());
    EXPECT_EQ(p.errors()[0].key, "special_principal");
    EXPECT_EQ(p.errors()[0].where.line, 2u);
    EXPECT_EQ(p.errors()[0].code, ErrorCode::bad_value);
  }
}

TEST(Config, BadValues) {
  expect_errors(std::string(kGood) + "[login]\nlegacy_console = \"maybe\"\n",
                {{ErrorCode::bad_value, 12, "login.legacy_console", "must be allow | deny"}});
  expect_errors(std::string(kGood) + "[alarms]\nwindow_seconds = 0\n",
                {{ErrorCode::bad_value, 12, "alarms.window_seconds", "between 1 and"}});
  expect_errors(std::string(kGood) + "[alarms]\nemit = \"sometimes\"\n",
                {{ErrorCode::bad_value, 12, "alarms.emit", "window-end | first-evidence"}});
  expect_errors(std::string(kGood) + "[kdc]\nmode = \"audit\"\n",
                {{ErrorCode::bad_value, 12, "kdc.mode", "enforce | monitor"}});
  expect_errors(std::string(kGood) + "[bastion.\"bad name\"]\nfqdn = \"x.hg.test\"\naddresses = [\"127.0.0.9\"]\n",
                {{ErrorCode::bad_value, 11, "bastion.bad name", "short name"}});
  std::string t = kGood;
  t.replace(t.find("\"l1.hg.test\""), 12, "\"l1..hg.test\"");
  expect_errors(t, {{ErrorCode::bad_value, 6, "legacy.l1.fqdn", "not a DNS name"}});
}

// hopguardd's endpoints, programs and URLs are checked at load, like every other key, so
// `hopguard config check` reports them and the daemon never starts on one it cannot use.
TEST(Config, DaemonKeysLoadParsed) {
  auto p = Policy::load(std::string(kGood) +
                            "[agent]\n"
                            "listen = [\"tcp://127.0.0.1:5514\", \"udp://127.0.0.1:5514\", \"tcp://[::1]:0\", "
                            "\"tcp://[::1]:0\"]\n"
                            "[alarms]\n"
                            "syslog_target = \"tcp://collector.hg.test:6514\"\n"
                            "exec = [\"/usr/local/bin/page\", \"--urgent\"]\n"
                            "webhook = \"https://siem.hg.test:8443/hook?x=1\"\n",
                        "site.toml");
  ASSERT_TRUE(p.ok()) << to_string(p.errors());
  const SiteConfig& c = p->config();
  ASSERT_EQ(c.agent.listen.size(), 4u);  // two ephemeral listeners are two listeners
  EXPECT_EQ(c.agent.listen[0].transport, Transport::tcp);
  EXPECT_EQ(c.agent.listen[0].host, "127.0.0.1");
  EXPECT_EQ(c.agent.listen[0].port, 5514);
  EXPECT_EQ(c.agent.listen[1].transport, Transport::udp);
  EXPECT_EQ(c.agent.listen[2].host, "::1");
  EXPECT_EQ(c.agent.listen[2].text, "tcp://[::1]:0");
  ASSERT_TRUE(c.alarms.syslog_target.has_value());
  EXPECT_EQ(c.alarms.syslog_target->host, "collector.hg.test");
  EXPECT_EQ(c.alarms.syslog_target->port, 6514);
  EXPECT_EQ(c.alarms.exec, (std::vector<std::string>{"/usr/local/bin/page", "--urgent"}));
  EXPECT_EQ(c.alarms.webhook, "https://siem.hg.test:8443/hook?x=1");

  // Empty values switch the sinks off.
  auto off = Policy::load(std::string(kGood) + "[alarms]\nsyslog_target = \"\"\nexec = []\nwebhook = \"\"\n",
                          "site.toml");
  ASSERT_TRUE(off.ok()) << to_string(off.errors());
  EXPECT_FALSE(off->config().alarms.syslog_target.has_value());
  EXPECT_TRUE(off->config().alarms.exec.empty());
  EXPECT_TRUE(off->config().alarms.webhook.empty());
}

// Each kind of mistake in [agent] listen and [alarms] syslog_target, exec and webhook, all in one
// file: every one is reported, in file order, exactly as `hopguard config check` prints it.
TEST(Config, DaemonKeyErrorsNameFileLineAndKey) {
  const std::string text = std::string(kGood) +  // 10 lines
                           "[agent]\n"                                                      // 11
                           "listen = [\"http://x:1\", \"tcp://::1:5514\", \"tcp://[::1]5514\"]\n"  // 12
                           "# more listeners\n"                                             // 13
                           "tail = [\"tcp://127.0.0.1\"]\n"                                  // 14: a path, fine
                           "[alarms]\n"                                                     // 15
                           "syslog_target = \"udp://collector.hg.test:514\"\n"              // 16
                           "exec = [\"page-oncall\", \"\"]\n"                                 // 17
                           "webhook = \"ftp://siem.hg.test/hook\"\n";                        // 18
  auto p = Policy::load(text, "site.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(to_string(p.errors()),
            "site.toml:12:11: agent.listen[0]: \"http://x:1\": expected tcp://HOST:PORT or udp://HOST:PORT\n"
            "site.toml:12:25: agent.listen[1]: \"tcp://::1:5514\": an IPv6 address needs brackets\n"
            "site.toml:12:43: agent.listen[2]: \"tcp://[::1]5514\": an IPv6 address is written [ADDR]:PORT\n"
            "site.toml:16:17: alarms.syslog_target: \"udp://collector.hg.test:514\": only tcp:// is supported "
            "(UDP would lose alarms silently)\n"
            "site.toml:17:9: alarms.exec[0]: \"page-oncall\": the program must be an absolute path (no shell, "
            "no PATH search)\n"
            "site.toml:17:24: alarms.exec[1]: must not be empty\n"
            "site.toml:18:11: alarms.webhook: \"ftp://siem.hg.test/hook\": expected an http:// or https:// URL "
            "with a host\n");
}

TEST(Config, ListenerErrors) {
  const auto listen = [](const std::string& values) {
    return std::string(kGood) + "[agent]\nlisten = [" + values + "]\n";
  };
  expect_errors(listen("\"tcp://127.0.0.1\""),
                {{ErrorCode::bad_value, 12, "agent.listen[0]", "\"tcp://127.0.0.1\": missing :PORT"}});
  expect_errors(listen("\"tcp://127.0.0.1:65536\""),
                {{ErrorCode::bad_value, 12, "agent.listen[0]", "\"tcp://127.0.0.1:65536\": port must be 0..65535"}});
  expect_errors(listen("\"udp://:514\""), {{ErrorCode::bad_value, 12, "agent.listen[0]", "missing host"}});
  expect_errors(listen("\"tcp://[::1:514\""),
                {{ErrorCode::bad_value, 12, "agent.listen[0]", "an IPv6 address is written [ADDR]:PORT"}});
  expect_errors(listen("\"tcp://localhost:5514\""),
                {{ErrorCode::bad_address, 12, "agent.listen[0]",
                  "\"tcp://localhost:5514\": a listener needs a literal IPv4 or IPv6 address"}});
  expect_errors(listen("\"tcp://127.0.0.1:5514\", \"udp://127.0.0.1:5514\",\n  \"tcp://127.0.0.1:5514\""),
                {{ErrorCode::duplicate, 13, "agent.listen[2]", "listener listed twice: \"tcp://127.0.0.1:5514\""}});
  expect_errors(listen("\"tcp://[::1]:5514\", \"tcp://[0:0::1]:5514\""),
                {{ErrorCode::duplicate, 12, "agent.listen[1]", "listener listed twice"}});
  expect_errors(listen("5514"), {{ErrorCode::wrong_type, 12, "agent.listen[0]", "expected a string, found an integer"}});
  // The message quotes a hostile value bounded.
  auto p = Policy::load(listen("\"" + std::string(5000, 'x') + "\""), "site.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_LT(p.errors().front().message.size(), 300u);
}

TEST(Config, MetricsTarget) {
  const auto agent = [](const std::string& v) { return std::string(kGood) + "[agent]\nmetrics = " + v + "\n"; };
  for (const char* ok : {"\"\"", "\"tcp://127.0.0.1:9514\"", "\"tcp://[::1]:9514\"", "\"file:/var/lib/m.prom\""}) {
    auto p = Policy::load(agent(ok), "site.toml");
    EXPECT_TRUE(p.ok()) << ok << ": " << to_string(p.errors());
  }
  expect_errors(agent("\"file:m.prom\""),
                {{ErrorCode::bad_value, 12, "agent.metrics", "\"file:m.prom\": file: needs an absolute path (file:/PATH)"}});
  expect_errors(agent("\"udp://127.0.0.1:9514\""),
                {{ErrorCode::bad_value, 12, "agent.metrics",
                  "\"udp://127.0.0.1:9514\": expected tcp://ADDR:PORT with a literal address, or file:/PATH"}});
  expect_errors(agent("\"tcp://metrics.hg.test:9514\""),
                {{ErrorCode::bad_value, 12, "agent.metrics", "with a literal address, or file:/PATH"}});
  expect_errors(agent("\"tcp://127.0.0.1\""), {{ErrorCode::bad_value, 12, "agent.metrics", "missing :PORT"}});
}

TEST(Config, AlarmSinkErrors) {
  const auto alarms = [](const std::string& line) { return std::string(kGood) + "[alarms]\n" + line + "\n"; };
  expect_errors(alarms("syslog_target = \"tcp://collector.hg.test:0\""),
                {{ErrorCode::bad_value, 12, "alarms.syslog_target",
                  "\"tcp://collector.hg.test:0\": the collector's port must not be 0"}});
  expect_errors(alarms("syslog_target = \"collector.hg.test:6514\""),
                {{ErrorCode::bad_value, 12, "alarms.syslog_target", "expected tcp://HOST:PORT or udp://HOST:PORT"}});
  expect_errors(alarms("syslog_target = \"tcp://[fd00::1]:6514x\""),
                {{ErrorCode::bad_value, 12, "alarms.syslog_target", "port must be 0..65535"}});
  expect_errors(alarms("exec = [\"bin/page\"]"),
                {{ErrorCode::bad_value, 12, "alarms.exec[0]", "the program must be an absolute path"}});
  expect_errors(alarms("exec = [\"\"]"), {{ErrorCode::bad_value, 12, "alarms.exec[0]", "must not be empty"}});
  expect_errors(alarms("exec = \"/usr/bin/page\""),
                {{ErrorCode::wrong_type, 12, "alarms.exec", "expected an array, found a string"}});
  for (const char* bad : {"siem.hg.test/hook", "http://", "https:///hook", "http://siem.hg.test/a b",
                          "http://siem.hg.test/\\r\\nX-Injected: 1", "HTTP//siem"}) {
    SCOPED_TRACE(bad);
    expect_errors(alarms("webhook = \"" + std::string(bad) + "\""),
                  {{ErrorCode::bad_value, 12, "alarms.webhook", "expected an http:// or https:// URL with a host"}});
  }
}

TEST(Config, EveryErrorAtOnce) {
  std::string t = kGood;
  t.replace(0, t.find('\n'), "realm = 5");
  t = "colour = 1\n" + t + "[agent]\nqueue_messages = -1\n";
  auto p = Policy::load(t, "site.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.errors().size(), 3u) << to_string(p.errors());
}

TEST(Config, NoBastionIsAnError) {
  expect_errors("realm = \"HG.TEST\"\n[legacy.l1]\nfqdn = \"l1.hg.test\"\n",
                {{ErrorCode::missing_key, 0, "bastion", "no [bastion"}});
}

TEST(Config, HostileFiles) {
  EXPECT_FALSE(Policy::load(std::string("realm = \"A\0B\"\n", 14), "site.toml").ok());
  EXPECT_FALSE(Policy::load(std::string(5u << 20, '#'), "site.toml").ok());
  EXPECT_FALSE(Policy::load("\xff\xfe\x00", "site.toml").ok());
  EXPECT_FALSE(Policy::load(std::string(100000, '['), "site.toml").ok());
  auto p = Policy::load_file("/nonexistent/hopguard.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.errors()[0].code, ErrorCode::io);
  EXPECT_EQ(p.errors()[0].where.file, "/nonexistent/hopguard.toml");
}

// A config path that names a device, a FIFO or a directory is refused at once with its name
// (DESIGN section 9): /dev/zero was read without end, a FIFO blocked the open, and a directory
// was read as an empty config ("realm: required key is missing").
TEST(Config, NonRegularFilesAreRefusedNotRead) {
  const std::string dir = ::testing::TempDir() + "hg-config-kinds";
  std::filesystem::create_directories(dir + "/adir.toml");
  const std::string fifo = dir + "/fifo.toml";
  std::filesystem::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::pair<std::string, std::string> cases[] = {
      {"/dev/zero", "cannot read config: not a regular file"},
      {fifo, "cannot read config: not a regular file"},
      {dir + "/adir.toml", "cannot read config: is a directory"},
  };
  for (const auto& [path, message] : cases) {
    auto p = Policy::load_file(path);
    ASSERT_FALSE(p.ok()) << path;
    EXPECT_EQ(p.errors()[0].code, ErrorCode::io) << path;
    EXPECT_EQ(p.errors()[0].where.file, path);
    EXPECT_EQ(p.errors()[0].message, message) << path;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hopguard

namespace hopguard {
namespace {

// Hostile config files: random mutations of the shipped example never crash the loader (run
// under ASan/UBSan in CI), and every failure names the file and gives a reason.
TEST(Config, RandomMutationsNeverCrashAndAlwaysExplain) {
  const char* src = HOPGUARD_SOURCE_DIR;
  std::ifstream in(std::string(src) + "/etc/hopguard.toml");
  const std::string base((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(base.empty());
  std::mt19937 rng(7);
  const std::string alphabet = "[]{}\"'=.,#\n\\/:{}-_ 0123456789abcxyz\x01\xff";
  int failures = 0;
  for (int round = 0; round < 1500; ++round) {
    std::string t = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % t.size();
      switch (rng() % 3) {
        case 0: t[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: t.erase(at, 1 + rng() % 8); break;
        default: t.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
      }
      if (t.empty()) t = "x";
    }
    auto p = Policy::load(t, "mutant.toml");
    if (!p.ok()) {
      ++failures;
      for (const Error& err : p.errors()) {
        ASSERT_EQ(err.where.file, "mutant.toml");
        ASSERT_FALSE(err.message.empty());
      }
    }
  }
  EXPECT_GT(failures, 100);  // the mutations really do break configs
}

}  // namespace
}  // namespace hopguard
