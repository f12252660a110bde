#!/usr/bin/env bash
# Scan benchmark (DESIGN section 8): lines/s of `hopguard scan` beside cat, wc -l and
# grep -c krb5kdc on the same file in the same run (median of RUNS runs each), on a mixed corpus
# and a KDC-only corpus, plus peak RSS of the scan at two corpus sizes (flat memory), and a check
# that the scan finds exactly the corpus' ground-truth misuse.
#
#   bench/scan/run_bench.sh [BUILD_DIR] [LINES] [RUNS]      (defaults: build 2000000 5)
# Corpora are generated once into $HOPGUARD_BENCH_DIR (default /tmp/hopguard-bench), seeded.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
lines=${2:-2000000}
runs=${3:-5}
dir=${HOPGUARD_BENCH_DIR:-/tmp/hopguard-bench}
hg=$build/agent/hopguard
site=$here/site.toml
mkdir -p "$dir"

gen() {  # mode lines
  local f=$dir/$1-$2.log
  if [ ! -s "$f" ]; then
    python3 "$here/gen_corpus.py" --lines "$2" --seed 42 --mode "$1" "$f" "$dir/$1-$2.truth"
  fi
  echo "$f"
}

median_seconds() {  # command...
  local times=()
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s.%N)
    # Not /dev/null: GNU grep stops at the first match when its output is /dev/null. cat's
    # output does go to /dev/null (it would only measure the disk otherwise).
    if [ "$1" = cat ]; then "$@" > /dev/null 2>&1 || true; else "$@" > "$dir/out" 2>/dev/null || true; fi
    t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

report() {  # label file
  local f=$2 n
  n=$(wc -l < "$f")
  printf '\n== %s: %s lines, %s MB\n' "$1" "$n" "$(( $(stat -c %s "$f") / 1000000 ))"
  local labels=("cat" "wc -l" "grep -c krb5kdc" "hopguard scan --json")
  local cmds=("cat $f" "wc -l $f" "grep -c krb5kdc $f" "$hg scan --config $site --json $f")
  for i in 0 1 2 3; do
    local s
    # shellcheck disable=SC2086
    s=$(median_seconds ${cmds[$i]})
    printf '  %-22s %8.3f s  %12.0f lines/s\n' "${labels[$i]}" "$s" "$(echo "$n / $s" | bc -l)"
  done
  /usr/bin/time -o "$dir/rss" -f '%M' "$hg" scan --config "$site" --json "$f" > "$dir/alarms.jsonl" 2>/dev/null || true
  printf '  peak RSS of the scan: %s KB\n' "$(tail -1 "$dir/rss")"
  "$here/check_truth.py" "${f%.log}.truth" < "$dir/alarms.jsonl" | sed 's/^/  /' || true
}

mixed=$(gen mixed "$lines")
kdc=$(gen kdc "$lines")
small=$(gen mixed $((lines / 4)))
report "mixed (80% noise, KDC, sshd, 0.1% misuse)" "$mixed"
report "KDC only" "$kdc"
printf '\n== memory: peak RSS at %s lines vs %s lines\n' $((lines / 4)) "$lines"
for f in "$small" "$mixed"; do
  /usr/bin/time -o "$dir/rss" -f '%M' "$hg" scan --config "$site" --json "$f" > /dev/null 2>&1 || true
  printf '  %s: %s KB\n' "$(basename "$f")" "$(tail -1 "$dir/rss")"
done
