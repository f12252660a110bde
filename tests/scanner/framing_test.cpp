// Framing: LF and octet-counted streams, fed in every possible chunking, checked against a
// simple reference; hostile lengths and sizes.
#include <scanner/framing.hpp>

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace hopguard::scanner {
namespace {

struct Out {
  std::vector<std::string> frames;
  std::vector<int> issues;  // -1 clean, else FrameIssue
};

// each: through feed_each (the caller's own callable) instead of feed (a std::function).
Out run(std::string_view input, FramerOptions opt, std::size_t chunk, bool each = false) {
  Out out;
  Framer f(opt);
  const auto cb = [&](const Frame& fr) {
    out.frames.emplace_back(fr.text);
    out.issues.push_back(fr.issue_set ? static_cast<int>(fr.issue) : -1);
  };
  for (std::size_t i = 0; i < input.size(); i += chunk) {
    if (each) {
      f.feed_each(input.substr(i, chunk), cb);
    } else {
      f.feed(input.substr(i, chunk), cb);
    }
  }
  f.finish(cb);
  EXPECT_LE(f.pending_bytes(), opt.max_frame_bytes);
  EXPECT_EQ(f.stats().frames, out.frames.size());
  return out;
}

// Reference LF framing: split on LF, drop CR before LF, skip empty lines, cut at max.
Out reference_lf(std::string_view input, std::size_t max) {
  Out out;
  std::size_t start = 0;
  while (start < input.size()) {
    std::size_t nl = input.find('\n', start);
    const bool complete = nl != std::string_view::npos;
    if (!complete) nl = input.size();
    std::string line(input.substr(start, nl - start));
    start = nl + 1;
    if (line.size() > max) {
      out.frames.push_back(line.substr(0, max));
      out.issues.push_back(static_cast<int>(FrameIssue::oversized));
      continue;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    out.frames.push_back(line);
    out.issues.push_back(-1);
  }
  return out;
}

TEST(Framing, LfLinesWithCrAndEmptyLines) {
  const Out o = run("a\r\nb\n\nc", {}, 1000);
  EXPECT_EQ(o.frames, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(Framing, LfMatchesReferenceUnderEveryChunking) {
  std::mt19937 rng(42);
  const std::string alphabet = "ab\r\n \x00\xff";
  for (int round = 0; round < 300; ++round) {
    std::string input;
    const std::size_t len = rng() % 200;
    for (std::size_t i = 0; i < len; ++i) input.push_back(alphabet[rng() % alphabet.size()]);
    if (!input.empty() && (input[0] >= '1' && input[0] <= '9')) input[0] = 'a';
    FramerOptions opt;
    opt.max_frame_bytes = static_cast<std::uint32_t>(1 + rng() % 40);
    opt.framing = Framing::lf;
    const Out ref = reference_lf(input, opt.max_frame_bytes);
    for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{7}, std::size_t{1000}}) {
      for (const bool each : {false, true}) {
        const Out got = run(input, opt, chunk, each);
        ASSERT_EQ(got.frames, ref.frames) << "round " << round << " chunk " << chunk << " each " << each;
        ASSERT_EQ(got.issues, ref.issues) << "round " << round << " chunk " << chunk << " each " << each;
      }
    }
  }
}

// feed_each gives feed's frames on octet-counted streams too (well-formed, bad counts, cut).
TEST(Framing, FeedEachAsFeedOnOctetCountedStreams) {
  std::mt19937 rng(43);
  for (int round = 0; round < 300; ++round) {
    std::string input;
    for (auto n = rng() % 6; n > 0; --n) {
      std::string msg;
      for (auto k = rng() % 30; k > 0; --k) msg.push_back("ab\n \r"[rng() % 5]);
      input += std::to_string(msg.size() + rng() % 2) + " " + msg;
      if (rng() % 5 == 0) input += "\n";
      if (rng() % 9 == 0) input += "x";  // a bad count
    }
    if (input.empty() || input[0] < '1' || input[0] > '9') input.insert(0, "1 a");
    FramerOptions opt;
    opt.max_frame_bytes = static_cast<std::uint32_t>(1 + rng() % 40);
    for (std::size_t chunk : {std::size_t{1}, std::size_t{5}, std::size_t{1000}}) {
      const Out a = run(input, opt, chunk);
      const Out b = run(input, opt, chunk, true);
      ASSERT_EQ(a.frames, b.frames) << "round " << round << " chunk " << chunk;
      ASSERT_EQ(a.issues, b.issues) << "round " << round << " chunk " << chunk;
    }
  }
}

TEST(Framing, OctetCountedDetectedAndNewlinesStayInside) {
  // A newline inside an octet-counted frame is content, never a second record.
  const std::string msg1 = "<13>Nov 22 13:45:58 h sshd[1]: x\nNov 22 13:45:58 h sshd[1]: Accepted";
  const std::string in = std::to_string(msg1.size()) + " " + msg1 + "3 abc";
  for (std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{5}, std::size_t{4096}}) {
    FramerOptions opt;
    Framer f(opt);
    std::vector<std::string> frames;
    const auto cb = [&](const Frame& fr) { frames.emplace_back(fr.text); };
    for (std::size_t i = 0; i < in.size(); i += chunk) f.feed(std::string_view(in).substr(i, chunk), cb);
    f.finish(cb);
    EXPECT_EQ(f.framing(), Framing::octet_counted);
    ASSERT_EQ(frames, (std::vector<std::string>{msg1, "abc"})) << chunk;
  }
}

TEST(Framing, OctetCountedOversizedIsCutAndRestDropped) {
  FramerOptions opt;
  opt.max_frame_bytes = 4;
  const Out o = run("10 0123456789" "2 ab", opt, 3);
  ASSERT_EQ(o.frames, (std::vector<std::string>{"0123", "ab"}));
  EXPECT_EQ(o.issues[0], static_cast<int>(FrameIssue::oversized));
  EXPECT_EQ(o.issues[1], -1);
}

TEST(Framing, OctetCountedHugeDeclaredLengthNeverBuffersMore) {
  FramerOptions opt;
  opt.max_frame_bytes = 16;
  Framer f(opt);
  std::vector<std::string> frames;
  const auto cb = [&](const Frame& fr) { frames.emplace_back(fr.text); };
  f.feed("999999999 ", cb);
  for (int i = 0; i < 1000; ++i) {
    f.feed(std::string(100, 'x'), cb);
    ASSERT_LE(f.pending_bytes(), 16u);
  }
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], std::string(16, 'x'));
}

