// RFC 5424 syslog to a collector over TCP ([alarms] syslog_target = "tcp://HOST:PORT"),
// octet-counted framing (RFC 6587), facility authpriv, app-name hopguardd, msgid "alarm",
// the alarm JSON as the message. Reconnects on the next delivery after any error.
#pragma once

#include "../endpoint.hpp"
#include "sink.hpp"

#include <string>

namespace hopguard::agent {

class SyslogSink final : public Sink {
 public:
  SyslogSink(Endpoint target, std::string hostname);
  ~SyslogSink() override;
  std::string_view name() const override { return "syslog"; }
  Delivery deliver(std::string_view alarm_json) override;
  void reopen() override;

  // The RFC 5424 message (without framing) for one alarm; severity from the alarm JSON.
  static std::string format(std::string_view alarm_json, std::string_view hostname,
                            long long now_ms, int pid);

 private:
  Delivery connect_now();
  Endpoint target_;
  std::string hostname_;
  int fd_ = -1;
};

}  // namespace hopguard::agent
