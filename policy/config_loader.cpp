// Site config loading (DESIGN section 3, contract). The schema is a declarative table per
// section: key -> binder (type check, range check, destination). Unknown keys, wrong types,
// duplicates and bad values are all reported, each with file, line and dotted key.
#include "principal_parser.hpp"

#include <hopguard/policy.hpp>
#include <hopguard/text_file.hpp>

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <functional>
#include <limits>
#include <unordered_map>
#include <utility>
#include <span>

namespace hopguard {

namespace {

constexpr std::size_t kMaxNameLength = 63;     // a DNS label
constexpr std::size_t kMaxFqdnLength = 253;    // a DNS name
constexpr std::size_t kMaxConfigBytes = 4 << 20;  // a site config is small; refuse a huge file

// A host name as Policy::find_host and find_host_by_fqdn compare it (same_host_name,
// find_with_root_dot, at the end of this file): ASCII case folded and one root dot dropped
// ("Legacy1.hg.test." is legacy1.hg.test; "a.." keeps its dots, as the lookups do).
std::string host_name_key(std::string_view name) {
  if (name.size() > 1 && name.back() == '.' && name[name.size() - 2] != '.') name.remove_suffix(1);
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool valid_short_name(std::string_view s) {
  if (s.empty() || s.size() > kMaxNameLength) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.';
  });
}

bool valid_fqdn(std::string_view s) {
  if (s.empty() || s.size() > kMaxFqdnLength || s.front() == '.' || s.back() == '.') return false;
  if (s.find("..") != std::string_view::npos) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.';
  });
}

// Collects errors with the file name; every message names file, line and key.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}
  void add(ErrorCode code, const toml::source_region& at, std::string key, std::string message) {
    errors_.push_back(Error{code, {file_, at.begin.line, at.begin.column}, std::move(key),
                            std::move(message)});
  }
  void add(ErrorCode code, Location at, std::string key, std::string message) {
    errors_.push_back(Error{code, std::move(at), std::move(key), std::move(message)});
  }
  Location at(const toml::source_region& r) const { return {file_, r.begin.line, r.begin.column}; }
  const std::string& file() const { return file_; }
  // In file order (a table's keys are visited in name order), errors without a line last.
  Errors take() {
    std::stable_sort(errors_.begin(), errors_.end(), [](const Error& a, const Error& b) {
      const auto rank = [](const Error& e) {
        return std::make_pair(e.where.line == 0 ? std::numeric_limits<std::uint32_t>::max() : e.where.line, e.where.column);
      };
      return rank(a) < rank(b);
    });
    return std::move(errors_);
  }
  bool empty() const { return errors_.empty(); }

 private:
  std::string file_;
  Errors errors_;
};

const char* type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "a date/time";
  }
}

// A binder checks one value and stores it; it reports its own errors.
using Binder = std::function<void(const toml::node&, const std::string& key, Diagnostics&)>;

struct Field {
  std::string_view name;
  Binder bind;
  bool required = false;
};

bool expect(const toml::node& n, toml::node_type t, const std::string& key, Diagnostics& d) {
  if (n.type() == t) return true;
  d.add(ErrorCode::wrong_type, n.source(), key,
        std::string("expected ") + type_name(t) + ", found " + type_name(n.type()));
  return false;
}

Binder text(std::string& dst, bool non_empty = false) {
  return [&dst, non_empty](const toml::node& n, const std::string& key, Diagnostics& d) {
    if (!expect(n, toml::node_type::string, key, d)) return;
    dst = *n.value<std::string>();
    if (non_empty && dst.empty()) d.add(ErrorCode::bad_value, n.source(), key, "must not be empty");
  };
}

// Array of strings; each element goes through check (which may report and reject it).
Binder text_array(std::vector<std::string>& dst,
                  std::function<bool(const std::string&, const toml::node&, const std::string&,
                                     Diagnostics&)> check = {}) {
  return [&dst, check](const toml::node& n, const std::string& key, Diagnostics& d) {
    if (!expect(n, toml::node_type::array, key, d)) return;
    dst.clear();
    std::size_t i = 0;
    for (const toml::node& e : *n.as_array()) {
      const std::string ekey = key + "[" + std::to_string(i++) + "]";
      if (!expect(e, toml::node_type::string, ekey, d)) continue;
      std::string v = *e.value<std::string>();
      if (check && !check(v, e, ekey, d)) continue;
      dst.push_back(std::move(v));
    }
  };
}

