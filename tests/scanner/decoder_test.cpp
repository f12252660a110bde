// Decoders on the real line shapes (tests/harness/README.md for the KDC, DESIGN section 1 and
// tests/scenarios/*/README.md for sshd), hostile variants, and the decision record round trip.
#include <scanner/decoder.hpp>

#include <hopguard/decision_record.hpp>

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace hopguard::scanner {
namespace {

constexpr std::int64_t kReceive = 1795392000000;
const std::string kEtypes =
    "(8 etypes {aes256-cts-hmac-sha1-96(18), aes128-cts-hmac-sha1-96(17), aes256-cts-hmac-sha384-192(20), "
    "aes128-cts-hmac-sha256-128(19), DEPRECATED:des3-cbc-sha1(16), DEPRECATED:arcfour-hmac(23), "
    "camellia128-cts-cmac(25), camellia256-cts-cmac(26)})";
const std::string kIssued =
    "etypes {rep=aes256-cts-hmac-sha1-96(18), tkt=aes256-cts-hmac-sha1-96(18), ses=aes256-cts-hmac-sha1-96(18)}";

struct Decoded {
  std::string line;
  SyslogRecord rec;
  Event ev;
  DecodeScratch scratch;
  DecodeResult result = DecodeResult::failed;
};

// The line through one decoder (fn) or, without one, the registry's decoder for its program.
void decode(Decoded& d, std::string line, DecodeFn fn = nullptr) {
  d.line = std::move(line);
  d.rec = parse_syslog_record(d.line, kReceive);
  if (fn == nullptr) {
    const DecoderEntry* e = find_decoder(d.rec.program);
    ASSERT_NE(e, nullptr) << d.line;
    fn = e->decode;
  }
  d.result = fn(d.rec, d.ev, d.scratch);
  if (d.result != DecodeResult::event) return;
  // The contract fuzz_decoders checks too: an event's text fields are views into the line or the
  // scratch buffer, never into anything the decoder chose (a literal, a temporary).
  const std::string_view in(d.line), sc(d.scratch.buffer);
  const auto within = [](std::string_view outer, std::string_view part) {
    return part.data() >= outer.data() && part.data() + part.size() <= outer.data() + outer.size();
  };
  for (const std::string_view f : {d.ev.status, d.ev.principal, d.ev.service, d.ev.address, d.ev.user, d.ev.method,
                                   d.ev.port, d.ev.detail, d.ev.rule, d.ev.role, d.ev.record_host, d.ev.stage}) {
    EXPECT_TRUE(f.empty() || within(in, f) || within(sc, f)) << "field \"" << f << "\" of " << d.line;
  }
}

// The registry matches program names exactly: each name is found, and no name one byte off
// (changed, added, dropped, case), a prefix or an extension of it is.
TEST(DecoderRegistry, ExactProgramNamesOnly) {
  for (const std::string name : {"krb5kdc", "sshd", "sshd-session", "hopguard"}) {
    const DecoderEntry* e = find_decoder(name);
    ASSERT_NE(e, nullptr) << name;
    EXPECT_EQ(e->program, name);
    for (std::size_t i = 0; i < name.size(); ++i) {
      std::string changed = name;
      changed[i] = static_cast<char>(changed[i] ^ 0x20);  // case, or another byte
      EXPECT_EQ(find_decoder(changed), nullptr) << changed;
      std::string dropped = name;
      dropped.erase(i, 1);
      EXPECT_EQ(find_decoder(dropped), nullptr) << dropped;
      if (name.substr(0, i) != "sshd") {  // "sshd-session" starts with another registered name
        EXPECT_EQ(find_decoder(name.substr(0, i)), nullptr) << name.substr(0, i);
      }
    }
    EXPECT_EQ(find_decoder(name + "x"), nullptr);
    EXPECT_EQ(find_decoder("x" + name), nullptr);
    EXPECT_EQ(find_decoder(name + std::string(1, '\0')), nullptr);
  }
  EXPECT_EQ(find_decoder(""), nullptr);
  EXPECT_EQ(find_decoder("sshd-session-sshd-session"), nullptr);
}

// The engine skips may_be_wrapped, and the tests for hopguard records inside krb5kdc and other
// programs' lines, for a message is_kdc_request accepts (nearly every KDC line): on messages
// made from the two request words perturbed (bytes changed, dropped, added: digits, spaces, '('
// around the space after the word) and followed by the start of a wrapped line or other bytes,
// each one is_kdc_request accepts must be one may_be_wrapped refuses, and start with neither
// record prefix.
TEST(KdcDecoder, RequestLinesAreNeverWrapped) {
  std::mt19937 rnd(59);
  const std::string starts[] = {"AS_REQ (", "TGS_REQ (", "AS_REQ 2", "TGS_REQ  2", "Nov 22", "AS_REQ"};
  const std::string rests[] = {"4 etypes {a(1)}) 10.0.0.2: ISSUE", " 18:10:52 vm krb5kdc[5709](info): AS_REQ (",
                               "2 18:10:52 vm krb5kdc[1]: x", "", "(", " 1"};
  const std::string noise = " (9_AT2";
  int accepted = 0;
  for (int i = 0; i < 50000; ++i) {
    std::string m = starts[rnd() % std::size(starts)];
    for (auto k = rnd() % 3; k > 0; --k) {
      const std::size_t at = rnd() % (m.size() + 1);
      switch (rnd() % 3) {
        case 0: if (at < m.size()) m[at] = noise[rnd() % noise.size()]; break;
        case 1: m.insert(at, 1, noise[rnd() % noise.size()]); break;
        default: if (at < m.size()) m.erase(at, 1); break;
      }
    }
    m += rests[rnd() % std::size(rests)];
    SyslogRecord r;
    r.program = "krb5kdc";
    r.message = m;
    if (!is_kdc_request(m)) continue;
    ++accepted;
    ASSERT_FALSE(may_be_wrapped(r)) << m;
    ASSERT_FALSE(m.starts_with("pam_hopguard(") || m.starts_with(kKdcPolicyPrefix)) << m;
  }
  EXPECT_GT(accepted, 5000);
}

std::string kdc(const std::string& kind, const std::string& rest) {
  return "Nov 22 18:10:52 vm krb5kdc[5709](info): " + kind + " " + kEtypes + " " + rest;
}

TEST(KdcDecoder, AsIssue) {
  Decoded d;
  decode(d, kdc("AS_REQ", "127.0.0.5: ISSUE: authtime 1795371052, " + kIssued +
                              ", alice@HG.TEST for krbtgt/HG.TEST@HG.TEST"));
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.kind, EventKind::kdc_as);
  EXPECT_EQ(d.ev.address, "127.0.0.5");
  EXPECT_EQ(d.ev.status, "ISSUE");
  EXPECT_EQ(d.ev.principal, "alice@HG.TEST");
  EXPECT_EQ(d.ev.service, "krbtgt/HG.TEST@HG.TEST");
  EXPECT_EQ(d.ev.detail, "");
}

TEST(KdcDecoder, AsPreauthFailedWithMessage) {
  Decoded d;
  decode(d, kdc("AS_REQ", "127.0.0.4: PREAUTH_FAILED: alice-legacy1@HG.TEST for krbtgt/HG.TEST@HG.TEST, Preauthentication failed"));
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.status, "PREAUTH_FAILED");
  EXPECT_EQ(d.ev.principal, "alice-legacy1@HG.TEST");
  EXPECT_EQ(d.ev.service, "krbtgt/HG.TEST@HG.TEST");
  EXPECT_EQ(d.ev.detail, "Preauthentication failed");
}

