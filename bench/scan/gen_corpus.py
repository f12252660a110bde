#!/usr/bin/env python3
"""Seeded corpus generator for the scan benchmark (DESIGN section 8).

  gen_corpus.py --lines N --seed S --mode mixed|kdc OUT.log TRUTH.txt

mixed: about 80% unrelated syslog noise (cron, systemd, kernel, postfix, dhclient, sudo, ...),
the rest KDC and sshd lines of legitimate use, and about 0.1% misuse (rows 1-6 of DESIGN table 1
plus bursts of row 7), each misuse a separate incident with a unique principal or user.
kdc: only krb5kdc lines (FILE: log form), same misuse rate for the KDC rows.
Look-alike names (legacy21..legacy99 and legacy1x, not configured in site.toml) appear in
legitimate-looking noise and must never alarm. TRUTH gets one line per expected alarm:
"RULE PRINCIPAL-OR-USER TARGET".
"""
import argparse
import random

ET = "(4 etypes {aes256-cts-hmac-sha1-96(18), aes128-cts-hmac-sha1-96(17), aes256-cts-hmac-sha384-192(20), aes128-cts-hmac-sha256-128(19)})"
ISS = "etypes {rep=aes256-cts-hmac-sha1-96(18), tkt=aes256-cts-hmac-sha1-96(18), ses=aes256-cts-hmac-sha1-96(18)}"
MON = ["Nov"]
BASTION = "10.0.0.2"
ALLOWED = "10.0.5."
OUTSIDE = "192.0.2."


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mode", choices=["mixed", "kdc"], default="mixed")
    ap.add_argument("out")
    ap.add_argument("truth")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    users = [f"user{i}" for i in range(2000)]
    out = open(a.out, "w", buffering=1 << 20)
    truth = open(a.truth, "w")
    seconds_per_line = 86400 * 0.9 / max(1, a.lines)  # the whole corpus within one day (Nov 21)
    n_misuse = 0

    def stamp(i):
        t = int(i * seconds_per_line)
        return f"Nov 21 {t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}"

    def kdc(ts, kind, ip, status, client, server, msg=None):
        p = f"{ts} kdc1 krb5kdc[811](info): {kind} {ET} {ip}: {status}: "
        if status == "ISSUE":
            return p + f"authtime 1795200000, {ISS}, {client} for {server}"
        if kind == "TGS_REQ":
            return p + f"authtime 0, etypes {{rep=UNSUPPORTED:(0)}} {client} for {server}, {msg}"
        return p + f"{client} for {server}, {msg}"

    def legit_kdc(ts):
        u = rnd.choice(users)
        g = rnd.randint(1, 20)
        r = rnd.random()
        if r < 0.3:
            return kdc(ts, "AS_REQ", ALLOWED + str(rnd.randint(1, 250)), "ISSUE", f"{u}@HG.TEST", "krbtgt/HG.TEST@HG.TEST")
        if r < 0.45:
            return kdc(ts, "AS_REQ", ALLOWED + str(rnd.randint(1, 250)), "NEEDED_PREAUTH", f"{u}@HG.TEST",
                       "krbtgt/HG.TEST@HG.TEST", "Additional pre-authentication required")
        if r < 0.6:
            return kdc(ts, "TGS_REQ", ALLOWED + str(rnd.randint(1, 250)), "ISSUE", f"{u}@HG.TEST", "host/bastion.hg.test@HG.TEST")
        if r < 0.75:
            return kdc(ts, "AS_REQ", BASTION, "ISSUE", f"{u}-legacy{g}@HG.TEST", "krbtgt/HG.TEST@HG.TEST")
        if r < 0.9:
            return kdc(ts, "TGS_REQ", BASTION, "ISSUE", f"{u}-legacy{g}@HG.TEST", f"host/legacy{g}.hg.test@HG.TEST")
        if r < 0.95:  # look-alikes: unconfigured guests, must not alarm
            la = rnd.choice([f"legacy{rnd.randint(21, 99)}", f"legacy{g}x"])
            return kdc(ts, "TGS_REQ", ALLOWED + "9", "ISSUE", f"{u}@HG.TEST", f"host/{la}.hg.test@HG.TEST")
        return kdc(ts, "TGS_REQ", BASTION, "ISSUE", f"{u}-legacy{g}@HG.TEST", "krbtgt/HG.TEST@HG.TEST")  # renewal

    def legit_sshd(ts):
        u = rnd.choice(users)
        g = rnd.randint(1, 20)
        r = rnd.random()
        pid = rnd.randint(1000, 60000)
        if r < 0.3:
            return f"{ts} legacy{g} sshd[{pid}]: Accepted gssapi-with-mic for {u} from {BASTION} port {rnd.randint(1024, 65535)} ssh2: {u}-legacy{g}@HG.TEST"
        if r < 0.5:
            return f"{ts} bastion sshd[{pid}]: Accepted gssapi-with-mic for {u} from {ALLOWED}{rnd.randint(1, 250)} port {rnd.randint(1024, 65535)} ssh2: {u}@HG.TEST"
        if r < 0.6:
            return f"{ts} legacy{g} sshd[{pid}]: Authorized to {u}, krb5 principal {u}-legacy{g}@HG.TEST (krb5_kuserok)"
        if r < 0.75:
            return f"{ts} legacy{rnd.randint(21, 99)} sshd[{pid}]: Accepted password for {u} from {OUTSIDE}{rnd.randint(1, 250)} port 22 ssh2"
        if r < 0.9:
            return f"{ts} bastion sshd[{pid}]: Failed password for invalid user {u} from {OUTSIDE}{rnd.randint(1, 250)} port {rnd.randint(1024, 65535)} ssh2"
        return f"{ts} legacy{g} sshd[{pid}]: Received disconnect from {BASTION} port {rnd.randint(1024, 65535)}:11: disconnected by user"

    noise_templates = [
        "{ts} web{n} CRON[{pid}]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly)",
        "{ts} web{n} systemd[1]: Started Session {pid} of user www-data.",
        "{ts} db{n} kernel: [{pid}.123456] TCP: request_sock_TCP: Possible SYN flooding on port 5432. Sending cookies.",
        "{ts} mail{n} postfix/smtpd[{pid}]: connect from unknown[198.51.100.{n}]",
        "{ts} web{n} dhclient[{pid}]: DHCPACK of 10.9.{n}.7 from 10.9.0.1",
        "{ts} web{n} sudo[{pid}]:   deploy : TTY=pts/0 ; PWD=/srv ; USER=root ; COMMAND=/usr/bin/systemctl restart app",
        "{ts} app{n} java[{pid}]: INFO  [main] c.e.App - request id={pid} path=/api/v1/items status=200 took=12ms",
        "{ts} web{n} nginx[{pid}]: 203.0.113.{n} - - \"GET /index.html HTTP/1.1\" 200 612",
        "{ts} legacy{n} logger[{pid}]: sshd[1]: Accepted password for alice from 192.0.2.66 port 5 ssh2",
    ]

    # special-cred-guessing counts per guest from every address (rules/kdc.toml, threshold_by =
    # "target"): bursts on one guest within one incident (it takes evidence up to the window plus
    # the skew after its start: 600 + 300 s, the bench site's defaults) are one alarm, which names
    # the address only when all its bursts came from one.
    incident_s = 600 + 300
    open_guessing = {}  # guest -> [start second, set of addresses]

    def close_guessing(g):
        _, ips = open_guessing.pop(g)
        truth.write(f"special-cred-guessing {next(iter(ips)) if len(ips) == 1 else ''} legacy{g}\n")

    misuse_rate = 0.001
    i = 0
    while i < a.lines:
        ts = stamp(i)
        if rnd.random() < misuse_rate:
            n_misuse += 1
            k = n_misuse
            g = rnd.randint(1, 20)
            rows = [1, 2, 3, 4, 7] if a.mode == "kdc" else [1, 2, 3, 4, 5, 6, 7]
            row = rnd.choice(rows)
            if row == 1:
                out.write(kdc(ts, "TGS_REQ", BASTION, "ISSUE", f"thief{k}@HG.TEST", f"host/legacy{g}.hg.test@HG.TEST") + "\n")
                truth.write(f"regular-cred-on-legacy thief{k}@HG.TEST legacy{g}\n")
            elif row == 2:
                out.write(kdc(ts, "TGS_REQ", BASTION, "ISSUE", f"thief{k}-legacy{g}@HG.TEST", "host/bastion.hg.test@HG.TEST") + "\n")
                truth.write(f"special-cred-on-bastion thief{k}-legacy{g}@HG.TEST bastion\n")
            elif row == 3:
                out.write(kdc(ts, "AS_REQ", OUTSIDE + "7", "ISSUE", f"thief{k}-legacy{g}@HG.TEST", "krbtgt/HG.TEST@HG.TEST") + "\n")
                truth.write(f"special-cred-off-bastion thief{k}-legacy{g}@HG.TEST legacy{g}\n")
            elif row == 4:
                h = g % 20 + 1
                out.write(kdc(ts, "TGS_REQ", BASTION, "ISSUE", f"thief{k}-legacy{g}@HG.TEST", f"host/legacy{h}.hg.test@HG.TEST") + "\n")
                truth.write(f"special-cred-wrong-target thief{k}-legacy{g}@HG.TEST legacy{h}\n")
            elif row == 5:
                out.write(f"{ts} legacy{g} sshd[{k}]: Accepted publickey for thief{k} from {OUTSIDE}{k % 250 + 1} port 22 ssh2: ED25519 SHA256:x\n")
                truth.write(f"legacy-login-not-via-bastion thief{k} legacy{g}\n")
            elif row == 6:
                out.write(f"{ts} bastion sshd[{k}]: Accepted password for thief{k} from {OUTSIDE}{k % 250 + 1} port 22 ssh2\n")
                truth.write(f"bastion-login-unlisted-source thief{k} bastion\n")
            else:
                ip = f"203.0.113.{k % 250 + 1}"
                for j in range(6):  # above the default threshold of 5, from one address
                    out.write(kdc(ts, "AS_REQ", ip, "PREAUTH_FAILED", f"guess{k}x{j}-legacy{g}@HG.TEST",
                                  "krbtgt/HG.TEST@HG.TEST", "Preauthentication failed") + "\n")
                t = int(i * seconds_per_line)
                i += 5
                if g in open_guessing and t - open_guessing[g][0] <= incident_s:
                    open_guessing[g][1].add(ip)
                else:
                    if g in open_guessing:
                        close_guessing(g)
                    open_guessing[g] = [t, {ip}]
            i += 1
            continue
        if a.mode == "kdc":
            out.write(legit_kdc(ts) + "\n")
        else:
            r = rnd.random()
            if r < 0.8:
                out.write(rnd.choice(noise_templates).format(ts=ts, n=rnd.randint(1, 99), pid=rnd.randint(100, 99999)) + "\n")
            elif r < 0.9:
                out.write(legit_kdc(ts) + "\n")
            else:
                out.write(legit_sshd(ts) + "\n")
        i += 1
    for g in list(open_guessing):
        close_guessing(g)
    out.close()
    truth.close()


if __name__ == "__main__":
    main()