Binder cidr_array(std::vector<Cidr>& dst) {
  return [&dst](const toml::node& n, const std::string& key, Diagnostics& d) {
    if (!expect(n, toml::node_type::array, key, d)) return;
    dst.clear();
    std::size_t i = 0;
    for (const toml::node& e : *n.as_array()) {
      const std::string ekey = key + "[" + std::to_string(i++) + "]";
      if (!expect(e, toml::node_type::string, ekey, d)) continue;
      const std::string v = *e.value<std::string>();
      const auto c = parse_cidr(v);
      if (!c) {
        d.add(ErrorCode::bad_address, e.source(), ekey,
              "not an IPv4/IPv6 address or CIDR with host bits clear: \"" + v.substr(0, 80) + "\"");
        continue;
      }
      if (std::find(dst.begin(), dst.end(), *c) != dst.end()) {
        d.add(ErrorCode::duplicate, e.source(), ekey, "address listed twice: " + c->to_string());
        continue;
      }
      dst.push_back(*c);
    }
  };
}

Binder u32(std::uint32_t& dst, std::uint32_t min, std::uint32_t max) {
  return [&dst, min, max](const toml::node& n, const std::string& key, Diagnostics& d) {
    if (!expect(n, toml::node_type::integer, key, d)) return;
    const std::int64_t v = *n.value<std::int64_t>();
    if (v < min || v > max) {
      d.add(ErrorCode::bad_value, n.source(), key,
            "must be between " + std::to_string(min) + " and " + std::to_string(max));
      return;
    }
    dst = static_cast<std::uint32_t>(v);
  };
}

Binder boolean(bool& dst) {
  return [&dst](const toml::node& n, const std::string& key, Diagnostics& d) {
    if (expect(n, toml::node_type::boolean, key, d)) dst = *n.value<bool>();
  };
}

template <class E>
Binder choice(E& dst, std::vector<std::pair<std::string_view, E>> options) {
  return [&dst, options](const toml::node& n, const std::string& key, Diagnostics& d) {
    if (!expect(n, toml::node_type::string, key, d)) return;
    const std::string v = *n.value<std::string>();
    std::string allowed;
    for (const auto& [word, value] : options) {
      if (v == word) {
        dst = value;
        return;
      }
      allowed += (allowed.empty() ? "" : " | ") + std::string(word);
    }
    d.add(ErrorCode::bad_value, n.source(), key, "must be " + allowed);
  };
}

// Applies fields to a table: each known key once, unknown keys and missing required keys reported.
void apply(const toml::table& t, const std::string& prefix, std::span<const Field> fields,
           const toml::source_region& table_at, Diagnostics& d) {
  for (auto&& [k, v] : t) {
    const std::string_view name = k.str();  // clang 14 cannot capture a structured binding
    const std::string key = prefix.empty() ? std::string(name) : prefix + "." + std::string(name);
    const auto it = std::find_if(fields.begin(), fields.end(),
                                 [name](const Field& f) { return f.name == name; });
    if (it == fields.end()) {
      d.add(ErrorCode::unknown_key, k.source(), key, "unknown key");
      continue;
    }
    it->bind(v, key, d);
  }
  for (const Field& f : fields) {
    if (f.required && !t.contains(f.name)) {
      d.add(ErrorCode::missing_key, table_at,
            prefix.empty() ? std::string(f.name) : prefix + "." + std::string(f.name),
            "required key is missing");
    }
  }
}

