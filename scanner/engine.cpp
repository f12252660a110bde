#include "engine.hpp"

#include "compiled_rule.hpp"
#include "correlator.hpp"
#include "direct_memo.hpp"
#include "text_search.hpp"

#include <hopguard/address.hpp>

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <optional>
#include <unordered_map>
#include <vector>

namespace hopguard::scanner {

namespace {

// The principal cache (EngineOptions::principal_cache_entries) keeps only names
// Policy::classify_plain does not answer (escapes, enterprise names, other bytes: libkrb5
// parses them), rare in a KDC log. The memos of host names, addresses and services hold
// EngineOptions::memo_entries each.
constexpr std::size_t kMaxTrackedSessions = 4096;
constexpr std::size_t kMaxSessionKeys = 8;  // incidents remembered per sshd process
constexpr std::size_t kMaxMemoisedText = 255;     // longer service names are not memoised

// pam_syslog's prefix of a hopguard record; checked on every line of other programs.
inline bool is_pam_record(std::string_view message) noexcept { return starts_with(message, "pam_hopguard("); }

inline bool is_kdcpolicy_record(std::string_view message) noexcept {
  static_assert(kKdcPolicyPrefix == "hopguard: ");
  return starts_with(message, "hopguard: ");
}

// Records of hopguard inside other programs' lines. pam_syslog logs under the PAM application's
// name (sshd, login, su, sudo, ...); the kdcpolicy module's records are written by krb5kdc itself,
// as trustworthy as its request lines.
constexpr DecoderEntry kPamRecords{"pam_hopguard", EventSource::hopguard, &decode_hopguard};
constexpr DecoderEntry kKdcPolicyRecords{"krb5kdc", EventSource::hopguard, &decode_kdcpolicy};

// Probe limit of the open-addressed tables below. The hash's seed is fixed (as std::hash's
// was), so names and addresses made to collide (a client chooses the name a failed KDC request
// logs) could otherwise make every lookup walk a chain as long as the table: past this many
// slots a lookup gives up (the caches then compute the answer without keeping it; the keyed
// maps are emptied as when full). Honest keys at the tables' load (at most half) almost never
// probe more than a few slots.
constexpr std::size_t kMaxProbe = 64;

// A bounded map from short texts (addresses, host names, service names) to a trivially
// copyable value: open addressing over 2 x max_entries slots of (hash, entry index), entries
// and their keys kept densely (the keys back to back in one string), emptied whole when
// max_entries are held or their keys hold kMaxKeyBytes -- the behaviour of the
// std::unordered_map it replaces (cleared when full), without its heap node per key and chain
// walk per lookup. The keys are line text (a KDC line's address field, a service instance), as
// long as a frame in a forged line: bounding only their number let 4096 of them hold 256 MiB at
// 64 KiB frames. Views returned by find() and insert() stay valid until the next insert() or
// clear().
template <typename V>
class FlatTextMap {
 public:
  explicit FlatTextMap(std::size_t max_entries) : max_entries_(max_entries) {
    std::size_t n = 16;
    while (n < max_entries * 2) n <<= 1;
    slots_.assign(n, Slot{});
    mask_ = n - 1;
  }

  V* find(std::string_view key, std::uint64_t hash) noexcept {
    std::size_t i = hash & mask_;
    for (std::size_t probe = 0; probe < kMaxProbe; ++probe, i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.index == 0) return nullptr;
      if (s.hash != hash) continue;
      Entry& e = entries_[s.index - 1];
      if (e.key_size == key.size() && equal_bytes(keys_.data() + e.key_offset, key.data(), key.size())) {
        return &e.value;
      }
    }
    return nullptr;
  }

  // key must not be present. Empties the map first when it holds max_entries keys or the key
  // would take its keys past kMaxKeyBytes (or when the key's probe run is longer than
  // kMaxProbe). So the keys hold at most kMaxKeyBytes, or one key alone (a frame at most).
  V& insert(std::string_view key, std::uint64_t hash) {
    if (entries_.size() >= max_entries_ || keys_.size() + key.size() > kMaxKeyBytes) clear();
    std::size_t i = hash & mask_;
    std::size_t probe = 0;
    while (slots_[i].index != 0) {
      if (++probe >= kMaxProbe) {
        clear();
        i = hash & mask_;
        break;
      }
      i = (i + 1) & mask_;
    }
    slots_[i] = Slot{hash, static_cast<std::uint32_t>(entries_.size() + 1)};
    entries_.push_back(Entry{keys_.size(), key.size(), V{}});
    keys_.append(key);
    return entries_.back().value;
  }

  // Honest keys (addresses, host names, service names) are tens of bytes: 4096 of them fit.
  static constexpr std::size_t kMaxKeyBytes = std::size_t{1} << 20;

  void clear() {
    if (entries_.empty()) return;
    std::fill(slots_.begin(), slots_.end(), Slot{});
    entries_.clear();
    keys_.clear();
  }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    std::uint32_t index = 0;  // entries_ index + 1; 0: free
  };
  struct Entry {
    std::size_t key_offset, key_size;
    V value;
  };
  std::size_t max_entries_;
  std::size_t mask_ = 0;
  std::vector<Slot> slots_;
  std::vector<Entry> entries_;
  std::string keys_;
};

// What a KDC line's rules need of a principal: its class and, for a special principal, its
// legacy guest. Policy::classify's whole answer (canonical name, user, why_invalid) is computed
// again only for an alarm or an explanation.
struct PrincipalFacts {
  PrincipalClass cls = PrincipalClass::invalid;
  const HostEntry* guest = nullptr;  // special: the configured legacy guest
};

// The principal-class cache: name -> PrincipalFacts, at most max_entries names, emptied when
// full. Open addressing with linear probing over a flat array of one-cache-line slots kept at
// most half full, allocated once: a slot holds the full hash, the facts and a name of up to
// kInlineKey bytes itself, so that a lookup of a usual name touches one cache line (longer
// names are kept back to back in one arena: one more line). The cache it replaces kept a whole
// Principal (five strings and a vector, ~200 bytes and several heap blocks) per name in a
// deque, and its key in an arena: three dependent cache misses per lookup, and resident memory
// that grew with the names seen. Memory here: 64 x 2 x max_entries bytes from the start (1 MiB
// for 8192), plus the arena of long names (at most 16 MiB).
class PrincipalCache {
 public:
  explicit PrincipalCache(std::size_t max_entries) : max_entries_(max_entries) {
    std::size_t n = 16;
    while (n < max_entries * 2) n <<= 1;
    // 2 MiB-aligned and, where the kernel has transparent huge pages on request, in huge
    // pages: every lookup lands on a random slot, and with 4 KiB pages each would also miss
    // the TLB (a two-level page walk under virtualisation). A hint: without it nothing changes
    // but the speed. Allocation failure throws std::bad_alloc, as the vector before did.
    // A small cache (a fuzzer's) takes no huge page.
    constexpr std::size_t kHuge = std::size_t{2} << 20;
    const std::size_t align = n * sizeof(Slot) >= kHuge / 4 ? kHuge : alignof(Slot);
    const std::size_t bytes = (n * sizeof(Slot) + align - 1) / align * align;
    void* memory = std::aligned_alloc(align, bytes);
    if (memory == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    if (align == kHuge) (void)madvise(memory, bytes, MADV_HUGEPAGE);
#endif
    slots_.reset(static_cast<Slot*>(memory));
    size_ = n;
    mask_ = n - 1;
    for (std::size_t i = 0; i < n; ++i) new (&slots_[i]) Slot{};
  }

  const PrincipalFacts* find(std::string_view name, std::uint64_t hash) const noexcept {
    std::size_t i = hash & mask_;
    for (std::size_t probe = 0; probe < kMaxProbe; ++probe, i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (!s.used) return nullptr;
      if (s.hash == hash && s.key_size == name.size() &&
          equal_bytes(s.key_size <= kInlineKey ? s.key : arena_.data() + s.key_offset, name.data(), name.size())) {
        return &s.facts;
      }
    }
    return nullptr;
  }

  // name must not be present. Empties the cache first when it holds max_entries names or
  // kMaxArenaBytes of long ones (names come from log lines: each may be as long as a frame).
  // Returns null, keeping nothing, when the name's probe run is longer than kMaxProbe.
  const PrincipalFacts* insert(std::string_view name, std::uint64_t hash, PrincipalFacts facts) {
    const bool inline_key = name.size() <= kInlineKey;
    if (entries_ >= max_entries_ || (!inline_key && arena_.size() + name.size() > kMaxArenaBytes)) clear();
    std::size_t i = hash & mask_;
    for (std::size_t probe = 0; slots_[i].used; ++probe, i = (i + 1) & mask_) {
      if (probe + 1 >= kMaxProbe) return nullptr;
    }
    Slot& s = slots_[i];
    s.hash = hash;
    s.facts = facts;
    s.key_size = static_cast<std::uint32_t>(name.size());
    s.used = true;
    if (inline_key) {
      std::copy_n(name.data(), name.size(), s.key);  // data() may be null when empty
    } else {
      s.key_offset = static_cast<std::uint32_t>(arena_.size());
      arena_.append(name);
    }
    ++entries_;
    return &s.facts;
  }

  void clear() {
    std::fill(slots_.get(), slots_.get() + size_, Slot{});
    entries_ = 0;
    arena_.clear();
  }

 private:
  static constexpr std::size_t kInlineKey = 31;
  static constexpr std::size_t kMaxArenaBytes = 16u << 20;
  struct alignas(64) Slot {
    std::uint64_t hash = 0;
    PrincipalFacts facts;           // 16 bytes
    std::uint32_t key_offset = 0;   // in arena_, when key_size > kInlineKey
    std::uint32_t key_size = 0;
    bool used = false;
    char key[kInlineKey];
  };
  static_assert(sizeof(Slot) == 64);
  static_assert(std::is_trivially_destructible_v<Slot>);
  struct Free {
    void operator()(Slot* p) const noexcept { std::free(p); }
  };
  std::size_t max_entries_;
  std::size_t size_ = 0;
  std::size_t mask_ = 0;
  std::size_t entries_ = 0;
  std::unique_ptr<Slot[], Free> slots_;
  std::string arena_;
};

std::string_view evidence_source(const Event& ev) noexcept {
  switch (ev.source) {
    case EventSource::kdc: return "kdc";
    case EventSource::sshd: return "sshd";
    case EventSource::hopguard:
      if (ev.component == "pam_hopguard") return "pam";
      return ev.component == "hopguard_kdcpolicy" ? "kdc" : "hopguard";
    case EventSource::none: break;
  }
  return "syslog";
}

}  // namespace

