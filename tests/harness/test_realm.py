#!/usr/bin/env python3
"""The harness itself, against a real krb5kdc: the KDC log lines other tests rely on.

The expected lines are exact after normalising only what changes from run to run: the syslog
prefix (date, host name, pid) and the authtime. They were observed with MIT krb5 1.20.1
(Debian 12); README.md quotes them.
"""

import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import realm as harness  # noqa: E402

ETYPES = ("(8 etypes {aes256-cts-hmac-sha1-96(18), aes128-cts-hmac-sha1-96(17), "
          "aes256-cts-hmac-sha384-192(20), aes128-cts-hmac-sha256-128(19), "
          "DEPRECATED:des3-cbc-sha1(16), DEPRECATED:arcfour-hmac(23), camellia128-cts-cmac(25), "
          "camellia256-cts-cmac(26)})")
ISSUED = "etypes {rep=aes256-cts-hmac-sha1-96(18), tkt=aes256-cts-hmac-sha1-96(18), " \
         "ses=aes256-cts-hmac-sha1-96(18)}"

PREFIX = re.compile(r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ krb5kdc\[\d+\]\((\w+)\): ")


def normalise(line: str) -> str:
    """'<sev>: message' with the syslog prefix dropped and authtime N replaced by authtime T."""
    m = PREFIX.match(line)
    if not m:
        return "UNPARSED: " + line
    return m.group(1) + ": " + re.sub(r"authtime \d+", "authtime T", line[m.end():])


class RealmTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="hg-harness-")
        self.addCleanup(self.tmp.cleanup)

    def test_kinit_kvno_and_wrong_password_log_lines(self):
        with harness.Realm(self.tmp.name) as realm:
            realm.mark_log()
            cc = realm.kinit("alice", iface=harness.IFACE_ADMIN_DESKTOP)
            realm.kvno("host/bastion.hg.test", harness.IFACE_ADMIN_DESKTOP, cc)
            realm.kinit("alice-legacy1", "not-the-password", iface=harness.IFACE_OUTSIDE,
                        check=False)
            self.assertNotEqual(realm.last.returncode, 0)
            self.assertIn("Password incorrect", realm.last.stderr)
            kdc_pid = realm.kdc_pid
            lines = [normalise(l) for l in realm.new_log_lines()]
        self.assertEqual(lines, [
            f"info: AS_REQ {ETYPES} 127.0.0.5: NEEDED_PREAUTH: alice@HG.TEST for "
            "krbtgt/HG.TEST@HG.TEST, Additional pre-authentication required",
            f"info: AS_REQ {ETYPES} 127.0.0.5: ISSUE: authtime T, {ISSUED}, alice@HG.TEST for "
            "krbtgt/HG.TEST@HG.TEST",
            f"info: TGS_REQ {ETYPES} 127.0.0.5: ISSUE: authtime T, {ISSUED}, alice@HG.TEST for "
            "host/bastion.hg.test@HG.TEST",
            f"info: AS_REQ {ETYPES} 127.0.0.4: NEEDED_PREAUTH: alice-legacy1@HG.TEST for "
            "krbtgt/HG.TEST@HG.TEST, Additional pre-authentication required",
            "info: preauth (encrypted_timestamp) verify failure: Preauthentication failed",
            f"info: AS_REQ {ETYPES} 127.0.0.4: PREAUTH_FAILED: alice-legacy1@HG.TEST for "
            "krbtgt/HG.TEST@HG.TEST, Preauthentication failed",
        ])
        # stop() ended the KDC: the pid no longer runs krb5kdc.
        self.assertFalse(os.path.exists(f"/proc/{kdc_pid}/status") and
                         "krb5kdc" in open(f"/proc/{kdc_pid}/comm").read())

    def test_unknown_client_unknown_service_and_tcp(self):
        # udp_preference_limit = 1 sends every request over TCP (the KDC then logs
        # "closing down fd N" after each answer).
        with harness.Realm(self.tmp.name,
                           krb5_conf_extra="[libdefaults]\n    udp_preference_limit = 1\n") as realm:
            realm.add_principal("carol", "carol-pw")
            realm.mark_log()
            realm.kinit("nobody", "x", iface=harness.IFACE_OUTSIDE, check=False)
            self.assertIn("not found in Kerberos database", realm.last.stderr)
            cc = realm.kinit("carol", iface=harness.IFACE_BASTION)
            p = realm.kvno("host/nosuch.hg.test", harness.IFACE_BASTION, cc, check=False)
            self.assertNotEqual(p.returncode, 0)
            lines = [normalise(l) for l in realm.new_log_lines()]
        lines = [l for l in lines if not re.fullmatch(r"info: closing down fd \d+", l)]
        self.assertEqual(lines, [
            f"info: AS_REQ {ETYPES} 127.0.0.4: CLIENT_NOT_FOUND: nobody@HG.TEST for "
            "krbtgt/HG.TEST@HG.TEST, Client not found in Kerberos database",
            f"info: AS_REQ {ETYPES} 127.0.0.2: NEEDED_PREAUTH: carol@HG.TEST for "
            "krbtgt/HG.TEST@HG.TEST, Additional pre-authentication required",
            f"info: AS_REQ {ETYPES} 127.0.0.2: ISSUE: authtime T, {ISSUED}, carol@HG.TEST for "
            "krbtgt/HG.TEST@HG.TEST",
            # kvno retries once; note: no comma between "etypes {...}" and the client here.
            f"info: TGS_REQ {ETYPES} 127.0.0.2: LOOKING_UP_SERVER: authtime T, etypes "
            "{rep=UNSUPPORTED:(0)} carol@HG.TEST for host/nosuch.hg.test@HG.TEST, "
            "Server not found in Kerberos database",
            f"info: TGS_REQ {ETYPES} 127.0.0.2: LOOKING_UP_SERVER: authtime T, etypes "
            "{rep=UNSUPPORTED:(0)} carol@HG.TEST for host/nosuch.hg.test@HG.TEST, "
            "Server not found in Kerberos database",
        ])

    def test_foreign_realm_client_reaches_a_service_cross_realm(self):
        with harness.Realm(self.tmp.name, foreign_realms=["OTHER.TEST"]) as realm:
            realm.mark_log()
            cc = realm.kinit("alice@OTHER.TEST", iface=harness.IFACE_OUTSIDE)
            realm.kvno("host/bastion.hg.test", harness.IFACE_OUTSIDE, cc)
            lines = [harness.kdc_message(l) for l in realm.new_log_lines()]
        self.assertEqual(lines, [
            "info: AS_REQ 127.0.0.4: NEEDED_PREAUTH: alice@OTHER.TEST for "
            "krbtgt/OTHER.TEST@OTHER.TEST, Additional pre-authentication required",
            f"info: AS_REQ 127.0.0.4: ISSUE: authtime T, {ISSUED}, alice@OTHER.TEST for "
            "krbtgt/OTHER.TEST@OTHER.TEST",
            # the cross-realm TGT from OTHER.TEST, then the service ticket from HG.TEST
            f"info: TGS_REQ 127.0.0.4: ISSUE: authtime T, {ISSUED}, alice@OTHER.TEST for "
            "krbtgt/HG.TEST@OTHER.TEST",
            f"info: TGS_REQ 127.0.0.4: ISSUE: authtime T, {ISSUED}, alice@OTHER.TEST for "
            "host/bastion.hg.test@HG.TEST",
        ])

    def test_keytab_keeps_passwords_valid(self):
        with harness.Realm(self.tmp.name) as realm:
            kt = realm.keytab(["host/legacy1.hg.test", "alice-legacy1"],
                              os.path.join(self.tmp.name, "legacy1.keytab"))
            p = realm.run(["klist", "-k", kt], harness.IFACE_LEGACY1)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("host/legacy1.hg.test@HG.TEST", p.stdout)
            self.assertIn("alice-legacy1@HG.TEST", p.stdout)
            realm.kinit("alice-legacy1", iface=harness.IFACE_BASTION)  # -norandkey: still valid
            # The keytab's key is the service's real key: kinit -k works against the KDC.
            realm.kinit("host/legacy1.hg.test", iface=harness.IFACE_LEGACY1,
                        args=["-k", "-t", kt])

    def test_kdc_that_exits_at_start_raises_with_diagnostics(self):
        realm = harness.Realm(self.tmp.name)
        realm.start()
        realm.stop()
        os.unlink(os.path.join(self.tmp.name, "stash"))  # no master key: krb5kdc exits
        with self.assertRaises(harness.RealmError) as ctx:
            realm.start_kdc(wait_timeout=10)
        self.assertIn("krb5kdc exited", str(ctx.exception))
        self.assertIn("kdc.log", str(ctx.exception))
        self.assertFalse(realm.kdc_running())

    def test_unloadable_plugin_module_is_skipped_silently(self):
        # An MIT KDC quirk every plugin test must know: a [plugins] module that cannot be
        # dlopen()ed is skipped without a word in the KDC log, and the KDC serves as if it were
        # not configured. A test that relies on a module must prove the module acted.
        with harness.Realm(self.tmp.name, plugins={
                "kdcpolicy": ["module = broken:/nonexistent/broken.so"]}) as realm:
            self.assertTrue(realm.kdc_running())
            cc = realm.kinit("alice", iface=harness.IFACE_ADMIN_DESKTOP)
            realm.kvno("host/legacy1.hg.test", harness.IFACE_ADMIN_DESKTOP, cc)
            self.assertFalse(any("broken" in l for l in realm.log_lines()))

    def test_kdc_dies_with_a_test_killed_without_cleanup(self):
        # kill -9 of the test process skips stop() and atexit; the KDC must not outlive it.
        code = ("import sys, time; sys.path.insert(0, sys.argv[1]); import realm; "
                "r = realm.Realm(sys.argv[2]); r.start(); print(r.kdc_pid, flush=True); "
                "time.sleep(60)")
        test = subprocess.Popen([sys.executable, "-c", code,
                                 os.path.dirname(os.path.abspath(__file__)), self.tmp.name],
                                stdout=subprocess.PIPE, text=True)
        kdc = int(test.stdout.readline())
        test.kill()
        test.wait()
        for _ in range(100):
            try:
                with open(f"/proc/{kdc}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except FileNotFoundError:
                break  # reaped
            if state in ("Z", "X"):
                break  # dead, waiting for its new parent to reap it
            time.sleep(0.05)
        else:
            os.kill(kdc, 9)
            self.fail(f"krb5kdc {kdc} outlived the killed test")

    def test_cli_up_and_down(self):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "realm.py")
        up = subprocess.Popen([sys.executable, script, "up", "--dir", self.tmp.name],
                              stdout=subprocess.PIPE, text=True)
        try:
            first = up.stdout.readline()
            self.assertTrue(first.startswith("export KRB5_CONFIG="), first)
            pid = int(open(os.path.join(self.tmp.name, "kdc.pid")).read().strip())
            os.kill(pid, 0)  # the KDC runs
            down = subprocess.run([sys.executable, script, "down", "--dir", self.tmp.name],
                                  capture_output=True, text=True, timeout=30)
            self.assertEqual(down.returncode, 0, down.stderr)
            self.assertEqual(up.wait(timeout=10), 0)
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            else:
                self.fail(f"krb5kdc {pid} still running after down")
        finally:
            if up.poll() is None:
                up.kill()
                up.wait()


if __name__ == "__main__":
    unittest.main(verbosity=2)
