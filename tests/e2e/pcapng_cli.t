#!/usr/bin/python3
"""zcap record -o for packets: -c N writes exactly N; SIGINT, SIGTERM,
--duration and the end of `-- CMD` close the file with its statistics
blocks; after kill -9 it is readable up to the last block; classic pcap
(by extension, --format, to stdout) reads in tcpdump; `-o -` streams live
into tshark; -p keeps only the traced process's packets; bad output paths
and options exit 2 with one line; the live summary shows on a terminal."""
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402
import pcapng_helpers as ph  # noqa: E402

ZCAP = ph.ZCAP


def usage_error(name, args, created=None):
    p = subprocess.run([ZCAP, "record"] + args, capture_output=True, text=True, timeout=30)
    lines = p.stderr.splitlines()
    good = p.returncode == 2 and p.stdout == "" and len(lines) == 1 and lines[0].startswith("zcap: ")
    if created:
        good = good and not os.path.exists(created)
    tap.ok(good, "%s: exit 2, one line (%s)" % (name, p.stderr.strip()),
           "rc=%d stdout=%r stderr=%r" % (p.returncode, p.stdout[:200], p.stderr))


def epbs(path):
    return [b for b in ph.pcapng_blocks(path) if b["type"] == ph.BT_EPB]


def closed_properly(path):
    """Whole blocks only, and the ISBs at the end: (last block type, EPBs)."""
    blocks = ph.pcapng_blocks(path)
    return blocks[-1]["type"], sum(b["type"] == ph.BT_EPB for b in blocks)


def ready(err_path):
    """Has the zcap writing stderr to err_path said it is capturing?"""
    with open(err_path, errors="replace") as f:
        return ph.READY in f.read()


def slow_fetch(url, rate="40k"):
    return subprocess.Popen(["curl", "-s", "--limit-rate", rate, "-o", "/dev/null", url])


def stop_curl(c):
    if c.poll() is None:
        c.kill()
    c.wait()


