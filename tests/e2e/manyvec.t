#!/usr/bin/python3
"""Vector I/O at its limits, with whichever loop build this kernel gets and,
where the kernel has bpf_loop, also with the bounded-loop build
(ZCAP_TEST_BOUNDED_LOOPS=1, the build kernels before 5.17 load): a 1 MiB
writev over 1024 iovecs and its preadv over 1023, a 1 MiB write (32 chunks),
sendmmsg/recvmmsg and msghdr iovecs, each held byte-exact against iogen's
report. Short enough for the QEMU kernel matrix (tests/kernels/guest-run),
where it is the 1024-iovec check the issue asks for on 5.10.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402

MIB = 1 << 20
TURNS = 1100  # ZCAP_LOOP_MAX of the bounded build (kern/common.bpf.h)
CHUNK = 32768

# 1023 empty iovecs, then one of 100 chunks: 1123 turns of the walk, more
# than the bounded build takes; it must say so (truncated), not go quiet
OVER_LIMIT = r"""
import os, sys
data = bytes((i * 7 + 3) & 0xff for i in range(100 * %d))
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
assert os.writev(fd, [b""] * 1023 + [data]) == len(data)
""" % CHUNK


BOUNDED_REDUCED = "buffer walks bounded (no bpf_loop; see loops)"


def doctor_loops():
    """(loops, whether "reduced" names the bounded walks, the text report's
    last lines) from `zcap doctor` --json and text."""
    res = subprocess.run([zt.ZCAP, "doctor", "--json"], capture_output=True, text=True,
                         timeout=zt.scaled(120))
    text = subprocess.run([zt.ZCAP, "doctor"], capture_output=True, text=True,
                          timeout=zt.scaled(120)).stdout
    reduced = [l for l in text.splitlines() if l.startswith("reduced here: ")]
    try:
        doc = json.loads(res.stdout)
    except ValueError:
        return None, None, reduced
    return doc.get("loops"), BOUNDED_REDUCED in doc.get("reduced", []), reduced


def in_kernel_matrix():
    """Is this a guest of the QEMU kernel matrix (tests/kernels/)?"""
    with open("/proc/cmdline") as f:
        return "zcap_kernel=" in f.read()


def kernel_has_bpf_loop():
    """The oracle, from the kernel's own BTF: is BPF_FUNC_loop a helper here?"""
    with open("/sys/kernel/btf/vmlinux", "rb") as f:
        return b"\0BPF_FUNC_loop\0" in f.read()


def loops_of_doctor():
    """"bpf_loop" or "bounded": the build `zcap doctor` says capture uses,
    checked against what it says is reduced."""
    loops, named, reduced = doctor_loops()
    tap.ok(named == (loops == "bounded") and len(reduced) == 1
           and (BOUNDED_REDUCED in reduced[0]) == (loops == "bounded"),
           "doctor: loops %s, and 'reduced' names the bounded walks exactly when bounded" % loops,
           reduced)
    return loops


def over_limit(label):
    work = tempfile.mkdtemp(prefix="zcap-manyvec-")
    try:
        res = zt.run_record(["-s", "0", "-e", "io"],
                            [sys.executable, "-c", OVER_LIMIT, os.path.join(work, "out")])
    finally:
        shutil.rmtree(work)
    data = bytes((i * 7 + 3) & 0xff for i in range(100 * CHUNK))
    got = [(r["len"], zt.payload_of(r), r["truncated"], r.get("iov_limit")) for r in res.records
           if r.get("type") == "io" and r.get("syscall") == "writev"]
    # turn 1023 takes the last iovec and its first chunk, 76 turns follow
    kept = (TURNS - 1023) * CHUNK
    tap.ok(got == [(len(data), data[:kept], True, True)],
           "%s: a writev needing 1123 turns: the first %d bytes, flagged truncated and iov_limit"
           % (label, kept), [(g[0], len(g[1]), g[2], g[3]) for g in got])
    summary = [r for r in res.records if r.get("type") == "summary"]
    tap.is_([s.get("iov_limit") for s in summary], [1],
            "%s: the summary counts that one record as cut at the walk limit" % label)
    tap.like(res.stderr, r"0 incomplete records; 1 cut at the kernel's iovec walk limit\n",
             "%s: so does the stderr summary" % label)


def not_limited(res):
    """Records flagged iov_limit, and the summary's count (want [], [0])."""
    return ([r.get("syscall") for r in res.records if r.get("iov_limit")],
            [r.get("iov_limit") for r in res.records if r.get("type") == "summary"])


def checks(label):
    res, run = zt.record_iogen("manyvec", MIB, seed=31, zcap_args=["-s", "0", "-e", "io"])
    with run:
        tap.is_(zt.op_problems(res.records, run.report, run.payload), [],
                "%s: writev of 1 MiB over 1024 iovecs, preadv over 1023: every byte exact"
                % label)
        tap.is_(not_limited(res), ([], [0]),
                "%s: 1024 iovecs are within the walk: no record flagged iov_limit" % label)
        w = zt.io_records(res.records, pid=run.report["pid"], syscall="writev")
        tap.is_([(r["len"], len(zt.payload_of(r)), r["truncated"]) for r in w],
                [(MIB, MIB, False)],
                "%s: the writev is one record of 1048576 bytes, not truncated" % label)
    res, run = zt.record_iogen("manyvec", MIB, seed=34, zcap_args=["-s", "100", "-e", "io"])
    with run:
        w = zt.io_records(res.records, pid=run.report["pid"], syscall="writev")
        tap.is_(([(r["len"], len(zt.payload_of(r)), r["truncated"]) for r in w], not_limited(res)),
                ([(MIB, 100, True)], ([], [0])),
                "%s: -s 100 cuts the writev (truncated) but that is no walk limit" % label)
    res, run = zt.record_iogen("big", MIB, seed=32, zcap_args=["-s", "0", "-e", "io"])
    with run:
        tap.is_(zt.op_problems(res.records, run.report, run.payload), [],
                "%s: 1 MiB write(): its 32 chunks, every byte exact" % label)
    for mode, size in (("vec", 40000), ("mmsg", 4099)):
        res, run = zt.record_iogen(mode, size, seed=33, zcap_args=["-s", "0", "-e", "io"])
        with run:
            tap.is_(zt.op_problems(res.records, run.report, run.payload), [],
                    "%s: %s (iovecs, msghdrs, mmsg messages): every call exact" % (label, mode))


def main():
    loops = loops_of_doctor()
    tap.is_(loops, "bpf_loop" if kernel_has_bpf_loop() else "bounded",
            "doctor --json says which loops, as the kernel's BTF has bpf_loop or not")
    checks("loops %s" % loops)
    # the bounded build where bpf_loop exists too (one source, two builds):
    # on the development machine; in the kernel matrix's guests only where
    # it is the build the kernel gets (5.10), as the guests' time is CI's
    if loops == "bpf_loop" and not in_kernel_matrix():
        os.environ["ZCAP_TEST_BOUNDED_LOOPS"] = "1"
        tap.is_(loops_of_doctor(), "bounded", "ZCAP_TEST_BOUNDED_LOOPS=1: doctor says bounded")
        checks("bounded build")
    if loops == "bounded" or not in_kernel_matrix():
        over_limit("bounded build" if loops == "bpf_loop" else "loops bounded")
    return tap.done_testing()


if __name__ == "__main__":
    sys.exit(main())
