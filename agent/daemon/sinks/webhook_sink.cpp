#include "webhook_sink.hpp"

#include <curl/curl.h>

namespace hopguard::agent {
namespace {

std::size_t discard(char*, std::size_t size, std::size_t n, void*) { return size * n; }

}  // namespace

WebhookSink::WebhookSink(std::string url) : url_(std::move(url)) {}

WebhookSink::~WebhookSink() {
  if (curl_) ::curl_easy_cleanup(static_cast<CURL*>(curl_));
}

void WebhookSink::reopen() {
  if (curl_) ::curl_easy_cleanup(static_cast<CURL*>(curl_));
  curl_ = nullptr;
}

Delivery WebhookSink::deliver(std::string_view alarm_json) {
  if (!curl_) curl_ = ::curl_easy_init();
  CURL* c = static_cast<CURL*>(curl_);
  if (!c) return Delivery::failed("curl_easy_init failed");
  curl_slist* headers = ::curl_slist_append(nullptr, "Content-Type: application/json");
  headers = ::curl_slist_append(headers, "Expect:");
  ::curl_easy_setopt(c, CURLOPT_URL, url_.c_str());
  ::curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  ::curl_easy_setopt(c, CURLOPT_POST, 1L);
  ::curl_easy_setopt(c, CURLOPT_POSTFIELDS, alarm_json.data());
  ::curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(alarm_json.size()));
  ::curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  ::curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  ::curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
  ::curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  ::curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  ::curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &discard);
  ::curl_easy_setopt(c, CURLOPT_USERAGENT, "hopguardd/0.1");
  const CURLcode rc = ::curl_easy_perform(c);
  ::curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    reopen();
    return Delivery::failed(std::string("webhook: ") + ::curl_easy_strerror(rc));
  }
  long status = 0;
  ::curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299)
    return Delivery::failed("webhook: HTTP status " + std::to_string(status));
  return {};
}

}  // namespace hopguard::agent
