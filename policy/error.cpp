#include <hopguard/error.hpp>

namespace hopguard {

const char* to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::io: return "io";
    case ErrorCode::syntax: return "syntax";
    case ErrorCode::unknown_key: return "unknown-key";
    case ErrorCode::wrong_type: return "wrong-type";
    case ErrorCode::missing_key: return "missing-key";
    case ErrorCode::duplicate: return "duplicate";
    case ErrorCode::bad_value: return "bad-value";
    case ErrorCode::bad_address: return "bad-address";
    case ErrorCode::conflict: return "conflict";
    case ErrorCode::unknown_host: return "unknown-host";
    case ErrorCode::internal: return "internal";
  }
  return "internal";
}

std::string Error::to_string() const {
  std::string out;
  if (!where.file.empty()) {
    out += where.file;
    if (where.line != 0) {
      out += ':' + std::to_string(where.line);
      if (where.column != 0) out += ':' + std::to_string(where.column);
    }
    out += ": ";
  }
  if (!key.empty()) out += key + ": ";
  out += message;
  return out;
}

std::string to_string(const Errors& errors) {
  std::string out;
  for (const auto& e : errors) {
    out += e.to_string();
    out += '\n';
  }
  return out;
}

}  // namespace hopguard
