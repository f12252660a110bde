// FileTail on real files in a temporary directory: partial lines, rotation by rename and by
// copytruncate, restart positions (including a file renamed while the daemon was down).
#include "file_tail.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace hopguard::agent {
namespace {

namespace fs = std::filesystem;

class FileTailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hg-tail-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/krb5kdc.log";
  }
  void TearDown() override { fs::remove_all(dir_); }

  void append(const std::string& text, const std::string& file = {}) {
    std::ofstream(file.empty() ? path_ : file, std::ios::app) << text;
  }
  static std::vector<std::string> lines(const Chunk& c) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < c.frames(); ++i) out.emplace_back(c.frame(i));
    return out;
  }
  std::vector<std::string> poll(FileTail& t, std::optional<TailMark>* mark = nullptr) {
    Chunk c;
    t.poll(c, 1 << 20);
    if (mark) *mark = c.mark;
    return lines(c);
  }

  // What a hopguardd that read the whole file and then stopped would have saved.
  std::optional<TailMark> mark_after_reading_all() {
    FileTail t(0, path_, 1, 1024);
    t.restore(std::nullopt);
    std::optional<TailMark> m;
    poll(t, &m);
    return m;
  }

  std::string dir_, path_;
};

using Lines = std::vector<std::string>;

TEST_F(FileTailTest, APartialLastLineWaitsForItsNewline) {
  append("one\ntw");
  FileTail t(0, path_, 1, 1024);
  t.restore(std::nullopt);
  EXPECT_EQ(poll(t), Lines{"one"});
  EXPECT_EQ(poll(t), Lines{});
  append("o\nthree");
  EXPECT_EQ(poll(t), Lines{"two"});
  append("\n");
  EXPECT_EQ(poll(t), Lines{"three"});
}

TEST_F(FileTailTest, TheMarkNeverCoversAPartialLine) {
  append("one\ntw");
  FileTail t(0, path_, 1, 1024);
  t.restore(std::nullopt);
  std::optional<TailMark> m;
  poll(t, &m);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->offset, 4u);
}

TEST_F(FileTailTest, RenameRotationDrainsTheOldFileThenFollowsTheNewOne) {
  append("a1\n");
  FileTail t(0, path_, 1, 1024, std::chrono::milliseconds(0));
  t.restore(std::nullopt);
  EXPECT_EQ(poll(t), Lines{"a1"});
  fs::rename(path_, path_ + ".1");
  append("a2\n", path_ + ".1");  // the writer has not reopened yet
  append("b1\n");                // the new file
  EXPECT_EQ(poll(t), Lines{"a2"});
  EXPECT_EQ(poll(t), Lines{"b1"});
}

TEST_F(FileTailTest, TheRenamedFileIsReadUntilIdleForTheGrace) {
  append("a1\n");
  FileTail t(0, path_, 1, 1024, std::chrono::milliseconds(300));
  t.restore(std::nullopt);
  EXPECT_EQ(poll(t), Lines{"a1"});
  fs::rename(path_, path_ + ".1");
  append("b1\n");
  EXPECT_EQ(poll(t), Lines{});                // renamed, but maybe not finished
  append("a2\n", path_ + ".1");              // the writer had not reopened yet
  EXPECT_EQ(poll(t), Lines{"a2"});
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(poll(t), Lines{});                // idle for the grace: switches now
  EXPECT_EQ(poll(t), Lines{"b1"});
}

TEST_F(FileTailTest, ARotationMissedWhileCatchingUpIsReadBeforeTheCurrentFile) {
  append("a1\n");
  const std::optional<TailMark> m = mark_after_reading_all();
  // While stopped: rotated twice.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  append("a2\n");
  fs::rename(path_, path_ + ".2");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  append("b1\n");
  fs::rename(path_, path_ + ".1");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  append("c1\n");
  std::ofstream(path_ + ".3.gz") << "compressed, never read\n";
  FileTail t2(0, path_, 1, 1024, std::chrono::milliseconds(0));
  t2.restore(m);
  EXPECT_EQ(poll(t2), Lines{"a2"});
  EXPECT_EQ(poll(t2), Lines{"b1"});
  EXPECT_EQ(poll(t2), Lines{"c1"});
  EXPECT_EQ(poll(t2), Lines{});
}

TEST_F(FileTailTest, CopytruncateStartsOverAtTheBeginning) {
  append("a1\na2\n");
  FileTail t(0, path_, 1, 1024);
  t.restore(std::nullopt);
  EXPECT_EQ(poll(t), (Lines{"a1", "a2"}));
  fs::copy_file(path_, path_ + ".1");
  fs::resize_file(path_, 0);
  append("b1\n");
  EXPECT_EQ(poll(t), Lines{"b1"});
}

TEST_F(FileTailTest, ReplacedContentOfTheSameLengthIsNoticedByTheFingerprint) {
  append("aaaa\n");
  FileTail t(0, path_, 1, 1024);
  t.restore(std::nullopt);
  EXPECT_EQ(poll(t), Lines{"aaaa"});
  // Truncated and rewritten between two polls to a longer size: only the head tells.
  fs::resize_file(path_, 0);
  append("bbbb\ncccc\n");
  EXPECT_EQ(poll(t), (Lines{"bbbb", "cccc"}));
}

