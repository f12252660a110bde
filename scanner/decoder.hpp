// Decoders: a syslog record -> an event, chosen by the record's program name through one
// registry (decoder_registry.cpp). Contract: decode never throws, never allocates after the
// scratch buffer has grown to the longest line, and says what it made of the line: an event,
// a line of that program that carries no event (ignored: "setting up network...", "Received
// disconnect ..."), or a line that starts like an event but does not parse (failed: counted by
// the engine as a parse failure of that source, never guessed at).
//
// Dispatch is on the program name only: text inside another program's message never becomes an
// sshd or KDC event, whatever it looks like.
#pragma once

#include "event.hpp"
#include "syslog_record.hpp"
#include "text_search.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace hopguard::scanner {

// Reused between calls to hold unescaped values (quoted key=value records), and decode_kdc's
// memos of earlier lines (kdc_decoder.cpp): the last error text, the two last status words and
// the last requested-etypes group. Copies of text only, each used only where the line holds
// exactly those bytes where the general path would find them, so a scratch may start empty
// anywhere (a nested line's, explain()'s) at the cost of a miss, and earlier lines never change
// how a line decodes (fuzz_decoders checks a stream against a fresh scratch per line).
struct DecodeScratch {
  std::string buffer;
  static constexpr std::size_t kKdcTailMax = 64;
  std::uint8_t kdc_tail_size = 0;  // 0: none kept
  char kdc_tail[kKdcTailMax] = {};  // ", TEXT"
  // decode_kdc's two last status words that passed is_status_word, with their ": " (up to 16
  // bytes, zero-filled; size 0: none).
  alignas(16) char kdc_status[2][16] = {};
  // decode_kdc's last requested-etypes group, through its first ") " (size 0: none).
  static constexpr std::size_t kKdcEtypesMax = 256;
  std::uint16_t kdc_etypes_size = 0;
  alignas(16) char kdc_etypes[kKdcEtypesMax] = {};
  std::uint8_t kdc_status_size[2] = {};
  std::uint8_t kdc_status_next = 0;
};

enum class DecodeResult : std::uint8_t { event, ignored, failed };

// krb5kdc: "AS_REQ (...) IP: STATUS: ..." and "TGS_REQ (...) IP: STATUS: authtime N, ...".
DecodeResult decode_kdc(const SyslogRecord& record, Event& event, DecodeScratch& scratch) noexcept;

// The start of a KDC request line, the lines decode_kdc reads: "AS_REQ (" or "TGS_REQ (". Such a
// message is never a wrapped syslog line (may_be_wrapped: a word, one space, then no digit).
inline bool is_kdc_request(std::string_view message) noexcept {
  return starts_with(message, "AS_REQ (") || starts_with(message, "TGS_REQ (");
}
// sshd and sshd-session.
DecodeResult decode_sshd(const SyslogRecord& record, Event& event, DecodeScratch& scratch) noexcept;
// hopguard decision records: the message is the key=value record of decision_record.hpp,
// optionally preceded by "pam_hopguard(SERVICE:TYPE): " (pam_syslog's prefix).
DecodeResult decode_hopguard(const SyslogRecord& record, Event& event, DecodeScratch& scratch) noexcept;

// hopguard_kdcpolicy.so writes its decisions into the KDC's own log through krb5kdc's com_err
// hook, so they arrive as krb5kdc lines whose message starts with this prefix:
// "hopguard: verdict=deny rule=R exchange=as|tgs principal=P service=S target=T mode=M reason=..."
// (krb5/kdcpolicy record()). The engine hands such krb5kdc lines to decode_kdcpolicy.
inline constexpr std::string_view kKdcPolicyPrefix = "hopguard: ";
DecodeResult decode_kdcpolicy(const SyslogRecord& record, Event& event, DecodeScratch& scratch) noexcept;

using DecodeFn = DecodeResult (*)(const SyslogRecord&, Event&, DecodeScratch&) noexcept;

struct DecoderEntry {
  std::string_view program;  // exact program name
  EventSource source;
  DecodeFn decode;
};

// The registry: the decoder for a program name, or null (the line is another program's and is
// counted as skipped). sshd lines whose message starts with "pam_hopguard(" are hopguard
// records (pam_syslog logs under the calling program's name); the engine handles that case.
const DecoderEntry* find_decoder(std::string_view program) noexcept;

// Splits a key=value record (decision_record.hpp escaping) into its values. Values with
// escapes are unescaped into scratch (views into it stay valid until the next call). Returns
// false if the text is not such a record (unknown or repeated key, bad quoting, no verdict).
bool decode_decision_record(std::string_view text, Event& event, DecodeScratch& scratch) noexcept;
// The same for the kdcpolicy module's record (keys verdict rule exchange principal service target
// mode reason; all but reason required).
bool decode_kdcpolicy_record(std::string_view text, Event& event, DecodeScratch& scratch) noexcept;

}  // namespace hopguard::scanner
