// Errors are values: a code, a location (file, line, column) and, for config errors, the key.
// No exception crosses a component boundary; functions that can fail return Expected<T>.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace hopguard {

enum class ErrorCode {
  io,             // a file could not be read
  syntax,         // the text is not valid TOML (or not valid in its own format)
  unknown_key,    // a key or table the schema does not know
  wrong_type,     // a value of the wrong TOML type
  missing_key,    // a required key is absent
  duplicate,      // a name used twice (host, fqdn, rule id)
  bad_value,      // a value of the right type that is not acceptable (empty, out of range)
  bad_address,    // not an IPv4/IPv6 address or CIDR
  conflict,       // two settings that cannot both hold (bastion address inside a legacy's)
  unknown_host,   // a host name the site does not configure
  internal,       // a library failed (for example libkrb5 could not create a context)
};

const char* to_string(ErrorCode code) noexcept;

struct Location {
  std::string file;
  std::uint32_t line = 0;    // 1-based; 0 when unknown
  std::uint32_t column = 0;  // 1-based; 0 when unknown
};

struct Error {
  ErrorCode code = ErrorCode::internal;
  Location where;
  std::string key;      // dotted key path ("bastion.b1.addresses[0]"); may be empty
  std::string message;  // one sentence, no trailing period

  // "FILE:LINE:COL: KEY: MESSAGE" with the parts that are known.
  std::string to_string() const;
};

// All errors of one operation (a config with three mistakes reports all three).
using Errors = std::vector<Error>;

std::string to_string(const Errors& errors);  // one error per line

// A value or the errors that prevented it.
template <class T>
class Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}                 // NOLINT: implicit by design
  Expected(Errors errors) : v_(std::move(errors)) {}          // NOLINT
  Expected(Error error) : v_(Errors{std::move(error)}) {}     // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Errors& errors() const { return std::get<1>(v_); }

 private:
  std::variant<T, Errors> v_;
};

}  // namespace hopguard
