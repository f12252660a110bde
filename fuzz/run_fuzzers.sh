#!/usr/bin/env bash
# Runs each scanner fuzzer for SECONDS on its seed corpus (fuzz/corpus/<target>/, read-only:
# new inputs go to a temporary directory). CI: fuzz/run_fuzzers.sh BUILD_DIR/fuzz 30
# Exit non-zero on the first crash (the reproducer is left in the temporary directory), and when
# a fuzzer did not run to its end (missing, not executable, or exited with an error).
set -euo pipefail
bin=${1:?usage: run_fuzzers.sh FUZZ_BUILD_DIR [SECONDS]}
secs=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
# Absolute: each fuzzer runs inside its own temporary directory.
bin=$(cd "$bin" && pwd)
for t in fuzz_framing fuzz_syslog_record fuzz_decoders fuzz_engine; do
  if [ ! -x "$bin/$t" ]; then  # a missing target must fail, not pass silently
    echo "$t: not built in $bin"
    exit 1
  fi
  out=$(mktemp -d "/tmp/hopguard-$t.XXXXXX")
  echo "== $t (${secs}s)"
  rc=0
  (cd "$out" && "$bin/$t" -max_total_time="$secs" -max_len=4096 -timeout=5 -rss_limit_mb=1024 \
      -print_final_stats=1 "$out" "$here/corpus/$t") > "$out/log" 2>&1 || rc=$?
  grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)" "$out/log" || true
  if [ "$rc" -ne 0 ] || ! grep -q "DONE" "$out/log" || compgen -G "$out/crash-*" >/dev/null || \
     compgen -G "$out/leak-*" >/dev/null || compgen -G "$out/timeout-*" >/dev/null || \
     compgen -G "$out/oom-*" >/dev/null; then
    tail -n 30 "$out/log"
    echo "$t: failure (exit $rc), log and any reproducer in $out"
    exit 1
  fi
  rm -rf "$out"
done