// [agent] listen: each a listener hopguardd can bind as written: a literal address (a name
// would make the bound address depend on DNS at start), each (transport, address, port) once.
Binder listeners(std::vector<Endpoint>& dst) {
  return [&dst](const toml::node& n, const std::string& key, Diagnostics& d) {
    if (!expect(n, toml::node_type::array, key, d)) return;
    dst.clear();
    std::vector<Address> addresses;  // parallel to dst
    std::size_t i = 0;
    for (const toml::node& e : *n.as_array()) {
      const std::string ekey = key + "[" + std::to_string(i++) + "]";
      if (!expect(e, toml::node_type::string, ekey, d)) continue;
      const std::string v = *e.value<std::string>();
      auto ep = parse_endpoint(v, ekey);
      if (!ep) {
        d.add(ErrorCode::bad_value, e.source(), ekey, ep.errors().front().message);
        continue;
      }
      const auto address = parse_address(ep->host);
      if (!address) {
        d.add(ErrorCode::bad_address, e.source(), ekey,
              "\"" + v.substr(0, 200) + "\": a listener needs a literal IPv4 or IPv6 address");
        continue;
      }
      bool twice = false;
      for (std::size_t j = 0; j < dst.size() && ep->port != 0; ++j) {
        twice = twice || (dst[j].transport == ep->transport && dst[j].port == ep->port &&
                          addresses[j] == *address);
      }
      if (twice) {
        d.add(ErrorCode::duplicate, e.source(), ekey, "listener listed twice: \"" + v.substr(0, 200) + "\"");
        continue;
      }
      dst.push_back(std::move(ep).value());
      addresses.push_back(*address);
    }
  };
}

// [alarms] syslog_target: "" off, else a TCP collector (a name is allowed; it is resolved when
// the sink connects). UDP would lose alarms without anyone knowing.
Binder collector(std::optional<Endpoint>& dst) {
  return [&dst](const toml::node& n, const std::string& key, Diagnostics& d) {
    if (!expect(n, toml::node_type::string, key, d)) return;
    const std::string v = *n.value<std::string>();
    dst.reset();
    if (v.empty()) return;
    auto ep = parse_endpoint(v, key);
    if (!ep) {
      d.add(ErrorCode::bad_value, n.source(), key, ep.errors().front().message);
    } else if (ep->transport != Transport::tcp) {
      d.add(ErrorCode::bad_value, n.source(), key,
            "\"" + v.substr(0, 200) + "\": only tcp:// is supported (UDP would lose alarms silently)");
    } else if (ep->port == 0) {
      d.add(ErrorCode::bad_value, n.source(), key, "\"" + v.substr(0, 200) + "\": the collector's port must not be 0");
    } else {
      dst = std::move(ep).value();
    }
  };
}

// [agent] metrics: "" off, "file:/ABSOLUTE/PATH" (a textfile for node_exporter), or
// tcp://ADDR:PORT with a literal address (the listener binds it as written, like [agent] listen).
Binder metrics_target(std::string& dst) {
  return [&dst](const toml::node& n, const std::string& key, Diagnostics& d) {
    if (!expect(n, toml::node_type::string, key, d)) return;
    const std::string v = *n.value<std::string>();
    dst.clear();
    if (v.empty()) return;
    if (v.starts_with("file:")) {
      if (v.size() < 7 || v[5] != '/') {
        d.add(ErrorCode::bad_value, n.source(), key,
              "\"" + v.substr(0, 200) + "\": file: needs an absolute path (file:/PATH)");
        return;
      }
      dst = v;
      return;
    }
    auto ep = parse_endpoint(v, key);
    if (!ep) {
      d.add(ErrorCode::bad_value, n.source(), key, ep.errors().front().message);
    } else if (ep->transport != Transport::tcp || !parse_address(ep->host)) {
      d.add(ErrorCode::bad_value, n.source(), key,
            "\"" + v.substr(0, 200) + "\": expected tcp://ADDR:PORT with a literal address, or file:/PATH");
    } else {
      dst = v;
    }
  };
}

// [alarms] exec: an argv run without a shell, so the program is an absolute path (no PATH
// search, no word splitting); no element may be empty.
Binder program_argv(std::vector<std::string>& dst) {
  return text_array(dst, [](const std::string& v, const toml::node& e, const std::string& ekey,
                            Diagnostics& d) {
    if (v.empty()) {
      d.add(ErrorCode::bad_value, e.source(), ekey, "must not be empty");
      return false;
    }
    if (ekey.ends_with("[0]") && v.front() != '/') {
      d.add(ErrorCode::bad_value, e.source(), ekey,
            "\"" + v.substr(0, 200) + "\": the program must be an absolute path (no shell, no PATH search)");
      return false;
    }
    return true;
  });
}

