"""Real sshd hosts behind hopguard, for tests/sshd/test_sshd.py and scripts/demo.

Contract (root, inside private_syslog.reexec_in_mount_namespace()):

    private_run()                                   # tmpfs on /run, with sshd's /run/sshd
    write_accounts(work)                            # nss_wrapper passwd/group/hosts, homes
    h = Host(work, realm, "legacy1", "legacy", 3, modules=Modules(pam, localauth, config))
    h.start(); ssh(realm, work, 2, "legacy1.hg.test", ccache, "echo hi"); h.stop()

Each Host is a real /usr/sbin/sshd -D -r (no re-exec, which socket_wrapper needs) listening on
127.0.0.<iface>:22 under socket_wrapper, with its own config (test-only lines, then the shipped
etc/ssh/sshd_config.d/hopguard-<role>.conf), host key, keytab, krb5.conf ([plugins] localauth ->
the built hopguard_localauth.so) and a pam_wrapper service directory whose "sshd" stack is
pam_hopguard.so for auth, account and session. nss_wrapper supplies the accounts (root, sshd,
the users of write_accounts) and the host names.

A Host logs through /dev/log. With syslog_socket=PATH its sshd runs in a mount namespace of its
own where PATH is bound over /dev/log, so one rsyslogd can tell the hosts apart (an imuxsock
input per socket with HostName=<host>): the hopguard scanner finds the target host from the
syslog hostname. That needs /dev/log to exist as a plain file (private_syslog.private_dev()).

Python 3 standard library only.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass

SSHD = "/usr/sbin/sshd"
LIBDIR = "/usr/lib/x86_64-linux-gnu"
NSS_WRAPPER = f"{LIBDIR}/libnss_wrapper.so"
PAM_WRAPPER = f"{LIBDIR}/libpam_wrapper.so"
SRC = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
# Local users (uid = gid) and the principals each one's ~/.k5login names. .k5login lists both the
# ordinary and the host-specific principal, so libkrb5's own check would admit either: every
# refusal is hopguard's.
USERS = {"alice": 2001, "bob": 2002}


def with_preload(value: str) -> str:
    """HOPGUARD_TEST_PRELOAD first in LD_PRELOAD: the sanitizer runtimes when the modules are
    built with HOPGUARD_SANITIZE=ON."""
    first = os.environ.get("HOPGUARD_TEST_PRELOAD", "")
    return f"{first}:{value}" if first else value


@dataclass(frozen=True)
class Modules:
    """What a host loads: the built modules and the site config they read."""
    pam_module: str
    localauth: str
    config: str


def private_run() -> None:
    """A tmpfs on /run in this mount namespace, with sshd's privsep directory."""
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/run"], check=True)
    os.makedirs("/run/sshd", mode=0o755)


def write_accounts(work: str, users: dict[str, int] | None = None) -> None:
    """nss_wrapper files in work (passwd, group, hosts) and each user's home with a .k5login
    naming <user>@HG.TEST and <user>-legacy1@HG.TEST."""
    users = USERS if users is None else users
    passwd = ["root:x:0:0:root:/root:/bin/sh", "sshd:x:102:65534::/run/sshd:/usr/sbin/nologin"]
    group = ["root:x:0:", "nogroup:x:65534:"]
    for name, uid in users.items():
        home = os.path.join(work, "home", name)
        os.makedirs(home)
        k5login = os.path.join(home, ".k5login")
        with open(k5login, "w") as f:
            f.write(f"{name}@HG.TEST\n{name}-legacy1@HG.TEST\n")
        os.chown(home, uid, uid)
        os.chown(k5login, uid, uid)
        passwd.append(f"{name}:x:{uid}:{uid}:{name.title()}:{home}:/bin/sh")
        group.append(f"{name}:x:{uid}:")
    with open(os.path.join(work, "passwd"), "w") as f:
        f.write("\n".join(passwd) + "\n")
    with open(os.path.join(work, "group"), "w") as f:
        f.write("\n".join(group) + "\n")
    with open(os.path.join(work, "hosts"), "w") as f:
        f.write("127.0.0.2 bastion.hg.test\n127.0.0.3 legacy1.hg.test\n127.0.0.6 legacy2.hg.test\n")


def nss_env(work: str) -> dict[str, str]:
    return {"NSS_WRAPPER_PASSWD": os.path.join(work, "passwd"),
            "NSS_WRAPPER_GROUP": os.path.join(work, "group"),
            "NSS_WRAPPER_HOSTS": os.path.join(work, "hosts")}


