#!/usr/bin/python3
"""Helpers for zcap's end-to-end tests (tests/e2e/*.t).

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
    import tap
    import zcaptest as zt

    res, run = zt.record_iogen("pipe-rw", 5000, seed=3, zcap_args=["-s", "0"])
    tap.is_(res.rc, 0, "zcap exited 0")
    tap.is_(zt.op_problems(res.records, run.report, run.payload), [], "every op captured exactly")

Running zcap: run_record() (zcap runs CMD and exits with it), start_record()
(zcap in the background, e.g. with -p PID, stopped by a signal). Records are
the dicts of `zcap record --json` (JSON Lines); io_records() filters them,
payload_of() decodes their bytes.

tools/iogen performs known I/O and reports each operation (syscall, pid,
tid, fd, direction, slice off/len of its payload); Iogen prepares and runs
it, match_ops()/op_problems() hold a capture against its report. strace_io()
is an independent oracle: the payload syscalls strace saw a command make.

Paths: ZCAP (env ZCAP, default build/zcap) and TOOLS (env ZCAP_TOOLS,
default build/tools), relative to the repository root.

For the QEMU kernel matrix (tests/kernels/): env ZCAP_TEST_SEND_HOOK=NAME
adds `--send-hook NAME` to every `zcap record` these helpers run (unless
the test passes --send-hook itself); ZCAP_TEST_TIMEOUT_SCALE=N multiplies
their timeouts (guests under TCG are several times slower).
"""
import base64
import collections
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import NamedTuple

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ZCAP = os.path.abspath(os.environ.get("ZCAP") or os.path.join(ROOT, "build", "zcap"))
TOOLS = os.path.abspath(os.environ.get("ZCAP_TOOLS") or os.path.join(ROOT, "build", "tools"))

# The read/write-family syscalls zcap captures payloads of (names as zcap prints them).
IO_SYSCALLS = ("read", "write", "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev",
               "preadv2", "pwritev2", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg",
               "recvmmsg")

