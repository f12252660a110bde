// Runs the PAM scripts in tests/pam/scripts/ against pam_hopguard's own objects linked with the
// fake libpam (fakepam.cpp): one handle per script, the calls of [run] in order with their
// exact expected return codes, then the exact [output] (pam_syslog lines as "PRIORITY text",
// plus fakepam's "CONV ..." and "ENV ..." events). The format, after rra/pam-krb5's scripts:
//
//   [options]   the module arguments (one line; %CONFIG% = this script's config copy,
//               %WORK% = its work directory)
//   [items]     user = NAME / rhost = ADDR / tty = TTY / password = conversation answer
//   [env]       NAME = VALUE of the PAM environment (\n escapes allowed)
//   [fail]      pam_set_data | pam_get_item_throws
//   [run]       CALL [FLAG] = PAM_CODE   (CALL: authenticate setcred acct_mgmt open_session
//               close_session), or "!config FILE" to replace the config by tests/pam/data/FILE
//   [output]    expected lines, in order, verbatim
#include "fakepam.hpp"

#include <gtest/gtest.h>
#include <security/pam_appl.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern "C" {
int pam_sm_authenticate(pam_handle_t*, int, int, const char**);
int pam_sm_setcred(pam_handle_t*, int, int, const char**);
int pam_sm_acct_mgmt(pam_handle_t*, int, int, const char**);
int pam_sm_open_session(pam_handle_t*, int, int, const char**);
int pam_sm_close_session(pam_handle_t*, int, int, const char**);
}

namespace {

namespace fs = std::filesystem;

fs::path source_dir() {
  const char* s = std::getenv("HOPGUARD_SOURCE_DIR");
  return s != nullptr ? fs::path(s) : fs::path(".");
}

const std::map<std::string, int> kCodes = {
    {"PAM_SUCCESS", PAM_SUCCESS},         {"PAM_IGNORE", PAM_IGNORE},
    {"PAM_PERM_DENIED", PAM_PERM_DENIED}, {"PAM_SESSION_ERR", PAM_SESSION_ERR},
    {"PAM_AUTH_ERR", PAM_AUTH_ERR},       {"PAM_SERVICE_ERR", PAM_SERVICE_ERR},
    {"PAM_CONV_ERR", PAM_CONV_ERR},       {"PAM_AUTHINFO_UNAVAIL", PAM_AUTHINFO_UNAVAIL},
    {"PAM_CRED_ERR", PAM_CRED_ERR},       {"PAM_USER_UNKNOWN", PAM_USER_UNKNOWN},
};
const std::map<std::string, int> kFlags = {
    {"PAM_ESTABLISH_CRED", PAM_ESTABLISH_CRED}, {"PAM_DELETE_CRED", PAM_DELETE_CRED},
    {"PAM_REINITIALIZE_CRED", PAM_REINITIALIZE_CRED}, {"PAM_REFRESH_CRED", PAM_REFRESH_CRED},
    {"PAM_SILENT", PAM_SILENT}};

std::string code_name(int code) {
  for (const auto& [name, c] : kCodes) {
    if (c == code) return name;
  }
  return "code " + std::to_string(code);
}

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t");
  const auto e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == 'n') {
      out += '\n';
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
  return s;
}

class Script : public ::testing::TestWithParam<fs::path> {};

