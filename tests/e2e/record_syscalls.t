#!/usr/bin/python3
"""zcap record against tools/iogen, one syscall family at a time.

iogen moves a known random payload with each read/write-family syscall and
reports every call it made (pid, tid, fd, direction, slice of the payload,
what the fd was); each check holds zcap's JSON records against that report
exactly (zcaptest.op_problems), and the deterministic modes also against
strace's count of the same calls. Then: fd identity through dup/dup2/dup3/
F_DUPFD/close/close_range and reuse (iogen fdlife, with its fd life-cycle
calls), the /proc fallback for a file opened before the capture (-p), -p
following a fork, --comm, --port, -c, --duration, loss accounting with the
smallest ring, zcap never capturing itself, exit status and signal death of
-- CMD in the records, and `record --help` listing exactly the options that
exist (each of them working). Bad-input cases live in record_cli.t and
bad_input.t.
"""
import collections
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402

# read(2)'s number, to see in /proc/PID/syscall that iogen waits on stdin
READ_NR = {"x86_64": "0", "aarch64": "63"}.get(os.uname().machine)

# mode -> payload size for the per-syscall runs; every mode but tcp and unix
# (a reader thread: how much each read gets varies) is deterministic and is
# also held against strace
MODES = (("pipe-rw", 5000), ("file-rw", 70001), ("vec", 40000), ("udp", 3000),
         ("tcp", 300000), ("mmsg", 4099), ("unix", 500000), ("manyvec", 100000))
DETERMINISTIC = ("pipe-rw", "file-rw", "vec", "udp", "mmsg", "manyvec")


class Section:
    """A group of n assertions; an exception inside fails the ones not run."""

    def __init__(self, name, n):
        self.name, self.n = name, n

    def __enter__(self):
        self.start = tap._tap.count
        return self

    def __exit__(self, kind, exc, tb):
        ran = tap._tap.count - self.start
        if kind is None and ran != self.n:
            tap.diag("%s: %d assertions, %d planned" % (self.name, ran, self.n))
        if kind is not None:
            if not issubclass(kind, Exception):
                return False
            for i in range(ran, self.n):
                tap.ok(False, "%s (%d of %d not reached)" % (self.name, i + 1, self.n),
                       "%s: %s" % (kind.__name__, exc) if i == ran else None)
            return True
        return False


def iogen_rc_ok(run, res):
    """zcap exits with iogen's status: 0 when iogen did all it reports."""
    return tap.ok(res.rc == 0, "%s: iogen ran, zcap exits 0" % run.mode,
                  "rc %d; stderr: %s" % (res.rc, res.stderr.strip()[-1000:]))


