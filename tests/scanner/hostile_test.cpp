// Runs every hostile/*.case (format in hostile/README.md) through the Framer and the Engine.
#include "engine_fixture.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace hopguard::scanner {
namespace {

std::string unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == '\\') {
      out.push_back('\\');
      ++i;
    } else if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x') {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 2, 2), nullptr, 16)));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::uint64_t stat_value(const EngineStats& s, const std::string& name) {
  auto src = [](const std::string& n) {
    if (n == "kdc") return static_cast<std::size_t>(EventSource::kdc);
    if (n == "sshd") return static_cast<std::size_t>(EventSource::sshd);
    return static_cast<std::size_t>(EventSource::hopguard);
  };
  const auto dot = name.find('.');
  const std::string head = name.substr(0, dot);
  const std::string tail = dot == std::string::npos ? "" : name.substr(dot + 1);
  if (head == "lines") return s.lines;
  if (head == "skipped") return s.skipped;
  if (head == "decoded") return s.decoded[src(tail)];
  if (head == "ignored") return s.ignored[src(tail)];
  if (head == "parse_failures") return s.parse_failures[src(tail)];
  ADD_FAILURE() << "unknown stat " << name;
  return 0;
}

TEST(Hostile, EveryCaseHasItsExpectedOutcome) {
  auto policy = test::test_policy();
  auto rules = test::shipped_rules(*policy);
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(HOPGUARD_HOSTILE_DIR)) {
    if (entry.path().extension() != ".case") continue;
    ++count;
    SCOPED_TRACE(entry.path().filename().string());
    std::ifstream in(entry.path());
    std::string l, framing = "lf";
    std::vector<std::string> expects, stats, input;
    bool body = false;
    while (std::getline(in, l)) {
      if (body) {
        input.push_back(unescape(l));
      } else if (l == "---") {
        body = true;
      } else if (l.rfind("framing: ", 0) == 0) {
        framing = l.substr(9);
      } else if (l.rfind("expect ", 0) == 0) {
        expects.push_back(l.substr(7));
      } else if (l.rfind("stat ", 0) == 0) {
        stats.push_back(l.substr(5));
      }
    }
    ASSERT_FALSE(expects.empty());
    ASSERT_FALSE(input.empty());
    std::string stream;
    for (const std::string& m : input) {
      stream += framing == "octet" ? std::to_string(m.size()) + " " + m : m + "\n";
    }
    Engine e(policy, rules);
    std::vector<Alarm> alarms;
    const AlarmSink sink = [&](const Alarm& a) {
      alarms.push_back(a);
      EXPECT_EQ(to_json(a).find('\n'), std::string::npos);
    };
    Framer f(FramerOptions{65536, framing == "octet" ? Framing::octet_counted : Framing::lf});
    const auto on_frame = [&](const Frame& fr) { e.feed_line(fr.text, test::kReceive, sink); };
    f.feed(stream, on_frame);
    f.finish(on_frame);
    e.finish(sink);
    if (expects.size() == 1 && expects[0] == "none") {
      for (const Alarm& a : alarms) ADD_FAILURE() << "unexpected alarm " << a.rule_id;
    } else {
      ASSERT_EQ(alarms.size(), expects.size());
      for (std::size_t i = 0; i < alarms.size(); ++i) {
        std::istringstream s(expects[i]);
        std::string rule, kv;
        s >> rule;
        EXPECT_EQ(alarms[i].rule_id, rule);
        while (s >> kv) {
          const auto eq = kv.find('=');
          const std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
          if (k == "target") EXPECT_EQ(alarms[i].target, v);
          else if (k == "source") EXPECT_EQ(alarms[i].source_ip, v);
          else if (k == "principal") EXPECT_EQ(alarms[i].principal, v);
          else if (k == "count") EXPECT_EQ(std::to_string(alarms[i].count), v);
          else ADD_FAILURE() << "unknown key " << k;
        }
      }
    }
    for (const std::string& st : stats) {
      const auto eq = st.find('=');
      EXPECT_EQ(stat_value(e.stats(), st.substr(0, eq)), std::stoull(st.substr(eq + 1))) << st;
    }
  }
  EXPECT_GE(count, 10u);
}

}  // namespace
}  // namespace hopguard::scanner
