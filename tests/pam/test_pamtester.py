#!/usr/bin/env python3
"""pam_hopguard.so through the real libpam: pam_wrapper + pamtester, scripted by cases.txt.

Each case names a stack from data/stacks/ (a private PAM service directory, the module by
absolute path), the PAM user, items (-I rhost=...), PAM environment (-E SSH_AUTH_INFO_0=...) and
pamtester operations; it states pamtester's outcome ("success" or libpam's pam_strerror text of
the failing call) and the exact log lines the module wrote through pam_syslog, in order, with
their syslog priority (pam_wrapper hands pam_syslog output to stderr as "SYSLOG(N): text").

    python3 test_pamtester.py            # run every case
    python3 test_pamtester.py --show N   # print what case N produces (for writing a case)
    HOPGUARD_PAM_VALGRIND=1 ...          # run pamtester under valgrind --error-exitcode
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ["HOPGUARD_BUILD_DIR"]
MODULE = os.path.join(BUILD, "pam_hopguard.so")
CONFIG = os.path.join(HERE, "data", "hopguard.toml")
PAM_WRAPPER = "libpam_wrapper.so"
VALGRIND = os.environ.get("HOPGUARD_PAM_VALGRIND") == "1"

# HOPGUARD_TEST_PRELOAD: libraries put first in LD_PRELOAD of every process that loads a built
# module (the sanitizer runtimes when the modules are built with HOPGUARD_SANITIZE=ON).
def with_preload(value: str) -> str:
    first = os.environ.get("HOPGUARD_TEST_PRELOAD", "")
    return f"{first}:{value}" if first else value


SYSLOG_RE = re.compile(r"SYSLOG\((\d)\): (.*)$")


def parse_cases(path: str) -> list[dict]:
    cases, cur = [], None
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if line.startswith("#") or not line.strip():
                continue
            if line.startswith("=== "):
                cur = {"name": line[4:], "line": n, "items": [], "env": [], "log": [], "setenv": []}
                cases.append(cur)
                continue
            key, _, value = line.partition(": ")
            key = key.strip()
            if cur is None or not _:
                raise SystemExit(f"{path}:{n}: expected 'key: value' inside a case")
            value = value.encode().decode("unicode_escape")  # \n in SSH_AUTH_INFO_0
            if key in ("item", "env", "log", "setenv"):
                cur[{"item": "items", "env": "env", "log": "log", "setenv": "setenv"}[key]].append(value)
            elif key in ("stack", "user", "ops", "result"):
                cur[key] = value
            else:
                raise SystemExit(f"{path}:{n}: unknown key {key!r}")
    return cases


def prepare(work: str) -> str:
    svc = os.path.join(work, "pam.d")
    os.makedirs(svc, exist_ok=True)
    for name in os.listdir(os.path.join(HERE, "data", "stacks")):
        with open(os.path.join(HERE, "data", "stacks", name)) as f:
            text = f.read()
        text = text.replace("@MODULE@", MODULE).replace("@CONFIG@", CONFIG).replace("@WORK@", work)
        with open(os.path.join(svc, name), "w") as f:
            f.write(text)
    with open(os.path.join(work, "invalid.toml"), "w") as f:
        f.write('realm = "HG.TEST"\n[legacy.legacy1]\nfqdn = "legacy1.hg.test"\naddresses = ["not-an-address"]\n')
    return svc


def run_case(case: dict, svc: str, work: str) -> tuple[str, list[str], str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HOPGUARD_CONFIG", "HOPGUARD_HOST", "PAM_WRAPPER", "LD_PRELOAD"))}
    env.update(LD_PRELOAD=with_preload(PAM_WRAPPER), PAM_WRAPPER="1", PAM_WRAPPER_SERVICE_DIR=svc,
               PAM_WRAPPER_DEBUGLEVEL="4")
    for kv in case["setenv"]:
        k, _, v = kv.partition("=")
        env[k] = v
    argv = ["pamtester", "-v"]
    for item in case["items"]:
        argv += ["-I", item]
    for e in case["env"]:
        argv += ["-E", e]
    argv += [case["stack"], case["user"], *case["ops"].split()]
    if VALGRIND:
        argv = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite",
                "--trace-children=no", *argv]
    p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    logs = []
    for line in p.stderr.splitlines():
        m = SYSLOG_RE.search(line)
        if m and "_pam_init_handlers" not in m.group(2) and "pam_wrapper" not in m.group(2):
            logs.append(f"{m.group(1)} {m.group(2)}")
    if p.returncode == 0:
        result = "success"
    else:
        fails = [l[len("pamtester: "):] for l in p.stdout.splitlines() + p.stderr.splitlines()
                 if l.startswith("pamtester: ") and not re.match(
                     r"pamtester: (invoking|performing|successfully|account management done|"
                     r"session has successfully|authentication succeeded|credentials)", l)]
        result = fails[-1] if fails else f"exit {p.returncode}"
    if VALGRIND and p.returncode == 99:
        result = "valgrind errors"
    return result, logs, p.stdout + p.stderr


def main() -> int:
    if shutil.which("pamtester") is None:
        print("SKIP: pamtester not installed (scripts/install-deps)")
        return 77
    if not os.path.exists(MODULE):
        print(f"FAIL: {MODULE} not built")
        return 1
    cases = parse_cases(os.path.join(HERE, "cases.txt"))
    show = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[1] == "--show" else None
    work = tempfile.mkdtemp(prefix="hg-pamtester-")
    svc = prepare(work)
    failures = 0
    for i, case in enumerate(cases, 1):
        if show is not None and i != show:
            continue
        result, logs, raw = run_case(case, svc, work)
        if show is not None:
            print(f"result: {result}")
            for l in logs:
                print(f"log: {l}")
            print("--- raw ---\n" + raw)
            continue
        case["log"] = [l.replace("@WORK@", work).replace("@CONFIG@", CONFIG) for l in case["log"]]
        ok = result == case.get("result") and logs == case["log"]
        if not ok:
            failures += 1
            print(f"FAIL case {i} (cases.txt:{case['line']}) {case['name']}")
            print(f"  result: {result!r}, expected {case.get('result')!r}")
            for want, got in zip(case["log"] + [None] * len(logs), logs + [None] * len(case["log"])):
                if want is None and got is None:
                    break
                mark = "  " if want == got else "!!"
                print(f"  {mark} want: {want}\n  {mark}  got: {got}")
    shutil.rmtree(work, ignore_errors=True)
    if show is None:
        print(f"{len(cases) - failures}/{len(cases)} cases passed" + (" under valgrind" if VALGRIND else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