// What the engine remembers of sshd processes, keyed by (host, pid), is bounded in two
// generations of kMaxTrackedSessions processes each: when the current one is full it becomes the
// previous one and the one before is dropped, so the latest kMaxTrackedSessions processes are
// always known (PeerAddresses: also rotated at 1 MiB of keys, so at least 3653 of the longest
// keys the engine tracks). (Emptying one full map forgot them all at once: 4096 sshd
// connections opened between a login's auth line and its later record made the engine forget
// that login.)

// (host, pid) -> the peer address of the process' latest auth line, in two generations (above).
// Every sshd auth line sets one, so a set builds no key string and allocates nothing. Each
// generation is allocated once:
// - a table of 2 x kMaxTrackedSessions slots: entry index + 1 and the key hash's upper half, so
//   that a probe reads an entry only when that half matches (the entries are a cache miss away);
// - kMaxTrackedSessions entries; an entry holds an address of up to kInlineAddress bytes (an IPv6
//   text is at most 45) itself, and a longer one (a host name, when sshd resolves peers) gets 255
//   bytes of room in the generation's overflow text, once per entry;
// - an arena of kKeyBytes for the keys (host and pid back to back).
// Hosts longer than 255 bytes and pids longer than 32 are not tracked (the caller's bound), so a
// generation holds at least kKeyBytes / 287 = 3653 processes, whatever the lines.
class PeerAddresses {
 public:
  static constexpr std::size_t kMaxHost = 255, kMaxPid = 32;

  // The address last set for (host, pid), if either generation knows it. Valid until the next
  // set() or clear().
  std::optional<std::string_view> find(std::string_view host, std::string_view pid) const noexcept {
    if (host.size() > kMaxHost || pid.size() > kMaxPid) return std::nullopt;  // never set
    const std::uint64_t hash = key_hash(host, pid);
    for (const Generation* g : {&gen_[current_], &gen_[current_ ^ 1]}) {
      if (const Entry* e = g->find(host, pid, hash)) return g->address(*e);
    }
    return std::nullopt;
  }

  // host.size() <= kMaxHost, pid.size() <= kMaxPid; the address is cut at 255 bytes. Out of
  // line: only sshd auth lines call it, and inlined it made every line's evaluate_event larger.
  [[gnu::noinline]] void set(std::string_view host, std::string_view pid, std::string_view address) {
    const std::uint64_t hash = key_hash(host, pid);
    Entry* e = gen_[current_].find(host, pid, hash);
    if (e == nullptr) {
      e = gen_[current_].insert(host, pid, hash);
      if (e == nullptr) {  // full (entries or key bytes), or a probe run past kMaxProbe: rotate
        current_ ^= 1;
        gen_[current_].clear();
        e = gen_[current_].insert(host, pid, hash);  // an empty generation takes any bounded key
      }
    }
    gen_[current_].put_address(*e, address.substr(0, 255));
  }

  void clear() noexcept {
    gen_[0].clear();
    gen_[1].clear();
  }

 private:
  static constexpr std::size_t kSlots = 2 * kMaxTrackedSessions;  // a power of two
  static constexpr std::size_t kKeyBytes = std::size_t{1} << 20;
  static constexpr std::size_t kInlineAddress = 46;
  static constexpr std::uint32_t kNotLong = UINT32_MAX;

  struct Slot {
    std::uint32_t index;  // entries index + 1; 0: free
    std::uint32_t hash_high;
  };

  struct Entry {
    std::uint64_t hash;
    std::uint32_t key_at;   // arena offset of host, then pid
    std::uint32_t long_at;  // overflow offset of the address's 255 bytes of room, or kNotLong
    std::uint8_t host_size, pid_size, address_size;
    char address[kInlineAddress];  // when long_at == kNotLong
  };

  static std::uint64_t key_hash(std::string_view host, std::string_view pid) noexcept {
    return detail::mix64(hash_bytes(host), hash_bytes(pid) ^ pid.size());
  }

  struct Generation {
    // Slots zeroed; entries and keys left uninitialised (written before they are read), so their
    // pages become resident only as processes are tracked.
    std::unique_ptr<Slot[]> slots = std::make_unique<Slot[]>(kSlots);
    std::unique_ptr<Entry[]> entries = std::make_unique_for_overwrite<Entry[]>(kMaxTrackedSessions);
    std::unique_ptr<char[]> keys = std::make_unique_for_overwrite<char[]>(kKeyBytes);
    std::string overflow;
    std::size_t count = 0, key_bytes = 0;

    Entry* find(std::string_view host, std::string_view pid, std::uint64_t hash) const noexcept {
      std::size_t i = hash & (kSlots - 1);
      for (std::size_t probe = 0; probe < kMaxProbe; ++probe, i = (i + 1) & (kSlots - 1)) {
        const Slot s = slots[i];
        if (s.index == 0) return nullptr;
        if (s.hash_high != static_cast<std::uint32_t>(hash >> 32)) continue;
        Entry& e = entries[s.index - 1];
        if (e.hash == hash && e.host_size == host.size() && e.pid_size == pid.size() &&
            equal_bytes(keys.get() + e.key_at, host.data(), host.size()) &&
            equal_bytes(keys.get() + e.key_at + host.size(), pid.data(), pid.size())) {
          return &e;
        }
      }
      return nullptr;
    }

    // The key must not be present. Null, keeping nothing, when the generation holds
    // kMaxTrackedSessions entries, the key would take the arena past kKeyBytes, or the key's
    // probe run is longer than kMaxProbe.
    [[gnu::always_inline]] Entry* insert(std::string_view host, std::string_view pid, std::uint64_t hash) noexcept {
      if (count == kMaxTrackedSessions || key_bytes + host.size() + pid.size() > kKeyBytes) return nullptr;
      std::size_t i = hash & (kSlots - 1);
      for (std::size_t probe = 0; slots[i].index != 0; ++probe, i = (i + 1) & (kSlots - 1)) {
        if (probe + 1 >= kMaxProbe) return nullptr;
      }
      Entry& e = entries[count];
      slots[i] = Slot{static_cast<std::uint32_t>(++count), static_cast<std::uint32_t>(hash >> 32)};
      e.hash = hash;
      e.key_at = static_cast<std::uint32_t>(key_bytes);
      e.long_at = kNotLong;
      e.host_size = static_cast<std::uint8_t>(host.size());
      e.pid_size = static_cast<std::uint8_t>(pid.size());
      e.address_size = 0;
      copy_short_bytes(keys.get() + key_bytes, host.data(), host.size());
      copy_short_bytes(keys.get() + key_bytes + host.size(), pid.data(), pid.size());
      key_bytes += host.size() + pid.size();
      return &e;
    }

    // address.size() <= 255.
    [[gnu::always_inline]] void put_address(Entry& e, std::string_view address) {
      char* to = e.address;
      if (e.long_at != kNotLong) {
        to = overflow.data() + e.long_at;
      } else if (address.size() > kInlineAddress) {
        e.long_at = static_cast<std::uint32_t>(overflow.size());
        overflow.resize(overflow.size() + 255);
        to = overflow.data() + e.long_at;
      }
      copy_short_bytes(to, address.data(), address.size());
      e.address_size = static_cast<std::uint8_t>(address.size());
    }

    std::string_view address(const Entry& e) const noexcept {
      return {e.long_at != kNotLong ? overflow.data() + e.long_at : e.address, e.address_size};
    }

    void clear() noexcept {
      if (count == 0) return;
      std::fill_n(slots.get(), kSlots, Slot{0, 0});
      count = 0;
      key_bytes = 0;
      overflow.clear();
    }
  };
  Generation gen_[2];
  int current_ = 0;
};

// (host, pid) -> the keys of the incidents a line of that sshd process fed (at most
// kMaxSessionKeys, each once), until the login's outcome takes them.
class ProcessIncidents {
 public:
  bool empty() const noexcept { return current_.empty() && previous_.empty(); }

