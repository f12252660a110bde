#include "event.hpp"

namespace hopguard::scanner {

namespace {
// Index = EventKind value. The names are what rule files use in `events = [...]`.
constexpr std::string_view kKindNames[] = {
    "none",           "kdc.as",          "kdc.tgs",
    "sshd.accepted",  "sshd.failed",     "sshd.postponed",
    "sshd.authorized", "sshd.closed-preauth", "sshd.session-failed",
    "hopguard.decision", "syslog.sender-mismatch", "kdc.unreadable",
};
static_assert(sizeof(kKindNames) / sizeof(kKindNames[0]) == static_cast<std::size_t>(EventKind::count_));
}  // namespace

std::string_view to_string(EventKind kind) noexcept {
  const auto i = static_cast<std::size_t>(kind);
  return i < static_cast<std::size_t>(EventKind::count_) ? kKindNames[i] : "none";
}

EventKind parse_event_kind(std::string_view text) noexcept {
  for (std::size_t i = 1; i < static_cast<std::size_t>(EventKind::count_); ++i) {
    if (kKindNames[i] == text) return static_cast<EventKind>(i);
  }
  return EventKind::none;
}

std::string_view to_string(EventSource source) noexcept {
  switch (source) {
    case EventSource::none: return "none";
    case EventSource::kdc: return "kdc";
    case EventSource::sshd: return "sshd";
    case EventSource::hopguard: return "hopguard";
  }
  return "none";
}

void split_service(std::string_view s, std::string_view& primary, std::string_view& instance,
                   std::string_view& realm) noexcept {
  const std::size_t at = s.rfind('@');
  std::string_view name = at == std::string_view::npos ? s : s.substr(0, at);
  realm = at == std::string_view::npos ? std::string_view{} : s.substr(at + 1);
  const std::size_t slash = name.find('/');
  if (slash == std::string_view::npos) {
    primary = name;
    instance = {};
    return;
  }
  primary = name.substr(0, slash);
  instance = name.substr(slash + 1);
  const std::size_t slash2 = instance.find('/');
  if (slash2 != std::string_view::npos) instance = instance.substr(0, slash2);
}

}  // namespace hopguard::scanner