def free_port():
    """A TCP port on 127.0.0.1 that is free now (for servers under test)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


READY_PREFIX = "zcap: capturing"

SEND_HOOK = os.environ.get("ZCAP_TEST_SEND_HOOK") or None
TIMEOUT_SCALE = float(os.environ.get("ZCAP_TEST_TIMEOUT_SCALE") or 1)


def scaled(seconds):
    """A timeout in seconds, scaled by ZCAP_TEST_TIMEOUT_SCALE."""
    return seconds * TIMEOUT_SCALE


def record_args(args):
    """ARGS of `zcap record`, with --send-hook ZCAP_TEST_SEND_HOOK first when
    that is set and ARGS name no hook."""
    args = [str(a) for a in args]
    if SEND_HOOK and not any(a == "--send-hook" or a.startswith("--send-hook=") for a in args):
        args = ["--send-hook", SEND_HOOK] + args
    return args


class ZcapError(Exception):
    """zcap (or a helper program) did not behave well enough to check its output."""


def tool(name):
    """Path of a helper program built from tools/NAME.c."""
    path = os.path.join(TOOLS, name)
    if not os.access(path, os.X_OK):
        raise ZcapError("%s not built (make build/tools/%s)" % (path, name))
    return path


# ---------------------------------------------------------------- records

class Result(NamedTuple):
    """What one zcap run left: exit status, parsed JSON records, stderr text."""
    rc: int
    records: list
    stderr: str

    def io(self, **filters):
        """io_records(self.records, **filters)."""
        return io_records(self.records, **filters)

    def of_type(self, record_type):
        return [r for r in self.records if r.get("type") == record_type]


def parse_jsonl(text, what="zcap --json output"):
    """One JSON object per line; anything else raises ZcapError naming the line."""
    records = []
    for lineno, line in enumerate(text.splitlines(), 1):
        try:
            rec = json.loads(line)
        except ValueError as e:
            raise ZcapError("%s, line %d is not JSON (%s): %.200r" % (what, lineno, e, line)) \
                from None
        if not isinstance(rec, dict):
            raise ZcapError("%s, line %d is not a JSON object: %.200r" % (what, lineno, line))
        records.append(rec)
    return records


def _matches(value, want):
    if isinstance(want, (set, frozenset, list, tuple)):
        return value in want
    return value == want


def io_records(records, pid=None, fd=None, syscall=None, dir=None, **fields):
    """Records of type "io", optionally only those with these field values.

    syscall (and any other filter) may be one value or a set/list/tuple of
    allowed values; extra keyword arguments filter on any field, e.g.
    io_records(recs, pid=p, fd_kind="tcp", tid=t). Order is zcap's output order.
    """
    want = {k: v for k, v in (("pid", pid), ("fd", fd), ("syscall", syscall), ("dir", dir))
            if v is not None}
    want.update(fields)
    return [r for r in records if r.get("type") == "io"
            and all(_matches(r.get(k), v) for k, v in want.items())]


def payload_of(record):
    """The captured bytes of an io record (its base64 "data" field)."""
    if "data" not in record:
        raise ZcapError("record without a data field: %.300r" % (record,))
    return base64.b64decode(record["data"], validate=True)


def stream_bytes(records, **filters):
    """Bytes of the io records io_records(records, **filters) selects, in ts_ns order."""
    recs = sorted(io_records(records, **filters), key=lambda r: (r["ts_ns"], r.get("msg", 0)))
    return b"".join(payload_of(r) for r in recs)


def in_workdir(prefix, fn):
    """fn(work) in a new temporary directory that is removed afterwards."""
    work = tempfile.mkdtemp(prefix=prefix)
    try:
        return fn(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def record_zc_xfer(work, mode, zargs, extra=(), port=None, timeout=120, env=None):
    """`zcap record --json ZARGS -- zc_xfer MODE WORK/src.bin OFF COUNT`: the
    caller passes [OFF, COUNT, ...] as extra; (Result, zc_xfer's report)."""
    rep_path = os.path.join(work, "report-%s.json" % mode)
    if os.path.exists(rep_path):
        os.unlink(rep_path)
    cmd = [tool("zc_xfer"), "--report", rep_path]
    if port:
        cmd += ["--port", str(port)]
    cmd += [mode, os.path.join(work, "src.bin")] + [str(a) for a in extra]
    res = run_record(list(zargs), cmd, timeout=timeout, env=env)
    rep = {}
    if os.path.exists(rep_path):
        with open(rep_path) as f:
            rep = json.load(f)
    return res, rep


def sender_bodies(res, rep):
    """Body records of a zc_xfer run (its --report dict) on its sending
    socket, in TCP order."""
    got = [r for r in res.of_type("body")
           if r["pid"] == rep.get("pid") and r.get("lport") == rep.get("lport")]
    return sorted(got, key=lambda r: (r["tcp_seq"] - got[0]["tcp_seq"]) & 0xffffffff) if got else []


def random_payload(path, n, seed):
    """n deterministic pseudo-random bytes for seed (SHAKE-256); written to path
    (created 0600) unless path is None. Returns the bytes."""
    data = hashlib.shake_256(b"zcap-payload:%d" % seed).digest(n) if n else b""
    if path is not None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
    return data


# ------------------------------------------------------------ running zcap

def _record_argv(args, cmd):
    argv = [ZCAP, "record", "--json"] + record_args(args)
    if cmd is not None:
        argv += ["--"] + [str(c) for c in cmd]
    return argv


def _finish(proc, stdout, stderr):
    try:
        text = stdout.decode()
    except UnicodeDecodeError as e:
        raise ZcapError("zcap --json output is not UTF-8: %s" % e) from None
    return Result(proc.returncode, parse_jsonl(text), stderr.decode(errors="replace"))


def _interrupt(proc, grace=10):
    """SIGINT (zcap's orderly stop), then SIGKILL if it does not end."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_record(args, cmd=None, timeout=60, input=None, env=None):
    """`zcap record --json ARGS -- CMD`, or without `--` when cmd is None (then
    ARGS must make zcap stop by itself: -c, --duration). Returns Result; raises
    ZcapError when zcap outlives timeout (it is interrupted first) or prints
    something that is not JSON Lines."""
    timeout = scaled(timeout)
    proc = subprocess.Popen(_record_argv(args, cmd), stdin=subprocess.PIPE
                            if input is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _interrupt(proc)
        out, err = proc.communicate()
        raise ZcapError("zcap record %s did not finish within %ss; stderr: %s"
                        % (" ".join(map(str, args)), timeout, err.decode(errors="replace")[-2000:]))
    return _finish(proc, out, err)


class Recording:
    """zcap record --json running in the background (see start_record)."""

    def __init__(self, args, env=None):
        self.args = [str(a) for a in args]
        self._out = tempfile.NamedTemporaryFile(prefix="zcap-out-", suffix=".jsonl")
        self._err = tempfile.NamedTemporaryFile(prefix="zcap-err-", suffix=".txt")
        self.proc = subprocess.Popen(_record_argv(self.args, None), stdin=subprocess.DEVNULL,
                                     stdout=self._out, stderr=self._err, env=env)
        self.result = None

    @property
    def pid(self):
        return self.proc.pid

    def stderr_text(self):
        with open(self._err.name, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_ready(self, timeout=30):
        """Block until zcap prints its `zcap: capturing` line (probes attached)."""
        timeout = scaled(timeout)
        deadline = time.monotonic() + timeout
        while True:
            err = self.stderr_text()
            if any(line.startswith(READY_PREFIX) for line in err.splitlines()):
                return
            if self.proc.poll() is not None:
                self._close()
                raise ZcapError("zcap record %s exited %d before capturing: %s"
                                % (" ".join(self.args), self.proc.returncode, err.strip()))
            if time.monotonic() > deadline:
                self.kill()
                raise ZcapError("zcap record %s: no '%s' line within %ss; stderr: %s"
                                % (" ".join(self.args), READY_PREFIX, timeout, err.strip()))
            time.sleep(0.02)

    def stop(self, sig=signal.SIGINT, timeout=30):
        """Send sig (if zcap still runs), wait for it and parse its output: Result."""
        if self.result is not None:
            return self.result
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        timeout = scaled(timeout)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ZcapError("zcap record %s did not exit within %ss of signal %d"
                            % (" ".join(self.args), timeout, sig)) from None
        with open(self._out.name, "rb") as f:
            out = f.read()
        with open(self._err.name, "rb") as f:
            err = f.read()
        self._close()
        self.result = _finish(self.proc, out, err)
        return self.result

    def kill(self):
        """Best effort: end zcap now and drop its output (for error paths)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close()

    def _close(self):
        self._out.close()
        self._err.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.result is None:
            self.kill()
        return False


def start_record(args, env=None):
    """Start `zcap record --json ARGS` in the background (stdout to a temp file).
    Use handle.wait_ready(), then handle.stop() -> Result (rc, records, stderr)."""
    return Recording(args, env)


# ------------------------------------------------------------------- iogen

class Iogen:
    """One run of tools/iogen: a private directory with the payload file and
    the report path. argv is the command line (for run_record's cmd); start()
    runs it in the background, e.g. to attach zcap with -p first."""

    def __init__(self, mode, size, seed=1, delay_ms=None, wait_stdin=False, exit_code=None):
        self.mode = mode
        self.dir = tempfile.mkdtemp(prefix="zcap-iogen-%s-" % mode)
        self.payload_path = os.path.join(self.dir, "payload")
        self.report_path = os.path.join(self.dir, "report.json")
        self.payload = random_payload(self.payload_path, size, seed)
        self.argv = [tool("iogen"), "--report", self.report_path]
        if delay_ms is not None:
            self.argv += ["--delay-ms", str(delay_ms)]
        if wait_stdin:
            self.argv.append("--wait-stdin")
        if exit_code is not None:
            self.argv += ["--exit", str(exit_code)]
        self.argv += [mode, self.payload_path]
        self.wait_stdin = wait_stdin
        self.proc = None
        self.stderr = None
        self._report = None

    def start(self):
        """Run in the background; with wait_stdin it blocks until go()."""
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE if self.wait_stdin
                                     else subprocess.DEVNULL, stderr=subprocess.PIPE)
        return self.proc

    @property
    def pid(self):
        return self.proc.pid

    def go(self):
        """Release a --wait-stdin run."""
        self.proc.stdin.write(b"g")
        self.proc.stdin.close()

    def wait(self, timeout=60):
        """Exit status of a start()ed run (stdin is closed first, which also
        releases --wait-stdin); raises ZcapError if it does not end."""
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        timeout = scaled(timeout)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise ZcapError("iogen %s did not finish within %ss" % (self.mode, timeout)) from None
        # one line at most: it fit in the pipe while iogen ran
        self.stderr = self.proc.stderr.read().decode(errors="replace")
        self.proc.stderr.close()
        return self.proc.returncode

    @property
    def report(self):
        """The parsed report; ZcapError if iogen did not write one."""
        if self._report is None:
            try:
                with open(self.report_path) as f:
                    self._report = json.load(f)
            except (OSError, ValueError) as e:
                raise ZcapError("iogen %s left no usable report: %s" % (self.mode, e)) from None
        return self._report

    def ops(self, **filters):
        """Report operations with these field values (values may be sets)."""
        return [op for op in self.report["ops"]
                if all(_matches(op.get(k), v) for k, v in filters.items())]

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False