TEST(KdcDecoder, TgsLookingUpServerWithoutComma) {
  Decoded d;
  decode(d, kdc("TGS_REQ", "127.0.0.2: LOOKING_UP_SERVER: authtime 0, etypes {rep=UNSUPPORTED:(0)} carol@HG.TEST "
                           "for host/nosuch.hg.test@HG.TEST, Server not found in Kerberos database"));
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.kind, EventKind::kdc_tgs);
  EXPECT_EQ(d.ev.principal, "carol@HG.TEST");
  EXPECT_EQ(d.ev.service, "host/nosuch.hg.test@HG.TEST");
  EXPECT_EQ(d.ev.detail, "Server not found in Kerberos database");
}

TEST(KdcDecoder, ClientWithSpacesAndForIsKeptWhole) {
  Decoded d;
  decode(d, kdc("AS_REQ", "127.0.0.4: CLIENT_NOT_FOUND: x for alice@HG.TEST for krbtgt/HG.TEST@HG.TEST, "
                          "Client not found in Kerberos database"));
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.principal, "x for alice@HG.TEST");
  EXPECT_EQ(d.ev.service, "krbtgt/HG.TEST@HG.TEST");
}

// MIT's own error texts can hold " for " (krb5 error table: KDC_ERR_ETYPE_NOSUPP,
// KDC_ERR_CANNOT_POSTDATE, KDC_ERR_MUST_USE_USER2USER): the server is not taken from them.
TEST(KdcDecoder, ErrorTextWithForIsNotTheServer) {
  Decoded d;
  decode(d, kdc("AS_REQ", "127.0.0.4: BAD_ENCRYPTION_TYPE: alice@HG.TEST for krbtgt/HG.TEST@HG.TEST, "
                          "KDC has no support for encryption type"));
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.principal, "alice@HG.TEST");
  EXPECT_EQ(d.ev.service, "krbtgt/HG.TEST@HG.TEST");
  EXPECT_EQ(d.ev.detail, "KDC has no support for encryption type");
  // The client's own " for " and the error text's, on one line.
  decode(d, kdc("TGS_REQ", "127.0.0.2: CANNOT_POSTDATE: authtime 0, etypes {rep=UNSUPPORTED:(0)} x for y@Z "
                           "for host/legacy1.hg.test@HG.TEST, Ticket is ineligible for postdating"));
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.principal, "x for y@Z");
  EXPECT_EQ(d.ev.service, "host/legacy1.hg.test@HG.TEST");
  EXPECT_EQ(d.ev.detail, "Ticket is ineligible for postdating");
  // No candidate looks like a principal (a made-up service name): the last " for " as before.
  decode(d, kdc("TGS_REQ", "127.0.0.2: LOOKING_UP_SERVER: authtime 0, etypes {rep=UNSUPPORTED:(0)} carol@HG.TEST "
                           "for no such service"));
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.principal, "carol@HG.TEST");
  EXPECT_EQ(d.ev.service, "no such service");
}

// A client name made of " for "s: only a few candidates are tried, so decoding stays linear.
TEST(KdcDecoder, ManyForsAreBounded) {
  std::string name;
  for (int i = 0; i < 8000; ++i) name += "a for b ";
  Decoded d;
  decode(d, kdc("AS_REQ", "127.0.0.4: CLIENT_NOT_FOUND: " + name + "for c, d"));
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.service, "c");
  EXPECT_EQ(d.ev.detail, "d");
}

// The CLIENT/SERVER/TEXT split of the header comment of scanner/kdc_decoder.cpp with
// std::string_view searches only: the reference for the decoder's memrchr/find_pair/memchr.
struct RefSplit {
  std::size_t sep = std::string_view::npos;
  std::string_view server, detail;
};
RefSplit ref_split_at(std::string_view m, std::size_t sep) {
  RefSplit s{sep, m.substr(sep + 5), {}};
  const std::size_t comma = s.server.find(", ");
  if (comma != std::string_view::npos) {
    s.detail = s.server.substr(comma + 2);
    s.server = s.server.substr(0, comma);
  }
  return s;
}
bool ref_looks_like_principal(std::string_view s) {
  return !s.empty() && s.find('@') != std::string_view::npos && s.find(' ') == std::string_view::npos;
}
RefSplit ref_split(std::string_view m) {
  const std::size_t last = m.rfind(" for ");
  if (last == std::string_view::npos) return {};
  RefSplit s = ref_split_at(m, last);
  if (ref_looks_like_principal(s.server)) return s;
  std::size_t end = last;
  for (int tries = 1; tries < 4 && end > 0; ++tries) {
    const std::size_t sep = m.substr(0, end).rfind(" for ");
    if (sep == std::string_view::npos) break;
    const RefSplit earlier = ref_split_at(m, sep);
    if (ref_looks_like_principal(earlier.server)) return earlier;
    end = sep;
  }
  return s;
}

