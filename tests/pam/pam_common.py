"""What the tests of pam_hopguard.so against a real KDC share: paths, the failure list, the
sanitizer preload, the PAM service file, and the legacy1 site a password login needs.
Python standard library only."""

from __future__ import annotations

import os

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("HOPGUARD_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "../..")))
BUILD = os.environ["HOPGUARD_BUILD_DIR"]
MODULE = os.path.join(BUILD, "pam_hopguard.so")
CONFIG = os.path.join(HERE, "data", "hopguard.toml")

failures: list[str] = []


def check(cond: bool, what: str) -> None:
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}", flush=True)


# HOPGUARD_TEST_PRELOAD: libraries put first in LD_PRELOAD of every process that loads a built
# module (the sanitizer runtimes when the modules are built with HOPGUARD_SANITIZE=ON).
def with_preload(value: str) -> str:
    first = os.environ.get("HOPGUARD_TEST_PRELOAD", "")
    return f"{first}:{value}" if first else value


def write_service(svc_dir: str, name: str, args: str) -> None:
    with open(os.path.join(svc_dir, name), "w") as f:
        f.write(f"auth     required  {MODULE} {args}\n"
                f"account  required  {MODULE} {args}\n"
                f"session  required  {MODULE} {args}\n")


def legacy_login_site(work: str) -> tuple[str, str, str]:
    """In work: the PAM service "legacy-login" (auth, account, session: role=legacy on legacy1,
    the host keytab and a sticky ccache directory), and passwd/group for nss_wrapper with alice
    (uid 2001) only for the module's getpwnam. Returns (service directory, keytab path, ccache
    directory); the caller fills the keytab from its realm."""
    keytab = os.path.join(work, "legacy1.keytab")
    ccdir = os.path.join(work, "ccache-users")
    os.makedirs(ccdir, mode=0o1777)
    os.chmod(ccdir, 0o1777)
    svc = os.path.join(work, "pam.d")
    os.makedirs(svc)
    write_service(svc, "legacy-login",
                  f"config={CONFIG} role=legacy host=legacy1 keytab=FILE:{keytab} ccache_dir={ccdir}")
    with open(os.path.join(work, "passwd"), "w") as f:
        f.write(f"alice:x:2001:2001:Alice:{work}:/bin/sh\n")
    with open(os.path.join(work, "group"), "w") as f:
        f.write("alice:x:2001:\n")
    return svc, keytab, ccdir
