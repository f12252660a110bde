// Publishes Metrics::render() per [agent] metrics: "tcp://ADDR:PORT" serves it over HTTP/1.0
// (any GET; one response per connection; loopback is the intended address), "file:/path.prom"
// rewrites the file atomically every 5 seconds (node_exporter textfile collector).
#pragma once

#include "metrics.hpp"

#include <hopguard/error.hpp>

#include <atomic>
#include <optional>
#include <string>
#include <thread>

namespace hopguard::agent {

class MetricsExport {
 public:
  MetricsExport(Metrics& metrics, std::string target);
  ~MetricsExport();
  std::optional<Error> start();  // binds the port (an error names it) and starts the thread
  void stop();

 private:
  void serve();
  void write_file();
  Metrics& metrics_;
  std::string target_;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace hopguard::agent
