// libFuzzer: Framer on arbitrary streams. The first byte picks the framing and the chunk size;
// checks the contract: memory held stays within max(max_frame_bytes, 9) and frames never exceed
// max_frame_bytes.
#include <scanner/framing.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t ctl = data[0];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  hopguard::scanner::FramerOptions o;
  o.max_frame_bytes = 1 + (ctl & 0x3f) * 4;
  o.framing = (ctl & 0x40) ? hopguard::scanner::Framing::unknown : hopguard::scanner::Framing::lf;
  const std::size_t chunk = 1 + (ctl >> 7) * 7;
  hopguard::scanner::Framer f(o);
  const auto cb = [&](const hopguard::scanner::Frame& fr) {
    if (fr.text.size() > o.max_frame_bytes) std::abort();
  };
  for (std::size_t i = 0; i < in.size(); i += chunk) {
    f.feed(in.substr(i, chunk), cb);
    if (f.pending_bytes() > std::max<std::size_t>(o.max_frame_bytes, 9)) std::abort();
  }
  f.finish(cb);
  return 0;
}