TEST_P(Script, Runs) {
  const fs::path script = GetParam();
  std::ifstream in(script);
  ASSERT_TRUE(in) << script;
  char tmpl[] = "/tmp/hg-fakepam-XXXXXX";
  const fs::path work = mkdtemp(tmpl);
  const fs::path config = work / "hopguard.toml";
  fs::copy_file(source_dir() / "tests/pam/data/hopguard.toml", config);

  auto pamh = std::make_unique<pam_handle>();
  std::vector<std::string> args_storage;
  std::vector<std::string> expected;
  std::string section;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    if (t.front() == '[' && t.back() == ']') {
      section = t.substr(1, t.size() - 2);
      continue;
    }
    const std::string where = script.filename().string() + ":" + std::to_string(lineno);
    const std::string text = replace_all(replace_all(t, "%CONFIG%", config.string()), "%WORK%", work.string());
    if (section == "options") {
      std::istringstream words(text);
      for (std::string w; words >> w;) args_storage.push_back(w);
    } else if (section == "items" || section == "env") {
      const auto eq = text.find('=');
      ASSERT_NE(eq, std::string::npos) << where;
      const std::string key = trim(text.substr(0, eq));
      const std::string value = unescape(trim(text.substr(eq + 1)));
      if (section == "env") {
        pamh->env[key] = value;
      } else if (key == "user") {
        pamh->items[PAM_USER] = value;
      } else if (key == "rhost") {
        pamh->items[PAM_RHOST] = value;
      } else if (key == "tty") {
        pamh->items[PAM_TTY] = value;
      } else if (key == "password") {
        pamh->password = value;
      } else {
        FAIL() << where << ": unknown item " << key;
      }
    } else if (section == "fail") {
      if (text == "pam_set_data") pamh->fail_set_data = true;
      else if (text == "pam_get_item_throws") pamh->throw_in_get_item = true;
      else FAIL() << where << ": unknown failure " << text;
    } else if (section == "run") {
      if (text.rfind("!config ", 0) == 0) {
        // A new file with a new identity: write beside, then rename over.
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        fs::copy_file(source_dir() / "tests/pam/data" / trim(text.substr(8)), work / "next.toml");
        fs::rename(work / "next.toml", config);
        continue;
      }
      const auto eq = text.find('=');
      ASSERT_NE(eq, std::string::npos) << where;
      std::istringstream call_words(text.substr(0, eq));
      std::string call, flag_name;
      call_words >> call >> flag_name;
      const std::string want = trim(text.substr(eq + 1));
      ASSERT_TRUE(kCodes.count(want)) << where << ": unknown code " << want;
      int flags = 0;
      if (!flag_name.empty()) {
        ASSERT_TRUE(kFlags.count(flag_name)) << where << ": unknown flag " << flag_name;
        flags = kFlags.at(flag_name);
      }
      std::vector<const char*> argv;
      for (const auto& a : args_storage) argv.push_back(a.c_str());
      const int argc = static_cast<int>(argv.size());
      int rc = -1;
      pamh->stage = call;
      if (call == "authenticate") rc = pam_sm_authenticate(pamh.get(), flags, argc, argv.data());
      else if (call == "setcred") rc = pam_sm_setcred(pamh.get(), flags, argc, argv.data());
      else if (call == "acct_mgmt") rc = pam_sm_acct_mgmt(pamh.get(), flags, argc, argv.data());
      else if (call == "open_session") rc = pam_sm_open_session(pamh.get(), flags, argc, argv.data());
      else if (call == "close_session") rc = pam_sm_close_session(pamh.get(), flags, argc, argv.data());
      else FAIL() << where << ": unknown call " << call;
      EXPECT_EQ(code_name(rc), want) << where << ": " << call;
    } else if (section == "output") {
      expected.push_back(t);  // compared with %CONFIG% and %WORK% put back into the output
    } else {
      FAIL() << where << ": line outside a known section";
    }
  }
  std::vector<std::string> got;
  for (const auto& l : pamh->output) got.push_back(replace_all(replace_all(l, config.string(), "%CONFIG%"), work.string(), "%WORK%"));
  EXPECT_EQ(got, expected) << script;
  pamh.reset();  // pam_end: the module's data cleanup runs here
  fs::remove_all(work);
}

std::vector<fs::path> scripts() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(source_dir() / "tests/pam/scripts")) {
    if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string script_name(const ::testing::TestParamInfo<fs::path>& param_info) {
  std::string n = param_info.param.filename().string();
  for (char& c : n) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return n;
}

INSTANTIATE_TEST_SUITE_P(PamScripts, Script, ::testing::ValuesIn(scripts()), script_name);

}  // namespace
