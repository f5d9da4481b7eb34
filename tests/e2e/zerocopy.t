#!/usr/bin/python3
"""Zero-copy bodies (docs/zerocopy.md) from tools/zc_xfer: sendfile, splice,
vmsplice, tee, copy_file_range and io_uring sends over loopback TCP, and
sendfile/splice to a non-blocking socket that takes part of each send. Every
body byte is captured once, equals what the receiver got, and names its
origin (file and offset, or memory); the XFER records carry both ends and the
offsets the calls used. Then -s 100 (cut bodies, exact sizes), a forced
self-test failure (sizes only, no bytes) and --no-send-path."""
import base64
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402

OFF = 1000
COUNT = 200000  # several pipe loads, several sendmsg calls per sendfile


def run(work, mode, zargs=("-s", "0"), extra=()):
    """zcap record --json ZARGS -- zc_xfer MODE; (Result, report dict)."""
    return zt.record_zc_xfer(work, mode, zargs, [OFF, COUNT] + list(extra))


bodies = zt.sender_bodies


def data_of(recs):
    return b"".join(base64.b64decode(r["data"]) for r in recs)


def seq_contiguous(recs):
    return all((a["tcp_seq"] + a["len"]) & 0xffffffff == b["tcp_seq"] for a, b in zip(recs, recs[1:]))


def file_coverage(recs, path, content, start, count):
    """Problems with file-origin bodies covering path[start, start+count) exactly once."""
    problems = []
    ranges = []
    for r in recs:
        src = r["source"]
        if src.get("kind") != "file" or src.get("path") != path:
            problems.append("body not from %s: %r" % (path, src))
            continue
        if src["len"] != r["len"]:
            problems.append("source.len %d != len %d" % (src["len"], r["len"]))
        data = base64.b64decode(r["data"])
        if data != content[src["offset"]:src["offset"] + len(data)]:
            problems.append("bytes at offset %d differ from the file" % src["offset"])
        ranges.append((src["offset"], r["len"]))
    pos = start
    for off, n in sorted(ranges):
        if off != pos:
            problems.append("offset %d where %d was expected" % (off, pos))
        pos = off + n
    if pos != start + count:
        problems.append("coverage ends at %d, not %d" % (pos, start + count))
    return problems


def main():
    return zt.in_workdir("zcap-zc-", checks)


