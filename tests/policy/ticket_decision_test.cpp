// The ticket decision (the KDC module enforces it), tested as data: data/tickets.txt and
// data/as_addresses.txt against data/tickets_site.toml. Each line is one case; a failure names
// the file line. The module inside a real krb5kdc is tests/kdcpolicy.
#include <hopguard/ticket_decision.hpp>

#include <hopguard/rule_id.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace hopguard {
namespace {

std::string data_path(const std::string& name) {
  return std::string(HOPGUARD_TEST_DATA) + "/" + name;
}

const Policy& site() {
  static const Policy policy = [] {
    auto p = Policy::load_file(data_path("tickets_site.toml"));
    if (!p) {
      ADD_FAILURE() << to_string(p.errors());
      std::abort();
    }
    return std::move(p).value();
  }();
  return policy;
}

struct Line {
  int number = 0;
  std::vector<std::string> words;  // the columns, "->" included
};

std::vector<Line> read_table(const std::string& name) {
  std::ifstream in(data_path(name));
  EXPECT_TRUE(in.good()) << data_path(name);
  std::vector<Line> out;
  std::string text;
  for (int n = 1; std::getline(in, text); ++n) {
    if (text.empty() || text[0] == '#') continue;
    std::istringstream words(text);
    Line line{n, {}};
    for (std::string w; words >> w;) line.words.push_back(w);
    if (!line.words.empty()) out.push_back(std::move(line));
  }
  return out;
}

std::string dash(const std::string& s) { return s.empty() ? "-" : s; }

TEST(TicketDecision, Table) {
  const auto lines = read_table("tickets.txt");
  ASSERT_GT(lines.size(), 40u);
  std::set<std::string> rules_seen;
  for (const auto& l : lines) {
    SCOPED_TRACE("tickets.txt:" + std::to_string(l.number));
    ASSERT_EQ(l.words.size(), 8u);
    ASSERT_EQ(l.words[4], "->");
    TicketRequest r;
    r.exchange = l.words[0] == "as" ? Exchange::as : Exchange::tgs;
    r.client = l.words[1];
    r.service = l.words[2];
    r.s4u2self = l.words[3].find("s4u2self") != std::string::npos;
    r.s4u2proxy = l.words[3].find("s4u2proxy") != std::string::npos;
    const TicketDecision d = decide_ticket(site(), r);
    EXPECT_EQ(std::string(to_string(d.verdict)), l.words[5]) << d.reason;
    EXPECT_EQ(dash(std::string(d.rule)), l.words[6]) << d.reason;
    EXPECT_EQ(dash(d.target), l.words[7]);
    EXPECT_EQ(d.verdict == Verdict::deny, !d.reason.empty()) << "a deny says why, an allow does not";
    rules_seen.insert(dash(std::string(d.rule)));
  }
  const std::set<std::string> all = {"-", std::string(rule_id::regular_cred_on_legacy),
                                     std::string(rule_id::special_cred_on_bastion),
                                     std::string(rule_id::special_cred_wrong_target),
                                     std::string(rule_id::invalid_principal)};
  EXPECT_EQ(rules_seen, all);
}

TEST(TicketDecision, AsAddresses) {
  const auto lines = read_table("as_addresses.txt");
  ASSERT_GT(lines.size(), 10u);
  for (const auto& l : lines) {
    SCOPED_TRACE("as_addresses.txt:" + std::to_string(l.number));
    ASSERT_EQ(l.words.size(), 5u);
    ASSERT_EQ(l.words[2], "->");
    std::vector<std::optional<Address>> addresses;
    if (l.words[1] != "-") {
      std::istringstream list(l.words[1]);
      for (std::string a; std::getline(list, a, ',');) {
        if (a == "?") {
          addresses.emplace_back(std::nullopt);
        } else {
          auto parsed = parse_address(a);
          ASSERT_TRUE(parsed) << a;
          addresses.emplace_back(*parsed);
        }
      }
    }
    const TicketDecision d = decide_as_addresses(site(), l.words[0], addresses);
    EXPECT_EQ(std::string(to_string(d.verdict)), l.words[3]) << d.reason;
    EXPECT_EQ(dash(std::string(d.rule)), l.words[4]) << d.reason;
  }
}

// Hostile names: nothing crashes, and nothing over-long or odd opens a legacy guest. (A quoted
// spelling such as "alice\\-legacy1@HG.TEST" is not hostile: libkrb5 reads it as alice-legacy1.)
TEST(TicketDecision, HostileNamesNeverOpenALegacyGuest) {
  const std::string long_user(300, 'a');
  const std::string names[] = {
      "", "@", "@@", "\\", "alice-legacy1", "alice-legacy1@", long_user + "-legacy1@HG.TEST",
      std::string("alice-legacy1\0@HG.TEST", 22), "alice-legacy1@HG.TEST\n", "alice-legacy1 @HG.TEST",
      "\xff\xfe@HG.TEST", "alice-legacy1@HG.TEST@HG.TEST"};
  for (const auto& n : names) {
    TicketRequest r;
    r.client = n;
    r.service = "host/legacy1.hg.test@HG.TEST";
    const TicketDecision d = decide_ticket(site(), r);
    EXPECT_EQ(d.verdict, Verdict::deny) << "client " << n;
  }
}

}  // namespace
}  // namespace hopguard
