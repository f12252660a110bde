#!/usr/bin/env python3
"""End to end with a real sshd (OpenSSH, Debian 12): GSSAPI logins through hopguard_localauth.so
and pam_hopguard.so, against a real MIT KDC, with a real rsyslogd collecting every line.

Everything runs as root in a private mount namespace (/dev/log served by our rsyslogd, /run a
private tmpfs holding sshd's privilege-separation directory /run/sshd), under cwrap:
socket_wrapper gives each party its address (127.0.0.2 bastion, .3 legacy1, .4 outside, .5 the
admin desktop, .10 the KDC; sshd needs -r, no re-exec, under it), nss_wrapper the accounts
(root, sshd, alice uid 2001) and host names, pam_wrapper a private PAM service directory whose
"sshd" stack names the built module by absolute path. Each sshd has its own config, host key,
keytab and krb5.conf (with [plugins] localauth -> the built module).

Scenarios (the issue's list, plus the session-stage refusal and a password login):
  legacy1: alice-legacy1 creds from the bastion      -> command runs
  legacy1: alice@ creds from the bastion             -> refused by localauth (no session)
  legacy1: alice-legacy1 creds from outside          -> refused by pam_hopguard account
  bastion: alice@ creds from the admin desktop       -> command runs
  bastion: alice-legacy1 creds from the desktop      -> refused by localauth
  bastion: alice@ creds from outside (row 6)         -> refused by pam_hopguard account
  legacy1, localauth in monitor mode: alice@ creds   -> Accepted, then session refused (exit 254)
  legacy1: password login with alice-legacy1's pw    -> our auth stage, session gets its
                                                        principal (pam_set_data), KRB5CCNAME set

Run with --record DIR to also save each scenario's syslog lines (tests/sshd/recorded/).
Exit 77 (skip) when not root or without unshare/sshd, saying why.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("HOPGUARD_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "../..")))
BUILD = os.environ["HOPGUARD_BUILD_DIR"]
PAM_MODULE = os.path.join(BUILD, "pam_hopguard.so")
LOCALAUTH = os.path.join(BUILD, "hopguard_localauth.so")
CONFIG = os.path.join(SRC, "tests", "localauth", "data", "hopguard.toml")
sys.path.insert(0, os.path.join(SRC, "tests", "localauth"))
sys.path.insert(0, os.path.join(SRC, "tests", "harness"))
import private_syslog  # noqa: E402

import sshd_host  # noqa: E402  the sshd hosts, ssh client and accounts (shared with scripts/demo)
from sshd_host import Host, NSS_WRAPPER, PAM_WRAPPER, SSHD, progs, ssh  # noqa: E402

MODULES = sshd_host.Modules(pam_module=PAM_MODULE, localauth=LOCALAUTH, config=CONFIG)

failures: list[str] = []
RECORD_DIR: str | None = None
REALM: list = [None]  # the running harness.Realm, for the KDC lines of each scenario


def check(cond: bool, what: str) -> None:
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}", flush=True)
    else:
        print(f"ok: {what.splitlines()[0][:100]}", flush=True)


def scenario(log: private_syslog.Syslog, name: str, run, wait_for=None) -> tuple[subprocess.CompletedProcess, dict]:
    log.new_lines()
    REALM[0].mark_log()
    p = run()
    try:
        lines = log.wait_for(wait_for, timeout=10) if wait_for else []
    except AssertionError as e:
        failures.append(f"{name}: {e}")
        print(f"FAIL: {name}: ssh exit {p.returncode} {p.stdout!r} {p.stderr!r}\n{e}")
        lines = []
    time.sleep(0.5)  # the rest of the connection's lines (session close)
    lines += log.new_lines()
    if RECORD_DIR:
        with open(os.path.join(RECORD_DIR, f"{name}.log"), "w") as f:
            f.write("\n".join(l for l in lines if " rsyslogd" not in l) + "\n")
        kdc = [l for l in REALM[0].new_log_lines() if "closing down fd" not in l]
        with open(os.path.join(RECORD_DIR, f"{name}.kdc.log"), "w") as f:
            f.write("\n".join(kdc) + ("\n" if kdc else ""))
    print(f"--- {name}: ssh exit {p.returncode}; {len(lines)} syslog lines")
    if os.environ.get("HOPGUARD_SSHD_VERBOSE"):
        print(p.stdout, p.stderr, "\n".join(lines), sep="\n")
    return p, progs(lines)


def main() -> int:
    global RECORD_DIR
    if "--record" in sys.argv:
        RECORD_DIR = os.path.abspath(sys.argv[sys.argv.index("--record") + 1])
    for prog in (SSHD, shutil.which("ssh"), shutil.which("rsyslogd"), NSS_WRAPPER, PAM_WRAPPER):
        if not prog or not os.path.exists(prog):
            print(f"SKIP: {prog or 'ssh/rsyslogd'} not installed (scripts/install-deps)")
            return 77
    if not private_syslog.reexec_in_mount_namespace():
        print("SKIP: the sshd end-to-end test needs root (sshd, setuid to the test user) and unshare(1)")
        return 77
    import realm as harness
    work = tempfile.mkdtemp(prefix="hg-sshd-")
    os.chmod(work, 0o755)
    sshd_host.write_accounts(work)
    sshd_host.private_run()
    hosts: list[Host] = []
    try:
        with private_syslog.Syslog(os.path.join(work, "syslog")) as log, \
                harness.Realm(os.path.join(work, "realm")) as realm:
            REALM[0] = realm
            special_on_bastion = realm.kinit("alice-legacy1", iface=harness.IFACE_BASTION)
            regular_on_bastion = realm.kinit("alice", iface=harness.IFACE_BASTION)
            special_outside = realm.kinit("alice-legacy1", iface=harness.IFACE_OUTSIDE)
            regular_desktop = realm.kinit("alice", iface=harness.IFACE_ADMIN_DESKTOP)
            special_desktop = realm.kinit("alice-legacy1", iface=harness.IFACE_ADMIN_DESKTOP)
            regular_outside = realm.kinit("alice", iface=harness.IFACE_OUTSIDE)

            legacy1 = Host(work, realm, "legacy1", "legacy", harness.IFACE_LEGACY1, MODULES,
                           password_auth=True)
            bastion = Host(work, realm, "bastion", "bastion", harness.IFACE_BASTION, MODULES)
            hosts += [legacy1, bastion]
            legacy1.start()
            bastion.start()
            run_legacy_scenarios(log, realm, work, special_on_bastion, regular_on_bastion, special_outside)
            run_bastion_scenarios(log, realm, work, regular_desktop, special_desktop, regular_outside)
            run_password_scenario(log, realm, work)
            legacy1.stop()
            monitor = Host(work, realm, "legacy1", "legacy", harness.IFACE_LEGACY1, MODULES,
                           localauth_mode="monitor")
            hosts.append(monitor)
            monitor.start()
            run_session_refusal(log, realm, work, regular_on_bastion)
    finally:
        for h in hosts:
            h.stop()
    if failures:
        print(f"{len(failures)} failure(s); work directory kept: {work}")
        return 1
    private_syslog.remove_work_dir(work)
    print("all sshd end-to-end checks passed")
    return 0


def run_legacy_scenarios(log, realm, work, special_on_bastion, regular_on_bastion, special_outside) -> None:
    p, got = scenario(log, "legacy1-special-from-bastion-accepted",
                      lambda: ssh(realm, work, 2, "legacy1.hg.test", special_on_bastion, "echo hello-from-legacy1"),
                      lambda l: "session closed for user alice" in l or "Disconnected from user alice" in l)
    check(p.returncode == 0 and p.stdout.strip() == "hello-from-legacy1",
          f"legacy1, alice-legacy1 from bastion: exit {p.returncode} {p.stdout!r} {p.stderr!r}")
    check("Authorized to alice, krb5 principal alice-legacy1@HG.TEST (krb5_kuserok)" in got["sshd"],
          f"legacy1 accepted: sshd Authorized line {got['sshd']!r}")
    check(any(re.fullmatch(r"Accepted gssapi-with-mic for alice from 127\.0\.0\.2 port \d+ ssh2: alice-legacy1@HG\.TEST", m)
              for m in got["sshd"]), f"legacy1 accepted: Accepted line {got['sshd']!r}")
    check(got["pam"] == [
        'pam_hopguard(sshd:account): verdict=allow rule="" role=legacy host=legacy1 user=alice principal="" '
        'rhost=127.0.0.2 stage=account reason=""',
        'pam_hopguard(sshd:session): verdict=allow rule="" role=legacy host=legacy1 user=alice '
        'principal=alice-legacy1@HG.TEST rhost=127.0.0.2 stage=session reason=""'],
        f"legacy1 accepted: records {got['pam']!r}")
    check(got["hopguard"] == [], f"legacy1 accepted: localauth logged {got['hopguard']!r}")

    p, got = scenario(log, "legacy1-regular-from-bastion-refused-by-localauth",
                      lambda: ssh(realm, work, 2, "legacy1.hg.test", regular_on_bastion, "echo should-not-run"),
                      lambda l: "Connection closed by authenticating user" in l or "Failed gssapi" in l)
    check(p.returncode == 255 and "should-not-run" not in p.stdout and "Permission denied" in p.stderr,
          f"legacy1, alice@ from bastion: exit {p.returncode} {p.stdout!r} {p.stderr!r}")
    check(len(got["hopguard"]) == 1 and got["hopguard"][0].startswith(
        "verdict=deny rule=regular-cred-on-legacy role=legacy host=legacy1 user=alice principal=alice@HG.TEST "
        'rhost="" stage=userok reason='), f"legacy1 refused: localauth record {got['hopguard']!r}")
    check(not any(m.startswith("Accepted") for m in got["sshd"]) and got["pam"] == [],
          f"legacy1 refused: no Accepted, no PAM stage {got['sshd']!r} {got['pam']!r}")
    check(any(re.fullmatch(r"Failed gssapi-with-mic for alice from 127\.0\.0\.2 port \d+ ssh2", m) for m in got["sshd"]),
          f"legacy1 refused: Failed line without principal {got['sshd']!r}")

    p, got = scenario(log, "legacy1-special-from-outside-refused-by-account",
                      lambda: ssh(realm, work, 4, "legacy1.hg.test", special_outside, "echo should-not-run"),
                      lambda l: "pam_hopguard(sshd:account)" in l)
    check(p.returncode == 255 and "should-not-run" not in p.stdout,
          f"legacy1, alice-legacy1 from outside: exit {p.returncode} {p.stdout!r} {p.stderr!r}")
    check(got["pam"] == [
        'pam_hopguard(sshd:account): verdict=deny rule=legacy-login-not-via-bastion role=legacy host=legacy1 '
        'user=alice principal="" rhost=127.0.0.4 stage=account reason="login from 127.0.0.4, which is not a bastion"'],
        f"legacy1 outside: records {got['pam']!r}")
    check(not any(m.startswith("Accepted") for m in got["sshd"]), f"legacy1 outside: Accepted {got['sshd']!r}")


def run_bastion_scenarios(log, realm, work, regular_desktop, special_desktop, regular_outside) -> None:
    p, got = scenario(log, "bastion-regular-from-desktop-accepted",
                      lambda: ssh(realm, work, 5, "bastion.hg.test", regular_desktop, "echo hello-from-bastion"),
                      lambda l: "session closed for user alice" in l or "Disconnected from user alice" in l)
    check(p.returncode == 0 and p.stdout.strip() == "hello-from-bastion",
          f"bastion, alice@ from desktop: exit {p.returncode} {p.stdout!r} {p.stderr!r}")
    check(got["pam"] == [
        'pam_hopguard(sshd:account): verdict=allow rule="" role=bastion host=bastion user=alice principal="" '
        'rhost=127.0.0.5 stage=account reason=""',
        'pam_hopguard(sshd:session): verdict=allow rule="" role=bastion host=bastion user=alice '
        'principal=alice@HG.TEST rhost=127.0.0.5 stage=session reason=""'], f"bastion accepted: {got['pam']!r}")

    p, got = scenario(log, "bastion-special-from-desktop-refused-by-localauth",
                      lambda: ssh(realm, work, 5, "bastion.hg.test", special_desktop, "echo should-not-run"),
                      lambda l: "Connection closed by authenticating user" in l or "Failed gssapi" in l)
    check(p.returncode == 255 and "should-not-run" not in p.stdout,
          f"bastion, alice-legacy1: exit {p.returncode} {p.stdout!r} {p.stderr!r}")
    check(len(got["hopguard"]) == 1 and got["hopguard"][0].startswith(
        "verdict=deny rule=special-cred-on-bastion role=bastion host=bastion user=alice "
        'principal=alice-legacy1@HG.TEST rhost="" stage=userok reason='), f"bastion refused: {got['hopguard']!r}")

    # DESIGN table 1 row 6: the ordinary credential, but from a system not in allowed_sources.
    p, got = scenario(log, "bastion-regular-from-outside-refused-by-account",
                      lambda: ssh(realm, work, 4, "bastion.hg.test", regular_outside, "echo should-not-run"),
                      lambda l: "pam_hopguard(sshd:account)" in l)
    check(p.returncode == 255 and "should-not-run" not in p.stdout,
          f"bastion, alice@ from outside: exit {p.returncode} {p.stdout!r} {p.stderr!r}")
    check(got["pam"] == [
        'pam_hopguard(sshd:account): verdict=deny rule=bastion-login-unlisted-source role=bastion host=bastion '
        'user=alice principal="" rhost=127.0.0.4 stage=account '
        'reason="login from 127.0.0.4, which is not in [bastion_access] allowed_sources"'],
        f"bastion outside: records {got['pam']!r}")
    check(not any(m.startswith("Accepted") for m in got["sshd"]) and got["hopguard"] == [],
          f"bastion outside: no Accepted, no localauth record {got['sshd']!r} {got['hopguard']!r}")


def run_password_scenario(log, realm, work) -> None:
    p, got = scenario(log, "legacy1-password-special-from-bastion-accepted",
                      lambda: ssh(realm, work, 2, "legacy1.hg.test", None,
                                  'echo "ccache=$KRB5CCNAME"; klist 2>&1 | grep -i "default principal"',
                                  password=realm.password("alice-legacy1")),
                      lambda l: "session closed for user alice" in l or "Disconnected from user alice" in l)
    check(p.returncode == 0 and "ccache=FILE:/tmp/krb5cc_2001_" in p.stdout
          and "alice-legacy1@HG.TEST" in p.stdout,
          f"legacy1 password login: exit {p.returncode} {p.stdout!r} {p.stderr!r}")
    check(got["pam"][:1] == [
        'pam_hopguard(sshd:auth): verdict=allow rule="" role=legacy host=legacy1 user=alice '
        'principal=alice-legacy1@HG.TEST rhost=127.0.0.2 stage=auth reason=""']
        and 'pam_hopguard(sshd:session): verdict=allow rule="" role=legacy host=legacy1 user=alice '
            'principal=alice-legacy1@HG.TEST rhost=127.0.0.2 stage=session reason=""' in got["pam"],
        f"legacy1 password login: records {got['pam']!r}")
    check(any(re.fullmatch(r"Accepted password for alice from 127\.0\.0\.2 port \d+ ssh2", m) for m in got["sshd"]),
          f"legacy1 password login: Accepted line {got['sshd']!r}")

    p, got = scenario(log, "legacy1-password-ordinary-from-bastion-refused",
                      lambda: ssh(realm, work, 2, "legacy1.hg.test", None, "echo should-not-run",
                                  password=realm.password("alice")),
                      lambda l: "pam_hopguard(sshd:auth)" in l)
    check(p.returncode == 255 and "should-not-run" not in p.stdout, f"legacy1 ordinary password: exit {p.returncode}")
    check(len(got["pam"]) >= 1 and got["pam"][0] ==
          'pam_hopguard(sshd:auth): verdict=deny rule=auth-failed role=legacy host=legacy1 user=alice '
          'principal=alice-legacy1@HG.TEST rhost=127.0.0.2 stage=auth '
          'reason="cannot obtain a ticket: Preauthentication failed"', f"legacy1 ordinary password: {got['pam']!r}")


def run_session_refusal(log, realm, work, regular_on_bastion) -> None:
    p, got = scenario(log, "legacy1-monitor-localauth-regular-refused-at-session",
                      lambda: ssh(realm, work, 2, "legacy1.hg.test", regular_on_bastion, "echo should-not-run"),
                      lambda l: "pam_hopguard(sshd:session)" in l)
    check(p.returncode == 254 and "should-not-run" not in p.stdout,
          f"legacy1 session refusal: exit {p.returncode} {p.stdout!r} {p.stderr!r}")
    check(len(got["hopguard"]) == 1 and got["hopguard"][0].startswith(
        "verdict=would-deny rule=regular-cred-on-legacy role=legacy host=legacy1 user=alice principal=alice@HG.TEST "),
        f"legacy1 session refusal: localauth would-deny {got['hopguard']!r}")
    check(any(re.fullmatch(r"Accepted gssapi-with-mic for alice from 127\.0\.0\.2 port \d+ ssh2: alice@HG\.TEST", m)
              for m in got["sshd"]), f"legacy1 session refusal: Accepted line {got['sshd']!r}")
    check('pam_hopguard(sshd:session): verdict=deny rule=regular-cred-on-legacy role=legacy host=legacy1 user=alice '
          'principal=alice@HG.TEST rhost=127.0.0.2 stage=session reason="regular principal alice@HG.TEST on legacy '
          'guest legacy1, which accepts only alice-legacy1@HG.TEST"' in got["pam"],
          f"legacy1 session refusal: record {got['pam']!r}")


if __name__ == "__main__":
    sys.exit(main())
