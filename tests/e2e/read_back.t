#!/usr/bin/python3
"""zcap read (and record -r): a JSON Lines capture reads back as the text
zcap record printed live of the same run; tcpdump's pcap file reads as
tcpdump -q prints it, with the same filter expression; -X dumps exactly
as tcpdump -X; zcap's pcap-ng comments name the processes and -p/--comm
select by them; record -X dumps each payload; the status line shows on a
terminal (pty) with the final counts, for record and lineage, and never
in a pipe; bad input exits with one line."""
import base64
import os
import pty
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402
import pcapng_helpers as ph  # noqa: E402

ZCAP = ph.ZCAP
TIME = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{6}) ")


def zread(args):
    p = subprocess.run([ZCAP, "read"] + args, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def micros(line):
    m = TIME.match(line)
    return (int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3])) * 1000000 + int(m[4])


def same_lines(got, want):
    """Equal after the time, times within 1 ms: JSON has only ts_ns
    (CLOCK_MONOTONIC); the live text sink and read each add their own
    CLOCK_REALTIME - CLOCK_MONOTONIC reading, which NTP slews apart by
    microseconds."""
    if len(got) != len(want):
        return False
    for g, w in zip(got, want):
        if not TIME.match(g) or not TIME.match(w):
            if g != w:
                return False
            continue
        if TIME.sub("", g) != TIME.sub("", w) or abs(micros(g) - micros(w)) > 1000:
            return False
    return True


def hex_lines(text):
    return [l for l in text.splitlines() if l.startswith("\t0x")]


def unhex(lines):
    out = b""
    for l in lines:
        out += bytes.fromhex(l[9:49].replace(" ", ""))
    return out