def record_iogen(mode, size, seed=1, zcap_args=(), timeout=60, **iogen_opts):
    """`zcap record --json ZCAP_ARGS -- iogen --report R MODE PAYLOAD` with a
    fresh payload of size bytes: (Result, Iogen). The caller cleans up the
    Iogen (iogen.cleanup(), or use it as a context manager)."""
    run = Iogen(mode, size, seed, **iogen_opts)
    try:
        res = run_record(list(zcap_args), run.argv, timeout)
    except BaseException:
        run.cleanup()
        raise
    return res, run


def _key(d):
    return (d["pid"], d["tid"], d["fd"], d["syscall"], d["dir"], d.get("msg"))


def report_pids(report):
    return {report["pid"]} | ({report["child_pid"]} if "child_pid" in report else set())


class Match(NamedTuple):
    pairs: list       # (op, record or None), in report order
    unexpected: list  # io records of iogen's processes inside its I/O window that no op explains


def _align(ops, recs):
    """Records for ops of one key: in order when the counts agree (so a wrong
    length or content shows as such), else each op takes the next record of
    its length (so one missed call does not shift all the others)."""
    if len(ops) == len(recs):
        return list(recs), []
    taken, rest, start = [], list(recs), 0
    for op in ops:
        at = next((i for i in range(start, len(rest)) if rest[i] is not None
                   and rest[i]["len"] == op["len"]), None)
        taken.append(None if at is None else rest[at])
        if at is not None:
            rest[at] = None
            start = at + 1
    return taken, [r for r in rest if r is not None]


