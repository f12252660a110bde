#include "fakepam.hpp"

#include <security/pam_ext.h>
#include <security/pam_modutil.h>
#include <pwd.h>
#include <syslog.h>

#include <cstdarg>
#include <cstdio>
#include <stdexcept>

pam_handle::~pam_handle() {
  for (auto& [name, d] : data) {
    if (d.cleanup != nullptr) d.cleanup(this, d.value, PAM_SUCCESS);
  }
}

namespace {

const char* priority_name(int priority) {
  switch (priority & LOG_PRIMASK) {
    case LOG_EMERG: return "EMERG";
    case LOG_ALERT: return "ALERT";
    case LOG_CRIT: return "CRIT";
    case LOG_ERR: return "ERR";
    case LOG_WARNING: return "WARNING";
    case LOG_NOTICE: return "NOTICE";
    case LOG_INFO: return "INFO";
    default: return "DEBUG";
  }
}

}  // namespace

extern "C" {

int pam_get_item(const pam_handle_t* pamh, int item_type, const void** item) {
  if (pamh->throw_in_get_item) throw std::runtime_error("fakepam: pam_get_item failure");
  const auto it = pamh->items.find(item_type);
  *item = it == pamh->items.end() ? nullptr : it->second.c_str();
  return PAM_SUCCESS;
}

int pam_get_user(pam_handle_t* pamh, const char** user, const char*) {
  const auto it = pamh->items.find(PAM_USER);
  if (it == pamh->items.end()) return PAM_CONV_ERR;  // the fake has no user to prompt for
  *user = it->second.c_str();
  return PAM_SUCCESS;
}

int pam_get_authtok(pam_handle_t* pamh, int item, const char** authtok, const char*) {
  if (item != PAM_AUTHTOK) return PAM_BAD_ITEM;
  pamh->output.push_back("CONV password prompt");
  if (!pamh->password) return PAM_CONV_ERR;
  pamh->items[PAM_AUTHTOK] = *pamh->password;
  *authtok = pamh->items[PAM_AUTHTOK].c_str();
  return PAM_SUCCESS;
}

int pam_get_data(const pam_handle_t* pamh, const char* name, const void** data) {
  const auto it = pamh->data.find(name);
  if (it == pamh->data.end()) return PAM_NO_MODULE_DATA;
  *data = it->second.value;
  return PAM_SUCCESS;
}

int pam_set_data(pam_handle_t* pamh, const char* name, void* data, void (*cleanup)(pam_handle_t*, void*, int)) {
  if (pamh->fail_set_data) return PAM_BUF_ERR;
  auto it = pamh->data.find(name);
  if (it != pamh->data.end() && it->second.cleanup != nullptr) {
    it->second.cleanup(pamh, it->second.value, PAM_DATA_REPLACE);
  }
  pamh->data[name] = {data, cleanup};
  return PAM_SUCCESS;
}

const char* pam_getenv(pam_handle_t* pamh, const char* name) {
  const auto it = pamh->env.find(name);
  return it == pamh->env.end() ? nullptr : it->second.c_str();
}

int pam_putenv(pam_handle_t* pamh, const char* name_value) {
  const std::string nv(name_value);
  const auto eq = nv.find('=');
  if (eq == std::string::npos) {
    pamh->env.erase(nv);
    pamh->output.push_back("ENV unset " + nv);
  } else {
    pamh->env[nv.substr(0, eq)] = nv.substr(eq + 1);
    pamh->output.push_back("ENV set " + nv.substr(0, eq));
  }
  return PAM_SUCCESS;
}

void pam_vsyslog(const pam_handle_t* pamh, int priority, const char* fmt, va_list args) {
  char buf[4096];
  std::vsnprintf(buf, sizeof buf, fmt, args);
  const_cast<pam_handle_t*>(pamh)->output.push_back(std::string(priority_name(priority)) + " " + buf);
}

void pam_syslog(const pam_handle_t* pamh, int priority, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  pam_vsyslog(pamh, priority, fmt, args);
  va_end(args);
}

struct passwd* pam_modutil_getpwnam(pam_handle_t*, const char* user) { return getpwnam(user); }

}  // extern "C"
