// User regex rules' match (private to scanner/): Boost.Regex with work limits linear in the
// text's length, instead of Boost 1.74's own (up to max(N*S^2, min(N^2, 10^8)) states for a
// text of N bytes and a pattern of S: seconds of one core for a crafted 64 KiB line).
#pragma once

#include <boost/regex.hpp>

#include <cstddef>
#include <string_view>

namespace hopguard::scanner {

// A search may visit regex_state_limit(n) states of the regex and read regex_read_limit(n) bytes
// of a text of n bytes (a byte read twice counts twice) before it gives up undecided. A regex
// that is linear in the text (anchored, or literal text around each repeat) needs a few states
// and reads a byte; one that backtracks over the whole text from every start (nested or
// unanchored repeats, possessive repeats, atomic groups, lookaheads and backreferences over
// long tokens) runs out on long, crafted lines: what the limits are for. Both at most about
// 10 ms of one core for a 64 KiB line here, for every kind of pattern measured (recursion, whose
// cost they do not bound, is refused: regex_uses_recursion).
inline constexpr std::size_t kRegexBaseStates = 100'000;
inline constexpr std::size_t kRegexStatesPerByte = 8;
inline constexpr std::size_t kRegexBaseReads = 200'000;
inline constexpr std::size_t kRegexReadsPerByte = 32;
constexpr std::size_t regex_state_limit(std::size_t n) noexcept { return kRegexBaseStates + kRegexStatesPerByte * n; }
constexpr std::size_t regex_read_limit(std::size_t n) noexcept { return kRegexBaseReads + kRegexReadsPerByte * n; }

enum class RegexOutcome {
  no_match,
  match,
  undecided,  // a limit above (or Boost's own stack or memory limit) ran out before an answer
};

// Views into text of the named sub-expressions principal, user, address and target (indexes as
// Boost's; -1: none); empty when absent or unmatched.
struct RegexCaptureIndexes {
  int principal = -1, user = -1, address = -1, target = -1;
};
struct RegexCaptures {
  std::string_view principal, user, address, target;
};

// Whether the compiled regex calls a group or itself ((?R), (?1), (?&name)). The
// limits above do not bound such a search: each recursion copies the match's groups and stacks,
// and a crafted line of 64 KiB kept "(\\((?:[^()]|(?1))*\\))" busy for 1.9 s before it ran out.
// The rule compiler refuses these regexes.
bool regex_uses_recursion(const boost::regex& re) noexcept;

// regex_search over text with the limits above. Never throws. reads (when not null) gets the
// bytes the search read.
RegexOutcome search_user_regex(const boost::regex& re, boost::match_flag_type flags, std::string_view text,
                               const RegexCaptureIndexes& which, RegexCaptures& out,
                               std::size_t* reads = nullptr) noexcept;

}  // namespace hopguard::scanner
