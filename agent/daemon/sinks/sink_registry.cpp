#include "sink_registry.hpp"

#include "exec_sink.hpp"
#include "syslog_sink.hpp"
#include "webhook_sink.hpp"

namespace hopguard::agent {

// The values were checked when the config was loaded (policy/config_loader.cpp).
std::vector<std::unique_ptr<Sink>> make_sinks(const AlarmConfig& alarms, const std::string& hostname) {
  std::vector<std::unique_ptr<Sink>> sinks;
  if (alarms.syslog_target) sinks.push_back(std::make_unique<SyslogSink>(*alarms.syslog_target, hostname));
  if (!alarms.exec.empty()) sinks.push_back(std::make_unique<ExecSink>(alarms.exec));
  if (!alarms.webhook.empty()) sinks.push_back(std::make_unique<WebhookSink>(alarms.webhook));
  return sinks;
}

}  // namespace hopguard::agent
