#!/usr/bin/env python3
"""A throwaway MIT Kerberos realm for tests: a real krb5kdc on a socket_wrapper address.

Contract (see tests/harness/README.md for the address plan and the observed KDC log lines):

    with Realm(workdir) as realm:               # writes krb5.conf/kdc.conf, creates the DB,
        ccache = realm.kinit("alice", realm.password("alice"), iface=5)   # starts krb5kdc
        realm.kvno("host/bastion.hg.test", iface=5, ccache=ccache)
        lines = realm.new_log_lines()           # KDC log lines since the last call

Everything lives in `workdir` (never /etc). The KDC runs in the foreground (`krb5kdc -n`) in its
own process group under LD_PRELOAD=libsocket_wrapper.so, listening on 127.0.0.<kdc_iface>:88
(default 127.0.0.10). Clients started with run()/env_for(iface) appear to the KDC as coming from
127.0.0.<iface>. stop() (also on context exit, at interpreter exit, and on SIGTERM in the CLI)
kills the KDC's process group and waits for it.

Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import atexit
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Iterable, Mapping, Sequence

SOCKET_WRAPPER_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/libsocket_wrapper.so",
    "/usr/lib/aarch64-linux-gnu/libsocket_wrapper.so",
    "/usr/lib/libsocket_wrapper.so",
    "/usr/lib64/libsocket_wrapper.so",
)

# Address plan: 127.0.0.<iface>. Documented in README.md; other tests rely on it.
IFACE_BASTION = 2
IFACE_LEGACY1 = 3
IFACE_OUTSIDE = 4
IFACE_ADMIN_DESKTOP = 5
IFACE_LEGACY2 = 6
IFACE_KDC = 10

# Users with known passwords: password(name) is f"{name}-pw" (see password()).
DEFAULT_USERS = ("alice", "bob", "alice-legacy1", "alice-legacy2", "bob-legacy1")
# Users of each foreign realm (Realm(foreign_realms=...)), same passwords.
DEFAULT_FOREIGN_USERS = ("alice", "alice-legacy1")
CROSS_REALM_PASSWORD = "hg-test-cross-realm-key"
# Service principals with random keys.
DEFAULT_SERVICES = ("host/bastion.hg.test", "host/legacy1.hg.test", "host/legacy2.hg.test")

MASTER_PASSWORD = "hg-test-master-key"


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the process that started it dies, so a test
    killed without cleanup (ctest timeout, kill -9) leaves no KDC behind. Linux prctl."""
    try:
        import ctypes
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:  # not Linux, or no libc symbol: stop() and atexit still apply
        pass


class RealmError(RuntimeError):
    """A harness step failed; the message carries the command, its output and the KDC log tail."""


def find_socket_wrapper() -> str:
    """Returns the path of libsocket_wrapper.so or raises RealmError."""
    override = os.environ.get("HOPGUARD_SOCKET_WRAPPER")
    for path in ((override,) if override else ()) + SOCKET_WRAPPER_CANDIDATES:
        if path and os.path.exists(path):
            return path
    raise RealmError("libsocket_wrapper.so not found (apt-get install libsocket-wrapper)")


def find_program(name: str) -> str:
    """Finds a Kerberos program in PATH or the sbin directories (krb5kdc lives in /usr/sbin)."""
    found = shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if not found:
        raise RealmError(f"{name} not found (apt-get install krb5-kdc krb5-admin-server krb5-user)")
    return found