// The line "AS_REQ ... 127.0.0.4: CLIENT_NOT_FOUND: " + tail decoded as the reference split of
// tail says: an unreadable request when the split is not whole, else its client, server and
// detail. Returns the split (sep npos when not whole; views into tail).
RefSplit expect_reference_split(const std::string& tail) {
  Decoded d;
  decode(d, kdc("AS_REQ", "127.0.0.4: CLIENT_NOT_FOUND: " + tail));
  const RefSplit want = ref_split(tail);
  EXPECT_EQ(d.result, DecodeResult::event) << tail;
  if (want.sep == std::string_view::npos || want.server.empty()) {
    // Not whole: a request line the KDC wrote that cannot be read (rule kdc-request-unreadable).
    EXPECT_EQ(d.ev.kind, EventKind::kdc_unreadable) << tail;
    return {};
  }
  EXPECT_EQ(d.ev.kind, EventKind::kdc_as) << tail;
  EXPECT_EQ(d.ev.principal, tail.substr(0, want.sep)) << tail;
  EXPECT_EQ(d.ev.service, want.server) << tail;
  EXPECT_EQ(d.ev.detail, want.detail) << tail;
  return want;
}

// Generated "CLIENT for SERVER[, TEXT]" tails (spaces, commas, '@' and " for " anywhere) decode
// to the reference split.
TEST(KdcDecoder, ClientServerSplitAsReference) {
  const char* pieces[] = {" for ", "for", " ", ", ", ",", "@", "@HG.TEST", "alice", "krbtgt/HG.TEST", "x", "",
                          "host/legacy1.hg.test@HG.TEST", " fo", "r ", "  "};
  std::mt19937 rnd(5);
  int events = 0, usual = 0;  // usual: no space after the last " for ", an '@' in SERVER
  for (int i = 0; i < 40000; ++i) {
    std::string tail;
    const int n = 1 + static_cast<int>(rnd() % 8);
    for (int k = 0; k < n; ++k) tail += pieces[rnd() % std::size(pieces)];
    const RefSplit want = expect_reference_split(tail);
    if (::testing::Test::HasFailure()) return;
    if (want.sep == std::string_view::npos) continue;
    ++events;
    if (tail.find(' ', want.sep + 5) == std::string::npos && want.server.find('@') != std::string_view::npos) ++usual;
  }
  EXPECT_GT(events, 5000);
  EXPECT_GT(usual, 1000);
}

// The decoder's fast path for the usual end (usual_end in kdc_decoder.cpp: SERVER after the last
// space, within the last 32 bytes, with an '@', after " for") against the reference split, on
// tails made to sit at its edges: SERVERs of 14 to 33 bytes around the 16- and 32-byte windows,
// '@'s and spaces before and after the last " for ", an earlier " for " whose SERVER qualifies
// (", " after it), "for" spelt with other bytes (0xe6 'o' 'r', "fur", "\tfor"), and tails shorter
// than 16 bytes and than 32.
TEST(KdcDecoder, UsualEndAsReference) {
  const char* clients[] = {"alice@HG.TEST", "x for a@b, t", "a@b", "", "q", "x for alice@HG.TEST", "c for a@b,",
                           "\xe6\xff@ for", "a  b", "user1657-legacy1@HG.TEST", "a, b for c@d, e"};
  const char* fors[] = {" for ", " for ", " for ", " fur ", "\tfor ", " \xe6or ", "for ", " for  ", " for@"};
  const char* servers[] = {"krbtgt/HG.TEST@HG.TEST", "host/legacy10.hg.test@HG.TEST", "x", "@", "a@b", "ab@",
                           "krbtgt/HG.TEST", "host/legacy1.hg.test@HG.TES", "host/legacy1.hg.test@HG.TEST.XX",
                           "host/legacy1.hg.test@HG.TEST.XXX", "host/legacy1.hg.test@HG.TEST.XXXX",
                           "@abcdefghijklmn", "@abcdefghijklmno", "abcdefghijklmno@", "abcdefghijklmnop@",
                           "x@y z", "x@y, z", "a@b for c", "host/legacy1.hg.test", "abcdefghijklmnopqr"};
  std::mt19937 rnd(67);
  int usual = 0;
  for (int i = 0; i < 60000; ++i) {
    std::string tail = clients[rnd() % std::size(clients)];
    tail += fors[rnd() % std::size(fors)];
    std::string server = servers[rnd() % std::size(servers)];
    // Cut or grow the SERVER by a few bytes, so that its start falls on every byte of the windows.
    if (rnd() % 2 == 0) server = server.substr(0, server.size() - std::min<std::size_t>(server.size(), rnd() % 4));
    else server.insert(0, std::string(rnd() % 4, "a@. "[rnd() % 4]));
    tail += server;
    if (rnd() % 8 == 0) tail.insert(0, std::string(rnd() % 40, 'p'));
    const RefSplit want = expect_reference_split(tail);
    if (::testing::Test::HasFailure()) return;
    if (want.sep == std::string_view::npos) continue;
    const std::size_t last_space = tail.rfind(' ');
    if (tail.size() >= 16 && last_space + 32 >= tail.size() && want.sep + 4 == last_space &&
        want.server.find('@') != std::string_view::npos) {
      ++usual;
    }
  }
  EXPECT_GT(usual, 8000);
}

