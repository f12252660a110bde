// The unit that flows from the inputs to the scan stage: the complete frames one input read
// from one sender in one go, back to back in one buffer (one allocation per read, not per
// message), plus where a tailed file may be checkpointed once these frames are scanned.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hopguard::agent {

// A position in a tailed file that is safe to persist once every frame before it has been
// scanned and its alarms are durable. Identifies the file by device, inode, a fingerprint of
// its first bytes and a fingerprint of the bytes just before the offset, so a rotated or
// truncated file is never mistaken for the saved one - even one truncated and rewritten past
// the offset with the same first bytes (log lines of the same second look alike at the head).
struct TailMark {
  std::uint32_t tail_index = 0;  // index into [agent] tail
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::uint64_t offset = 0;           // byte after the last complete line consumed
  std::uint64_t fingerprint_len = 0;  // how many leading bytes the fingerprint covers
  std::uint64_t fingerprint = 0;      // FNV-1a 64 of those bytes
  std::uint64_t edge_len = 0;         // how many bytes before `offset` the edge covers
  std::uint64_t edge = 0;             // FNV-1a 64 of [offset - edge_len, offset)
};

enum class InputKind { tcp, udp, file, stdin_stream };

struct Chunk {
  std::uint32_t sender = 0;  // fairness key: one per peer address or tailed file
  InputKind kind = InputKind::tcp;
  std::string origin;        // peer address or file path (evidence and messages)
  std::string data;          // frames back to back
  std::vector<std::uint32_t> ends;  // end offset of each frame in data
  std::optional<TailMark> mark;
  std::int64_t received_ms = 0;     // wall clock when read (latency measurement)

  std::size_t frames() const noexcept { return ends.size(); }
  std::string_view frame(std::size_t i) const noexcept {
    const std::uint32_t begin = i == 0 ? 0 : ends[i - 1];
    return std::string_view(data).substr(begin, ends[i] - begin);
  }
  void add_frame(std::string_view f) {
    data.append(f);
    ends.push_back(static_cast<std::uint32_t>(data.size()));
  }
};

}  // namespace hopguard::agent
