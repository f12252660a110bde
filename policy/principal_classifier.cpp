// Principal classification (DESIGN section 4). Syntax is libkrb5's; classes are the site's.
#include "principal_parser.hpp"

#include <hopguard/policy.hpp>

#include <krb5.h>

#include <algorithm>

namespace hopguard {

std::string_view to_string(PrincipalClass c) noexcept {
  switch (c) {
    case PrincipalClass::regular: return "regular";
    case PrincipalClass::special: return "special";
    case PrincipalClass::service: return "service";
    case PrincipalClass::foreign: return "foreign";
    case PrincipalClass::invalid: return "invalid";
  }
  return "invalid";
}

Expected<std::unique_ptr<PrincipalParser>> PrincipalParser::create() {
  krb5_context ctx = nullptr;
  const krb5_error_code rc = krb5_init_secure_context(&ctx);
  if (rc != 0) {
    const char* msg = krb5_get_error_message(nullptr, rc);  // a null context is allowed here
    Error e{ErrorCode::internal, {}, "", std::string("libkrb5 context: ") + msg};
    krb5_free_error_message(nullptr, msg);
    return e;
  }
  return std::unique_ptr<PrincipalParser>(new PrincipalParser(ctx));
}

PrincipalParser::~PrincipalParser() { krb5_free_context(ctx_); }

bool PrincipalParser::parse(std::string_view text, ParsedPrincipal* out, std::string* why) const {
  const std::string z(text);  // libkrb5 wants NUL-terminated text
  std::lock_guard<std::mutex> lock(mu_);
  krb5_principal p = nullptr;
  krb5_error_code rc = krb5_parse_name_flags(ctx_, z.c_str(), KRB5_PRINCIPAL_PARSE_REQUIRE_REALM, &p);
  if (rc != 0) {
    const char* msg = krb5_get_error_message(ctx_, rc);
    *why = msg;
    krb5_free_error_message(ctx_, msg);
    return false;
  }
  char* unparsed = nullptr;
  rc = krb5_unparse_name(ctx_, p, &unparsed);
  if (rc != 0) {
    krb5_free_principal(ctx_, p);
    *why = "cannot unparse";
    return false;
  }
  out->name = unparsed;
  krb5_free_unparsed_name(ctx_, unparsed);
  out->realm.assign(p->realm.data, p->realm.length);
  out->components.clear();
  for (krb5_int32 i = 0; i < p->length; ++i) {
    out->components.emplace_back(p->data[i].data, p->data[i].length);
  }
  krb5_free_principal(ctx_, p);
  return true;
}

namespace {

bool is_plain_byte(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

}  // namespace

// The common shape "comp[/comp...]@REALM" where every component and the realm are non-empty
// runs of [A-Za-z0-9._-]: libkrb5 parses such a name into exactly these components and realm
// and unparses it to the same text (none of these bytes is quoted or special to it), so the
// parse needs no krb5 context, lock or allocation per component of its own. Returns false
// (out untouched) for every other text, which then goes to libkrb5 as before; the equivalence
// is checked against libkrb5 in tests/policy.
bool plain_shape(std::string_view text, std::string_view& name, std::string_view& realm) noexcept {
  const std::size_t at = text.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= text.size()) return false;
  name = text.substr(0, at);
  realm = text.substr(at + 1);
  for (const char c : realm) {
    if (!is_plain_byte(c)) return false;
  }
  std::size_t start = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '/') {
      if (i == start) return false;  // empty component
      start = i + 1;
    } else if (!is_plain_byte(name[i])) {
      return false;
    }
  }
  return true;
}

bool parse_plain_principal(std::string_view text, ParsedPrincipal& out) {
  std::string_view name, realm;
  if (!plain_shape(text, name, realm)) return false;
  out.name.assign(text);
  out.realm.assign(realm);
  out.components.clear();
  std::size_t start = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '/') {
      out.components.emplace_back(name.substr(start, i - start));
      start = i + 1;
    }
  }
  return true;
}