def match_ops(records, report, window=True):
    """Pair every report op with an io record of the same pid, tid, fd,
    syscall, dir (and msg), in order (see _align). Only records of iogen's
    pids count, and with window=True only those between the report's t0_ns
    and t1_ns (zcap's ts_ns is CLOCK_MONOTONIC, like iogen's): iogen does no
    other I/O then."""
    pids = report_pids(report)
    recs = [r for r in io_records(records, pid=pids)
            if not window or report["t0_ns"] <= r["ts_ns"] <= report["t1_ns"]]
    recs.sort(key=lambda r: (r["ts_ns"], r.get("msg", 0)))
    rec_groups, op_groups = collections.defaultdict(list), collections.defaultdict(list)
    for r in recs:
        rec_groups[_key(r)].append(r)
    for i, op in enumerate(report["ops"]):
        op_groups[_key(op)].append((i, op))
    pairs = [None] * len(report["ops"])
    unexpected = []
    for key in op_groups.keys() | rec_groups.keys():
        indexed = op_groups.get(key, [])
        taken, rest = _align([op for _, op in indexed], rec_groups.get(key, []))
        for (i, op), rec in zip(indexed, taken):
            pairs[i] = (op, rec)
        unexpected += rest
    unexpected.sort(key=lambda r: r["ts_ns"])
    return Match(pairs, unexpected)


def describe_op(op):
    text = "%s pid %d tid %d fd %d %s off %d len %d" % (
        op["syscall"], op["pid"], op["tid"], op["fd"], op["dir"], op["off"], op["len"])
    if "msg" in op:
        text += " msg %d" % op["msg"]
    return text


def describe_record(rec):
    return "%s pid %s tid %s fd %s %s len %s%s" % (
        rec.get("syscall"), rec.get("pid"), rec.get("tid"), rec.get("fd"), rec.get("dir"),
        rec.get("len"), " msg %s" % rec["msg"] if "msg" in rec else "")


# report field -> record field, compared when the op has the field
_SAME_FIELDS = (("kind", "fd_kind"), ("path", "path"), ("pos", "offset"), ("laddr", "laddr"),
                ("lport", "lport"), ("raddr", "raddr"), ("rport", "rport"), ("ino", "ino"),
                ("peer_ino", "peer_ino"))


def _first_difference(got, want):
    return next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))


