#!/usr/bin/env python3
"""pam_hopguard through the real libpam in tests/pam/pam_caller (pam_start_confdir; no
pam_wrapper), against a real MIT KDC (tests/harness/realm.py).

  test_pam_caller.py setuid PAM_CALLER
    The caller is set-user-ID or set-group-ID (su, sudo): its environment belongs to the user
    who started it, so the module must ignore HOPGUARD_CONFIG, HOPGUARD_HOST, KRB5_CONFIG and
    KRB5_KTNAME there. pam_hopguard detects the condition by AT_SECURE (secure_getenv for its
    own variables, krb5_init_secure_context for the Kerberos ones). The condition is made for
    real: a copy of pam_caller is chowned to group nogroup and made set-group-ID, so the kernel
    execs it with egid != gid and sets AT_SECURE (pam_caller prints it; needs root). The same
    environment is given to a plain copy first, to show that it would steer the module:
      - HOPGUARD_CONFIG and HOPGUARD_HOST (no config=/host= on the stack line): the plain caller
        uses them and allows; the set-group-ID caller reads /etc/hopguard/hopguard.toml instead
        and never the user's file;
      - HOPGUARD_HOST with config= on the line: the set-group-ID caller does not take the user's
        word for which host this is;
      - KRB5_CONFIG naming the user's own KDC (a second krb5kdc on 127.0.0.1 serving the test
        realm) and KRB5_KTNAME naming a keytab that matches it: the plain caller logs alice in
        through that KDC and keytab (the attack); the set-group-ID caller never contacts that
        KDC and refuses.
  test_pam_caller.py retry PAM_CALLER
    One handle, as a login program retrying a password: a successful auth followed by a failed
    one forgets the first principal and its credentials. setcred then writes no ccache and
    session sees no principal (login-without-principal, refused on a legacy guest). A control
    run shows session does take the principal from a single successful auth on this handle.
"""

from __future__ import annotations

import grp
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pam_common import (CONFIG, SRC, check, failures, legacy_login_site,  # noqa: E402
                        with_preload, write_service)
DEFAULT_CONFIG = "/etc/hopguard/hopguard.toml"
sys.path.insert(0, os.path.join(SRC, "tests", "harness"))

LINE_RE = re.compile(r"SYSLOG\((\d)\): pam_hopguard\([^:]+:(\w+)\): (.*)$")


class Run:
    """One pam_caller run: results per operation, the module's syslog lines, raw output."""

    def __init__(self, p: subprocess.CompletedProcess):
        self.raw = p.stdout + p.stderr
        self.exit = p.returncode
        self.at_secure = None
        self.results: list[tuple[str, int]] = []
        self.logs: list[str] = []  # "PRIORITY STAGE TEXT"
        self.ccname = None
        for line in p.stdout.splitlines():
            if line.startswith("at_secure="):
                self.at_secure = int(line.split()[0].split("=")[1])
            elif m := LINE_RE.match(line):
                self.logs.append(f"{m.group(1)} {m.group(2)} {m.group(3)}")
            elif m := re.match(r"(\w+) rc=(\d+) ", line):
                self.results.append((m.group(1), int(m.group(2))))
            elif line.startswith("env KRB5CCNAME="):
                self.ccname = line.split("=", 1)[1]

    def __repr__(self) -> str:
        return self.raw


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        for _ in range(50):
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            try:
                u.bind(("127.0.0.1", port))
                return port
            except OSError:
                t.close()
                t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raise RuntimeError("no free port")


