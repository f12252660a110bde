// search_user_regex (scanner/regex_search.hpp): user regexes get state and read limits linear in
// the line's length, so a crafted long line costs milliseconds, not Boost's default of up to
// 10^8 states (seconds); ordinary regexes on ordinary and long lines still decide.
#include <scanner/regex_search.hpp>

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace hopguard::scanner {
namespace {

RegexOutcome run(const std::string& pattern, std::string_view text, RegexCaptures& cap,
                 std::size_t* reads = nullptr) {
  const boost::regex re(pattern, boost::regex::perl);
  RegexCaptureIndexes which;
  which.user = re.get_named_subs()->get_id(std::string_view("user").begin(), std::string_view("user").end());
  which.address = re.get_named_subs()->get_id(std::string_view("address").begin(), std::string_view("address").end());
  if (which.user <= 0) which.user = -1;
  if (which.address <= 0) which.address = -1;
  return search_user_regex(re, boost::match_default, text, which, cap, reads);
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
// at its end, reading each byte about once.
TEST(UserRegexSearch, LinearRegexDecidesOnALongLine) {
  RegexCaptures cap;
  std::string text;
  for (int i = 0; text.size() < 65000; ++i) text += "word" + std::to_string(i) + " ";
  text += "session opened for user mallory by (uid=0)";
  std::size_t reads = 0;
  EXPECT_EQ(run("session opened for user (?<user>\\S+) by", text, cap, &reads), RegexOutcome::match);
  EXPECT_EQ(cap.user, "mallory");
  EXPECT_GE(reads, text.size() - 64);
  EXPECT_LE(reads, 2 * text.size());
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
// N*S^2 term has no cap); regex_state_limit stops them after 180 000 and 620 000.
TEST(UserRegexSearch, CraftedLineRunsOutOfTheStateLimit) {
  RegexCaptures cap;
  EXPECT_EQ(run(".(?<user>\\S+) to ", std::string(10000, 'x'), cap), RegexOutcome::undecided);
  EXPECT_TRUE(cap.user.empty());
  std::string alternatives;
  for (int i = 0; i < 40; ++i) alternatives += "|alt" + std::to_string(i);
  EXPECT_EQ(run(".(?<user>\\S+) to " + alternatives, std::string(65000, 'x'), cap), RegexOutcome::undecided);
  // Nested repeats: exponential, undecided at any length past a few dozen bytes.
  EXPECT_EQ(run("(a+)+$", std::string(4000, 'a') + "b", cap), RegexOutcome::undecided);
}

// Constructs that read the rest of the line in one state and drop what they read (possessive
// repeats, atomic groups, lookaheads, backreferences) stay under any state limit while their
// work is quadratic: each of these took 2-20 s on a 64 KiB line under the state limit alone, and
// said no match for most. The read limit stops them after regex_read_limit(n) bytes.
TEST(UserRegexSearch, CraftedLineRunsOutOfTheReadLimit) {
  const std::string a(65536, 'a'), x(65536, 'x');
  const std::pair<const char*, const std::string*> cases[] = {
      {"(?<user>[a-z_][a-z0-9_-]*+) to root", &a},  // possessive
      {"(?i)(?<user>[a-z0-9]++) to root", &x},
      {".(?>\\S+)y", &x},                           // atomic group
      {".(?=\\S*)z", &x},                           // lookahead
      {"(?i)(?=(\\w+))\\1\\d", &a},                // lookahead and backreference
      {"(x+)\\1y", &x},                             // backreference
  };
  for (const auto& [pattern, text] : cases) {
    RegexCaptures cap;
    std::size_t reads = 0;
    EXPECT_EQ(run(pattern, *text, cap, &reads), RegexOutcome::undecided) << pattern;
    EXPECT_EQ(reads, regex_read_limit(text->size())) << pattern;
  }
}

// Recursion is found in the compiled regex, whatever its spelling, and nothing else is taken for
// it (the same text inside a set or escaped, conditionals, lookarounds, backreferences).
TEST(UserRegexSearch, RecursionIsFound) {
  for (const char* p : {"a|b(?R)", "a(?R)?b", "(\\((?:[^()]|(?1))*\\))", "(a)(?-1)", "(a)(?+1)(b)",
                        "(?<n>a)(?&n)", "x|y(?0)"}) {
    EXPECT_TRUE(regex_uses_recursion(boost::regex(p, boost::regex::perl))) << p;
  }
  for (const char* p : {"[(?R)]", "\\(\\?R\\)", "(a)(?(1)b|c)", "(?=a)(?<=b)(?!c)(?<!d)", "(a)\\1",
                        "(?>a+)b*+", "(?<user>\\S+) to root", "(?i)x{2,5}?"}) {
    EXPECT_FALSE(regex_uses_recursion(boost::regex(p, boost::regex::perl))) << p;
  }
}

TEST(UserRegexSearch, LimitsAreLinear) {
  EXPECT_EQ(regex_state_limit(0), kRegexBaseStates);
  EXPECT_EQ(regex_state_limit(65536), kRegexBaseStates + 65536 * kRegexStatesPerByte);
  EXPECT_EQ(regex_read_limit(0), kRegexBaseReads);
  EXPECT_EQ(regex_read_limit(65536), kRegexBaseReads + 65536 * kRegexReadsPerByte);
}

}  // namespace
}  // namespace hopguard::scanner
