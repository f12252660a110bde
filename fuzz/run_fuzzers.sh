#!/usr/bin/env bash
# Runs each scanner fuzzer for SECONDS on its seed corpus (fuzz/corpus/<target>/, read-only:
# new inputs go to a temporary directory). CI: fuzz/run_fuzzers.sh BUILD_DIR/fuzz 30
# Exit non-zero on the first crash (the reproducer is left in the temporary directory).
set -euo pipefail
bin=${1:?usage: run_fuzzers.sh FUZZ_BUILD_DIR [SECONDS]}
secs=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
for t in fuzz_framing fuzz_syslog_record fuzz_decoders fuzz_engine; do
  if [ ! -x "$bin/$t" ]; then  # a missing target must fail, not pass silently
    echo "$t: not built in $bin"
    exit 1
  fi
  out=$(mktemp -d "/tmp/hopguard-$t.XXXXXX")
  echo "== $t (${secs}s)"
  (cd "$out" && "$bin/$t" -max_total_time="$secs" -max_len=4096 -timeout=5 -rss_limit_mb=1024 \
      -print_final_stats=1 "$out" "$here/corpus/$t" 2>&1 | grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)" || true)
  if compgen -G "$out/crash-*" >/dev/null || compgen -G "$out/leak-*" >/dev/null || \
     compgen -G "$out/timeout-*" >/dev/null || compgen -G "$out/oom-*" >/dev/null; then
    echo "$t: failure, reproducer in $out"
    exit 1
  fi
  rm -rf "$out"
done