// [alarms] webhook: "" off, else http:// or https:// with a host, and no space or control
// character (which libcurl would reject at the first alarm, or which could split a request).
Binder web_url(std::string& dst) {
  return [&dst](const toml::node& n, const std::string& key, Diagnostics& d) {
    if (!expect(n, toml::node_type::string, key, d)) return;
    const std::string v = *n.value<std::string>();
    dst.clear();
    if (v.empty()) return;
    std::string_view rest;
    if (v.starts_with("http://")) rest = std::string_view(v).substr(7);
    else if (v.starts_with("https://")) rest = std::string_view(v).substr(8);
    const bool clean = std::none_of(v.begin(), v.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7f; });
    if (rest.empty() || rest.find_first_of("/?#") == 0 || !clean) {
      d.add(ErrorCode::bad_value, n.source(), key,
            "\"" + v.substr(0, 200) + "\": expected an http:// or https:// URL with a host");
      return;
    }
    dst = v;
  };
}

// Records where the value is, for errors found after loading (by another component).
Binder located(Location& at, Binder bind) {
  return [&at, bind = std::move(bind)](const toml::node& n, const std::string& key, Diagnostics& d) {
    at = d.at(n.source());
    bind(n, key, d);
  };
}

bool non_empty_text(const std::string& v, const toml::node& n, const std::string& key,
                    Diagnostics& d) {
  if (v.empty()) d.add(ErrorCode::bad_value, n.source(), key, "must not be empty");
  return !v.empty();
}

const std::vector<std::pair<std::string_view, LoginDefault>> kAllowDeny = {
    {"allow", LoginDefault::allow}, {"deny", LoginDefault::deny}};

}  // namespace

// Builds a Policy from parsed TOML; a friend of Policy so it can fill the private parts.
class PolicyBuilder {
 public:
  static Expected<Policy> build(const toml::table& root, Diagnostics& d);

 private:
  static void load_hosts(const toml::node& node, Role role, std::string_view section,
                         SiteConfig& cfg, Diagnostics& d);
  static void check_template(Policy& p, const toml::table& root, Diagnostics& d);
  static void cross_check(const SiteConfig& cfg, Diagnostics& d);
};

void PolicyBuilder::load_hosts(const toml::node& node, Role role, std::string_view section,
                               SiteConfig& cfg, Diagnostics& d) {
  if (!expect(node, toml::node_type::table, std::string(section), d)) return;
  for (auto&& [name, value] : *node.as_table()) {
    const std::string key = std::string(section) + "." + std::string(name.str());
    if (!valid_short_name(name.str())) {
      d.add(ErrorCode::bad_value, name.source(), key,
            "host short name must be 1-63 letters, digits, '-', '_' or '.'");
      continue;
    }
    if (!expect(value, toml::node_type::table, key, d)) continue;
    HostEntry h;
    h.name = std::string(name.str());
    h.role = role;
    h.where = d.at(value.source());
    const Field fields[] = {
        {"fqdn", text(h.fqdn, true), true},
        {"addresses", cidr_array(h.addresses), role == Role::bastion},
        {"aliases", text_array(h.aliases, non_empty_text)},
    };
    apply(*value.as_table(), key, fields, value.source(), d);
    if (!h.fqdn.empty() && !valid_fqdn(h.fqdn)) {
      d.add(ErrorCode::bad_value, h.where, key + ".fqdn", "not a DNS name: \"" + h.fqdn.substr(0, 80) + "\"");
    }
    if (role == Role::bastion && value.as_table()->contains("addresses") && h.addresses.empty()) {
      d.add(ErrorCode::bad_value, h.where, key + ".addresses", "a bastion needs at least one address");
    }
    cfg.hosts.push_back(std::move(h));
  }
}

void PolicyBuilder::check_template(Policy& p, const toml::table& root, Diagnostics& d) {
  const std::string& t = p.config_.special_principal;
  const auto* node = root.get("special_principal");
  const Location at = node ? d.at(node->source()) : Location{d.file(), 0, 0};
  const auto u = t.find("{user}");
  const auto h = t.find("{host}");
  if (u == std::string::npos || h == std::string::npos || t.find("{user}", u + 1) != std::string::npos ||
      t.find("{host}", h + 1) != std::string::npos) {
    d.add(ErrorCode::bad_value, at, "special_principal", "must contain {user} and {host} exactly once each");
    return;
  }
  const auto first = std::min(u, h);
  const auto second = std::max(u, h);
  p.user_first_ = u < h;
  p.template_prefix_ = t.substr(0, first);
  p.template_middle_ = t.substr(first + 6, second - first - 6);
  p.template_suffix_ = t.substr(second + 6);
  if (p.template_middle_.empty()) {
    d.add(ErrorCode::bad_value, at, "special_principal",
          "{user} and {host} need a separator between them, or names are ambiguous");
  }
  const std::string fixed = p.template_prefix_ + p.template_middle_ + p.template_suffix_;
  if (fixed.find_first_of("/@\\{} \t") != std::string::npos) {
    d.add(ErrorCode::bad_value, at, "special_principal",
          "may hold only name characters besides {user} and {host}");
  }
}

