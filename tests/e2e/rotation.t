#!/usr/bin/python3
"""zcap record -C/-W/-G (tcpdump's rotation): every file a whole pcap-ng
that tshark reads clean, with its own SHB/IDB/ISB and the process comments
of its packets; together the files hold exactly the packets tcpdump -U
captured of the same traffic (in order); a -W ring keeps only the newest
files; -G names expand strftime and -G -W N stops after N files; bad
combinations exit 2 with one line."""
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402
import pcapng_helpers as ph  # noqa: E402

ZCAP = ph.ZCAP


def usage_error(name, args):
    p = subprocess.run([ZCAP, "record"] + args, capture_output=True, text=True, timeout=30)
    lines = p.stderr.splitlines()
    tap.ok(p.returncode == 2 and len(lines) == 1 and lines[0].startswith("zcap: "),
           "%s: exit 2, one line (%s)" % (name, p.stderr.strip()))


def files_of(work, prefix):
    return sorted(os.path.join(work, f) for f in os.listdir(work) if f.startswith(prefix))


def whole_file(path):
    """(first block SHB, last block ISB, tshark reads it without a word)"""
    blocks = ph.pcapng_blocks(path)
    _, err = ph.tshark(path, ["-q"])
    epbs = sum(b["type"] == ph.BT_EPB for b in blocks)
    return (blocks[0]["type"] == ph.BT_SHB and err == "" and
            (blocks[-1]["type"] == ph.BT_ISB or not epbs))


def fetch_three(url):
    return ["sh", "-c", "for i in 1 2 3; do curl -s -o /dev/null %s || exit 1; done" % url]