def op_problems(records, report, payload, snaplen=0, ignore=(), window=True, comm="iogen"):
    """Everything wrong with a capture of an iogen run, one line each ([] = exact).

    Each op needs its record (see match_ops) with: len and ret equal to the
    op's len (ret not for mmsg: it counts messages), data ==
    payload[off:off+len] cut to snaplen (0 = everything) with "truncated"
    saying whether it was cut, comm, and fd_kind/path/offset/ports/addresses/
    inodes equal to the op's kind/path/pos/... Field names in ignore (record
    names, e.g. "rport", "data") are not compared. Records of iogen's pids in
    its I/O window that no op explains are problems too.
    """
    problems = []
    match = match_ops(records, report, window)
    for i, (op, rec) in enumerate(match.pairs):
        where = "op %d (%s)" % (i, describe_op(op))
        if rec is None:
            problems.append("%s: no record" % where)
            continue
        if rec["len"] != op["len"] and "len" not in ignore:
            problems.append("%s: record len %s" % (where, rec["len"]))
        if not op["syscall"].endswith("mmsg") and rec.get("ret") != op["len"] \
                and "ret" not in ignore:
            problems.append("%s: record ret %s" % (where, rec.get("ret")))
        if comm is not None and rec.get("comm") != comm and "comm" not in ignore:
            problems.append("%s: record comm %r" % (where, rec.get("comm")))
        for op_field, rec_field in _SAME_FIELDS:
            if op_field in op and rec_field not in ignore and rec.get(rec_field) != op[op_field]:
                problems.append("%s: record %s %r, expected %r"
                                % (where, rec_field, rec.get(rec_field), op[op_field]))
        want = payload[op["off"]:op["off"] + op["len"]]
        cut = bool(snaplen) and len(want) > snaplen
        if cut:
            want = want[:snaplen]
        if "truncated" not in ignore and rec.get("truncated") is not cut:
            problems.append("%s: record truncated %r, expected %r"
                            % (where, rec.get("truncated"), cut))
        if "data" not in ignore:
            got = payload_of(rec)
            if got != want:
                problems.append("%s: %d bytes captured, %d expected, first difference at byte %d"
                                % (where, len(got), len(want), _first_difference(got, want)))
    for rec in match.unexpected:
        problems.append("unexpected record: %s" % describe_record(rec))
    return problems


# ----------------------------------------------------------- strace oracle

_STRACE_DONE = re.compile(r"^(\d+) +(\w+)\((\d+)?.* = (-?\d+)")
_STRACE_UNFINISHED = re.compile(r"^(\d+) +(\w+)\((\d+)?.*<unfinished \.\.\.>$")
_STRACE_RESUMED = re.compile(r"^(\d+) +<\.\.\. (\w+) resumed>.* = (-?\d+)")


def strace_io(argv, syscalls=IO_SYSCALLS, timeout=60, stdin=None):
    """Run argv under `strace -f` and return (exit status, calls): the listed
    syscalls it made, in completion order, as dicts tid/syscall/fd/ret
    (strace's per-thread id; fd None for calls without one). An oracle
    independent of zcap."""
    with tempfile.NamedTemporaryFile(prefix="zcap-strace-") as log:
        cmd = ["strace", "-f", "-qq", "-s", "0", "-e", "signal=none", "-o", log.name,
               "-e", "trace=" + ",".join(syscalls)] + [str(a) for a in argv]
        # LeakSanitizer cannot run under ptrace: ASan builds would fail at exit
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "detect_leaks=0"]))
        proc = subprocess.run(cmd, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout,
                              env=env)
        with open(log.name, errors="replace") as f:
            lines = f.read().splitlines()
    calls, pending = [], {}
    for line in lines:
        m = _STRACE_UNFINISHED.match(line)
        if m:
            pending[int(m[1])] = (m[2], m[3])
            continue
        m = _STRACE_RESUMED.match(line)
        if m:
            name, fd = pending.pop(int(m[1]), (m[2], None))
            calls.append({"tid": int(m[1]), "syscall": name, "fd": None if fd is None else int(fd),
                          "ret": int(m[3])})
            continue
        m = _STRACE_DONE.match(line)
        if m:
            calls.append({"tid": int(m[1]), "syscall": m[2],
                          "fd": None if m[3] is None else int(m[3]), "ret": int(m[4])})
    return proc.returncode, calls


# ---------------------------------------------------------------- self-test

def _self_test():
    """What can be checked without zcap: tap, payloads, record helpers, and
    (when built) iogen's reports against strace and against a simulated
    perfect capture."""
    import tap

    here = os.path.dirname(os.path.abspath(__file__))
    work = tempfile.mkdtemp(prefix="zcaptest-self-")
    try:
        _self_test_tap(tap, here)
        _self_test_payload(tap, work)
        _self_test_records(tap)
        _self_test_iogen(tap, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return tap.done_testing()


def _run_tap_script(here, body):
    script = "import sys\nsys.path.insert(0, %r)\nimport tap\n%s\n" % (here, body)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=30)
    return proc.returncode, proc.stdout.splitlines(), proc.stderr