TEST(Framing, BadCountFallsBackToLines) {
  const Out o = run("12x hello\nworld\n", {}, 2);
  EXPECT_EQ(o.frames, (std::vector<std::string>{"12x hello", "world"}));
  Framer f;
  f.feed("5 abcde-1 x\n", [](const Frame&) {});
  EXPECT_EQ(f.stats().bad_count, 1u);
  EXPECT_EQ(f.framing(), Framing::lf);
}

TEST(Framing, TenDigitCountIsBad) {
  Framer f;
  std::vector<std::string> frames;
  f.feed("1234567890 x\n", [&](const Frame& fr) { frames.emplace_back(fr.text); });
  f.finish([&](const Frame& fr) { frames.emplace_back(fr.text); });
  EXPECT_EQ(f.stats().bad_count, 1u);
  EXPECT_EQ(frames, (std::vector<std::string>{"1234567890 x"}));
}

TEST(Framing, TruncatedOctetFrameReported) {
  const Out o = run("10 abc", {}, 100);
  ASSERT_EQ(o.frames.size(), 1u);
  EXPECT_EQ(o.frames[0], "abc");
  EXPECT_EQ(o.issues[0], static_cast<int>(FrameIssue::truncated));
}

TEST(Framing, LfOversizedLineHeadEmittedRestDropped) {
  FramerOptions opt;
  opt.max_frame_bytes = 5;
  opt.framing = Framing::lf;
  const Out o = run("abcdefghij\nxy\n", opt, 2);
  EXPECT_EQ(o.frames, (std::vector<std::string>{"abcde", "xy"}));
  EXPECT_EQ(o.issues[0], static_cast<int>(FrameIssue::oversized));
}

}  // namespace
}  // namespace hopguard::scanner