def checks(work):
    src = os.path.join(work, "src.bin")
    content = zt.random_payload(src, 300000, seed=11)
    want = content[OFF:OFF + COUNT]
    copy = os.path.join(work, "copy.bin")

    # mode -> (via, expected origin: "file" from src, "copy" from the copy, "memory")
    modes = {
        "sendfile": ("sendfile", "file"),
        "sendfile_pos": ("sendfile", "file"),
        "sendfile_nb": ("sendfile", "file"),  # partial sends: bodies trimmed to what was taken
        "splice": ("splice", "file"),
        "splice_nb": ("splice", "file"),
        "tee": ("splice", "file"),
        "vmsplice": ("splice", "memory"),
        "copy_file_range": ("sendfile", "copy"),
        "uring_splice": ("io_uring", "file"),
        "uring_send": ("io_uring", "memory"),
        "uring_send_zc": ("io_uring", None),
    }
    for mode, (via, origin) in modes.items():
        # io_uring opcodes this kernel does not have (IORING_OP_SEND_ZC is
        # 6.0+): io_uring's own probe says so, and the send must then fail
        has = subprocess.run([zt.tool("zc_xfer"), "--has", mode], capture_output=True, text=True)
        if has.returncode != 0:
            res, rep = run(work, mode)
            tap.ok(res.rc != 0 and not bodies(res, rep),
                   "%s: %s; zc_xfer fails, no bodies" % (mode, has.stdout.strip()))
            continue
        res, rep = run(work, mode, extra=[copy] if mode == "copy_file_range" else [])
        tap.is_(res.rc, 0, "%s: zc_xfer sent and received the bytes; zcap exited with it" % mode)
        b = bodies(res, rep)
        tap.is_(data_of(b), want, "%s: captured body = the %d bytes sent" % (mode, COUNT))
        tap.ok(b and sum(r["len"] for r in b) == COUNT and seq_contiguous(b)
               and not any(r["truncated"] or r.get("incomplete") for r in b),
               "%s: sizes add up to %d, TCP sequence numbers follow on" % (mode, COUNT),
               [repr({k: v for k, v in r.items() if k != "data"}) for r in b[:4]])
        tap.is_({r["via"] for r in b}, {via}, "%s: via %s" % (mode, via))
        if origin == "file":
            tap.is_(file_coverage(b, src, content, OFF, COUNT), [],
                    "%s: sources name %s and cover [%d, %d) once" % (mode, src, OFF, OFF + COUNT))
        elif origin == "copy":
            tap.is_(file_coverage(b, copy, want, 0, COUNT), [],
                    "%s: sources name the copy and cover [0, %d) once" % (mode, COUNT))
        elif origin == "memory":
            tap.is_({(r["source"]["kind"], r["source"].get("pid")) for r in b},
                    {("memory", rep.get("pid"))}, "%s: source is the process's memory" % mode)

        xfers = [r for r in res.of_type("xfer") if r["pid"] == rep.get("pid")]
        if mode == "sendfile":
            x = [r for r in xfers if r["syscall"] == "sendfile"]
            tap.ok(x and x[0]["off_in"] == OFF and x[0]["in_path"] == src
                   and x[0]["out_fd_kind"] == "tcp" and x[0]["out_lport"] == rep.get("lport")
                   and sum(r["ret"] for r in x) == COUNT and "off_in_from_pos" not in x[0],
                   "sendfile: xfer records name both ends, the offset and the bytes moved",
                   [repr(r) for r in x[:2]])
        elif mode == "sendfile_pos":
            x = [r for r in xfers if r["syscall"] == "sendfile"]
            tap.ok(x and x[0]["off_in"] == OFF and x[0].get("off_in_from_pos") is True,
                   "sendfile_pos: the file position is the offset used", [repr(r) for r in x[:2]])
        elif mode == "splice":
            fp = [r for r in xfers if r["in_fd_kind"] == "file" and r["out_fd_kind"] == "pipe"]
            pt = [r for r in xfers if r["in_fd_kind"] == "pipe" and r["out_fd_kind"] == "tcp"]
            offs = sorted(r["off_in"] for r in fp)
            tap.ok(fp and pt and offs[0] == OFF and sum(r["ret"] for r in fp) == COUNT
                   and sum(r["ret"] for r in pt) == COUNT and all(
                       r["in_ino"] == fp[0]["out_ino"] for r in pt),
                   "splice: file -> pipe and pipe -> socket records, offsets and one pipe",
                   [repr(r) for r in xfers[:2]])
        elif mode == "tee":
            t = [r for r in xfers if r["syscall"] == "tee"]
            tap.ok(t and sum(r["ret"] for r in t) == COUNT
                   and all(r["in_ino"] != r["out_ino"] for r in t),
                   "tee: pipe -> pipe records with the bytes duplicated", [repr(r) for r in t[:2]])
        elif mode == "vmsplice":
            vio = [r for r in res.io(pid=rep.get("pid"), syscall="vmsplice")]
            tap.is_(b"".join(zt.payload_of(r) for r in vio), want,
                    "vmsplice: its io records hold the user memory moved into the pipe")
        elif mode == "copy_file_range":
            c = [r for r in xfers if r["syscall"] == "copy_file_range"]
            tap.ok(c and c[0]["off_in"] == OFF and c[0]["off_out"] == 0 and c[0]["in_path"] == src
                   and c[0]["out_path"] == copy and sum(r["ret"] for r in c) == COUNT,
                   "copy_file_range: both files, both offsets, the bytes copied",
                   [repr(r) for r in c[:2]])

    # -s 100: bodies cut at 100 bytes per call, sizes exact
    for mode in ("sendfile", "splice"):
        res, rep = run(work, mode, zargs=("-s", "100"))
        b = bodies(res, rep)
        calls = {}
        for r in b:
            calls.setdefault(r["call_id"], []).append(r)
        problems = [] if b and sum(r["len"] for r in b) == COUNT else ["sizes do not add up"]
        for recs in calls.values():
            start = (recs[0]["tcp_seq"] - b[0]["tcp_seq"]) & 0xffffffff
            call_len = sum(r["len"] for r in recs)
            if data_of(recs) != want[start:start + min(100, call_len)]:
                problems.append("call at %d: not its first 100 bytes" % start)
            if recs[0]["truncated"] != (call_len > 100):
                problems.append("call at %d: truncated flag wrong" % start)
        tap.is_(problems, [], "-s 100 %s: each call's body cut at 100 bytes, flagged truncated, "
                "sizes exact (%d calls)" % (mode, len(calls)))

    # the self-test fails: sizes only, never bytes
    res, rep = run(work, "sendfile", zargs=("-s", "0", "--test-bad-page-base"))
    b = bodies(res, rep)
    warn = [line for line in res.stderr.splitlines() if "self-test failed" in line]
    tap.is_(len(warn), 1, "forced wrong page base: one warning line")
    tap.ok(b and all(r.get("content") == "not captured" and r["data"] == "" and not r["truncated"]
                     for r in b) and sum(r["len"] for r in b) == COUNT,
           "forced wrong page base: content not captured, sizes exact, no bytes",
           [repr(r) for r in b[:3]])
    tap.is_(file_coverage([dict(r, data="") for r in b], src, content, OFF, COUNT), [],
            "forced wrong page base: sources still name the file's ranges")

    # an explicit hook either captures the same bodies or fails with one line
    # (kprobe and fentry are refused on some kernels; the tracepoint is the
    # fallback that auto picks)
    for hook in ("kprobe", "fentry", "tracepoint"):
        res, rep = run(work, "sendfile", zargs=("-s", "0", "--send-hook", hook))
        errs = [line for line in res.stderr.splitlines() if line.startswith("zcap: ")]
        if res.rc == 0:
            tap.is_(data_of(bodies(res, rep)), want, "--send-hook=%s: attaches, body exact" % hook)
        else:
            tap.ok(res.rc == 1 and len(errs) == 1 and errs[0].startswith(
                "zcap: --send-hook=%s does not work here: " % hook)
                and not [r for r in res.records if r["type"] != "summary"],
                "--send-hook=%s: unavailable here, one clear error line, exit 1" % hook, errs)

    res, rep = run(work, "sendfile", zargs=("-s", "0", "--no-send-path"))
    tap.ok(res.rc == 0 and not bodies(res, rep)
           and [r for r in res.of_type("xfer") if r["pid"] == rep.get("pid")],
           "--no-send-path: xfer records, no bodies")
    return tap.done_testing()


if __name__ == "__main__":
    sys.exit(main())
