// Durable files in state_dir. A state file is replaced atomically (write a temporary file,
// fsync it, rename over the old one, fsync the directory), so after a crash it holds either
// the old or the new content, never a mix.
#pragma once

#include <hopguard/error.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hopguard::agent {

// Creates dir (mode 0750) if absent and checks that it is a writable directory.
std::optional<Error> prepare_state_dir(const std::string& dir);

// Atomically replaces dir/name with content. Returns an error naming the file on failure.
std::optional<Error> write_state_file(const std::string& dir, std::string_view name,
                                      std::string_view content);

// The content of dir/name; nullopt if it does not exist. Errors other than absence are
// reported through `error`.
std::optional<std::string> read_state_file(const std::string& dir, std::string_view name,
                                           std::optional<Error>& error);

// FNV-1a 64: fingerprints of file heads and stable names for per-path state files.
// Not a security boundary: a fingerprint only tells "same file or not" together with the inode.
std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t seed = 1469598103934665603ULL) noexcept;

std::string hex64(std::uint64_t value);

}  // namespace hopguard::agent