def main():
    tap.plan(22)
    work = tempfile.mkdtemp(prefix="zcap-pcapng-cli-")
    www = os.path.join(work, "www")
    os.makedirs(www)
    zt.random_payload(os.path.join(www, "big.bin"), 4 << 20, seed=31)
    zt.random_payload(os.path.join(www, "small.txt"), 64, seed=32)
    ng = ph.Nginx(www, work)
    srv = ph.HttpServer(www)
    big = "http://127.0.0.1:%d/big.bin" % ng.port
    small = "http://127.0.0.1:%d/small.txt" % srv.port
    try:
        # -c 10: exactly ten packets, while more traffic flows
        f = os.path.join(work, "c10.pcapng")
        z = ph.ZcapOut(f, ["-c", "10", "--port", ng.port])
        c = slow_fetch(big, "2m")
        rc = z.wait(30)
        stop_curl(c)
        tap.is_((rc, len(epbs(f)), closed_properly(f)[0]), (0, 10, ph.BT_ISB),
                "-c 10: exit 0, exactly 10 packets, statistics block at the end")

        # stops: SIGINT and SIGTERM mid-transfer, --duration
        for sig in (signal.SIGINT, signal.SIGTERM):
            f = os.path.join(work, "sig%d.pcapng" % sig)
            z = ph.ZcapOut(f, ["--port", ng.port])
            c = slow_fetch(big)
            time.sleep(1.5)
            rc = z.stop(sig)
            stop_curl(c)
            last, n = closed_properly(f)
            _, err = ph.tshark(f, ["-q"])
            tap.ok(rc == 0 and last == ph.BT_ISB and n > 5 and err == "",
                   "%s mid-transfer: exit 0, %d packets, ends with the ISB, tshark reads it"
                   % (signal.Signals(sig).name, n), "rc=%s last=%s err=%s" % (rc, last, err))
        f = os.path.join(work, "dur.pcapng")
        z = ph.ZcapOut(f, ["--duration", "1.5", "--port", ng.port])
        c = slow_fetch(big)
        t0 = time.monotonic()
        rc = z.wait(30)
        took = time.monotonic() - t0
        stop_curl(c)
        last, n = closed_properly(f)
        tap.ok(rc == 0 and last == ph.BT_ISB and n > 5 and took < 5,
               "--duration 1.5: stops by itself (%.1f s), %d packets, ISB" % (took, n))

        # kill -9: every block whole, readable
        f = os.path.join(work, "k9.pcapng")
        z = ph.ZcapOut(f, ["--port", ng.port])
        c = slow_fetch(big)
        time.sleep(2)
        rc = z.stop(signal.SIGKILL)
        stop_curl(c)
        try:
            blocks = ph.pcapng_blocks(f)
            whole = True
        except ph.HelperError as e:
            blocks, whole = [], str(e)
        out, err = ph.tshark(f, [])
        tap.ok(rc == -9 and whole is True and err == "" and
               len(out.splitlines()) == sum(b["type"] == ph.BT_EPB for b in blocks) > 5,
               "kill -9 mid-transfer: whole blocks only, tshark reads every packet",
               "rc=%s whole=%s err=%s" % (rc, whole, err))

        # -- CMD: its end closes the file
        f = os.path.join(work, "cmd.pcapng")
        z = ph.ZcapOut(f, [], ["curl", "-s", "-o", "/dev/null", small], ready=False)
        rc = z.wait(60)
        last, n = closed_properly(f)
        tap.ok(rc == 0 and last == ph.BT_ISB and n >= 8,
               "-- curl: exit 0 when curl ends, %d packets, ISB at the end" % n)

        # classic pcap: by extension, by --format, to stdout
        f = os.path.join(work, "x.pcap")
        rc = ph.ZcapOut(f, [], ["curl", "-s", "-o", "/dev/null", small], ready=False).wait(60)
        with open(f, "rb") as fh:
            magic = fh.read(4)
        td = subprocess.run(["tcpdump", "-n", "-r", f, "-A"], capture_output=True, text=True)
        tap.ok(rc == 0 and magic == b"\x4d\x3c\xb2\xa1" and td.returncode == 0 and
               "link-type RAW" in td.stderr and "GET /small.txt HTTP/1.1" in td.stdout,
               "-o x.pcap: classic pcap (ns magic, LINKTYPE_RAW) that tcpdump -r reads",
               td.stderr)
        tap.is_(len([l for l in td.stdout.splitlines() if " IP 127.0.0.1." in l]),
                len(ph.fields(f, ["frame.number"])), "tcpdump and tshark count the same packets")
        p = subprocess.run("%s record -q --format pcap -o - -- curl -s -o /dev/null %s | "
                           "tcpdump -n -r - 2>/dev/null | grep -c ' IP 127.0.0.1.'"
                           % (ZCAP, small), shell=True, capture_output=True, text=True)
        tap.ok(p.returncode == 0 and int(p.stdout or 0) >= 8,
               "--format pcap -o -: tcpdump -r - reads the stream (%s packets)" % p.stdout.strip())

        # -o -: pcap-ng streamed, whole blocks as they come (live Wireshark)
        live = os.path.join(work, "live.txt")
        with open(live, "w") as out, tempfile.NamedTemporaryFile(prefix="zcap-err-") as zerr:
            zp = subprocess.Popen([ZCAP, "record", "-o", "-", "--port", str(srv.port)],
                                  stdout=subprocess.PIPE, stderr=zerr)
            tp = subprocess.Popen(["tshark", "-n", "-l", "-r", "-"], stdin=zp.stdout, stdout=out,
                                  stderr=subprocess.DEVNULL)
            zp.stdout.close()
            # attached (a loaded machine takes seconds), and tshark reading
            deadline = time.monotonic() + zt.scaled(120)
            while not ready(zerr.name) and zp.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(2)
            subprocess.run(["curl", "-s", "-o", "/dev/null", small])
            time.sleep(2.5)
            with open(live) as fh:
                during = len(fh.read().splitlines())
            zp.send_signal(signal.SIGINT)
            zrc = zp.wait(30)
            tp.wait(30)
        tap.ok(during >= 8 and zrc == 0 and tp.returncode == 0,
               "-o - | tshark -r -: packets arrive while zcap runs (%d lines), clean end" % during)

        # -p: only the traced server's packets, named
        f = os.path.join(work, "p.pcapng")
        z = ph.ZcapOut(f, ["-p", srv.pid])
        for _ in range(2):
            subprocess.run(["curl", "-s", "-o", "/dev/null", small])
        subprocess.run(["curl", "-s", "-o", "/dev/null", "-r", "0-9999", big])
        time.sleep(1)
        rc = z.stop()
        rows = ph.fields(f, ["tcp.srcport", "tcp.dstport", "frame.comment"])
        ports = {p for r in rows for p in r[:2]}
        named = all(any(c.startswith("pid %d tid " % srv.pid) or
                        c.startswith("to pid %d tid " % srv.pid) for c in ph.comments(r[2]))
                    for r in rows)
        tap.ok(rc == 0 and len(rows) >= 16 and str(srv.port) in ports and
               str(ng.port) not in ports and named,
               "-p SERVER: its two connections only (%d packets), each naming it" % len(rows),
               rows[:4])
        tap.like(z.stderr, r"\d+ of other processes left out", "-p: the summary says what was left out")

        # output file: 0600 even when it existed wider; an existing file is replaced
        f = os.path.join(work, "mode.pcapng")
        with open(f, "w") as fh:
            fh.write("x" * 100000)
        os.chmod(f, 0o644)
        rc = ph.ZcapOut(f, ["-q"], ["true"], ready=False).wait(30)
        tap.ok(rc == 0 and stat.S_IMODE(os.stat(f).st_mode) == 0o600 and
               ph.pcapng_blocks(f)[0]["type"] == ph.BT_SHB,
               "-o over an existing 0644 file: replaced, 0600")

        # the live one-line summary on a terminal (script(1) gives zcap a tty)
        f = os.path.join(work, "tty.pcapng")
        p = subprocess.run(["script", "-qec", "%s record -o %s --duration 2.5 --port %d"
                            % (ZCAP, f, srv.port), "/dev/null"],
                           capture_output=True, timeout=30)
        # bytes: text mode would turn the \r into \n
        tap.like(p.stdout.decode(errors="replace"), r"\rzcap: \d+ packets, [^\r\n]*, \d+ packets lost, \d+ events lost",
                 "stderr is a terminal: a live summary line, rewritten in place")
    finally:
        ng.stop()
        srv.stop()

    # bad output and option combinations: one line, exit 2, nothing created
    usage_error("output in a missing directory",
                ["-o", "/nonexistent/dir/x.pcapng", "--", "true"], "/nonexistent/dir/x.pcapng")
    usage_error("output is a directory", ["-o", work, "--", "true"])
    lnk = os.path.join(work, "lnk.pcapng")
    os.symlink(os.path.join(work, "nowhere"), lnk)
    usage_error("output through a symlink", ["-o", lnk, "--", "true"], os.path.join(work, "nowhere"))
    usage_error("-e with packet output", ["-o", os.path.join(work, "e.pcapng"), "-e", "io"],
                os.path.join(work, "e.pcapng"))
    usage_error("unknown --format", ["--format", "pcapx", "-o", "-"])
    usage_error("--json with --format pcapng", ["--json", "--format", "pcapng", "-o", "-"])
    # root passes permission checks; sysfs refuses new files all the same
    usage_error("unwritable path", ["-o", "/sys/zcap.pcapng", "--", "true"])
    p = subprocess.run([ZCAP, "record", "--help"], capture_output=True, text=True)
    tap.ok("pcapng" in p.stdout and "--format" in p.stdout, "record --help names the packet formats")
    ph.cleanup(work)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
