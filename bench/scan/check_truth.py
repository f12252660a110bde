#!/usr/bin/env python3
"""Compares `hopguard scan --json` alarms (stdin) with a corpus' ground truth file.
Key per alarm: "RULE PRINCIPAL-OR-USER TARGET", and "RULE SOURCE-IP TARGET" for
special-cred-guessing (counted per guest, and per address over several guests; SOURCE-IP is
empty when the guesses came from several, TARGET when they were at several guests). Exit 0 iff the sets are equal and no alarm repeats."""
import collections
import json
import sys

truth = collections.Counter(l.strip() for l in open(sys.argv[1]) if l.strip())
got = collections.Counter()
for line in sys.stdin:
    if not line.strip():
        continue
    a = json.loads(line)
    h = a["hopguard"]
    rid = a["rule"]["id"]
    who = a.get("source", {}).get("ip", "") if rid == "special-cred-guessing" else (h.get("principal") or a.get("user", {}).get("name", ""))
    got[f"{rid} {who} {h.get('target', '')}"] += 1
missing = truth - got
extra = got - truth
print(f"ground truth {sum(truth.values())} alarms, scan {sum(got.values())}; missing {sum(missing.values())}, extra {sum(extra.values())}")
for k in list(missing)[:10]:
    print("  missing", k)
for k in list(extra)[:10]:
    print("  extra  ", k)
sys.exit(0 if not missing and not extra else 1)
