// Boost.Regex 1.74 sets a match's state limit in perl_matcher::estimate_max_state_count from
// the macro BOOST_REGEX_MAX_STATE_COUNT, and libboost_regex holds the matcher for const char*
// (string_view's iterator) already compiled with the default: redefining the macro here would
// not reach that code (and would break the one-definition rule). So the search runs over an
// iterator type of this file's own, for which this file specialises that one member function;
// the rest of the matcher is Boost's, instantiated here for that type.
#include "regex_search.hpp"

#include <cstddef>
#include <exception>
#include <iterator>

namespace hopguard::scanner {
// Not an anonymous namespace: its unused friend operators (a whole random-access iterator) would
// be unused functions with internal linkage, an error under clang's -Werror. Only this file
// names the type, so the matcher specialised for it below exists only here.
namespace regex_search_detail {

// A random-access iterator over const char, distinct from const char* only in type.
class TextIter {
 public:
  using iterator_category = std::random_access_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  TextIter() = default;
  explicit TextIter(const char* p) noexcept : p_(p) {}
  const char* get() const noexcept { return p_; }

  reference operator*() const noexcept { return *p_; }
  pointer operator->() const noexcept { return p_; }
  reference operator[](difference_type n) const noexcept { return p_[n]; }
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
  const char* p_ = nullptr;
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

RegexOutcome search_user_regex(const boost::regex& re, boost::match_flag_type flags, std::string_view text,
                               const RegexCaptureIndexes& which, RegexCaptures& out) noexcept {
  out = {};
  Results m;
  const TextIter first(text.data()), last(text.data() + text.size());
  try {
    if (!boost::regex_search(first, last, m, re, flags)) return RegexOutcome::no_match;
  } catch (const std::exception&) {
    // error_complexity (the limit above), error_stack or bad_alloc: no answer for this text.
    return RegexOutcome::undecided;
  }
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
