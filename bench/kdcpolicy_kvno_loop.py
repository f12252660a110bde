#!/usr/bin/env python3
"""TGS requests against a real krb5kdc with and without hopguard_kdcpolicy.so: the ratio.

Both KDCs run at once and runs alternate between them. One `kvno --no-store` process asks for the same service N times (nothing is cached, so every
argument is one TGS exchange), as alice from the admin desktop (127.0.0.5), through
socket_wrapper (tests/harness). Each configuration runs R times; medians are reported.

  bench/kdcpolicy_kvno_loop.py [--module build/hopguard_kdcpolicy.so] [--requests 2000] [--runs 5]
  bench/kdcpolicy_kvno_loop.py --callgrind [--module ...]

Wall and CPU time on a shared machine are noisy (other builds run beside it); --callgrind
counts instructions instead, which no neighbour disturbs: krb5kdc runs under callgrind for
100 and for 400 requests in each configuration, the difference divided by 300 is the KDC's
instructions per TGS request, and the module's check_tgs is also reported on its own.

Cases: alice -> host/bastion (allowed either way: the pure cost of the module on the ordinary
path) and alice -> host/legacy1 (refused by the module, issued without it). A refused kvno is
asked twice by the client, so that case counts 2 requests per argument with the module.
Bounded: R x N requests on loopback, then the KDC is stopped.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "harness"))
import realm as harness  # noqa: E402

SITE = os.path.join(HERE, "..", "tests", "kdcpolicy", "data", "site.toml")


def kdc_cpu_seconds(realm):
    """utime + stime of the krb5kdc process (Linux /proc)."""
    with open(f"/proc/{realm.kdc_pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_kvno(realm, cc, service, n):
    """(wall seconds of the kvno process, CPU seconds krb5kdc spent meanwhile, exit status)"""
    argv = ["kvno", "--no-store", "-q", "-c", cc] + [service] * n
    c0 = kdc_cpu_seconds(realm)
    t0 = time.perf_counter()
    p = realm.run(argv, harness.IFACE_ADMIN_DESKTOP, cc, timeout=600)
    elapsed = time.perf_counter() - t0
    return elapsed, kdc_cpu_seconds(realm) - c0, p.returncode


def start_realm(tmp, module):
    plugins = {"kdcpolicy": [f"module = hopguard:{module}"]} if module else {}
    extra = f"[hopguard]\n    config = {os.path.abspath(SITE)}\n" if module else ""
    realm = harness.Realm(tmp, plugins=plugins, kdc_conf_extra=extra).start()
    loaded = any("kdcpolicy config loaded" in l for l in realm.log_lines())
    if bool(module) != loaded:
        realm.stop()
        sys.exit("module load state is not what was asked for; see the KDC log")
    return realm


def measure(module, n, runs):
    """Both KDCs run side by side (separate socket_wrapper dirs); runs alternate between them
    so that load from other processes on the machine hits both alike."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="hg-kvno-bench-") as tmp:
        realms = {"without": start_realm(os.path.join(tmp, "without"), None),
                  "with": start_realm(os.path.join(tmp, "with"), module)}
        try:
            ccs = {k: r.kinit("alice", iface=harness.IFACE_ADMIN_DESKTOP) for k, r in realms.items()}
            for service in ("host/bastion.hg.test", "host/legacy1.hg.test"):
                times = {k: [] for k in realms}
                cpus = {k: [] for k in realms}
                rcs = {k: set() for k in realms}
                for k, r in realms.items():
                    time_kvno(r, ccs[k], service, 50)  # warm-up
                for _ in range(runs):
                    for k, r in realms.items():
                        t, cpu, rc = time_kvno(r, ccs[k], service, n)
                        times[k].append(t)
                        cpus[k].append(cpu)
                        rcs[k].add(rc)
                for k in realms:
                    requests = 2 * n if k == "with" and service.startswith("host/legacy1") else n
                    results[(k, service)] = (statistics.median(times[k]),
                                             statistics.median(cpus[k]), requests, rcs[k])
        finally:
            for r in realms.values():
                r.stop()
    return results


