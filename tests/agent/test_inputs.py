"""hopguardd inputs against the real binary: TCP (octet-counted and LF, IPv4 and IPv6), UDP,
a tailed file, the peer allow-list, hostile framing, and the log lines that report them."""
import os
import socket
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, rule_ids, send_tcp, stamp, syslog_frame, tgs, as_req, noise  # noqa: E402

LISTEN = ["tcp://127.0.0.1:0", "udp://127.0.0.1:0", "tcp://[::1]:0"]


class Inputs(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="hg-inputs-")
        self.kdc_log = os.path.join(self.tmp.name, "krb5kdc.log")
        open(self.kdc_log, "w").close()

    def tearDown(self):
        if getattr(self, "d", None):
            self.d.stop()
        self.tmp.cleanup()

    def start(self, **kw):
        kw.setdefault("listen", LISTEN)
        kw.setdefault("tail", [self.kdc_log])
        self.d = Daemon(self.tmp.name, **kw).start()
        return self.d

    def test_every_input_kind_reaches_the_engine(self):
        d = self.start()
        tcp4, tcp6 = d.addresses("tcp")
        (udp,) = d.addresses("udp")
        self.assertEqual(tcp6[0], "::1")
        # Row 1 over TCP octet-counted (IPv4), row 2 over TCP LF (IPv6), row 3 over UDP,
        # row 4 from the tailed file; each with a distinct principal.
        send_tcp(tcp4, [syslog_frame(noise(1)),
                        syslog_frame(tgs("alice@HG.TEST", "host/legacy1.hg.test@HG.TEST"))])
        send_tcp(tcp6, [syslog_frame(tgs("bob-legacy1@HG.TEST", "host/bastion.hg.test@HG.TEST"))],
                 octet_counted=False)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.sendto(syslog_frame(as_req("alice-legacy1@HG.TEST", "krbtgt/HG.TEST@HG.TEST",
                                     "127.0.0.4")).encode(), udp)
        u.close()
        with open(self.kdc_log, "a") as f:
            f.write(tgs("alice-legacy2@HG.TEST", "host/legacy1.hg.test@HG.TEST") + "\n")
        alarms = d.wait_alarms(lambda a: len(a) >= 4)
        self.assertEqual(rule_ids(alarms), ["regular-cred-on-legacy", "special-cred-off-bastion",
                                            "special-cred-on-bastion", "special-cred-wrong-target"])
        by_rule = {a["rule"]["id"]: a for a in alarms}
        self.assertEqual(by_rule["regular-cred-on-legacy"]["hopguard"]["principal"], "alice@HG.TEST")
        self.assertEqual(by_rule["special-cred-on-bastion"]["hopguard"]["principal"],
                         "bob-legacy1@HG.TEST")
        self.assertEqual(by_rule["special-cred-off-bastion"]["source"]["ip"], "127.0.0.4")
        self.assertEqual(d.stop(), 0)
        self.assertTrue(d.find_log(r"event=stopped"))
        self.assertEqual(len(d.alarms()), 4)

    def test_a_record_without_hostname_is_the_senders(self):
        # An old guest's syslogd forwards "<38>sshd[400]: ..." without a HOSTNAME: the peer's
        # address (here legacy1's, 127.0.0.3) names the host, as rsyslog fills it in; before,
        # such a login had no target and raised nothing.
        d = self.start()
        (udp,) = d.addresses("udp")
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.3", 0))
        u.sendto(b"<38>sshd[400]: Accepted password for alice from 127.0.0.9 port 2222 ssh2", udp)
        u.close()
        alarms = d.wait_alarms(lambda a: len(a) >= 1)
        self.assertEqual(rule_ids(alarms), ["legacy-login-not-via-bastion"])
        self.assertEqual(alarms[0]["hopguard"]["target"], "legacy1")
        self.assertEqual(alarms[0]["source"]["ip"], "127.0.0.9")
        self.assertEqual(alarms[0]["hopguard"]["evidence"][0]["host"], "127.0.0.3")
        self.assertEqual(d.stop(), 0)

    def test_legitimate_path_raises_nothing(self):
        d = self.start()
        tcp4 = d.addresses("tcp")[0]
        send_tcp(tcp4, [syslog_frame(as_req("alice@HG.TEST", "krbtgt/HG.TEST@HG.TEST", "127.0.0.5")),
                        syslog_frame(tgs("alice@HG.TEST", "host/bastion.hg.test@HG.TEST", "127.0.0.5")),
                        syslog_frame(as_req("alice-legacy1@HG.TEST", "krbtgt/HG.TEST@HG.TEST", "127.0.0.2")),
                        syslog_frame(tgs("alice-legacy1@HG.TEST", "host/legacy1.hg.test@HG.TEST")),
                        syslog_frame(tgs("alice-legacy1@HG.TEST", "krbtgt/HG.TEST@HG.TEST"))])
        # A canary after the legitimate lines proves they were all scanned.
        send_tcp(tcp4, [syslog_frame(tgs("canary@HG.TEST", "host/legacy1.hg.test@HG.TEST"))])
        alarms = d.wait_alarms(lambda a: len(a) >= 1)
        time.sleep(1.5)
        alarms = d.alarms()
        self.assertEqual([a["hopguard"]["principal"] for a in alarms], ["canary@HG.TEST"])

    def test_peer_outside_allow_list_is_refused_and_logged(self):
        d = self.start(agent_extra='allowed_peers = ["127.0.0.1/32"]\n')
        tcp4 = d.addresses("tcp")[0]
        (udp,) = d.addresses("udp")
        send_tcp(tcp4, [syslog_frame(tgs("mallory@HG.TEST", "host/legacy1.hg.test@HG.TEST"))],
                 source="127.0.0.9")
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.9", 0))
        u.sendto(syslog_frame(tgs("mallory2@HG.TEST", "host/legacy1.hg.test@HG.TEST")).encode(), udp)
        u.close()
        d.wait_log(r"event=peer-refused peer=127\.0\.0\.9 listener=tcp://127\.0\.0\.1:\d+")
        d.wait_log(r"event=peer-refused peer=127\.0\.0\.9 listener=udp://127\.0\.0\.1:\d+")
        send_tcp(tcp4, [syslog_frame(tgs("alice@HG.TEST", "host/legacy1.hg.test@HG.TEST"))],
                 source="127.0.0.1")
        alarms = d.wait_alarms(lambda a: len(a) >= 1)
        time.sleep(1.5)
        self.assertEqual([a["hopguard"]["principal"] for a in d.alarms()], ["alice@HG.TEST"])

    def test_hostile_framing_is_reported_and_nothing_stalls(self):
        d = self.start(agent_extra="max_frame_bytes = 1024\n")
        tcp4 = d.addresses("tcp")[0]
        # An octet count far beyond max_frame_bytes, then an over-long LF frame, then a frame
        # with NUL and LF bytes inside an octet-counted message.
        s = socket.create_connection(tcp4)
        s.sendall(b"99999999 " + b"x" * 5000)
        s.close()
        send_tcp(tcp4, [b"<13>" + b"y" * 5000], octet_counted=False)
        hostile = syslog_frame(tgs("eve@HG.TEST", "host/legacy1.hg.test@HG.TEST")).encode()
        send_tcp(tcp4, [b"<13>Nov  1 00:00:00 h sshd[1]: a\x00b\nc", hostile])
        d.wait_log(r"event=frame-issue peer=127\.0\.0\.1 listener=tcp://\S+ issue=oversized")
        alarms = d.wait_alarms(lambda a: len(a) >= 1)
        self.assertEqual(alarms[0]["hopguard"]["principal"], "eve@HG.TEST")
        self.assertIsNone(d.proc.poll())

    def test_partial_last_line_waits_for_its_newline(self):
        d = self.start(listen=[])
        line = tgs("alice@HG.TEST", "host/legacy1.hg.test@HG.TEST")
        with open(self.kdc_log, "a") as f:
            f.write(line[:40])
            f.flush()
            time.sleep(1.0)
            f.write(line[40:])
            f.flush()
            time.sleep(1.0)
            self.assertEqual(d.alarms(), [])
            f.write("\n")
        alarms = d.wait_alarms(lambda a: len(a) >= 1)
        self.assertEqual(alarms[0]["hopguard"]["evidence"][0]["line"], line)

    def test_stdin_input_scans_to_the_end_and_exits(self):
        path = os.path.join(self.tmp.name, "in.log")
        with open(path, "w") as f:
            for i in range(1000):
                f.write(noise(i) + "\n")
            f.write(tgs("alice@HG.TEST", "host/legacy1.hg.test@HG.TEST") + "\n")
        d = Daemon(self.tmp.name, listen=[], tail=[], window_seconds=600, args=["--stdin"])
        with open(path) as f:
            d.start(stdin=f)
        self.assertEqual(d.proc.wait(30), 0)
        # End of input closes the open incident at once (600 s window notwithstanding).
        self.assertEqual(rule_ids(d.alarms()), ["regular-cred-on-legacy"])
        self.assertTrue(d.find_log(r"event=stdin-eof frames=1001"))

    def test_a_silent_input_raises_a_self_alarm_once(self):
        d = self.start(listen=["tcp://127.0.0.1:0"], agent_extra="silence_seconds = 2\n")
        (tcp,) = d.addresses("tcp")
        alarms = d.wait_alarms(lambda a: len(a) >= 2, timeout=30)
        subjects = sorted(a["hopguard"]["target"] for a in alarms)
        self.assertEqual(subjects, sorted([f"tcp://127.0.0.1:{tcp[1]}", "file:" + self.kdc_log]))
        self.assertEqual({a["rule"]["id"] for a in alarms}, {"hopguard-input-silent"})
        d.wait_log(r"event=self-alarm rule=hopguard-input-silent subject=")
        time.sleep(3)
        self.assertEqual(len(d.alarms()), 2)  # once per silence, not once per check

    def test_a_parse_failure_spike_raises_one_self_alarm(self):
        # self_watch.hpp: >= 100 lines of a known program not understood within a minute, and at
        # least 10% of what that source decoded. Three sources in one minute, over real TCP:
        #   kdc       120 lines in a format the decoder does not know (one hides a row-1 misuse)
        #             beside 1000 good ones: 12% -> the one self-alarm
        #   sshd       99 not understood, nothing decoded: under 100 -> nothing
        #   hopguard  150 not understood beside 2000 decoded: 7.5% -> nothing
        d = self.start(listen=["tcp://127.0.0.1:0"], tail=[])
        (tcp,) = d.addresses("tcp")
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

        def frame(host, app, msg):
            return f"<38>1 {now} {host} {app} 4242 - - {msg}"

        new_format = (f"{stamp()} kdc1 krb5kdc[4242](info): TGS_REQ (2 etypes {{aes256-cts-hmac-sha1-96(18)}}) "
                      "127.0.0.2: ticket issued to alice@HG.TEST for host/legacy1.hg.test@HG.TEST")
        frames = [syslog_frame(new_format)] * 120
        frames += [syslog_frame(tgs("alice-legacy1@HG.TEST", "host/legacy1.hg.test@HG.TEST"))] * 1000
        frames += [frame("legacy1", "sshd", "Accepted gssapi-with-mic for alice via 127.0.0.4")] * 99
        frames += [frame("legacy1", "hopguard", "verdict=deny")] * 150
        frames += [frame("legacy1", "hopguard", 'verdict=allow rule="" role=legacy host=legacy1 user=alice '
                         'principal=alice-legacy1@HG.TEST rhost="" stage=userok reason=""')] * 2000
        send_tcp(tcp, frames)
        # The check runs once a minute after start-up. Each kdc request line not understood is
        # also evidence of the engine's kdc-request-unreadable rule (against the KDC's host): those
        # alarms come first, and are the only others.
        is_self = lambda a: a["rule"]["id"] == "hopguard-parse-failures"
        d.wait_alarms(lambda alarms: any(is_self(a) for a in alarms), timeout=90)
        d.wait_log(r"event=self-alarm rule=hopguard-parse-failures subject=kdc")
        time.sleep(2)  # anything else raised by the same check would be written by now
        alarms = d.alarms()
        others = [a for a in alarms if not is_self(a)]
        self.assertTrue(others, alarms)
        self.assertEqual({(a["rule"]["id"], a["hopguard"]["target"]) for a in others},
                         {("kdc-request-unreadable", "kdc1")}, others)
        alarms = [a for a in alarms if is_self(a)]
        self.assertEqual(len(alarms), 1, alarms)
        a = alarms[0]
        self.assertRegex(a["@timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(a["event"], {"kind": "alert", "severity": 50, "start": a["@timestamp"],
                                      "end": a["@timestamp"]})
        del a["@timestamp"], a["event"]
        self.assertEqual(a, {
            "rule": {"id": "hopguard-parse-failures",
                     "name": "Many log lines of a known program were not understood"},
            "hopguard": {"target": "kdc", "count": 120, "evidence": [{
                "source": "hopguardd", "host": socket.gethostname(),
                "line": "120 kdc lines not understood in the last minute (1000 decoded): "
                        "a new log format, or lines crafted to evade"}]}})
        self.assertEqual(len(d.find_log(r"event=self-alarm ")), 1)

    def test_metrics_are_served_in_prometheus_text(self):
        # A user regex rule and a crafted su line that runs it out of its limits: the rule
        # alarms (fails closed) and the metrics count it by rule.
        rules = os.path.join(self.tmp.name, "rules")
        os.mkdir(rules)
        with open(os.path.join(rules, "su.toml"), "w") as f:
            f.write('source = "syslog"\n[[rule]]\nid = "su-to-root"\nname = "su to root"\nseverity = 40\n'
                    'program = "su"\nregex = \'.(?<user>\\S+) to root\'\n')
        d = self.start(agent_extra='metrics = "tcp://127.0.0.1:0"\n', rules_extra=f'dir = "{rules}"\n')
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        send_tcp(d.addresses("tcp")[0], [syslog_frame(tgs("alice@HG.TEST", "host/legacy1.hg.test@HG.TEST")),
                                         f"<13>1 {now} legacy1 su 6 - - (" + "x" * 20000])
        alarms = d.wait_alarms(lambda a: len(a) >= 2)
        self.assertEqual(sorted(rule_ids(alarms)), ["regular-cred-on-legacy", "su-to-root"])
        (addr,) = d.find_log(r"event=metrics-listening address=tcp://127\.0\.0\.1:(\d+)")
        time.sleep(0.5)
        s = socket.create_connection(("127.0.0.1", int(addr)))
        s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        body = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            body += b
        text = body.decode()
        self.assertIn("200 OK", text.splitlines()[0])
        self.assertIn('hopguard_alarms_total{rule="regular-cred-on-legacy"} 1', text)
        self.assertRegex(text, r'hopguard_input_lines_total\{input="tcp://127\.0\.0\.1:\d+"\} 2')
        self.assertIn('hopguard_decoded_lines_total{source="kdc"} 1', text)
        self.assertIn('hopguard_regex_undecided_total{rule="su-to-root"} 1', text)
        self.assertIn("# TYPE hopguard_queue_depth gauge", text)
        self.assertRegex(text, r'hopguard_tail_lag_bytes\{path="[^"]+"\} 0')


if __name__ == "__main__":
    unittest.main(verbosity=2)
