// The site policy: the one domain model shared by the PAM module, the Kerberos plugins, the
// scanner and the agent. Loaded from the site config (DESIGN section 3, contract); every key
// with its default is documented in etc/hopguard.toml.
//
// A Policy is immutable once loaded. It owns a libkrb5 context used only to parse principal
// names; MIT krb5 contexts must not be used by two threads at once, so a Policy must not be
// used concurrently from several threads (load one per thread, or guard it).
#pragma once

#include <hopguard/address.hpp>
#include <hopguard/decision.hpp>
#include <hopguard/error.hpp>
#include <hopguard/principal.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hopguard {

inline constexpr std::string_view kDefaultConfigPath = "/etc/hopguard/hopguard.toml";

struct HostEntry {
  std::string name;  // short name: the {host} of special principals for legacy guests
  Role role = Role::legacy;
  std::string fqdn;                  // as in service principals: host/<fqdn>@REALM
  std::vector<std::string> aliases;  // further names this host's service principals use
  std::vector<Cidr> addresses;
  Location where;  // the [bastion.x] / [legacy.x] header
};

enum class LoginDefault { allow, deny };

// What a role does when a fact is missing. Legacy guests default to deny for both.
struct LoginOptions {
  LoginDefault console = LoginDefault::deny;            // no remote host (console, su, cron)
  LoginDefault without_principal = LoginDefault::deny;  // session with no Kerberos principal
};

enum class Transport { tcp, udp };

// A listener or collector address: "tcp://127.0.0.1:5514", "udp://[::1]:5514",
// "tcp://collector.example:6514".
struct Endpoint {
  Transport transport = Transport::tcp;
  std::string host;  // without brackets; a literal address for listeners, a name allowed for collectors
  std::uint16_t port = 0;
  std::string text;  // the configured spelling, for messages
  bool operator==(const Endpoint&) const = default;
};

// Parses "tcp://HOST:PORT" or "udp://HOST:PORT"; IPv6 literals in brackets; port 0..65535 (a
// listener on port 0 gets an ephemeral port). On failure one bad_value error naming key, without
// a location (the config loader adds file and line).
Expected<Endpoint> parse_endpoint(std::string_view text, std::string_view key);

// The [agent] and [alarms] values are checked at load (policy/config_loader.cpp): a loaded
// Policy holds only endpoints, programs and URLs that hopguardd can use as they are.
struct AgentConfig {
  std::vector<Endpoint> listen;           // literal addresses, each listed once
  std::vector<std::string> tail;          // KDC log files to follow
  std::string state_dir = "/var/lib/hopguard";
  std::string alarm_log = "/var/log/hopguard/alarms.jsonl";
  std::vector<Cidr> allowed_peers;        // empty: any peer may send
  std::uint32_t max_frame_bytes = 65536;  // longest syslog frame accepted
  std::uint32_t queue_messages = 65536;   // bounded queue between inputs and the scanner
  std::string metrics;                    // "" off; "tcp://127.0.0.1:9514" or "file:/path.prom"
  std::uint32_t silence_seconds = 3600;   // self-alarm when an input reads nothing this long; 0 never
};

// When hopguardd writes an incident's alarm.
enum class AlarmEmit {
  window_end,      // once, when the incident's window closes: one alarm with all its evidence
  first_evidence,  // at the first evidence, and again with the full count if more merged
};

struct AlarmConfig {
  std::uint32_t window_seconds = 600;  // evidence for one (rule, principal, target) merges within this
  std::uint32_t skew_seconds = 300;    // tolerated disorder of event times between sources
  std::optional<Endpoint> syslog_target;  // off; "tcp://HOST:PORT" RFC 5424 collector, port not 0
  std::vector<std::string> exec;       // [] off; argv of a program given each alarm on stdin; exec[0] absolute
  std::string webhook;                 // "" off; http(s) URL receiving each alarm as a POST
  AlarmEmit emit = AlarmEmit::window_end;
};

struct RulesConfig {
  std::string dir;                            // "" : the shipped rules only
  std::vector<std::string> disabled;          // rule ids switched off
  Location disabled_at;                       // the disabled key, for the rule compiler's messages
  std::uint32_t guessing_threshold = 5;       // failures on special principals ...
  std::uint32_t guessing_window_seconds = 300;  // ... within this many seconds raise row 7
};

enum class EnforceMode { enforce, monitor };

struct KdcConfig {
  EnforceMode mode = EnforceMode::enforce;
  bool require_bastion_addresses = false;  // check_as: special TGTs must be bound to bastion addresses
};

struct SiteConfig {
  std::string source;  // the file name the config was read from (for messages)
  std::string realm;
  std::string special_principal = "{user}-{host}";
  std::vector<HostEntry> hosts;  // bastions and legacy guests, in file order
  std::vector<Cidr> allowed_sources;
  LoginOptions legacy_login{LoginDefault::deny, LoginDefault::deny};
  LoginOptions bastion_login{LoginDefault::allow, LoginDefault::allow};
  AgentConfig agent;
  AlarmConfig alarms;
  RulesConfig rules;
  KdcConfig kdc;
};

class PrincipalParser;  // wraps a krb5_context (policy/principal_classifier.cpp)

class Policy {
 public:
  // Parses and validates config text. file_name is used in messages only.
  // Reports every error at once.
  static Expected<Policy> load(std::string_view toml_text, std::string_view file_name);
  // Reads the file and calls load(). The only I/O in policy/.
  static Expected<Policy> load_file(const std::string& path);

