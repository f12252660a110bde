"""hopguardd behind a REAL rsyslogd: a real krb5kdc (tests/harness) writes its FILE: log while
the legitimate path and each misuse are played with real kinit/kvno; rsyslogd (started here
with its own config, `rsyslogd -n -f CONF -i PIDFILE`, own work directory) reads that log with
imfile and forwards it with omfwd in RSYSLOG_SyslogProtocol23Format - octet-counted TCP, LF
TCP, or UDP - to hopguardd, which must raise exactly the expected alarms."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from daemon_harness import Daemon  # noqa: E402
import kdc_scenario  # noqa: E402
from kdc_scenario import harness  # noqa: E402

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"


def rsyslog_conf(workdir, kdc_log, port, protocol, framing):
    action = (f'action(type="omfwd" target="127.0.0.1" port="{port}" protocol="{protocol}" '
              f'template="RSYSLOG_SyslogProtocol23Format"')
    if protocol == "tcp":
        action += f' TCP_Framing="{framing}"'
    action += (' queue.type="LinkedList" queue.filename="fwd" queue.saveOnShutdown="on"'
               ' action.resumeRetryCount="-1" action.resumeInterval="1")')
    return f"""global(workDirectory="{workdir}" maxMessageSize="64k")
module(load="imfile" mode="polling" PollingInterval="1")
input(type="imfile" File="{kdc_log}" Tag="krb5kdc" ruleset="forward" freshStartTail="off")
ruleset(name="forward") {{
  {action}
}}
"""


class RsyslogForwarding(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="hg-rsyslog-")
        realm_dir = os.path.join(cls.tmp.name, "realm")
        with harness.Realm(realm_dir) as realm:
            cls.steps = kdc_scenario.play(realm)
            time.sleep(0.5)
            with open(realm.kdc_log) as f:
                cls.kdc_lines = f.read()
        cls.expected = kdc_scenario.expected_alarms(cls.steps)
        assert len(cls.expected) == 5, cls.expected  # rows 1, 2, 3, 4 and 7

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def run_chain(self, name, listen, protocol, framing):
        work = os.path.join(self.tmp.name, name)
        os.makedirs(os.path.join(work, "rsyslog"))
        kdc_log = os.path.join(work, "krb5kdc.log")
        with open(kdc_log, "w") as f:
            f.write(self.kdc_lines)  # the real KDC's lines, as the KDC wrote them
        # The window must hold the whole scenario step (six kinit attempts take seconds on a
        # loaded machine): one incident per step, whatever the speed.
        d = Daemon(work, listen=[listen], window_seconds=15).start()
        rsyslog = None
        try:
            port = d.addresses(protocol)[0][1]
            conf = os.path.join(work, "rsyslog.conf")
            with open(conf, "w") as f:
                f.write(rsyslog_conf(os.path.join(work, "rsyslog"), kdc_log, port, protocol, framing))
            pidfile = os.path.join(work, "rsyslogd.pid")
            with open(os.path.join(work, "rsyslogd.err"), "w") as err:
                rsyslog = subprocess.Popen([RSYSLOGD, "-n", "-f", conf, "-i", pidfile],
                                           stdout=subprocess.DEVNULL, stderr=err)
            want = self.expected

            def done(alarms):
                return sorted((a["rule"]["id"], a["hopguard"]["principal"]) for a in alarms) == want
            try:
                d.wait_alarms(done, timeout=60)
            except AssertionError:
                raise AssertionError("rsyslogd stderr:\n" + open(os.path.join(work, "rsyslogd.err")).read()
                                     + "\nalarms: " + repr(sorted((a["rule"]["id"], a["hopguard"]["principal"])
                                                                  for a in d.alarms()))
                                     + f"\nwanted: {want}")
            time.sleep(3)  # nothing more may come (no duplicates, nothing for the legitimate path)
            alarms = d.alarms()
            self.assertTrue(done(alarms), alarms)
            for a in alarms:
                self.assertEqual(a["event"]["kind"], "alert")
                ev = a["hopguard"]["evidence"][0]
                self.assertEqual(ev["source"], "kdc")
                self.assertIn("krb5kdc[", ev["line"])  # the inner KDC line, unwrapped
            self.assertTrue(d.find_log(r"event=peer-connected peer=127\.0\.0\.1") or protocol == "udp")
        finally:
            if rsyslog:
                rsyslog.send_signal(signal.SIGTERM)
                rsyslog.wait(20)
            self.assertEqual(d.stop(), 0)
        return alarms

    def test_octet_counted_tcp(self):
        alarms = self.run_chain("octet", "tcp://127.0.0.1:0", "tcp", "octet-counted")
        by_rule = {a["rule"]["id"]: a for a in alarms}
        self.assertEqual(by_rule["special-cred-off-bastion"]["source"]["ip"], "127.0.0.4")
        self.assertEqual(by_rule["regular-cred-on-legacy"]["hopguard"]["target"], "legacy1")

    def test_lf_framed_tcp(self):
        self.run_chain("lf", "tcp://127.0.0.1:0", "tcp", "traditional")

    def test_udp(self):
        self.run_chain("udp", "udp://127.0.0.1:0", "udp", None)


class HostRecordForwarding(unittest.TestCase):
    """A host's own sshd/PAM records as rsyslog forwards them: a program logs through a local
    socket (imuxsock, as /dev/log on a host), rsyslogd forwards in RSYSLOG_SyslogProtocol23Format
    over octet-counted TCP. rsyslog keeps the space after "TAG:" in MSG, so the frame's message
    is " pam_hopguard(...": the shipped snippet (etc/rsyslog.d/60-hopguard-forward.conf) sends
    exactly this."""

    def test_sshd_and_pam_records_through_imuxsock(self):
        with tempfile.TemporaryDirectory(prefix="hg-rsyslog-host-") as work:
            d = Daemon(work, listen=["tcp://127.0.0.1:0"], window_seconds=2, skew_seconds=1).start()
            rsyslog = None
            try:
                port = d.addresses("tcp")[0][1]
                sock = os.path.join(work, "legacy1.sock")
                conf = os.path.join(work, "rsyslog.conf")
                os.makedirs(os.path.join(work, "rsyslog"))
                with open(conf, "w") as f:
                    f.write(f'''global(workDirectory="{work}/rsyslog")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{sock}" HostName="legacy1" Ruleset="forward" RateLimit.Interval="0")
ruleset(name="forward") {{
  action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp" TCP_Framing="octet-counted"
         template="RSYSLOG_SyslogProtocol23Format" queue.type="LinkedList"
         action.resumeRetryCount="-1" action.resumeInterval="1")
}}
''')
                with open(os.path.join(work, "rsyslogd.err"), "w") as err:
                    rsyslog = subprocess.Popen([RSYSLOGD, "-n", "-f", conf, "-i", os.path.join(work, "pid")],
                                               stdout=subprocess.DEVNULL, stderr=err)
                deadline = time.monotonic() + 10
                while not os.path.exists(sock) and time.monotonic() < deadline:
                    time.sleep(0.05)
                # The record pam_hopguard wrote for a real row-5 login (tests/sshd/recorded/).
                record = ('pam_hopguard(sshd:account): verdict=deny rule=legacy-login-not-via-bastion '
                          'role=legacy host=legacy1 user=alice principal="" rhost=127.0.0.4 stage=account '
                          'reason="login from 127.0.0.4, which is not a bastion"')
                subprocess.run(["logger", "-u", sock, "--socket-errors=on", "-t", "sshd", "--id=4242",
                                "-p", "authpriv.notice", record], check=True)
                alarms = d.wait_alarms(lambda a: len(a) >= 1, timeout=20)
                self.assertEqual([(a["rule"]["id"], a["hopguard"]["target"], a["source"]["ip"])
                                  for a in alarms],
                                 [("legacy-login-not-via-bastion", "legacy1", "127.0.0.4")])
            finally:
                if rsyslog:
                    rsyslog.send_signal(signal.SIGTERM)
                    rsyslog.wait(20)
                d.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
