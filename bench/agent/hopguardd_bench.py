#!/usr/bin/env python3
"""hopguardd benchmark (DESIGN section 8): not a test, a measurement. Prints figures.

1. throughput: one TCP sender on loopback sends N octet-counted RFC 5424 frames (about 80%
   unrelated noise, the rest KDC and sshd lines, ~0.1% misuse) as fast as the socket takes
   them; the clock stops when hopguardd's scanned-frames counter reaches N. Target >= 1M/s.
2. latency: a background sender paced at R msg/s (default 100k/s) of noise, plus one misuse
   line every --misuse-every-ms (50) carrying a unique principal; latency = when an RFC 5424
   collector (the syslog sink: its spool delivers an alarm as soon as it is appended, at least
   once, while the scan stage makes it durable) receives that alarm, minus when the line was
   sent. --emit first-evidence. Percentiles p50/p90/p99/p99.9/max. Target p99 < 5 ms.
   --poisson: misuse lines at exponential intervals of the same mean (seeded), so that alarms
   also arrive close together, e.g. while the previous one is being made durable.
3. memory: VmRSS before, VmHWM (peak) after the throughput run's N messages.

Usage: bench/agent/hopguardd_bench.py [--build DIR] [--reference-build DIR] [--messages 10000000]
       [--rate 100000] [--misuse-every-ms 50] [--poisson] [--seconds 10] [--skip-throughput]
       [--skip-latency] [--tmpfs] ; medians over --runs runs.
State directory and alarm log are in a temporary directory under $TMPDIR (the real disk here),
or on /dev/shm with --tmpfs.
"""
import argparse
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "tests", "agent"))
from daemon_harness import Daemon, noise, tgs  # noqa: E402
import daemon_harness  # noqa: E402


def frame(line):
    b = line.encode()
    return str(len(b)).encode() + b" " + b


def rfc5424(msg, app="app", host="h1"):
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return f"<38>1 {now} {host} {app} - - - {msg}"


def corpus_block(n):
    """n frames: ~80% noise, ~10% KDC, ~10% sshd, 0.1% misuse (distinct principals)."""
    out = []
    for i in range(n):
        r = i % 1000
        if r == 999:
            out.append(frame(rfc5424(tgs(f"bench{i}@HG.TEST", "host/legacy1.hg.test@HG.TEST"),
                                     app="krb5kdc", host="kdc1")))
        elif r % 10 == 0:
            out.append(frame(rfc5424(tgs("alice-legacy1@HG.TEST", "host/legacy1.hg.test@HG.TEST"),
                                     app="krb5kdc", host="kdc1")))
        elif r % 10 == 1:
            out.append(frame(rfc5424("Accepted publickey for ops from 127.0.0.5 port 4242 ssh2: "
                                     "ED25519 SHA256:abc", app="sshd", host="bastion")))
        else:
            out.append(frame(rfc5424(noise(i)[16:], app="nginx", host="web3")))
    return b"".join(out)


def metric(port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return int(line.split()[1])
    return 0


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])  # kB
    return 0


def start(workdir, extra_alarms="", args=()):
    d = Daemon(workdir, listen=["tcp://127.0.0.1:0"], window_seconds=600, skew_seconds=300,
               agent_extra='metrics = "tcp://127.0.0.1:0"\nqueue_messages = 65536\n',
               alarms_extra=extra_alarms, args=args)
    d.start()
    (mport,) = d.find_log(r"event=metrics-listening address=tcp://127\.0\.0\.1:(\d+)")
    return d, int(mport)


def throughput(workdir, messages):
    d, mport = start(workdir)
    rss_before = proc_status(d.proc.pid, "VmRSS")
    block_frames = 100000
    block = corpus_block(block_frames)
    addr = d.addresses("tcp")[0]
    s = socket.create_connection(addr)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    sent = 0
    t0 = time.perf_counter()
    while sent < messages:
        s.sendall(block)
        sent += block_frames
    t_sent = time.perf_counter()
    while metric(mport, "hopguard_scanned_frames_total") < sent:
        time.sleep(0.01)
    t1 = time.perf_counter()
    s.close()
    peak = proc_status(d.proc.pid, "VmHWM")
    d.stop()
    return sent / (t1 - t0), sent, t_sent - t0, t1 - t0, rss_before, peak