  // Removes and returns the process' incident keys (none if it is not known).
  std::vector<std::string> take(const std::string& process) {
    for (auto* m : {&current_, &previous_}) {
      if (auto it = m->find(process); it != m->end()) {
        std::vector<std::string> keys = std::move(it->second);
        m->erase(it);
        return keys;
      }
    }
    return {};
  }

  void add(const std::string& process, const std::string& key) {
    auto it = current_.find(process);
    if (it == current_.end()) {
      // A process known to the previous generation moves on with its keys: taken out before a
      // rotation would drop that generation.
      auto node = previous_.extract(process);
      if (current_.size() >= kMaxTrackedSessions) {
        previous_ = std::move(current_);
        current_.clear();
      }
      it = node.empty() ? current_.emplace(process, std::vector<std::string>{}).first
                        : current_.insert(std::move(node)).position;
    }
    std::vector<std::string>& keys = it->second;
    if (keys.size() < kMaxSessionKeys && std::find(keys.begin(), keys.end(), key) == keys.end()) {
      keys.push_back(key);
    }
  }

  void clear() {
    current_.clear();
    previous_.clear();
  }

 private:
  std::unordered_map<std::string, std::vector<std::string>> current_, previous_;
};

struct Engine::Impl {
  std::shared_ptr<const Policy> policy;
  std::shared_ptr<const Ruleset> rules;
  bool regex_rules = false;  // rules->has_regex_rules(), asked once per ruleset, not per line
  EngineOptions options;
  EngineStats stats;
  Correlator correlator;
  DecodeScratch scratch;
  std::int64_t watermark = INT64_MIN;
  std::int64_t skew_ms = 0;
  std::string tgs_name;  // "krbtgt/REALM@REALM"
  PrincipalCache principals{options.principal_cache_entries};
  SyslogDateMemo date_memo;
  // Memos of policy lookups by text (host names and addresses repeat on every line): bounded,
  // cleared when full and on replace().
  struct AddressFacts {
    bool parsed = false, bastion = false, allowed = false;
  };
  FlatTextMap<const HostEntry*> hosts_by_name{options.memo_entries};
  FlatTextMap<AddressFacts> addresses{options.memo_entries};

  // The configured host named name (short name first, then fqdn or alias), or null.
  const HostEntry* host_named(std::string_view name) {
    const std::uint64_t hash = hash_bytes(name);
    if (const HostEntry* const* h = hosts_by_name.find(name, hash)) return *h;
    const HostEntry* h = policy->find_host(name);
    if (h == nullptr) h = policy->find_host_by_fqdn(name);
    hosts_by_name.insert(name, hash) = h;
    return h;
  }

  // Memos by slot (DirectMemo) in front of host_named() for its two per-event call sites (the
  // service instance and the logging host, which repeat from line to line: "HG.TEST" of the TGS,
  // the guests' and the bastion's names, the KDC's own name), so that the common case is a short
  // compare instead of a hash. Slots, not a few entries in turn: the sshd lines of a mixed log
  // come from the bastions and every guest, and four entries missed on three lines in four.
  // Valid because host_named(name) depends only on the policy; cleared with the maps on replace().
  using HostMemo = DirectMemo<const HostEntry*, 256, 47>;
  HostMemo service_host_memo, logging_host_memo;

  const HostEntry* host_named(std::string_view name, HostMemo& memo) {
    std::size_t slot = 0;
    if (const HostEntry* const* h = memo.find(name, slot)) return *h;
    const HostEntry* h = host_named(name);
    memo.put(slot, name, h);
    return h;
  }

  // What facts_for reads of a service name, by its text (a KDC log names a few dozen services
  // over and over, the TGS and each guest's host/ and the bastions'): the instance (as offset and
  // size in the text), whether it is the TGS, and the configured host the instance names. All
  // depend only on the text and the policy; emptied on replace() and when 4096 are held.
  struct ServiceFacts {
    std::uint32_t instance_at = 0, instance_size = 0;
    bool tgt = false;
    const HostEntry* host = nullptr;
  };
  FlatTextMap<ServiceFacts> services{options.memo_entries};

  // The last service texts by slot (DirectMemo), in front of the map: a line's service is most
  // often one of a few dozen, and a slot hit saves the hash and the map's probe.
  DirectMemo<ServiceFacts, 512, 47> service_memo;

  [[gnu::always_inline]] const ServiceFacts& service_facts(std::string_view service) {
    std::size_t slot;
    if (const ServiceFacts* known = service_memo.find(service, slot)) return *known;
    return service_facts_missed(service, slot);
  }

  [[gnu::noinline]] const ServiceFacts& service_facts_missed(std::string_view service, std::size_t slot) {
    const ServiceFacts& sf = service_facts_mapped(service);
    service_memo.put(slot, service, sf);
    return sf;
  }

  const ServiceFacts& service_facts_mapped(std::string_view service) {
    const std::uint64_t hash = hash_bytes(service);
    if (const ServiceFacts* known = services.find(service, hash)) return *known;
    std::string_view primary, instance, realm;
    split_service(service, primary, instance, realm);
    ServiceFacts sf;
    sf.instance_at = static_cast<std::uint32_t>(instance.data() - service.data());
    sf.instance_size = static_cast<std::uint32_t>(instance.size());
    if (instance.empty()) sf.instance_at = 0;  // an empty view's data() may point anywhere
    sf.tgt = service == tgs_name;
    if (!instance.empty()) sf.host = host_named(instance, service_host_memo);
    if (service.size() > kMaxMemoisedText) {  // not kept: a hostile line's long name
      uncached_service = sf;
      return uncached_service;
    }
    return services.insert(service, hash) = sf;
  }
  ServiceFacts uncached_service;

  // The last address texts by slot (DirectMemo), in front of the map (a KDC log's clients are
  // hundreds to thousands of addresses: 512 slots missed on one line in ten of the bench's; an
  // IPv4 text is at most 15 bytes).
  DirectMemo<AddressFacts, 4096, 15> address_memo;

  [[gnu::always_inline]] AddressFacts address_facts(std::string_view text) {
    std::size_t slot;
    if (const AddressFacts* known = address_memo.find(text, slot)) return *known;
    return address_facts_missed(text, slot);
  }

  [[gnu::noinline]] AddressFacts address_facts_missed(std::string_view text, std::size_t slot) {
    const AddressFacts a = address_facts_mapped(text);
    address_memo.put(slot, text, a);
    return a;
  }

  AddressFacts address_facts_mapped(std::string_view text) {
    const std::uint64_t hash = hash_bytes(text);
    if (const AddressFacts* a = addresses.find(text, hash)) return *a;
    AddressFacts a;
    if (const auto addr = parse_address(text)) {
      a.parsed = true;
      a.bastion = policy->is_bastion_address(*addr);
      a.allowed = policy->is_allowed_source(*addr);
    }
    addresses.insert(text, hash) = a;
    return a;
  }
  // sshd (host, pid) -> incidents its Accepted line fed, for a later pam_open_session failure.
  ProcessIncidents sessions;
  // sshd (host, pid) -> incidents its Authorized line fed. An older sshd (a legacy guest's: the
  // ": P" after an Accepted line is recent) logs the principal only there, and its Accepted line,
  // without one, matches none of those incidents' rules: it joins them as evidence and names
  // their source.
  ProcessIncidents authorized;
  // sshd (host, pid) -> the peer address of its latest auth line ("Postponed ... from IP"): the
  // localauth record that sshd's krb5_kuserok() logs next (ident hopguard, same pid) has no
  // rhost, and its alarm should still name the source (DESIGN section 7: source.ip when known).
  PeerAddresses peers;

  void clear_processes() {
    sessions.clear();
    authorized.clear();
    peers.clear();
  }

  // "host\x1fpid": the key of an sshd process in sessions and authorized (only Accepted and
  // Authorized lines, and a failed session, ask for it; PeerAddresses keys by the two views).
  static std::string process_key(const Event& ev) {
    std::string k(ev.host.size() + 1 + ev.pid.size(), '\x1f');
    std::copy_n(ev.host.data(), ev.host.size(), k.data());  // data() may be null when empty
    std::copy_n(ev.pid.data(), ev.pid.size(), k.data() + ev.host.size() + 1);
    return k;
  }

  Impl(std::shared_ptr<const Policy> p, std::shared_ptr<const Ruleset> r, EngineOptions o)
      : policy(std::move(p)), rules(std::move(r)), options(o), correlator(make_options(*policy, o)) {
    skew_ms = skew_of(*policy, o);
    tgs_name = "krbtgt/" + policy->config().realm + "@" + policy->config().realm;
    regex_rules = rules->has_regex_rules();
    index_fact_masks();
  }

  // FactMasks of each event kind's rules (Ruleset::rules_for), and those rules themselves (a
  // call into ruleset.cpp per event otherwise); made again on replace().
  std::array<FactMasks, static_cast<std::size_t>(EventKind::count_)> fact_masks_by_kind;
  std::array<const std::vector<const CompiledRule*>*, static_cast<std::size_t>(EventKind::count_)> rules_by_kind{};
  void index_fact_masks() {
    for (std::size_t k = 0; k < fact_masks_by_kind.size(); ++k) {
      rules_by_kind[k] = &rules->rules_for(static_cast<EventKind>(k));
      fact_masks_by_kind[k] = fact_masks(*rules_by_kind[k]);
    }
  }

