#!/usr/bin/env python3
"""hopguard_kdcpolicy.so inside krb5kdc under valgrind memcheck: no invalid access and no leak
whose stack passes through the module, over start-up, allowed and refused TGS and AS requests,
a rejected and an accepted reload, monitor mode and shutdown.

Usage: test_kdcpolicy_valgrind.py PATH/hopguard_kdcpolicy.so
Skipped when valgrind is missing or the module is built with AddressSanitizer (the two do not
mix; the ASan build checks the module in-process instead).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "harness"))
import realm as harness  # noqa: E402

MODULE = None
OUR_FRAME = re.compile(r"hopguard_kdcpolicy\.so|kdcpolicy_module\.cpp|ticket_decision\.cpp|"
                       r"hopguard::|\(anonymous namespace\)::hg_|/policy/[a-z_]+\.cpp")


def built_with_asan(path):
    out = subprocess.run(["nm", "-D", path], capture_output=True, text=True).stdout
    return "__asan_" in out


class KdcPolicyUnderMemcheck(unittest.TestCase):
    def test_no_error_or_leak_through_the_module(self):
        if shutil.which("valgrind") is None:
            self.skipTest("valgrind not installed")
        if built_with_asan(MODULE):
            self.skipTest("module built with AddressSanitizer")
        tmp = tempfile.mkdtemp(prefix="hg-kdcpolicy-vg-")
        self.addCleanup(shutil.rmtree, tmp, True)
        config = os.path.join(tmp, "hopguard.toml")
        with open(os.path.join(HERE, "data", "site.toml")) as f:
            site = f.read()

        def write(text):
            old = os.stat(config).st_mtime_ns if os.path.exists(config) else 0
            with open(config, "w") as f:
                f.write(text)
            st = os.stat(config)
            if st.st_mtime_ns <= old:
                os.utime(config, ns=(st.st_atime_ns, old + 1_000_000))

        write(site)
        vglog = os.path.join(tmp, "valgrind.log")
        r = harness.Realm(os.path.join(tmp, "realm"),
                          plugins={"kdcpolicy": [f"module = hopguard:{MODULE}"]},
                          kdc_conf_extra=f"[hopguard]\n    config = {config}\n",
                          kdc_wrapper=["valgrind", "--tool=memcheck", "--leak-check=full",
                                       "--show-leak-kinds=definite,indirect",
                                       "--num-callers=40", f"--log-file={vglog}"])
        r.start(wait_timeout=120)
        try:
            cc = r.kinit("alice", iface=harness.IFACE_ADMIN_DESKTOP)
            r.kvno("host/bastion.hg.test", harness.IFACE_ADMIN_DESKTOP, cc)
            self.assertNotEqual(r.kvno("host/legacy1.hg.test", harness.IFACE_ADMIN_DESKTOP, cc,
                                       check=False).returncode, 0)
            special = r.kinit("alice-legacy1", iface=harness.IFACE_BASTION)
            r.kvno("host/legacy1.hg.test", harness.IFACE_BASTION, special)
            r.kinit("alice", iface=harness.IFACE_OUTSIDE, args=["-S", "host/legacy1.hg.test"],
                    check=False)
            write("realm = [\n")  # rejected reload: the previous policy stays
            self.assertNotEqual(r.kvno("host/legacy2.hg.test", harness.IFACE_BASTION, special,
                                       check=False).returncode, 0)
            write(site + '\n[kdc]\nmode = "monitor"\n')  # accepted reload
            r.kvno("host/legacy2.hg.test", harness.IFACE_BASTION, special)
            log = "\n".join(r.log_lines())
        finally:
            r.stop()
        self.assertIn("hopguard: kdcpolicy config loaded", log)
        self.assertIn("config rejected, keeping the previous policy", log)
        self.assertIn("hopguard: kdcpolicy config reloaded", log)
        self.assertIn("verdict=would-deny", log)
        with open(vglog) as f:
            report = f.read()
        self.assertIn("ERROR SUMMARY", report, "valgrind did not finish (KDC killed?)")
        # Each valgrind record is a block of "==PID== " lines separated by an empty one.
        blocks = re.split(r"\n==\d+== \n", report)
        # A frame in the module shows its source file and function (hopguard::..., hg_*) when
        # it has debug information, and the .so's name when it has none.
        ours = [b for b in blocks if OUR_FRAME.search(b) and
                ("Invalid" in b or "uninitialised" in b or "definitely lost" in b or
                 "indirectly lost" in b or "Mismatched" in b or "overlap" in b)]
        self.assertEqual(ours, [], "\n\n".join(ours))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_kdcpolicy_valgrind.py MODULE.so [unittest args]")
    MODULE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
