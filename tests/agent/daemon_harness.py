"""Starts a real hopguardd for a test, in a work directory of the test's own.

Nothing here imitates hopguardd: the test talks to the built binary over real sockets and
files, reads its log lines (an API: "hopguardd: event=NAME key=value ...") and its JSONL alarm
log. Python standard library only.
"""
import json
import os
import re
import signal
import socket
import subprocess
import time

BUILD = os.environ.get("HOPGUARD_BUILD_DIR", "")
SOURCE = os.environ.get("HOPGUARD_SOURCE_DIR", "")
HOPGUARDD = os.path.join(BUILD, "agent", "daemon", "hopguardd")

SITE = """realm = "HG.TEST"
[bastion.bastion]
fqdn = "bastion.hg.test"
addresses = ["127.0.0.2"]
[legacy.legacy1]
fqdn = "legacy1.hg.test"
addresses = ["127.0.0.3"]
[legacy.legacy2]
fqdn = "legacy2.hg.test"
addresses = ["127.0.0.6"]
[bastion_access]
allowed_sources = ["127.0.0.5/32"]
"""

ETYPES = "{rep=aes256-cts-hmac-sha1-96(18), tkt=aes256-cts-hmac-sha1-96(18), ses=aes256-cts-hmac-sha1-96(18)}"


def stamp(t=None):
    """RFC 3164 time as the KDC writes it (UTC here: the scanner's offset is 0)."""
    t = time.time() if t is None else t
    tm = time.gmtime(t)
    return time.strftime("%b ", tm) + f"{tm.tm_mday:2d}" + time.strftime(" %H:%M:%S", tm)


def tgs(client, server, ip="127.0.0.2", status="ISSUE", t=None, host="kdc1"):
    """A krb5kdc TGS_REQ line in the KDC's FILE: log form."""
    t = time.time() if t is None else t
    return (f"{stamp(t)} {host} krb5kdc[4242](info): TGS_REQ (2 etypes "
            f"{{aes256-cts-hmac-sha1-96(18), aes128-cts-hmac-sha1-96(17)}}) {ip}: {status}: "
            f"authtime {int(t)}, etypes {ETYPES}, {client} for {server}")


def as_req(client, server, ip, status="ISSUE", t=None, host="kdc1"):
    t = time.time() if t is None else t
    return (f"{stamp(t)} {host} krb5kdc[4242](info): AS_REQ (2 etypes "
            f"{{aes256-cts-hmac-sha1-96(18), aes128-cts-hmac-sha1-96(17)}}) {ip}: {status}: "
            f"authtime {int(t)}, etypes {ETYPES}, {client} for {server}")


def noise(i, t=None):
    return f"{stamp(t)} web3 nginx[77]: GET /item/{i} HTTP/1.1 200 512"


def shipped_forward_snippet(port, sockets, host="127.0.0.1", ruleset="hopguard_forward"):
    """etc/rsyslog.d/60-hopguard-forward.conf as a host runs it, for a private rsyslogd: its
    ruleset and template unchanged, the system-socket module line (it would bind the real
    /dev/log) replaced, the target set to host:port, and one imuxsock input per
    {host name: socket path} with the snippet's Annotate/ParseTrusted, bound to `ruleset` (the
    snippet's own, or one of the caller's that calls it)."""
    root = SOURCE or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    with open(os.path.join(root, "etc", "rsyslog.d", "60-hopguard-forward.conf")) as f:
        text = f.read()
    module_line = 'module(load="imuxsock" SysSock.Annotate="on" SysSock.ParseTrusted="on")'
    target = 'target="hopguard.example" port="5514"'
    if module_line not in text or target not in text:
        raise AssertionError("60-hopguard-forward.conf changed shape; update shipped_forward_snippet")
    text = text.replace(module_line, 'module(load="imuxsock" SysSock.Use="off")')
    text = text.replace(target, f'target="{host}" port="{port}"')
    return text + "".join(
        f'input(type="imuxsock" Socket="{sock}" HostName="{name}" Annotate="on" ParseTrusted="on" '
        f'Ruleset="{ruleset}" RateLimit.Interval="0")\n' for name, sock in sockets.items())


def toml_list(items):
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