// The decoder keeps the error text that ended a line (DecodeScratch::kdc_tail) and reads a line
// that ends with it as "CLIENT for SERVER" + that text (kept_tail_end in kdc_decoder.cpp). On
// streams of lines whose texts repeat (so the kept one is tried on most lines), with texts that
// hold " for ", start with "for ", hold ", " or '@', are empty or long, follow another separator
// than ", ", and heads that end in another shape, each line decodes with the stream's scratch as with a fresh one (the general
// path alone) and as the reference split.
TEST(KdcDecoder, KeptErrorTextAsFreshScratch) {
  const char* heads[] = {"alice@HG.TEST for krbtgt/HG.TEST@HG.TEST", "x for a@b, t for krbtgt/HG.TEST@HG.TEST",
                         "user1657-legacy1@HG.TEST for host/legacy10.hg.test@HG.TEST", "a for b", "a for b@c d",
                         "a for b@c,", "a for b@c for", "c@d for x, y for host/legacy1.hg.test", "for b@c",
                         "abc for b@c", "a for abcdefghijklmnopqrstuvwxyz0123@",
                         "a for abcdefghijklmnopqrstuvwxyz01234@", "pppppppppppppppp for x@y"};
  const char* texts[] = {"Additional pre-authentication required", "Preauthentication failed",
                         "Ticket is ineligible for postdating", "for x@y", "for", "x for y@z", "a, b", "a@b", "",
                         " ", "for x", "fo", "KDC has no support for encryption type",
                         "Client not found in Kerberos database, with a text of sixty-four bytes ...",
                         "Client not found in Kerberos database, with a text of sixty-two b"};
  std::mt19937 rnd(71);
  DecodeScratch stream;
  int kept = 0;
  for (int i = 0; i < 60000; ++i) {
    std::string tail = heads[rnd() % std::size(heads)];
    if (rnd() % 8 != 0) {
      const char* seps[] = {", ", ", ", ", ", "; ", "  ", ",,", ""};
      tail += rnd() % 4 == 0 ? seps[rnd() % std::size(seps)] : ", ";
      tail += texts[rnd() % 4 == 0 ? rnd() % std::size(texts) : rnd() % 3];
    }
    const std::string line = kdc("AS_REQ", "127.0.0.4: CLIENT_NOT_FOUND: " + tail);
    const SyslogRecord rec = parse_syslog_record(line, kReceive);
    Event warm, fresh;
    DecodeScratch own;
    // The text kept before this line (none: "").
    const std::string kept_before =
        stream.kdc_tail_size >= 2 ? std::string(stream.kdc_tail + 2, stream.kdc_tail_size - 2) : std::string();
    const DecodeResult r1 = decode_kdc(rec, warm, stream);
    const DecodeResult r2 = decode_kdc(rec, fresh, own);
    ASSERT_EQ(r1, r2) << tail;
    ASSERT_TRUE(warm == fresh) << tail;
    const RefSplit want = ref_split(tail);
    if (r1 == DecodeResult::event && warm.kind == EventKind::kdc_as) {
      ASSERT_NE(want.sep, std::string_view::npos) << tail;
      ASSERT_EQ(warm.principal, tail.substr(0, want.sep)) << tail;
      ASSERT_EQ(warm.service, want.server) << tail;
      ASSERT_EQ(warm.detail, want.detail) << tail;
      if (!warm.detail.empty() && warm.detail == kept_before) ++kept;
    }
  }
  EXPECT_GT(kept, 6000);
}

// What decode_kdc keeps in its scratch between lines (the last error text, the last status
// words, the last requested-etypes group) never changes what it makes of a line: on a stream of request lines whose parts repeat
// (so the kept texts are tried on most lines), with status words around the kept ones (longer,
// shorter, a ':' or a lower-case byte inside, 14 to 17 bytes with their ": ", at the line's end),
// requested-etypes groups of 2 to 130 bytes with a byte changed or a ") " made anywhere, and one line in four
// with a few bytes changed, each line decodes with the stream's scratch as
// with a fresh one.
TEST(KdcDecoder, StreamScratchAsFresh) {
  const char* etypes[] = {"(4 etypes {aes256-cts-hmac-sha1-96(18), aes128-cts-hmac-sha1-96(17), "
                          "aes256-cts-hmac-sha384-192(20), aes128-cts-hmac-sha256-128(19)}) ",
                          "(2 etypes {aes256-cts-hmac-sha1-96(18), aes128-cts-hmac-sha1-96(17)}) ",
                          "(1 etypes {a(1)}) ", "(2 etypes {a(1), b(2)}) ", "(1 etypes {a(1)})  ", "(x) ", "() "};
  const char* addresses[] = {"10.0.5.36", "10.0.0.2", "fd00::4", "a", ""};
  const char* statuses[] = {"ISSUE", "ISSUE", "NEEDED_PREAUTH", "NEEDED_PREAUTH", "PREAUTH_FAILED", "ISSUEX", "ISSU",
                            "ISS:UE", "ISSUe", "NO PREAUTH", "NO  PREAUTH", "ABCDEFGHIJKLMN", "ABCDEFGHIJKLMNO",
                            "ABCDEFGHIJKLM", "HOPGUARD_REGULAR_CRED_ON_LEGACY", "", " ISSUE"};
  const char* middles[] = {"authtime 1795200000, " , "authtime 1795200000, ", "", "authtime 0, ", "authtime x, "};
  const char* issued[] = {"etypes {rep=aes256-cts-hmac-sha1-96(18), tkt=aes256-cts-hmac-sha1-96(18)}, ",
                          "etypes {rep=UNSUPPORTED:(0)} ", "", "etypes {", "etypes {}"};
  const char* ends[] = {"user51@HG.TEST for krbtgt/HG.TEST@HG.TEST",
                        "user407@HG.TEST for krbtgt/HG.TEST@HG.TEST, Additional pre-authentication required",
                        "u-legacy1@HG.TEST for host/legacy1.hg.test@HG.TEST", "a for b", "x for a@b, t for c",
                        "", "ISSUE: x", "ISSUE"};
  std::mt19937 rnd(73);
  DecodeScratch stream;
  int events = 0;
  for (int i = 0; i < 80000; ++i) {
    const auto pick = [&](const auto& v) { return std::string(v[rnd() % 4 == 0 ? rnd() % std::size(v) : rnd() % 2]); };
    // One group in four with a byte changed, or two made a ") " (the kept group is compared
    // sixteen bytes a step: every byte of it must count).
    std::string group = pick(etypes);
    if (rnd() % 4 == 0) {
      const std::size_t at = rnd() % (group.size() - 1);
      if (rnd() % 2 == 0) group.replace(at, 2, ") ");
      else group[at] = ") ,}("[rnd() % 5];
    }
    std::string message = std::string(rnd() % 3 == 0 ? "TGS_REQ " : "AS_REQ ") + group + pick(addresses) +
                          ": " + pick(statuses) + (rnd() % 16 == 0 ? ":" : ": ") + pick(middles) + pick(issued) +
                          pick(ends);
    if (rnd() % 32 == 0) message = message.substr(0, 1 + rnd() % message.size());  // cut, never empty
    for (auto k = rnd() % 4 == 0 ? rnd() % 3 + 1 : 0; k > 0; --k) message[rnd() % message.size()] = " :,@)(}{A_"[rnd() % 10];
    const std::string line = "Nov 21 00:00:00 kdc1 krb5kdc[811](info): " + message;
    const SyslogRecord rec = parse_syslog_record(line, kReceive);
    Event warm, fresh;
    DecodeScratch own;
    const DecodeResult r1 = decode_kdc(rec, warm, stream);
    const DecodeResult r2 = decode_kdc(rec, fresh, own);
    ASSERT_EQ(r1, r2) << message;
    ASSERT_TRUE(warm == fresh) << message << "\nstatus " << warm.status << " / " << fresh.status << "\nprincipal "
                               << warm.principal << " / " << fresh.principal;
    if (r1 == DecodeResult::event && warm.kind != EventKind::kdc_unreadable) ++events;
  }
  EXPECT_GT(events, 30000);
}

