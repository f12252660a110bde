// A fake libpam for in-process tests of pam_hopguard's stage code (the idea of rra/pam-krb5's
// tests/fakepam): the module's own objects are linked against these definitions instead of
// the real libpam, so a test sees every call's exact return code (PAM_IGNORE included), every
// pam_syslog line with its priority, the PAM environment, and can make libpam fail on purpose.
// Only the functions the module uses are provided (nm -u pam_hopguard.so).
#pragma once

#include <security/pam_modules.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

struct pam_handle {
  std::string service = "fakepam";
  std::map<int, std::string> items;                 // PAM_USER, PAM_RHOST, PAM_TTY, PAM_AUTHTOK
  struct Data {
    void* value;
    void (*cleanup)(pam_handle_t*, void*, int);
  };
  std::map<std::string, Data> data;
  std::map<std::string, std::string> env;           // the PAM environment
  std::optional<std::string> password;              // what the conversation answers; none: PAM_CONV_ERR
  std::vector<std::string> output;                  // "PRIORITY text" lines, and "CONV ..." events
  bool fail_set_data = false;                       // pam_set_data returns PAM_BUF_ERR
  bool throw_in_get_item = false;                   // pam_get_item throws (an "impossible" failure)
  std::string stage = "account";                    // for the pam_syslog prefix only
  ~pam_handle();                                    // runs data cleanups as pam_end() would
};
