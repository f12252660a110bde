#!/usr/bin/env bash
# Scan benchmark (DESIGN section 8): lines/s of `hopguard scan` beside cat, wc -l and
# grep -c krb5kdc on the same file in the same run (medians of RUNS interleaved rounds), on a mixed corpus
# and a KDC-only corpus, plus peak RSS of the scan at two corpus sizes (flat memory), and a check
# that the scan finds exactly the corpus' ground-truth misuse.
#
#   bench/scan/run_bench.sh [BUILD_DIR] [LINES] [RUNS] [BASELINE_BUILD_DIR]
#                                                         (defaults: build 2000000 5, no baseline)
# With BASELINE_BUILD_DIR, that build's `hopguard scan` is timed in the same rounds (before/after
# in one run). Each row gives the median wall time and the median CPU time (user + sys): on a
# shared, loaded machine a process may get half a core, and CPU time shows what it cost.
# Corpora are generated once into $HOPGUARD_BENCH_DIR (default /tmp/hopguard-bench), seeded.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
lines=${2:-2000000}
runs=${3:-5}
baseline=${4:-}
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

time_once() {  # command... -> "WALL CPU" of one run, seconds
  # Not /dev/null: GNU grep stops at the first match when its output is /dev/null. cat's
  # output does go to /dev/null (it would only measure the disk otherwise).
  # bash's time builtin: milliseconds (/usr/bin/time -f %e %U %S gives 10 ms steps, too coarse
  # for a 0.3 s scan).
  local TIMEFORMAT='%3R %3U %3S'
  if [ "$1" = cat ]; then
    { time "$@" > /dev/null 2>&1 || true; } 2> "$dir/time"
  else
    { time "$@" > "$dir/out" 2>/dev/null || true; } 2> "$dir/time"
  fi
  tail -1 "$dir/time" | awk '{print $1, $2 + $3}'
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

report() {  # label file
  local f=$2 n
  n=$(wc -l < "$f")
  printf '\n== %s: %s lines, %s MB\n' "$1" "$n" "$(( $(stat -c %s "$f") / 1000000 ))"
  printf '  %-26s %9s %14s %9s %14s\n' "" "wall s" "lines/s" "cpu s" "lines/s (cpu)"
  local labels=("cat" "wc -l" "grep -c krb5kdc" "hopguard scan --json")
  local cmds=("cat $f" "wc -l $f" "grep -c krb5kdc $f" "$hg scan --config $site --json $f")
  if [ -n "$baseline" ]; then
    labels+=("hopguard scan (baseline)")
    cmds+=("$baseline/agent/hopguard scan --config $site --json $f")
  fi
  # Rounds of every command one after the other (interleaved), so that a change of load on
  # this shared machine hits all rows alike; then the median of each.
  local -a walls cpus
  for _ in $(seq "$runs"); do
    for i in "${!cmds[@]}"; do
      local w c
      # shellcheck disable=SC2086
      read -r w c <<< "$(time_once ${cmds[$i]})"
      walls[i]="${walls[i]:-} $w"
      cpus[i]="${cpus[i]:-} $c"
    done
  done
  for i in "${!cmds[@]}"; do
    local w c
    w=$(printf '%s\n' ${walls[i]} | median)
    c=$(printf '%s\n' ${cpus[i]} | median)
    printf '  %-26s %9.3f %14.0f %9.3f %14.0f\n' "${labels[$i]}" "$w" "$(echo "$n / $w" | bc -l)" "$c" \
      "$(echo "$n / ($c + 0.0005)" | bc -l)"
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
for f in "$small" "$mixed" "$kdc"; do
  /usr/bin/time -o "$dir/rss" -f '%M' "$hg" scan --config "$site" --json "$f" > /dev/null 2>&1 || true
  printf '  %-22s %s KB' "$(basename "$f"):" "$(tail -1 "$dir/rss")"
  if [ -n "$baseline" ]; then
    /usr/bin/time -o "$dir/rss" -f '%M' "$baseline/agent/hopguard" scan --config "$site" --json "$f" > /dev/null 2>&1 || true
    printf '   (baseline %s KB)' "$(tail -1 "$dir/rss")"
  fi
  printf '\n'
done