TEST(KdcDecoder, TruncatedNameMarked) {
  const std::string name = std::string(124, 'a') + "...";
  Decoded d;
  decode(d, kdc("AS_REQ", "127.0.0.4: CLIENT_NOT_FOUND: " + name + " for krbtgt/HG.TEST@HG.TEST, Client not found in Kerberos database"));
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_TRUE(d.ev.principal_truncated);
  EXPECT_FALSE(d.ev.service_truncated);
}

TEST(KdcDecoder, Ipv6AddressAndHopguardStatus) {
  Decoded d;
  decode(d, kdc("TGS_REQ", "fd00::4: HOPGUARD_REGULAR_CRED_ON_LEGACY: authtime 0, etypes {rep=UNSUPPORTED:(0)} "
                           "alice@HG.TEST for host/legacy1.hg.test@HG.TEST, KDC policy rejects request"));
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.address, "fd00::4");
  EXPECT_EQ(d.ev.status, "HOPGUARD_REGULAR_CRED_ON_LEGACY");
}

// Other lines of the KDC carry no event; a request line that is not whole (cut by the KDC at
// its log buffer, or of an unknown format) is an event of its own: its evidence cannot be read.
TEST(KdcDecoder, OtherLinesIgnoredBrokenRequestLinesUnreadable) {
  Decoded d;
  decode(d, "Nov 22 18:10:52 vm krb5kdc[5709](info): setting up network...");
  EXPECT_EQ(d.result, DecodeResult::ignored);
  decode(d, "Nov 22 18:10:52 vm krb5kdc[5709](info): TGS_REQ: issuing alternate <un-named> TGT");
  EXPECT_EQ(d.result, DecodeResult::ignored);
  decode(d, "Nov 22 18:10:52 vm krb5kdc[5709](info): AS_REQ (broken");
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.kind, EventKind::kdc_unreadable);
  EXPECT_EQ(d.ev.status, "AS_REQ");
  EXPECT_EQ(d.ev.host, "vm");
  EXPECT_TRUE(d.ev.principal.empty());
  decode(d, kdc("TGS_REQ", "127.0.0.4: lower case: a for b"));
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.kind, EventKind::kdc_unreadable);
  EXPECT_EQ(d.ev.status, "TGS_REQ");
}

// MIT writes some status words of its own with spaces (kdc_util.c); they are read as the KDC's
// text like any other. A double space or a lower-case word is no status of the KDC.
TEST(KdcDecoder, StatusWordsWithSpaces) {
  Decoded d;
  for (const std::string status : {"VALIDATE VALID TICKET", "NO PREAUTH", "TICKET NOT RENEWABLE TOO LONG NAME"}) {
    decode(d, kdc("TGS_REQ", "127.0.0.4: " + status + ": authtime 0, etypes {rep=UNSUPPORTED:(0)} alice@HG.TEST for "
                             "krbtgt/HG.TEST@HG.TEST, KDC can't fulfill requested option"));
    ASSERT_EQ(d.result, DecodeResult::event) << status;
    EXPECT_EQ(d.ev.kind, EventKind::kdc_tgs) << status;
    EXPECT_EQ(d.ev.status, status);
    EXPECT_EQ(d.ev.principal, "alice@HG.TEST");
    EXPECT_EQ(d.ev.detail, "KDC can't fulfill requested option");
  }
  for (const std::string status : {"NO  PREAUTH", "NO preauth", "NO\tPREAUTH"}) {
    decode(d, kdc("TGS_REQ", "127.0.0.4: " + status + ": authtime 0, etypes {rep=UNSUPPORTED:(0)} alice@HG.TEST for "
                             "krbtgt/HG.TEST@HG.TEST, x"));
    ASSERT_EQ(d.result, DecodeResult::event) << status;
    EXPECT_EQ(d.ev.kind, EventKind::kdc_unreadable) << status;
  }
}

