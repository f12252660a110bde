"""hopguardd sinks and reload against real receivers: a webhook (python http.server) that is
down, then up; alarms spooled across a restart; exec with argv and no shell; RFC 5424 to a TCP
collector; SIGHUP with a broken rules file keeps the old rules and says why."""
import http.server
import json
import os
import signal
import socket
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, send_tcp, syslog_frame, tgs  # noqa: E402

LISTEN = ["tcp://127.0.0.1:0"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Receiver:
    """A real HTTP server collecting POST bodies, in order."""

    def __init__(self, port, status=200):
        self.bodies = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                outer.content_types.append(self.headers.get("Content-Type"))
                outer.bodies.append(json.loads(body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.content_types = []
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def misuse(principal):
    return syslog_frame(tgs(principal, "host/legacy1.hg.test@HG.TEST"))


def wait(predicate, timeout, what):
    end = time.time() + timeout
    while not predicate():
        if time.time() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)


class Sinks(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="hg-sinks-")
        self.d = None
        self.receiver = None

    def tearDown(self):
        if self.d:
            self.d.stop()
        if self.receiver:
            self.receiver.close()
        self.tmp.cleanup()

    def test_webhook_down_then_up_delivers_once_in_order(self):
        port = free_port()
        d = self.d = Daemon(self.tmp.name, listen=LISTEN,
                            alarms_extra=f'webhook = "http://127.0.0.1:{port}/hook"\n').start()
        tcp = d.addresses("tcp")[0]
        for i in range(5):
            send_tcp(tcp, [misuse(f"user{i}@HG.TEST")])
            time.sleep(0.2)
        d.wait_alarms(lambda a: len(a) >= 5)
        d.wait_log(r"event=sink-failed sink=webhook error=\"webhook: Couldn't connect to server\" attempt=2")
        self.receiver = Receiver(port)
        wait(lambda: len(self.receiver.bodies) >= 5, 30, "webhook deliveries")
        send_tcp(tcp, [misuse("late@HG.TEST")])
        wait(lambda: len(self.receiver.bodies) >= 6, 30, "the delivery after recovery")
        time.sleep(1.5)
        self.assertEqual(self.receiver.bodies, d.alarms())  # once each, in the log's order
        self.assertEqual(set(self.receiver.content_types), {"application/json"})
        d.wait_log(r"event=sink-recovered sink=webhook attempts=\d+")
        self.assertEqual(d.stop(), 0)
        self.assertTrue(d.find_log(r"event=stopped spooled=0"))

    def test_undelivered_alarms_survive_a_restart_in_the_spool(self):
        port = free_port()
        d = self.d = Daemon(self.tmp.name, listen=LISTEN,
                            alarms_extra=f'webhook = "http://127.0.0.1:{port}/hook"\n').start()
        send_tcp(d.addresses("tcp")[0], [misuse("alice@HG.TEST"), misuse("bob@HG.TEST")])
        d.wait_alarms(lambda a: len(a) >= 2)
        d.wait_log(r"event=sink-failed sink=webhook")
        self.assertEqual(d.stop(), 0)
        d.wait_log(r"event=spool-pending sink=webhook alarms=2")
        self.assertTrue(os.path.getsize(os.path.join(d.state_dir, "spool-webhook.jsonl")) > 0)
        self.receiver = Receiver(port)
        d.start()
        d.wait_log(r"event=spool-recovered sink=webhook alarms=2")
        wait(lambda: len(self.receiver.bodies) >= 2, 30, "spooled deliveries")
        time.sleep(1.0)
        self.assertEqual(self.receiver.bodies, d.alarms())

    def test_exec_gets_the_alarm_on_stdin_with_argv_and_no_shell(self):
        out = os.path.join(self.tmp.name, "exec-out")
        script = os.path.join(self.tmp.name, "on-alarm")
        with open(script, "w") as f:
            f.write("#!/bin/sh\n# $1 arrives as one word, never split or expanded by a shell\n"
                    'printf "%s|" "$1" >> "$2"; cat >> "$2"\n')
        os.chmod(script, 0o755)
        d = self.d = Daemon(self.tmp.name, listen=LISTEN,
                            alarms_extra=f'exec = ["{script}", "a b; $(touch {self.tmp.name}/pwned)", "{out}"]\n').start()
        send_tcp(d.addresses("tcp")[0], [misuse("alice@HG.TEST")])
        wait(lambda: os.path.exists(out) and open(out).read().endswith("\n"), 30, "exec output")
        arg, body = open(out).read().split("|", 1)
        self.assertEqual(arg, f"a b; $(touch {self.tmp.name}/pwned)")
        self.assertFalse(os.path.exists(os.path.join(self.tmp.name, "pwned")))
        self.assertEqual(json.loads(body), d.wait_alarms(lambda a: len(a) == 1)[0])

    def test_syslog_collector_receives_rfc5424_octet_counted(self):
        collector = socket.socket()
        collector.bind(("127.0.0.1", 0))
        collector.listen(1)
        port = collector.getsockname()[1]
        d = self.d = Daemon(self.tmp.name, listen=LISTEN,
                            alarms_extra=f'syslog_target = "tcp://127.0.0.1:{port}"\n').start()
        send_tcp(d.addresses("tcp")[0], [misuse("alice@HG.TEST")])
        collector.settimeout(30)
        conn, _ = collector.accept()
        conn.settimeout(30)
        data = b""
        while b" " not in data or len(data) < int(data.split(b" ", 1)[0]) + len(data.split(b" ", 1)[0]) + 1:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        conn.close()
        collector.close()
        length, msg = data.split(b" ", 1)
        self.assertEqual(int(length), len(msg))
        text = msg.decode()
        # <PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG; authpriv (10) and severity 73 -> err (3)
        self.assertRegex(text, r"^<83>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S+ hopguardd \d+ alarm - \{")
        # Sinks may deliver before the alarm log's fsync: wait for the log's copy.
        self.assertEqual(json.loads(text.split(" - ", 1)[1]), d.wait_alarms(lambda a: len(a) == 1)[0])


CANARY_RULE = """source = "syslog"
[[rule]]
id = "test-canary"
name = "The canary program said hello"
severity = 10
program = "canary"
regex = 'hello from (?<user>[a-z]+)'
"""


class Reload(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="hg-reload-")
        self.rules = os.path.join(self.tmp.name, "rules.d")
        os.mkdir(self.rules)
        with open(os.path.join(self.rules, "canary.toml"), "w") as f:
            f.write(CANARY_RULE)
        self.d = None

    def tearDown(self):
        if self.d:
            self.d.stop()
        self.tmp.cleanup()

    def test_sighup_with_a_broken_rules_file_keeps_the_old_rules_and_says_why(self):
        d = self.d = Daemon(self.tmp.name, listen=LISTEN,
                            rules_extra=f"dir = {json.dumps(self.rules)}\n").start()
        tcp = d.addresses("tcp")[0]
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        send_tcp(tcp, [f"<13>1 {now} h1 canary 1 - - hello from alice"])
        d.wait_alarms(lambda a: [x["rule"]["id"] for x in a] == ["test-canary"])
        broken = os.path.join(self.rules, "canary.toml")
        with open(broken, "w") as f:
            f.write(CANARY_RULE.replace("severity = 10", "severity = 10\nseverity = 11")
                    .replace("regex = 'hello", "regex = '(unclosed hello"))
        mark = d.log_mark()
        d.signal(signal.SIGHUP)
        failed = d.wait_log(r"event=reload-failed .*", start=mark)[0]
        self.assertIn(broken, failed)           # names the file ...
        self.assertRegex(failed, re.escape(broken) + r":\d+")  # ... and the line
        self.assertIn('kept="previous config and rules"', failed)
        send_tcp(tcp, [f"<13>1 {now} h1 canary 1 - - hello from bob"])
        alarms = d.wait_alarms(lambda a: len(a) >= 2)
        self.assertEqual(alarms[1]["user"]["name"], "bob")  # the old rule still runs
        self.assertIsNone(d.proc.poll())
        # A fixed file is taken on the next SIGHUP.
        with open(broken, "w") as f:
            f.write(CANARY_RULE.replace("hello from", "goodbye from"))
        mark = d.log_mark()
        d.signal(signal.SIGHUP)
        d.wait_log(r"event=reload-ok config=\S+ rule_files=4 rules=\d+", start=mark)
        d.wait_log(r"event=reload-applied", start=mark)
        send_tcp(tcp, [f"<13>1 {now} h1 canary 1 - - goodbye from carol",
                       f"<13>1 {now} h1 canary 1 - - hello from dave"])
        alarms = d.wait_alarms(lambda a: len(a) >= 3)
        time.sleep(1.5)
        self.assertEqual([a["user"]["name"] for a in d.alarms()], ["alice", "bob", "carol"])

    def test_sighup_reopens_the_alarm_log_for_logrotate(self):
        d = self.d = Daemon(self.tmp.name, listen=LISTEN).start()
        tcp = d.addresses("tcp")[0]
        send_tcp(tcp, [misuse("alice@HG.TEST")])
        d.wait_alarms(lambda a: len(a) == 1)
        os.rename(d.alarm_log, d.alarm_log + ".1")
        d.signal(signal.SIGHUP)
        d.wait_log(r"event=reload-applied")
        time.sleep(0.3)
        send_tcp(tcp, [misuse("bob@HG.TEST")])
        alarms = d.wait_alarms(lambda a: len(a) == 1)
        self.assertEqual(alarms[0]["hopguard"]["principal"], "bob@HG.TEST")


import re  # noqa: E402

if __name__ == "__main__":
    unittest.main(verbosity=2)
