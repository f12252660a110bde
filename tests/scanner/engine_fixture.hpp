// Shared by the engine tests: the test site (data/hopguard.toml) and the shipped rules.
#pragma once

#include <scanner/engine.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace hopguard::scanner::test {

// 2026-11-23T00:00:00Z: every test line is dated Nov 22 (2026 by year inference).
inline constexpr std::int64_t kReceive = 1795392000000;

inline std::shared_ptr<const Policy> test_policy(const std::string& extra_toml = "") {
  std::string path = std::string(HOPGUARD_TEST_DATA) + "/hopguard.toml";
  auto base = Policy::load_file(path);
  if (!base) {
    ADD_FAILURE() << to_string(base.errors());
    return nullptr;
  }
  if (extra_toml.empty()) return std::make_shared<const Policy>(std::move(base.value()));
  // Re-read the text with extra keys appended.
  FILE* f = std::fopen(path.c_str(), "rb");
  std::string text;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  std::fclose(f);
  auto p = Policy::load(text + "\n" + extra_toml, path);
  if (!p) {
    ADD_FAILURE() << to_string(p.errors());
    return nullptr;
  }
  return std::make_shared<const Policy>(std::move(p.value()));
}

inline std::shared_ptr<const Ruleset> shipped_rules(const Policy& policy,
                                                    std::vector<RuleFile> extra = {}) {
  std::vector<RuleFile> files = shipped_rule_files();
  for (auto& f : extra) files.push_back(std::move(f));
  auto r = Ruleset::compile(files, policy.config().rules);
  if (!r) {
    ADD_FAILURE() << to_string(r.errors());
    return nullptr;
  }
  return r.value();
}

// Runs lines through a fresh engine and returns every alarm (after finish()).
inline std::vector<Alarm> scan(const std::vector<std::string>& lines, EngineOptions opt = {},
                               std::shared_ptr<const Policy> policy = nullptr,
                               std::shared_ptr<const Ruleset> rules = nullptr) {
  if (!policy) policy = test_policy();
  if (!rules) rules = shipped_rules(*policy);
  Engine e(policy, rules, opt);
  std::vector<Alarm> out;
  const AlarmSink sink = [&](const Alarm& a) { out.push_back(a); };
  for (const std::string& l : lines) e.feed_line(l, kReceive, sink);
  e.finish(sink);
  return out;
}

}  // namespace hopguard::scanner::test
