// Both modules load with dlopen(RTLD_NOW) (every symbol resolved, as sshd and libkrb5 load
// them) and publish exactly their documented entry points, nothing else (linux-pam's
// tst-dlopen, plus an export check: a leaked C++ symbol could clash inside the host program).
#include <gtest/gtest.h>

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

namespace {

std::string built(const char* name) {
  const char* dir = std::getenv("HOPGUARD_BUILD_DIR");
  return std::string(dir != nullptr ? dir : ".") + "/" + name;
}

// Defined dynamic symbols, as `nm -D --defined-only` lists them (type T, D, B, ...).
std::set<std::string> exported(const std::string& path) {
  std::set<std::string> out;
  const std::string cmd = "nm -D --defined-only '" + path + "'";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char line[512];
  while (std::fgets(line, sizeof line, p) != nullptr) {
    std::string s(line);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    const auto sp = s.rfind(' ');
    if (sp != std::string::npos) out.insert(s.substr(sp + 1));
  }
  pclose(p);
  return out;
}

void expect_module(const char* file, const std::set<std::string>& documented) {
  const std::string path = built(file);
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  for (const auto& sym : documented) EXPECT_NE(dlsym(h, sym.c_str()), nullptr) << sym;
  EXPECT_EQ(dlsym(h, "_ZN8hopguard6decideERKNS_6PolicyERKNS_7RequestE"), nullptr) << "decide() leaked";
  EXPECT_EQ(dlclose(h), 0);
  std::set<std::string> got = exported(path);
  got.erase("");
  EXPECT_EQ(got, documented) << path;
}

TEST(Dlopen, PamModuleExportsOnlyPamSm) {
  expect_module("pam_hopguard.so", {"pam_sm_acct_mgmt", "pam_sm_authenticate", "pam_sm_close_session",
                                    "pam_sm_open_session", "pam_sm_setcred"});
}

TEST(Dlopen, LocalauthModuleExportsOnlyInitvt) {
  expect_module("hopguard_localauth.so", {"localauth_hopguard_initvt"});
}

}  // namespace
