// HTTP(S) POST of each alarm to [alarms] webhook with libcurl: Content-Type application/json,
// body = the alarm JSON. Delivered iff the response status is 2xx within the timeouts (connect
// 5 s, whole request 15 s). TLS is verified with the system CA store; redirects are not
// followed (an alarm must not wander off to another host). Retry with backoff is the spool's.
#pragma once

#include "sink.hpp"

#include <string>

namespace hopguard::agent {

class WebhookSink final : public Sink {
 public:
  explicit WebhookSink(std::string url);
  ~WebhookSink() override;
  WebhookSink(const WebhookSink&) = delete;
  WebhookSink& operator=(const WebhookSink&) = delete;
  std::string_view name() const override { return "webhook"; }
  Delivery deliver(std::string_view alarm_json) override;
  void reopen() override;

 private:
  std::string url_;
  void* curl_ = nullptr;  // CURL*, reused for keep-alive
};

}  // namespace hopguard::agent
