// Reading a small text file that an administrator names (the site config, rule files): a
// regular file of at most max_bytes, never a device, FIFO or directory. A FIFO would block the
// open, /dev/zero would be read without end; both are refused up front (DESIGN section 9: bad
// input gets an error naming the file, never a hang).
#pragma once

#include <hopguard/error.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace hopguard {

// what names the file's kind in messages ("config", "rule file").
Expected<std::string> read_text_file(const std::string& path, std::size_t max_bytes, std::string_view what);

}  // namespace hopguard