class UsersKdc:
    """A second krb5kdc on the realm's database, on the real 127.0.0.1 (no socket_wrapper): a
    KDC the user can name in KRB5_CONFIG. Its own kdc.conf and log."""

    def __init__(self, realm, workdir: str):
        self.port = free_port()
        self.log = os.path.join(workdir, "users-kdc.log")
        self.krb5_conf = os.path.join(workdir, "users-krb5.conf")
        self.kdc_conf = os.path.join(workdir, "users-kdc.conf")
        ours = f"127.0.0.1:{self.port}"
        with open(realm.krb5_conf) as f:
            text = f.read().replace(f"{realm.kdc_address}:88", ours)
        with open(self.krb5_conf, "w") as f:
            f.write(text)
        with open(realm.kdc_conf) as f:
            text = f.read().replace(f"{realm.kdc_address}:88", ours).replace(realm.kdc_log, self.log)
        with open(self.kdc_conf, "w") as f:
            f.write(text)
        env = realm.base_env({"KRB5_CONFIG": self.krb5_conf, "KRB5_KDC_PROFILE": self.kdc_conf})
        env.pop("KRB5CCNAME", None)
        import realm as harness
        self.proc = subprocess.Popen(
            [harness.find_program("krb5kdc"), "-n", "-r", realm.realm, "-P", os.path.join(workdir, "users-kdc.pid")],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=harness._die_with_parent)
        deadline = time.monotonic() + 20
        while "commencing operation" not in self.text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the user's KDC did not start: {self.text()}")
            time.sleep(0.02)
        self.mark = len(self.text())

    def text(self) -> str:
        try:
            with open(self.log) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def new_requests(self) -> list[str]:
        text = self.text()
        new, self.mark = text[self.mark:], len(text)
        return [l for l in new.splitlines() if "AS_REQ" in l or "TGS_REQ" in l]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def test_setuid(caller: str, work: str) -> int:
    import realm as harness
    if os.geteuid() != 0:
        print("SKIP: making a set-group-ID caller needs root")
        return 77
    if os.statvfs(work).f_flag & os.ST_NOSUID:
        print(f"SKIP: {work} is on a nosuid file system")
        return 77
    try:
        nogroup = grp.getgrnam("nogroup").gr_gid
    except KeyError:
        nogroup = 65534
    plain = os.path.join(work, "pam_caller")
    setgid = os.path.join(work, "pam_caller-setgid")
    shutil.copy2(caller, plain)
    shutil.copy2(caller, setgid)
    os.chown(setgid, 0, nogroup)
    os.chmod(setgid, 0o2755)

    svc = os.path.join(work, "pam.d")
    os.makedirs(svc)
    # No config=, no host=: the environment is the only other source, then the defaults.
    write_service(svc, "env-only", "role=legacy")
    write_service(svc, "env-host", f"config={CONFIG} role=legacy")
    write_service(svc, "kerberos", f"config={CONFIG} role=legacy host=legacy1")
    # The user's own site config: their address counts as a bastion, so legacy1 lets them in.
    users_config = os.path.join(work, "users-site.toml")
    with open(CONFIG) as f:
        text = f.read()
    with open(users_config, "w") as f:
        f.write(text.replace('addresses = ["127.0.0.2"]', 'addresses = ["127.0.0.2", "127.0.0.66"]'))

    def run(program: str, service: str, ops: list[str], env: dict[str, str]) -> Run:
        e = {k: v for k, v in os.environ.items()
             if not k.startswith(("HOPGUARD_CONFIG", "HOPGUARD_HOST", "KRB5", "LD_PRELOAD", "SOCKET_WRAPPER"))}
        e.update(env)
        p = subprocess.run([program, svc, service, "alice", *ops], env=e, capture_output=True, text=True,
                           timeout=60)
        return Run(p)

    # 1. HOPGUARD_CONFIG and HOPGUARD_HOST.
    env = {"HOPGUARD_CONFIG": users_config, "HOPGUARD_HOST": "legacy1"}
    r = run(plain, "env-only", ["rhost=127.0.0.66", "acct_mgmt"], env)
    check(r.at_secure == 0 and r.results == [("acct_mgmt", 0)], f"plain, HOPGUARD_*: {r!r}")
    check(r.logs == ['6 account verdict=allow rule="" role=legacy host=legacy1 user=alice principal="" '
                     'rhost=127.0.0.66 stage=account reason=""'], f"plain, HOPGUARD_*: records {r.logs!r}")
    r = run(setgid, "env-only", ["rhost=127.0.0.66", "acct_mgmt"], env)
    check(r.at_secure == 1, f"the set-group-ID copy did not run with AT_SECURE: {r!r}")
    check("HOPGUARD_CONFIG=set" in r.raw, f"the environment did not reach the set-group-ID caller: {r!r}")
    check(r.results == [("acct_mgmt", 6)], f"set-group-ID, HOPGUARD_*: not PAM_PERM_DENIED {r!r}")
    check(not any(users_config in l for l in r.logs), f"set-group-ID: the user's config was used {r.logs!r}")
    if not os.path.exists(DEFAULT_CONFIG):
        check(len(r.logs) == 1 and r.logs[0].startswith(
            '3 account verdict=deny rule=config-error role=legacy host="" user=alice principal="" '
            f'rhost=127.0.0.66 stage=account reason="{DEFAULT_CONFIG}: cannot read config: '),
              f"set-group-ID, HOPGUARD_CONFIG: records {r.logs!r}")

    # 2. HOPGUARD_HOST alone (the stack names the config): the host is not the user's to say.
    env = {"HOPGUARD_HOST": "legacy1"}
    r = run(plain, "env-host", ["rhost=127.0.0.2", "acct_mgmt"], env)
    check(r.results == [("acct_mgmt", 0)], f"plain, HOPGUARD_HOST: {r!r}")
    r = run(setgid, "env-host", ["rhost=127.0.0.2", "acct_mgmt"], env)
    check(r.at_secure == 1 and r.results == [("acct_mgmt", 6)], f"set-group-ID, HOPGUARD_HOST: {r!r}")
    check(len(r.logs) == 1 and r.logs[0].startswith("3 account verdict=deny rule=config-error ")
          and "legacy1" not in r.logs[0], f"set-group-ID, HOPGUARD_HOST: records {r.logs!r}")

    # 3. KRB5_CONFIG and KRB5_KTNAME: the user's KDC and keytab.
    with harness.Realm(os.path.join(work, "realm")) as realm:
        keytab = os.path.join(work, "users.keytab")
        realm.keytab(["host/legacy1.hg.test"], keytab)
        users_kdc = UsersKdc(realm, work)
        try:
            env = {"KRB5_CONFIG": users_kdc.krb5_conf, "KRB5_KTNAME": f"FILE:{keytab}",
                   "KRB5RCACHEDIR": work}
            password = realm.password("alice-legacy1")
            r = run(plain, "kerberos", ["rhost=127.0.0.2", f"authenticate:{password}"], env)
            check(r.results == [("authenticate", 0)], f"plain, KRB5_*: the attack did not work {r!r}")
            kdc = users_kdc.new_requests()
            check(any("AS_REQ" in l and "alice-legacy1@HG.TEST for krbtgt/HG.TEST@HG.TEST" in l for l in kdc)
                  and any("TGS_REQ" in l and "for host/legacy1.hg.test@HG.TEST" in l for l in kdc),
                  f"plain, KRB5_*: the user's KDC saw {kdc!r}")

            r = run(setgid, "kerberos", ["rhost=127.0.0.2", f"authenticate:{password}"], env)
            check(r.at_secure == 1 and "KRB5_CONFIG=set" in r.raw, f"set-group-ID, KRB5_*: {r!r}")
            check(r.results and r.results[0][0] == "authenticate" and r.results[0][1] != 0,
                  f"set-group-ID, KRB5_*: authenticated {r!r}")
            check(len(r.logs) == 1 and r.logs[0].startswith(
                '5 auth verdict=deny rule=auth-failed role=legacy host=legacy1 user=alice '
                'principal=alice-legacy1@HG.TEST rhost=127.0.0.2 stage=auth reason="cannot obtain a ticket: '),
                  f"set-group-ID, KRB5_*: records {r.logs!r}")
            check(users_kdc.new_requests() == [], "set-group-ID, KRB5_*: the user's KDC was asked")
        finally:
            users_kdc.stop()
    return 0


