#include <hopguard/text_file.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hopguard {

Expected<std::string> read_text_file(const std::string& path, std::size_t max_bytes, std::string_view what) {
  const auto fail = [&](const std::string& why) {
    return Error{ErrorCode::io, {path, 0, 0}, "", "cannot read " + std::string(what) + ": " + why};
  };
  // O_NONBLOCK: opening a FIFO for reading does not wait for a writer (it is refused below).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return fail(std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail(S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(std::strerror(errno));
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > max_bytes) return fail("larger than " + std::to_string(max_bytes >> 10) + " KiB");
  }
  return text;
}

}  // namespace hopguard