// Short names, fqdns and aliases are one namespace: callers try both lookups, in either order
// (policy/ticket_decision.cpp: fqdn then short name; scanner/engine.cpp: short name then fqdn),
// so a name two hosts share would mean one host to one part and the other host to another.
// Each name belongs to the first host that uses it, in file order (names compare as the lookups
// compare them, host_name_key); a later host using it is reported at its own header, under the
// key of the name. A host may repeat one of its own names (its short name or fqdn as an alias).
// A hash map keeps this linear in the number of names: sites have thousands of legacy guests.
// A bastion's address inside a legacy guest's is a conflict; that check is bastions x legacy
// guests, and sites have few bastions.
void PolicyBuilder::cross_check(const SiteConfig& cfg, Diagnostics& d) {
  const auto section_key = [](const HostEntry& h) {
    return std::string(h.role == Role::bastion ? "bastion." : "legacy.") + h.name;
  };
  struct Owner {
    std::size_t host;           // index in cfg.hosts
    bool short_name;            // the name of its [bastion.x] / [legacy.x], else its fqdn or an alias
    std::string_view spelling;  // as configured, for messages
  };
  std::unordered_map<std::string, Owner> owners;
  owners.reserve(cfg.hosts.size() * 3);
  for (std::size_t i = 0; i < cfg.hosts.size(); ++i) {
    const HostEntry& a = cfg.hosts[i];
    const std::string akey = section_key(a);
    // Claims name for host i; key is the dotted key of the name, for the message.
    const auto claim = [&](std::string_view name, bool short_name, const std::string& key) {
      if (name.empty()) return;  // the binder has reported it
      const auto [it, inserted] = owners.try_emplace(host_name_key(name), Owner{i, short_name, name});
      if (inserted || it->second.host == i) return;
      const Owner& first = it->second;
      const std::string bkey = section_key(cfg.hosts[first.host]);
      if (short_name && first.short_name) {
        d.add(ErrorCode::duplicate, a.where, key, "host name already used by [" + bkey + "]");
        return;
      }
      std::string message = "\"" + std::string(name.substr(0, 200)) + "\" is also a name of [" + bkey + "]";
      if (first.spelling != name) message += " (as \"" + std::string(first.spelling.substr(0, 200)) + "\")";
      d.add(ErrorCode::duplicate, a.where, key, std::move(message));
    };
    claim(a.name, true, akey);
    claim(a.fqdn, false, akey + ".fqdn");
    for (std::size_t k = 0; k < a.aliases.size(); ++k) {
      claim(a.aliases[k], false, akey + ".aliases[" + std::to_string(k) + "]");
    }
  }

  std::vector<const HostEntry*> legacy;
  for (const HostEntry& h : cfg.hosts) {
    if (h.role == Role::legacy && !h.addresses.empty()) legacy.push_back(&h);
  }
  for (const HostEntry& bastion : cfg.hosts) {
    if (bastion.role != Role::bastion) continue;
    for (const HostEntry* guest : legacy) {
      for (const Cidr& x : bastion.addresses) {
        for (const Cidr& y : guest->addresses) {
          if (overlaps(x, y)) {
            d.add(ErrorCode::conflict, bastion.where, "bastion." + bastion.name + ".addresses",
                  x.to_string() + " overlaps legacy guest " + guest->name + "'s " + y.to_string() +
                      ": a legacy guest's address must never count as a bastion");
          }
        }
      }
    }
  }
}

