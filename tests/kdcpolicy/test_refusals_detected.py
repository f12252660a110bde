#!/usr/bin/env python3
"""Refused attempts are still footprints: the scanner raises the DESIGN rule ids for them.

A real krb5kdc with hopguard_kdcpolicy.so (enforce) serves the legitimate path and four misuses,
all refused by the module; `hopguard scan --json` over the KDC's own FILE: log must raise exactly
one alarm per misuse, with the rule id of DESIGN section 5, and none for the legitimate path.

Usage: test_refusals_detected.py PATH/hopguard_kdcpolicy.so PATH/hopguard
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "harness"))
import realm as harness  # noqa: E402

MODULE = HOPGUARD = None  # from argv


class RefusalsDetected(unittest.TestCase):
    def test_every_refused_misuse_raises_its_rule(self):
        tmp = tempfile.mkdtemp(prefix="hg-kdcpolicy-scan-")
        self.addCleanup(shutil.rmtree, tmp, True)
        config = os.path.join(tmp, "hopguard.toml")
        with open(os.path.join(HERE, "data", "site.toml")) as f:
            site = f.read()
        with open(config, "w") as f:
            f.write(site)
        with harness.Realm(os.path.join(tmp, "realm"),
                           plugins={"kdcpolicy": [f"module = hopguard:{MODULE}"]},
                           kdc_conf_extra=f"[hopguard]\n    config = {config}\n") as r:
            # The legitimate path: no alarm.
            cc = r.kinit("alice", iface=harness.IFACE_ADMIN_DESKTOP)
            r.kvno("host/bastion.hg.test", harness.IFACE_ADMIN_DESKTOP, cc)
            special = r.kinit("alice-legacy1", iface=harness.IFACE_BASTION)
            r.kvno("host/legacy1.hg.test", harness.IFACE_BASTION, special)
            # Row 1: alice's credential toward legacy1, from outside.
            cc = r.kinit("alice", iface=harness.IFACE_OUTSIDE)
            self.assertNotEqual(
                r.kvno("host/legacy1.hg.test", harness.IFACE_OUTSIDE, cc, check=False).returncode, 0)
            # Rows 2 and 4: the special credential toward the bastion and toward legacy2.
            for service in ("host/bastion.hg.test", "host/legacy2.hg.test"):
                self.assertNotEqual(
                    r.kvno(service, harness.IFACE_BASTION, special, check=False).returncode, 0)
            # Row 3: with require_bastion_addresses, the special TGT asked from outside.
            with open(config, "w") as f:
                f.write(site + "\n[kdc]\nrequire_bastion_addresses = true\n")
            r.kinit("alice-legacy1", iface=harness.IFACE_OUTSIDE, check=False)
            self.assertIn("KDC policy rejects request", r.last.stderr)
            log = r.kdc_log
            p = subprocess.run([HOPGUARD, "scan", "--config", config, "--json", log],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)  # 1: alarms
        alarms = [json.loads(l) for l in p.stdout.splitlines()]
        got = sorted((a["rule"]["id"], a["hopguard"]["principal"], a["hopguard"]["target"],
                      a["source"]["ip"], a["hopguard"]["count"]) for a in alarms)
        self.assertEqual(got, [
            # Each refusal is two KDC lines, the module's record and the KDC's request line, and
            # kvno asks twice for a refused ticket: four evidence lines, one incident.
            ("regular-cred-on-legacy", "alice@HG.TEST", "legacy1", "127.0.0.4", 4),
            ("special-cred-off-bastion", "alice-legacy1@HG.TEST", "legacy1", "127.0.0.4", 2),
            ("special-cred-on-bastion", "alice-legacy1@HG.TEST", "bastion", "127.0.0.2", 4),
            ("special-cred-wrong-target", "alice-legacy1@HG.TEST", "legacy2", "127.0.0.2", 4),
        ])
        for a in alarms:
            rule = a["rule"]["id"]
            status = "HOPGUARD_" + rule.upper().replace("-", "_")
            kinds = []
            for e in a["hopguard"]["evidence"]:
                self.assertEqual(e["source"], "kdc")
                if f": {status}: " in e["line"]:
                    kinds.append("request")
                else:
                    self.assertIn(f"(info): hopguard: verdict=deny rule={rule} ", e["line"])
                    kinds.append("record")
            # The module logs its record just before the KDC logs the refused request.
            self.assertEqual(kinds, ["record", "request"] * (a["hopguard"]["count"] // 2))


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: test_refusals_detected.py MODULE.so HOPGUARD [unittest args]")
    MODULE = os.path.abspath(sys.argv.pop(1))
    HOPGUARD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
