// Counters and gauges in Prometheus text exposition format (version 0.0.4), served on a local
// TCP port or written to a textfile for node_exporter's textfile collector ([agent] metrics).
//
// counter() returns a reference that stays valid for the life of the Metrics object, so hot
// paths look a series up once and then only do a relaxed atomic add.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace hopguard::agent {

class Metrics {
 public:
  using Counter = std::atomic<std::uint64_t>;

  // name must be a valid metric name; label values are escaped here. help is set once per name.
  Counter& counter(std::string_view name, std::string_view help,
                   std::string_view label_name = {}, std::string_view label_value = {});
  // A gauge whose value the owner stores (queue depth, open incidents).
  Counter& gauge_value(std::string_view name, std::string_view help,
                       std::string_view label_name = {}, std::string_view label_value = {});
  // A gauge computed at render time by fn, which appends "NAME{...} VALUE\n" lines itself.
  void gauge(std::string_view name, std::string_view help, std::function<void(std::string&)> fn);

  std::string render() const;

  // Formats one sample line: name{label="value"} number.
  static void sample(std::string& out, std::string_view name, std::string_view label_name,
                     std::string_view label_value, std::uint64_t value);

 private:
  struct Family {
    std::string help;
    bool is_gauge = false;
    std::map<std::string, std::unique_ptr<Counter>> series;  // label text -> value
    std::function<void(std::string&)> fn;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Family, std::less<>> families_;
};

}  // namespace hopguard::agent