  static std::int64_t skew_of(const Policy& p, const EngineOptions& o) {
    return static_cast<std::int64_t>(o.skew_seconds ? o.skew_seconds : p.config().alarms.skew_seconds) * 1000;
  }
  static CorrelatorOptions make_options(const Policy& p, const EngineOptions& o) {
    CorrelatorOptions c;
    c.window_ms = static_cast<std::int64_t>(o.window_seconds ? o.window_seconds : p.config().alarms.window_seconds) * 1000;
    c.skew_ms = skew_of(p, o);
    c.max_open_incidents = o.max_open_incidents;
    c.emit_first_evidence = o.emit == EmitMode::first_evidence;
    return c;
  }

  static std::uint64_t name_hash(std::string_view name) noexcept { return hash_bytes(name); }

  // The usual spelling of a name is classified directly (Policy::classify_plain: a pass over the
  // name and one hash lookup per guest-name length): cheaper than the cache slot it would load,
  // a cache miss for most names of a busy realm (tens of thousands). The cache keeps the other
  // spellings, which libkrb5 parses. Inlined (with resolve_principal) into its callers: as calls
  // of their own, each with a frame and a stack guard for the cache's path, the two cost ~80
  // instructions a classified name (a TGS line toward a guest), around ~15 of work.
  [[gnu::always_inline]] const PrincipalFacts* classify(std::string_view name) {
    Policy::ClassOf c;
    if (policy->classify_plain(name, c)) {
      plain_facts.cls = c.cls;
      plain_facts.guest = c.guest;
      plain_user = c.user;
      return &plain_facts;  // valid until the next classify
    }
    return classify(name, name_hash(name));
  }
  PrincipalFacts plain_facts;
  std::string_view plain_user;  // ClassOf::user of plain_facts' name

  [[gnu::noinline]] const PrincipalFacts* classify(std::string_view name, std::uint64_t hash) {
    if (const PrincipalFacts* p = principals.find(name, hash)) return p;
    const Policy::ClassOf c = policy->classify_class(name);
    PrincipalFacts facts;
    facts.cls = c.cls;
    facts.guest = c.guest;
    if (const PrincipalFacts* p = principals.insert(name, hash, facts)) return p;
    uncached_facts = facts;  // not kept (see kMaxProbe): valid until the next classify
    return &uncached_facts;
  }
  PrincipalFacts uncached_facts;

  // Classifies the event's principal into f (classify above).
  [[gnu::always_inline]] void resolve_principal(const Event& ev, EventFacts& f) {
    f.principal_pending = false;
    if (ev.principal.empty()) return;
    f.principal_truncated = ev.principal_truncated;
    const PrincipalFacts* p = classify(ev.principal);
    f.has_principal = true;
    f.principal_class = p->cls;
    f.principal_guest = p->guest;
    if (p->cls == PrincipalClass::special && !f.principal_truncated) {
      f.principal_host = p->guest;
      if (!ev.user.empty() && p->guest != nullptr) {
        // Whether the principal belongs to the local account user, as decide() reads it
        // (Policy::classify's user): classify_plain found that user (a login on a guest logs two
        // such lines); other spellings are classified whole again.
        f.account_not_principal_user =
            p == &plain_facts ? plain_user != ev.user : policy->classify(ev.principal).user != ev.user;
      }
    }
  }

  // Facts of an event; with lazy_principal the principal is left for resolve_principal().
  // needs (FactBit): the facts to look up; the others keep their defaults.
  [[gnu::always_inline]] EventFacts facts_for(const Event& ev, bool lazy_principal = false, std::uint32_t needs = kFactAll) {
    EventFacts f;
    const Policy& p = *policy;
    if (lazy_principal) {
      f.principal_pending = true;
    } else {
      resolve_principal(ev, f);
    }
    if ((needs & kFactService) != 0 && !ev.service.empty()) {
      const ServiceFacts& sf = service_facts(ev.service);
      // Inside the text (the facts are of this very text): no bounds-checked substr call.
      f.service_instance = std::string_view(ev.service.data() + sf.instance_at, sf.instance_size);
      f.service_is_tgt = sf.tgt;
      if (sf.instance_size != 0 && !ev.service_truncated) f.service_host = sf.host;
    }
    if ((needs & kFactLoggingHost) != 0 && !ev.host.empty()) f.logging_host = host_named(ev.host, logging_host_memo);
    if ((needs & kFactRecordHost) != 0 && !ev.record_host.empty()) f.record_host = p.find_host(ev.record_host);
    if ((needs & kFactAddress) != 0 && !ev.address.empty()) {
      const AddressFacts& a = address_facts(ev.address);
      f.address_parsed = a.parsed;
      f.address_is_bastion = a.bastion;
      f.address_allowed = a.allowed;
    }
    return f;
  }

  Evidence evidence_for(const Event& ev, std::string_view line, std::int64_t event_ms) const {
    Evidence e;
    e.source = evidence_source(ev);
    e.host = std::string(ev.host.substr(0, 255));
    e.line = std::string(line.substr(0, options.max_evidence_line));
    e.time_ms = event_ms;
    return e;
  }

  // full: the whole classification of ev.principal when the match needs its user (views into
  // it must stay valid until the correlator took the match).
  Match match_for(const CompiledRule& r, const Event& ev, const EventFacts& f, std::string_view line,
                  std::int64_t event_ms, std::optional<Principal>& full) const {
    Match m;
    m.rule = &r;
    m.principal = ev.principal;
    if (f.has_principal) {
      m.principal_class = f.principal_truncated ? std::string_view("invalid") : to_string(f.principal_class);
    }
    m.user = ev.user;
    if (m.user.empty() && f.has_principal && !f.principal_truncated) {
      if (!full) full = policy->classify(ev.principal);
      m.user = full->user;
    }
    m.source_ip = ev.address;
    m.target = rule_target_name(r, ev, f);
    m.event_ms = event_ms;
    m.evidence = evidence_for(ev, line, event_ms);
    return m;
  }

  void count_alarm(const Alarm& a, const AlarmSink& sink) {
    ++stats.alarms;
    ++stats.alarms_by_rule[a.rule_id];
    sink(a);
  }

  // Which of the first 64 candidate rules of an event kind pass their conditions on the event's
  // own fields (rule_may_match), which of them on the refusal word, and the facts they read.
  // Those depend only on (ruleset, kind, status, rule=), which repeat from line to line
  // ("ISSUE", "NEEDED_PREAUTH"): memoised by that text, so the status lists are compared once
  // per word. Cleared on replace().
  struct FieldVerdicts {
    std::uint64_t passed = 0, refusal = 0;
    std::uint32_t needs = 0;
  };
  // The memo's entries: kind and source in one byte, status and rule= back to back in text
  // (compared field by field against the event's, without building a key).
  struct FieldMemo {
    static constexpr std::size_t kMaxText = 45;
    static constexpr std::size_t kEntries = 8;
    struct Entry {
      bool used = false;
      std::uint8_t tag = 0, status_size = 0, rule_size = 0;
      char text[kMaxText];
      FieldVerdicts verdicts;
    };
    Entry entries[kEntries];
    std::size_t next = 0;

    static unsigned tag_of(const Event& ev) noexcept {
      static_assert(static_cast<unsigned>(EventKind::count_) <= 32, "kind and source share a byte");
      return static_cast<unsigned>(ev.kind) | (static_cast<unsigned>(ev.source) << 5);
    }
    [[gnu::always_inline]] const FieldVerdicts* find(const Event& ev) const noexcept {
      const unsigned tag = tag_of(ev);
      for (const Entry& e : entries) {
        if (e.used && e.tag == tag && e.status_size == ev.status.size() && e.rule_size == ev.rule.size() &&
            equal_short_bytes(e.text, ev.status.data(), ev.status.size()) &&
            equal_short_bytes(e.text + ev.status.size(), ev.rule.data(), ev.rule.size())) {
          return &e.verdicts;
        }
      }
      return nullptr;
    }
    void put(const Event& ev, const FieldVerdicts& v) noexcept {
      if (ev.status.size() + ev.rule.size() > kMaxText) return;
      Entry& e = entries[next];
      next = (next + 1) % kEntries;
      e.used = true;
      e.tag = static_cast<std::uint8_t>(tag_of(ev));
      e.status_size = static_cast<std::uint8_t>(ev.status.size());
      e.rule_size = static_cast<std::uint8_t>(ev.rule.size());
      // copy_n, not memcpy: an empty field's data() may be null (UB for memcpy).
      std::copy_n(ev.status.data(), ev.status.size(), e.text);
      std::copy_n(ev.rule.data(), ev.rule.size(), e.text + ev.status.size());
      e.verdicts = v;
    }
    void clear() noexcept {
      for (Entry& e : entries) e.used = false;
    }
  };
  FieldMemo field_memo;

  [[gnu::always_inline]] FieldVerdicts field_verdicts(const Event& ev, const std::vector<const CompiledRule*>& candidates) {
    if (const FieldVerdicts* v = field_memo.find(ev)) return *v;
    return field_verdicts_missed(ev, candidates);
  }

