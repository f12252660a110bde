#!/usr/bin/env python3
"""hopguard_localauth.so through the real libkrb5: krb5_kuserok() answers and syslog records.

Runs kuserok_probe (one krb5 context, the module loaded by krb5.conf [plugins] localauth) in a
private mount namespace whose /dev/log is served by a real rsyslogd, and asserts for each case
of cases.txt the answer and the exact record (ident "hopguard"), then the config failure modes
and a config reload inside one krb5 context. Needs root for the namespace; skips (exit 77)
otherwise, saying why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import private_syslog  # noqa: E402

SRC = os.environ.get("HOPGUARD_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "../..")))
BUILD = os.environ["HOPGUARD_BUILD_DIR"]
MODULE = os.path.join(BUILD, "hopguard_localauth.so")
PROBE = os.path.join(BUILD, "tests", "localauth", "kuserok_probe")
CONFIG = os.path.join(HERE, "data", "hopguard.toml")

# HOPGUARD_TEST_PRELOAD: libraries put first in LD_PRELOAD of every process that loads a built
# module (the sanitizer runtimes when the modules are built with HOPGUARD_SANITIZE=ON).
def with_preload(value: str) -> str:
    first = os.environ.get("HOPGUARD_TEST_PRELOAD", "")
    return f"{first}:{value}" if first else value


failures: list[str] = []


def check(cond: bool, what: str) -> None:
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}", flush=True)


def krb5_conf(path: str, host: str, mode: str = "enforce", config: str = CONFIG,
              extra: str = "") -> str:
    with open(path, "w") as f:
        f.write(f"""[libdefaults]
    default_realm = HG.TEST
    dns_lookup_kdc = false
    dns_lookup_realm = false

[realms]
    HG.TEST = {{
        auth_to_local = RULE:[1:$1@$0](^[a-z]+-legacy[0-9]+@HG\\.TEST$)s/-legacy[0-9]+@HG\\.TEST$//
        auth_to_local = DEFAULT
    }}

[plugins]
    localauth = {{
        module = hopguard:{MODULE}
    }}