def on_pty(argv, cwd):
    """Run argv with stderr on a terminal; (rc, everything it wrote there)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=slave, cwd=cwd)
    os.close(slave)
    out = b""
    while True:
        r, _, _ = select.select([master], [], [], 120)
        if not r:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return p.wait(60), out.decode(errors="replace")


def main():
    tap.plan(17)
    work = tempfile.mkdtemp(prefix="zcap-read-")
    www = os.path.join(work, "www")
    os.makedirs(www)
    zt.random_payload(os.path.join(www, "page.bin"), 200000, seed=51)
    with open(os.path.join(www, "hello.txt"), "w") as f:
        f.write("hello, zcap read\n" * 20)
    srv = ph.HttpServer(www)
    url = "http://127.0.0.1:%d/hello.txt" % srv.port
    try:
        # one run, three captures: --json to a file, text to another, and
        # text with a filter expression (the oracle of read's expression)
        jl, txt = os.path.join(work, "a.jsonl"), os.path.join(work, "a.txt")
        txt_expr = os.path.join(work, "expr.txt")
        common = ["-e", "io", "--comm", "curl", "--port", str(srv.port)]
        expr = ["dst", "port", str(srv.port)]
        zj = ph.ZcapOut(jl, ["--json"] + common)
        zx = ph.ZcapOut(txt, common)
        ze = ph.ZcapOut(txt_expr, common + expr)
        subprocess.run(["curl", "-s", "-o", "/dev/null", url], check=True)
        subprocess.run(["curl", "-s", "-o", "/dev/null", url + "?again"], check=True)
        time.sleep(1)
        zj.stop()
        zx.stop()
        ze.stop()
        with open(txt) as f:
            live = f.read().splitlines()
        rc, out, err = zread([jl])
        tap.ok(rc == 0 and len(live) >= 4 and any("GET /hello.txt?again" in l for l in live) and
               same_lines(out.splitlines(), live),
               "read a.jsonl: the text zcap record printed live of the same run (%d lines)"
               % len(live), tap.explain(out.splitlines()[:3], live[:3]))
        rc, out2, _ = zread(["--port", str(srv.port), "-c", "2", jl])
        tap.ok(rc == 0 and same_lines(out2.splitlines(), live[:2]),
               "read --port -c 2 of JSON: the first two records")
        rc, out3, _ = zread(["--comm", "nosuchcomm", jl])
        tap.is_((rc, out3), (0, ""), "read --comm of another command: nothing")

        # fd records with their addresses and flag names, sendfile and its
        # zero-copy body: nginx (sendfile on) and curl, JSON and text live
        ng = ph.Nginx(www, work)
        try:
            jl_fd, txt_fd = os.path.join(work, "fd.jsonl"), os.path.join(work, "fd.txt")
            sel = ["-e", "fd,xfer,body", "--comm", "nginx", "--comm", "curl"]
            zj2 = ph.ZcapOut(jl_fd, ["--json"] + sel)
            zx2 = ph.ZcapOut(txt_fd, sel)
            subprocess.run(["curl", "-s", "-o", "/dev/null",
                            "http://127.0.0.1:%d/page.bin" % ng.port], check=True)
            time.sleep(1)
            zj2.stop()
            zx2.stop()
        finally:
            ng.stop()
        with open(txt_fd) as f:
            live_fd = f.read().splitlines()
        rc, out5, err5 = zread([jl_fd])
        kinds = ("accept4(", "connect(", "openat(", "sendfile(", "body sendfile")
        tap.ok(rc == 0 and all(any(k in l for l in live_fd) for k in kinds)
               and same_lines(out5.splitlines(), live_fd),
               "read of nginx and curl's fd, xfer and body records: what record printed live "
               "(%d lines: accept4/connect addresses, open flags, the sendfile body)"
               % len(live_fd), tap.explain(out5.splitlines()[:4], live_fd[:4]) + [err5])
        with open(txt_expr) as f:
            live_expr = f.read().splitlines()
        rc, out4, err4 = zread([jl] + expr)
        tap.ok(rc == 0 and 2 <= len(live_expr) < len(live)
               and same_lines(out4.splitlines(), live_expr),
               "read a.jsonl 'dst port P': the records zcap record printed live with the same "
               "expression (%d of %d)" % (len(live_expr), len(live)),
               tap.explain(out4.splitlines()[:3], live_expr[:3]) + [err4])

        # tcpdump's own file (Ethernet on lo): as tcpdump -q -nn prints it
        tdf = os.path.join(work, "td.pcap")
        with ph.Tcpdump(tdf, srv.port):
            subprocess.run(["curl", "-s", "-o", "/dev/null",
                            "http://127.0.0.1:%d/page.bin" % srv.port], check=True)
            time.sleep(0.5)
        want = subprocess.run(["tcpdump", "-q", "-nn", "-r", tdf], capture_output=True,
                              text=True).stdout.splitlines()
        rc, out, err = zread([tdf])
        got = [l.split(" [")[0] for l in out.splitlines()]
        tap.ok(rc == 0 and len(want) > 10 and got == want,
               "read tcpdump's pcap: every packet as tcpdump -q -nn prints it (%d)" % len(want),
               tap.explain(got[:3], want[:3]))
        expr = "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0"
        want = subprocess.run(["tcpdump", "-q", "-nn", "-r", tdf, expr], capture_output=True,
                              text=True).stdout.splitlines()
        rc, out, err = zread([tdf, expr])
        got = [l.split(" [")[0] for l in out.splitlines()]
        tap.ok(rc == 0 and len(want) >= 2 and got == want,
               "read FILE EXPRESSION: tcpdump's packets for the same expression (%d)" % len(want))
        want = subprocess.run(["tcpdump", "-X", "-nn", "-r", tdf], capture_output=True,
                              text=True).stdout
        rc, out, err = zread(["-X", tdf])
        tap.ok(rc == 0 and len(hex_lines(want)) > 100 and hex_lines(out) == hex_lines(want),
               "read -X: the hex and ASCII lines of tcpdump -X, byte for byte (%d lines)"
               % len(hex_lines(want)), tap.explain(hex_lines(out)[:2], hex_lines(want)[:2]))
        p = subprocess.run([ZCAP, "record", "-r", tdf], capture_output=True, text=True)
        tap.ok(p.returncode == 0 and p.stdout == zread([tdf])[1],
               "record -r FILE prints what read FILE prints")

        # zcap's pcap-ng: comments name curl; -p and --comm select by them
        ngf = os.path.join(work, "z.pcapng")
        z = ph.ZcapOut(ngf, [], ["curl", "-s", "-o", "/dev/null", url], ready=False)
        z.wait(60)
        rows = ph.fields(ngf, ["frame.comment"])
        pid = next(c.split()[1] for r in rows for c in ph.comments(r[0]) if c.startswith("pid "))
        rc, out, _ = zread([ngf])
        # packet lines; zcap's other comments (the cgroup) follow indented
        lines = [l for l in out.splitlines() if not l.startswith("\t")]
        named = [l for l in lines if re.search(r"curl\[%s\]" % pid, l)]
        tap.ok(rc == 0 and len(lines) == len(rows) > 5 and len(named) == len(rows),
               "read zcap's pcap-ng: every packet line names curl[%s]" % pid, lines[:3])
        rc, byp, _ = zread(["-p", pid, ngf])
        rc2, byc, _ = zread(["--comm", "curl", ngf])
        rc3, none, _ = zread(["-p", "1", ngf])
        tap.ok(rc == rc2 == rc3 == 0 and byp == byc == out and none == "",
               "read -p PID / --comm: the packets naming that process, none for pid 1")

        # record -X: each payload's hex lines are its bytes (JSON as oracle)
        jl2, txt2 = os.path.join(work, "x.jsonl"), os.path.join(work, "x.txt")
        zj = ph.ZcapOut(jl2, ["--json"] + common)
        zx = ph.ZcapOut(txt2, ["-X"] + common)
        subprocess.run(["curl", "-s", "-o", "/dev/null", url], check=True)
        time.sleep(1)
        zj.stop()
        zx.stop()
        recs = [r for r in zt.parse_jsonl(open(jl2).read()) if r["type"] == "io"]
        with open(txt2) as f:
            blocks = re.split(r"\n(?=\d\d:)", f.read().rstrip("\n"))
        dumps = [unhex(hex_lines(b)) for b in blocks]
        tap.ok(len(recs) >= 2 and dumps == [base64.b64decode(r["data"]) for r in recs] and
               all(re.fullmatch(r"\t0x[0-9a-f]{4}:  [0-9a-f ]{39}  \S{1,16}", l)
                   for b in blocks for l in hex_lines(b)),
               "record -X: under each record line its payload in tcpdump -X lines")

        # the status line: on a terminal, the final counts as the summary's
        rc, tty = on_pty([ZCAP, "record", "-e", "io", "--comm", "curl", "-o",
                          os.path.join(work, "s.txt"), "--", "curl", "-s", "-o", "/dev/null",
                          url], work)
        status = re.findall(r"\rzcap: (\d+) records, [^,\r\n]+, (\d+) events lost, "
                            r"\d+:\d\d:\d\d\x1b\[K", tty)
        summary = re.search(r"zcap: (\d+) records, \d+ payload bytes", tty)
        tap.ok(rc == 0 and status and summary and status[-1][0] == summary[1] and
               int(summary[1]) > 0,
               "record on a terminal: a status line whose last counts are the summary's (%s)"
               % (status[-1:],), tty[-300:])
        rc, tty = on_pty([ZCAP, "lineage", "-o", os.path.join(work, "l.json"), "--", "sh", "-c",
                          "cat /etc/hostname > /dev/null"], work)
        tap.ok(rc == 0 and re.search(r"\rzcap: [1-9]\d* records, [^\r\n]*events lost, "
                                     r"\d+:\d\d:\d\d", tty),
               "lineage on a terminal: the status line too", tty[-300:])
        p = subprocess.run([ZCAP, "record", "-e", "io", "-o", os.path.join(work, "n.txt"), "--",
                            "true"], capture_output=True, text=True, timeout=60)
        tap.ok(p.returncode == 0 and "\r" not in p.stderr and "\x1b" not in p.stderr,
               "stderr not a terminal: no status line")

        # bad input: one line, exit 1 (not a capture) or 2 (usage)
        junk = os.path.join(work, "junk")
        with open(junk, "wb") as f:
            f.write(b"\x00garbage" * 100)
        rc, out, err = zread([junk])
        tap.ok(rc == 1 and out == "" and len(err.splitlines()) == 1 and err.startswith("zcap: "),
               "read of a file that is no capture: exit 1, one line (%s)" % err.strip())
        rc, out, err = zread([tdf, "tcp", "port", "nonsense"])
        tap.ok(rc == 2 and out == "" and len(err.splitlines()) == 1,
               "read with an expression libpcap rejects: exit 2, its message (%s)" % err.strip())
    finally:
        srv.stop()
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
