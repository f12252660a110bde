#!/usr/bin/env python3
"""hopguard_kdcpolicy.so inside a real krb5kdc (tests/harness), with real kinit/kvno clients.

Usage: test_kdcpolicy_kdc.py PATH/hopguard_kdcpolicy.so [unittest args]

Every expectation is a KDC log line (reduced by harness.kdc_message: no date/host/pid, no etype
list, authtime T), because the log line is the contract the scanner and the SIEM rely on.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "harness"))
import realm as harness  # noqa: E402

MODULE = None  # set from argv in __main__
SITE = os.path.join(HERE, "data", "site.toml")

BASTION, LEGACY1, OUTSIDE, DESKTOP = (harness.IFACE_BASTION, harness.IFACE_LEGACY1,
                                      harness.IFACE_OUTSIDE, harness.IFACE_ADMIN_DESKTOP)
ISSUED = ("etypes {rep=aes256-cts-hmac-sha1-96(18), tkt=aes256-cts-hmac-sha1-96(18), "
          "ses=aes256-cts-hmac-sha1-96(18)}")
REFUSED = "etypes {rep=UNSUPPORTED:(0)}"
POLICY = "KDC policy rejects request"
REG_REASON = ('reason="regular principal alice@HG.TEST asked for host/legacy1.hg.test@HG.TEST; '
              'legacy guest legacy1 is reached only with its host-specific principals"')


def read(path):
    with open(path) as f:
        return f.read()


def without_preauth_round(lines):
    """Drops the NEEDED_PREAUTH answer that precedes every successful kinit (+preauth realm)."""
    return [l for l in lines if "NEEDED_PREAUTH" not in l]


class KdcPolicyTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hg-kdcpolicy-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.config = os.path.join(self.tmp, "hopguard.toml")
        self.write_config()

    def write_config(self, kdc_section="", text=None):
        """Writes the site config (data/site.toml + a [kdc] section), bumping its mtime so the
        module's reload check sees the change even within one clock tick."""
        body = text if text is not None else read(SITE) + "\n[kdc]\n" + kdc_section
        old = os.stat(self.config).st_mtime_ns if os.path.exists(self.config) else 0
        with open(self.config, "w") as f:
            f.write(body)
        st = os.stat(self.config)
        if st.st_mtime_ns <= old:
            os.utime(self.config, ns=(st.st_atime_ns, old + 1_000_000))

    def realm(self, via="kdc.conf", **kw):
        extra = f"[hopguard]\n    config = {self.config}\n" if via == "kdc.conf" else ""
        env = {"HOPGUARD_CONFIG": self.config} if via == "env" else {}
        r = harness.Realm(os.path.join(self.tmp, "realm"),
                          plugins={"kdcpolicy": [f"module = hopguard:{MODULE}"]},
                          kdc_conf_extra=kw.pop("kdc_conf_extra", extra),
                          kdc_env=kw.pop("kdc_env", env), **kw)
        self.addCleanup(r.stop)
        return r

    def messages(self, realm):
        return without_preauth_round([harness.kdc_message(l) for l in realm.new_log_lines()])

    def assert_refused(self, p, service):
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn(f"KDC policy rejects request while getting credentials for {service}",
                      p.stderr)

    # ---- enforcement ---------------------------------------------------------------------

    def test_loaded_line_names_config_and_mode(self):
        with self.realm() as r:
            self.assertIn(f"info: hopguard: kdcpolicy config loaded config={self.config} "
                          "mode=enforce require_bastion_addresses=false",
                          [harness.kdc_message(l) for l in r.log_lines()])

    def test_regular_principal_refused_toward_legacy_ordinary_path_untouched(self):
        with self.realm() as r:
            r.mark_log()
            cc = r.kinit("alice", iface=DESKTOP)
            self.assert_refused(r.kvno("host/legacy1.hg.test", DESKTOP, cc, check=False),
                                "host/legacy1.hg.test@HG.TEST")
            r.kvno("host/bastion.hg.test", DESKTOP, cc)  # the ordinary path is untouched
            # AS exchange straight for the service (kinit -S) is refused as well.
            r.kinit("alice", iface=OUTSIDE, args=["-S", "host/legacy1.hg.test"], check=False)
            self.assertIn("KDC policy rejects request while getting initial credentials",
                          r.last.stderr)
            lines = self.messages(r)
        deny = ("info: hopguard: verdict=deny rule=regular-cred-on-legacy exchange={x} "
                "principal=alice@HG.TEST service=host/legacy1.hg.test@HG.TEST target=legacy1 "
                "mode=enforce " + REG_REASON)
        tgs_refused = ("info: TGS_REQ 127.0.0.5: HOPGUARD_REGULAR_CRED_ON_LEGACY: authtime T, "
                       f"{REFUSED} alice@HG.TEST for host/legacy1.hg.test@HG.TEST, {POLICY}")
        self.assertEqual(lines, [
            f"info: AS_REQ 127.0.0.5: ISSUE: authtime T, {ISSUED}, alice@HG.TEST for "
            "krbtgt/HG.TEST@HG.TEST",
            # kvno asks twice (once with, once without the canonicalize option)
            deny.format(x="tgs"), tgs_refused, deny.format(x="tgs"), tgs_refused,
            f"info: TGS_REQ 127.0.0.5: ISSUE: authtime T, {ISSUED}, alice@HG.TEST for "
            "host/bastion.hg.test@HG.TEST",
            deny.format(x="as"),
            "info: AS_REQ 127.0.0.4: HOPGUARD_REGULAR_CRED_ON_LEGACY: alice@HG.TEST for "
            f"host/legacy1.hg.test@HG.TEST, {POLICY}",
        ])

    def test_special_principal_reaches_its_own_guest_only_and_renews(self):
        with self.realm() as r:
            r.add_principal("nfs/legacy1.hg.test")
            r.mark_log()
            cc = r.kinit("alice-legacy1", iface=BASTION, args=["-r", "2d"])
            r.kvno("host/legacy1.hg.test", BASTION, cc)
            self.assert_refused(r.kvno("host/bastion.hg.test", BASTION, cc, check=False),
                                "host/bastion.hg.test@HG.TEST")
            self.assert_refused(r.kvno("host/legacy2.hg.test", BASTION, cc, check=False),
                                "host/legacy2.hg.test@HG.TEST")
            renew = r.run(["kinit", "-R"], BASTION, cc)
            self.assertEqual(renew.returncode, 0, renew.stderr)
            r.kvno("nfs/legacy1.hg.test", BASTION, cc)  # the renewed TGT still works
            lines = self.messages(r)
        on_bastion = ("info: hopguard: verdict=deny rule=special-cred-on-bastion exchange=tgs "
                      "principal=alice-legacy1@HG.TEST service=host/bastion.hg.test@HG.TEST "
                      "target=bastion mode=enforce reason=\"host-specific principal "
                      "alice-legacy1@HG.TEST of legacy guest legacy1 asked for "
                      "host/bastion.hg.test@HG.TEST on bastion bastion\"")
        on_bastion_kdc = ("info: TGS_REQ 127.0.0.2: HOPGUARD_SPECIAL_CRED_ON_BASTION: authtime T, "
                          f"{REFUSED} alice-legacy1@HG.TEST for host/bastion.hg.test@HG.TEST, "
                          f"{POLICY}")
        wrong = ("info: hopguard: verdict=deny rule=special-cred-wrong-target exchange=tgs "
                 "principal=alice-legacy1@HG.TEST service=host/legacy2.hg.test@HG.TEST "
                 "target=legacy2 mode=enforce reason=\"host-specific principal "
                 "alice-legacy1@HG.TEST may only reach legacy guest legacy1, not "
                 "host/legacy2.hg.test@HG.TEST\"")
        wrong_kdc = ("info: TGS_REQ 127.0.0.2: HOPGUARD_SPECIAL_CRED_WRONG_TARGET: authtime T, "
                     f"{REFUSED} alice-legacy1@HG.TEST for host/legacy2.hg.test@HG.TEST, {POLICY}")
        self.assertEqual(lines, [
            f"info: AS_REQ 127.0.0.2: ISSUE: authtime T, {ISSUED}, alice-legacy1@HG.TEST for "
            "krbtgt/HG.TEST@HG.TEST",
            f"info: TGS_REQ 127.0.0.2: ISSUE: authtime T, {ISSUED}, alice-legacy1@HG.TEST for "
            "host/legacy1.hg.test@HG.TEST",
            on_bastion, on_bastion_kdc, on_bastion, on_bastion_kdc,
            wrong, wrong_kdc, wrong, wrong_kdc,
            f"info: TGS_REQ 127.0.0.2: ISSUE: authtime T, {ISSUED}, alice-legacy1@HG.TEST for "
            "krbtgt/HG.TEST@HG.TEST",
            f"info: TGS_REQ 127.0.0.2: ISSUE: authtime T, {ISSUED}, alice-legacy1@HG.TEST for "
            "nfs/legacy1.hg.test@HG.TEST",
        ])

    def test_foreign_realm_clients_never_reach_a_legacy_guest(self):
        with self.realm(foreign_realms=["OTHER.TEST"]) as r:
            r.mark_log()
            for client in ("alice@OTHER.TEST", "alice-legacy1@OTHER.TEST"):
                cc = r.kinit(client, iface=OUTSIDE)
                self.assert_refused(r.kvno("host/legacy1.hg.test", OUTSIDE, cc, check=False),
                                    "host/legacy1.hg.test@HG.TEST")
                r.kvno("host/bastion.hg.test", OUTSIDE, cc)  # other services: not our business
            lines = [l for l in self.messages(r) if "HOPGUARD_" in l or "hopguard:" in l
                     or "for host/" in l]
        expected = []
        for client in ("alice@OTHER.TEST", "alice-legacy1@OTHER.TEST"):
            deny = ("info: hopguard: verdict=deny rule=regular-cred-on-legacy exchange=tgs "
                    f"principal={client} service=host/legacy1.hg.test@HG.TEST target=legacy1 "
                    f"mode=enforce reason=\"foreign principal {client} asked for "
                    "host/legacy1.hg.test@HG.TEST; legacy guest legacy1 is reached only with its "
                    "host-specific principals\"")
            kdc = (f"info: TGS_REQ 127.0.0.4: HOPGUARD_REGULAR_CRED_ON_LEGACY: authtime T, "
                   f"{REFUSED} {client} for host/legacy1.hg.test@HG.TEST, {POLICY}")
            expected += [deny, kdc, deny, kdc,
                         f"info: TGS_REQ 127.0.0.4: ISSUE: authtime T, {ISSUED}, {client} for "
                         "host/bastion.hg.test@HG.TEST"]
        self.assertEqual(lines, expected)

    def test_protocol_transition_by_a_legacy_service_is_refused(self):
        with self.realm() as r:
            kt = r.keytab(["host/legacy1.hg.test", "host/bastion.hg.test"],
                          os.path.join(self.tmp, "services.keytab"))
            cc1 = r.kinit("host/legacy1.hg.test", iface=LEGACY1, args=["-k", "-t", kt])
            cc2 = r.kinit("host/bastion.hg.test", iface=BASTION, args=["-k", "-t", kt])
            r.mark_log()
            # S4U2Self: the impersonated user never authenticated, so a legacy guest's service
            # cannot obtain a ticket to itself in anyone's name ...
            p = r.run(["kvno", "-U", "alice-legacy1", "host/legacy1.hg.test"], LEGACY1, cc1)
            self.assert_refused(p, "host/legacy1.hg.test@HG.TEST")
            # ... while any other service keeps protocol transition.
            p = r.run(["kvno", "-U", "alice", "host/bastion.hg.test"], BASTION, cc2)
            self.assertEqual(p.returncode, 0, p.stderr)
            lines = [l for l in self.messages(r) if "_REQ" in l or "hopguard" in l]
        self.assertEqual(lines, [
            "info: hopguard: verdict=deny rule=regular-cred-on-legacy exchange=tgs "
            "principal=host/legacy1.hg.test@HG.TEST service=host/legacy1.hg.test@HG.TEST "
            "target=legacy1 mode=enforce reason=\"service principal host/legacy1.hg.test@HG.TEST "
            "asked for host/legacy1.hg.test@HG.TEST (protocol transition requested by this "
            "service); legacy guest legacy1 is reached only with its host-specific principals\"",
            "info: TGS_REQ 127.0.0.3: HOPGUARD_REGULAR_CRED_ON_LEGACY: authtime T, "
            f"{REFUSED} host/legacy1.hg.test@HG.TEST for host/legacy1.hg.test@HG.TEST, {POLICY}",
            f"info: TGS_REQ 127.0.0.2: ISSUE: authtime T, {ISSUED}, host/bastion.hg.test@HG.TEST "
            "for host/bastion.hg.test@HG.TEST",
        ])

    # ---- monitor mode, configuration, reload ---------------------------------------------

    def test_monitor_mode_issues_and_logs_would_deny(self):
        self.write_config('mode = "monitor"\n')
        with self.realm() as r:
            r.mark_log()
            cc = r.kinit("alice", iface=OUTSIDE)
            r.kvno("host/legacy1.hg.test", OUTSIDE, cc)
            lines = self.messages(r)
        self.assertEqual(lines, [
            f"info: AS_REQ 127.0.0.4: ISSUE: authtime T, {ISSUED}, alice@HG.TEST for "
            "krbtgt/HG.TEST@HG.TEST",
            "info: hopguard: verdict=would-deny rule=regular-cred-on-legacy exchange=tgs "
            "principal=alice@HG.TEST service=host/legacy1.hg.test@HG.TEST target=legacy1 "
            "mode=monitor " + REG_REASON,
            f"info: TGS_REQ 127.0.0.4: ISSUE: authtime T, {ISSUED}, alice@HG.TEST for "
            "host/legacy1.hg.test@HG.TEST",
        ])

    def test_broken_config_at_start_refuses_to_load(self):
        self.write_config(text='realm = "HG.TEST"\nbogus = 1\n')
        r = self.realm()
        with self.assertRaises(harness.RealmError) as ctx:
            r.start()
        self.assertFalse(r.kdc_running())
        lines = [harness.kdc_message(l) for l in r.log_lines()]
        c = self.config
        self.assertIn(f"Error: hopguard_kdcpolicy: cannot load site config {c}: {c}:2:1: bogus: "
                      f"unknown key; {c}: bastion: no [bastion.<name>] is configured - while "
                      "loading KDC policy plugin", lines)
        self.assertIn("krb5kdc exited with status 1", str(ctx.exception))

    def test_missing_config_at_start_refuses_to_load(self):
        os.unlink(self.config)
        r = self.realm()
        with self.assertRaises(harness.RealmError):
            r.start()
        lines = [harness.kdc_message(l) for l in r.log_lines()]
        self.assertTrue(any(l.startswith(f"Error: hopguard_kdcpolicy: cannot load site config "
                                         f"{self.config}: ") and "while loading KDC policy plugin"
                            in l for l in lines), lines)

    def test_config_lookup_kdc_conf_then_environment(self):
        other = os.path.join(self.tmp, "other.toml")
        with open(other, "w") as f:
            f.write(read(SITE) + '\n[kdc]\nmode = "monitor"\n')
        # [hopguard] config in kdc.conf wins over HOPGUARD_CONFIG ...
        r = self.realm(kdc_env={"HOPGUARD_CONFIG": other})
        with r:
            loaded = [l for l in map(harness.kdc_message, r.log_lines()) if "config loaded" in l]
        self.assertEqual(loaded, [f"info: hopguard: kdcpolicy config loaded config={self.config} "
                                  "mode=enforce require_bastion_addresses=false"])
        # ... and HOPGUARD_CONFIG is used without it.
        r.kdc_conf_extra = ""
        r.start_kdc()
        loaded = [l for l in map(harness.kdc_message, r.log_lines()) if "config loaded" in l]
        r.stop()
        self.assertEqual(loaded[-1], f"info: hopguard: kdcpolicy config loaded config={other} "
                                     "mode=monitor require_bastion_addresses=false")

    def test_default_config_path_when_nothing_names_one(self):
        if os.path.exists("/etc/hopguard/hopguard.toml"):
            self.skipTest("/etc/hopguard/hopguard.toml exists on this machine")
        r = self.realm(kdc_conf_extra="", kdc_env={})
        with self.assertRaises(harness.RealmError):
            r.start()
        self.assertTrue(any("cannot load site config /etc/hopguard/hopguard.toml: " in l
                            for l in r.log_lines()))

    def test_reload_on_change_keeps_last_good_policy(self):
        with self.realm() as r:
            cc = r.kinit("alice", iface=DESKTOP)
            r.mark_log()
            # A broken edit: the previous (enforcing) policy stays, and the error is logged once.
            self.write_config(text="realm = [\n")
            self.assert_refused(r.kvno("host/legacy1.hg.test", DESKTOP, cc, check=False),
                                "host/legacy1.hg.test@HG.TEST")
            lines = self.messages(r)
            rejected = [l for l in lines if "config rejected" in l]
            self.assertEqual(len(rejected), 1, lines)
            self.assertTrue(rejected[0].startswith(
                "info: hopguard: kdcpolicy config rejected, keeping the previous policy: "
                f"config={self.config} error: {self.config}:1:"), rejected[0])
            self.assertEqual(sum("HOPGUARD_REGULAR_CRED_ON_LEGACY" in l for l in lines), 2)
            # A good edit is picked up on the next request, without a restart.
            self.write_config('mode = "monitor"\n')
            r.kvno("host/legacy1.hg.test", DESKTOP, cc)
            lines = self.messages(r)
        self.assertEqual(lines[0], f"info: hopguard: kdcpolicy config reloaded config={self.config}"
                                   " mode=monitor require_bastion_addresses=false")
        self.assertTrue(lines[1].startswith("info: hopguard: verdict=would-deny "
                                            "rule=regular-cred-on-legacy"), lines)
        self.assertEqual(lines[2], f"info: TGS_REQ 127.0.0.5: ISSUE: authtime T, {ISSUED}, "
                                   "alice@HG.TEST for host/legacy1.hg.test@HG.TEST")

    # ---- check_as: special TGTs bound to bastion addresses --------------------------------

    def test_require_bastion_addresses(self):
        r = self.realm()
        r.start()
        # A client with noaddresses = false puts 127.0.0.<iface> (extra_addresses) AND this
        # machine's real non-loopback addresses in the ticket (socket_wrapper does not wrap
        # getifaddrs). A real bastion's config lists all its addresses; so does this one.
        def client_conf(iface):
            path = os.path.join(self.tmp, f"krb5-{iface}.conf")
            with open(path, "w") as f:
                f.write(read(r.krb5_conf) + "[libdefaults]\n    noaddresses = false\n"
                        f"    extra_addresses = 127.0.0.{iface}\n")
            return {"KRB5_CONFIG": path}
        probe = r.kinit("bob", iface=BASTION, env=client_conf(BASTION))
        listed = r.run(["klist", "-a"], BASTION, probe).stdout
        addresses = re.search(r"Addresses: (.*)", listed).group(1).split(", ")
        self.assertIn("127.0.0.2", addresses)
        site = read(SITE).replace('addresses = ["127.0.0.2"]', "addresses = [" + ", ".join(
            f'"{a}"' for a in addresses) + "]")
        self.write_config(text=site + "\n[kdc]\nrequire_bastion_addresses = true\n")
        r.add_principal("nfs/legacy1.hg.test")
        r.mark_log()

        # Default client (noaddresses = true): an address-less special TGT is refused.
        r.kinit("alice-legacy1", iface=BASTION, check=False)
        self.assertIn("KDC policy rejects request", r.last.stderr)
        # Bound to the bastion's addresses: issued, and usable from the bastion ...
        cc = r.kinit("alice-legacy1", iface=BASTION, env=client_conf(BASTION))
        r.kvno("host/legacy1.hg.test", BASTION, cc)
        # ... but not from elsewhere with the stolen cache (the KDC's own address check).
        stolen = os.path.join(self.tmp, "stolen.ccache")
        shutil.copy(cc, stolen)
        p = r.kvno("nfs/legacy1.hg.test", OUTSIDE, stolen, check=False)
        self.assertIn("Incorrect net address", p.stderr)
        # Asking from outside with outside's address: refused.
        r.kinit("alice-legacy1", iface=OUTSIDE, env=client_conf(OUTSIDE), check=False)
        self.assertIn("KDC policy rejects request", r.last.stderr)
        # Ordinary principals are not bound.
        r.kinit("alice", iface=DESKTOP)
        lines = [l for l in self.messages(r) if "AS_REQ" in l or "hopguard" in l]
        r.stop()
        self.assertEqual(lines[0], f"info: hopguard: kdcpolicy config reloaded config={self.config}"
                                   " mode=enforce require_bastion_addresses=true")
        self.assertEqual(lines[1], "info: hopguard: verdict=deny rule=special-cred-off-bastion "
                         "exchange=as principal=alice-legacy1@HG.TEST "
                         "service=krbtgt/HG.TEST@HG.TEST target=legacy1 mode=enforce "
                         "reason=\"initial ticket for host-specific principal alice-legacy1@HG.TEST"
                         " requested without addresses; [kdc] require_bastion_addresses needs "
                         "noaddresses = false on bastions\"")
        self.assertEqual(lines[2], "info: AS_REQ 127.0.0.2: HOPGUARD_SPECIAL_CRED_OFF_BASTION: "
                         f"alice-legacy1@HG.TEST for krbtgt/HG.TEST@HG.TEST, {POLICY}")
        self.assertEqual(lines[3], f"info: AS_REQ 127.0.0.2: ISSUE: authtime T, {ISSUED}, "
                         "alice-legacy1@HG.TEST for krbtgt/HG.TEST@HG.TEST")
        self.assertTrue(lines[4].startswith("info: hopguard: verdict=deny "
                                            "rule=special-cred-off-bastion exchange=as "
                                            "principal=alice-legacy1@HG.TEST"), lines[4])
        self.assertIn("127.0.0.4, which is not a bastion address", lines[4])
        self.assertEqual(lines[5], "info: AS_REQ 127.0.0.4: HOPGUARD_SPECIAL_CRED_OFF_BASTION: "
                         f"alice-legacy1@HG.TEST for krbtgt/HG.TEST@HG.TEST, {POLICY}")
        self.assertEqual(lines[6], f"info: AS_REQ 127.0.0.5: ISSUE: authtime T, {ISSUED}, "
                         "alice@HG.TEST for krbtgt/HG.TEST@HG.TEST")
        self.assertEqual(len(lines), 7, lines)

    # ---- the shared object itself --------------------------------------------------------

    def test_module_exports_only_its_entry_point_and_loads_with_now_binding(self):
        out = subprocess.run(["nm", "-D", "--defined-only", MODULE], capture_output=True,
                             text=True, check=True).stdout
        self.assertEqual([l.split()[-1] for l in out.splitlines() if l.strip()],
                         ["kdcpolicy_hopguard_initvt"])
        # dlopen(RTLD_NOW): every symbol resolves (the module is linked with -z defs).
        code = ("import ctypes, os, sys; "
                "h = ctypes.CDLL(sys.argv[1], mode=os.RTLD_NOW); "
                "print(bool(h.kdcpolicy_hopguard_initvt))")
        p = subprocess.run([sys.executable, "-c", code, MODULE], capture_output=True, text=True)
        self.assertEqual((p.returncode, p.stdout.strip()), (0, "True"), p.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 2 or not sys.argv[1].endswith(".so"):
        sys.exit("usage: test_kdcpolicy_kdc.py PATH/hopguard_kdcpolicy.so [unittest args]")
    MODULE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
