// SinkSpool recovery from the files a crash leaves behind.
#include "sinks/exec_sink.hpp"
#include "sinks/sink_spool.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace hopguard::agent {
namespace {

namespace fs = std::filesystem;

TEST(SinkSpool, RecoversPendingAlarmsAndCutsATornLastLine) {
  char tmpl[] = "/tmp/hg-spool-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  {
    std::ofstream(dir + "/spool-exec.jsonl") << "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n{\"a\"";
    std::ofstream(dir + "/spool-exec.pos") << "8";  // the first alarm was delivered
  }
  Metrics metrics;
  SinkSpool spool(std::make_unique<ExecSink>(std::vector<std::string>{"/bin/false"}), dir, metrics);
  ASSERT_EQ(spool.open(), "");
  EXPECT_EQ(spool.pending(), 2u);
  std::ifstream in(dir + "/spool-exec.jsonl");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
  fs::remove_all(dir);
}

TEST(SinkSpool, APositionBeyondTheFileIsIgnored) {
  char tmpl[] = "/tmp/hg-spool-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  {
    std::ofstream(dir + "/spool-exec.jsonl") << "{\"a\":1}\n";
    std::ofstream(dir + "/spool-exec.pos") << "999";
  }
  Metrics metrics;
  SinkSpool spool(std::make_unique<ExecSink>(std::vector<std::string>{"/bin/false"}), dir, metrics);
  ASSERT_EQ(spool.open(), "");
  EXPECT_EQ(spool.pending(), 1u);  // delivered again rather than lost
  fs::remove_all(dir);
}

}  // namespace
}  // namespace hopguard::agent