class Realm:
    """A realm with one KDC. Not thread-safe; one Realm per workdir."""

    def __init__(self, workdir: str, realm: str = "HG.TEST", kdc_conf_extra: str = "",
                 plugins: Mapping[str, Sequence[str]] | None = None,
                 kdc_iface: int = IFACE_KDC, kdc_env: Mapping[str, str] | None = None,
                 krb5_conf_extra: str = "", realm_extra: str = "",
                 foreign_realms: Sequence[str] = (), kdc_wrapper: Sequence[str] = ()):
        """Writes nothing yet; start() does the work.

        plugins: kdc.conf [plugins] relations, e.g.
            {"kdcpolicy": ["module = hopguard:/path/hopguard_kdcpolicy.so"]}
        kdc_conf_extra: text appended to kdc.conf verbatim (e.g. a "[hopguard]" section).
        realm_extra: relations added inside kdc.conf's [realms] REALM = { ... } block.
        krb5_conf_extra: text appended to krb5.conf verbatim.
        kdc_env: extra environment for krb5kdc only (e.g. HOPGUARD_CONFIG).
        foreign_realms: further realms served by the same krb5kdc, each with its own database,
            users DEFAULT_FOREIGN_USERS (password <name>-pw) and a two-way cross-realm trust with
            the main realm (krbtgt/REALM@FOREIGN and krbtgt/FOREIGN@REALM in both databases):
            their clients reach the main realm's services as foreign principals.
        kdc_wrapper: argv prefix for krb5kdc, e.g. ["valgrind", "--tool=callgrind", ...]; it
            must exec krb5kdc in the same process (valgrind does), since kdc_pid is its pid.
        """
        self.workdir = os.path.abspath(workdir)
        self.realm = realm
        self.kdc_iface = kdc_iface
        self.kdc_address = f"127.0.0.{kdc_iface}"
        self.kdc_conf_extra = kdc_conf_extra
        self.krb5_conf_extra = krb5_conf_extra
        self.realm_extra = realm_extra
        self.foreign_realms = tuple(foreign_realms)
        self.kdc_wrapper = list(kdc_wrapper)
        self.plugins = dict(plugins or {})
        self.kdc_env = dict(kdc_env or {})
        self.krb5_conf = os.path.join(self.workdir, "krb5.conf")
        self.kdc_conf = os.path.join(self.workdir, "kdc.conf")
        self.kdc_log = os.path.join(self.workdir, "kdc.log")
        self.kdc_stderr = os.path.join(self.workdir, "kdc.stderr")
        self.swrap_dir = os.path.join(self.workdir, "swrap")
        self.ccache_dir = os.path.join(self.workdir, "ccache")
        self.pid_file = os.path.join(self.workdir, "kdc.pid")
        self.socket_wrapper = find_socket_wrapper()
        self._kdc: subprocess.Popen | None = None
        self._log_offset = 0
        self._db_created = False

    # ---- configuration -------------------------------------------------------------------

    def password(self, principal: str) -> str:
        """The known password of a user principal created by this harness."""
        return f"{principal.split('@')[0]}-pw"

    def _write_configs(self) -> None:
        os.makedirs(self.workdir, exist_ok=True)
        os.makedirs(self.swrap_dir, exist_ok=True)
        os.makedirs(self.ccache_dir, exist_ok=True)
        w = self.workdir
        r = self.realm
        foreign_clients = "".join(
            f"    {f} = {{\n        kdc = {self.kdc_address}:88\n    }}\n"
            for f in self.foreign_realms)
        foreign_kdc = "".join(f"""    {f} = {{
        database_name = {w}/{f}/principal
        key_stash_file = {w}/{f}/stash
        acl_file = {w}/kadm5.acl
        default_principal_flags = +preauth
        kdc_listen = {self.kdc_address}:88
        kdc_tcp_listen = {self.kdc_address}:88
    }}
""" for f in self.foreign_realms)
        # rdns/dns_canonicalize_hostname off: service names are used exactly as written and no
        # DNS is ever consulted. udp_preference_limit=1 would force TCP; we keep UDP (the
        # default) because sites use it and socket_wrapper handles both.
        krb5_conf = f"""[libdefaults]
    default_realm = {r}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    ignore_acceptor_hostname = false
    forwardable = true
    renewable = true
    ticket_lifetime = 10h
    renew_lifetime = 7d

[realms]
    {r} = {{
        kdc = {self.kdc_address}:88
        admin_server = {self.kdc_address}:749
    }}
{foreign_clients}
[domain_realm]
    .hg.test = {r}
    hg.test = {r}
{self.krb5_conf_extra}
"""
        plugin_text = ""
        if self.plugins:
            plugin_text = "[plugins]\n"
            for interface, relations in self.plugins.items():
                plugin_text += f"    {interface} = {{\n"
                for rel in relations:
                    plugin_text += f"        {rel}\n"
                plugin_text += "    }\n"
        # +preauth on every principal: a wrong password is then logged as PREAUTH_FAILED
        # (without it the KDC would hand out an encrypted reply and log ISSUE).
        kdc_conf = f"""[kdcdefaults]
    kdc_listen = {self.kdc_address}:88
    kdc_tcp_listen = {self.kdc_address}:88

[realms]
    {r} = {{
        database_name = {w}/principal
        key_stash_file = {w}/stash
        acl_file = {w}/kadm5.acl
        max_life = 10h 0m 0s
        max_renewable_life = 7d 0h 0m 0s
        default_principal_flags = +preauth
        kdc_listen = {self.kdc_address}:88
        kdc_tcp_listen = {self.kdc_address}:88
{self.realm_extra}
    }}
{foreign_kdc}
[logging]
    kdc = FILE:{self.kdc_log}
    admin_server = FILE:{w}/kadmind.log
    default = FILE:{w}/krb5lib.log

{plugin_text}
{self.kdc_conf_extra}
"""
        with open(self.krb5_conf, "w") as f:
            f.write(krb5_conf)
        with open(self.kdc_conf, "w") as f:
            f.write(kdc_conf)
        with open(os.path.join(w, "kadm5.acl"), "w") as f:
            f.write("")

    def base_env(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment for Kerberos programs that are not under socket_wrapper (kadmin.local)."""
        e = dict(os.environ)
        for k in list(e):
            if k.startswith(("KRB5", "SOCKET_WRAPPER", "LD_PRELOAD")):
                del e[k]
        e["KRB5_CONFIG"] = self.krb5_conf
        e["KRB5_KDC_PROFILE"] = self.kdc_conf
        e["KRB5RCACHEDIR"] = self.workdir
        if env:
            e.update(env)
        return e

    def env_for(self, iface: int, ccache: str | None = None,
                env: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment for a program that acts as host 127.0.0.<iface> under socket_wrapper.

        The caller's env (if any) is applied last, so it may override KRB5_CONFIG etc.
        """
        e = self.base_env()
        e["LD_PRELOAD"] = self.socket_wrapper
        e["SOCKET_WRAPPER_DIR"] = self.swrap_dir
        e["SOCKET_WRAPPER_DEFAULT_IFACE"] = str(iface)
        e["KRB5CCNAME"] = "FILE:" + (ccache or os.path.join(self.ccache_dir, f"iface{iface}"))
        if env:
            e.update(env)
        return e

    # ---- database ------------------------------------------------------------------------

    def _kadmin(self, query: str, realm: str | None = None) -> str:
        cmd = [find_program("kadmin.local"), "-r", realm or self.realm, "-q", query]
        p = subprocess.run(cmd, env=self.base_env(), capture_output=True, text=True, timeout=60)
        # kadmin.local exits 0 even when the query fails; its errors go to stderr.
        if p.returncode != 0 or re.search(r"(?m)^(add_principal|ktadd|kadmin\.local|change_pass)"
                                          r".*(error|failed|while|usage)", p.stderr, re.I):
            raise RealmError(f"kadmin.local -q {query!r} failed:\n{p.stdout}{p.stderr}")
        return p.stdout

    def _create_db(self) -> None:
        for name in ("principal", "principal.ok", "principal.kadm5", "principal.kadm5.lock",
                     "stash"):
            try:
                os.unlink(os.path.join(self.workdir, name))
            except FileNotFoundError:
                pass
        for realm in (self.realm, *self.foreign_realms):
            if realm != self.realm:
                shutil.rmtree(os.path.join(self.workdir, realm), ignore_errors=True)
                os.makedirs(os.path.join(self.workdir, realm))
            p = subprocess.run([find_program("kdb5_util"), "-r", realm, "create", "-s", "-P",
                                MASTER_PASSWORD], env=self.base_env(), capture_output=True,
                               text=True, timeout=60)
            if p.returncode != 0:
                raise RealmError(f"kdb5_util create -r {realm} failed:\n{p.stdout}{p.stderr}")
        self._db_created = True
        for user in DEFAULT_USERS:
            self.add_principal(user, self.password(user))
        for service in DEFAULT_SERVICES:
            self.add_principal(service)
        for foreign in self.foreign_realms:
            for user in DEFAULT_FOREIGN_USERS:
                self.add_principal(f"{user}@{foreign}", self.password(user))
            # The same password in both databases gives both the same cross-realm keys.
            for trust in (f"krbtgt/{self.realm}@{foreign}", f"krbtgt/{foreign}@{self.realm}"):
                for db in (self.realm, foreign):
                    self._kadmin(f"addprinc -pw {CROSS_REALM_PASSWORD} {trust}", db)

    def qualify(self, principal: str) -> str:
        return principal if "@" in principal else f"{principal}@{self.realm}"

    def add_principal(self, name: str, password: str | None = None, flags: str = "") -> None:
        """Adds a principal; password None means a random key. flags: kadmin flags like
        "-requires_preauth" or "+ok_as_delegate"."""
        how = "-randkey" if password is None else f"-pw {shlex.quote(password)}"
        name = self.qualify(name)
        realm = name.rsplit("@", 1)[1]
        db = realm if realm in self.foreign_realms else self.realm  # each realm's own database
        self._kadmin(f"addprinc {how} {flags} {name}", db)

    def modify_principal(self, name: str, flags: str) -> None:
        self._kadmin(f"modprinc {flags} {self.qualify(name)}")

    def keytab(self, principals: Iterable[str], path: str) -> str:
        """Writes the principals' current keys (no re-keying: passwords stay valid) to path."""
        names = " ".join(self.qualify(p) for p in principals)
        self._kadmin(f"ktadd -k {os.path.abspath(path)} -norandkey {names}")
        return path

    # ---- the KDC -------------------------------------------------------------------------

    def start(self, wait_timeout: float = 20.0) -> "Realm":
        """Writes configs, creates the database (first time) and starts the KDC.

        Raises RealmError (with the KDC's stderr and log) if the KDC exits or does not come up.
        """
        self._write_configs()
        if not self._db_created:
            self._create_db()
        self.start_kdc(wait_timeout)
        return self

    def start_kdc(self, wait_timeout: float = 20.0) -> None:
        if self._kdc is not None and self._kdc.poll() is None:
            raise RealmError("KDC already running")
        self._write_configs()  # picks up changed plugins/extra text on restart
        env = self.env_for(self.kdc_iface)
        env.pop("KRB5CCNAME", None)
        env.update(self.kdc_env)
        log_size_before = os.path.getsize(self.kdc_log) if os.path.exists(self.kdc_log) else 0
        with open(self.kdc_stderr, "ab") as err:
            self._kdc = subprocess.Popen(
                [*self.kdc_wrapper, find_program("krb5kdc"), "-n", "-r", self.realm,
                 *[a for f in self.foreign_realms for a in ("-r", f)], "-P", self.pid_file],
                env=env, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                start_new_session=True,
                # The death signal follows the starting *thread*: only the main thread's
                # lifetime is the test's.
                preexec_fn=_die_with_parent
                if threading.current_thread() is threading.main_thread() else None)
        _live_realms.add(self)
        deadline = time.monotonic() + wait_timeout
        socket_names = ("T%02X%04X" % (self.kdc_iface, 88), "U%02X%04X" % (self.kdc_iface, 88))
        while True:
            if self._kdc.poll() is not None:
                rc = self._kdc.returncode
                self._kdc = None
                raise RealmError(f"krb5kdc exited with status {rc} during start-up\n"
                                 + self._diagnostics(log_size_before))
            log = self._read_log(log_size_before)
            if ("commencing operation" in log
                    and all(os.path.exists(os.path.join(self.swrap_dir, n)) for n in socket_names)):
                return
            if time.monotonic() > deadline:
                diag = self._diagnostics(log_size_before)
                self.stop()
                raise RealmError("krb5kdc did not start listening within "
                                 f"{wait_timeout}s\n{diag}")
            time.sleep(0.02)

    def kdc_running(self) -> bool:
        return self._kdc is not None and self._kdc.poll() is None

    @property
    def kdc_pid(self) -> int | None:
        return self._kdc.pid if self._kdc is not None else None

    def _read_log(self, offset: int = 0) -> str:
        try:
            with open(self.kdc_log, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def _diagnostics(self, log_offset: int = 0) -> str:
        err = ""
        try:
            with open(self.kdc_stderr, "rb") as f:
                err = f.read()[-4000:].decode("utf-8", "replace")
        except FileNotFoundError:
            pass
        return f"--- krb5kdc stderr ---\n{err}\n--- kdc.log ---\n{self._read_log(log_offset)[-4000:]}"

    def stop(self) -> None:
        """Stops the KDC and everything in its process group. Idempotent."""
        kdc, self._kdc = self._kdc, None
        _live_realms.discard(self)
        if kdc is None:
            return
        if kdc.poll() is None:
            try:
                os.killpg(kdc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                kdc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(kdc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                kdc.wait(timeout=5)

    def __enter__(self) -> "Realm":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- the KDC log ---------------------------------------------------------------------

    def log_lines(self) -> list[str]:
        """All lines of the KDC log so far."""
        return self._read_log(0).splitlines()

    def mark_log(self) -> None:
        """Makes new_log_lines() start from the current end of the log."""
        self._log_offset = os.path.getsize(self.kdc_log) if os.path.exists(self.kdc_log) else 0

    def new_log_lines(self) -> list[str]:
        """Complete KDC log lines written since the previous call (or mark_log())."""
        try:
            with open(self.kdc_log, "rb") as f:
                f.seek(self._log_offset)
                data = f.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1  # a partly written last line waits for the next call
        self._log_offset += end
        return data[:end].decode("utf-8", "replace").splitlines()

    # ---- clients -------------------------------------------------------------------------

    def ccache_path(self, principal: str, iface: int) -> str:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", principal)
        return os.path.join(self.ccache_dir, f"{safe}@{iface}")

    def run(self, argv: Sequence[str], iface: int, ccache: str | None = None,
            stdin: str | None = None, env: Mapping[str, str] | None = None,
            timeout: float = 30.0) -> subprocess.CompletedProcess:
        """Runs a client as host 127.0.0.<iface>; returns the CompletedProcess (text, captured).

        Never raises on a non-zero exit; the caller asserts what it expects.
        """
        return subprocess.run(list(argv), env=self.env_for(iface, ccache, env),
                              input=stdin if stdin is not None else "",
                              capture_output=True, text=True, timeout=timeout)

    def kinit(self, principal: str, password: str | None = None, iface: int = IFACE_ADMIN_DESKTOP,
              ccache: str | None = None, args: Sequence[str] = (), check: bool = True,
              env: Mapping[str, str] | None = None) -> str:
        """kinit principal with password (default: its known password) from 127.0.0.<iface>.

        Returns the ccache path. check=True raises RealmError when kinit fails.
        """
        ccache = ccache or self.ccache_path(principal, iface)
        if password is None:
            password = self.password(principal)
        p = self.run([find_program("kinit"), *args, self.qualify(principal)], iface, ccache,
                     stdin=password + "\n", env=env)
        self.last = p
        if check and p.returncode != 0:
            raise RealmError(f"kinit {principal} from 127.0.0.{iface} failed "
                             f"({p.returncode}):\n{p.stdout}{p.stderr}")
        return ccache

    def kvno(self, service: str, iface: int, ccache: str, check: bool = True,
             env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
        """kvno service with the given ccache from 127.0.0.<iface>."""
        p = self.run([find_program("kvno"), self.qualify(service)], iface, ccache, env=env)
        if check and p.returncode != 0:
            raise RealmError(f"kvno {service} from 127.0.0.{iface} failed "
                             f"({p.returncode}):\n{p.stdout}{p.stderr}")
        return p


KDC_LINE_PREFIX = re.compile(r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ krb5kdc\[\d+\]\((\w+)\): ")
KDC_REQ_ETYPES = re.compile(r"^((?:AS|TGS)_REQ) \(\d+ etypes \{[^}]*\}\) ")


def kdc_message(line: str) -> str:
    """A KDC log line reduced to what tests assert: "SEVERITY: message" without the syslog-style
    prefix (date, host, pid), with the client's etype list of AS_REQ/TGS_REQ lines dropped
    ("TGS_REQ 127.0.0.5: ...") and every "authtime N" replaced by "authtime T".
    A line that does not have the KDC's prefix is returned as "UNPARSED: line"."""
    m = KDC_LINE_PREFIX.match(line)
    if not m:
        return "UNPARSED: " + line
    msg = KDC_REQ_ETYPES.sub(r"\1 ", line[m.end():])
    return m.group(1) + ": " + re.sub(r"authtime \d+", "authtime T", msg)


_live_realms: set[Realm] = set()


@atexit.register
def _stop_all() -> None:
    for realm in list(_live_realms):
        realm.stop()


# ---- command line ------------------------------------------------------------------------

def _cmd_up(args: argparse.Namespace) -> int:
    plugins: dict[str, list[str]] = {}
    for spec in args.plugin or ():
        interface, _, rel = spec.partition("=")
        plugins.setdefault(interface.strip(), []).append(rel.strip())
    extra = ""
    if args.kdc_conf_extra:
        with open(args.kdc_conf_extra) as f:
            extra = f.read()
    realm = Realm(args.dir, realm=args.realm, kdc_conf_extra=extra, plugins=plugins)
    realm.start()
    with open(os.path.join(realm.workdir, "harness.pid"), "w") as f:
        f.write(f"{os.getpid()}\n")
    env = realm.env_for(IFACE_ADMIN_DESKTOP)
    out = [f"export {k}={shlex.quote(env[k])}" for k in
           ("KRB5_CONFIG", "KRB5_KDC_PROFILE", "LD_PRELOAD", "SOCKET_WRAPPER_DIR",
            "SOCKET_WRAPPER_DEFAULT_IFACE", "KRB5CCNAME")]
    out.append(f"# KDC pid {realm.kdc_pid} on {realm.kdc_address}:88, log {realm.kdc_log}")
    out.append(f"# passwords: <principal>-pw, e.g. alice-pw; stop with: "
               f"{sys.argv[0]} down --dir {shlex.quote(realm.workdir)}")
    print("\n".join(out), flush=True)

    def on_signal(signum, _frame):
        realm.stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    while realm.kdc_running():
        time.sleep(0.5)
    print("krb5kdc exited", file=sys.stderr)
    realm.stop()
    return 1


def _cmd_down(args: argparse.Namespace) -> int:
    path = os.path.join(os.path.abspath(args.dir), "harness.pid")
    try:
        with open(path) as f:
            pid = int(f.read().strip())
    except (FileNotFoundError, ValueError):
        print(f"{path}: no running realm", file=sys.stderr)
        return 1
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        print(f"realm process {pid} already gone", file=sys.stderr)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    os.unlink(path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Throwaway MIT KDC under socket_wrapper.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start a realm and keep running until killed")
    up.add_argument("--dir", required=True)
    up.add_argument("--realm", default="HG.TEST")
    up.add_argument("--plugin", action="append",
                    help="INTERFACE=RELATION, e.g. kdcpolicy='module = hopguard:/p/x.so'")
    up.add_argument("--kdc-conf-extra", help="file whose text is appended to kdc.conf")
    down = sub.add_parser("down", help="stop the realm started by 'up --dir D'")
    down.add_argument("--dir", required=True)
    args = parser.parse_args(argv)
    return _cmd_up(args) if args.cmd == "up" else _cmd_down(args)


if __name__ == "__main__":
    sys.exit(main())