Expected<Policy> PolicyBuilder::build(const toml::table& root, Diagnostics& d) {
  Policy p;
  SiteConfig& cfg = p.config_;
  cfg.source = d.file();
  auto hosts = [&](Role role, std::string_view section) {
    return [&cfg, role, section](const toml::node& n, const std::string&, Diagnostics& dd) {
      load_hosts(n, role, section, cfg, dd);
    };
  };
  auto section = [](std::vector<Field> fields) {
    return [fields = std::move(fields)](const toml::node& n, const std::string& key, Diagnostics& dd) {
      if (expect(n, toml::node_type::table, key, dd)) apply(*n.as_table(), key, fields, n.source(), dd);
    };
  };
  const std::vector<std::pair<std::string_view, EnforceMode>> modes = {
      {"enforce", EnforceMode::enforce}, {"monitor", EnforceMode::monitor}};
  const std::vector<std::pair<std::string_view, AlarmEmit>> emits = {
      {"window-end", AlarmEmit::window_end}, {"first-evidence", AlarmEmit::first_evidence}};
  constexpr auto kDay = 86400u;
  const Field top[] = {
      {"realm", text(cfg.realm, true), true},
      {"special_principal", text(cfg.special_principal, true)},
      {"bastion", hosts(Role::bastion, "bastion")},
      {"legacy", hosts(Role::legacy, "legacy")},
      {"bastion_access", section({{"allowed_sources", cidr_array(cfg.allowed_sources)}})},
      {"login", section({
                    {"legacy_console", choice(cfg.legacy_login.console, kAllowDeny)},
                    {"legacy_without_principal", choice(cfg.legacy_login.without_principal, kAllowDeny)},
                    {"bastion_console", choice(cfg.bastion_login.console, kAllowDeny)},
                    {"bastion_without_principal", choice(cfg.bastion_login.without_principal, kAllowDeny)},
                })},
      {"agent", section({
                    {"listen", listeners(cfg.agent.listen)},
                    {"tail", text_array(cfg.agent.tail, non_empty_text)},
                    {"state_dir", text(cfg.agent.state_dir, true)},
                    {"alarm_log", text(cfg.agent.alarm_log, true)},
                    {"allowed_peers", cidr_array(cfg.agent.allowed_peers)},
                    {"max_frame_bytes", u32(cfg.agent.max_frame_bytes, 480, 16u << 20)},
                    {"queue_messages", u32(cfg.agent.queue_messages, 16, 1u << 24)},
                    {"metrics", metrics_target(cfg.agent.metrics)},
                    {"silence_seconds", u32(cfg.agent.silence_seconds, 0, 30 * kDay)},
                })},
      {"alarms", section({
                     {"window_seconds", u32(cfg.alarms.window_seconds, 1, 7 * kDay)},
                     {"skew_seconds", u32(cfg.alarms.skew_seconds, 0, kDay)},
                     {"syslog_target", collector(cfg.alarms.syslog_target)},
                     {"exec", program_argv(cfg.alarms.exec)},
                     {"webhook", web_url(cfg.alarms.webhook)},
                     {"emit", choice(cfg.alarms.emit, emits)},
                 })},
      {"rules", section({
                    {"dir", text(cfg.rules.dir)},
                    // Where the list is: the rule compiler reports an unknown id at this line.
                    {"disabled", located(cfg.rules.disabled_at, text_array(cfg.rules.disabled, non_empty_text))},
                    // At most 256: the scanner keeps the times of that many matches per
                    // threshold group to find a window holding the threshold (scanner/correlator.hpp).
                    {"guessing_threshold", u32(cfg.rules.guessing_threshold, 1, 256)},
                    {"guessing_window_seconds", u32(cfg.rules.guessing_window_seconds, 1, 7 * kDay)},
                })},
      {"kdc", section({
                  {"mode", choice(cfg.kdc.mode, modes)},
                  {"require_bastion_addresses", boolean(cfg.kdc.require_bastion_addresses)},
              })},
  };
  apply(root, "", top, root.source(), d);

  if (!cfg.realm.empty() && (cfg.realm.find_first_of("@/\\ \t") != std::string::npos)) {
    d.add(ErrorCode::bad_value, d.at(root.get("realm")->source()), "realm", "not a realm name");
  }
  check_template(p, root, d);
  cross_check(cfg, d);
  if (std::none_of(cfg.hosts.begin(), cfg.hosts.end(), [](const HostEntry& h) { return h.role == Role::bastion; })) {
    d.add(ErrorCode::missing_key, Location{d.file(), 0, 0}, "bastion", "no [bastion.<name>] is configured");
  }
  if (!d.empty()) return d.take();

  for (std::size_t i = 0; i < cfg.hosts.size(); ++i) {
    const HostEntry& h = cfg.hosts[i];
    if (h.role != Role::legacy) continue;
    Policy::SpecialPattern sp{i, p.template_prefix_, p.template_suffix_};
    if (p.user_first_) {
      sp.tail.insert(0, p.template_middle_ + h.name);
    } else {
      sp.head += h.name + p.template_middle_;
    }
    p.special_patterns_.push_back(std::move(sp));
  }
  p.index_special_patterns();
  auto parser = PrincipalParser::create();
  if (!parser) return parser.errors();
  p.parser_ = std::move(parser.value());
  return p;
}