def wait_blocked_on_stdin(pid, timeout=30):
    """Until pid sits in read(0, ...): a capture attached now misses that call
    (it entered before the probes) and sees everything after it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/syscall" % pid) as f:
                if f.read().split()[:2] == [READ_NR, "0x0"]:
                    return
        except OSError:
            pass
        time.sleep(0.02)
    raise zt.ZcapError("iogen %d never blocked on stdin" % pid)


def summary_of(res):
    s = res.of_type("summary")
    if len(s) != 1 or res.records[-1].get("type") != "summary":
        raise zt.ZcapError("no single summary record at the end: %r" % s)
    return s[0]


def calls_key(syscall, fd, ret):
    return (syscall, fd, ret)


def zcap_calls(records, pid, fds):
    """What zcap saw iogen (comm iogen, pid) call on fds: (syscall, fd, ret)
    per call, one per sendmmsg/recvmmsg call (message 0 stands for it)."""
    return collections.Counter(
        calls_key(r["syscall"], r["fd"], r["ret"]) for r in zt.io_records(records, pid=pid)
        if r["comm"] == "iogen" and r.get("msg", 0) == 0 and r["fd"] in fds)


def strace_calls(argv, fds):
    """The same from strace. Only iogen's mode fds: ASan's start-up reads of
    /proc/self/maps (fd 3, before the payload takes it) differ run to run."""
    rc, calls = zt.strace_io(argv)
    return rc, collections.Counter(calls_key(c["syscall"], c["fd"], c["ret"]) for c in calls
                                   if c["fd"] in fds)


def as_under_strace(argv):
    """argv with the environment strace_io gives it: no LeakSanitizer (it
    cannot run under ptrace, and its reads at exit would differ), so that an
    ASan-built iogen makes the same calls under zcap as under strace."""
    asan = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "detect_leaks=0"]))
    return ["env", "ASAN_OPTIONS=" + asan] + list(argv)


def test_per_syscall():
    """Every read/write-family syscall: exact bytes, len, pid, tid, fd, dir,
    fd identity; deterministic modes also against strace."""
    with Section("per-syscall", 2 * len(MODES) + len(DETERMINISTIC) + 2):
        seen, shapes = set(), collections.Counter()
        for mode, size in MODES:
            with zt.Iogen(mode, size, seed=11 + size) as run:
                res = zt.run_record(["-s", "0", "-e", "io"], as_under_strace(run.argv))
                iogen_rc_ok(run, res)
                tap.is_(zt.op_problems(res.records, run.report, run.payload), [],
                        "%s: each of %d calls captured exactly (bytes, len, pid, tid, fd, dir, "
                        "fd kind, path, addresses, offsets)" % (mode, len(run.report["ops"])))
                for op in run.report["ops"]:
                    seen.add(op["syscall"])
                    shapes[(op["syscall"], op.get("iovcnt"), op["kind"], op.get("msg"))] += 1
                if mode in DETERMINISTIC:
                    fds = {op["fd"] for op in run.report["ops"]}
                    rc, want = strace_calls(run.argv, fds)
                    got = zcap_calls(res.records, run.report["pid"], fds)
                    tap.ok(rc == 0 and want and got == want,
                           "%s: zcap saw the same calls (syscall, fd, ret) on fds %s as strace"
                           % (mode, sorted(fds)), ["strace rc %d" % rc] + tap.explain(got, want))
        tap.is_(sorted(seen), sorted(zt.IO_SYSCALLS), "all 16 read/write-family syscalls ran")
        want_shapes = [("writev", 8, "pipe", None), ("writev", 1024, "file", None),
                       ("recvmsg", 3, "udp", None), ("recvmsg", 3, "tcp", None),
                       ("sendmmsg", 2, "udp", 0), ("sendmmsg", 2, "udp", 1),
                       ("recvmmsg", 2, "udp", 1), ("preadv2", 3, "file", None),
                       ("pwritev2", 4, "file", None)]
        tap.is_([s for s in want_shapes if not shapes[s]], [],
                "the runs include writev with 8 and 1024 iovecs, recvmsg with 3, "
                "sendmmsg/recvmmsg with 2 messages, preadv2/pwritev2")


def test_big_and_snaplen():
    with Section("snaplen", 5):
        res, run = zt.record_iogen("big", 1 << 20, seed=21, zcap_args=["-s", "0", "-e", "io"])
        with run:
            iogen_rc_ok(run, res)
            tap.is_(zt.op_problems(res.records, run.report, run.payload), [],
                    "1 MiB write() at -s 0: one record, every byte exact, not truncated")
            w = zt.io_records(res.records, pid=run.report["pid"], syscall="write",
                              fd=run.report["ops"][0]["fd"])
            tap.is_([(r["len"], len(zt.payload_of(r)), r["truncated"], r.get("incomplete"))
                     for r in w], [(1 << 20, 1 << 20, False, None)],
                    "its 32 chunks are reassembled into one record of 1048576 bytes")
        res, run = zt.record_iogen("big", 1 << 20, seed=22, zcap_args=["-e", "io"])
        with run:
            tap.is_(zt.op_problems(res.records, run.report, run.payload, snaplen=16384), [],
                    "default snaplen: the first 16384 bytes, flagged truncated, len 1048576")
        res, run = zt.record_iogen("vec", 40000, seed=23, zcap_args=["-s", "1000", "-e", "io"])
        with run:
            tap.is_(zt.op_problems(res.records, run.report, run.payload, snaplen=1000), [],
                    "-s 1000 on vector calls: the first 1000 bytes across the iovecs")


def fd_records_as_fdops(res, report):
    """zcap's fd records of iogen's window, in the shape of report fdops."""
    names = {"kind": "fd_kind", "kind2": "fd2_fd_kind"}
    recs = sorted((r for r in res.records if r.get("type") == "fd" and r["pid"] == report["pid"]
                   and report["t0_ns"] <= r["ts_ns"] <= report["t1_ns"]),
                  key=lambda r: r["ts_ns"])
    out = []
    for i, r in enumerate(recs):
        want = report["fdops"][i] if i < len(report["fdops"]) else {}
        keys = set(want) | {"syscall", "fd", "ret"}
        out.append({k: r.get(names.get(k, k)) for k in keys})
    return out


def test_fdlife():
    with Section("fd life cycle", 5):
        res, run = zt.record_iogen("fdlife", 40000, seed=31, zcap_args=["-s", "0"])
        with run:
            rep = run.report
            iogen_rc_ok(run, res)
            tap.is_(zt.op_problems(res.records, rep, run.payload), [],
                    "fdlife: every slice exact, each record naming what its fd was then")
            tap.is_(fd_records_as_fdops(res, rep), rep["fdops"],
                    "fdlife: %d fd records = iogen's open, dup, dup2, dup3, fcntl, close, pipe, "
                    "pipe2, socketpair, socket, bind, listen, connect, accept, accept4, close_range"
                    % len(rep["fdops"]))
            path_a = next(op["path"] for op in rep["fdops"] if op["syscall"] == "openat")
            a_writes = [r for r in zt.io_records(res.records, pid=rep["pid"], syscall="write")
                        if r.get("path") == path_a]
            tap.is_(sorted({r["fd"] for r in a_writes}),
                    sorted({op["fd"] for op in rep["ops"] if op.get("path") == path_a
                            and op["syscall"] == "write"}),
                    "writes through dup, dup2, dup3, F_DUPFD and F_DUPFD_CLOEXEC fds "
                    "(and after the original's close) all name file A")

            def story(fd):
                return [(r["fd_kind"], r.get("path")) for r in
                        zt.io_records(res.records, pid=rep["pid"], fd=fd, dir="out")
                        if rep["t0_ns"] <= r["ts_ns"] <= rep["t1_ns"]]
            path_b = [op["path"] for op in rep["fdops"] if op["syscall"] == "openat"][1]
            tap.is_((story(100), story(101), story(102)),
                    ([("file", path_a), ("file", path_b)], [("file", path_a), ("pipe", None)],
                     [("file", path_a), ("unix", None)]),
                    "reused fd numbers: 100 file A then B (dup2), 101 file A then a pipe "
                    "(dup3), 102 file A then a unix socket (close_range, dup2)")


def test_pid_attach():
    """-p PID of running processes: /proc names a file opened before the
    capture; a fork after the attach is followed."""
    with Section("-p", 5):
        with zt.Iogen("held", 100000, seed=41, wait_stdin=True) as run:
            run.start()
            wait_blocked_on_stdin(run.pid)
            with zt.start_record(["-s", "0", "-e", "io,fd", "-p", run.pid]) as h:
                h.wait_ready()
                run.go()
                tap.is_(run.wait(), 0, "held: iogen ran")
                res = h.stop()
            tap.is_(zt.op_problems(res.records, run.report, run.payload), [],
                    "-p: pread64/read of a file opened before the capture, exact, named "
                    "%s (from /proc)" % run.report["ops"][0]["path"])
            tap.is_([r for r in res.of_type("fd") if r["pid"] == run.pid
                     and r["syscall"].startswith("open")], [],
                    "-p: the capture saw no open of it (the name is not from an open record)")
        with zt.Iogen("fork", 200000, seed=42, wait_stdin=True) as run:
            run.start()
            wait_blocked_on_stdin(run.pid)
            with zt.start_record(["-s", "0", "-e", "io", "-p", run.pid]) as h:
                h.wait_ready()
                run.go()
                rc = run.wait()
                res = h.stop()
            rep = run.report
            tap.ok(rc == 0 and "child_pid" in rep and rep["ops"]
                   and {op["pid"] for op in rep["ops"]} == {rep["pid"], rep["child_pid"]},
                   "fork: the child wrote, the parent read", rep.get("ops"))
            tap.is_(zt.op_problems(res.records, rep, run.payload), [],
                    "-p follows the child forked after the attach: its write()s exact")


def test_comm():
    with Section("--comm", 4):
        work = tempfile.mkdtemp(prefix="zcap-comm-")
        try:
            other = os.path.join(work, "otherio")
            shutil.copy(zt.tool("iogen"), other)
            with zt.Iogen("pipe-rw", 6000, seed=51, wait_stdin=True) as run, \
                    zt.Iogen("pipe-rw", 6000, seed=52, wait_stdin=True) as twin:
                twin.argv[0] = other
                run.start()
                twin.start()
                with zt.start_record(["-s", "0", "-e", "io,fd", "--comm", "iogen"]) as h:
                    h.wait_ready()
                    run.go()
                    twin.go()
                    rcs = (run.wait(), twin.wait())
                    res = h.stop()
                tap.is_(rcs, (0, 0), "iogen and its copy otherio ran")
                tap.is_(zt.op_problems(res.records, run.report, run.payload), [],
                        "--comm iogen: iogen's calls exact")
                tap.is_([r for r in res.records if r.get("pid") == twin.pid], [],
                        "--comm iogen: nothing of otherio (same calls, other name)")
                tap.is_(sorted({r["comm"] for r in res.records if r["type"] in ("io", "fd")}),
                        ["iogen"], "--comm iogen: every io and fd record is iogen's")
        finally:
            shutil.rmtree(work, ignore_errors=True)


def free_port():
    with socket.socket() as t, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u.bind(("127.0.0.1", port))  # free for UDP too
        return port


def test_port():
    with Section("--port", 4):
        port = free_port()
        with zt.Iogen("tcp", 100000, seed=61, wait_stdin=True) as tcp, \
                zt.Iogen("udp", 3000, seed=62, wait_stdin=True) as udp:
            tcp.argv[1:1] = ["--port", str(port)]
            tcp.start()
            udp.start()
            with zt.start_record(["-s", "0", "-e", "io,fd", "--port", port]) as h:
                h.wait_ready()
                tcp.go()
                udp.go()
                rcs = (tcp.wait(), udp.wait())
                res = h.stop()
            tap.is_(rcs, (0, 0), "iogen tcp (port %d) and iogen udp ran" % port)
            tap.is_(zt.op_problems(res.records, tcp.report, tcp.payload), [],
                    "--port %d: the TCP connection's calls exact, ports and addresses" % port)
            tap.is_([r for r in res.records if r.get("pid") == udp.pid], [],
                    "--port: nothing of the UDP sockets on other ports")
            tap.is_([r for r in res.records if r["type"] in ("io", "fd")
                     and port not in (r.get("lport"), r.get("rport"))], [],
                    "--port: every io and fd record is of a socket with port %d" % port)


def test_count_duration():
    with Section("-c, --duration", 6):
        with zt.Iogen("vec", 40000, seed=71, wait_stdin=True) as run:
            run.start()
            wait_blocked_on_stdin(run.pid)
            proc = subprocess.Popen([zt.ZCAP, "record", "--json", "-s", "0", "-e", "io", "-c", "4",
                                     "-p", str(run.pid)], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
            try:
                err = b""
                while zt.READY_PREFIX.encode() not in err and proc.poll() is None:
                    err += proc.stderr.readline()
                run.go()
                out, rest = proc.communicate(timeout=60)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            tap.is_(run.wait(), 0, "vec: iogen ran")
            res = zt.Result(proc.returncode, zt.parse_jsonl(out.decode()), (err + rest).decode())
            first4 = dict(run.report, ops=run.report["ops"][:4])
            tap.is_(res.rc, 0, "-c 4: zcap stops by itself, exit 0")
            tap.is_(zt.op_problems(res.records, first4, run.payload, window=False), [],
                    "-c 4: exactly iogen's first 4 calls, exact")
            tap.is_(summary_of(res)["records"], 4, "-c 4: the summary counts 4 records")
        sleeper = subprocess.Popen(["sleep", "120"])
        try:
            res = zt.run_record(["-e", "io", "-p", sleeper.pid, "--duration", "1.5"], timeout=60)
            tap.ok(res.rc == 0 and [r["type"] for r in res.records] == ["summary"],
                   "--duration 1.5: zcap stops by itself, exit 0, just the summary",
                   res.stderr)
            tap.is_(sleeper.poll(), None, "--duration: the traced process is left running")
        finally:
            sleeper.kill()
            sleeper.wait()


def test_drops():
    """-B 16 (the smallest ring): no 32 KiB chunk fits. Every loss is counted
    by cause, in the JSON stream and on stderr, and no record pretends to be
    whole."""
    with Section("drops", 5):
        res, run = zt.record_iogen("big", 1 << 20, seed=81, zcap_args=["-s", "0", "-B", "16"])
        with run:
            iogen_rc_ok(run, res)
            summary = summary_of(res)
            drops = summary["drops"]
            # 64 = 32 chunks of iogen's read of the payload + 32 of its write
            tap.ok(sorted(drops) == ["map_full", "read_fault", "ring_full"]
                   and drops["ring_full"] >= 64,
                   "summary: losses by cause, ring_full >= 64", summary)
            drop_recs = res.of_type("drop")
            tap.ok(drop_recs and drop_recs[-1]["drops"] == drops,
                   "\"drop\" records report the losses as they happen; the last = the summary",
                   drop_recs)
            m = re.search(r"zcap: (\d+) records, (\d+) payload bytes captured; lost events: "
                          r"(\d+) ring full, (\d+) map full, (\d+) read faults; (\d+) incomplete",
                          res.stderr)
            tap.ok(m and [int(x) for x in m.groups()] ==
                   [summary["records"], summary["bytes"], drops["ring_full"], drops["map_full"],
                    drops["read_fault"], summary["incomplete"]],
                   "stderr summary line = the JSON summary", res.stderr)
            match = zt.match_ops(res.records, run.report)
            lying = [zt.describe_record(r) for op, r in match.pairs
                     if r is not None and not r.get("incomplete")
                     and zt.payload_of(r) != run.payload[op["off"]:op["off"] + op["len"]]]
            tap.ok(not lying and any(r is None or r.get("incomplete") for _, r in match.pairs),
                   "the 1 MiB write is missing or flagged incomplete, never silently short",
                   lying or match.pairs)


def test_self():
    """zcap never captures itself. With --comm zcap and a copy of iogen named
    zcap doing I/O, zcap writes a JSON line per record while the filter
    would accept its own writes too (system-wide, but without the flood of
    a busy machine to wait for)."""
    with Section("self", 3):
        work = tempfile.mkdtemp(prefix="zcap-self-")
        try:
            twin = os.path.join(work, "zcap")
            shutil.copy(zt.tool("iogen"), twin)
            with zt.Iogen("pipe-rw", 5000, seed=91, wait_stdin=True) as run:
                run.argv[0] = twin
                run.start()
                with zt.start_record(["-s", "0", "-e", "io,fd", "--comm", "zcap"]) as h:
                    h.wait_ready()
                    run.go()
                    rc = run.wait()
                    res = h.stop()
                tap.is_(rc, 0, "pipe-rw: iogen (named zcap) ran")
                tap.is_(zt.op_problems(res.records, run.report, run.payload, comm="zcap"), [],
                        "--comm zcap: the iogen named zcap captured exactly")
                tap.is_([zt.describe_record(r) for r in res.records if r.get("pid") == h.pid],
                        [], "not one record of zcap itself (pid %d), which wrote %d records"
                        % (h.pid, len(res.records)))
        finally:
            shutil.rmtree(work, ignore_errors=True)


def test_exit_status():
    with Section("exit status", 4):
        res, run = zt.record_iogen("pipe-rw", 5000, seed=95, zcap_args=["-s", "0"], exit_code=3)
        with run:
            tap.is_(res.rc, 3, "-- iogen --exit 3: zcap exits 3")
            tap.ok(zt.op_problems(res.records, run.report, run.payload) == []
                   and [(r["exit_code"], "signal" in r) for r in res.of_type("proc")
                        if r["syscall"] == "exit" and r["pid"] == run.report["pid"]]
                   == [(3, False)],
                   "its calls exact and its proc exit record says exit_code 3",
                   res.of_type("proc"))
        res = zt.run_record(["-e", "proc"], ["sh", "-c", "kill -KILL $$"])
        tap.is_(res.rc, 137, "-- CMD killed by SIGKILL: zcap exits 128+9")
        tap.is_([(r["exit_code"], r.get("signal")) for r in res.of_type("proc")
                 if r["syscall"] == "exit"], [(137, 9)],
                "its proc exit record says signal 9 (exit_code 137)")


def help_options(text):
    """Long options `record --help` lists (not --help/--usage)."""
    opts = set(re.findall(r"^[ \t]+(?:-\w, )?(--[a-z][a-z-]*)", text, re.M))
    return opts - {"--help", "--usage"}


def test_help():
    """Every option record --help lists works; every option that works is listed."""
    with Section("help", 3):
        work = tempfile.mkdtemp(prefix="zcap-help-")
        sleeper = subprocess.Popen(["sleep", "120"])
        try:
            true = ["--", "true"]
            samples = {
                "--pid": ["-p", str(sleeper.pid), "--duration", "0.3"],
                "--comm": ["--comm", "true"] + true,
                "--port": ["--port", "9"] + true,
                "--fd-kinds": ["--fd-kinds", "socket"] + true,
                "--interface": ["-i", "lo", "-o", os.path.join(work, "if.pcapng")] + true,
                "--events": ["-e", "io,body,xfer,fd,proc"] + true,
                "--send-hook": ["--send-hook", "tracepoint"] + true,
                "--no-send-path": ["--no-send-path"] + true,
                "--user": ["--user", "nobody"] + true,
                "--snaplen": ["-s", "0"] + true,
                "--buffer-size": ["-B", "64"] + true,
                "--map-entries": ["--map-entries", "1024"] + true,
                "--count": ["-c", "1"] + true,
                "--duration": ["--duration", "0.3", "-p", str(sleeper.pid)],
                "--json": ["--json"] + true,
                "--output": ["-o", os.path.join(work, "out.txt")] + true,
                "--format": ["--format", "json"] + true,
                "--width": ["--width", "40"] + true,
                "--quiet": ["-q"] + true,
                "--verbose": ["-v"] + true,
                "--cgroup": ["--cgroup", "/"] + true,
                "--hex": ["-X"] + true,
                "--relinquish-privileges": ["-Z", "nobody"] + true,
                "--file-size": ["-C", "1", "-o", os.path.join(work, "c.pcapng")] + true,
                "--file-count": ["-C", "1", "-W", "2", "-o", os.path.join(work, "w.pcapng")] + true,
                "--rotate-seconds": ["-G", "60", "-o", os.path.join(work, "g.pcapng")] + true,
                # reads what --file-size wrote (dicts keep their order)
                "--read": ["-r", os.path.join(work, "c.pcapng")],
            }
            out = subprocess.run([zt.ZCAP, "record", "--help"], capture_output=True, text=True,
                                 timeout=30)
            tap.is_(sorted(help_options(out.stdout)), sorted(samples),
                    "record --help lists exactly the options exercised here")
            bad = []
            for opt, args in samples.items():
                p = subprocess.run([zt.ZCAP, "record"] + args, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True, timeout=60)
                if p.returncode != 0:
                    bad.append("%s: exit %d: %s" % (" ".join(args), p.returncode,
                                                     p.stderr.strip()[-300:]))
            tap.is_(bad, [], "each listed option works (exit 0)")
            top = subprocess.run([zt.ZCAP, "--help"], capture_output=True, text=True, timeout=30)
            cmds = re.findall(r"^  (\w+) ", top.stdout, re.M)
            broken = [c for c in cmds if subprocess.run(
                [zt.ZCAP, c] + ([] if c in ("help", "version") else ["--help"]),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30).returncode]
            tap.ok(sorted(cmds) == ["doctor", "help", "lineage", "read", "record", "version"]
                   and not broken, "zcap --help lists the commands that exist, each answers",
                   [top.stdout, broken])
        finally:
            sleeper.kill()
            sleeper.wait()
            shutil.rmtree(work, ignore_errors=True)


TESTS = (test_per_syscall, test_big_and_snaplen, test_fdlife, test_pid_attach, test_comm,
         test_port, test_count_duration, test_drops, test_self, test_exit_status, test_help)
PLAN = (2 * len(MODES) + len(DETERMINISTIC) + 2) + 5 + 5 + 5 + 4 + 4 + 6 + 5 + 3 + 4 + 3


def main():
    if os.geteuid() != 0:
        tap.plan(skip_all="needs root (zcap loads BPF programs)")
    try:
        zt.tool("iogen")
    except zt.ZcapError as e:
        tap.bail_out(str(e))
    if READ_NR is None or shutil.which("strace") is None:
        tap.bail_out("needs x86_64 or aarch64 and strace")
    tap.plan(PLAN)
    for t in TESTS:
        t()
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
