// The registry of alarm sinks: every kind the daemon knows, built from [alarms]. The JSONL log
// ([agent] alarm_log) is not here: it is the durable record the scan stage writes itself.
#pragma once

#include "sink.hpp"

#include <hopguard/policy.hpp>

#include <memory>
#include <string>
#include <vector>

namespace hopguard::agent {

// syslog_target -> SyslogSink, exec -> ExecSink, webhook -> WebhookSink, in that order, each
// only when configured. Cannot fail: Policy::load checked every value.
std::vector<std::unique_ptr<Sink>> make_sinks(const AlarmConfig& alarms, const std::string& hostname);

}  // namespace hopguard::agent