def test_retry(caller: str, work: str) -> int:
    import realm as harness
    svc, keytab, ccdir = legacy_login_site(work)

    with harness.Realm(os.path.join(work, "realm")) as realm:
        realm.keytab(["host/legacy1.hg.test"], keytab)

        def run(ops: list[str]) -> Run:
            env = realm.env_for(harness.IFACE_LEGACY1)
            env.pop("KRB5CCNAME", None)
            env.pop("HOPGUARD_CONFIG", None)
            env.pop("HOPGUARD_HOST", None)
            env["LD_PRELOAD"] = with_preload(env["LD_PRELOAD"] + ":libnss_wrapper.so")
            env.update(NSS_WRAPPER_PASSWD=os.path.join(work, "passwd"),
                       NSS_WRAPPER_GROUP=os.path.join(work, "group"))
            p = subprocess.run([caller, svc, "legacy-login", "alice", "rhost=127.0.0.2", *ops],
                               env=env, capture_output=True, text=True, timeout=60)
            return Run(p)

        good, bad = realm.password("alice-legacy1"), realm.password("alice")
        allow_auth = ('6 auth verdict=allow rule="" role=legacy host=legacy1 user=alice '
                      'principal=alice-legacy1@HG.TEST rhost=127.0.0.2 stage=auth reason=""')

        # Control: one successful auth; session takes its principal; setcred writes the ccache.
        r = run([f"authenticate:{good}", "setcred", "open_session", "close_session"])
        check(r.at_secure == 0 and r.exit == 0, f"control: {r!r}")
        check(r.results == [("authenticate", 0), ("setcred", 0), ("open_session", 0), ("close_session", 0)],
              f"control: results {r.results!r}\n{r!r}")
        check(r.logs == [allow_auth,
                         '6 session verdict=allow rule="" role=legacy host=legacy1 user=alice '
                         'principal=alice-legacy1@HG.TEST rhost=127.0.0.2 stage=session reason=""'],
              f"control: records {r.logs!r}")
        check(os.listdir(ccdir) == [], f"control: close_session left {os.listdir(ccdir)!r}")

        # Success, then a failed retry on the same handle: the first principal is forgotten.
        realm.mark_log()
        r = run([f"authenticate:{good}", f"authenticate:{bad}", "setcred", "open_session"])
        check(r.exit == 0, f"retry: {r!r}")
        check([op for op, _ in r.results] == ["authenticate", "authenticate", "setcred", "open_session"],
              f"retry: results {r.results!r}\n{r!r}")
        if len(r.results) == 4:
            check(r.results[0][1] == 0, f"retry: first auth {r.results!r}")
            check(r.results[1][1] == 7, f"retry: second auth not PAM_AUTH_ERR {r.results!r}")
            check(r.results[2][1] != 0, f"retry: setcred succeeded without credentials {r.results!r}")
            check(r.results[3][1] == 14, f"retry: session not PAM_SESSION_ERR {r.results!r}")
        check(r.logs == [
            allow_auth,
            '5 auth verdict=deny rule=auth-failed role=legacy host=legacy1 user=alice '
            'principal=alice-legacy1@HG.TEST rhost=127.0.0.2 stage=auth '
            'reason="cannot obtain a ticket: Preauthentication failed"',
            '5 session verdict=deny rule=login-without-principal role=legacy host=legacy1 user=alice principal="" '
            'rhost=127.0.0.2 stage=session reason="no Kerberos principal (public key or password login) and '
            '[login] legacy_without_principal is deny"'], f"retry: records {r.logs!r}")
        check(r.ccname == "unset", f"retry: KRB5CCNAME={r.ccname}")
        check(os.listdir(ccdir) == [], f"retry: a ccache was written {os.listdir(ccdir)!r}")
        kdc = [harness.kdc_message(l) for l in realm.new_log_lines() if "krb5kdc[" in l]
        check(sum("PREAUTH_FAILED: alice-legacy1@HG.TEST" in l for l in kdc) == 1, f"retry: KDC {kdc!r}")
    return 0


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] not in ("setuid", "retry"):
        print("usage: test_pam_caller.py setuid|retry PAM_CALLER")
        return 2
    for prog in ("krb5kdc", "kdb5_util"):
        if shutil.which(prog, path=os.environ.get("PATH", "") + ":/usr/sbin") is None:
            print(f"SKIP: {prog} not installed (scripts/install-deps)")
            return 77
    work = tempfile.mkdtemp(prefix=f"hg-pam-{sys.argv[1]}-")
    rc = (test_setuid if sys.argv[1] == "setuid" else test_retry)(sys.argv[2], work)
    if rc == 77:
        shutil.rmtree(work, ignore_errors=True)
        return rc
    if failures:
        print(f"{len(failures)} failure(s); work directory kept: {work}")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print(f"all {sys.argv[1]} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