  Policy(Policy&&) noexcept;
  Policy& operator=(Policy&&) noexcept;
  ~Policy();

  const SiteConfig& config() const noexcept { return config_; }

  // The configured host with this short name, or null. Both lookups compare host names as DNS
  // names: ASCII case ignored, and one trailing root dot ("legacy1.hg.test.") too.
  const HostEntry* find_host(std::string_view short_name) const noexcept;
  // The configured host whose fqdn or alias equals name, or whose addresses hold name when it is
  // an IP address literal, or null.
  const HostEntry* find_host_by_fqdn(std::string_view name) const noexcept;

  // Classifies a principal name (DESIGN section 4). Never fails: bad input is class invalid.
  Principal classify(std::string_view principal_text) const;
  // classify(text).cls and, for a special principal, its legacy guest (find_host(.host)); what
  // the scanner needs of every name it sees first. The usual spelling ([A-Za-z0-9._-]
  // components, '/', one '@') is classified without building the Principal; every other text
  // goes through classify().
  struct ClassOf {
    PrincipalClass cls = PrincipalClass::invalid;
    const HostEntry* guest = nullptr;
    // A special principal that classify_plain answered: its {user} part (classify's user), a
    // view into the text. Empty otherwise (classify_class leaves it so for other spellings).
    std::string_view user;
  };
  ClassOf classify_class(std::string_view principal_text) const;
  // classify_class for the usual spelling only, without libkrb5 and without allocating: true and
  // out set when text has that shape, false (out untouched) for every other text. Pure and cheap
  // enough to be asked on every line instead of a cache lookup.
  bool classify_plain(std::string_view principal_text, ClassOf& out) const noexcept;
  // False only when classify_class(text).cls cannot be special: a cheap test on the text that
  // lets the scanner skip its principal-cache lookup for rules that need a special principal.
  // Sound for every text (tests/policy compares it with classify_class on generated and
  // adversarial names); true does not mean special.
  bool may_be_special(std::string_view principal_text) const noexcept;
  // "<user>-<host>@REALM" per special_principal.
  std::string special_principal_for(std::string_view user, std::string_view host) const;

  // True iff address is one of some bastion's addresses.
  bool is_bastion_address(const Address& address) const noexcept;
  // The bastion owning this address, or null.
  const HostEntry* bastion_at(const Address& address) const noexcept;
  // True iff address lies in [bastion_access] allowed_sources.
  bool is_allowed_source(const Address& address) const noexcept;

 private:
  Policy();
  SiteConfig config_;
  std::string template_prefix_, template_middle_, template_suffix_;  // around {user}/{host}
  bool user_first_ = true;  // "{user}" appears before "{host}" in the template
  // The pieces of special_principal_for(user, host), in order (views into the arguments and
  // this policy).
  std::array<std::string_view, 7> special_principal_parts(std::string_view user, std::string_view host) const noexcept;
  // Per legacy guest, the fixed text before and after {user} in its special principals,
  // computed once at load so classify() does no allocation per guest.
  struct SpecialPattern {
    std::size_t host_index;
    std::string head, tail;
  };
  std::vector<SpecialPattern> special_patterns_;
  // The same answer as match_special, from an index of the patterns' host-dependent part (the
  // tail when {user} comes first, else the head): those parts are distinct (host names are), so
  // a name fits at most one pattern per part length, and the longest length that fits names the
  // longest host. One hash lookup per distinct part length instead of a compare per guest.
  // user: set to the {user} part of primary when a guest is found.
  const HostEntry* match_special_indexed(std::string_view primary, std::string_view& user) const noexcept;
  void index_special_patterns();  // builds the index below from special_patterns_
  std::vector<std::size_t> special_part_sizes_;  // distinct sizes of the indexed parts, longest first
  std::vector<std::uint32_t> special_slots_;     // open addressing: special_patterns_ index + 1; 0 free
  std::size_t special_mask_ = 0;
  // may_be_special's tests, one per distinct (size, offset) of the separator next to {user} in
  // the patterns: a primary that fits a pattern is at least min_size bytes long and holds the
  // byte sep at offset (counted from its end when from_end).
  struct SeparatorProbe {
    std::size_t min_size, offset;
    bool from_end;
    char sep;
  };
  std::vector<SeparatorProbe> separator_probes_;
  // The guest whose pattern fits a primary name (the longer host name wins when two fit), the
  // user's offset and length in it; null when none fits.
  const HostEntry* match_special(std::string_view primary, std::size_t& user_at, std::size_t& user_size) const noexcept;
  std::unique_ptr<PrincipalParser> parser_;
  friend class PolicyBuilder;
};

// The decision the PAM module and the Kerberos plugins enforce. Pure: no I/O, no clock.
// Precondition: none; an unknown host or a role that does not match the host's configured role
// is denied with rule config-error (fail closed).
Decision decide(const Policy& policy, const Request& request);

// This host's identity (DESIGN "Modules and their configuration"): explicit_name (PAM host=),
// else env_name (HOPGUARD_HOST), else the system host name matched against configured short
// names and fqdns (and its first label against short names). Empty strings count as absent.
Expected<const HostEntry*> resolve_host(const Policy& policy, std::string_view explicit_name,
                                        std::string_view env_name,
                                        std::string_view system_hostname);

// Config file lookup: explicit, else env (HOPGUARD_CONFIG), else kDefaultConfigPath.
std::string resolve_config_path(std::string_view explicit_path, std::string_view env_path);

}  // namespace hopguard
