// Scanner micro-benchmarks (Google Benchmark): the stages of the hot path on real line shapes.
// The end-to-end figure beside cat/wc/grep is bench/scan/run_bench.sh.
#include <scanner/decoder.hpp>
#include <scanner/engine.hpp>
#include <scanner/framing.hpp>
#include <scanner/syslog_record.hpp>

#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

namespace {

using namespace hopguard;
using namespace hopguard::scanner;

constexpr std::int64_t kReceive = 1795392000000;
const std::string kKdc =
    "Nov 22 18:10:52 vm krb5kdc[5709](info): TGS_REQ (8 etypes {aes256-cts-hmac-sha1-96(18), "
    "aes128-cts-hmac-sha1-96(17), aes256-cts-hmac-sha384-192(20), aes128-cts-hmac-sha256-128(19), "
    "DEPRECATED:des3-cbc-sha1(16), DEPRECATED:arcfour-hmac(23), camellia128-cts-cmac(25), "
    "camellia256-cts-cmac(26)}) 127.0.0.5: ISSUE: authtime 1795371052, etypes "
    "{rep=aes256-cts-hmac-sha1-96(18), tkt=aes256-cts-hmac-sha1-96(18), ses=aes256-cts-hmac-sha1-96(18)}, "
    "alice@HG.TEST for host/bastion.hg.test@HG.TEST";
const std::string kSshd =
    "Nov 22 18:34:13 legacy1 sshd[30149]: Accepted gssapi-with-mic for alice from 127.0.0.2 port 40147 ssh2: "
    "alice-legacy1@HG.TEST";
const std::string kNoise = "Nov 22 18:34:13 web7 CRON[30149]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly)";

void BM_SyslogRecord(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(parse_syslog_record(kNoise, kReceive));
}
BENCHMARK(BM_SyslogRecord);

void BM_DecodeKdc(benchmark::State& state) {
  const SyslogRecord r = parse_syslog_record(kKdc, kReceive);
  Event ev;
  DecodeScratch s;
  for (auto _ : state) benchmark::DoNotOptimize(decode_kdc(r, ev, s));
}
BENCHMARK(BM_DecodeKdc);

void BM_DecodeSshd(benchmark::State& state) {
  const SyslogRecord r = parse_syslog_record(kSshd, kReceive);
  Event ev;
  DecodeScratch s;
  for (auto _ : state) benchmark::DoNotOptimize(decode_sshd(r, ev, s));
}
BENCHMARK(BM_DecodeSshd);

void BM_FramingLf(benchmark::State& state) {
  std::string stream;
  for (int i = 0; i < 1000; ++i) stream += kNoise + "\n";
  std::size_t frames = 0;
  for (auto _ : state) {
    Framer f(FramerOptions{65536, Framing::lf});
    f.feed(stream, [&](const Frame&) { ++frames; });
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 1000);
  benchmark::DoNotOptimize(frames);
}
BENCHMARK(BM_FramingLf);

std::shared_ptr<const Policy> bench_policy() {
  auto p = Policy::load_file(std::string(HOPGUARD_SOURCE_DIR) + "/tests/scanner/data/hopguard.toml");
  if (!p) std::abort();
  return std::make_shared<const Policy>(std::move(p.value()));
}

// One line of each kind through the whole engine (header, decoder, rules, correlator).
void BM_EngineLine(benchmark::State& state, const std::string* line) {
  auto policy = bench_policy();
  auto rules = Ruleset::compile(shipped_rule_files(), policy->config().rules);
  if (!rules) std::abort();
  Engine e(policy, rules.value());
  std::size_t alarms = 0;
  const AlarmSink sink = [&](const Alarm&) { ++alarms; };
  for (auto _ : state) e.feed_line(*line, kReceive, sink);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  benchmark::DoNotOptimize(alarms);
}
BENCHMARK_CAPTURE(BM_EngineLine, noise, &kNoise);
BENCHMARK_CAPTURE(BM_EngineLine, kdc_legit, &kKdc);
BENCHMARK_CAPTURE(BM_EngineLine, sshd_legit, &kSshd);

}  // namespace

BENCHMARK_MAIN();
