"""hopguardd state across crashes and rotation: kill -9 while a tailed KDC log grows and is
rotated (by rename and by copytruncate) - after restart every expected alarm is present exactly
once. Real binary, real files, real signals."""
import collections
import os
import random
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, tgs, noise  # noqa: E402


class Writer:
    """Appends misuse lines (one distinct principal each, row 1) among noise, like a KDC."""

    def __init__(self, path):
        self.path = path
        self.f = open(path, "a")
        self.n = 0
        self.expected = []

    def batch(self, misuses, noise_per_misuse=30):
        for _ in range(misuses):
            for j in range(noise_per_misuse):
                self.f.write(noise(j) + "\n")
            principal = f"user{self.n}@HG.TEST"
            self.n += 1
            self.expected.append(principal)
            self.f.write(tgs(principal, "host/legacy1.hg.test@HG.TEST") + "\n")
        self.f.flush()

    def rotate_by_rename(self, suffix):
        # logrotate without copytruncate: rename, the KDC keeps writing to the old file for a
        # moment, then reopens the path.
        os.rename(self.path, self.path + suffix)
        self.batch(3)
        self.f.close()
        self.f = open(self.path, "a")

    def copytruncate(self, suffix):
        self.f.flush()
        shutil.copyfile(self.path, self.path + suffix)
        os.truncate(self.path, 0)
        self.f.seek(0)


class Durability(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="hg-durability-")
        self.log = os.path.join(self.tmp.name, "krb5kdc.log")
        open(self.log, "w").close()

    def tearDown(self):
        if getattr(self, "d", None):
            self.d.stop()
        self.tmp.cleanup()

    def assert_exactly_once(self, d, expected):
        def complete(alarms):
            return set(a["hopguard"]["principal"] for a in alarms) >= set(expected)
        try:
            d.wait_alarms(complete, timeout=60)
        except AssertionError:
            have = set(a["hopguard"]["principal"] for a in d.alarms())
            missing = [p for p in expected if p not in have]
            self.fail(f"missing alarms for {missing} (of {len(expected)});\nlog:\n" + d.log_text(0))
        time.sleep(2.5)  # anything late (a duplicate) would show up now
        got = collections.Counter(a["hopguard"]["principal"] for a in d.alarms())
        dupes = {p: n for p, n in got.items() if n != 1}
        self.assertEqual(dupes, {}, "alarms written more than once")
        self.assertEqual(sorted(got), sorted(expected))

    def test_kill9_during_growth_and_rename_rotation(self):
        rnd = random.Random(6)
        w = Writer(self.log)
        d = self.d = Daemon(self.tmp.name, tail=[self.log])
        for cycle in range(6):
            d.start()
            w.batch(rnd.randint(5, 25))
            if cycle in (1, 3):
                w.rotate_by_rename(f".{cycle}")  # while running
            time.sleep(rnd.uniform(0.0, 1.5))
            d.kill9()
            w.batch(rnd.randint(1, 10))  # while down
            if cycle in (2, 4):
                w.rotate_by_rename(f".down{cycle}")  # while down: restart finds the renamed file
        d.start()
        w.batch(5)
        self.assert_exactly_once(d, w.expected)
        self.assertTrue(d.find_log(r"event=tail-resume", start=0))
        self.assertTrue(d.find_log(r"event=tail-resume-rotated", start=0))
        self.assertTrue(d.find_log(r"event=tail-rotated", start=0))

    def test_kill9_and_copytruncate(self):
        w = Writer(self.log)
        d = self.d = Daemon(self.tmp.name, tail=[self.log])
        d.start()
        w.batch(10)
        d.wait_alarms(lambda a: len(a) >= 10, timeout=30)
        time.sleep(0.5)
        w.copytruncate(".1")      # read up to date, then truncated: the rest is a new file
        w.batch(8)
        time.sleep(0.7)
        d.kill9()
        w.batch(4)
        d.start()
        w.batch(3)
        self.assert_exactly_once(d, w.expected)
        self.assertTrue(d.find_log(r"event=tail-truncated", start=0))

    def test_sigterm_keeps_open_incidents_for_the_next_start(self):
        # A long window: the incident is still open at SIGTERM; it is persisted, not lost and
        # not closed early, and its alarm appears after restart with all its evidence.
        w = Writer(self.log)
        d = self.d = Daemon(self.tmp.name, tail=[self.log], window_seconds=4)
        d.start()
        w.f.write(tgs("alice@HG.TEST", "host/legacy1.hg.test@HG.TEST") + "\n")
        w.f.flush()
        time.sleep(1.0)
        self.assertEqual(d.stop(), 0)
        self.assertEqual(d.alarms(), [])
        self.assertTrue(d.find_log(r"event=scan-stopped frames=1 open_incidents=1"))
        d.start()
        self.assertTrue(d.find_log(r"event=checkpoint-restored open_incidents=1"))
        w.f.write(tgs("alice@HG.TEST", "host/legacy1.hg.test@HG.TEST") + "\n")
        w.f.flush()
        alarms = d.wait_alarms(lambda a: len(a) >= 1, timeout=30)
        time.sleep(1.0)
        alarms = d.alarms()
        self.assertEqual(len(alarms), 1)
        self.assertEqual(alarms[0]["hopguard"]["count"], 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