class Host:
    """One sshd host: config dir, keytab, krb5.conf, PAM stack, and the running sshd."""

    def __init__(self, work: str, realm, name: str, role: str, iface: int, modules: Modules,
                 localauth_mode: str = "enforce", password_auth: bool = False,
                 syslog_socket: str | None = None):
        self.name, self.role, self.iface = name, role, iface
        self.dir = os.path.join(work, f"{name}-{localauth_mode}")
        self.realm = realm
        self.syslog_socket = syslog_socket
        os.makedirs(self.dir, exist_ok=True)
        self.keytab = os.path.join(self.dir, "krb5.keytab")
        realm.keytab([f"host/{name}.hg.test"], self.keytab)
        self.hostkey = os.path.join(self.dir, "ssh_host_ed25519_key")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.hostkey], check=True)
        with open(realm.krb5_conf) as f:
            base = f.read()
        self.krb5_conf = os.path.join(self.dir, "krb5.conf")
        with open(self.krb5_conf, "w") as f:
            f.write(base + f"""
[plugins]
    localauth = {{
        module = hopguard:{modules.localauth}
    }}

[hopguard]
    config = {modules.config}
    host = {name}
    localauth_mode = {localauth_mode}
""")
        pam_dir = os.path.join(self.dir, "pam.d")
        os.makedirs(pam_dir, exist_ok=True)
        args = f"config={modules.config} role={role} host={name}"
        with open(os.path.join(pam_dir, "sshd"), "w") as f:
            f.write(f"auth     required  {modules.pam_module} {args} keytab=FILE:{self.keytab}\n"
                    f"account  required  {modules.pam_module} {args}\n"
                    f"session  required  {modules.pam_module} {args}\n")
        with open(os.path.join(pam_dir, "other"), "w") as f:
            f.write("auth required pam_deny.so\naccount required pam_deny.so\nsession required pam_deny.so\n")
        self.sshd_config = os.path.join(self.dir, "sshd_config")
        with open(os.path.join(SRC, "etc", "ssh", "sshd_config.d", f"hopguard-{role}.conf")) as f:
            shipped = f.read()
        with open(self.sshd_config, "w") as f:
            # What only a test needs (its own port, keys and files), then the shipped snippet;
            # sshd keeps the first value of a keyword, so the test's lines win.
            f.write(f"""# --- test only ---
ListenAddress 127.0.0.{iface}
Port 22
HostKey {self.hostkey}
PidFile {self.dir}/sshd.pid
StrictModes no
# The machine's host name is not the test host's: accept any key of this sshd's own keytab
# (it holds host/<name>.hg.test only).
GSSAPIStrictAcceptorCheck no
UseDNS no
PermitRootLogin no
PasswordAuthentication {"yes" if password_auth else "no"}
# --- etc/ssh/sshd_config.d/hopguard-{role}.conf ---
""" + shipped)
        self.env = realm.env_for(iface)
        self.env.pop("KRB5CCNAME", None)
        self.env.update({
            "LD_PRELOAD": with_preload(":".join([self.env["LD_PRELOAD"], NSS_WRAPPER, PAM_WRAPPER])),
            "KRB5_CONFIG": self.krb5_conf,
            "KRB5_KTNAME": f"FILE:{self.keytab}",
            "PAM_WRAPPER": "1",
            "PAM_WRAPPER_SERVICE_DIR": pam_dir,
            "PAM_WRAPPER_USE_SYSLOG": "1",
            **nss_env(work),
        })
        self.proc: subprocess.Popen | None = None

    def _socket_file(self) -> str:
        return os.path.join(self.realm.swrap_dir, "T%02X%04X" % (self.iface, 22))

    def start(self) -> None:
        t = subprocess.run([SSHD, "-t", "-f", self.sshd_config], env=self.env, capture_output=True, text=True)
        if t.returncode != 0:
            raise RuntimeError(f"sshd -t: {t.stdout}{t.stderr}")
        argv = [SSHD, "-D", "-r", "-f", self.sshd_config]
        if self.syslog_socket:
            # unshare execs in place (no --fork): the pid is sshd's, and killpg reaches it.
            argv = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                    'mount --bind "$0" /dev/log && exec "$@"', self.syslog_socket, *argv]
        self.proc = subprocess.Popen(argv, env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, "sshd.stderr"), "w"),
                                     start_new_session=True)
        deadline = time.monotonic() + 10
        while not os.path.exists(self._socket_file()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sshd on 127.0.0.{self.iface} did not start: "
                                   + open(os.path.join(self.dir, "sshd.stderr")).read())
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            self.proc.wait(timeout=10)
        self.proc = None
        # socket_wrapper leaves the listening socket's file behind; a later sshd on the same
        # address must not be taken for ready because of it.
        try:
            os.unlink(self._socket_file())
        except FileNotFoundError:
            pass


def ssh(realm, work: str, iface: int, target: str, ccache: str | None, command: str,
        password: str | None = None, user: str = "alice") -> subprocess.CompletedProcess:
    """A real ssh client as 127.0.0.<iface>: GSSAPI with ccache, or password via SSH_ASKPASS."""
    env = realm.env_for(iface, ccache=ccache)
    env["LD_PRELOAD"] = env["LD_PRELOAD"] + ":" + NSS_WRAPPER
    env.update(nss_env(work))
    opts = ["-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "GSSAPIDelegateCredentials=no", "-o", "ConnectTimeout=10"]
    if password is None:
        opts += ["-o", "BatchMode=yes", "-o", "GSSAPIAuthentication=yes",
                 "-o", "PreferredAuthentications=gssapi-with-mic"]
    else:
        askpass = os.path.join(work, "askpass.sh")
        with open(askpass, "w") as f:
            f.write(f"#!/bin/sh\necho '{password}'\n")
        os.chmod(askpass, 0o700)
        env.update(SSH_ASKPASS=askpass, SSH_ASKPASS_REQUIRE="force", DISPLAY=":0")
        opts += ["-o", "GSSAPIAuthentication=no", "-o", "PreferredAuthentications=password",
                 "-o", "NumberOfPasswordPrompts=1"]
    return subprocess.run(["ssh", *opts, "-l", user, target, command], env=env, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def progs(lines: list[str]) -> dict[str, list[str]]:
    """Syslog lines by program: {'sshd': [msg...], 'hopguard': [...], 'pam': [...]}."""
    out: dict[str, list[str]] = {"sshd": [], "hopguard": [], "pam": []}
    for line in lines:
        m = re.match(r"^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ (\S+?)(\[\d+\])?: (.*)$", line)
        if not m:
            continue
        tag, msg = m.group(1), m.group(3)
        if tag == "hopguard":
            out["hopguard"].append(msg)
        elif tag == "sshd":
            if msg.startswith("pam_hopguard("):
                out["pam"].append(msg)
            else:
                out["sshd"].append(msg)
    return out
