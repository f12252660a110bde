// search_user_regex (scanner/regex_search.hpp): user regexes get a state limit linear in the
// line's length, so a crafted long line costs milliseconds, not Boost's default of up to 10^8
// states (about a second); ordinary regexes on ordinary and long lines still decide.
#include <scanner/regex_search.hpp>

#include <gtest/gtest.h>

#include <string>

namespace hopguard::scanner {
namespace {

RegexOutcome run(const std::string& pattern, std::string_view text, RegexCaptures& cap) {
  const boost::regex re(pattern, boost::regex::perl);
  RegexCaptureIndexes which;
  which.user = re.get_named_subs()->get_id(std::string_view("user").begin(), std::string_view("user").end());
  which.address = re.get_named_subs()->get_id(std::string_view("address").begin(), std::string_view("address").end());
  if (which.user <= 0) which.user = -1;
  if (which.address <= 0) which.address = -1;
  return search_user_regex(re, boost::match_default, text, which, cap);
}

TEST(UserRegexSearch, MatchesAndCaptures) {
  RegexCaptures cap;
  const std::string text = "Accepted password for alice from 192.0.2.7 port 22 ssh2";
  EXPECT_EQ(run("for (?<user>\\S+) from (?<address>\\S+)", text, cap), RegexOutcome::match);
  EXPECT_EQ(cap.user, "alice");
  EXPECT_EQ(cap.address, "192.0.2.7");
  // The views point into the text itself.
  EXPECT_EQ(cap.user.data(), text.data() + text.find("alice"));
  EXPECT_EQ(run("for (?<user>\\S+) to ", text, cap), RegexOutcome::no_match);
  EXPECT_TRUE(cap.user.empty());
  EXPECT_EQ(run("x", std::string_view(), cap), RegexOutcome::no_match);
}

// A linear regex decides on the longest line the framer lets through (64 KiB), with the match
// at its end.
TEST(UserRegexSearch, LinearRegexDecidesOnALongLine) {
  RegexCaptures cap;
  std::string text;
  for (int i = 0; text.size() < 65000; ++i) text += "word" + std::to_string(i) + " ";
  text += "session opened for user mallory by (uid=0)";
  EXPECT_EQ(run("session opened for user (?<user>\\S+) by", text, cap), RegexOutcome::match);
  EXPECT_EQ(cap.user, "mallory");
  EXPECT_EQ(run("session closed for user (?<user>\\S+) by", text, cap), RegexOutcome::no_match);
}

// A regex that is quadratic on a crafted line (\S+ retried from every start of one long token)
// still decides on lines of ordinary length...
TEST(UserRegexSearch, QuadraticRegexDecidesOnOrdinaryLines) {
  RegexCaptures cap;
  const std::string text = std::string(300, 'x') + " from 192.0.2.7";
  EXPECT_EQ(run("(?<user>\\S+) from (?<address>\\S+)$", text, cap), RegexOutcome::match);
  EXPECT_EQ(cap.user, std::string(300, 'x'));
  EXPECT_EQ(run("(?<user>\\S+) to ", std::string(300, 'x'), cap), RegexOutcome::no_match);
}

// ... and runs out of its limit on a long one. With Boost's own limit (the greater of N*S^2 and
// min(N^2, 10^8) states, N the text's length and S the pattern's) the first search below visited
// about 5*10^7 states before it said no match (0.1 s here), the second about 4*10^8 (4.7 s: the
// N*S^2 term has no cap); regex_state_limit stops them after 260 000 and 1 140 000.
TEST(UserRegexSearch, CraftedLineRunsOutOfTheLinearLimit) {
  RegexCaptures cap;
  EXPECT_EQ(run(".(?<user>\\S+) to ", std::string(10000, 'x'), cap), RegexOutcome::undecided);
  EXPECT_TRUE(cap.user.empty());
  std::string alternatives;
  for (int i = 0; i < 40; ++i) alternatives += "|alt" + std::to_string(i);
  EXPECT_EQ(run(".(?<user>\\S+) to " + alternatives, std::string(65000, 'x'), cap), RegexOutcome::undecided);
  // Nested repeats: exponential, undecided at any length past a few dozen bytes.
  EXPECT_EQ(run("(a+)+$", std::string(4000, 'a') + "b", cap), RegexOutcome::undecided);
}

TEST(UserRegexSearch, LimitIsLinear) {
  EXPECT_EQ(regex_state_limit(0), kRegexBaseStates);
  EXPECT_EQ(regex_state_limit(65536), kRegexBaseStates + 65536 * kRegexStatesPerByte);
}

}  // namespace
}  // namespace hopguard::scanner
