// AlarmDispatch's committer: alarms become durable in the alarm log off the caller's thread,
// wait_durable() (what the checkpoint writer waits on) says so only once they are written, a
// failing alarm log is retried, and a stop with the log still failing reports them not durable.
#include "alarm_dispatch.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace hopguard::agent {
namespace {

namespace fs = std::filesystem;

Alarm alarm(int i) {
  Alarm a;
  a.timestamp_ms = a.start_ms = a.end_ms = 1700000000000 + i;
  a.rule_id = "HG-TEST";
  a.rule_name = "test";
  a.principal = "user" + std::to_string(i) + "@HG.TEST";
  a.count = 1;
  return a;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string temp_dir() {
  char tmpl[] = "/tmp/hg-dispatch-XXXXXX";
  return ::mkdtemp(tmpl);
}

TEST(AlarmDispatch, AlarmsAreInTheLogWhenWaitDurableReturns) {
  const std::string dir = temp_dir();
  Metrics metrics;
  auto jsonl = std::make_unique<JsonlSink>(dir + "/alarms.jsonl");
  ASSERT_TRUE(jsonl->open().ok);
  AlarmDispatch dispatch(std::move(jsonl), {}, metrics);
  dispatch.start();
  EXPECT_TRUE(dispatch.wait_durable(0));
  for (int i = 0; i < 3; ++i) dispatch.add(alarm(i));
  EXPECT_EQ(dispatch.added(), 3u);
  ASSERT_TRUE(dispatch.wait_durable(3));
  EXPECT_EQ(read_file(dir + "/alarms.jsonl"),
            to_json(alarm(0)) + "\n" + to_json(alarm(1)) + "\n" + to_json(alarm(2)) + "\n");
  EXPECT_TRUE(dispatch.stop());
  fs::remove_all(dir);
}

TEST(AlarmDispatch, AFailingLogIsRetriedAndNothingCountsAsDurableMeanwhile) {
  const std::string dir = temp_dir();
  const std::string log_dir = dir + "/later";  // does not exist yet: open() fails
  Metrics metrics;
  AlarmDispatch dispatch(std::make_unique<JsonlSink>(log_dir + "/alarms.jsonl"), {}, metrics);
  dispatch.start();
  dispatch.add(alarm(1));
  bool durable = false;
  std::thread waiter([&] { durable = dispatch.wait_durable(1); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // several failed attempts
  EXPECT_FALSE(fs::exists(log_dir + "/alarms.jsonl"));
  fs::create_directory(log_dir);
  waiter.join();  // the next retry (at most 100 ms later) writes it
  EXPECT_TRUE(durable);
  EXPECT_EQ(read_file(log_dir + "/alarms.jsonl"), to_json(alarm(1)) + "\n");
  EXPECT_TRUE(dispatch.stop());
  fs::remove_all(dir);
}

TEST(AlarmDispatch, StopWithTheLogFailingReportsTheAlarmsNotDurable) {
  const std::string dir = temp_dir();
  Metrics metrics;
  AlarmDispatch dispatch(std::make_unique<JsonlSink>(dir + "/missing/alarms.jsonl"), {}, metrics);
  dispatch.start();
  dispatch.add(alarm(1));
  bool durable = true;
  std::thread waiter([&] { durable = dispatch.wait_durable(1); });
  EXPECT_FALSE(dispatch.stop());
  waiter.join();  // released by the stop, with the answer "not durable"
  EXPECT_FALSE(durable);
  EXPECT_FALSE(dispatch.wait_durable(1));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace hopguard::agent
