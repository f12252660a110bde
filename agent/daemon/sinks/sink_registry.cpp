#include "sink_registry.hpp"

#include "../endpoint.hpp"
#include "exec_sink.hpp"
#include "syslog_sink.hpp"
#include "webhook_sink.hpp"

namespace hopguard::agent {

Expected<std::vector<std::unique_ptr<Sink>>> make_sinks(const AlarmConfig& alarms,
                                                        const std::string& hostname) {
  std::vector<std::unique_ptr<Sink>> sinks;
  Errors errors;
  if (!alarms.syslog_target.empty()) {
    auto ep = parse_endpoint(alarms.syslog_target, "alarms.syslog_target");
    if (!ep) {
      errors.insert(errors.end(), ep.errors().begin(), ep.errors().end());
    } else if (ep->port == 0) {
      Error e;
      e.code = ErrorCode::bad_value;
      e.key = "alarms.syslog_target";
      e.message = "the collector's port must not be 0";
      errors.push_back(std::move(e));
    } else if (ep->transport != Transport::tcp) {
      Error e;
      e.code = ErrorCode::bad_value;
      e.key = "alarms.syslog_target";
      e.message = "only tcp:// is supported (UDP would lose alarms silently)";
      errors.push_back(std::move(e));
    } else {
      sinks.push_back(std::make_unique<SyslogSink>(std::move(ep).value(), hostname));
    }
  }
  if (!alarms.exec.empty()) {
    if (alarms.exec.front().empty() || alarms.exec.front().front() != '/') {
      Error e;
      e.code = ErrorCode::bad_value;
      e.key = "alarms.exec[0]";
      e.message = "the program must be an absolute path (no shell, no PATH search)";
      errors.push_back(std::move(e));
    } else {
      sinks.push_back(std::make_unique<ExecSink>(alarms.exec));
    }
  }
  if (!alarms.webhook.empty()) {
    if (!alarms.webhook.starts_with("http://") && !alarms.webhook.starts_with("https://")) {
      Error e;
      e.code = ErrorCode::bad_value;
      e.key = "alarms.webhook";
      e.message = "expected an http:// or https:// URL";
      errors.push_back(std::move(e));
    } else {
      sinks.push_back(std::make_unique<WebhookSink>(alarms.webhook));
    }
  }
  if (!errors.empty()) return errors;
  return sinks;
}

}  // namespace hopguard::agent