// A legacy guest's older sshd (see sshd_decoder.cpp): protocol 1's tails, the two-word method
// of an empty password, and "illegal user" before OpenSSH 3.9.
TEST(SshdDecoder, OlderOpenSshForms) {
  Decoded d;
  decode(d, "Nov 22 18:10:53 legacy1 sshd[400]: Accepted password for alice from 10.0.9.9 port 2222");
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.kind, EventKind::ssh_accepted);
  EXPECT_EQ(d.ev.user, "alice");
  EXPECT_EQ(d.ev.address, "10.0.9.9");
  EXPECT_EQ(d.ev.port, "2222");
  EXPECT_EQ(d.ev.detail, "");

  decode(d, "Nov 22 18:10:53 legacy1 sshd[400]: Accepted rsa for alice from 10.0.9.9 port 2222 ssh1: RSA SHA256:x");
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.method, "rsa");
  EXPECT_EQ(d.ev.detail, "RSA SHA256:x");

  // RUSER is the client's word: for a local account the first tail is sshd's.
  decode(d, "Nov 22 18:10:53 legacy1 sshd[400]: Accepted rhosts-rsa for bob from 10.0.9.9 port 2222 ruser x from 10.0.0.2 port 1");
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.address, "10.0.9.9");
  EXPECT_EQ(d.ev.detail, "x from 10.0.0.2 port 1");
  EXPECT_EQ(d.ev.principal, "");

  decode(d, "Nov 22 18:10:53 legacy1 sshd[400]: Accepted without authentication for carol from 10.0.9.9 port 2222");
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.method, "without authentication");
  EXPECT_EQ(d.ev.user, "carol");

  // Protocol 1 kerberos: tktuser is the ticket's client principal.
  decode(d, "Nov 22 18:10:53 legacy1 sshd[400]: Accepted kerberos for alice from 10.0.0.2 port 2222 tktuser alice@HG.TEST");
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.principal, "alice@HG.TEST");
  // ... and a GSSAPI-looking method with a protocol 1 tail names none.
  decode(d, "Nov 22 18:10:53 legacy1 sshd[400]: Accepted gssapi-with-mic for alice from 10.0.0.2 port 2222 ruser alice@HG.TEST");
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.principal, "");

  // "illegal user" (OpenSSH before 3.9) is "invalid user": USER is remote text, read from the right.
  decode(d, "Nov 22 18:10:53 legacy1 sshd[400]: Failed password for illegal user u from 10.0.0.2 port 1 from 10.0.9.9 port 2");
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.kind, EventKind::ssh_failed);
  EXPECT_TRUE(d.ev.invalid_user);
  EXPECT_EQ(d.ev.user, "u from 10.0.0.2 port 1");
  EXPECT_EQ(d.ev.address, "10.0.9.9");

  // An empty invalid user name: its " from " begins at the space of "invalid user " (a view
  // past the name's start, caught by the fuzzer's UBSan).
  for (const char* empty : {"Failed none for invalid user from 10.0.9.9 port 22 ssh2",
                            "Failed none for illegal user from 10.0.9.9 port 22"}) {
    decode(d, std::string("Nov 22 18:10:53 legacy1 sshd[400]: ") + empty);
    ASSERT_EQ(d.result, DecodeResult::event) << empty;
    EXPECT_TRUE(d.ev.invalid_user);
    EXPECT_EQ(d.ev.user, "");
    EXPECT_EQ(d.ev.address, "10.0.9.9");
  }

  for (const char* bad : {"Accepted password for alice from 10.0.9.9 port 2222 ssh3",
                          "Accepted password for alice from 10.0.9.9 port 2222 ruser",
                          "Accepted password for alice from 10.0.9.9 port 2222 other x"}) {
    decode(d, std::string("Nov 22 18:10:53 legacy1 sshd[400]: ") + bad);
    EXPECT_EQ(d.result, DecodeResult::failed) << bad;
  }
}

TEST(SshdDecoder, AcceptedGssapiWithPrincipal) {
  Decoded d;
  decode(d, "Nov 22 18:10:53 legacy1 sshd[400]: Accepted gssapi-with-mic for alice from 127.0.0.2 port 50000 ssh2: alice-legacy1@HG.TEST");
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.kind, EventKind::ssh_accepted);
  EXPECT_EQ(d.ev.method, "gssapi-with-mic");
  EXPECT_EQ(d.ev.user, "alice");
  EXPECT_EQ(d.ev.address, "127.0.0.2");
  EXPECT_EQ(d.ev.port, "50000");
  EXPECT_EQ(d.ev.principal, "alice-legacy1@HG.TEST");
  EXPECT_EQ(d.ev.host, "legacy1");
  EXPECT_EQ(d.ev.pid, "400");
}

// "IP port N" is read with one search for the first byte <= 0x20 and a digit skip: the address is
// 1..255 bytes above 0x20 (bytes >= 0x80 included), up to a space; the port 1..5 digits, up to a
// space or the end. Each edge of those bounds, on both sides, and past the sixteen bytes a step.
TEST(SshdDecoder, AddressAndPortBounds) {
  struct Case {
    std::string tail;  // after "from "
    bool ok;
    std::string address, port;
  };
  const std::string a255(255, 'a'), a256(256, 'a');
  const std::vector<Case> cases = {
      {"10.0.0.1 port 22 ssh2", true, "10.0.0.1", "22"},
      {"2001:db8::1234:5678:9abc:def0 port 22 ssh2", true, "2001:db8::1234:5678:9abc:def0", "22"},
      {"\xff\xfe\x80 port 22 ssh2", true, "\xff\xfe\x80", "22"},
      {"h\x7f port 22 ssh2", true, "h\x7f", "22"},
      {"!", false, "", ""},
      {a255 + " port 22 ssh2", true, a255, "22"},
      {a256 + " port 22 ssh2", false, "", ""},
      {"10.0.0.1\t port 22 ssh2", false, "", ""},
      {"10.0.0.1\x01 port 22 ssh2", false, "", ""},
      {"2001:db8::1234:5678:9abc:\x1f port 22 ssh2", false, "", ""},
      {"10.0.0.1", false, "", ""},
      {" port 22 ssh2", false, "", ""},
      {"10.0.0.1 port 22", true, "10.0.0.1", "22"},
      {"10.0.0.1 port 12345 ssh2", true, "10.0.0.1", "12345"},
      {"10.0.0.1 port 123456 ssh2", false, "", ""},
      {"10.0.0.1 port 22x ssh2", false, "", ""},
      {"10.0.0.1 port  ssh2", false, "", ""},
      {"10.0.0.1 port ", false, "", ""},
      {"10.0.0.1 port 22\tssh2", false, "", ""},
  };
  for (const Case& c : cases) {
    Decoded d;
    decode(d, "Nov 22 18:10:53 legacy1 sshd[400]: Accepted password for alice from " + c.tail);
    ASSERT_EQ(d.result, c.ok ? DecodeResult::event : DecodeResult::failed) << c.tail;
    if (!c.ok) continue;
    EXPECT_EQ(d.ev.address, c.address) << c.tail;
    EXPECT_EQ(d.ev.port, c.port) << c.tail;
  }
}

TEST(SshdDecoder, AcceptedPublickeyHasNoPrincipal) {
  Decoded d;
  decode(d, "Nov 22 18:10:53 b sshd-session[9]: Accepted publickey for bob from ::1 port 4 ssh2: ED25519 SHA256:abc");
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.principal, "");
  EXPECT_EQ(d.ev.address, "::1");
  EXPECT_EQ(d.ev.detail, "ED25519 SHA256:abc");
}

TEST(SshdDecoder, FailedInvalidUserWithForgedTail) {
  // The user name is attacker text: the rightmost well-formed "from IP port N ssh2" wins.
  Decoded d;
  decode(d, "Nov 22 18:10:53 b sshd[9]: Failed password for invalid user x from 127.0.0.2 port 1 ssh2 from 127.0.0.4 port 2 ssh2");
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.kind, EventKind::ssh_failed);
  EXPECT_TRUE(d.ev.invalid_user);
  EXPECT_EQ(d.ev.user, "x from 127.0.0.2 port 1 ssh2");
  EXPECT_EQ(d.ev.address, "127.0.0.4");
}

