#!/usr/bin/env python3
"""Golden scenario against a real MIT KDC (tests/harness/realm.py under socket_wrapper).

Runs real kinit/kvno for the legitimate path and for every KDC row of DESIGN table 1 (rows 1,
2, 3, 4 and 7; rows 5 and 6 have no KDC evidence and are covered by the recorded sshd scenarios
next to this folder), then scans the KDC's real FILE: log with the built `hopguard scan --json`
and asserts the exact alarms: none for the legitimate path, one per row otherwise.

Then the cases of the red-team audit (rules/cases), each alone in its own log segment with its
exact alarms: enterprise names (kinit -E) off the bastion (row 3) and guessing with them (row 7),
guessing spread over two guests from one address (row 7),
a service ticket straight from the AS off the bastion (kinit -S, row 3), a two-component
principal (alice/admin) toward legacy1 (row 1), and a password change on the bastion
(kinit -S kadmin/changepw, no alarm).

With --kdcpolicy PATH (the built hopguard_kdcpolicy.so) a second realm loads hopguard's KDC
module, which refuses rows 1, 2 and 4 (status HOPGUARD_<RULE>): the same alarms must be raised
from the refusals, and the legitimate path must still pass without alarm.

Usage: test_real_kdc.py [--keep DIR] [--save-log FILE] [--kdcpolicy PATH]
  --save-log copies the KDC log (for recording scenario inputs; see README.md).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get("HOPGUARD_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUILD = os.environ.get("HOPGUARD_BUILD_DIR", os.path.join(SRC, "build"))
sys.path.insert(0, os.path.join(SRC, "tests", "harness"))
import realm as harness  # noqa: E402

CONFIG = os.path.join(SRC, "tests", "scanner", "data", "hopguard.toml")
B, L1, OUT, DESK, L2 = (harness.IFACE_BASTION, harness.IFACE_LEGACY1, harness.IFACE_OUTSIDE,
                        harness.IFACE_ADMIN_DESKTOP, harness.IFACE_LEGACY2)


def scan(log_path):
    p = subprocess.run([os.path.join(BUILD, "agent", "hopguard"), "scan", "--config", CONFIG, "--json", log_path],
                       capture_output=True, text=True, timeout=60)
    alarms = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    return p.returncode, alarms, p.stderr


def summary(a):
    h = a["hopguard"]
    return (a["rule"]["id"], h.get("principal", ""), h.get("target", ""), a.get("source", {}).get("ip", ""),
            h["count"])


def run_realm(work, failures, kdcpolicy=None, save_log=None):
    def check(what, cond, detail=""):
        tag = " [kdcpolicy]" if kdcpolicy else ""
        print(("ok   " if cond else "FAIL ") + what + tag)
        if not cond:
            failures.append(what + tag + ("\n" + detail if detail else ""))

    kw = {}
    if kdcpolicy:
        kw = dict(plugins={"kdcpolicy": [f"module = hopguard:{kdcpolicy}"]},
                  kdc_conf_extra=f"[hopguard]\n    config = {CONFIG}\n")
        # A sanitizer build of the module needs the sanitizer runtimes loaded first into the
        # (uninstrumented) krb5kdc, or the KDC silently skips the module.
        preload = os.environ.get("HOPGUARD_TEST_PRELOAD")
        if preload:
            kw["kdc_env"] = {"LD_PRELOAD": f"{preload}:{harness.find_socket_wrapper()}",
                             "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "detect_leaks=0")}
    with harness.Realm(work, **kw) as realm:
        # --- the legitimate path: only these lines in the first log segment ---
        realm.mark_log()
        alice_desk = realm.kinit("alice", iface=DESK)                        # desktop -> TGT
        realm.kvno("host/bastion.hg.test", DESK, alice_desk)                 # ticket for the bastion
        special_b = realm.kinit("alice-legacy1", iface=B)                    # special TGT on the bastion
        realm.kvno("host/legacy1.hg.test", B, special_b)                     # ticket for its own guest
        legit = realm.new_log_lines()
        legit_log = os.path.join(work, "legit.log")
        with open(legit_log, "w") as f:
            f.write("\n".join(legit) + "\n")
        rc, alarms, err = scan(legit_log)
        check("legitimate path: exit 0, no alarm", rc == 0 and alarms == [], f"rc={rc}\n{alarms}\n{err}")
        check("legitimate path: 6 KDC request lines decoded", "kdc                 6" in err, err)

        # --- every KDC row of table 1 ---
        # Row 1: alice's ordinary credential (copied to the bastion) asks for legacy1.
        realm.kvno("host/legacy1.hg.test", B, alice_desk, check=not kdcpolicy)
        # Row 2: the host-specific credential asks for the bastion itself.
        realm.kvno("host/bastion.hg.test", B, special_b, check=not kdcpolicy)
        # Row 4: the host-specific credential asks for another guest.
        realm.kvno("host/legacy2.hg.test", B, special_b, check=not kdcpolicy)
        # Row 3: the host-specific credential obtained from outside.
        realm.kinit("alice-legacy1", iface=OUT)
        # Row 7: five wrong passwords for a host-specific principal from outside.
        for _ in range(5):
            realm.kinit("alice-legacy1", "wrong", iface=OUT, check=False)
            check("wrong password refused", realm.last.returncode != 0)

        lines = realm.log_lines()
        if kdcpolicy:
            refusals = [l for l in lines if ": HOPGUARD_" in l]
            check("the module refused rows 1, 2 and 4", len(refusals) >= 3, "\n".join(lines[-30:]))
        rc, alarms, err = scan(realm.kdc_log)
        got = sorted(summary(a) for a in alarms)
        # kvno retries a refused TGS_REQ once, and each refusal is two lines: the module's
        # "hopguard: verdict=deny" record and the KDC's request line; all are evidence.
        n = 4 if kdcpolicy else 1
        want = sorted([
            ("regular-cred-on-legacy", "alice@HG.TEST", "legacy1", "127.0.0.2", n),
            ("special-cred-on-bastion", "alice-legacy1@HG.TEST", "bastion", "127.0.0.2", n),
            ("special-cred-wrong-target", "alice-legacy1@HG.TEST", "legacy2", "127.0.0.2", n),
            ("special-cred-off-bastion", "alice-legacy1@HG.TEST", "legacy1", "127.0.0.4", 1),
            ("special-cred-guessing", "alice-legacy1@HG.TEST", "legacy1", "127.0.0.4", 5),
        ])
        check("rows 1-4 and 7: exactly the expected alarms", got == want,
              "got:\n  " + "\n  ".join(map(str, got)) + "\nwant:\n  " + "\n  ".join(map(str, want)) + "\n" + err)
        check("exit 1 with alarms", rc == 1, f"rc={rc}")
        for a in alarms:
            ev = a["hopguard"]["evidence"]
            check(f"{a['rule']['id']}: evidence is the KDC's own lines",
                  all(e["source"] == "kdc" and " krb5kdc[" in e["line"] for e in ev), json.dumps(ev))
            check(f"{a['rule']['id']}: principal class",
                  a["hopguard"]["principal_class"] == ("regular" if a["rule"]["id"] == "regular-cred-on-legacy" else "special"))

        # --- cases of the red-team audit (rules/cases), each in its own log segment ---
        def segment(name, want, act, cls=None):
            """Runs act() alone in a fresh log segment, scans only that segment and asserts the
            exact alarms `want` (no alarm: exit 0; else exit 1 and the KDC's own lines as evidence).
            cls: the principal class (DESIGN section 4) the alarms name, by default that of the
            rule's usual principal."""
            realm.mark_log()
            act()
            seg = realm.new_log_lines()
            path = os.path.join(work, name + ".log")
            with open(path, "w") as f:
                f.write("\n".join(seg) + "\n")
            rc, alarms, err = scan(path)
            got = sorted(summary(a) for a in alarms)
            check(f"{name}: exactly the expected alarms", got == sorted(want),
                  "got:\n  " + "\n  ".join(map(str, got)) + "\nwant:\n  " + "\n  ".join(map(str, sorted(want)))
                  + "\nlog:\n  " + "\n  ".join(harness.kdc_message(l) for l in seg) + "\n" + err)
            check(f"{name}: exit {1 if want else 0}", rc == (1 if want else 0), f"rc={rc}\n{err}")
            for a in alarms:
                ev = a["hopguard"]["evidence"]
                check(f"{name}: evidence is the KDC's own lines",
                      all(e["source"] == "kdc" and " krb5kdc[" in e["line"] for e in ev), json.dumps(ev))
                # An incident of several principals (guessing) names none and so no class.
                want_cls = cls or ("regular" if a["rule"]["id"] == "regular-cred-on-legacy" else "special")
                check(f"{name}: principal class", a["hopguard"].get("principal_class") ==
                      (want_cls if a["hopguard"].get("principal") else None),
                      json.dumps(a["hopguard"].get("principal_class")))
            return seg

        def kinit_fails(principal, password, iface, args=()):
            realm.kinit(principal, password, iface=iface, args=args, check=False,
                        ccache=os.path.join(work, "ccache-refused"))
            check(f"kinit {' '.join([*args, principal])} from 127.0.0.{iface} refused", realm.last.returncode != 0,
                  realm.last.stdout + realm.last.stderr)

        # 1a. Enterprise names (kinit -E, NT-ENTERPRISE): the KDC logs the client as requested,
        # one component "alice-legacy1@HG.TEST" in realm HG.TEST. MIT 1.20's DB2 back end
        # resolves no enterprise name (no aliases), so a guess with it is CLIENT_NOT_FOUND:
        # five from outside are row 7 all the same.
        ent = "alice-legacy1@HG.TEST"
        ent_logged = "alice-legacy1\\@HG.TEST@HG.TEST"
        def enterprise_guessing():
            for _ in range(5):
                kinit_fails(ent, "wrong", OUT, ["-E"])
        segment("enterprise-guessing-unknown",
                [("special-cred-guessing", ent_logged, "legacy1", "127.0.0.4", 5)], enterprise_guessing)
        # 1b. A KDC that does resolve the enterprise name (LDAP alias, AD) issues the ticket and
        # logs it under that name. Under DB2 the same lookup succeeds when the one-component
        # principal of exactly that name exists: created here, then a real kinit -E from outside
        # gets a TGT -> row 3.
        realm.add_principal(ent_logged, realm.password(ent))  # as kadmin and the log spell it

        def kinit_enterprise():
            realm.kinit(ent, iface=OUT, args=["-E"], ccache=os.path.join(work, "ccache-enterprise"))
        segment("enterprise-off-bastion",
                [("special-cred-off-bastion", ent_logged, "legacy1", "127.0.0.4", 1)], kinit_enterprise)
        # 1c. Wrong passwords from outside, alternating the plain and the enterprise spelling of
        # the name, still add up to one guessing incident (threshold 5); it names no principal,
        # since the log names two.
        def mixed_guessing():
            for i in range(5):
                if i % 2:
                    kinit_fails(ent, "wrong", OUT, ["-E"])
                else:
                    kinit_fails("alice-legacy1", "wrong", OUT)
        segment("guessing-mixed-enterprise",
                [("special-cred-guessing", "", "legacy1", "127.0.0.4", 5)], mixed_guessing)

        # 1d. Guessing spread over two guests from one address, each guest below the threshold
        # (3 + 2 wrong passwords, one of them for a principal that does not exist): one incident
        # of that address over both guests; it names neither guest nor principal.
        def spread_guessing():
            for principal in ("alice-legacy1", "alice-legacy2", "alice-legacy1", "carol-legacy2", "bob-legacy1"):
                kinit_fails(principal, "wrong", OUT)
        segment("guessing-spread-over-guests",
                [("special-cred-guessing", "", "", "127.0.0.4", 5)], spread_guessing)

        # 2. An initial ticket for the guest's own service straight from the AS (kinit -S), from
        # outside a bastion: the same use of the password as a TGT -> row 3.
        segment("as-service-ticket-off-bastion",
                [("special-cred-off-bastion", "alice-legacy1@HG.TEST", "legacy1", "127.0.0.4", 1)],
                lambda: realm.kinit("alice-legacy1", iface=OUT, args=["-S", "host/legacy1.hg.test"],
                                    ccache=os.path.join(work, "ccache-as-service")))

        # 2b. The host-specific TGT obtained on the bastion, then copied off it and used from
        # outside (a stolen ccache, ssh -J bastion legacy1): the TGS request from outside is the
        # only evidence of it (the guest sees a login from the bastion) -> row 3. The kdcpolicy
        # module allows it (check_tgs is not given the client's address), so in both runs.
        def tgt_copied_off_bastion():
            tgt = realm.kinit("alice-legacy1", iface=B, ccache=os.path.join(work, "ccache-copied"))
            realm.kvno("host/legacy1.hg.test", OUT, tgt)
        segment("special-tgt-used-off-bastion",
                [("special-cred-off-bastion", "alice-legacy1@HG.TEST", "legacy1", "127.0.0.4", 1)],
                tgt_copied_off_bastion)

        # 3. A principal of two components (an admin instance; class "service" in DESIGN section 4)
        # is no host-specific credential: its ticket for legacy1 is row 1, and the module's
        # refusal raises the same alarm. (Its TGT on the admin desktop is in the segment too and
        # raises none.)
        realm.add_principal("alice/admin", realm.password("alice/admin"))

        def two_component():
            admin_desk = realm.kinit("alice/admin", iface=DESK)
            realm.kvno("host/legacy1.hg.test", B, admin_desk, check=not kdcpolicy)
        seg = segment("two-component-on-legacy",
                      [("regular-cred-on-legacy", "alice/admin@HG.TEST", "legacy1", "127.0.0.2", n)],
                      two_component, cls="service")
        if kdcpolicy:
            check("two-component-on-legacy: the module refused it",
                  any(": HOPGUARD_REGULAR_CRED_ON_LEGACY: " in l for l in seg), "\n".join(seg))

        # 4. A password change on the bastion (kpasswd asks the AS for kadmin/changepw with the
        # old password): neither row 4 nor row 3, and the module lets it through.
        def changepw():
            realm.kinit("alice-legacy1", iface=B, args=["-S", "kadmin/changepw"], check=False,
                        ccache=os.path.join(work, "ccache-changepw"))
            check("kinit -S kadmin/changepw alice-legacy1 on the bastion succeeds", realm.last.returncode == 0,
                  realm.last.stdout + realm.last.stderr)
        segment("changepw-on-bastion", [], changepw)

        if save_log:
            shutil.copy(realm.kdc_log, save_log)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep")
    ap.add_argument("--save-log")
    ap.add_argument("--kdcpolicy")
    args = ap.parse_args()
    work = args.keep or tempfile.mkdtemp(prefix="hg-real-kdc-")
    failures = []
    run_realm(os.path.join(work, "plain"), failures, save_log=args.save_log)
    if args.kdcpolicy:
        run_realm(os.path.join(work, "kdcpolicy"), failures, kdcpolicy=os.path.abspath(args.kdcpolicy))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("\n".join(["", "FAILURES:"] + failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
