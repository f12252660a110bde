// Runs a program for each alarm ([alarms] exec = ["/path/prog", "arg", ...]): argv as given,
// no shell, the alarm JSON plus a newline on its stdin, stdout discarded, stderr inherited
// (the journal). Delivered iff the program exits 0 within the timeout; after the timeout it
// is killed (SIGKILL) and the delivery fails (the spool retries with backoff).
#pragma once

#include "sink.hpp"

#include <string>
#include <vector>

namespace hopguard::agent {

class ExecSink final : public Sink {
 public:
  explicit ExecSink(std::vector<std::string> argv, int timeout_ms = 30000);
  std::string_view name() const override { return "exec"; }
  Delivery deliver(std::string_view alarm_json) override;

 private:
  std::vector<std::string> argv_;
  int timeout_ms_;
};

}  // namespace hopguard::agent