  [[gnu::noinline]] FieldVerdicts field_verdicts_missed(const Event& ev,
                                                        const std::vector<const CompiledRule*>& candidates) {
    FieldVerdicts m;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      if (i >= 64) {
        m.needs = kFactAll;  // rules beyond the first 64 are tried whole (rule_matches)
        break;
      }
      bool refusal = false;
      if (!rule_may_match(*candidates[i], ev, refusal)) continue;
      m.passed |= std::uint64_t{1} << i;
      if (refusal) m.refusal |= std::uint64_t{1} << i;
      m.needs |= rule_fact_needs(*candidates[i]);
    }
    field_memo.put(ev, m);
    return m;
  }

  void evaluate(const Event& event, std::string_view line, std::int64_t event_ms, const AlarmSink& sink) {
    // The decision records' case out of line: its copies (a string, an Event) made this call,
    // on every line, set up a frame of ~500 bytes before it could jump to evaluate_event.
    if (event.kind == EventKind::hg_decision && event.address.empty() &&
        evaluate_with_peer_address(event, line, event_ms, sink)) {
      return;
    }
    evaluate_event(event, line, event_ms, sink);
  }

  // A decision record without rhost takes the address of its sshd process from peers: only
  // then is the event copied (it is a few hundred bytes, and most events are KDC lines).
  // False (nothing evaluated) when it is not such a record or peers knows no address.
  [[gnu::noinline]] bool evaluate_with_peer_address(const Event& event, std::string_view line, std::int64_t event_ms,
                                                    const AlarmSink& sink) {
    if (event.component != "hopguard" || event.pid.empty()) return false;
    const auto address = peers.find(event.host, event.pid);
    if (!address) return false;
    // A copy: a line fed from inside a sink may overwrite the process's entry in peers.
    const std::string copied(*address);
    Event ev = event;
    ev.address = copied;
    evaluate_event(ev, line, event_ms, sink);
    return true;
  }

  void evaluate_event(const Event& ev, std::string_view line, std::int64_t event_ms, const AlarmSink& sink) {
    const auto& candidates = *rules_by_kind[static_cast<std::size_t>(ev.kind)];
    // Bounded as sessions and authorized below: a real host name is at most 255 bytes, a pid a
    // few digits (PeerAddresses).
    if ((ev.kind == EventKind::ssh_postponed || ev.kind == EventKind::ssh_failed ||
         ev.kind == EventKind::ssh_accepted) && !ev.pid.empty() && !ev.address.empty() &&
        ev.host.size() <= PeerAddresses::kMaxHost && ev.pid.size() <= PeerAddresses::kMaxPid) {
      peers.set(ev.host, ev.pid, ev.address);
    }
    if (ev.kind == EventKind::ssh_accepted && !authorized.empty()) {
      // The login's outcome: its Authorized line's incidents are settled either way (an Accepted
      // line with the principal matched their rules itself).
      const std::vector<std::string> keys = authorized.take(process_key(ev));
      if (!keys.empty() && ev.principal.empty() && !ev.address.empty()) {
        const Evidence e = evidence_for(ev, line, event_ms);
        for (const std::string& key : keys) correlator.append(key, e, event_ms, ev.address);
      }
    }
    if (ev.kind == EventKind::ssh_session_failed) {
      // The Accepted line of this sshd process did not become a session: its incidents get this
      // line as evidence (the alarm shows the refusal).
      const std::vector<std::string> keys = sessions.take(process_key(ev));
      if (!keys.empty()) {
        const Evidence e = evidence_for(ev, line, event_ms);
        for (const std::string& key : keys) correlator.append(key, e, event_ms);
      }
    }
    // Only the rules whose conditions on the event's own fields hold go on, and only the facts
    // they read are looked up (a NEEDED_PREAUTH line needs none; a TGS line no address).
    const FieldVerdicts fv = field_verdicts(ev, candidates);
    if (fv.passed == 0 && candidates.size() <= 64) return;
    // The principal is classified only once some rule's other conditions hold for the event
    // (most KDC lines fail on status, address or target first).
    EventFacts f = facts_for(ev, /*lazy_principal=*/true, fv.needs);
    // The first 64 rules: those whose conditions on the facts known so far may hold (FactMasks),
    // and those the KDC refused the request for (they match on that alone).
    const FactMasks& m = fact_masks_by_kind[static_cast<std::size_t>(ev.kind)];
    std::uint64_t live = (fv.passed & m.holding(!ev.address.empty(), f)) | fv.refusal;
    int maybe_special = -1;  // policy->may_be_special(ev.principal), once asked; -1: not yet
    for (; live != 0; live &= live - 1) {
      const auto i = static_cast<std::size_t>(std::countr_zero(live));
      const CompiledRule& r = *candidates[i];
      if ((fv.refusal >> i & 1u) == 0) {
        // The conditions the masks leave out (FactMasks): those on the event's text, and those on
        // the principal once an earlier rule had it classified.
        if (((m.text >> i & 1u) != 0 || !f.principal_pending) && !rule_facts_hold(r, ev, f)) continue;
        if (f.principal_pending && (m.principal >> i & 1u) != 0) {
          // A rule that takes only special principals fails on any other: when the name cannot
          // be special (Policy::may_be_special, a test of a few bytes of it), the rule fails
          // without classifying it; the principal stays pending for the other rules.
          if (special_only(r) && !ev.principal.empty()) {
            if (maybe_special < 0) maybe_special = policy->may_be_special(ev.principal) ? 1 : 0;
            if (maybe_special == 0) continue;
          }
          resolve_principal(ev, f);
          // The rules whose class condition fails for this principal fail on that alone
          // (FactMasks::principal_class): this one, and the later ones are dropped from live
          // (but for those the KDC refused the request for, which match whatever the facts; bit
          // i stays, the loop clears it). On a TGS line toward a guest, two of its three rules.
          const std::uint64_t class_ok = m.class_holding(f) | fv.refusal;
          live &= class_ok | std::uint64_t{1} << i;
          if ((class_ok >> i & 1u) == 0 || !rule_facts_hold(r, ev, f)) continue;
        }
      }
      add_match(r, ev, f, line, event_ms, sink);
    }
    // Rules past the first 64 of a kind (none ship; a site's own could add them): tried whole.
    for (std::size_t i = 64; i < candidates.size(); ++i) {
      const CompiledRule& r = *candidates[i];
      if (!rule_matches(r, ev, f, nullptr)) continue;
      if (f.principal_pending && rule_needs_principal(r)) {
        resolve_principal(ev, f);
        if (!rule_matches(r, ev, f, nullptr)) continue;
      }
      add_match(r, ev, f, line, event_ms, sink);
    }
  }

  // A match of rule r on the event: to the correlator, and for an sshd login the incident keys
  // its process's later lines join.
  void add_match(const CompiledRule& r, const Event& ev, EventFacts& f, std::string_view line, std::int64_t event_ms,
                 const AlarmSink& sink) {
    if (f.principal_pending) resolve_principal(ev, f);  // the alarm names the principal's class
    ++stats.matches;
    std::optional<Principal> full;
    // The sink is made per match, not per event: most events match nothing.
    const Correlator::Sink counted = [&](const Alarm& a) { count_alarm(a, sink); };
    const std::string key = correlator.add(match_for(r, ev, f, line, event_ms, full), counted);
    // Bounded: a real host name is at most 255 bytes (longer ones, from forged lines, are not
    // tracked), and an sshd process logs one Accepted line, so its incidents are few (a forged
    // stream of Accepted lines under one pid adds each incident once, at most kMaxSessionKeys).
    if ((ev.kind == EventKind::ssh_accepted || ev.kind == EventKind::ssh_authorized) && !key.empty() &&
        !ev.pid.empty() && ev.host.size() <= 255 && ev.pid.size() <= 32) {
      (ev.kind == EventKind::ssh_accepted ? sessions : authorized).add(process_key(ev), key);
    }
  }

  // The rule's principal_class condition holds for a non-empty principal only when it is
  // special (a truncated name is never special: the KDC cut it).
  static bool special_only(const CompiledRule& r) noexcept {
    constexpr std::uint32_t kOther = kClassRegular | kClassService | kClassForeign | kClassInvalid | kClassTruncated;
    return r.class_mask != 0 && (r.class_mask & kOther) == 0;
  }

  void evaluate_regex(const SyslogRecord& rec, std::string_view line, const AlarmSink& sink) {
    const auto& list = rules->regex_rules_for(rec.program);
    if (list.empty()) return;
    const Correlator::Sink counted = [&](const Alarm& a) { count_alarm(a, sink); };
    for (const CompiledRule* r : list) {
      RegexCaptures cap;
      const RegexOutcome outcome = search_user_regex(*r->regex, r->regex_flags, rec.message, r->captures, cap);
      if (outcome == RegexOutcome::no_match) continue;
      if (outcome == RegexOutcome::undecided) {
        // The line ran the regex out of its state or read limit (a crafted line, or a regex that
        // backtracks): counted per rule, and it fails closed. Whether the rule would have
        // matched is unknown, so the line raises the rule's alarm with nothing captured:
        // otherwise a long enough line would be a way past any rule whose regex is not linear.
        ++stats.regex_errors_by_rule[r->id];
      }
      ++stats.matches;
      Match match;
      match.rule = r;
      match.principal = cap.principal;
      match.user = cap.user;
      match.source_ip = cap.address;
      match.target = cap.target;
      match.event_ms = rec.event_ms;
      match.evidence.source = std::string(rec.program.substr(0, 64));
      match.evidence.host = std::string(rec.hostname.substr(0, 255));
      match.evidence.line = std::string(line.substr(0, options.max_evidence_line));
      match.evidence.time_ms = rec.event_ms;
      const PrincipalFacts* pc = match.principal.empty() ? nullptr : classify(match.principal);
      if (pc != nullptr) match.principal_class = to_string(pc->cls);
      correlator.add(match, counted);
    }
  }

  // DESIGN section 9: when rsyslog forwarded the sender's kernel-verified credentials, an sshd
  // line must come from an sshd executable, a krb5kdc line (request lines and the kdcpolicy
  // module's records, which the module writes from inside the KDC) from the krb5kdc executable
  // running as root (MIT's krb5kdc does not drop privileges; the uid matters because rsyslog
  // finds no executable for a sender that has already exited, as logger has), and every record
  // from the process its tag names. A mismatch is not decoded as what it claims: it becomes a
  // sender_mismatch event.
  static bool sender_matches(const DecoderEntry& entry, const SyslogRecord& rec) noexcept {
    if (!rec.pid.empty() && !rec.trusted_pid.empty() && rec.pid != rec.trusted_pid) return false;
    std::string_view exe = rec.trusted_exe;
    // The kernel's " (deleted)": the binary was replaced since the process started (a package
    // upgrade while sshd runs), as is_system_executable() accepts it.
    if (exe.ends_with(" (deleted)")) exe.remove_suffix(10);
    const std::size_t slash = exe.rfind('/');
    if (slash != std::string_view::npos) exe.remove_prefix(slash + 1);
    const bool sshd_program = rec.program == "sshd" || rec.program == "sshd-session";
    const bool sshd_exe = exe == "sshd" || exe == "sshd-session" || exe == "sshd-auth";
    const bool root = rec.trusted_uid.empty() || rec.trusted_uid == "0";
    if (sshd_program) {
      if (!exe.empty() && !sshd_exe) return false;
      // sshd runs PAM (and so pam_hopguard's records) in its privileged monitor, as root; a
      // user's `logger -i -t sshd` that exited before rsyslog read its executable has none.
      return entry.source != EventSource::hopguard || root;
    }
    if (rec.program == "krb5kdc") {
      return (exe.empty() || exe == "krb5kdc") && root;
    }
    if (rec.program == "hopguard") {
      // The localauth plugin's records (ident hopguard) come from krb5_kuserok() in sshd's
      // privileged monitor (root), or in ksu (setuid root: the kernel reports the invoking
      // user's uid, and the executable is the system's ksu: a user's copy of a binary under that
      // name is not setuid). Checked by pid alone, `logger -i -t hopguard` from any user forged
      // decision records about any host.
      return root || is_system_executable(rec.trusted_exe, "ksu");
    }
    if (entry.source == EventSource::hopguard && entry.program == "pam_hopguard") {
      // pam_syslog logs under the application's name, from the application: su and sudo run as
      // the invoking user (the kernel reports the real uid), so the uid proves nothing and the
      // executable must be the system's. Checked by name alone, a user's own binary called su
      // forged any number of decision records (a flood of one rule's incidents pushes a real
      // incident of that rule into its aggregate). A sender that exited before rsyslog read its
      // executable (`logger -t su`) has none: then only root's record is taken. A user's
      // record must come from a setuid program that runs PAM for its user (runs_pam_as_user):
      // a system binary whose tag the user chooses (`logger -t logger`, `perl` with openlog)
      // is its own name and the system's, and forged records past the name check.
      if (exe.empty()) return root;
      return is_system_executable(rec.trusted_exe, rec.program) && (root || runs_pam_as_user(rec.program));
    }
    return true;
  }

  // The setuid-root programs a user runs that call PAM in their own process, as that user's
  // real uid (the one the kernel reports): su, sudo, Kerberos' ksu, polkit's helper (pkexec's
  // authentication), and the account tools of shadow-utils. Every other PAM application (sshd,
  // login, cron, a display manager, systemd --user) runs as root.
  static bool runs_pam_as_user(std::string_view program) noexcept {
    for (const std::string_view p : {"su", "sudo", "sudoedit", "ksu", "pkexec", "polkit-agent-helper-1", "newgrp",
                                     "sg", "passwd", "chsh", "chfn"}) {
      if (program == p) return true;
    }
    return false;
  }

  // Whether the raw exe property (JSON-escaped by the imjournal template: "\/usr\/bin\/su") is
  // an executable named `name` in a directory only root can write to: /usr/bin, /usr/sbin, /bin,
  // /sbin, /usr/local/{bin,sbin}, or under /usr/lib, /usr/libexec, /usr/lib64, /lib, /lib64
  // (Debian's /usr/lib/openssh/sshd-session, RHEL's /usr/libexec/openssh/sshd-session). A user can
  // copy or build a binary of any name in their home or /tmp, and run it under that name; not
  // there. The kernel reads the exe link canonically (no symlink, no "..", which are refused
  // anyway) and appends " (deleted)" when the file was replaced since (a package upgrade while
  // the process runs): still the system's binary.
  static bool is_system_executable(std::string_view raw, std::string_view name) noexcept {
    char buf[512];
    std::size_t n = 0;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 1 < raw.size() && raw[i + 1] == '/') ++i;  // "\/" is '/'
      if (n == sizeof buf) return false;
      buf[n++] = raw[i];
    }
    std::string_view path(buf, n);
    if (path.ends_with(" (deleted)")) path.remove_suffix(10);
    if (path.find("/../") != std::string_view::npos || path.find("/./") != std::string_view::npos) return false;
    const std::size_t slash = path.rfind('/');
    if (slash == std::string_view::npos || path.substr(slash + 1) != name) return false;
    const std::string_view dir = path.substr(0, slash + 1);
    for (const std::string_view exact : {"/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/", "/usr/local/bin/", "/usr/local/sbin/"}) {
      if (dir == exact) return true;
    }
    for (const std::string_view tree : {"/usr/lib/", "/usr/libexec/", "/usr/lib64/", "/lib/", "/lib64/"}) {
      if (dir.starts_with(tree)) return true;
    }
    return false;
  }

  // A krb5kdc record (request line or kdcpolicy record) whose logging host is a configured
  // bastion or legacy guest is forged, with or without trusted properties: the site's KDC runs
  // on neither (a legacy guest is the unpatched host the policy fences in; a bastion is where
  // every user has a shell). This covers the senders the trusted-properties check cannot: hosts
  // that forward without the shipped snippet, where a local `logger -t krb5kdc` still gets the
  // host's own name from rsyslog. (A line sent straight to the listener may claim any host name;
  // allowed_peers is the defence there.)
  bool kdc_line_from_site_host(const SyslogRecord& rec) {
    return rec.program == "krb5kdc" && !rec.hostname.empty() && host_named(rec.hostname, logging_host_memo) != nullptr;
  }

  // What the dispatch derives from a syslog header's program and host, kept for the header the
  // date memo keeps (SyslogDateMemo::header_id): a KDC log's lines repeat one header, and each
  // line looked up its decoder and its host again. Valid while the policy stays (emptied on
  // replace()); header ids start at 1.
  struct HeaderFacts {
    std::uint64_t id = 0;
    const DecoderEntry* decoder = nullptr;  // find_decoder(program)
    std::int8_t site_host = -1;             // kdc_line_from_site_host of the record; -1: not yet asked
  };
  HeaderFacts header_facts;

  // kdc_line_from_site_host(rec), asked once per kept header when header is not null (rec's
  // program and host are then its).
  bool kdc_line_from_site_host(const SyslogRecord& rec, HeaderFacts* header) {
    if (header == nullptr) return kdc_line_from_site_host(rec);
    if (header->site_host < 0) header->site_host = kdc_line_from_site_host(rec) ? 1 : 0;
    return header->site_host != 0;
  }

  // A host's PAM module and localauth plugin decide for that host only (their host= is the
  // host's own identity), so a decision record that a configured host logged about another
  // configured host is forged, with or without trusted properties: a user on the bastion
  // (`logger -t su "pam_hopguard(...): ... host=legacy1"`) must not raise a guest's alarms, nor
  // open the guest's incident first and name its source. A logging name the site does not
  // configure (a relay's) proves nothing either way. The kdcpolicy module's records name the
  // ticket's target and come from the KDC's host (kdc_line_from_site_host).
  // The kind is asked inline (every decoded line comes here; few are decision records).
  [[gnu::always_inline]] bool decision_about_other_host(const Event& ev) {
    return ev.kind == EventKind::hg_decision && decision_record_about_other_host(ev);
  }
  [[gnu::noinline]] bool decision_record_about_other_host(const Event& ev) {
    if (ev.component == "hopguard_kdcpolicy") return false;
    if (ev.record_host.empty() || ev.host.empty()) return false;
    const HostEntry* logged_by = host_named(ev.host, logging_host_memo);
    if (logged_by == nullptr) return false;
    const HostEntry* about = policy->find_host(ev.record_host);
    return about != nullptr && about != logged_by;
  }

  // sshd logs the outcome of authentication (auth_log) from its privileged monitor, which
  // runs as root; only the post-authentication child runs as the user, and it logs none of
  // these. So an authentication line whose kernel-verified sender is not uid 0 is forged,
  // even from an executable named sshd (any user can copy a binary under that name).
  static bool privileged_enough(const Event& ev, const SyslogRecord& rec) noexcept {
    const bool auth_outcome = ev.kind == EventKind::ssh_accepted || ev.kind == EventKind::ssh_failed ||
                              ev.kind == EventKind::ssh_postponed || ev.kind == EventKind::ssh_authorized;
    return !auth_outcome || rec.trusted_uid.empty() || rec.trusted_uid == "0";
  }

  // Record -> decoder -> event. Returns the decode result; fills entry (null: skipped).
  DecodeResult decode(SyslogRecord& rec, Event& ev, const DecoderEntry*& entry) {
    return decode(rec, ev, entry, find_decoder(rec.program), nullptr);
  }
  // The same, with found = find_decoder(rec.program); header: the facts of rec's header when the
  // date memo keeps it (else null). Inlined into feed for a KDC log's usual line: a request line
  // (never wrapped, never a hopguard record, see decode_general) without trusted properties, under
  // a kept header already known not to be a configured host's (kdc_line_from_site_host). Then
  // decode_general would only call the decoder and ask the same of its event; every other line
  // goes there (the call and its frame cost ~40 instructions a line). A kept header is a file
  // line's (RFC 3164), which carries no trusted properties: has_trusted is asked all the same, so
  // that the shortcut does not rest on the date memo.
  [[gnu::always_inline]] DecodeResult decode(SyslogRecord& rec, Event& ev, const DecoderEntry*& entry,
                                             const DecoderEntry* found, HeaderFacts* header) {
    if (found != nullptr && !rec.has_trusted && header != nullptr && header->site_host == 0 &&
        is_kdc_request(rec.message)) {
      entry = found;
      const DecodeResult result = found->decode(rec, ev, scratch);
      if (result == DecodeResult::event && decision_about_other_host(ev)) return mismatch(rec, *found, ev);
      return result;
    }
    return decode_general(rec, ev, entry, found, header);
  }
  [[gnu::noinline]] DecodeResult decode_general(SyslogRecord& rec, Event& ev, const DecoderEntry*& entry,
                                                const DecoderEntry* found, HeaderFacts* header) {
    entry = found;
    if (entry != nullptr) {
      // A KDC request line, nearly every line of a KDC log, is never wrapped (is_kdc_request),
      // nor a hopguard record (their prefixes start with other letters).
      if (!is_kdc_request(rec.message)) {
        if (may_be_wrapped(rec)) {
          rec = unwrap_inner_record(rec, options.syslog);
          header = nullptr;  // the inner record's program and host are its own
        }
        if (entry->source != EventSource::hopguard && is_pam_record(rec.message)) {
          entry = &kPamRecords;
        } else if (entry->source == EventSource::kdc && is_kdcpolicy_record(rec.message)) {
          entry = &kKdcPolicyRecords;
        }
      }
      if ((rec.has_trusted && !sender_matches(*entry, rec)) || kdc_line_from_site_host(rec, header)) {
        return mismatch(rec, *entry, ev);
      }
      const DecodeResult result = entry->decode(rec, ev, scratch);
      if (result == DecodeResult::event && rec.has_trusted && !privileged_enough(ev, rec))
        return mismatch(rec, *entry, ev);
      if (result == DecodeResult::event && decision_about_other_host(ev)) return mismatch(rec, *entry, ev);
      return result;
    }
    if (is_pam_record(rec.message)) {
      entry = &kPamRecords;
      if (rec.has_trusted && !sender_matches(*entry, rec)) return mismatch(rec, *entry, ev);
      const DecodeResult result = entry->decode(rec, ev, scratch);
      if (result == DecodeResult::event && decision_about_other_host(ev)) return mismatch(rec, *entry, ev);
      return result;
    }
    return DecodeResult::ignored;
  }

  static DecodeResult mismatch(const SyslogRecord& rec, const DecoderEntry& entry, Event& ev) noexcept {
    ev = Event{};
    ev.kind = EventKind::sender_mismatch;
    ev.source = entry.source;
    ev.record = &rec;
    ev.host = rec.hostname;
    ev.pid = rec.pid;
    ev.status = rec.program;
    ev.detail = rec.trusted_exe;
    ev.component = entry.program;
    return DecodeResult::event;
  }

  // The event a line is decoded into: kept between lines, because constructing an Event (a
  // couple of hundred bytes) for every line, four in five of which no decoder takes, cost ~70
  // instructions a line. Every decoder assigns the whole event before it returns one (decoder.hpp).
  // A feed_line called from inside a sink (nested) decodes into an Event of its own.
  Event line_event;
  bool feeding = false;

  LineResult feed(std::string_view line, std::int64_t receive_ms, const AlarmSink& sink, std::string_view sender) {
    if (feeding) return feed_nested(line, receive_ms, sink, sender);
    struct Guard {
      bool& flag;
      explicit Guard(bool& f) : flag(f) { flag = true; }
      ~Guard() { flag = false; }
    } guard(feeding);
    return unpack(feed_into(line_event, line, receive_ms, sink, sender));
  }

  // feed_into's LineResult as one integer, outcome | source << 8. As a struct, GCC kept the
  // source byte of the merged return paths on the stack and read the two bytes back with one
  // 16-bit load, which a store of one byte cannot forward to: a stall on every line (perf put
  // half of feed's samples on the load).
  static std::uint32_t pack(LineOutcome outcome, EventSource source) noexcept {
    return static_cast<std::uint32_t>(outcome) | static_cast<std::uint32_t>(source) << 8;
  }
  static LineResult unpack(std::uint32_t r) noexcept {
    return {static_cast<LineOutcome>(r & 0xffu), static_cast<EventSource>(r >> 8 & 0xffu)};
  }

  // A line fed from inside a sink: its own Event and its own decode scratch, since the outer
  // line's event (still being matched) may hold views into the engine's (a decision record's
  // unescaped values).
  [[gnu::noinline]] LineResult feed_nested(std::string_view line, std::int64_t receive_ms, const AlarmSink& sink,
                                           std::string_view sender) {
    Event nested;
    struct Swap {
      DecodeScratch& engine;
      DecodeScratch own;
      explicit Swap(DecodeScratch& e) : engine(e) { std::swap(own, engine); }
      ~Swap() { std::swap(own, engine); }
    } swap(scratch);
    return unpack(feed_into(nested, line, receive_ms, sink, sender));
  }

  // Inline into feed() (once per line) and feed_nested().
  [[gnu::always_inline]] std::uint32_t feed_into(Event& ev, std::string_view line, std::int64_t receive_ms,
                                              const AlarmSink& sink, std::string_view sender) {
    SyslogRecord rec = parse_syslog_line(line, receive_ms, options.syslog, date_memo);
    ++stats.lines;
    stats.bytes += line.size();
    if (rec.hostname.empty()) rec.hostname = sender;  // see Engine::feed_line
    HeaderFacts* header = nullptr;
    if (date_memo.header_set) {  // rec's program and host are the kept header's (never empty)
      if (header_facts.id != date_memo.header_id) header_facts = {date_memo.header_id, find_decoder(rec.program), -1};
      header = &header_facts;
    }
    const DecoderEntry* found = header != nullptr ? header->decoder : find_decoder(rec.program);
    if (found == nullptr && !is_pam_record(rec.message)) {
      // Four lines in five of a mixed log: no decoder takes them (decode() would return
      // ignored with a null entry, and leave rec as it is).
      take_time(rec, sink);
      ++stats.skipped;
      if (regex_rules) evaluate_regex(rec, line, sink);
      return pack(LineOutcome::skipped, EventSource::none);
    }
    const DecoderEntry* entry = nullptr;
    const DecodeResult result = decode(rec, ev, entry, found, header);
    take_time(rec, sink);
    if (entry == nullptr) {
      ++stats.skipped;
      if (regex_rules) evaluate_regex(rec, line, sink);
      return pack(LineOutcome::skipped, EventSource::none);
    }
    const auto src = static_cast<std::size_t>(entry->source);
    LineResult out{LineOutcome::event, entry->source};
    switch (result) {
      case DecodeResult::failed:
        ++stats.parse_failures[src];
        out.outcome = LineOutcome::parse_failure;
        break;
      case DecodeResult::ignored:
        ++stats.ignored[src];
        out.outcome = LineOutcome::no_event;
        break;
      case DecodeResult::event:
        if (ev.kind == EventKind::kdc_unreadable) {  // a failure to read, and an event of its own
          ++stats.parse_failures[src];
          out.outcome = LineOutcome::parse_failure;
        } else {
          ++stats.decoded[src];
        }
        evaluate(ev, line, rec.event_ms, sink);
        break;
    }
    if (regex_rules) evaluate_regex(rec, line, sink);
    return pack(out.outcome, out.source);
  }

  // The record's time, before the line is matched: counted when unknown; moved back when it is
  // more than the skew after the receive time (from a clock far ahead, or forged: anyone who
  // reaches the syslog listener chooses a line's date), to the receive time plus the skew, and
  // counted. Such a date moved the watermark past every open window, so that one line between
  // two pieces of evidence closed the incident early and split it into two alarms (and, in
  // hopguardd, an incident so dated stayed open until the clock caught up with it). The line's
  // text, with its own date, stays the evidence. Then event time moves the watermark forward,
  // so a line after a window's end opens a new incident instead of joining the old one.
  // Inlined into feed (every line comes here); the rare advance is a call of its own.
  [[gnu::always_inline]] void take_time(SyslogRecord& rec, const AlarmSink& sink) {
    if (rec.time_unknown) {
      ++stats.time_unknown;
      return;
    }
    const std::int64_t latest = rec.receive_ms > INT64_MAX - skew_ms ? INT64_MAX : rec.receive_ms + skew_ms;
    if (rec.event_ms > latest) {
      rec.event_ms = latest;
      ++stats.future_dated;
    }
    if (rec.event_ms > watermark) {
      watermark = rec.event_ms;
      if (correlator.may_advance(watermark - skew_ms)) advance(sink);
    }
  }
  [[gnu::noinline]] void advance(const AlarmSink& sink) {
    correlator.advance(watermark - skew_ms, [&](const Alarm& a) { count_alarm(a, sink); });
  }
};