def callgrind_run(tmp, module, n):
    """(total Ir of krb5kdc for start-up + n TGS requests, inclusive Ir of hg_check_tgs,
    number of TGS requests the KDC logged)"""
    out = os.path.join(tmp, f"{'with' if module else 'without'}-{n}.callgrind")
    plugins = {"kdcpolicy": [f"module = hopguard:{module}"]} if module else {}
    extra = f"[hopguard]\n    config = {os.path.abspath(SITE)}\n" if module else ""
    realm = harness.Realm(os.path.join(tmp, f"realm-{bool(module)}-{n}"), plugins=plugins,
                          kdc_conf_extra=extra,
                          kdc_wrapper=["valgrind", "--tool=callgrind", "--quiet",
                                       f"--callgrind-out-file={out}"])
    realm.start(wait_timeout=120)  # callgrind slows start-up
    try:
        cc = realm.kinit("alice", iface=harness.IFACE_ADMIN_DESKTOP)
        _, _, rc = time_kvno(realm, cc, "host/bastion.hg.test", n)
    finally:
        realm.stop()  # callgrind writes its file when krb5kdc exits
    if rc != 0:
        sys.exit("kvno failed under callgrind")
    tgs = sum("TGS_REQ" in line for line in realm.log_lines())
    total = check = 0
    with open(out) as f:
        for line in f:
            if line.startswith("summary:"):
                total = int(line.split()[1])
    if module:
        ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", out], capture_output=True,
                             text=True).stdout
        for line in ann.splitlines():
            if "hg_check_tgs(" in line and "kdcpolicy_module.cpp" in line:
                check = int(line.split()[0].replace(",", ""))
                break
    return total, check, tgs


def measure_callgrind(module):
    n1, n2 = 100, 400
    with tempfile.TemporaryDirectory(prefix="hg-kvno-callgrind-") as tmp:
        base1, _, _ = callgrind_run(tmp, None, n1)
        base2, _, _ = callgrind_run(tmp, None, n2)
        mod1, _, _ = callgrind_run(tmp, module, n1)
        mod2, check, tgs = callgrind_run(tmp, module, n2)
    per_without = (base2 - base1) / (n2 - n1)
    per_with = (mod2 - mod1) / (n2 - n1)
    per_check = check / max(tgs, 1)
    print("krb5kdc instructions per TGS request (callgrind, alice -> host/bastion, slope of "
          f"{n1} and {n2} requests):")
    print(f"  without module {per_without:12,.0f}")
    print(f"  with module    {per_with:12,.0f}   ratio {per_with / per_without:.4f}")
    print(f"  of which check_tgs (inclusive, per call) {per_check:10,.0f}   "
          f"= {per_check / per_without:.2%} of the KDC's own work")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--module", default=os.path.join(HERE, "..", "build", "hopguard_kdcpolicy.so"))
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--callgrind", action="store_true",
                    help="count instructions under valgrind instead of timing")
    args = ap.parse_args()
    if not 1 <= args.requests <= 20000 or not 1 <= args.runs <= 20:
        sys.exit("--requests 1..20000, --runs 1..20")
    module = os.path.abspath(args.module)
    if not os.path.exists(module):
        sys.exit(f"{module}: not built")
    if args.callgrind:
        if shutil.which("valgrind") is None or shutil.which("callgrind_annotate") is None:
            sys.exit("--callgrind needs valgrind")
        measure_callgrind(module)
        return
    results = measure(module, args.requests, args.runs)
    print(f"kvno loop: {args.requests} kvno arguments per run, median of {args.runs} runs, "
          f"alice from 127.0.0.5; wall = client's elapsed time, kdc cpu = krb5kdc utime+stime")
    print(f"{'service':22} {'':6} {'wall us/req':>12} {'kdc cpu us/req':>15} {'exit':>6}")
    for service in ("host/bastion.hg.test", "host/legacy1.hg.test"):
        row = {}
        for k in ("without", "with"):
            t, cpu, n, rcs = results[(k, service)]
            row[k] = (t / n * 1e6, cpu / n * 1e6)
            print(f"{service:22} {k:6} {row[k][0]:12.1f} {row[k][1]:15.1f} {str(sorted(rcs)):>6}")
        print(f"{service:22} {'ratio':6} {row['with'][0] / row['without'][0]:12.3f} "
              f"{row['with'][1] / max(row['without'][1], 1e-9):15.3f}")
    print("(legacy1: issued without the module, refused with it; with it, each kvno argument is "
          "2 requests, the client retries once, and per-request figures divide by 2n)")


if __name__ == "__main__":
    main()
