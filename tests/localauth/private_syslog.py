"""A real rsyslogd serving a private /dev/log, for tests of code that logs through syslog.

Contract:
    private_syslog.reexec_in_mount_namespace()   # first thing in main(): re-runs the script
                                                 # under `unshare -m` (root only), or returns
                                                 # False when that is impossible (then skip)
    with private_syslog.Syslog(workdir) as log:  # /dev/log -> rsyslogd -> workdir/syslog.log
        ... run programs that call syslog() ...
        lines = log.wait_for(lambda l: "hopguard[" in l, count=1)   # new lines, in order

Inside the namespace /dev is a fresh tmpfs holding bind mounts of the real device nodes the
tested programs need (null, zero, urandom, tty, ptmx, pts, shm...), so the host's /dev is never
touched and tests running at the same time never see each other's /dev/log. Lines are written
in rsyslog's traditional file format: "Mmm dd hh:mm:ss HOST TAG MSG", as on a real host.

Python 3 standard library only.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

_INNER_FLAG = "HOPGUARD_IN_PRIVATE_MOUNT_NS"
DEVICE_NODES = ("null", "zero", "full", "random", "urandom", "tty", "ptmx")
DEVICE_DIRS = ("pts", "shm", "mqueue")
_private_dev_done = False  # /dev is replaced once per process (per namespace)


def reexec_in_mount_namespace() -> bool:
    """Re-executes this script in a private mount namespace. Returns True in the child (the
    caller continues), exits with the child's status in the parent, returns False if
    impossible (not root, no unshare)."""
    if os.environ.get(_INNER_FLAG) == "1":
        return True
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"],
                           capture_output=True)
    if probe.returncode != 0:
        return False
    env = dict(os.environ, **{_INNER_FLAG: "1"})
    rc = subprocess.call(["unshare", "-m", "--propagation", "private",
                          sys.executable, *sys.argv], env=env)
    sys.exit(rc)


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


def private_dev(workdir: str) -> None:
    """Replaces /dev in this mount namespace by a tmpfs with the needed nodes bound in.

    The real /dev is staged at a temporary bind mount only while the nodes are bound, then
    detached and its directory removed: the work directory must never contain a view of the
    real /dev, or deleting the work directory would delete the host's device nodes.
    """
    stage = tempfile.mkdtemp(prefix="hg-realdev-")
    _mount("--rbind", "/dev", stage)
    try:
        _mount("-t", "tmpfs", "-o", "mode=0755,nosuid", "tmpfs", "/dev")
        for name in DEVICE_NODES:
            src = os.path.join(stage, name)
            if os.path.islink(src):
                os.symlink(os.readlink(src), f"/dev/{name}")
            elif os.path.exists(src):
                open(f"/dev/{name}", "w").close()
                _mount("--bind", src, f"/dev/{name}")
        for name in DEVICE_DIRS:
            src = os.path.join(stage, name)
            if os.path.isdir(src):
                os.mkdir(f"/dev/{name}")
                _mount("--rbind", src, f"/dev/{name}")
        for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
            os.symlink(target, f"/dev/{name}")
    finally:
        subprocess.run(["umount", "-l", stage], check=True, capture_output=True)
        if os.path.ismount(stage) or os.listdir(stage):
            raise RuntimeError(f"{stage} still shows the real /dev; not removing it")
        os.rmdir(stage)


def remove_work_dir(path: str) -> None:
    """rmtree that never crosses a mount point (it raises instead)."""
    for root, dirs, _files in os.walk(path):
        for d in dirs:
            if os.path.ismount(os.path.join(root, d)):
                raise RuntimeError(f"refusing to delete {path}: {os.path.join(root, d)} is a mount point")
    shutil.rmtree(path)


class Syslog:
    """rsyslogd -n with imuxsock on /dev/log, writing every message to workdir/syslog.log."""

    def __init__(self, workdir: str):
        self.workdir = os.path.abspath(workdir)
        self.path = os.path.join(self.workdir, "syslog.log")
        self.conf = os.path.join(self.workdir, "rsyslog.conf")
        self.pidfile = os.path.join(self.workdir, "rsyslogd.pid")
        self._proc: subprocess.Popen | None = None
        self._offset = 0

    def __enter__(self) -> "Syslog":
        os.makedirs(self.workdir, exist_ok=True)
        if os.environ.get(_INNER_FLAG) != "1":
            raise RuntimeError("Syslog needs reexec_in_mount_namespace() first")
        global _private_dev_done
        if not _private_dev_done:
            private_dev(self.workdir)
            _private_dev_done = True
        spool = os.path.join(self.workdir, "rsyslog-spool")
        os.makedirs(spool, exist_ok=True)
        with open(self.conf, "w") as f:
            f.write(f"""global(workDirectory="{spool}")
module(load="imuxsock" SysSock.Name="/dev/log" SysSock.RateLimit.Interval="0")
*.* action(type="omfile" file="{self.path}" template="RSYSLOG_TraditionalFileFormat")
""")
        open(self.path, "a").close()
        self._proc = subprocess.Popen(["rsyslogd", "-n", "-f", self.conf, "-i", self.pidfile],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=open(os.path.join(self.workdir, "rsyslogd.stderr"), "w"),
                                      start_new_session=True)
        deadline = time.monotonic() + 10
        while not os.path.exists("/dev/log"):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("rsyslogd did not create /dev/log")
            time.sleep(0.02)
        # rsyslogd writes its own start-up line; wait for it so the sink is known to work.
        self.wait_for(lambda l: "rsyslogd" in l, count=1, timeout=10)
        return self

    def __exit__(self, *exc) -> None:
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()

    def new_lines(self) -> list[str]:
        """Complete lines written since the previous call."""
        with open(self.path, "rb") as f:
            f.seek(self._offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self._offset += end
        return data[:end].decode("utf-8", "replace").splitlines()

    def wait_for(self, predicate, count: int = 1, timeout: float = 5.0) -> list[str]:
        """New lines until `count` of them satisfy predicate (all new lines are returned);
        raises AssertionError with what arrived on timeout."""
        got: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            got += self.new_lines()
            if sum(1 for l in got if predicate(l)) >= count:
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {count} matching syslog line(s); got {got!r}")
            time.sleep(0.02)

    def settle(self, quiet: float = 0.3) -> list[str]:
        """New lines after a quiet period (to assert that nothing was logged)."""
        time.sleep(quiet)
        return self.new_lines()
