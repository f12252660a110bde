#!/usr/bin/env python3
"""pam_hopguard's auth stage against a real MIT KDC (tests/harness/realm.py), through the real
libpam (pam_wrapper + pamtester under socket_wrapper, as legacy1 = 127.0.0.3).

- alice types alice-legacy1's password: the module authenticates alice-legacy1@HG.TEST (never
  alice@), verifies the ticket with legacy1's host keytab, setcred writes the user's ccache
  (KRB5CCNAME) owned by alice, session accepts the principal from auth, close_session removes
  the ccache; the KDC log shows the AS_REQ for alice-legacy1 and the TGS_REQ for
  host/legacy1.hg.test (the verification).
- alice types her ordinary password: refused (auth-failed), the KDC saw PREAUTH_FAILED for
  alice-legacy1, never an AS_REQ for alice@.
- the host key changed since the keytab was written: refused (a forged or stale KDC cannot log
  anyone in), though the password was right.
- from outside (127.0.0.4): refused before any password is asked or any KDC request made.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pam_common import SRC, check, failures, legacy_login_site, with_preload  # noqa: E402
sys.path.insert(0, os.path.join(SRC, "tests", "harness"))


SYSLOG_RE = re.compile(r"SYSLOG\((\d)\): (.*)$")


def main() -> int:
    try:
        import realm as harness
    except ImportError as e:
        print(f"FAIL: tests/harness/realm.py: {e}")
        return 1
    for prog in ("pamtester", "krb5kdc", "klist"):
        if shutil.which(prog, path=os.environ.get("PATH", "") + ":/usr/sbin") is None:
            print(f"SKIP: {prog} not installed (scripts/install-deps)")
            return 77
    work = tempfile.mkdtemp(prefix="hg-pam-auth-")
    svc, keytab, ccdir = legacy_login_site(work)

    with harness.Realm(os.path.join(work, "realm")) as realm:
        realm.keytab(["host/legacy1.hg.test"], keytab)

        def pamtester(ops: list[str], password: str | None, rhost: str) -> tuple[int, list[str], str]:
            env = realm.env_for(harness.IFACE_LEGACY1)
            env.pop("KRB5CCNAME", None)
            env["LD_PRELOAD"] = with_preload(env["LD_PRELOAD"] + ":libpam_wrapper.so:libnss_wrapper.so")
            env.update(PAM_WRAPPER="1", PAM_WRAPPER_SERVICE_DIR=svc, PAM_WRAPPER_DEBUGLEVEL="4",
                       NSS_WRAPPER_PASSWD=os.path.join(work, "passwd"),
                       NSS_WRAPPER_GROUP=os.path.join(work, "group"))
            env.pop("HOPGUARD_CONFIG", None)
            env.pop("HOPGUARD_HOST", None)
            p = subprocess.run(["pamtester", "-v", "-I", f"rhost={rhost}", "legacy-login", "alice", *ops],
                               input=(password + "\n") if password is not None else "",
                               env=env, capture_output=True, text=True, timeout=60)
            logs = []
            for line in p.stderr.splitlines():
                m = SYSLOG_RE.search(line)
                if m and "_pam_init_handlers" not in m.group(2):
                    logs.append(f"{m.group(1)} {m.group(2)}")
            return p.returncode, logs, p.stdout + p.stderr

        def kdc_lines() -> list[str]:
            return [l.split("): ", 1)[-1] for l in realm.new_log_lines() if "krb5kdc[" in l]

        # 1. The special principal's password: authenticated, verified, credentials, session.
        realm.mark_log()
        rc, logs, raw = pamtester(["authenticate", "setcred", "open_session"], realm.password("alice-legacy1"),
                                  "127.0.0.2")
        check(rc == 0, f"special password: pamtester exit {rc}\n{raw}")
        check(logs == [
            '6 verdict=allow rule="" role=legacy host=legacy1 user=alice principal=alice-legacy1@HG.TEST '
            'rhost=127.0.0.2 stage=auth reason=""',
            '6 verdict=allow rule="" role=legacy host=legacy1 user=alice principal=alice-legacy1@HG.TEST '
            'rhost=127.0.0.2 stage=session reason=""'], f"special password: records {logs!r}")
        kdc = kdc_lines()
        check(any("127.0.0.3: ISSUE:" in l and "alice-legacy1@HG.TEST for krbtgt/HG.TEST@HG.TEST" in l
                  for l in kdc if l.startswith("AS_REQ")), f"special password: no AS_REQ ISSUE {kdc!r}")
        check(any("127.0.0.3: ISSUE:" in l and "alice-legacy1@HG.TEST for host/legacy1.hg.test@HG.TEST" in l
                  for l in kdc if l.startswith("TGS_REQ")), f"special password: no verification TGS_REQ {kdc!r}")
        check(not any(" alice@HG.TEST" in l for l in kdc), f"special password: ordinary principal asked {kdc!r}")
        caches = os.listdir(ccdir)
        check(len(caches) == 1 and re.fullmatch(r"krb5cc_2001_[A-Za-z0-9]{6}", caches[0] if caches else ""),
              f"setcred: caches {caches!r}")
        if len(caches) == 1:
            path = os.path.join(ccdir, caches[0])
            st = os.stat(path)
            check(st.st_uid == 2001 and st.st_gid == 2001 and (st.st_mode & 0o777) == 0o600,
                  f"setcred: owner/mode {st.st_uid}:{st.st_gid} {oct(st.st_mode)}")
            k = subprocess.run(["klist", "-c", f"FILE:{path}"], capture_output=True, text=True,
                               env=realm.base_env())
            check("Default principal: alice-legacy1@HG.TEST" in k.stdout and "krbtgt/HG.TEST@HG.TEST" in k.stdout,
                  f"setcred: klist {k.stdout}{k.stderr}")
            os.unlink(path)

        # close_session removes the user's ccache.
        rc, logs, raw = pamtester(["authenticate", "setcred", "open_session", "close_session"],
                                  realm.password("alice-legacy1"), "127.0.0.2")
        check(rc == 0 and os.listdir(ccdir) == [], f"close_session: rc {rc}, left {os.listdir(ccdir)!r}\n{raw}")

        # 2. The ordinary password: refused; only alice-legacy1 was ever asked for.
        realm.mark_log()
        rc, logs, raw = pamtester(["authenticate"], realm.password("alice"), "127.0.0.2")
        check(rc != 0 and "Authentication failure" in raw, f"ordinary password: rc {rc}\n{raw}")
        check(logs == ['5 verdict=deny rule=auth-failed role=legacy host=legacy1 user=alice '
                       'principal=alice-legacy1@HG.TEST rhost=127.0.0.2 stage=auth '
                       'reason="cannot obtain a ticket: Preauthentication failed"'],
              f"ordinary password: records {logs!r}")
        kdc = kdc_lines()
        check(any("PREAUTH_FAILED: alice-legacy1@HG.TEST for krbtgt/HG.TEST@HG.TEST" in l for l in kdc),
              f"ordinary password: KDC {kdc!r}")
        check(not any(" alice@HG.TEST" in l for l in kdc), f"ordinary password: alice@ asked {kdc!r}")

        # 3. The host key changed after the keytab was written: the ticket cannot be verified.
        realm._kadmin("cpw -randkey host/legacy1.hg.test@HG.TEST")
        rc, logs, raw = pamtester(["authenticate"], realm.password("alice-legacy1"), "127.0.0.2")
        check(rc != 0 and "Authentication failure" in raw, f"keytab mismatch: rc {rc}\n{raw}")
        check(len(logs) == 1 and logs[0].startswith(
            '5 verdict=deny rule=auth-failed role=legacy host=legacy1 user=alice principal=alice-legacy1@HG.TEST '
            'rhost=127.0.0.2 stage=auth reason="ticket not verified with the host keytab: '),
              f"keytab mismatch: records {logs!r}")
        realm.keytab(["host/legacy1.hg.test"], keytab + ".new")
        os.unlink(keytab)
        os.rename(keytab + ".new", keytab)

        # 4. From outside: refused before any password or KDC request.
        realm.mark_log()
        rc, logs, raw = pamtester(["authenticate"], None, "127.0.0.4")
        check(rc != 0 and "Authentication failure" in raw, f"outside: rc {rc}\n{raw}")
        check(logs == ['5 verdict=deny rule=legacy-login-not-via-bastion role=legacy host=legacy1 user=alice '
                       'principal=alice-legacy1@HG.TEST rhost=127.0.0.4 stage=auth '
                       'reason="login from 127.0.0.4, which is not a bastion"'], f"outside: records {logs!r}")
        check("Password" not in raw, f"outside: a password was asked for\n{raw}")
        check(kdc_lines() == [], "outside: the KDC was asked")

        # 5. KDC down: unavailable (PAM_AUTHINFO_UNAVAIL), recorded.
        realm.stop()
        rc, logs, raw = pamtester(["authenticate"], realm.password("alice-legacy1"), "127.0.0.2")
        check(rc != 0 and "Authentication service cannot retrieve authentication info" in raw,
              f"KDC down: rc {rc}\n{raw}")
        check(len(logs) == 1 and "rule=auth-failed" in logs[0] and "stage=auth" in logs[0],
              f"KDC down: records {logs!r}")

    if failures:
        print(f"{len(failures)} failure(s); work directory kept: {work}")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print("all auth checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