TEST(SshdDecoder, AuthorizedClosedSessionFailed) {
  Decoded d;
  decode(d, "Nov 22 18:10:53 b sshd[9]: Authorized to alice, krb5 principal alice@HG.TEST (krb5_kuserok)");
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.kind, EventKind::ssh_authorized);
  EXPECT_EQ(d.ev.user, "alice");
  EXPECT_EQ(d.ev.principal, "alice@HG.TEST");
  // Fedora/RHEL log another suffix when ~/.k5users authorized the login; any other suffix is
  // not this line.
  decode(d, "Nov 22 18:10:53 b sshd[9]: Authorized to bob, krb5 principal alice@HG.TEST (ssh_gssapi_krb5_cmdok)");
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.kind, EventKind::ssh_authorized);
  EXPECT_EQ(d.ev.user, "bob");
  EXPECT_EQ(d.ev.principal, "alice@HG.TEST");
  decode(d, "Nov 22 18:10:53 b sshd[9]: Authorized to bob, krb5 principal alice@HG.TEST (x_krb5_kuserok)");
  EXPECT_EQ(d.result, DecodeResult::failed);
  decode(d, "Nov 22 18:10:53 b sshd[9]: Connection closed by authenticating user alice 127.0.0.4 port 5 [preauth]");
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.kind, EventKind::ssh_closed_preauth);
  EXPECT_EQ(d.ev.user, "alice");
  EXPECT_EQ(d.ev.address, "127.0.0.4");
  decode(d, "Nov 22 18:10:53 b sshd[9]: PAM: pam_open_session(): Permission denied");
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.kind, EventKind::ssh_session_failed);
  decode(d, "Nov 22 18:10:53 b sshd[9]: Received disconnect from 1.2.3.4 port 5:11: bye");
  EXPECT_EQ(d.result, DecodeResult::ignored);
  decode(d, "Nov 22 18:10:53 b sshd[9]: Accepted password for alice from 1.2.3.4 port 5 ssh3");
  EXPECT_EQ(d.result, DecodeResult::failed);
}

// Shapes recorded from a real OpenSSH 9.2p1 (tests/sshd/recorded/README.md).
TEST(SshdDecoder, RecordedPreauthSuffixErrorPrefixAndFailedPrincipal) {
  Decoded d;
  decode(d, "Nov 22 18:34:16 vm sshd[30174]: Postponed gssapi-with-mic for alice from 127.0.0.5 port 40172 ssh2 [preauth]");
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.kind, EventKind::ssh_postponed);
  EXPECT_EQ(d.ev.address, "127.0.0.5");
  EXPECT_EQ(d.ev.port, "40172");
  decode(d, "Nov 22 18:34:20 vm sshd[30218]: error: PAM: pam_open_session(): Cannot make/remove an entry for the specified session");
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.kind, EventKind::ssh_session_failed);
  EXPECT_EQ(d.ev.detail, "Cannot make/remove an entry for the specified session");
  decode(d, "Nov 22 18:34:15 vm sshd[30163]: Failed gssapi-with-mic for alice from 127.0.0.4 port 40162 ssh2: alice-legacy1@HG.TEST");
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.kind, EventKind::ssh_failed);
  EXPECT_EQ(d.ev.principal, "alice-legacy1@HG.TEST");
}

TEST(HopguardDecoder, PamRecordRoundTrip) {
  Request rq;
  rq.role = Role::legacy;
  rq.host = "legacy1";
  rq.user = "al ice\"\\\n\x01";
  rq.stage = Stage::session;
  rq.principal = "alice@HG.TEST";
  rq.rhost = "127.0.0.4";
  Decision dec;
  dec.verdict = Verdict::deny;
  dec.rule = "regular-cred-on-legacy";
  dec.reason = "ordinary principal alice@HG.TEST, \"quoted\" = x";
  const std::string record = format_decision_record(rq, dec, "deny");
  Decoded d;
  decode(d, "Nov 22 18:10:53 legacy1 hopguard[3]: " + record);
  ASSERT_EQ(d.result, DecodeResult::event) << record;
  EXPECT_EQ(d.ev.status, "deny");
  EXPECT_EQ(d.ev.rule, "regular-cred-on-legacy");
  EXPECT_EQ(d.ev.role, "legacy");
  EXPECT_EQ(d.ev.record_host, "legacy1");
  EXPECT_EQ(d.ev.user, rq.user);
  EXPECT_EQ(d.ev.principal, "alice@HG.TEST");
  EXPECT_EQ(d.ev.address, "127.0.0.4");
  EXPECT_EQ(d.ev.stage, "session");
  EXPECT_EQ(d.ev.detail, dec.reason);
}

TEST(HopguardDecoder, RejectsRepeatedAndUnknownKeys) {
  Event ev;
  DecodeScratch s;
  EXPECT_TRUE(decode_decision_record("verdict=deny rule=x", ev, s));
  EXPECT_FALSE(decode_decision_record("verdict=deny rule=x rule=y", ev, s));
  EXPECT_FALSE(decode_decision_record("verdict=deny rule=x evil=1", ev, s));
  EXPECT_FALSE(decode_decision_record("verdict=deny rule=\"x", ev, s));
  EXPECT_FALSE(decode_decision_record("verdict=deny rule=\"\\q\"", ev, s));
  EXPECT_FALSE(decode_decision_record("rule=x", ev, s));
  EXPECT_FALSE(decode_decision_record("verdict=deny  rule=x", ev, s));
}

// The kdcpolicy module's record as krb5kdc writes it (tests/kdcpolicy/README.md, a real KDC).
TEST(KdcPolicyDecoder, ModuleRecordInTheKdcLog) {
  Decoded d;
  decode(d, "Nov 22 18:10:52 vm krb5kdc[5709](info): hopguard: verdict=would-deny rule=special-cred-off-bastion "
            "exchange=as principal=alice-legacy1@HG.TEST service=krbtgt/HG.TEST@HG.TEST target=legacy1 "
            "mode=monitor reason=\"initial ticket for \\\"x\\\" requested for 127.0.0.4\"",
         &decode_kdcpolicy);
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.kind, EventKind::hg_decision);
  EXPECT_EQ(d.ev.source, EventSource::hopguard);
  EXPECT_EQ(d.ev.component, "hopguard_kdcpolicy");
  EXPECT_EQ(d.ev.status, "would-deny");
  EXPECT_EQ(d.ev.rule, "special-cred-off-bastion");
  EXPECT_EQ(d.ev.stage, "as");
  EXPECT_EQ(d.ev.principal, "alice-legacy1@HG.TEST");
  EXPECT_EQ(d.ev.service, "krbtgt/HG.TEST@HG.TEST");
  EXPECT_EQ(d.ev.record_host, "legacy1");
  EXPECT_EQ(d.ev.detail, "initial ticket for \"x\" requested for 127.0.0.4");
  EXPECT_EQ(d.ev.pid, "5709");
}