TEST_F(FileTailTest, TruncatedAndRewrittenPastThePositionWithTheSameHeadStartsOver) {
  // Same head (log lines of one second look alike), longer than before by the next poll:
  // neither the size nor the head fingerprint tells; the bytes before the position do.
  const std::string head(kFingerprintBytes + 20, 'h');
  append(head + "\nuser1\n");
  FileTail t(0, path_, 1, 1024);
  t.restore(std::nullopt);
  EXPECT_EQ(poll(t), (Lines{head, "user1"}));
  fs::resize_file(path_, 0);
  append(head + "\nuser22\nuser33\n");
  EXPECT_EQ(poll(t), (Lines{head, "user22", "user33"}));
}

TEST_F(FileTailTest, RestoreOfAFileTruncatedAndRewrittenPastTheMarkStartsOver) {
  const std::string head(kFingerprintBytes + 20, 'h');
  append(head + "\nuser1\n");
  const std::optional<TailMark> m = mark_after_reading_all();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->fingerprint_len, kFingerprintBytes);
  EXPECT_EQ(m->edge_len, kFingerprintBytes);
  fs::resize_file(path_, 0);
  append(head + "\nuser22\nuser33\n");
  FileTail t2(0, path_, 1, 1024);
  t2.restore(FileTail::decode_mark(FileTail::encode_mark(*m)));
  EXPECT_EQ(poll(t2), (Lines{head, "user22", "user33"}));
}

TEST_F(FileTailTest, RestoreResumesAtTheSavedOffset) {
  append("a1\na2\n");
  const std::optional<TailMark> m = mark_after_reading_all();
  append("a3\n");
  FileTail t2(0, path_, 1, 1024);
  t2.restore(FileTail::decode_mark(FileTail::encode_mark(*m)));
  EXPECT_EQ(poll(t2), Lines{"a3"});
}

TEST_F(FileTailTest, RestoreFindsTheSavedFileRenamedWhileStopped) {
  append("a1\n");
  const std::optional<TailMark> m = mark_after_reading_all();
  append("a2\n");
  fs::rename(path_, path_ + ".1");
  append("b1\n");
  FileTail t2(0, path_, 1, 1024, std::chrono::milliseconds(0));
  t2.restore(m);
  EXPECT_EQ(poll(t2), Lines{"a2"});
  EXPECT_EQ(poll(t2), Lines{"b1"});
}

TEST_F(FileTailTest, RestoreOfAFileThatShrankStartsOver) {
  append("a1\na2\na3\n");
  const std::optional<TailMark> m = mark_after_reading_all();
  fs::resize_file(path_, 0);
  append("b1\n");
  FileTail t2(0, path_, 1, 1024);
  t2.restore(m);
  EXPECT_EQ(poll(t2), Lines{"b1"});
}

TEST_F(FileTailTest, AnOverLongLineIsCutAndTheRestSkipped) {
  append(std::string(50, 'x') + "\nshort\n");
  FileTail t(0, path_, 1, 16);
  t.restore(std::nullopt);
  EXPECT_EQ(poll(t), (Lines{std::string(16, 'x'), "short"}));
}

TEST_F(FileTailTest, AMissingFileIsWaitedFor) {
  FileTail t(0, path_, 1, 1024);
  t.restore(std::nullopt);
  EXPECT_EQ(poll(t), Lines{});
  append("late\n");
  EXPECT_EQ(poll(t), Lines{"late"});
}

TEST(TailMark, DecodeRejectsGarbage) {
  EXPECT_FALSE(FileTail::decode_mark(""));
  EXPECT_FALSE(FileTail::decode_mark("v2 1 2 3 4 5\n"));
  EXPECT_FALSE(FileTail::decode_mark("v2 1 2 3 4 5 6 7 8\n"));
  EXPECT_FALSE(FileTail::decode_mark("v2 1 2 3 4 5 4 7\n"));    // edge longer than the offset
  EXPECT_FALSE(FileTail::decode_mark("v2 1 2 999 4 5 300 7\n"));  // edge longer than allowed
  EXPECT_FALSE(FileTail::decode_mark("v3 1 2 3 4 5 6 7\n"));
  // A mark saved by an older hopguardd (no edge) is still honoured.
  auto v1 = FileTail::decode_mark("v1 1 2 3 4 5\n");
  ASSERT_TRUE(v1);
  EXPECT_EQ(v1->offset, 3u);
  EXPECT_EQ(v1->edge_len, 0u);
  EXPECT_FALSE(FileTail::decode_mark("v1 1 2 3 4\n"));
  EXPECT_FALSE(FileTail::decode_mark("v1 1 2 3 999 5\n"));  // fingerprint longer than allowed
  EXPECT_FALSE(FileTail::decode_mark("v1 1 2 3 4 5 6\n"));
  TailMark m;
  m.device = 7;
  m.inode = 8;
  m.offset = 9;
  m.fingerprint_len = 10;
  m.fingerprint = 0xffffffffffffffffULL;
  m.edge_len = 9;
  m.edge = 0xfffffffffffffffeULL;
  auto back = FileTail::decode_mark(FileTail::encode_mark(m));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->fingerprint, m.fingerprint);
  EXPECT_EQ(back->offset, 9u);
  EXPECT_EQ(back->edge_len, 9u);
  EXPECT_EQ(back->edge, m.edge);
}

}  // namespace
}  // namespace hopguard::agent
