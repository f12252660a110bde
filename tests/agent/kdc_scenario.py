"""The legitimate path and each KDC-visible misuse (DESIGN table 1, rows 1-4 and 7), played
with real kinit/kvno against a real krb5kdc (tests/harness/realm.py). Used by the rsyslog test
and by scripts/demo. Returns what was played and the alarm each step must raise (or none)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
import realm as harness  # noqa: E402

B, L1, OUT, DESK = (harness.IFACE_BASTION, harness.IFACE_LEGACY1, harness.IFACE_OUTSIDE,
                    harness.IFACE_ADMIN_DESKTOP)


def play(realm):
    """Runs every step; returns [(description, rule id or None, principal)]."""
    steps = []

    def step(what, rule, principal):
        steps.append((what, rule, principal))

    # The legitimate path: alice@ from her desktop to the bastion, then alice-legacy1@ obtained
    # ON the bastion toward legacy1.
    cc = realm.kinit("alice", iface=DESK)
    realm.kvno("host/bastion.hg.test", DESK, cc)
    ccb = realm.kinit("alice-legacy1", iface=B)
    realm.kvno("host/legacy1.hg.test", B, ccb)
    step("legitimate: alice@ desktop -> bastion, alice-legacy1@ bastion -> legacy1", None,
         "alice@HG.TEST")
    # Row 1: the ordinary credential toward a legacy guest.
    realm.kvno("host/legacy1.hg.test", DESK, cc, check=False)
    step("row 1: alice@ asks for host/legacy1", "regular-cred-on-legacy", "alice@HG.TEST")
    # Row 2: the host-specific credential used toward the bastion.
    realm.kvno("host/bastion.hg.test", B, ccb, check=False)
    step("row 2: alice-legacy1@ asks for host/bastion", "special-cred-on-bastion",
         "alice-legacy1@HG.TEST")
    # Row 4: the host-specific credential toward another legacy guest.
    realm.kvno("host/legacy2.hg.test", B, ccb, check=False)
    step("row 4: alice-legacy1@ asks for host/legacy2", "special-cred-wrong-target",
         "alice-legacy1@HG.TEST")
    # Row 3: bob-legacy1@ obtained off the bastion (from an outside system).
    realm.kinit("bob-legacy1", iface=OUT, check=False)
    step("row 3: bob-legacy1@ kinit from 127.0.0.4", "special-cred-off-bastion",
         "bob-legacy1@HG.TEST")
    # Row 7: guessing the password of a host-specific principal (bastion, so not row 3).
    for _ in range(6):
        realm.kinit("alice-legacy2", "guess", iface=B, check=False)
    step("row 7: six wrong passwords for alice-legacy2@", "special-cred-guessing",
         "alice-legacy2@HG.TEST")
    return steps


def expected_alarms(steps):
    return sorted((rule, principal) for _, rule, principal in steps if rule)