Engine::Engine(std::shared_ptr<const Policy> policy, std::shared_ptr<const Ruleset> rules,
               EngineOptions options)
    : impl_(std::make_unique<Impl>(std::move(policy), std::move(rules), options)) {}

Engine::~Engine() = default;

void Engine::replace(std::shared_ptr<const Policy> policy, std::shared_ptr<const Ruleset> rules) {
  // Open incidents keep their Alarm values (copied strings), so they outlive the old ruleset.
  impl_->principals.clear();
  impl_->hosts_by_name.clear();
  impl_->addresses.clear();
  impl_->address_memo.clear();
  impl_->service_memo.clear();
  impl_->service_host_memo.clear();
  impl_->services.clear();
  impl_->field_memo.clear();
  impl_->logging_host_memo.clear();
  impl_->header_facts = {};
  impl_->policy = std::move(policy);
  impl_->rules = std::move(rules);
  impl_->regex_rules = impl_->rules->has_regex_rules();
  impl_->index_fact_masks();
  impl_->tgs_name = "krbtgt/" + impl_->policy->config().realm + "@" + impl_->policy->config().realm;
  impl_->skew_ms = Impl::skew_of(*impl_->policy, impl_->options);
}

LineResult Engine::feed_line(std::string_view line, std::int64_t receive_ms, const AlarmSink& sink,
                             std::string_view sender) {
  return impl_->feed(line, receive_ms, sink, sender);
}

