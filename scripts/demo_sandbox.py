#!/usr/bin/env python3
"""The sandboxed end-to-end demo (issue 6), run by scripts/demo after the build.

Usage: scripts/demo_sandbox.py SOURCE_DIR BUILD_DIR

A throwaway Kerberos realm (a real krb5kdc, with hopguard_kdcpolicy.so when it is built),
hopguardd, and a real rsyslogd forwarding to it (RFC 5424, octet-counted TCP), all on loopback in
a temporary directory that is removed at the end; nothing else on the system is touched.

Part 1, the KDC (any user): the legitimate path and each misuse the KDC sees (rows 1-4 and 7 of
DESIGN table 1) with real kinit/kvno; the KDC module refuses rows 1, 2 and 4 (enforce).

Part 2, real sshd (root only, in a private mount namespace): a bastion sshd (127.0.0.2) and a
legacy-guest sshd (legacy1, 127.0.0.3), each with pam_hopguard.so and hopguard_localauth.so,
logging through its own /dev/log into the demo's rsyslogd, which names the host (imuxsock
HostName) and forwards to hopguardd. The KDC module is switched to monitor mode first, as during
a roll-out, so the KDC issues what the hosts themselves must refuse. Played with real ssh:
the legitimate path, row 1 (bob@ toward legacy1: refused by localauth), row 2 (bob-legacy1@ on
the bastion: refused by localauth), row 5 (legacy1 reached from 127.0.0.4: refused by PAM
account), row 6 (the bastion reached from 127.0.0.4, not in allowed_sources: refused by PAM
account). Rows 1 and 2 then carry both the KDC's and the host's evidence in one alarm.

Exit 0 when every expected alarm arrived, 1 otherwise.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT, BUILD = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
for sub in ("tests/agent", "tests/harness", "tests/localauth", "tests/sshd"):
    sys.path.insert(0, os.path.join(ROOT, sub))
import daemon_harness                       # noqa: E402  starts and reads the real hopguardd
from daemon_harness import Daemon           # noqa: E402
import kdc_scenario                         # noqa: E402  the KDC steps, with real kinit/kvno
from kdc_scenario import harness            # noqa: E402  tests/harness/realm.py
import private_syslog                       # noqa: E402  private mount namespace, /dev
import sshd_host                            # noqa: E402  real sshd hosts and ssh clients

daemon_harness.HOPGUARDD = os.path.join(BUILD, "agent", "daemon", "hopguardd")
KDCPOLICY = os.path.join(BUILD, "hopguard_kdcpolicy.so")
MODULES = (os.path.join(BUILD, "pam_hopguard.so"), os.path.join(BUILD, "hopguard_localauth.so"))
FEED = os.path.join(ROOT, "out", "demo", "alarms.jsonl")
HOSTS = {"bastion": ("bastion", harness.IFACE_BASTION), "legacy1": ("legacy", harness.IFACE_LEGACY1)}


def sshd_unavailable():
    """Why the sshd part cannot run here, or None. Decided before anything starts."""
    if os.geteuid() != 0:
        return ("it needs root (a private mount namespace for /dev/log and /run/sshd, and sshd "
                "switching to the demo's users)")
    for path in (sshd_host.SSHD, sshd_host.NSS_WRAPPER, sshd_host.PAM_WRAPPER, *MODULES):
        if not os.path.exists(path):
            return f"{path} is missing (scripts/install-deps, and a build with pam and krb5)"
    if shutil.which("ssh") is None or shutil.which("unshare") is None:
        return "ssh or unshare is missing (scripts/install-deps)"
    return None


def kdc_site(path, mode):
    """The KDC module's site config: the demo's site, and [kdc] mode."""
    with open(path, "w") as f:
        f.write(daemon_harness.SITE + f'[kdc]\nmode = "{mode}"\n')


def rsyslog_conf(rs, kdc_log, port, host_sockets):
    """imfile on the KDC log and, with sshd, one imuxsock socket per sshd host (bound over
    /dev/log in that sshd's mount namespace; HostName names the host the sshd plays), all
    forwarded to hopguardd as RFC 5424 over octet-counted TCP."""
    forward = f'''action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp" TCP_Framing="octet-counted"
         template="{{template}}" queue.type="LinkedList"
         action.resumeRetryCount="-1" action.resumeInterval="1")
  action(type="omfile" file="{rs}/forwarded.log" template="{{template}}")'''
    hosts = ""
    if host_sockets:
        # The hosts forward exactly as the shipped etc/rsyslog.d/60-hopguard-forward.conf does
        # (its template carries each sender's kernel-verified pid, uid and executable).
        # The demo also keeps a copy of what they forward in forwarded.log.
        hosts = (daemon_harness.shipped_forward_snippet(port, host_sockets, ruleset="hosts") +
                 'ruleset(name="hosts") {\n  call hopguard_forward\n'
                 f'  action(type="omfile" file="{rs}/forwarded.log" template="HopguardForward")\n}}\n')
    return f'''global(workDirectory="{rs}")
module(load="imfile" mode="polling" PollingInterval="1")
input(type="imfile" File="{kdc_log}" Tag="krb5kdc" ruleset="kdc")
ruleset(name="kdc") {{
  {forward.format(template="RSYSLOG_SyslogProtocol23Format")}
}}
{hosts}'''


def play_sshd(realm, work):
    """Part 2: real ssh logins. Returns [(description, rule id or None, principal or "")]."""
    B, L1, OUT, DESK = kdc_scenario.B, kdc_scenario.L1, kdc_scenario.OUT, kdc_scenario.DESK
    steps = []

    def login(what, rule, principal, iface, target, ccache, user, want_ok):
        p = sshd_host.ssh(realm, work, iface, f"{target}.hg.test", ccache, "echo logged-in", user=user)
        ran = p.returncode == 0 and p.stdout.strip() == "logged-in"
        outcome = "command ran" if ran else f"refused (ssh exit {p.returncode})"
        if ran != want_ok:
            outcome += f"  UNEXPECTED: {p.stderr.strip()[:200]}"
        print(f"  played  {what:70s} -> {outcome}")
        steps.append((what, rule, principal))

    desk_alice = realm.kinit("alice", iface=DESK)
    bastion_alice_l1 = realm.kinit("alice-legacy1", iface=B)
    bastion_bob = realm.kinit("bob", iface=B)
    bastion_bob_l1 = realm.kinit("bob-legacy1", iface=B)
    login("legitimate: alice@ from the desktop (127.0.0.5) to the bastion", None, "alice@HG.TEST",
          DESK, "bastion", desk_alice, "alice", True)
    login("legitimate: alice-legacy1@ from the bastion to legacy1", None, "alice-legacy1@HG.TEST",
          B, "legacy1", bastion_alice_l1, "alice", True)
    login("row 1: bob@ from the bastion to legacy1", "regular-cred-on-legacy", "bob@HG.TEST",
          B, "legacy1", bastion_bob, "bob", False)
    login("row 2: bob-legacy1@ (copied off the bastion) to the bastion", "special-cred-on-bastion",
          "bob-legacy1@HG.TEST", DESK, "bastion", bastion_bob_l1, "bob", False)
    login("row 5: alice-legacy1@ from 127.0.0.4 straight to legacy1",
          "legacy-login-not-via-bastion", "", OUT, "legacy1", bastion_alice_l1, "alice", False)
    login("row 6: alice@ from 127.0.0.4 (not an allowed source) to the bastion",
          "bastion-login-unlisted-source", "", OUT, "bastion", desk_alice, "alice", False)
    return steps


def describe(e):
    """One evidence item, short: 'kdc ISSUE', 'kdcpolicy deny', 'hopguard@legacy1 deny',
    'pam@bastion deny'."""
    line = e.get("line", "")
    if e.get("source") == "kdc" and "): hopguard: verdict=" in line:
        return "kdcpolicy " + line.split("verdict=", 1)[1].split(" ", 1)[0]
    if e.get("source") == "kdc":
        parts = line.split(": ")
        return "kdc " + (parts[2].split(":")[0][:34] if len(parts) >= 3 else "?")
    verdict = line.split("verdict=", 1)[1].split(" ", 1)[0] if "verdict=" in line else line[-30:]
    return f"{e.get('source')}@{e.get('host')} {verdict}"


def print_table(alarms):
    hdr = ("time (UTC)", "rule", "principal", "source.ip", "target", "count", "evidence")
    rows = []
    for a in alarms:
        h = a.get("hopguard", {})
        ev = []
        for e in h.get("evidence", []):
            d = describe(e)
            if d not in ev:
                ev.append(d)
        rows.append((a["@timestamp"][11:19], a["rule"]["id"], h.get("principal", ""),
                     a.get("source", {}).get("ip", a.get("source", {}).get("address", "")), h.get("target", ""),
                     str(h.get("count", "")), ", ".join(ev)))
    widths = [max(len(r[i]) for r in rows + [hdr]) for i in range(len(hdr))]
    for r in [hdr, tuple("-" * w for w in widths)] + rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


def key(a):
    return (a["rule"]["id"], a.get("hopguard", {}).get("principal", ""))


def main():
    skip_sshd = sshd_unavailable()
    if skip_sshd is None and not private_syslog.reexec_in_mount_namespace():
        skip_sshd = "unshare -m does not work here (a private mount namespace is needed)"
    # From here on, with sshd: inside a private mount namespace (the parent waits for us).
    tmp = tempfile.mkdtemp(prefix="hopguard-demo-")
    os.chmod(tmp, 0o755)  # sshd's users read their homes below it
    d = rsyslog = realm = None
    hosts = []
    try:
        if skip_sshd is None:
            private_syslog.private_dev(tmp)
            open("/dev/log", "w").close()  # the mount point each sshd binds its socket over
            sshd_host.private_run()

        # 1. hopguardd on loopback (an ephemeral port). A 10 s correlation window for the demo,
        #    and 5 s of skew: the KDC's log has whole seconds and reaches rsyslog's imfile up to a
        #    second after the host's record of the same login (the site default is 300 s).
        d = Daemon(os.path.join(tmp, "hopguardd"), listen=["tcp://127.0.0.1:0"], window_seconds=10,
                   skew_seconds=5)
        d.start()
        port = d.addresses("tcp")[0][1]
        print(f"hopguardd      listening on tcp://127.0.0.1:{port} (config {d.config})")

        # 2. A throwaway realm HG.TEST: a real krb5kdc under socket_wrapper (127.0.0.10), with
        #    the KDC module enforcing the same policy when it is built.
        module = os.path.exists(KDCPOLICY)
        site = os.path.join(tmp, "kdc-site.toml")
        kw = {}
        if module:
            kdc_site(site, "enforce")
            kw = dict(plugins={"kdcpolicy": [f"module = hopguard:{KDCPOLICY}"]},
                      kdc_conf_extra=f"[hopguard]\n    config = {site}\n")
        realm = harness.Realm(os.path.join(tmp, "realm"), **kw)
        realm.start()
        print(f"krb5kdc        realm HG.TEST, log {realm.kdc_log}"
              + (", with hopguard_kdcpolicy.so (enforce)" if module else ", without the KDC module"))

        # 3. A real rsyslogd: imfile on the KDC log (and, with sshd, one socket per sshd host)
        #    -> omfwd, RFC 5424, octet-counted TCP.
        rs = os.path.join(tmp, "rsyslog")
        os.makedirs(rs)
        sockets = {name: os.path.join(rs, f"{name}.sock") for name in HOSTS} if skip_sshd is None else {}
        with open(os.path.join(rs, "rsyslog.conf"), "w") as f:
            f.write(rsyslog_conf(rs, realm.kdc_log, port, sockets))
        rsyslog = subprocess.Popen(["rsyslogd", "-n", "-f", os.path.join(rs, "rsyslog.conf"),
                                    "-i", os.path.join(rs, "rsyslogd.pid")],
                                   stdout=subprocess.DEVNULL, stderr=open(os.path.join(rs, "err"), "w"))
        deadline = time.monotonic() + 10
        while not all(os.path.exists(s) for s in sockets.values()):
            if rsyslog.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("rsyslogd did not start: " + open(os.path.join(rs, "err")).read())
            time.sleep(0.05)
        print(f"rsyslogd       pid {rsyslog.pid}, imfile" + (" + imuxsock per sshd host" if sockets else "")
              + " -> omfwd octet-counted -> hopguardd\n")

        # 4. Part 1: the legitimate path and each misuse the KDC sees, with real kinit/kvno.
        print("part 1: the KDC")
        steps = [(w, r, p) for w, r, p in kdc_scenario.play(realm)]
        for what, rule, _ in steps:
            print(f"  played  {what:70s} -> {rule or 'no alarm'}")

        # 5. Part 2: real sshd hosts (root only).
        if skip_sshd is None:
            if module:
                realm.stop()
                kdc_site(site, "monitor")
                realm.start_kdc()
            print("\npart 2: real sshd on the bastion (127.0.0.2) and legacy1 (127.0.0.3), with "
                  "pam_hopguard.so and hopguard_localauth.so"
                  + ("; the KDC module now in monitor mode, so the hosts must refuse" if module else ""))
            work = os.path.join(tmp, "sshd")
            os.makedirs(work)
            os.chmod(work, 0o755)
            sshd_host.write_accounts(work)
            modules = sshd_host.Modules(*MODULES, config=d.config)
            for name, (role, iface) in HOSTS.items():
                h = sshd_host.Host(work, realm, name, role, iface, modules, syslog_socket=sockets[name])
                hosts.append(h)
                h.start()
            steps += play_sshd(realm, work)
        else:
            print(f"\npart 2 (real sshd) SKIPPED: {skip_sshd}.\n  Not shown: rows 5 and 6 and the "
                  "sshd/PAM evidence of rows 1 and 2; run scripts/demo as root for them.")

        want = sorted((rule, principal) for _, rule, principal in steps if rule)
        try:
            d.wait_alarms(lambda alarms: sorted(key(a) for a in alarms) == want, timeout=60)
        except AssertionError:
            print("\nnot every expected alarm arrived within 60 s; showing what did")
        time.sleep(2)
        alarms = d.alarms()

        # 6. The alarms as a table.
        print(f"\n{len(alarms)} alarm(s):\n")
        print_table(alarms)
        os.makedirs(os.path.dirname(FEED), exist_ok=True)
        shutil.copyfile(d.alarm_log, FEED)
        print(f"\nThe JSONL alarm feed (one ECS alarm per line) is kept at {FEED}")
        got = sorted(key(a) for a in alarms)
        missing = sorted(set(want) - set(got))
        if got != want:
            print(f"MISSING: {missing}" if missing else f"UNEXPECTED: expected exactly {want}")
            for name, path in (("rsyslogd stderr", os.path.join(rs, "err")), ("hopguardd log", d.log_path),
                               *((f"sshd {h.name} stderr", os.path.join(h.dir, "sshd.stderr")) for h in hosts)):
                with open(path, errors="replace") as f:
                    print(f"--- {name} (last lines) ---\n" + "".join(f.readlines()[-15:]))
            return 1
        return 0
    finally:
        for h in hosts:
            h.stop()
        if rsyslog:
            rsyslog.send_signal(signal.SIGTERM)
            rsyslog.wait(20)
        if realm:
            realm.stop()
        if d:
            d.stop()
        if os.environ.get("HOPGUARD_DEMO_KEEP"):
            print(f"kept {tmp} (HOPGUARD_DEMO_KEEP); rsyslog/forwarded.log holds every forwarded record")
        else:
            private_syslog.remove_work_dir(tmp)
            print(f"cleaned up {tmp}")


if __name__ == "__main__":
    sys.exit(main())
