#include "options.hpp"

#include <algorithm>
#include <array>

namespace hopguard::pam {

namespace {

// Setters return false when the value is not acceptable.
using Setter = bool (*)(Options&, std::string_view value, bool has_value);

bool set_string(std::string& field, std::string_view value, bool has_value) {
  if (!has_value || value.empty()) return false;
  field.assign(value);
  return true;
}

struct OptionSpec {
  std::string_view name;
  std::string_view expected;  // for the message on a bad value
  Setter set;
};

// Sorted by name: the table is the documentation's order and is binary-searched.
constexpr std::array<OptionSpec, 8> kOptions{{
    {"ccache_dir", "a directory",
     [](Options& o, std::string_view v, bool h) { return set_string(o.ccache_dir, v, h) && v.front() == '/'; }},
    {"config", "a path",
     [](Options& o, std::string_view v, bool h) { return set_string(o.config, v, h); }},
    {"debug", "no value",
     [](Options& o, std::string_view, bool h) { o.debug = true; return !h; }},
    {"host", "a host name",
     [](Options& o, std::string_view v, bool h) { return set_string(o.host, v, h); }},
    {"keytab", "a keytab name",
     [](Options& o, std::string_view v, bool h) { return set_string(o.keytab, v, h); }},
    {"mode", "enforce|monitor",
     [](Options& o, std::string_view v, bool h) {
       if (!h) return false;
       if (v == "enforce") o.mode = EnforceMode::enforce;
       else if (v == "monitor") o.mode = EnforceMode::monitor;
       else return false;
       return true;
     }},
    {"on_error", "allow|deny",
     [](Options& o, std::string_view v, bool h) {
       if (!h) return false;
       if (v == "allow") o.on_error = OnError::allow;
       else if (v == "deny") o.on_error = OnError::deny;
       else return false;
       return true;
     }},
    {"role", "bastion|legacy",
     [](Options& o, std::string_view v, bool h) {
       if (!h) return false;
       o.role = parse_role(v);
       return o.role.has_value();
     }},
}};

static_assert(std::is_sorted(kOptions.begin(), kOptions.end(),
                             [](const OptionSpec& a, const OptionSpec& b) { return a.name < b.name; }));

// Arguments come from the stack file; still bound what goes into the log.
std::string shown(std::string_view text) {
  constexpr std::size_t kMax = 64;
  std::string out(text.substr(0, kMax));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  if (text.size() > kMax) out += "...";
  return out;
}

}  // namespace

bool ParsedOptions::usable() const noexcept {
  return std::none_of(problems.begin(), problems.end(), [](const OptionProblem& p) { return !p.unknown; });
}

ParsedOptions parse_options(int argc, const char** argv) {
  ParsedOptions parsed;
  for (int i = 0; i < argc; ++i) {
    if (argv == nullptr || argv[i] == nullptr) continue;
    const std::string_view arg(argv[i]);
    const auto eq = arg.find('=');
    const std::string_view name = arg.substr(0, eq);
    const bool has_value = eq != std::string_view::npos;
    const std::string_view value = has_value ? arg.substr(eq + 1) : std::string_view{};
    const auto it = std::lower_bound(kOptions.begin(), kOptions.end(), name,
                                     [](const OptionSpec& s, std::string_view n) { return s.name < n; });
    if (it == kOptions.end() || it->name != name) {
      parsed.problems.push_back({true, "unknown option \"" + shown(arg) + "\""});
      continue;
    }
    if (!it->set(parsed.options, value, has_value)) {
      parsed.problems.push_back(
          {false, "bad value \"" + shown(arg) + "\" for " + std::string(it->name) + " (" +
                      std::string(it->expected) + ")"});
    }
  }
  return parsed;
}

}  // namespace hopguard::pam