def _self_test_tap(tap, here):
    rc, out, err = _run_tap_script(here, "\n".join([
        "tap.plan(5)",
        "tap.ok(True, 'first')",
        "tap.ok(False, 'second # with a hash')",
        "tap.is_(b'abcdef', b'abcXef', 'bytes')",
        "tap.is_([1, 2], [1, 2], 'lists')",
        "tap.skip('fifth', 'not here')",
        "sys.exit(tap.done())"]))
    tap.is_(out, ["TAP version 13", "1..5", "ok 1 - first", "not ok 2 - second \\# with a hash",
                  "not ok 3 - bytes", "ok 4 - lists", "ok 5 - fifth # SKIP not here"],
            "tap: plan, ok, is_, skip lines")
    tap.is_(rc, 2, "tap: exit status counts the failures")
    tap.like(err, r"# +first difference at byte 3\n# +got: +00000000  61 62 63 64 65 66\n"
             r"# +expected: 00000000  61 62 63 58 65 66", "tap: is_ on bytes shows where and hex")
    tap.like(err, "Looks like you failed 2 tests of 5", "tap: summary of failures")

    rc, out, err = _run_tap_script(here, "tap.ok(False, 'x')\ntap.ok(True, 'y')")
    tap.is_((rc, out[-1]), (254, "ok 2 - y"), "tap: a script that forgets done_testing fails")
    rc, out, _ = _run_tap_script(here, "tap.ok(1, 'a')\ntap.ok(1, 'b')\ntap.done_testing()")
    tap.is_((rc, out), (0, ["TAP version 13", "ok 1 - a", "ok 2 - b", "1..2"]),
            "tap: done_testing prints the plan at the end, exit 0")
    rc, _, err = _run_tap_script(here, "tap.plan(3)\ntap.ok(1, 'a')\ntap.done()")
    tap.ok(rc == 255 and "planned 3 tests but ran 1" in err, "tap: unmet plan exits 255",
           "rc=%d stderr=%r" % (rc, err))
    rc, out, _ = _run_tap_script(here, "tap.plan(2)\ntap.bail_out('no BPF')\ntap.ok(1, 'never')")
    tap.is_((rc, out[-1]), (255, "Bail out!  no BPF"), "tap: bail_out stops with 255")
    rc, out, _ = _run_tap_script(here, "tap.plan(skip_all='not root')\ntap.ok(0, 'never')")
    tap.is_((rc, out[-1]), (0, "1..0 # SKIP not root"), "tap: plan(skip_all=...)")
    rc, out, err = _run_tap_script(here, "tap.ok(False, 'todo', todo='later')\n"
                                   "tap.is_({'a': 1, 'b': 2}, {'a': 1, 'b': 3, 'c': 4}, 'dict')\n"
                                   "tap.is_({1, 2}, {2, 3}, 'set')\nsys.exit(tap.done())")
    tap.is_(rc, 2, "tap: a failing TODO test does not count")
    tap.ok(all(s in err for s in ("missing key 'c'", "['b']: got 2, expected 3",
                                  "missing:    [3]", "unexpected: [1]")),
           "tap: dict and set differences named", err)


def _self_test_payload(tap, work):
    path = os.path.join(work, "p")
    data = random_payload(path, 100000, seed=5)
    with open(path, "rb") as f:
        tap.is_(f.read(), data, "random_payload: file holds the returned bytes")
    tap.is_(len(data), 100000, "random_payload: exact length")
    tap.is_(os.stat(path).st_mode & 0o777, 0o600, "random_payload: file is 0600")
    tap.is_(random_payload(None, 100000, 5), data, "random_payload: same seed, same bytes")
    tap.isnt(random_payload(None, 100000, 6), data, "random_payload: other seed, other bytes")
    tap.is_(random_payload(None, 100, 5), data[:100], "random_payload: shorter is a prefix")
    # Pinned so that a change of generator is noticed (expected values may be recorded).
    tap.is_(hashlib.sha256(random_payload(None, 4096, 1)).hexdigest()[:16],
            hashlib.sha256(hashlib.shake_256(b"zcap-payload:1").digest(4096)).hexdigest()[:16],
            "random_payload: SHAKE-256 of 'zcap-payload:SEED'")
    tap.is_(random_payload(None, 0, 1), b"", "random_payload: empty")
    # byte values spread out (no accidental constant output)
    tap.ok(len(set(data)) == 256, "random_payload: all byte values occur")


