#!/usr/bin/env python3
"""Runs one golden scenario folder through the built `hopguard scan --json` (DESIGN section 6).

A folder holds:
  README.md        where every input line came from
  input/*.log      the logs, scanned together in name order (KDC FILE: logs and syslog files mixed)
  hopguard.toml    optional; default tests/scanner/data/hopguard.toml
  expected.jsonl   the exact alarms, one JSON line each, in output order (empty: no alarm)

The alarms must equal expected.jsonl field for field, except that the year of @timestamp,
event.start and event.end is not compared: RFC 3164 lines carry no year, and the scanner infers
it from the files' modification time (the checkout time here).
Exit code: the scan must exit 1 when alarms are expected, 0 when none are.

Usage: run_scenario.py HOPGUARD_BINARY FOLDER [--update]   (--update rewrites expected.jsonl;
review the diff before committing it)
"""
import glob
import json
import os
import subprocess
import sys

SRC = os.environ.get("HOPGUARD_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def strip_year(alarm):
    a = json.loads(json.dumps(alarm))
    a["@timestamp"] = a["@timestamp"][5:]
    for k in ("start", "end"):
        if k in a.get("event", {}):
            a["event"][k] = a["event"][k][5:]
    return a


def main():
    binary, folder = sys.argv[1], sys.argv[2]
    update = "--update" in sys.argv[3:]
    config = os.path.join(folder, "hopguard.toml")
    if not os.path.exists(config):
        config = os.path.join(SRC, "tests", "scanner", "data", "hopguard.toml")
    inputs = sorted(glob.glob(os.path.join(folder, "input", "*.log")))
    if not inputs:
        print(f"{folder}: no input/*.log")
        return 1
    p = subprocess.run([binary, "scan", "--config", config, "--json", *inputs],
                       capture_output=True, text=True, timeout=60)
    got = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    expected_path = os.path.join(folder, "expected.jsonl")
    if update:
        with open(expected_path, "w") as f:
            for a in got:
                f.write(json.dumps(a, separators=(",", ":")) + "\n")
        print(p.stderr)
        return 0
    with open(expected_path) as f:
        want = [json.loads(l) for l in f if l.strip()]
    ok = True
    want_rc = 1 if want else 0
    if p.returncode != want_rc:
        print(f"exit code {p.returncode}, expected {want_rc}\n{p.stderr}")
        ok = False
    g, w = [strip_year(a) for a in got], [strip_year(a) for a in want]
    if g != w:
        ok = False
        print(f"{len(got)} alarms, expected {len(want)}")
        for i in range(max(len(g), len(w))):
            if i >= len(g) or i >= len(w) or g[i] != w[i]:
                print(f"alarm {i}:\n  got  {json.dumps(g[i]) if i < len(g) else '-'}\n  want {json.dumps(w[i]) if i < len(w) else '-'}")
    print(("ok   " if ok else "FAIL ") + os.path.basename(folder.rstrip("/")))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
