#include "metrics.hpp"

namespace hopguard::agent {
namespace {

void append_label_value(std::string& out, std::string_view v) {
  for (const char c : v.substr(0, 256)) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else if (static_cast<unsigned char>(c) < 0x20) out += '?';
    else out += c;
  }
}

std::string label_text(std::string_view label_name, std::string_view label_value) {
  if (label_name.empty()) return {};
  std::string out = "{";
  out.append(label_name);
  out += "=\"";
  append_label_value(out, label_value);
  out += "\"}";
  return out;
}

}  // namespace

Metrics::Counter& Metrics::counter(std::string_view name, std::string_view help,
                                   std::string_view label_name, std::string_view label_value) {
  std::lock_guard lock(mutex_);
  auto it = families_.find(name);
  if (it == families_.end()) it = families_.emplace(std::string(name), Family{}).first;
  Family& f = it->second;
  if (f.help.empty()) f.help = std::string(help);
  auto& slot = f.series[label_text(label_name, label_value)];
  if (!slot) slot = std::make_unique<Counter>(0);
  return *slot;
}

Metrics::Counter& Metrics::gauge_value(std::string_view name, std::string_view help,
                                       std::string_view label_name, std::string_view label_value) {
  Counter& c = counter(name, help, label_name, label_value);
  std::lock_guard lock(mutex_);
  families_.find(name)->second.is_gauge = true;
  return c;
}

void Metrics::gauge(std::string_view name, std::string_view help,
                    std::function<void(std::string&)> fn) {
  std::lock_guard lock(mutex_);
  Family& f = families_[std::string(name)];
  f.help = std::string(help);
  f.is_gauge = true;
  f.fn = std::move(fn);
}

void Metrics::sample(std::string& out, std::string_view name, std::string_view label_name,
                     std::string_view label_value, std::uint64_t value) {
  out.append(name);
  out += label_text(label_name, label_value);
  out += ' ';
  out += std::to_string(value);
  out += '\n';
}

std::string Metrics::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + (f.is_gauge ? " gauge\n" : " counter\n");
    if (f.fn) f.fn(out);
    for (const auto& [labels, value] : f.series)
      out += name + labels + " " + std::to_string(value->load(std::memory_order_relaxed)) + "\n";
  }
  return out;
}

}  // namespace hopguard::agent
