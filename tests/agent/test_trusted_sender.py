"""Forged sshd and krb5kdc lines through the SHIPPED forwarding snippet (etc/rsyslog.d/60-hopguard-forward.conf)
and a real rsyslogd into a real hopguardd (DESIGN section 9); and krb5kdc lines from a bastion
that forwards without trusted properties.

rsyslogd's imuxsock listens on a private socket (standing in for /dev/log) with Annotate and
ParseTrusted, as the snippet sets for the system socket, and forwards with the snippet's own
ruleset and template: the kernel-verified pid, uid and executable of each sender travel as
[trusted@32473 ...]. Senders are real processes: logger, and copies of logger named "sshd" and "su",
run as root and as nobody. Only the snippet's module line (it binds the real /dev/log) and its
target address are changed here.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_harness import Daemon, shipped_forward_snippet  # noqa: E402

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
LOGGER = shutil.which("logger") or "/usr/bin/logger"
SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"
NOBODY = 65534


def start_rsyslogd(work, conf_text, sockets):
    """A real rsyslogd -n on conf_text (written to work/rsyslog.conf); returns (process, path of
    its stderr) once every path in sockets exists (AssertionError with its stderr after 10 s)."""
    conf = os.path.join(work, "rsyslog.conf")
    with open(conf, "w") as f:
        f.write(conf_text)
    err_path = os.path.join(work, "rsyslogd.err")
    with open(err_path, "w") as err:
        proc = subprocess.Popen([RSYSLOGD, "-n", "-f", conf, "-i", os.path.join(work, "pid")],
                                stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 10
    while not all(os.path.exists(s) for s in sockets):
        if time.monotonic() > deadline:
            with open(err_path) as f:
                raise AssertionError("rsyslogd did not open its sockets:\n" + f.read())
        time.sleep(0.05)
    return proc, err_path


def stop_all(rsyslog, daemon, work):
    if rsyslog:
        rsyslog.send_signal(signal.SIGTERM)
        rsyslog.wait(20)
    daemon.stop()
    shutil.rmtree(work, ignore_errors=True)


def wait_alarms(daemon, done, err_path):
    """daemon.wait_alarms(done), with rsyslogd's stderr and hopguardd's log on failure."""
    try:
        return daemon.wait_alarms(done, timeout=30)
    except AssertionError:
        with open(err_path) as f:
            raise AssertionError("rsyslogd stderr:\n" + f.read() + "\nhopguardd log:\n" + daemon.log_text(0))


class TrustedSender(unittest.TestCase):
    def test_forged_sshd_lines_are_told_from_the_real_sender(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to send as another user (setpriv)")
        work = tempfile.mkdtemp(prefix="hg-trusted-")
        os.chmod(work, 0o755)  # nobody must reach the socket
        d = Daemon(os.path.join(work, "d"), listen=["tcp://127.0.0.1:0"], window_seconds=2,
                   skew_seconds=1).start()
        rsyslog = None
        try:
            port = d.addresses("tcp")[0][1]
            sock = os.path.join(work, "log.sock")
            spool = os.path.join(work, "rsyslog")
            os.makedirs(spool)
            rsyslog, err_path = start_rsyslogd(
                work, f'global(workDirectory="{spool}")\n' + shipped_forward_snippet(port, {"legacy1": sock}), [sock])
            os.chmod(sock, 0o666)
            # A binary named sshd that is not sshd: a copy of logger, world-executable.
            bindir = os.path.join(work, "bin")
            os.makedirs(bindir, mode=0o755)
            fake_sshd = os.path.join(bindir, "sshd")
            shutil.copy(LOGGER, fake_sshd)
            os.chmod(fake_sshd, 0o755)

            def send(argv0, message, as_nobody=False, tag="sshd"):
                cmd = [argv0, "-u", sock, "--socket-errors=on", "-t", tag, "--id",
                       "-p", "authpriv.info", message]
                if as_nobody:
                    cmd = [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] + cmd
                subprocess.run(cmd, check=True)

            # 1. A local user's own "sshd" claims an ordinary credential was used on legacy1
            #    (row 1): without the uid check this would be a forged regular-cred-on-legacy.
            send(fake_sshd, "Accepted gssapi-with-mic for alice from 127.0.0.2 port 5 ssh2: "
                            "alice@HG.TEST", as_nobody=True)
            # 2. A local user's logger writing as sshd. rsyslog reads the executable from /proc
            #    and finds none once the sender has exited (logger exits at once), so the exe
            #    check alone would race; the uid comes with the message (SCM_CREDENTIALS) and
            #    an sshd login outcome is only ever logged by root.
            send(LOGGER, "Accepted password for bob from 127.0.0.2 port 6 ssh2", as_nobody=True)
            # 3. A root process whose executable is named sshd (what the real sshd looks like to
            #    the check): decoded as the login it shows - from outside, so row 5.
            send(fake_sshd, "Accepted password for carol from 127.0.0.4 port 7 ssh2")
            # 4. A local user's logger writing a KDC line that shows an ordinary credential's
            #    ticket for legacy1 (row 1): krb5kdc runs as root, so this is forged too.
            send(LOGGER, "TGS_REQ (1 etypes {aes256-cts-hmac-sha1-96(18)}) 127.0.0.2: ISSUE: authtime 1, "
                         "etypes {rep=aes256-cts-hmac-sha1-96(18), tkt=aes256-cts-hmac-sha1-96(18), "
                         "ses=aes256-cts-hmac-sha1-96(18)}, dave@HG.TEST for host/legacy1.hg.test@HG.TEST",
                 as_nobody=True, tag="krb5kdc")

            # 5. A local user's own binary named su writes pam_hopguard decision records (su runs
            #    as the invoking user, so the uid proves nothing; only the system's su counts).
            fake_su = os.path.join(bindir, "su")
            shutil.copy(LOGGER, fake_su)
            os.chmod(fake_su, 0o755)
            send(fake_su, "pam_hopguard(su:auth): verdict=deny rule=regular-cred-on-legacy role=legacy host=legacy1 "
                          "user=erin principal=erin@HG.TEST rhost=\"\" stage=auth reason=x", as_nobody=True, tag="su")

            # 6. The system's logger under its own name, kept alive on stdin so that rsyslog reads
            #    its executable: /usr/bin/logger is a system binary named as its tag, so the path
            #    check alone took its records as decisions; a user's record must come from a
            #    setuid program that runs PAM (su, sudo, ...).
            cmd = [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", LOGGER, "-u", sock,
                   "--socket-errors=on", "-t", "logger", "--id", "-p", "authpriv.info"]
            alive = subprocess.Popen(cmd, stdin=subprocess.PIPE, text=True)
            alive.stdin.write("pam_hopguard(sshd:session): verdict=deny rule=regular-cred-on-legacy role=legacy "
                              "host=legacy1 user=frank principal=frank@HG.TEST rhost=127.0.0.2 stage=session "
                              "reason=x\n")
            alive.stdin.flush()
            time.sleep(1.5)
            alive.stdin.close()
            self.assertEqual(alive.wait(timeout=10), 0)

            # 7. A local user's logger as sshd, its message a whole sshd line of another host (the
            #    form of a file line that rsyslog's imfile forwards): the inner header is the
            #    sender's own text, so this is the same forgery, on this host.
            send(LOGGER, "Nov 22 10:00:01 legacy2 sshd[1]: Accepted gssapi-with-mic for grace from 127.0.0.2 "
                         "port 8 ssh2: grace@HG.TEST", as_nobody=True)

            def done(alarms):
                return sum(a["hopguard"]["count"] for a in alarms) >= 7

            wait_alarms(d, done, err_path)
            time.sleep(2.5)  # anything more (a forged alarm of another rule) shows up now
            alarms = d.alarms()
            got = sorted((a["rule"]["id"], a["hopguard"]["target"], a["hopguard"]["count"])
                         for a in alarms)
            evidence = [e["line"] for a in alarms for e in a["hopguard"]["evidence"]]
            self.assertEqual(got, [("forged-log-sender", "legacy1", 6),
                                   ("legacy-login-not-via-bastion", "legacy1", 1)], evidence)
            self.assertNotIn("regular-cred-on-legacy", [a["rule"]["id"] for a in alarms])
            forged = next(a for a in alarms if a["rule"]["id"] == "forged-log-sender")
            lines = [e["line"] for e in forged["hopguard"]["evidence"]]
            # The evidence shows what the kernel said about each sender.
            self.assertEqual(len(lines), 6, lines)
            self.assertEqual(sum("legacy2 sshd[1]: Accepted" in l for l in lines), 1, lines)
            self.assertEqual(sum("krb5kdc" in l for l in lines), 1, lines)
            self.assertEqual(sum("pam_hopguard(su:auth)" in l for l in lines), 1, lines)
            logger_lines = [l for l in lines if "pam_hopguard(sshd:session)" in l]
            self.assertEqual(len(logger_lines), 1, lines)
            # rsyslog did read it (JSON-escaped by the snippet's template): the path check passed.
            self.assertIn('exe="' + LOGGER.replace("/", "\\/") + '"', logger_lines[0])
            for l in lines:
                self.assertIn(f'uid="{NOBODY}"', l)
        finally:
            stop_all(rsyslog, d, work)

    def test_kdc_lines_logged_by_a_bastion_without_trusted_properties_are_forged(self):
        """A bastion that forwards with a plain RFC 5424 template (no trusted properties): a
        local `logger -t krb5kdc` there gets the bastion's own host name from rsyslog, and the
        KDC never runs on a bastion, so the line is forged. The same line from the KDC's host
        (kdc1), also without trusted properties, is decoded as the ticket it shows."""
        work = tempfile.mkdtemp(prefix="hg-kdc-host-")
        d = Daemon(os.path.join(work, "d"), listen=["tcp://127.0.0.1:0"], window_seconds=2,
                   skew_seconds=1).start()
        rsyslog = None
        try:
            port = d.addresses("tcp")[0][1]
            socks = {name: os.path.join(work, name + ".sock") for name in ("bastion", "kdc1")}
            spool = os.path.join(work, "rsyslog")
            os.makedirs(spool)
            rsyslog, err_path = start_rsyslogd(
                work,
                f'global(workDirectory="{spool}")\n'
                'module(load="imuxsock" SysSock.Use="off")\n'
                'ruleset(name="plain") {\n'
                f'  action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp" '
                'TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")\n'
                '}\n' +
                "".join(f'input(type="imuxsock" Socket="{sock}" HostName="{name}" Ruleset="plain" '
                        'RateLimit.Interval="0")\n' for name, sock in socks.items()),
                socks.values())
            line = ("TGS_REQ (1 etypes {aes256-cts-hmac-sha1-96(18)}) 127.0.0.2: ISSUE: authtime 1, "
                    "etypes {rep=aes256-cts-hmac-sha1-96(18), tkt=aes256-cts-hmac-sha1-96(18), "
                    "ses=aes256-cts-hmac-sha1-96(18)}, dave@HG.TEST for host/legacy1.hg.test@HG.TEST")
            for name in ("bastion", "kdc1"):
                subprocess.run([LOGGER, "-u", socks[name], "--socket-errors=on", "-t", "krb5kdc", "--id",
                                "-p", "daemon.info", line], check=True)

            def done(alarms):
                return sum(a["hopguard"]["count"] for a in alarms) >= 2

            wait_alarms(d, done, err_path)
            time.sleep(2.5)  # anything more shows up now
            alarms = d.alarms()
            got = sorted((a["rule"]["id"], a["hopguard"].get("target"), a["hopguard"].get("principal"),
                          a["hopguard"]["count"]) for a in alarms)
            self.assertEqual(got, [("forged-log-sender", "bastion", None, 1),
                                   ("regular-cred-on-legacy", "legacy1", "dave@HG.TEST", 1)],
                             [e["line"] for a in alarms for e in a["hopguard"]["evidence"]])
            forged = next(a for a in alarms if a["rule"]["id"] == "forged-log-sender")
            self.assertIn(" bastion krb5kdc ", forged["hopguard"]["evidence"][0]["line"])
        finally:
            stop_all(rsyslog, d, work)


if __name__ == "__main__":
    unittest.main(verbosity=2)
