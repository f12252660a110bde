// The alarm log ([agent] alarm_log): one alarm per line, appended.
//
// fsync policy: deliver() writes the line with write(2) on an O_APPEND descriptor; flush()
// calls fdatasync(2). The scan stage calls flush() once per batch of alarms and only then
// advances tail checkpoints, so an alarm is on disk before the log lines behind it are
// forgotten. Between deliver() and flush() a crash may lose the line from the file, but the
// checkpoint has not moved, so the alarm is produced again after restart.
// reopen() (SIGHUP) closes and reopens the path, for logrotate's rename-then-HUP.
#pragma once

#include "sink.hpp"

#include <string>

namespace hopguard::agent {

class JsonlSink final : public Sink {
 public:
  explicit JsonlSink(std::string path);
  ~JsonlSink() override;
  std::string_view name() const override { return "jsonl"; }
  Delivery deliver(std::string_view alarm_json) override;
  Delivery flush() override;
  void reopen() override;
  const std::string& path() const noexcept { return path_; }
  // Opens the file now; an error names the path.
  Delivery open();

 private:
  std::string path_;
  int fd_ = -1;
  std::string buffer_;  // lines not yet written (written in one go by flush)
};

}  // namespace hopguard::agent