// The module names no target for a service of no configured host; the event's target is then
// the service's instance, as a KDC line's (one incident for the record and the line).
TEST(KdcPolicyDecoder, TargetOfAnUnconfiguredServiceIsItsInstance) {
  Decoded d;
  decode(d, "Nov 22 18:10:52 vm krb5kdc[5709](info): hopguard: verdict=deny rule=special-cred-wrong-target "
            "exchange=tgs principal=alice-legacy1@HG.TEST service=krbtgt/OTHER.TEST@HG.TEST target=\"\" "
            "mode=enforce",
         &decode_kdcpolicy);
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.record_host, "OTHER.TEST");
  decode(d, "Nov 22 18:10:52 vm krb5kdc[5709](info): hopguard: verdict=deny rule=special-cred-wrong-target "
            "exchange=tgs principal=alice-legacy1@HG.TEST service=kadmin@HG.TEST target=\"\" mode=enforce",
         &decode_kdcpolicy);
  ASSERT_EQ(d.result, DecodeResult::event);
  EXPECT_EQ(d.ev.record_host, "");
}

TEST(KdcPolicyDecoder, OtherModuleLinesAndBadRecords) {
  const std::string head = "Nov 22 18:10:52 vm krb5kdc[5709](info): ";
  const std::string ok = "verdict=deny rule=r exchange=tgs principal=p service=s target=t mode=enforce";
  const auto result = [&](const std::string& message) {
    Decoded d;
    decode(d, head + message, &decode_kdcpolicy);
    return d.result;
  };
  EXPECT_EQ(result("hopguard: " + ok), DecodeResult::event);
  EXPECT_EQ(result("hopguard: " + ok + " reason=\"why\""), DecodeResult::event);
  // Start-up, reload and internal-error lines carry no decision.
  EXPECT_EQ(result("hopguard: config loaded path=/etc/hopguard/hopguard.toml"), DecodeResult::ignored);
  EXPECT_EQ(result("hopguard: kdcpolicy internal error, ticket refused: out of memory"), DecodeResult::ignored);
  // Every key but reason is required; a PAM record's keys are not the module's.
  EXPECT_EQ(result("hopguard: verdict=deny rule=r exchange=tgs principal=p service=s mode=enforce"),
            DecodeResult::failed);
  EXPECT_EQ(result("hopguard: " + ok + " role=legacy"), DecodeResult::failed);
  EXPECT_EQ(result("hopguard: " + ok + " target=u"), DecodeResult::failed);
  EXPECT_EQ(result("hopguard: verdict=deny rule=\"r"), DecodeResult::failed);
}


// The KDC decoder sets every field of the Event it returns (without clearing it first): on
// request lines, whole and perturbed, an Event left full by an sshd line and a decision record
// gets the same fields as a fresh one.
TEST(KdcDecoder, AssignsTheWholeEvent) {
  std::mt19937 rnd(61);
  const std::string bases[] = {
      "Nov 22 10:00:00 kdc1 krb5kdc[77](info): AS_REQ " + kEtypes + " 127.0.0.2: ISSUE: authtime 1795371052, " +
          kIssued + ", alice@HG.TEST for krbtgt/HG.TEST@HG.TEST",
      "Nov 22 10:00:00 kdc1 krb5kdc[77](info): TGS_REQ " + kEtypes + " 10.1.2.3: ISSUE: authtime 1795371052, " +
          kIssued + ", alice-legacy1@HG.TEST for host/legacy1.hg.test@HG.TEST",
      "Nov 22 10:00:00 kdc1 krb5kdc[77](info): AS_REQ " + kEtypes +
          " 10.1.2.3: PREAUTH_FAILED: alice-legacy1@HG.TEST for krbtgt/HG.TEST@HG.TEST, Preauthentication failed",
      "Nov 22 10:00:00 kdc1 krb5kdc[77](info): AS_REQ " + kEtypes + " 10.1.2.3: NEEDED_PREAUTH: " +
          std::string(124, 'a') + "... for krbtgt/HG.TEST@HG.TEST, Additional pre-authentication required",
  };
  const std::string full_lines[] = {
      "Nov 22 10:00:00 legacy1 sshd[400]: Accepted gssapi-with-mic for alice from 127.0.0.2 port 50000 ssh2: alice-legacy1@HG.TEST",
      "Nov 22 10:00:01 legacy1 sshd[400]: pam_hopguard(sshd:session): verdict=deny rule=regular-cred-on-legacy "
      "role=legacy host=legacy1 user=alice principal=alice@HG.TEST rhost=127.0.0.2 stage=session reason=\"no\"",
  };
  for (int i = 0; i < 5000; ++i) {
    std::string line = bases[rnd() % std::size(bases)];
    for (auto k = rnd() % 3; k > 0; --k) line[40 + rnd() % (line.size() - 40)] = " :,@"[rnd() % 4];
    Decoded full;
    const std::size_t which = rnd() % std::size(full_lines);
    decode(full, full_lines[which], which == 0 ? nullptr : &decode_hopguard);
    ASSERT_EQ(full.result, DecodeResult::event);
    const SyslogRecord rec = parse_syslog_record(line, kReceive);
    Event fresh;
    DecodeScratch scratch;
    const DecodeResult want = decode_kdc(rec, fresh, scratch);
    Event reused = full.ev;
    reused.invalid_user = true;
    reused.principal_truncated = reused.service_truncated = true;
    ASSERT_EQ(decode_kdc(rec, reused, scratch), want) << line;
    if (want == DecodeResult::event) {
      ASSERT_TRUE(reused == fresh) << line;
    }
  }
}

}  // namespace
}  // namespace hopguard::scanner
