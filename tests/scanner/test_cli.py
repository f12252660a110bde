#!/usr/bin/env python3
"""`hopguard scan` and `hopguard rules` as a user runs them (DESIGN section 6): exit codes,
stdin, the summary, --rules errors with file and line, and the rules test trace."""
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile

HG = sys.argv[1]
SRC = os.environ["HOPGUARD_SOURCE_DIR"]
CFG = os.path.join(SRC, "tests", "scanner", "data", "hopguard.toml")
ROW5 = "Nov 22 10:00:01 legacy1 sshd[9]: Accepted password for alice from 127.0.0.4 port 50022 ssh2\n"
LEGIT = "Nov 22 10:00:01 legacy1 sshd[9]: Accepted password for alice from 127.0.0.2 port 50022 ssh2\n"
failures = []


def check(what, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(f"{what}\n{detail}")


def run(args, stdin=""):
    return subprocess.run([HG, *args], input=stdin, capture_output=True, text=True, timeout=30)


with tempfile.TemporaryDirectory() as tmp:
    p = run(["scan", "--config", CFG, "--json", "-"], stdin=ROW5)
    check("scan -: exit 1 with an alarm", p.returncode == 1, p.stderr)
    lines = p.stdout.splitlines()
    check("scan -: one JSON alarm line", len(lines) == 1 and json.loads(lines[0])["rule"]["id"] == "legacy-login-not-via-bastion", p.stdout)
    check("scan: summary on stderr", "hopguard scan summary" in p.stderr and "legacy-login-not-via-bastion" in p.stderr, p.stderr)
    p = run(["scan", "--config", CFG, "-"], stdin=LEGIT)
    check("scan: exit 0 without alarm, nothing on stdout", p.returncode == 0 and p.stdout == "", p.stdout + p.stderr)
    check("scan: no 'dated after receipt' line when there is none", "dated after receipt" not in p.stderr, p.stderr)
    # Standard input is received now: a line dated decades ahead counts as dated now, and is
    # counted in the summary.
    p = run(["scan", "--config", CFG, "-"], stdin="<13>1 2099-01-01T00:00:00Z guest7 cron 1 - - x\n" + LEGIT)
    check("scan: a line dated after receipt is counted in the summary",
          p.returncode == 0 and re.search(r"^  lines dated after receipt +1$", p.stderr, re.M) is not None, p.stderr)
    # Lines the scan could not read whole are named by file and line on stderr, at most ten per
    # input, the rest counted; the line numbers stay right after a cut line, in merged inputs too.
    bad_kdc = "Nov 22 10:00:00 vm krb5kdc[5709](info): AS_REQ (garbage\n"
    long_path = os.path.join(tmp, "long.log")
    with open(long_path, "w") as f:
        f.write(LEGIT + "Nov 22 10:00:01 legacy1 cron[1]: " + "x" * 70000 + "\n" + bad_kdc + ROW5)
    p = run(["scan", "--config", CFG, "--json", long_path])
    err = p.stderr.splitlines()
    check("scan: a line over max_frame_bytes is named by file and line",
          f"hopguard: {long_path}:2: line longer than max_frame_bytes (65536): only its first 65536 bytes were scanned" in err, p.stderr)
    check("scan: a known program's line not understood is named by file and line",
          f"hopguard: {long_path}:3: kdc line not understood (a parse failure)" in err, p.stderr)
    check("scan: the line after them is still scanned, and the unreadable KDC line is an alarm of its own",
          p.returncode == 1 and sorted(json.loads(l)["rule"]["id"] for l in p.stdout.splitlines())
          == ["kdc-request-unreadable", "legacy-login-not-via-bastion"], p.stdout + p.stderr)
    many_path = os.path.join(tmp, "many.log")
    with open(many_path, "w") as f:
        f.write(LEGIT + bad_kdc * 12)
    p = run(["scan", "--config", CFG, long_path, many_path])
    err = p.stderr.splitlines()
    named = [l for l in err if re.match(re.escape(f"hopguard: {many_path}:") + r"\d+: ", l)]
    check("scan: at most ten lines named per input, in merged inputs with their own line numbers",
          named == [f"hopguard: {many_path}:{n}: kdc line not understood (a parse failure)" for n in range(2, 12)]
          and f"hopguard: {long_path}:3: kdc line not understood (a parse failure)" in err, p.stderr)
    check("scan: the lines not named are counted",
          f"hopguard: {many_path}: 2 more lines like these not named" in err
          and re.search(r"^  kdc +0 +0 +13$", p.stderr, re.M) is not None, p.stderr)
    p = run(["scan", "--config", CFG, "-"], stdin=bad_kdc)
    check("scan -: standard input is named (stdin)",
          "hopguard: (stdin):1: kdc line not understood (a parse failure)" in p.stderr.splitlines(), p.stderr)
    # Several files are merged by event time, also across the 1 MiB chunks they are read in: the
    # KDC's ticket and the guest's login, each after 20000 lines of its own file, are one incident.
    kdc_path, host_path = os.path.join(tmp, "krb5kdc.log"), os.path.join(tmp, "auth.log")
    tgs = ("Nov 22 10:00:00 kdc1 krb5kdc[5709](info): TGS_REQ (1 etypes {aes256-cts-hmac-sha1-96(18)}) 127.0.0.2: "
           "ISSUE: authtime 1795371052, etypes {rep=aes256-cts-hmac-sha1-96(18), tkt=aes256-cts-hmac-sha1-96(18), "
           "ses=aes256-cts-hmac-sha1-96(18)}, alice@HG.TEST for host/legacy1.hg.test@HG.TEST\n")
    with open(kdc_path, "w") as f:
        f.write("".join(f"Nov 22 09:{i // 400:02d}:{i % 60:02d} kdc1 krb5kdc[5709](info): closing down fd {i}\n"
                        for i in range(20000)) + tgs)
    with open(host_path, "w") as f:
        f.write("".join(f"Nov 22 09:{i // 400:02d}:{i % 60:02d} web1 cron[{i}]: (root) CMD (run-parts /etc/cron.hourly {i})\n"
                        for i in range(20000))
                + "Nov 22 10:00:01 legacy1 sshd[400]: Accepted gssapi-with-mic for alice from 127.0.0.2 port 50022 ssh2: alice@HG.TEST\n")
    p = run(["scan", "--config", CFG, "--json", host_path, kdc_path])
    alarms = [json.loads(l) for l in p.stdout.splitlines()]
    check("scan: two files merged by time across their chunks give one incident with both evidence lines",
          p.returncode == 1 and len(alarms) == 1 and alarms[0]["rule"]["id"] == "regular-cred-on-legacy"
          and alarms[0]["hopguard"]["count"] == 2, p.stdout + p.stderr)
    # One file given twice (by name, by a link) is scanned once: three wrong passwords read twice
    # would reach the guessing threshold of five, and evidence counts would double.
    guesses_path, link_path = os.path.join(tmp, "guesses.log"), os.path.join(tmp, "guesses-link.log")
    with open(guesses_path, "w") as f:
        for i in range(3):
            f.write(f"Nov 22 10:00:0{i} kdc1 krb5kdc[5709](info): AS_REQ (1 etypes {{aes256-cts-hmac-sha1-96(18)}}) "
                    "127.0.0.4: PREAUTH_FAILED: alice-legacy1@HG.TEST for krbtgt/HG.TEST@HG.TEST, Preauthentication failed\n")
        f.write(ROW5)
    os.symlink(guesses_path, link_path)
    p = run(["scan", "--config", CFG, "--json", guesses_path, guesses_path, link_path])
    alarms = [json.loads(l) for l in p.stdout.splitlines()]
    check("scan: a file given twice, or by a link, is scanned once and said so",
          p.returncode == 1 and [a["rule"]["id"] for a in alarms] == ["legacy-login-not-via-bastion"]
          and alarms[0]["hopguard"]["count"] == 1
          and f"hopguard: {guesses_path}: the same file as {guesses_path}: scanned once" in p.stderr.splitlines()
          and f"hopguard: {link_path}: the same file as {guesses_path}: scanned once" in p.stderr.splitlines(),
          p.stdout + p.stderr)
    p = run(["scan", "--config", CFG, "--json", "-", "-"], stdin=ROW5)
    check("scan - -: standard input given twice is read once",
          p.returncode == 1 and len(p.stdout.splitlines()) == 1 and "hopguard: (stdin): given twice: scanned once" in p.stderr,
          p.stdout + p.stderr)
    # Rotated logs are gzip-compressed (logrotate): read as such, in a file or on stdin, also
    # several members one after the other; a stream cut short is an error naming the file, after
    # the lines before the cut were scanned.
    gz_path = os.path.join(tmp, "auth.log.2.gz")
    with open(gz_path, "wb") as f:
        f.write(gzip.compress(LEGIT.encode()) + gzip.compress(ROW5.encode()))
    p = run(["scan", "--config", CFG, "--json", gz_path])
    check("scan: a gzip file (two members) is read as its text",
          p.returncode == 1 and [json.loads(l)["rule"]["id"] for l in p.stdout.splitlines()] == ["legacy-login-not-via-bastion"]
          and re.search(r"^  sshd +2 +0 +0$", p.stderr, re.M) is not None, p.stdout + p.stderr)
    p = subprocess.run([HG, "scan", "--config", CFG, "--json", "-"], input=gzip.compress(ROW5.encode()),
                       capture_output=True, timeout=30)
    check("scan -: gzip on standard input", p.returncode == 1 and len(p.stdout.splitlines()) == 1, p.stderr.decode())
    cut_path = os.path.join(tmp, "cut.log.gz")
    whole = gzip.compress((ROW5 + "".join(f"Nov 22 10:{i // 60:02d}:{i % 60:02d} web1 cron[{i}]: job {i * 7919}\n"
                                          for i in range(20000))).encode())
    with open(cut_path, "wb") as f:
        f.write(whole[: len(whole) // 2])
    p = run(["scan", "--config", CFG, "--json", cut_path])
    check("scan: a gzip file cut short is exit 2 naming it, after its first lines were scanned",
          p.returncode == 2 and f"hopguard: {cut_path}: read error: unexpected end of file" in p.stderr.splitlines()
          and len(p.stdout.splitlines()) == 1, p.stdout + p.stderr)
    p = run(["scan", "--config", CFG, tmp])
    check("scan: a directory is exit 2 naming it", p.returncode == 2 and f"hopguard: {tmp}: read error: Is a directory" in p.stderr, p.stderr)
    # Output that does not reach stdout (here a full device) is an error, never exit 0 or 1.
    # (/dev/full is in every Linux system and container this runs on; said when it is not.)
    if not os.path.exists("/dev/full"):
        check("/dev/full exists for the write-failure checks", False)
    else:
        with open("/dev/full", "w") as full:
            p = subprocess.run([HG, "scan", "--config", CFG, "--json", "-"], input=ROW5, stdout=full,
                               stderr=subprocess.PIPE, text=True, timeout=30)
        check("scan: alarms that cannot be written are exit 2, said on stderr",
              p.returncode == 2 and "hopguard: writing the alarms to standard output failed: No space left on device"
              in p.stderr.splitlines(), p.stderr)
        with open("/dev/full", "w") as full:
            p = subprocess.run([HG, "check", "--config", CFG, "--role", "legacy", "--host", "legacy1", "--user", "alice",
                                "--rhost", "127.0.0.4", "--json"], stdout=full, stderr=subprocess.PIPE, text=True, timeout=30)
        check("check: a verdict that cannot be written is exit 2",
              p.returncode == 2 and "hopguard: writing to standard output failed: No space left on device"
              in p.stderr.splitlines(), p.stderr)
    p = run(["scan", "--config", CFG, os.path.join(tmp, "missing.log")])
    check("scan: unreadable file is exit 2 naming it", p.returncode == 2 and "missing.log" in p.stderr, p.stderr)
    p = run(["scan", "--config", os.path.join(tmp, "nope.toml"), "-"])
    check("scan: unusable config is exit 2", p.returncode == 2, p.stderr)
    rules = os.path.join(tmp, "rules")
    os.mkdir(rules)
    with open(os.path.join(rules, "bad.toml"), "w") as f:
        f.write('source = "kdc"\n[[rule]]\nid = "x"\nname = "x"\nseverity = 1\nevents = ["kdc.nope"]\n')
    p = run(["scan", "--config", CFG, "--rules", rules, "-"], stdin=LEGIT)
    check("scan --rules with a bad file: exit 2, file and line", p.returncode == 2 and "bad.toml:6" in p.stderr, p.stderr)
    p = run(["rules", "check", "--config", CFG, "--rules", rules])
    check("rules check: exit 2 naming the file", p.returncode == 2 and "bad.toml:6" in p.stderr, p.stderr)
    p = run(["rules", "check", "--config", CFG])
    check("rules check: shipped rules valid", p.returncode == 0 and "rules valid" in p.stdout, p.stdout + p.stderr)
    p = run(["rules", "test", "--config", CFG, ROW5.strip()])
    out = p.stdout
    check("rules test: exit 0 when a rule matched", p.returncode == 0, out + p.stderr)
    check("rules test: shows the record, event, facts and every rule",
          "program=sshd" in out and "event.kind = sshd.accepted" in out and "fact.address_is_bastion = false" in out
          and "[MATCH] legacy-login-not-via-bastion" in out and "address in allowed_sources" not in out
          and "rules/kdc.toml" in out, out)
    guess = ("Nov 22 10:00:00 vm krb5kdc[5709](info): AS_REQ (1 etypes {aes256-cts-hmac-sha1-96(18)}) "
             "127.0.0.4: PREAUTH_FAILED: alice-legacy1@HG.TEST for krbtgt/HG.TEST@HG.TEST, Preauthentication failed")
    p = run(["rules", "test", "--config", CFG, guess])
    check("rules test: a threshold rule names the groups the match counts in",
          p.returncode == 0 and re.search(r"^  \[MATCH\] special-cred-guessing +rules/kdc\.toml:\d+  matched \(counts toward "
                                          r"threshold 5 within 300 s, per target legacy1 from any address; address "
                                          r"127\.0\.0\.4 over two targets or more\)$", p.stdout, re.M) is not None, p.stdout)
    p = run(["rules", "test", "--config", CFG, "-"], stdin=LEGIT + "garbage\n")
    check("rules test -: two lines explained, none matched (exit 1)",
          p.returncode == 1 and sum(l.startswith("line:") for l in p.stdout.splitlines()) == 2 and "address is a bastion's" in p.stdout, p.stdout)

    # A user regex rule: matched, not matched, and a crafted line that runs it out of its state
    # limit, which fails closed (the rule's alarm, counted in the summary's regex errors).
    urules = os.path.join(tmp, "user-rules")
    os.mkdir(urules)
    with open(os.path.join(urules, "su.toml"), "w") as f:
        f.write('source = "syslog"\n[[rule]]\nid = "su-to-root"\nname = "su to root"\nseverity = 40\n'
                'program = "su"\nregex = \'.(?<user>\\S+) to root\'\n')
    su_ok = "Nov 22 10:00:00 legacy1 su[5]: (alice to root on pts/0"
    su_other = "Nov 22 10:00:00 legacy1 su[5]: (alice to bob on pts/0"
    su_crafted = "Nov 22 10:00:01 legacy1 su[6]: (" + "x" * 20000
    p = run(["rules", "test", "--config", CFG, "--rules", urules, "-"], stdin=su_ok + "\n" + su_other + "\n" + su_crafted + "\n")
    check("rules test: a regex rule's match, no match and undecided line",
          p.returncode == 0 and len(re.findall(r"su-to-root .*regex matched, \d+ bytes read of 200736$", p.stdout, re.M)) == 1
          and len(re.findall(r"su-to-root .*regex did not match, \d+ bytes read of 200704$", p.stdout, re.M)) == 1
          and len(re.findall(r"^  \[MATCH\] su-to-root .*regex ran out of its limits for this line \(260008 states, "
                             r"840032 bytes read\): undecided, the rule alarms \(fails closed\)$", p.stdout, re.M)) == 1, p.stdout)
    p = run(["scan", "--config", CFG, "--rules", urules, "--json", "-"], stdin=su_other + "\n" + su_crafted + "\n")
    alarms = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    check("scan: a line that runs a regex out of its limit raises the rule's alarm and is counted",
          p.returncode == 1 and len(alarms) == 1 and alarms[0]["rule"]["id"] == "su-to-root"
          and "user" not in alarms[0] and re.search(r"regex errors su-to-root +1$", p.stderr, re.M) is not None,
          p.stdout + p.stderr)

if failures:
    print("\nFAILURES:\n" + "\n".join(failures))
    sys.exit(1)