[hopguard]
    config = {config}
    host = {host}
    localauth_mode = {mode}
{extra}
""")
    return path


NSS_WRAPPER = "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so"
NSS_FILES: dict[str, str] = {}


def write_nss_files(work: str) -> None:
    """Local accounts alice and bob exist only for the probe (nss_wrapper): libkrb5's own
    userok modules refuse a local user that getpwnam() does not know."""
    home = os.path.join(work, "home")
    os.makedirs(home, exist_ok=True)
    NSS_FILES["passwd"] = os.path.join(work, "passwd")
    NSS_FILES["group"] = os.path.join(work, "group")
    with open(NSS_FILES["passwd"], "w") as f:
        f.write(f"alice:x:2001:2001:Alice:{home}/alice:/bin/sh\n")
        f.write(f"bob:x:2002:2002:Bob:{home}/bob:/bin/sh\n")
    with open(NSS_FILES["group"], "w") as f:
        f.write("alice:x:2001:\nbob:x:2002:\n")


class Probe:
    """kuserok_probe kept running: one krb5 context across questions."""

    def __init__(self, conf: str):
        env = dict(os.environ, KRB5_CONFIG=conf, LD_PRELOAD=with_preload(NSS_WRAPPER),
                   NSS_WRAPPER_PASSWD=NSS_FILES["passwd"], NSS_WRAPPER_GROUP=NSS_FILES["group"])
        env.pop("HOPGUARD_CONFIG", None)
        env.pop("HOPGUARD_HOST", None)
        self.p = subprocess.Popen([PROBE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, env=env)

    def ask(self, principal: str, user: str) -> str:
        assert self.p.stdin and self.p.stdout
        self.p.stdin.write(f"{principal} {user}\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().strip()

    def close(self) -> None:
        if self.p.stdin:
            self.p.stdin.close()
        self.p.wait(timeout=10)


def hopguard_records(lines: list[str]) -> list[str]:
    """The MSG part of lines logged with ident hopguard."""
    out = []
    for line in lines:
        i = line.find(" hopguard[")
        if i >= 0:
            out.append(line[line.index("]: ", i) + 3:])
    return out


def expected_prefix(verdict: str, rule: str, role: str, host: str, user: str, principal: str) -> str:
    return (f"verdict={verdict} rule={rule} role={role} host={host} user={user} "
            f"principal={principal} rhost=\"\" stage=userok reason=")


def run_cases(work: str, log: private_syslog.Syslog) -> None:
    cases = []
    with open(os.path.join(HERE, "cases.txt")) as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            host, mode, principal, user, answer, *record = line.split()
            cases.append((host, mode, principal, user, answer, record))
    for n, (host, mode, principal, user, answer, record) in enumerate(cases, 1):
        conf = krb5_conf(os.path.join(work, f"krb5-{n}.conf"), host, mode)
        probe = Probe(conf)
        got = probe.ask(principal, user)
        probe.close()
        name = f"case {n} ({host} {mode} {principal} as {user})"
        check(got == answer, f"{name}: answer {got!r}, expected {answer!r}")
        if record == ["-"]:
            recs = hopguard_records(log.settle())
            check(recs == [], f"{name}: expected no record, got {recs!r}")
        else:
            lines = log.wait_for(lambda l: " hopguard[" in l)
            recs = hopguard_records(lines)
            role = "bastion" if host == "bastion" else "legacy"
            want = expected_prefix(record[0], record[1], role, host, user, principal)
            check(len(recs) == 1 and recs[0].startswith(want) and len(recs[0]) > len(want) + 2,
                  f"{name}: record {recs!r}, expected one starting {want!r} with a reason")
            # The syslog line itself: ident hopguard with a pid, facility authpriv.
            line = [l for l in lines if " hopguard[" in l][0]
            check(" hopguard[" in line and "]: verdict=" in line, f"{name}: syslog line shape {line!r}")


def run_config_failures(work: str, log: private_syslog.Syslog) -> None:
    missing = os.path.join(work, "does-not-exist.toml")
    # Unreadable config: fail closed (refused), recorded as config-error naming the file.
    probe = Probe(krb5_conf(os.path.join(work, "krb5-missing.conf"), "legacy1", config=missing))
    check(probe.ask("alice-legacy1@HG.TEST", "alice") == "refused", "missing config: not refused")
    probe.close()
    recs = hopguard_records(log.wait_for(lambda l: " hopguard[" in l))
    check(len(recs) == 1 and recs[0].startswith("verdict=deny rule=config-error role=legacy host=legacy1 user=alice "
                                                 "principal=alice-legacy1@HG.TEST ")
          and missing in recs[0], f"missing config: record {recs!r}")

    # localauth_on_error=allow (a bastion's choice): no opinion, recorded as allow config-error.
    probe = Probe(krb5_conf(os.path.join(work, "krb5-onerror.conf"), "bastion", config=missing,
                            extra="    localauth_on_error = allow\n"))
    check(probe.ask("alice@HG.TEST", "alice") == "authorized", "on_error=allow: not authorized")
    probe.close()
    recs = hopguard_records(log.wait_for(lambda l: " hopguard[" in l))
    check(len(recs) == 1 and recs[0].startswith("verdict=allow rule=config-error ")
          and "localauth_on_error=allow" in recs[0], f"on_error=allow: record {recs!r}")

    # A bad value in [hopguard] is itself a config error.
    probe = Probe(krb5_conf(os.path.join(work, "krb5-badmode.conf"), "bastion", mode="loud"))
    check(probe.ask("alice@HG.TEST", "alice") == "refused", "bad localauth_mode: not refused")
    probe.close()
    recs = hopguard_records(log.wait_for(lambda l: " hopguard[" in l))
    check(len(recs) == 1 and recs[0].startswith("verdict=deny rule=config-error ") and "localauth_mode" in recs[0],
          f"bad localauth_mode: record {recs!r}")

    # An unknown host name: config error too.
    probe = Probe(krb5_conf(os.path.join(work, "krb5-nohost.conf"), "nosuchhost"))
    check(probe.ask("alice@HG.TEST", "alice") == "refused", "unknown host: not refused")
    probe.close()
    recs = hopguard_records(log.wait_for(lambda l: " hopguard[" in l))
    check(len(recs) == 1 and recs[0].startswith("verdict=deny rule=config-error ") and "nosuchhost" in recs[0],
          f"unknown host: record {recs!r}")


def run_reload(work: str, log: private_syslog.Syslog) -> None:
    """One krb5 context: the config is reloaded when the file changes, and a broken edit fails
    closed instead of running on the stale policy."""
    cfg = os.path.join(work, "reload.toml")
    shutil.copy(CONFIG, cfg)
    probe = Probe(krb5_conf(os.path.join(work, "krb5-reload.conf"), "legacy1", config=cfg))
    check(probe.ask("alice-legacy1@HG.TEST", "alice") == "authorized", "reload: first answer")
    check(hopguard_records(log.settle()) == [], "reload: allowed answer logged something")
    # Rename legacy1's principal template: alice-legacy1 becomes an ordinary principal.
    with open(cfg) as f:
        text = f.read()
    with open(cfg + ".new", "w") as f:
        f.write(text.replace('special_principal = "{user}-{host}"', 'special_principal = "{user}.{host}"'))
    os.replace(cfg + ".new", cfg)
    check(probe.ask("alice-legacy1@HG.TEST", "alice") == "refused", "reload: new policy not applied")
    recs = hopguard_records(log.wait_for(lambda l: " hopguard[" in l))
    check(len(recs) == 1 and recs[0].startswith("verdict=deny rule=regular-cred-on-legacy "), f"reload: {recs!r}")
    with open(cfg + ".new", "w") as f:
        f.write("realm = \n")
    os.replace(cfg + ".new", cfg)
    check(probe.ask("alice.legacy1@HG.TEST", "alice") == "refused", "reload: broken config not failing closed")
    recs = hopguard_records(log.wait_for(lambda l: " hopguard[" in l))
    check(len(recs) == 1 and recs[0].startswith("verdict=deny rule=config-error ") and cfg in recs[0],
          f"reload broken: {recs!r}")
    probe.close()


def main() -> int:
    if not private_syslog.reexec_in_mount_namespace():
        print("SKIP: needs root and unshare(1) for a private /dev/log with a real rsyslogd")
        return 77
    for needed in (MODULE, PROBE):
        if not os.path.exists(needed):
            print(f"FAIL: {needed} not built")
            return 1
    work = tempfile.mkdtemp(prefix="hg-localauth-")
    try:
        write_nss_files(work)
        with private_syslog.Syslog(work) as log:
            run_cases(work, log)
            run_config_failures(work, log)
            run_reload(work, log)
    finally:
        if os.environ.get("HOPGUARD_KEEP_WORK"):
            print(f"work directory kept: {work}")
        elif not failures:
            private_syslog.remove_work_dir(work)
    if failures:
        print(f"{len(failures)} failure(s); work directory kept: {work}")
        return 1
    print("all localauth checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