Policy::Policy() = default;
Policy::Policy(Policy&&) noexcept = default;
Policy& Policy::operator=(Policy&&) noexcept = default;
Policy::~Policy() = default;

Expected<Policy> Policy::load(std::string_view toml_text, std::string_view file_name) {
  Diagnostics d{std::string(file_name)};
  if (toml_text.size() > kMaxConfigBytes) {
    d.add(ErrorCode::bad_value, Location{d.file(), 0, 0}, "", "config larger than 4 MiB");
    return d.take();
  }
  if (toml_text.find('\0') != std::string_view::npos) {
    d.add(ErrorCode::syntax, Location{d.file(), 0, 0}, "", "config contains a NUL byte");
    return d.take();
  }
  toml::parse_result parsed = toml::parse(toml_text, file_name);
  if (!parsed) {
    const toml::parse_error& e = parsed.error();
    d.add(ErrorCode::syntax, e.source(), "", std::string(e.description()));
    return d.take();
  }
  return PolicyBuilder::build(parsed.table(), d);
}

Expected<Policy> Policy::load_file(const std::string& path) {
  auto text = read_text_file(path, kMaxConfigBytes, "config");
  if (!text) return text.errors();
  return load(text.value(), path);
}

namespace {

// Host names are DNS names: ASCII case does not matter ("LEGACY1" in a syslog header of an old
// guest, "host/Legacy1@REALM" in a KDC database are legacy1), and "legacy1.hg.test." (the
// absolute form, with the root's dot) is legacy1.hg.test. Anything else must match exactly:
// legacy10 and legacy1.evil.example are not legacy1.
bool same_host_name(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

template <typename Match>
const HostEntry* find_with_root_dot(std::string_view name, Match match) noexcept {
  if (const HostEntry* h = match(name)) return h;
  if (name.size() > 1 && name.back() == '.' && name[name.size() - 2] != '.') {
    return match(name.substr(0, name.size() - 1));
  }
  return nullptr;
}

}  // namespace

const HostEntry* Policy::find_host(std::string_view short_name) const noexcept {
  return find_with_root_dot(short_name, [this](std::string_view n) -> const HostEntry* {
    for (const auto& h : config_.hosts) {
      if (same_host_name(h.name, n)) return &h;
    }
    return nullptr;
  });
}

const HostEntry* Policy::find_host_by_fqdn(std::string_view name) const noexcept {
  const HostEntry* by_name = find_with_root_dot(name, [this](std::string_view n) -> const HostEntry* {
    for (const auto& h : config_.hosts) {
      if (same_host_name(h.fqdn, n)) return &h;
      for (const auto& a : h.aliases) {
        if (same_host_name(a, n)) return &h;
      }
    }
    return nullptr;
  });
  if (by_name != nullptr) return by_name;
  // An address literal names the host it is configured for: a relay fills the syslog HOSTNAME of
  // an old guest's header-less message with the sender's IP when it has no DNS name for it.
  if (const auto address = parse_address(name)) {
    for (const auto& h : config_.hosts) {
      for (const auto& c : h.addresses) {
        if (c.contains(*address)) return &h;
      }
    }
  }
  return nullptr;
}

const HostEntry* Policy::bastion_at(const Address& address) const noexcept {
  for (const auto& h : config_.hosts) {
    if (h.role != Role::bastion) continue;
    for (const auto& c : h.addresses) {
      if (c.contains(address)) return &h;
    }
  }
  return nullptr;
}

bool Policy::is_bastion_address(const Address& address) const noexcept {
  return bastion_at(address) != nullptr;
}

bool Policy::is_allowed_source(const Address& address) const noexcept {
  return std::any_of(config_.allowed_sources.begin(), config_.allowed_sources.end(),
                     [&](const Cidr& c) { return c.contains(address); });
}

}  // namespace hopguard
