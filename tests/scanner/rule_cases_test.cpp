// Runs every rules/cases/*.cases file (format in the header of each file) and checks that every
// shipped rule id has at least one positive and one negative case.
#include "engine_fixture.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace hopguard::scanner {
namespace {

struct Case {
  std::string file;
  int line = 0;
  std::string name;
  std::vector<std::string> expects;
  std::vector<std::string> lines;
};

std::vector<Case> read_cases(const std::filesystem::path& p) {
  std::vector<Case> out;
  std::ifstream in(p);
  std::string l;
  int n = 0;
  while (std::getline(in, l)) {
    ++n;
    if (l.rfind("=== ", 0) == 0) {
      out.push_back(Case{p.filename().string(), n, l.substr(4), {}, {}});
    } else if (l.empty() || l[0] == '#') {
      continue;
    } else if (out.empty()) {
      ADD_FAILURE() << p << ":" << n << ": line before the first case";
    } else if (l.rfind("expect ", 0) == 0) {
      out.back().expects.push_back(l.substr(7));
    } else {
      out.back().lines.push_back(l);
    }
  }
  return out;
}

// "rule key=value ..." against one alarm; returns "" when it matches, else what differs.
std::string compare(const std::string& expect, const Alarm& a) {
  std::istringstream s(expect);
  std::string rule;
  s >> rule;
  std::string diff;
  if (rule != a.rule_id) diff += " rule " + a.rule_id;
  std::string kv;
  while (s >> kv) {
    const auto eq = kv.find('=');
    const std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
    std::string got;
    if (k == "principal") got = a.principal;
    else if (k == "target") got = a.target;
    else if (k == "source") got = a.source_ip;
    else if (k == "user") got = a.user;
    else if (k == "count") got = std::to_string(a.count);
    else if (k == "aggregated") got = std::to_string(a.aggregated);
    else got = "<unknown key " + k + ">";
    if (got != v) diff += " " + k + "=" + got;
  }
  return diff;
}

std::string describe(const Alarm& a) {
  return a.rule_id + " principal=" + a.principal + " target=" + a.target + " source=" + a.source_ip +
         " user=" + a.user + " count=" + std::to_string(a.count);
}

// Each case runs twice: with the engine's default memo sizes, and with memos of one entry
// (each lookup of another name or address empties them), since a memo may change the speed of
// a match but never its outcome.
TEST(RuleCases, EveryCaseGivesExactlyTheExpectedAlarms) {
  auto policy = test::test_policy();
  auto rules = test::shipped_rules(*policy);
  EngineOptions tiny;
  tiny.principal_cache_entries = 1;
  tiny.memo_entries = 1;
  std::map<std::string, int> positives, negatives;
  std::size_t cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(HOPGUARD_RULE_CASES)) {
    if (entry.path().extension() != ".cases") continue;
    for (const Case& c : read_cases(entry.path())) {
      for (const EngineOptions& options : {EngineOptions{}, tiny}) {
        ++cases;
        SCOPED_TRACE(c.file + ":" + std::to_string(c.line) + ": " + c.name + " (memo entries " +
                     std::to_string(options.memo_entries) + ")");
        ASSERT_FALSE(c.expects.empty()) << "a case needs expect lines";
        ASSERT_FALSE(c.lines.empty()) << "a case needs log lines";
        const auto alarms = test::scan(c.lines, options, policy, rules);
        const std::string stem = entry.path().stem().string();
        if (c.expects.size() == 1 && c.expects[0] == "none") {
          ++negatives[stem];
          for (const Alarm& a : alarms) ADD_FAILURE() << "unexpected alarm: " << describe(a);
          continue;
        }
        for (const std::string& e : c.expects) {
          if (e.rfind(stem + " ", 0) == 0 || e == stem) ++positives[stem];
        }
        ASSERT_EQ(alarms.size(), c.expects.size()) << [&] {
          std::string all;
          for (const Alarm& a : alarms) all += "\n  got " + describe(a);
          return all;
        }();
        for (std::size_t i = 0; i < alarms.size(); ++i) {
          const std::string d = compare(c.expects[i], alarms[i]);
          EXPECT_EQ(d, "") << "expected " << c.expects[i] << "\n  got " << describe(alarms[i]);
        }
      }
    }
  }
  EXPECT_GT(cases, 2 * 30u);
  for (const std::string& id : rules->ids()) {
    EXPECT_GT(positives[id], 0) << "no positive case for shipped rule " << id;
    EXPECT_GT(negatives[id], 0) << "no negative case for shipped rule " << id;
  }
}

}  // namespace
}  // namespace hopguard::scanner