def _io(pid, tid, fd, syscall, direction, data, ts, **extra):
    rec = {"type": "io", "ts_ns": ts, "pid": pid, "tid": tid, "comm": "iogen",
           "syscall": syscall, "fd": fd, "dir": direction, "ret": len(data), "len": len(data),
           "data": base64.b64encode(data).decode(), "truncated": False}
    rec.update(extra)
    return rec


def _self_test_records(tap):
    lines = '{"type":"io","pid":1}\n{"type":"proc","pid":2}\n'
    tap.is_(parse_jsonl(lines), [{"type": "io", "pid": 1}, {"type": "proc", "pid": 2}],
            "parse_jsonl: one object per line")
    for bad, why in (('{"type":"io"}\nzcap: oops\n', "line 2 is not JSON"),
                     ('{"a":1}\n\n', "line 2 is not JSON"),
                     ('[1,2]\n', "line 1 is not a JSON object"),
                     ('{"type":"io","data":"ab', "line 1 is not JSON")):
        try:
            parse_jsonl(bad)
            tap.ok(False, "parse_jsonl rejects %r" % bad)
        except ZcapError as e:
            tap.like(str(e), why, "parse_jsonl rejects %r loudly" % bad)

    recs = [_io(10, 10, 5, "write", "out", b"hello", 3, fd_kind="pipe"),
            _io(10, 11, 6, "read", "in", b"hel", 4, fd_kind="pipe"),
            {"type": "fd", "pid": 10, "fd": 5, "syscall": "pipe"},
            _io(10, 11, 6, "read", "in", b"lo", 5, fd_kind="pipe"),
            _io(12, 12, 5, "sendto", "out", b"", 6, fd_kind="udp")]
    tap.is_(len(io_records(recs)), 4, "io_records: only type io")
    tap.is_([r["ts_ns"] for r in io_records(recs, pid=10, fd=6)], [4, 5], "io_records: pid and fd")
    tap.is_([r["ts_ns"] for r in io_records(recs, syscall={"write", "sendto"})], [3, 6],
            "io_records: a set of syscalls")
    tap.is_([r["ts_ns"] for r in io_records(recs, dir="out", fd_kind="udp")], [6],
            "io_records: dir and any other field")
    tap.is_(io_records(recs, pid=99), [], "io_records: nothing for an unknown pid")
    tap.is_(payload_of(recs[0]), b"hello", "payload_of: base64 decoded")
    tap.is_(stream_bytes(list(reversed(recs)), pid=10, dir="in"), b"hello",
            "stream_bytes: joined in ts order")
    res = Result(0, recs, "")
    tap.is_((len(res.io(pid=10)), len(res.of_type("fd"))), (3, 1), "Result.io / of_type")
    try:
        payload_of({"type": "io"})
        tap.ok(False, "payload_of without data raises")
    except ZcapError:
        tap.ok(True, "payload_of without data raises")


def _fake_capture(report, payload, snaplen=0):
    """The records a perfect zcap would print for an iogen report."""
    recs, ts = [], report["t0_ns"] + 1
    for op in report["ops"]:
        data = payload[op["off"]:op["off"] + op["len"]]
        extra = {"fd_kind": op["kind"]}
        for op_field, rec_field in _SAME_FIELDS[1:]:
            if op_field in op:
                extra[rec_field] = op[op_field]
        if "msg" in op:
            extra["msg"] = op["msg"]
        rec = _io(op["pid"], op["tid"], op["fd"], op["syscall"], op["dir"],
                  data[:snaplen] if snaplen else data, ts, **extra)
        rec["len"] = rec["ret"] = op["len"]
        rec["truncated"] = bool(snaplen) and op["len"] > snaplen
        recs.append(rec)
        ts += 1
    return recs


def _slices_whole(ops, size):
    """Per (syscall, tid, fd, dir), the ops' slices are consecutive runs that
    each end at the payload's end (a transfer split into several calls)."""
    groups = collections.defaultdict(list)
    for op in ops:
        groups[(op["syscall"], op["tid"], op["fd"], op["dir"], op.get("msg"))].append(op)
    for group in groups.values():
        end = None
        for op in group:
            if end not in (None, size) and op["off"] != end:
                return False
            end = op["off"] + op["len"]
        if end != size and not group[0]["syscall"].endswith("mmsg"):
            return False
    return True