def main():
    tap.plan(14)
    work = tempfile.mkdtemp(prefix="zcap-rotation-")
    www = os.path.join(work, "www")
    os.makedirs(www)
    zt.random_payload(os.path.join(www, "big.bin"), 3 << 20, seed=41)
    srv = ph.HttpServer(www)
    url = "http://127.0.0.1:%d/big.bin" % srv.port
    try:
        # -C 1: x.pcapng, x.pcapng1, x.pcapng2, ... against tcpdump -U
        base = os.path.join(work, "c.pcapng")
        td_path = os.path.join(work, "td.pcap")
        single = os.path.join(work, "single.pcapng")
        with ph.Tcpdump(td_path, srv.port) as td:
            zs = ph.ZcapOut(single, ["--port", srv.port])
            z = ph.ZcapOut(base, ["-C", "1", "--port", srv.port], fetch_three(url), ready=False)
            rc = z.wait(120)
            time.sleep(1)
            zs.stop()
        names = [os.path.basename(f) for f in files_of(work, "c.pcapng")]
        want_names = ["c.pcapng"] + ["c.pcapng%d" % i for i in range(1, len(names))]
        tap.ok(rc == 0 and len(names) >= 8 and sorted(names) == sorted(want_names),
               "-C 1: exit 0, files c.pcapng, c.pcapng1 .. (%d files)" % len(names), names)
        ordered = [os.path.join(work, n) for n in want_names]
        tap.ok(all(whole_file(f) for f in ordered),
               "-C 1: each file starts with its SHB, ends with its ISB, tshark reads it clean")
        sizes = [os.path.getsize(f) for f in ordered]
        tap.ok(all(s > 1000000 for s in sizes[:-1]) and all(s < 1000000 + 300000 for s in sizes),
               "-C 1: every file but the last passed 1,000,000 bytes by at most a packet", sizes)
        got = [row for f in ordered for row in ph.packet_list(f, srv.port)]
        want = ph.packet_list(single, srv.port)
        tap.diag("tcpdump -U saw %d packets, the single-file zcap capture %d"
                 % (len(ph.packet_list(td_path, srv.port)), len(want)))
        # within a file, packets of the same instant may be ordered apart
        # from tcpdump's: the sets are compared, the rotation order below
        tap.ok(td.dropped == 0 and len(want) > 100 and sorted(got) == sorted(want),
               "-C 1: the files together hold exactly the %d packets of a simultaneous "
               "single-file capture" % len(want),
               tap.explain(sorted(got)[:5] + [len(got)], sorted(want)[:5] + [len(want)]))
        firsts = [float(ph.fields(f, ["frame.time_epoch"])[0][0]) for f in ordered]
        lasts = [float(ph.fields(f, ["frame.time_epoch"])[-1][0]) for f in ordered]
        tap.ok(all(lasts[i] <= firsts[i + 1] for i in range(len(ordered) - 1)),
               "-C 1: c.pcapng, c.pcapng1, ... follow each other in time")
        pids = set()
        ok = True
        for f in ordered:
            rows = ph.fields(f, ["frame.comment"])
            named = [r for r in rows if any(" comm curl" in c for c in ph.comments(r[0]))]
            ok = ok and len(named) == len(rows)
            pids |= {c.split()[1] for r in rows for c in ph.comments(r[0]) if c.startswith("pid ")}
        tap.ok(ok and len(pids) == 3,
               "-C 1: every packet of every file names its curl (3 curls, comments re-made per file)",
               pids)
        isb_ok = True
        for f in ordered:
            isbs = [b for b in ph.pcapng_blocks(f) if b["type"] == ph.BT_ISB]
            epbs = sum(1 for b in ph.pcapng_blocks(f) if b["type"] == ph.BT_EPB)
            delivered = sum(ph.u64(v) for b in isbs for v in ph.option(b, 8))  # isb_usrdeliv
            isb_ok = isb_ok and delivered == epbs
        tap.ok(isb_ok, "-C 1: each file's ISB counts that file's packets (isb_usrdeliv)")

        # -C 1 -W 2: a ring of c0, c1 holding the newest packets
        base = os.path.join(work, "w.pcapng")
        td_path = os.path.join(work, "tdw.pcap")
        with ph.Tcpdump(td_path, srv.port) as td:
            z = ph.ZcapOut(base, ["-C", "1", "-W", "2", "--port", srv.port], fetch_three(url),
                           ready=False)
            rc = z.wait(120)
            time.sleep(0.5)
        names = [os.path.basename(f) for f in files_of(work, "w.pcapng")]
        tap.is_((rc, sorted(names)), (0, ["w.pcapng0", "w.pcapng1"]),
                "-C 1 -W 2: exit 0, only w.pcapng0 and w.pcapng1 remain")
        ring = sorted(files_of(work, "w.pcapng"),
                      key=lambda f: float(ph.fields(f, ["frame.time_epoch"])[0][0]))
        got = [row for f in ring for row in ph.packet_list(f, srv.port)]
        want = ph.packet_list(td_path, srv.port)
        rest = list(want)
        subset = True
        for row in got:
            subset = subset and row in rest
            if row in rest:
                rest.remove(row)
        tap.ok(all(whole_file(f) for f in ring) and 0 < len(got) < len(want) and subset and
               all(row in got for row in want[-20:]),
               "-C 1 -W 2: the ring holds %d of tcpdump's %d packets, the newest among them"
               % (len(got), len(want)))

        # -G 1 -W 2: strftime names, stops by itself after two files
        pattern = os.path.join(work, "g-%Y%m%d-%H%M%S.pcapng")
        # as tcpdump's, a new file starts (or -W stops) with a packet: keep
        # requests coming until zcap has stopped by itself
        z = ph.ZcapOut(pattern, ["-G", "1", "-W", "2", "--port", srv.port])
        deadline = time.monotonic() + 60
        while z.proc.poll() is None and time.monotonic() < deadline:
            subprocess.run(["curl", "-s", "-o", "/dev/null", url.replace("big.bin", "")])
            time.sleep(0.3)
        rc = z.wait(10)
        gfiles = files_of(work, "g-")
        stamps = []
        for f in gfiles:
            m = re.fullmatch(r"g-(\d{8}-\d{6})\.pcapng", os.path.basename(f))
            stamps.append(time.mktime(time.strptime(m[1], "%Y%m%d-%H%M%S")) if m else None)
        tap.ok(rc == 0 and len(gfiles) == 2 and None not in stamps,
               "-G 1 -W 2: zcap stops by itself after 2 files named by strftime", gfiles)
        # as tcpdump's, a file whose period passed without a packet stays
        # empty (the first one, when the traffic starts a second later)
        spans_ok = len(gfiles) == 2
        for i, f in enumerate(gfiles if spans_ok else []):
            times = [float(r[0]) for r in ph.fields(f, ["frame.time_epoch"])]
            spans_ok = spans_ok and whole_file(f) and (times or i == 0)
            if times:
                spans_ok = spans_ok and int(min(times)) >= stamps[i]
                if i + 1 < len(gfiles):
                    spans_ok = spans_ok and max(times) < stamps[i + 1] + 1
        tap.ok(spans_ok, "-G 1: each file whole, its packets from its own second on, the "
               "last one not empty")

        usage_error("-W without -C or -G", ["-W", "3", "-o", os.path.join(work, "u.pcapng")])
        usage_error("-C with text output", ["-C", "1", "-o", os.path.join(work, "u.txt")])
        usage_error("-C 0", ["-C", "0", "-o", os.path.join(work, "u.pcapng")])
    finally:
        srv.stop()
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
