#!/usr/bin/python3
"""The send path on whatever kernel this runs on (this machine, and each
guest of the QEMU kernel matrix, tests/kernels/): `zcap doctor` says which
send hook families see a sendfile to TCP; every family it offers must then
capture the same body byte for byte, with the same file ranges and TCP
sequence numbers, and every family it does not offer must fail with one
clear line. `--send-hook=auto` uses what doctor calls the send path.

The body is a deterministic pattern (seed 9): its SHA-256 is printed, so the
reports of two kernels show the same body captured through different hooks
(kprobe on do_tcp_sendpages on 6.1, the tracepoint on 6.18, ...).

Also: spliced bodies name their source file with --port, although the port
filter hides the file -> pipe splice (it is sent as context only)."""
import base64
import hashlib
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402

OFF = 4097  # unaligned, past the first page
COUNT = 150000
FAMILIES = ("kprobe", "fentry", "tracepoint")


def doctor():
    p = subprocess.run([zt.ZCAP, "doctor", "--json"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    try:
        return p.returncode, json.loads(p.stdout), p.stderr
    except ValueError:
        return p.returncode, None, p.stderr + p.stdout


def xfer(work, mode, zargs, port=None):
    # an explicit --send-hook here is the point: no ZCAP_TEST_SEND_HOOK override
    env = dict(os.environ)
    env.pop("ZCAP_TEST_SEND_HOOK", None)
    return zt.record_zc_xfer(work, mode, zargs, [OFF, COUNT], port=port, timeout=300, env=env)


bodies = zt.sender_bodies


def shape(recs, seq0):
    """What must not depend on the hook: bytes, file ranges, relative TCP sequence."""
    return [(r["source"].get("path"), r["source"].get("offset"), r["len"],
             (r["tcp_seq"] - seq0) & 0xffffffff) for r in recs]


def coalesce(ranges):
    """Adjacent (path, offset, len, seq) runs merged: page sends cut bodies at
    page boundaries, sendmsg at message boundaries; the bytes are the same."""
    out = []
    for path, off, n, seq in ranges:
        if out and out[-1][0] == path and out[-1][1] + out[-1][2] == off \
                and out[-1][3] + out[-1][2] == seq:
            out[-1] = (path, out[-1][1], out[-1][2] + n, out[-1][3])
        else:
            out.append((path, off, n, seq))
    return out


def main():
    return zt.in_workdir("zcap-hooks-", checks)


def uring_complete_has_req():
    """Does this kernel's io_uring:io_uring_complete event carry the request?"""
    for base in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"):
        try:
            with open(base + "/events/io_uring/io_uring_complete/format") as f:
                return re.search(r"field:[^;]*\breq;", f.read()) is not None
        except OSError:
            continue
    return False


def checks(work):
    src = os.path.join(work, "src.bin")
    content = zt.random_payload(src, 300000, seed=9)
    want = content[OFF:OFF + COUNT]
    tap.note("kernel %s; body sha256 %s" % (os.uname().release, hashlib.sha256(want).hexdigest()))

    rc, doc, err = doctor()
    tap.ok(rc == 0 and doc is not None and doc.get("can_run") is True,
           "doctor --json: exit 0, zcap can run here", err)
    doc = doc or {}
    hooks = doc.get("send_hooks", {})
    offered = doc.get("send_hooks_offered", [])
    tap.note("doctor: send path %s (%s); offered %s" % (doc.get("send_path"),
                                                      doc.get("send_path_target"), offered))
    tap.ok(sorted(hooks) == sorted(FAMILIES) and offered
           and offered == [f for f in FAMILIES if hooks[f]["fires"]]
           and doc.get("send_path") == offered[0] and doc.get("body_self_test") == "passed",
           "doctor: a family fires and passes the body self-test; the send path is the first",
           json.dumps(hooks, indent=1))
    # io_uring lineage needs the request in io_uring_complete (5.11+);
    # whether the kernel passes it is read from its own event format
    uring_req = uring_complete_has_req()
    tap.ok(doc.get("io_uring_lineage", {}).get("ok") is uring_req
           and doc.get("capture_programs", {}).get("ok") is True,
           "doctor: io_uring lineage %s, the capture programs load here"
           % ("works" if uring_req else "said unavailable (io_uring_complete has no req)"),
           json.dumps({k: doc.get(k) for k in ("io_uring_lineage", "capture_programs")}))
    uring_reduced = [r for r in doc.get("reduced", []) if r.startswith("io_uring lineage")]
    tap.is_(uring_reduced, [] if uring_req else
            ["io_uring lineage (io_uring_complete does not pass the request)"],
            "doctor: 'reduced' names io_uring lineage exactly where the kernel lacks the request")

    reference = None
    for fam in FAMILIES:
        res, rep = xfer(work, "sendfile", ("-s", "0", "--send-hook", fam))
        errs = [line for line in res.stderr.splitlines() if line.startswith("zcap: ")
                and "capturing" not in line and "records," not in line]
        if fam not in offered:
            tap.ok(res.rc == 1 and len(errs) == 1 and errs[0].startswith(
                "zcap: --send-hook=%s does not work here: " % fam),
                "--send-hook=%s: not offered by doctor; refused with one line, exit 1" % fam,
                res.stderr)
            continue
        b = bodies(res, rep)
        data = b"".join(base64.b64decode(r["data"]) for r in b)
        tap.ok(res.rc == 0 and errs == [], "--send-hook=%s: runs, no warning" % fam, res.stderr)
        tap.is_(data, want, "--send-hook=%s: body = the %d bytes sent (sha256 %s)"
                % (fam, COUNT, hashlib.sha256(data).hexdigest()[:16]))
        got = coalesce(shape(b, b[0]["tcp_seq"])) if b else []
        tap.is_(got, [(src, OFF, COUNT, 0)],
                "--send-hook=%s: one run of file %s [%d, +%d) at TCP offsets 0.." % (
                    fam, os.path.basename(src), OFF, COUNT))
        tap.ok(b and all(r["via"] == "sendfile" and not r["truncated"] for r in b),
               "--send-hook=%s: via sendfile, nothing cut" % fam)
        # ids join bodies to their call, also for jq/JavaScript (IEEE doubles)
        xids = {r["call_id"] for r in res.of_type("xfer") if r["pid"] == rep.get("pid")}
        tap.ok(b and xids and all(0 < i < 2 ** 53 for i in xids)
               and {r["call_id"] for r in b} <= xids
               and {float(i) for i in xids} == {float(i) for i in xids if i == int(float(i))},
               "--send-hook=%s: call ids below 2^53, every body's is its sendfile's" % fam,
               [sorted(xids)[:4], sorted({r["call_id"] for r in b})[:4]])
        if reference is None:
            reference = (fam, got)
        else:
            tap.is_(got, reference[1], "--send-hook=%s: same ranges as %s" % (fam, reference[0]))

    # auto uses doctor's send path
    res = zt.run_record(["-v", "-s", "0"], ["true"], timeout=300)
    line = next((x for x in res.stderr.splitlines() if x.startswith("zcap: capturing")), "")
    tap.ok(res.rc == 0 and doc.get("send_path_target") and doc["send_path_target"] in line,
           "--send-hook=auto attaches doctor's send path (%s)" % doc.get("send_path_target"),
           res.stderr)

    # spliced bodies name their file with --port and -p
    port = zt.free_port()
    for label, zargs in (("--port", ("-s", "0", "--port", str(port))), ("-- CMD", ("-s", "0"))):
        res, rep = xfer(work, "splice", zargs, port=port)
        b = bodies(res, rep)
        got = coalesce(shape(b, b[0]["tcp_seq"])) if b else []
        tap.is_(got, [(src, OFF, COUNT, 0)],
                "splice with %s: bodies name %s and cover [%d, +%d) in TCP order"
                % (label, os.path.basename(src), OFF, COUNT))
        if label == "--port":
            shown = [r for r in res.of_type("xfer") if r.get("out_fd_kind") == "pipe"]
            tap.is_(shown, [], "splice with --port: the hidden file -> pipe splice is not output")
    return tap.done_testing()


if __name__ == "__main__":
    sys.exit(main())
