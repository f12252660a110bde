// User regex rules' match (private to scanner/): Boost.Regex with a work limit linear in the
// text's length, instead of Boost 1.74's own (up to max(N*S^2, min(N^2, 10^8)) states for a
// text of N bytes and a pattern of S: about a second of one core for a 64 KiB line).
#pragma once

#include <boost/regex.hpp>

#include <cstddef>
#include <string_view>

namespace hopguard::scanner {

// States the matcher may visit on a text of n bytes before it gives up: kRegexBaseStates plus
// kRegexStatesPerByte a byte, so 1.15 million states (about 3 ms here) for a 64 KiB line. A
// linear regex visits a few states a byte; one that backtracks over the whole text from every
// start (a nested or unanchored repeat) runs out on long, crafted lines: what the limit is for.
inline constexpr std::size_t kRegexBaseStates = 100'000;
inline constexpr std::size_t kRegexStatesPerByte = 16;
constexpr std::size_t regex_state_limit(std::size_t n) noexcept { return kRegexBaseStates + kRegexStatesPerByte * n; }

enum class RegexOutcome {
  no_match,
  match,
  undecided,  // the state limit (or Boost's own stack or memory limit) ran out before an answer
};

// Views into text of the named sub-expressions principal, user, address and target (indexes as
// Boost's; -1: none); empty when absent or unmatched.
struct RegexCaptureIndexes {
  int principal = -1, user = -1, address = -1, target = -1;
};
struct RegexCaptures {
  std::string_view principal, user, address, target;
};

// regex_search over text with the limit above. Never throws.
RegexOutcome search_user_regex(const boost::regex& re, boost::match_flag_type flags, std::string_view text,
                               const RegexCaptureIndexes& which, RegexCaptures& out) noexcept;

}  // namespace hopguard::scanner