class Daemon:
    """One hopguardd. Config keys of [agent] and [alarms] come from the keyword arguments."""

    def __init__(self, workdir, listen=(), tail=(), window_seconds=1, skew_seconds=0,
                 agent_extra="", alarms_extra="", rules_extra="", args=()):
        self.dir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.config = os.path.join(workdir, "hopguard.toml")
        self.state_dir = os.path.join(workdir, "state")
        self.alarm_log = os.path.join(workdir, "alarms.jsonl")
        self.log_path = os.path.join(workdir, "hopguardd.log")
        self.args = list(args)
        self.proc = None
        self._log_from = 0
        with open(self.config, "w") as f:
            f.write(SITE)
            f.write("[agent]\n")
            f.write(f"listen = {toml_list(listen)}\n")
            f.write(f"tail = {toml_list(tail)}\n")
            f.write(f"state_dir = {json.dumps(self.state_dir)}\n")
            f.write(f"alarm_log = {json.dumps(self.alarm_log)}\n")
            f.write(agent_extra)
            f.write("[alarms]\n")
            f.write(f"window_seconds = {window_seconds}\nskew_seconds = {skew_seconds}\n")
            f.write(alarms_extra)
            if rules_extra:
                f.write("[rules]\n" + rules_extra)

    # -- process ---------------------------------------------------------------------------
    def start(self, timeout=20, stdin=None):
        log = open(self.log_path, "a")
        self._log_from = os.path.getsize(self.log_path)
        env = dict(os.environ)
        supp = os.path.join(SOURCE, "tests", "lsan.supp")
        if SOURCE and os.path.exists(supp) and "suppressions" not in env.get("LSAN_OPTIONS", ""):
            env["LSAN_OPTIONS"] = (env.get("LSAN_OPTIONS", "") + f":suppressions={supp}").lstrip(":")
        self.proc = subprocess.Popen([HOPGUARDD, "--config", self.config] + self.args, env=env,
                                     stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=log)
        log.close()
        self.wait_log(r"event=(ready|startup-failed)", timeout)
        # A daemon with --stdin may already have finished (exit 0) by now; that is a start.
        if self.proc.poll() not in (None, 0) or self.find_log(r"event=startup-failed"):
            raise RuntimeError("hopguardd did not start:\n" + self.log_text())
        return self

    def addresses(self, scheme):
        """Bound listener addresses of this run, e.g. [("127.0.0.1", 40123)] for "tcp"."""
        out = []
        for m in re.finditer(r"event=listening address=(tcp|udp)://(\[[^\]]+\]|[^:\s]+):(\d+)",
                             self.log_text(self._log_from)):
            if m.group(1) == scheme:
                out.append((m.group(2).strip("[]"), int(m.group(3))))
        return out

    def signal(self, sig):
        self.proc.send_signal(sig)

    def kill9(self):
        self.proc.kill()
        self.proc.wait(10)
        self.proc = None

    def stop(self, timeout=30):
        """SIGTERM and wait; returns the exit code. A daemon that died on its own (a crash),
        did not exit 0 after SIGTERM, or reported a sanitizer error fails the test here,
        whatever the test itself asserted."""
        if self.proc and self.proc.poll() is not None and self.proc.returncode != 0:
            raise AssertionError(f"hopguardd died (exit {self.proc.returncode}); log:\n"
                                 + self.log_text()[-4000:])
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
            if self.proc.returncode != 0:
                raise AssertionError(f"hopguardd exited {self.proc.returncode} after SIGTERM; log:\n"
                                     + self.log_text()[-4000:])
        sanitizer = re.findall(r"(ERROR: \w+Sanitizer.*|runtime error:.*)", self.log_text(0))
        if sanitizer:
            raise AssertionError("sanitizer report in hopguardd's log:\n" + self.log_text(0)[-8000:])
        return self.proc.returncode if self.proc else None

    # -- log lines -------------------------------------------------------------------------
    def log_text(self, start=0):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(start)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def find_log(self, pattern, start=None):
        return re.findall(pattern, self.log_text(self._log_from if start is None else start))

    def wait_log(self, pattern, timeout=20, start=None):
        end = time.time() + timeout
        while time.time() < end:
            found = self.find_log(pattern, start)
            if found:
                return found
            if self.proc and self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no log line matching {pattern!r}; log:\n" + self.log_text())

    def log_mark(self):
        return os.path.getsize(self.log_path)

    # -- alarms ----------------------------------------------------------------------------
    def alarms(self):
        try:
            with open(self.alarm_log) as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def wait_alarms(self, predicate, timeout=20):
        """Waits until predicate(alarms) is true; returns the alarms."""
        end = time.time() + timeout
        while True:
            a = self.alarms()
            if predicate(a):
                return a
            if time.time() > end:
                raise AssertionError(f"alarms never satisfied the test; have {len(a)}: "
                                     + json.dumps(a, indent=1)[:4000] + "\nlog:\n" + self.log_text()[-4000:])
            time.sleep(0.05)


def rule_ids(alarms):
    return sorted(a["rule"]["id"] for a in alarms)


def send_tcp(addr, lines, octet_counted=True, source=None):
    family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    if source:
        s.bind((source, 0))
    s.connect(addr)
    data = b""
    for line in lines:
        b = line.encode() if isinstance(line, str) else line
        data += (str(len(b)).encode() + b" " + b) if octet_counted else (b + b"\n")
    s.sendall(data)
    s.close()


def syslog_frame(line, program_host="kdc1"):
    """An RFC 5424 frame carrying a KDC file line, as rsyslog imfile + omfwd would."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return f"<38>1 {now} {program_host} krb5kdc - - - {line}"
