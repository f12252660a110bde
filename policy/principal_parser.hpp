// Internal to policy/: libkrb5 principal parsing behind a small, thread-safe interface.
#pragma once

#include <hopguard/error.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

struct _krb5_context;

namespace hopguard {

struct ParsedPrincipal {
  std::string name;  // krb5_unparse_name
  std::string realm;
  std::vector<std::string> components;
};

// Owns one krb5_context created with krb5_init_secure_context (ignores KRB5_CONFIG and other
// environment variables, as a library loaded into sshd or the KDC must). The context is only
// used for parsing; calls are serialized because MIT contexts are not thread-safe.
class PrincipalParser {
 public:
  static Expected<std::unique_ptr<PrincipalParser>> create();
  ~PrincipalParser();
  PrincipalParser(const PrincipalParser&) = delete;
  PrincipalParser& operator=(const PrincipalParser&) = delete;

  // Parses text (must carry an explicit realm). On failure returns false and sets *why.
  bool parse(std::string_view text, ParsedPrincipal* out, std::string* why) const;

 private:
  explicit PrincipalParser(_krb5_context* ctx) : ctx_(ctx) {}
  _krb5_context* ctx_;
  mutable std::mutex mu_;
};

// The parse of a name made only of [A-Za-z0-9._-] components separated by '/', one '@' and a
// realm of the same bytes (what libkrb5 would return for it, without libkrb5); false for any
// other text (out untouched). Defined in principal_classifier.cpp.
bool parse_plain_principal(std::string_view text, ParsedPrincipal& out);
// The check of parse_plain_principal alone: name (the components with their '/') and realm of
// such a text, as views into it; false for every other text.
bool plain_shape(std::string_view text, std::string_view& name, std::string_view& realm) noexcept;
// The index of the first '@', '\\' or '/' of text; text.size() when it holds none (what
// Policy::may_be_special looks for first). Defined in principal_classifier.cpp.
std::size_t first_at_or_escape(std::string_view text) noexcept;

}  // namespace hopguard