void Engine::flush(std::int64_t now_ms, const AlarmSink& sink) {
  if (now_ms > impl_->watermark) impl_->watermark = now_ms;
  impl_->correlator.advance(impl_->watermark - impl_->skew_ms,
                            [&](const Alarm& a) { impl_->count_alarm(a, sink); });
}

void Engine::finish(const AlarmSink& sink) {
  impl_->correlator.close_all([&](const Alarm& a) { impl_->count_alarm(a, sink); });
  impl_->clear_processes();
}

const EngineStats& Engine::stats() const noexcept {
  impl_->stats.aggregated_incidents = impl_->correlator.aggregated_incidents();
  return impl_->stats;
}

std::size_t Engine::open_incidents() const noexcept { return impl_->correlator.open_incidents(); }

std::string Engine::snapshot() const { return impl_->correlator.snapshot(impl_->watermark); }

Expected<bool> Engine::restore(std::string_view text) {
  auto w = impl_->correlator.restore(text);
  if (!w) return w.errors();
  impl_->watermark = w.value();
  impl_->clear_processes();
  return true;
}

Explanation Engine::explain(std::string_view line, std::int64_t receive_ms) const {
  Explanation x;
  Impl& im = *impl_;
  x.record = parse_syslog_record(line, receive_ms, im.options.syslog);
  const std::string_view outer_message = x.record.message;
  Event ev;
  const DecoderEntry* entry = nullptr;
  DecodeScratch scratch;
  std::swap(scratch, im.scratch);  // keep the engine's scratch untouched
  const DecodeResult result = im.decode(x.record, ev, entry);
  x.unwrapped = x.record.message.data() != outer_message.data();
  x.decoder = entry != nullptr ? std::string(entry->program) : std::string();
  x.decoded = entry != nullptr && result == DecodeResult::event;
  if (entry != nullptr && result != DecodeResult::event) {
    x.fields.emplace_back("result", result == DecodeResult::failed ? "parse failure" : "no event (ignored)");
  }
  if (x.decoded) {
    auto add = [&](const char* k, std::string_view v) {
      if (!v.empty()) x.fields.emplace_back(k, std::string(v));
    };
    add("kind", to_string(ev.kind));
    add("status", ev.status);
    add("principal", ev.principal);
    if (ev.principal_truncated) add("principal_truncated", "true");
    add("service", ev.service);
    add("address", ev.address);
    add("user", ev.user);
    if (ev.invalid_user) add("invalid_user", "true");
    add("method", ev.method);
    add("port", ev.port);
    add("detail", ev.detail);
    add("rule", ev.rule);
    add("role", ev.role);
    add("record_host", ev.record_host);
    add("stage", ev.stage);
    const EventFacts f = im.facts_for(ev);
    if (f.has_principal) {
      x.facts.emplace_back("principal_class", f.principal_truncated ? "truncated" : std::string(to_string(f.principal_class)));
      if (f.principal_class == PrincipalClass::invalid) {
        x.facts.emplace_back("why_invalid", im.policy->classify(ev.principal).why_invalid);
      }
      if (f.principal_host) x.facts.emplace_back("principal_host", f.principal_host->name);
      if (f.principal_host && !ev.user.empty()) {
        x.facts.emplace_back("account_is_principal_user", f.account_not_principal_user ? "false" : "true");
      }
    }
    if (f.service_host) x.facts.emplace_back("service_host", f.service_host->name + " (" + std::string(to_string(f.service_host->role)) + ")");
    if (!ev.service.empty()) x.facts.emplace_back("service_is_tgt", f.service_is_tgt ? "true" : "false");
    if (f.logging_host) x.facts.emplace_back("logging_host", f.logging_host->name + " (" + std::string(to_string(f.logging_host->role)) + ")");
    if (f.record_host) x.facts.emplace_back("record_host", f.record_host->name);
    if (!ev.address.empty()) {
      x.facts.emplace_back("address_parsed", f.address_parsed ? "true" : "false");
      x.facts.emplace_back("address_is_bastion", f.address_is_bastion ? "true" : "false");
      x.facts.emplace_back("address_allowed_source", f.address_allowed ? "true" : "false");
    }
    for (const auto& r : im.rules->all()) {
      if (r->regex) continue;
      RuleTrace t{r->id, r->file, r->line, false, {}};
      t.matched = rule_matches(*r, ev, f, &t.why);
      if (t.matched && r->threshold > 0) {
        // Which groups the match counts in (ThresholdBy), so that an operator can tell why a
        // burst alarms or not.
        const std::string target(rule_target_name(*r, ev, f));
        const std::string address(ev.address);
        std::string groups;
        for (const ThresholdBy by : r->threshold_by) {
          if (!groups.empty()) groups += "; ";
          switch (by) {
            case ThresholdBy::target_and_address: groups += "target " + target + " from " + address; break;
            case ThresholdBy::target: groups += "target " + target + " from any address"; break;
            case ThresholdBy::address_over_targets: groups += "address " + address + " over two targets or more"; break;
          }
        }
        t.why = "matched (counts toward threshold " + std::to_string(r->threshold) + " within " +
                std::to_string(r->window_ms / 1000) + " s, per " + groups + ")";
      }
      x.rules.push_back(std::move(t));
    }
  }
  for (const CompiledRule* r : im.rules->regex_rules_for(x.record.program)) {
    RuleTrace t{r->id, r->file, r->line, false, {}};
    RegexCaptures cap;
    std::size_t reads = 0;
    const std::size_t n = x.record.message.size();
    const RegexOutcome outcome = search_user_regex(*r->regex, r->regex_flags, x.record.message, r->captures, cap, &reads);
    const std::string work = std::to_string(reads) + " bytes read of " + std::to_string(regex_read_limit(n));
    switch (outcome) {
      case RegexOutcome::match:
        t.matched = true;
        t.why = "regex matched, " + work;
        break;
      case RegexOutcome::no_match:
        t.why = "regex did not match, " + work;
        break;
      case RegexOutcome::undecided:
        t.matched = true;  // as evaluate_regex: fails closed
        t.why = "regex ran out of its limits for this line (" + std::to_string(regex_state_limit(n)) + " states, " +
                std::to_string(regex_read_limit(n)) + " bytes read): undecided, the rule alarms (fails closed)";
        break;
    }
    x.rules.push_back(std::move(t));
  }
  std::swap(scratch, im.scratch);
  // Views into the scratch buffer would dangle: explanations copy every field above.
  return x;
}

}  // namespace hopguard::scanner
