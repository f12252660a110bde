// decide() (target: under 5 microseconds, DESIGN section 8) and config loading.
#include <hopguard/decision.hpp>
#include <hopguard/policy.hpp>

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace {

std::string example_text() {
  std::ifstream in(std::string(HOPGUARD_SOURCE_DIR) + "/etc/hopguard.toml");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A larger site: 200 legacy guests, 4 bastions, 50 allowed sources.
std::string large_site() {
  std::string t = "realm = \"HG.TEST\"\n";
  for (int b = 0; b < 4; ++b) {
    t += "[bastion.bastion" + std::to_string(b) + "]\nfqdn = \"bastion" + std::to_string(b) +
         ".hg.test\"\naddresses = [\"10.0.0." + std::to_string(b + 1) + "\", \"fd00::" + std::to_string(b + 1) + "\"]\n";
  }
  for (int l = 0; l < 200; ++l) {
    t += "[legacy.legacy" + std::to_string(l) + "]\nfqdn = \"legacy" + std::to_string(l) + ".hg.test\"\naddresses = [\"10.1." +
         std::to_string(l / 250) + "." + std::to_string(l % 250 + 1) + "\"]\n";
  }
  t += "[bastion_access]\nallowed_sources = [";
  for (int s = 0; s < 50; ++s) t += (s ? ", " : "") + std::string("\"10.9.") + std::to_string(s) + ".0/24\"";
  t += "]\n";
  return t;
}

const hopguard::Policy& policy(const std::string& text) {
  static const hopguard::Policy p = [&] {
    auto l = hopguard::Policy::load(text, "bench.toml");
    if (!l) std::abort();
    return std::move(l).value();
  }();
  return p;
}

void BM_DecideLegacySessionAllow(benchmark::State& state) {
  const auto& p = policy(example_text());
  const hopguard::Request r{hopguard::Role::legacy, "legacy1", "alice", hopguard::Stage::session,
                            "alice-legacy1@HG.TEST", "127.0.0.2"};
  for (auto _ : state) benchmark::DoNotOptimize(hopguard::decide(p, r));
}
BENCHMARK(BM_DecideLegacySessionAllow);

void BM_DecideLegacySessionDeny(benchmark::State& state) {
  const auto& p = policy(example_text());
  const hopguard::Request r{hopguard::Role::legacy, "legacy1", "alice", hopguard::Stage::session,
                            "alice@HG.TEST", "127.0.0.4"};
  for (auto _ : state) benchmark::DoNotOptimize(hopguard::decide(p, r));
}
BENCHMARK(BM_DecideLegacySessionDeny);

void BM_DecideAccountOnly(benchmark::State& state) {
  const auto& p = policy(example_text());
  const hopguard::Request r{hopguard::Role::bastion, "bastion", "alice", hopguard::Stage::account, std::nullopt,
                            "127.0.0.5"};
  for (auto _ : state) benchmark::DoNotOptimize(hopguard::decide(p, r));
}
BENCHMARK(BM_DecideAccountOnly);

void BM_DecideLargeSiteWorstCase(benchmark::State& state) {
  static const auto large = [] {
    auto l = hopguard::Policy::load(large_site(), "large.toml");
    if (!l) std::abort();
    return std::make_unique<hopguard::Policy>(std::move(l).value());
  }();
  // The last guest and an IPv6 bastion address: every list is walked to its end.
  const hopguard::Request r{hopguard::Role::legacy, "legacy199", "alice", hopguard::Stage::session,
                            "alice-legacy199@HG.TEST", "fd00::4"};
  for (auto _ : state) benchmark::DoNotOptimize(hopguard::decide(*large, r));
}
BENCHMARK(BM_DecideLargeSiteWorstCase);

void BM_LoadExampleConfig(benchmark::State& state) {
  const std::string text = example_text();
  for (auto _ : state) benchmark::DoNotOptimize(hopguard::Policy::load(text, "etc/hopguard.toml"));
}
BENCHMARK(BM_LoadExampleConfig)->Unit(benchmark::kMicrosecond);

void BM_LoadLargeConfig(benchmark::State& state) {
  const std::string text = large_site();
  for (auto _ : state) benchmark::DoNotOptimize(hopguard::Policy::load(text, "large.toml"));
}
BENCHMARK(BM_LoadLargeConfig)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