def latency(workdir, rate, seconds, misuse_every, poisson=False):
    collector = socket.socket()
    collector.bind(("127.0.0.1", 0))
    collector.listen(1)
    cport = collector.getsockname()[1]
    d, mport = start(workdir, extra_alarms=f'syslog_target = "tcp://127.0.0.1:{cport}"\n',
                     args=["--emit", "first-evidence"])
    addr = d.addresses("tcp")[0]
    sent_at = {}
    got_at = {}
    stop = threading.Event()

    def receive():
        conn, _ = collector.accept()
        buf = b""
        while not stop.is_set() or buf:
            try:
                conn.settimeout(0.5)
                chunk = conn.recv(1 << 20)
            except socket.timeout:
                if stop.is_set():
                    break
                continue
            if not chunk:
                break
            now = time.perf_counter()
            buf += chunk
            while b" " in buf:
                n, rest = buf.split(b" ", 1)
                if len(rest) < int(n):
                    break
                msg, buf = rest[:int(n)], rest[int(n):]
                m = re.search(rb'"principal":"(lat\d+)@', msg)
                if m:
                    got_at[m.group(1).decode()] = now

    rt = threading.Thread(target=receive, daemon=True)
    rt.start()
    s = socket.create_connection(addr)
    batch = 1000  # frames per 10 ms at 100k/s
    period = batch / rate
    noise_block = b"".join(frame(rfc5424(noise(i)[16:], app="nginx", host="web3")) for i in range(batch))
    t_next = time.perf_counter()
    t_end = t_next + seconds
    k = 0
    last_misuse = 0.0
    rng = random.Random(42)
    gap = rng.expovariate(1 / misuse_every) if poisson else misuse_every
    while time.perf_counter() < t_end:
        s.sendall(noise_block)
        now = time.perf_counter()
        if now - last_misuse >= gap:
            name = f"lat{k}"
            k += 1
            line = frame(rfc5424(tgs(f"{name}@HG.TEST", "host/legacy1.hg.test@HG.TEST"),
                                 app="krb5kdc", host="kdc1"))
            sent_at[name] = time.perf_counter()
            s.sendall(line)
            last_misuse = now
            gap = rng.expovariate(1 / misuse_every) if poisson else misuse_every
        t_next += period
        delay = t_next - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    time.sleep(2)
    stop.set()
    s.close()
    rt.join(5)
    d.stop()
    collector.close()
    lat = sorted((got_at[n] - sent_at[n]) * 1000 for n in sent_at if n in got_at)
    missing = len(sent_at) - len(lat)
    return lat, missing


def pct(values, p):
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def run_latency(build, a, base):
    daemon_harness.HOPGUARDD = os.path.join(build, "agent", "daemon", "hopguardd")
    with tempfile.TemporaryDirectory(prefix="hg-bench-", dir=base) as w:
        return latency(w, a.rate, a.seconds, a.misuse_every_ms / 1000, a.poisson)


def run_throughput(build, a, base):
    daemon_harness.HOPGUARDD = os.path.join(build, "agent", "daemon", "hopguardd")
    with tempfile.TemporaryDirectory(prefix="hg-bench-", dir=base) as w:
        return throughput(w, a.messages)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(SOURCE, "build"))
    ap.add_argument("--reference-build", help="a second build measured in the same run, "
                    "alternating with --build (before/after figures on the same machine load)")
    ap.add_argument("--messages", type=int, default=10_000_000)
    ap.add_argument("--rate", type=int, default=100_000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--misuse-every-ms", type=float, default=50,
                    help="one misuse line (one alarm) per this many ms during the latency run")
    ap.add_argument("--poisson", action="store_true",
                    help="misuse lines at exponential (seeded) intervals of that mean")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--tmpfs", action="store_true", help="state and alarm log on /dev/shm")
    a = ap.parse_args()
    base = "/dev/shm" if a.tmpfs else None
    builds = [("reference", a.reference_build)] if a.reference_build else []
    builds.append(("build", a.build))
    if not a.skip_throughput:
        rates = {label: [] for label, _ in builds}
        peaks = {label: [] for label, _ in builds}
        for run in range(a.runs):
            for label, build in builds:
                r, sent, t_send, t_all, rss0, peak = run_throughput(build, a, base)
                rates[label].append(r)
                peaks[label].append(peak)
                print(f"{label:9s} throughput run {run + 1}: {sent} frames in {t_all:.2f} s "
                      f"({r / 1e6:.2f} M/s; sender done after {t_send:.2f} s); "
                      f"RSS before {rss0 / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB", flush=True)
        for label, _ in builds:
            print(f"{label:9s} throughput median: {statistics.median(rates[label]) / 1e6:.2f} M frames/s "
                  f"(one TCP sender); peak RSS median {statistics.median(peaks[label]) / 1024:.1f} MiB")
    if not a.skip_latency:
        lats = {label: [] for label, _ in builds}
        lost = {label: 0 for label, _ in builds}
        for run in range(a.runs):
            for label, build in builds:
                lat, missing = run_latency(build, a, base)
                lats[label].append(lat)
                lost[label] += missing
                print(f"{label:9s} latency run {run + 1}: {len(lat)} alarms, p50 {pct(lat, 50):.2f} ms, "
                      f"p99 {pct(lat, 99):.2f} ms, p99.9 {pct(lat, 99.9):.2f} ms, "
                      f"max {max(lat) if lat else float('nan'):.2f} ms", flush=True)
        for label, _ in builds:
            runs = lats[label]
            allv = sorted(v for r in runs for v in r)
            print(f"{label:9s} latency at {a.rate} msg/s, {a.runs} x {a.seconds:.0f} s, {len(allv)} alarms "
                  f"({lost[label]} not received): median of runs p50 "
                  f"{statistics.median(pct(r, 50) for r in runs):.2f} ms, p99 "
                  f"{statistics.median(pct(r, 99) for r in runs):.2f} ms, p99.9 "
                  f"{statistics.median(pct(r, 99.9) for r in runs):.2f} ms; pooled p50 {pct(allv, 50):.2f} ms, "
                  f"p90 {pct(allv, 90):.2f} ms, p99 {pct(allv, 99):.2f} ms, p99.9 {pct(allv, 99.9):.2f} ms, "
                  f"max {allv[-1] if allv else float('nan'):.2f} ms")


if __name__ == "__main__":
    main()