# payload size per mode for the self-test (inside every mode's limits)
_MODE_SIZES = {"pipe-rw": 5000, "file-rw": 70001, "vec": 40000, "udp": 3000, "tcp": 300000,
               "mmsg": 4099, "big": 1 << 20, "fork": 200000, "unix": 500000}


def _self_test_iogen(tap, work):
    try:
        tool("iogen")
    except ZcapError as e:
        tap.skip("iogen reports", str(e))
        return
    have_strace = shutil.which("strace") is not None
    for mode, size in _MODE_SIZES.items():
        with Iogen(mode, size, seed=len(mode)) as run:
            if have_strace:
                rc, calls = strace_io(run.argv)
            else:
                rc, calls = subprocess.run(run.argv).returncode, None
            tap.is_(rc, 0, "iogen %s: exit 0" % mode)
            rep = run.report
            ops = rep["ops"]
            tap.is_((rep["mode"], rep["payload_len"]), (mode, size),
                    "iogen %s: report header" % mode)
            tap.ok(ops and _slices_whole(ops, size), "iogen %s: each call's slices run to "
                   "the payload's end" % mode, [str(op) for op in ops])
            if calls is not None:
                # strace's view of the same run: the payload syscalls on the ops' fds
                op_fds = {(op["tid"], op["fd"]) for op in ops}
                seen = collections.Counter(
                    (c["tid"], c["syscall"], c["fd"], c["ret"]) for c in calls
                    if (c["tid"], c["fd"]) in op_fds)
                want = collections.Counter()
                for op in ops:
                    if op["syscall"].endswith("mmsg"):
                        if op["msg"] == 0:
                            n = len(run.ops(syscall=op["syscall"], tid=op["tid"], fd=op["fd"]))
                            want[(op["tid"], op["syscall"], op["fd"], n)] += 1
                    else:
                        want[(op["tid"], op["syscall"], op["fd"], op["len"])] += 1
                tap.is_(seen, want, "iogen %s: strace saw exactly the reported syscalls" % mode)
            recs = _fake_capture(rep, run.payload)
            tap.is_(op_problems(recs, rep, run.payload), [],
                    "iogen %s: a perfect capture has no problems" % mode)
            if mode == "vec":
                _self_test_problems(tap, rep, run.payload)


def _self_test_problems(tap, rep, payload):
    good = _fake_capture(rep, payload)
    bad = [dict(r) for r in good]
    data = bytearray(payload_of(bad[1]))
    data[100] ^= 1
    bad[1]["data"] = base64.b64encode(bytes(data)).decode()
    got = op_problems(bad, rep, payload)
    tap.is_(got, ["op 1 (%s): %d bytes captured, %d expected, first difference at byte 100"
                  % (describe_op(rep["ops"][1]), len(data), len(data))],
            "op_problems: one flipped bit is one problem, located")
    got = op_problems(good[:2] + good[3:], rep, payload)
    tap.is_(got, ["op 2 (%s): no record" % describe_op(rep["ops"][2])],
            "op_problems: a missing record")
    # two reads of one fd, the first not captured: the second still pairs up
    two = dict(rep, ops=[dict(rep["ops"][1], off=0, len=3000),
                         dict(rep["ops"][1], off=3000, len=rep["payload_len"] - 3000)])
    recs = _fake_capture(two, payload)
    tap.is_(op_problems(recs[1:], two, payload),
            ["op 0 (%s): no record" % describe_op(two["ops"][0])],
            "op_problems: a missed call does not shift the others")
    extra = dict(good[0], ts_ns=good[0]["ts_ns"] + 1)
    tap.is_(len(op_problems(good + [extra], rep, payload)), 1, "op_problems: an unexpected record")
    outside = dict(good[0], ts_ns=rep["t1_ns"] + 1)
    tap.is_(op_problems(good + [outside], rep, payload), [],
            "op_problems: records outside iogen's I/O window are not its ops")
    moved = [dict(r) for r in good]
    moved[2]["offset"] = 7
    tap.is_(len(op_problems(moved, rep, payload)), 1, "op_problems: wrong file offset")
    tap.is_(op_problems(moved, rep, payload, ignore={"offset"}), [], "op_problems: ignore=")
    cut = _fake_capture(rep, payload, snaplen=1000)
    tap.is_(op_problems(cut, rep, payload, snaplen=1000), [], "op_problems: snaplen cut expected")
    tap.is_(len(op_problems(cut, rep, payload)), 2 * len(cut),
            "op_problems: snaplen cut when none expected (truncated and data)")


if __name__ == "__main__":
    sys.exit(_self_test())