Principal Policy::classify(std::string_view text) const {
  Principal out;
  out.name = std::string(text.substr(0, kMaxPrincipalLength));
  if (text.empty()) {
    out.why_invalid = "empty principal";
    return out;
  }
  if (text.size() > kMaxPrincipalLength) {
    out.why_invalid = "principal longer than " + std::to_string(kMaxPrincipalLength) + " bytes";
    return out;
  }
  if (std::any_of(text.begin(), text.end(),
                  [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f; })) {
    out.why_invalid = "control byte in principal";
    return out;
  }
  ParsedPrincipal parsed;
  std::string why;
  if (!parse_plain_principal(text, parsed) && !parser_->parse(text, &parsed, &why)) {
    out.why_invalid = "not a principal: " + why;
    return out;
  }
  if (parsed.components.empty() || parsed.realm.empty() ||
      std::any_of(parsed.components.begin(), parsed.components.end(),
                  [](const std::string& c) { return c.empty(); })) {
    out.why_invalid = "principal with an empty component or realm";
    return out;
  }
  out.name = std::move(parsed.name);
  out.realm = std::move(parsed.realm);
  out.components = std::move(parsed.components);

  if (out.realm != config_.realm) {  // realms are case-sensitive: hg.test is not HG.TEST
    out.cls = PrincipalClass::foreign;
    if (out.components.size() == 1) out.user = out.components[0];
    return out;
  }
  if (out.components.size() >= 2) {
    out.cls = PrincipalClass::service;
    return out;
  }
  const std::string& primary = out.components[0];
  // Special iff primary == prefix + user + middle + host + suffix (or host before user) for a
  // configured legacy guest, with a non-empty user. Should two guests both fit, the longer host
  // name wins: "x-a-b" with guests "a-b" and "b" is user x on a-b.
  std::size_t user_at = 0, user_size = 0;
  const HostEntry* best = match_special(primary, user_at, user_size);
  std::string best_user;
  if (best != nullptr) best_user = primary.substr(user_at, user_size);
  // An enterprise name (RFC 6806, kinit -E) is one component holding a whole principal name:
  // the KDC logs "alice-legacy1\@HG.TEST@HG.TEST" for the client as requested and looks it up
  // as the principal in that component. The text cannot tell it from a name with a literal '@',
  // so a name that is special either way is special: the enterprise spelling of a host-specific
  // principal must not dodge the rules that watch it (rows 2, 3, 4 and 7).
  if (best == nullptr && primary.find('@') != std::string::npos) {
    ParsedPrincipal inner;
    std::string inner_why;
    if ((parse_plain_principal(primary, inner) || parser_->parse(primary, &inner, &inner_why)) &&
        inner.realm == config_.realm && inner.components.size() == 1 && !inner.components[0].empty()) {
      best = match_special(inner.components[0], user_at, user_size);
      if (best != nullptr) best_user = inner.components[0].substr(user_at, user_size);
    }
  }
  if (best != nullptr) {
    out.cls = PrincipalClass::special;
    out.user = std::move(best_user);
    out.host = best->name;
  } else {
    out.cls = PrincipalClass::regular;
    out.user = primary;
  }
  return out;
}

std::array<std::string_view, 7> Policy::special_principal_parts(std::string_view user,
                                                                std::string_view host) const noexcept {
  const std::string_view first = user_first_ ? user : host;
  const std::string_view second = user_first_ ? host : user;
  return {template_prefix_, first, template_middle_, second, template_suffix_, "@", config_.realm};
}

bool Policy::is_special_principal_for(std::string_view principal, std::string_view user,
                                      std::string_view host) const noexcept {
  for (const std::string_view part : special_principal_parts(user, host)) {
    if (!principal.starts_with(part)) return false;
    principal.remove_prefix(part.size());
  }
  return principal.empty();
}

const HostEntry* Policy::match_special(std::string_view name, std::size_t& user_at,
                                       std::size_t& user_size) const noexcept {
  const HostEntry* best = nullptr;
  for (const SpecialPattern& sp : special_patterns_) {
    const HostEntry& host = config_.hosts[sp.host_index];
    if (name.size() <= sp.head.size() + sp.tail.size()) continue;
    if (name.substr(0, sp.head.size()) != sp.head) continue;
    if (name.substr(name.size() - sp.tail.size()) != sp.tail) continue;
    if (best != nullptr && best->name.size() >= host.name.size()) continue;
    best = &host;
    user_at = sp.head.size();
    user_size = name.size() - sp.head.size() - sp.tail.size();
  }
  return best;
}

Policy::ClassOf Policy::classify_class(std::string_view text) const {
  std::string_view name, realm;
  if (text.size() <= kMaxPrincipalLength && plain_shape(text, name, realm)) {
    // libkrb5 would parse this text into exactly these components and realm (see
    // parse_plain_principal), so the class follows as in classify().
    if (realm != config_.realm) return {PrincipalClass::foreign, nullptr};
    if (name.find('/') != std::string_view::npos) return {PrincipalClass::service, nullptr};
    std::size_t user_at = 0, user_size = 0;
    if (const HostEntry* guest = match_special(name, user_at, user_size)) return {PrincipalClass::special, guest};
    return {PrincipalClass::regular, nullptr};
  }
  const Principal p = classify(text);
  return {p.cls, p.cls == PrincipalClass::special ? find_host(p.host) : nullptr};
}

std::string Policy::special_principal_for(std::string_view user, std::string_view host) const {
  std::string name;
  for (const std::string_view part : special_principal_parts(user, host)) name.append(part);
  return name;
}

}  // namespace hopguard
