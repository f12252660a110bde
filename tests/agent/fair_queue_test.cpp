// FairQueue: bounded, round-robin between senders, refusal as the backpressure signal.
#include "fair_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>

namespace hopguard::agent {
namespace {

Chunk chunk_of(std::uint32_t sender, int frames, const std::string& tag = "x") {
  Chunk c;
  c.sender = sender;
  for (int i = 0; i < frames; ++i) c.add_frame(tag + std::to_string(i));
  return c;
}

TEST(FairQueue, ServesSendersRoundRobinNotInArrivalOrder) {
  FairQueue q(1000, 1000);
  for (int i = 0; i < 5; ++i) {
    Chunk c = chunk_of(1, 1, "flood");
    ASSERT_TRUE(q.try_push(c));
  }
  Chunk quiet = chunk_of(2, 1, "misuse");
  ASSERT_TRUE(q.try_push(quiet));
  // The quiet sender's chunk is second, not sixth.
  EXPECT_EQ(q.pop(std::chrono::milliseconds(0))->sender, 1u);
  EXPECT_EQ(q.pop(std::chrono::milliseconds(0))->sender, 2u);
  EXPECT_EQ(q.pop(std::chrono::milliseconds(0))->sender, 1u);
}

TEST(FairQueue, RefusesASenderOverItsShareButNotOthers) {
  FairQueue q(100, 10);
  Chunk a = chunk_of(1, 10);
  ASSERT_TRUE(q.try_push(a));
  Chunk more = chunk_of(1, 1);
  EXPECT_FALSE(q.try_push(more));
  EXPECT_EQ(more.frames(), 1u);  // untouched on refusal: the caller keeps it
  Chunk other = chunk_of(2, 5);
  EXPECT_TRUE(q.try_push(other));
  EXPECT_EQ(q.depth(), 15u);
}

TEST(FairQueue, AnIdleSenderMayAlwaysQueueOneChunkWhileThereIsRoom) {
  FairQueue q(100, 10);
  Chunk big = chunk_of(1, 50);  // larger than the share, but the sender has nothing queued
  EXPECT_TRUE(q.try_push(big));
  Chunk big2 = chunk_of(1, 1);
  EXPECT_FALSE(q.try_push(big2));
}

TEST(FairQueue, TotalCapacityIsAHardBound) {
  FairQueue q(20, 20);
  Chunk a = chunk_of(1, 20);
  ASSERT_TRUE(q.try_push(a));
  Chunk b = chunk_of(2, 1);
  EXPECT_FALSE(q.try_push(b));  // even an idle sender waits when the queue is full
}

TEST(FairQueue, SpaceCallbackFiresWhenARefusedSenderIsBackToHalfItsShare) {
  FairQueue q(30, 10);
  std::atomic<int> calls{0};
  q.set_space_callback([&] { ++calls; });
  for (std::uint32_t sender = 1; sender <= 3; ++sender) {
    for (int i = 0; i < 10; ++i) {
      Chunk c = chunk_of(sender, 1);
      ASSERT_TRUE(q.try_push(c));
    }
  }
  Chunk refused = chunk_of(1, 1);
  ASSERT_FALSE(q.try_push(refused));
  // Round robin: after 12 pops sender 1 has 6 of its 10 left and the queue 18 of 30.
  for (int i = 0; i < 12; ++i) q.pop(std::chrono::milliseconds(0));
  EXPECT_EQ(calls.load(), 0);
  q.pop(std::chrono::milliseconds(0));  // sender 1 at 5: half its share
  EXPECT_EQ(calls.load(), 1);
  q.pop(std::chrono::milliseconds(0));
  EXPECT_EQ(calls.load(), 1);  // once per refusal, not per pop
}

TEST(FairQueue, SpaceCallbackFiresWhenTheWholeQueueIsHalfEmpty) {
  FairQueue q(20, 20);
  std::atomic<int> calls{0};
  q.set_space_callback([&] { ++calls; });
  Chunk a = chunk_of(1, 20);
  ASSERT_TRUE(q.try_push(a));
  Chunk refused = chunk_of(2, 1);  // refused on total capacity, with nothing of its own queued
  ASSERT_FALSE(q.try_push(refused));
  q.pop(std::chrono::milliseconds(0));
  EXPECT_EQ(calls.load(), 1);
}

TEST(FairQueue, CloseDrainsThenEnds) {
  FairQueue q(100, 100);
  Chunk a = chunk_of(1, 3);
  ASSERT_TRUE(q.try_push(a));
  q.close();
  Chunk late = chunk_of(1, 1);
  EXPECT_FALSE(q.push_wait(late));
  EXPECT_TRUE(q.pop(std::chrono::milliseconds(0)).has_value());
  EXPECT_FALSE(q.pop(std::chrono::milliseconds(10)).has_value());
  EXPECT_TRUE(q.closed());
}

}  // namespace
}  // namespace hopguard::agent
