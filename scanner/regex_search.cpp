// Two limits bound a user regex search, both linear in the text's length (regex_search.hpp):
//
// - States. Boost.Regex 1.74 sets a search's state limit in
//   perl_matcher::estimate_max_state_count from the macro BOOST_REGEX_MAX_STATE_COUNT, and
//   libboost_regex holds the matcher for const char* (string_view's iterator) already compiled
//   with the default: redefining the macro here would not reach that code (and would break the
//   one-definition rule). So the search runs over an iterator type of this file's own, for which
//   this file specialises that one member function; the rest of the matcher is Boost's,
//   instantiated here for that type.
// - Reads. A state is not a unit of work: a possessive repeat or an atomic group ("\S++",
//   "(?>...)"), a lookahead and a backreference each read up to the whole text in one state and
//   drop what they read, so a search can stay under any state limit and still take time
//   quadratic in the text (seconds for 64 KiB). Every read of a byte goes through the iterator,
//   which counts it against a budget and throws when the budget is spent; Boost's matcher
//   unwinds and rethrows foreign exceptions as its own (perl_matcher's catch (...) blocks).
#include "regex_search.hpp"

#include <cstddef>
#include <exception>
#include <iterator>

namespace hopguard::scanner {
// Not an anonymous namespace: its unused friend operators (a whole random-access iterator) would
// be unused functions with internal linkage, an error under clang's -Werror. Only this file
// names the type, so the matcher specialised for it below exists only here.
namespace regex_search_detail {

// Thrown by TextIter when the search's read budget is spent.
class ReadBudgetSpent : public std::exception {
 public:
  const char* what() const noexcept override { return "regex read budget spent"; }
};

// A random-access iterator over const char that counts the bytes read through it (operator*,
// operator[]) against a budget shared by every copy made during one search. Moving it reads
// nothing. A default-constructed one (an unmatched sub-expression's) is never read.
class TextIter {
 public:
  using iterator_category = std::random_access_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  TextIter() = default;
  TextIter(const char* p, std::size_t* budget) noexcept : p_(p), budget_(budget) {}
  const char* get() const noexcept { return p_; }

  reference operator*() const {
    spend();
    return *p_;
  }
  reference operator[](difference_type n) const {
    spend();
    return p_[n];
  }
  TextIter& operator++() noexcept { ++p_; return *this; }
  TextIter operator++(int) noexcept { TextIter t = *this; ++p_; return t; }
  TextIter& operator--() noexcept { --p_; return *this; }
  TextIter operator--(int) noexcept { TextIter t = *this; --p_; return t; }
  TextIter& operator+=(difference_type n) noexcept { p_ += n; return *this; }
  TextIter& operator-=(difference_type n) noexcept { p_ -= n; return *this; }
  friend TextIter operator+(TextIter i, difference_type n) noexcept { return i += n; }
  friend TextIter operator+(difference_type n, TextIter i) noexcept { return i += n; }
  friend TextIter operator-(TextIter i, difference_type n) noexcept { return i -= n; }
  friend difference_type operator-(TextIter a, TextIter b) noexcept { return a.p_ - b.p_; }
  friend bool operator==(TextIter a, TextIter b) noexcept { return a.p_ == b.p_; }
  friend bool operator!=(TextIter a, TextIter b) noexcept { return a.p_ != b.p_; }
  friend bool operator<(TextIter a, TextIter b) noexcept { return a.p_ < b.p_; }
  friend bool operator>(TextIter a, TextIter b) noexcept { return a.p_ > b.p_; }
  friend bool operator<=(TextIter a, TextIter b) noexcept { return a.p_ <= b.p_; }
  friend bool operator>=(TextIter a, TextIter b) noexcept { return a.p_ >= b.p_; }

 private:
  void spend() const {
    if (*budget_ == 0) throw ReadBudgetSpent();
    --*budget_;
  }

  const char* p_ = nullptr;
  std::size_t* budget_ = nullptr;
};

using Results = boost::match_results<TextIter>;

}  // namespace regex_search_detail
}  // namespace hopguard::scanner

namespace boost::BOOST_REGEX_DETAIL_NS {

// The one departure from Boost's matcher: the limit is linear in the text's length
// (regex_state_limit), whatever the pattern's size. Declared before any use of the matcher for
// TextIter below, as an explicit specialisation must be.
template <>
void perl_matcher<hopguard::scanner::regex_search_detail::TextIter,
                  hopguard::scanner::regex_search_detail::Results::allocator_type,
                  boost::regex::traits_type>::estimate_max_state_count(std::random_access_iterator_tag*) {
  const auto n = static_cast<std::size_t>(last - base);
  max_state_count = static_cast<std::ptrdiff_t>(hopguard::scanner::regex_state_limit(n));
}

}  // namespace boost::BOOST_REGEX_DETAIL_NS

namespace hopguard::scanner {

using regex_search_detail::Results;
using regex_search_detail::TextIter;

bool regex_uses_recursion(const boost::regex& re) noexcept {
  // Boost's compiled machine is one buffer of states, each linked to the one after it by next
  // (alternatives and repeats jump with alt, on top of that chain): walking next visits them all.
  if (re.empty()) return false;
  for (const auto* s = re.get_first_state(); s != nullptr; s = s->next.p) {
    if (s->type == boost::BOOST_REGEX_DETAIL_NS::syntax_element_recurse) return true;
  }
  return false;
}

RegexOutcome search_user_regex(const boost::regex& re, boost::match_flag_type flags, std::string_view text,
                               const RegexCaptureIndexes& which, RegexCaptures& out,
                               std::size_t* reads) noexcept {
  out = {};
  Results m;
  const std::size_t limit = regex_read_limit(text.size());
  std::size_t budget = limit;
  const TextIter first(text.data(), &budget), last(text.data() + text.size(), &budget);
  bool found = false;
  try {
    found = boost::regex_search(first, last, m, re, flags);
  } catch (const std::exception&) {
    // ReadBudgetSpent, error_complexity (the state limit), error_stack or bad_alloc: no answer
    // for this text.
    if (reads != nullptr) *reads = limit - budget;
    return RegexOutcome::undecided;
  }
  if (reads != nullptr) *reads = limit - budget;
  if (!found) return RegexOutcome::no_match;
  const auto cap = [&](int i) -> std::string_view {
    if (i < 0 || static_cast<std::size_t>(i) >= m.size() || !m[i].matched) return {};
    return std::string_view(m[i].first.get(), static_cast<std::size_t>(m[i].second - m[i].first));
  };
  out.principal = cap(which.principal);
  out.user = cap(which.user);
  out.address = cap(which.address);
  out.target = cap(which.target);
  return RegexOutcome::match;
}

}  // namespace hopguard::scanner
