#!/usr/bin/python3
"""The records strace users expect, with strace itself as the oracle.

zcap records `strace -f -y ... iogen sockets` (tools/iogen.c: refused TCP
connects over IPv4 and IPv6, a refused unix connect, a non-blocking connect,
listen, accept4 with the peer's address and accept without, a unix path
server with a forked client, an abstract unix name with bytes that need
escaping, opens with many flags, two files written after they lost their
names). Both watch the same process, so every fd, port, inode and pid is
the same in both: per process, the calls strace printed (its
unfinished/resumed halves joined) and zcap's records of them are the same
sequence, and each pair agrees on the return value, the address
(connect, bind, accept), the backlog (listen), the accept4 flags, the open
flags (and mode) exactly as strace spells them, and the fd decoration of
files and unix sockets (`5</tmp/x>(deleted)`, `socket:[INO]`). The unix
peers' pids are the real ones (the forked client's, iogen's, and what
SO_PEERCRED told iogen). The text output spells the same flags and
`(deleted)`. `--port P` keeps a refused connect to P. Then JSON's wall-clock `time`: RFC 3339 with nanoseconds, one
offset from `ts_ns` for every record, and between the CLOCK_REALTIME reads
a process made just before and just after the call.
"""
import base64
import calendar
import errno
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402
from lineage_helpers import split_args  # noqa: E402  (strace's argument list, split)

TRACED = ("connect", "bind", "listen", "accept", "accept4", "openat", "write")

# ------------------------------------------------------------ strace's side


def c_string(s):
    """The bytes of a string strace printed (inside the quotes)."""
    out, i = bytearray(), 0
    simple = {"n": 10, "t": 9, "r": 13, "v": 11, "f": 12, "\\": 92, '"': 34}
    while i < len(s):
        if s[i] != "\\":
            out += s[i].encode()
            i += 1
            continue
        m = re.match(r"[0-7]{1,3}", s[i + 1:])
        if m:
            out.append(int(m[0], 8))
            i += 1 + len(m[0])
        else:
            out.append(simple[s[i + 1]])
            i += 2
    return bytes(out)


def strace_sockaddr(s):
    """strace's {sa_family=...} as zcap's JSON "sockaddr" object; None for NULL."""
    if s == "NULL":
        return None
    fam = re.match(r"\{sa_family=(\w+)", s)[1]
    if fam == "AF_INET":
        m = re.search(r'sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]+)"\)', s)
        return {"family": "inet", "addr": m[2], "port": int(m[1])}
    if fam == "AF_INET6":
        m = re.search(r'sin6_port=htons\((\d+)\).*inet_pton\(AF_INET6, "([^"]+)"', s)
        return {"family": "inet6", "addr": m[2], "port": int(m[1])}
    if fam == "AF_UNIX":
        m = re.search(r'sun_path=(@?)"((?:[^"\\]|\\.)*)"', s)
        if not m:
            return {"family": "unix"}
        if m[1]:
            return {"family": "unix", "path": b"@" + c_string(m[2]), "abstract": True}
        return {"family": "unix", "path": c_string(m[2])}
    return {"family": fam}


CALL = re.compile(r"^(\d+) +(\w+)\((.*)\) += (-?\d+)(<.*?>(?:\(deleted\))?)?(?: (E[A-Z0-9]+) .*)?$")


def strace_calls(log):
    """{pid: [call, ...]} of the TRACED calls in strace -f -o LOG's output, the
    unfinished/resumed halves of a call joined."""
    pending, calls = {}, {}
    for line in log.splitlines():
        m = re.match(r"^(\d+) +(.*) <unfinished \.\.\.>$", line)
        if m:
            pending[m[1]] = m[2].rstrip()
            continue
        m = re.match(r"^(\d+) +<\.\.\. \w+ resumed>(.*)$", line)
        if m:
            line = "%s %s %s" % (m[1], pending.pop(m[1]), m[2].lstrip())
        m = CALL.match(line)
        if not m or m[2] not in TRACED:
            continue
        ret = int(m[4])
        if ret == -1 and m[6]:
            ret = -getattr(errno, m[6])
        calls.setdefault(int(m[1]), []).append(
            {"syscall": m[2], "args": split_args(m[3]), "ret": ret, "ret_fd": m[5]})
    return calls


def fd_arg(arg):
    """'5</tmp/x>(deleted)' -> (5, '</tmp/x>(deleted)')"""
    m = re.match(r"^(-?\d+)(.*)$", arg)
    return int(m[1]), m[2]


# --------------------------------------------------------------- zcap's side


def zcap_bytes(obj, key):
    if obj.get(key + "_b64") is not None:
        return base64.b64decode(obj[key + "_b64"])
    return obj[key].encode()


def zcap_sockaddr(sa):
    if sa is None:
        return None
    sa = dict(sa)
    if "path" in sa:
        sa["path"] = zcap_bytes(sa, "path")
        sa.pop("path_b64", None)
    return sa


def decoration(rec, prefix=""):
    """What strace -y writes after an fd number for this fd identity."""
    kind = rec.get(prefix + "fd_kind")
    if kind in ("file", "dir"):
        return "<%s>%s" % (rec[prefix + "path"], "(deleted)" if rec.get(prefix + "deleted") else "")
    if kind == "unix":
        return "<socket:[%d]>" % rec[prefix + "ino"]
    return None  # TCP: strace -y shows only an inode, zcap's JSON has the addresses


def strace_mode(mode):
    """zcap's mode number as strace prints it (%#03o)."""
    return "0%o" % mode if mode else "000"


def compare(z, s):
    """Differences between zcap's record z and strace's call s (same call)."""
    p = []

    def check(what, got, want):
        if got != want:
            p.append("%s: zcap %r, strace %r" % (what, got, want))

    check("syscall", z["syscall"], s["syscall"])
    check("ret", z["ret"], s["ret"])
    args, name = s["args"], s["syscall"]
    if name in ("connect", "bind", "listen"):
        fd, dec = fd_arg(args[0])
        check("fd", z["fd"], fd)
        if z["fd_kind"] == "unix":
            check("fd decoration", decoration(z), dec)
        if name == "listen":
            check("backlog", z.get("backlog"), int(args[1]))
        else:
            check("sockaddr", zcap_sockaddr(z.get("sockaddr")), strace_sockaddr(args[1]))
    elif name in ("accept", "accept4"):
        fd, dec = fd_arg(args[0])
        check("listening fd", z["fd2"], fd)
        if z.get("fd2_fd_kind") == "unix":
            check("listening fd decoration", decoration(z, "fd2_"), dec)
        check("peer sockaddr", zcap_sockaddr(z.get("sockaddr")), strace_sockaddr(args[1]))
        if name == "accept4":
            check("flags", "|".join(z.get("flag_names", ["0"])), args[3])
        if z["ret"] >= 0 and z["fd_kind"] == "unix":
            check("new fd decoration", decoration(z), s["ret_fd"])
    elif name == "openat":
        check("flags", "|".join(z["flag_names"]), args[2])
        check("mode", strace_mode(z["mode"]) if len(args) > 3 else None,
              args[3] if len(args) > 3 else None)
        if z["ret"] >= 0:
            check("new fd decoration", decoration(z), s["ret_fd"])
        else:
            check("path", z["path"].encode(), c_string(args[1][1:-1]))
    elif name == "write":
        fd, dec = fd_arg(args[0])
        check("fd", z["fd"], fd)
        if decoration(z) is not None:
            check("fd decoration", decoration(z), dec)
    return p


def zcap_calls(records, pids):
    """{pid: [record, ...]} of the TRACED calls, in time order."""
    out = {}
    for r in sorted(records, key=lambda r: r.get("ts_ns", 0)):
        if r.get("type") in ("fd", "io") and r["pid"] in pids and r["syscall"] in TRACED:
            if r["type"] == "io" and r.get("msg", 0):
                continue
            out.setdefault(r["pid"], []).append(r)
    return out


def strace_argv(log, iogen_argv, syscalls=TRACED):
    """strace ... iogen, without LeakSanitizer for them: it cannot run under
    ptrace, so an ASan-built iogen would fail at exit (zcap keeps its own)."""
    asan = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "detect_leaks=0"]))
    return ["env", "ASAN_OPTIONS=" + asan, "strace", "-f", "-qq", "-y", "-s", "256", "-e",
            "signal=none", "-o", log, "-e", "trace=" + ",".join(syscalls)] + list(iogen_argv)


# ---------------------------------------------------------------- the checks


def check_json(run, log):
    res = zt.run_record(["-e", "fd,io", "-s", "16"], strace_argv(log, run.argv), timeout=120)
    tap.ok(res.rc == 0, "zcap -- strace -- iogen sockets: exit 0",
           "rc %d: %s" % (res.rc, res.stderr.strip()[-1500:]))
    rep = run.report
    pids = {rep["pid"], rep["child_pid"]}
    with open(log, errors="surrogateescape") as f:
        want = strace_calls(f.read())
    got = zcap_calls(res.records, pids)
    problems, n = [], 0
    for pid in sorted(pids):
        w, g = want.get(pid, []), got.get(pid, [])
        names_w, names_g = [c["syscall"] for c in w], [r["syscall"] for r in g]
        if names_w != names_g:
            problems.append("pid %d: strace %s, zcap %s" % (pid, names_w, names_g))
            continue
        for s, z in zip(w, g):
            n += 1
            problems += ["pid %d %s: %s" % (pid, s["syscall"], d) for d in compare(z, s)]
    tap.is_(problems, [], "every connect/bind/listen/accept/accept4/openat/write of iogen and "
            "its child (%d calls) as strace printed it: address, backlog, flags, mode, ret, "
            "fd decoration incl. (deleted)" % n)
    seen = {(r["syscall"], r.get("sockaddr", {}).get("family"), r["ret"]) for g in got.values()
            for r in g}
    tap.ok({("connect", "inet", -errno.ECONNREFUSED), ("connect", "unix", -errno.ECONNREFUSED),
            ("listen", None, 0), ("bind", "unix", 0)}
           <= seen and any(r[0] == "connect" and r[2] in (0, -errno.EINPROGRESS) for r in seen),
           "the run held refused connects (TCP, unix), a non-blocking "
           "connect, listen, a unix bind")

    # unix peers: the forked client's connect names iogen, iogen's accept4 names the client
    child_connect = [r for r in got.get(rep["child_pid"], []) if r["syscall"] == "connect"]
    accepts = [r for r in got.get(rep["pid"], []) if r["syscall"] == "accept4"
               and r["fd_kind"] == "unix"]
    tap.is_([(r["peer_pid"], r["unix_peer"]["path"]) for r in child_connect],
            [(rep["pid"], child_connect[0]["sockaddr"]["path"] if child_connect else None)],
            "the client's connect: peer pid = iogen's, peer name = the path it connected to")
    tap.is_([r.get("peer_pid") for r in accepts], [rep["child_pid"]],
            "iogen's accept4: peer pid = the forked client's")
    tap.is_(rep["unix_accepted_peercred"], rep["child_pid"],
            "...which is what SO_PEERCRED told iogen on the accepted socket")
    abstract = [r for r in got.get(rep["pid"], []) if r["syscall"] == "accept"
                and r["fd_kind"] == "unix"]
    tap.is_([(r.get("peer_pid"), zcap_bytes(r["unix_local"], "path")[:6],
              r["unix_local"].get("abstract")) for r in abstract],
            [(rep["pid"], b"@iogen", True)],
            "the abstract name's accept: own name @iogen-..., peer pid iogen's own")
    return want, pids


TEXT_OPEN = re.compile(r'^\S+ iogen\[(\d+)\] openat\("(?:[^"\\]|\\.)*", ([^)]*)\) = (\S+)')
TEXT_WRITE = re.compile(r"^\S+ iogen\[(\d+)\] write\((\d+<[^>]*>(?:\(deleted\))?)\)")


def check_text(run, log):
    """Text output: open flags and (deleted) spelled as strace spells them."""
    argv = [zt.ZCAP, "record", "-e", "fd,io", "-s", "0"] + zt.record_args([]) + \
        ["--"] + strace_argv(log, run.argv, ("openat", "write"))
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=zt.scaled(120))
    tap.ok(proc.returncode == 0, "text run: exit 0", proc.stderr.decode()[-1000:])
    with open(log, errors="surrogateescape") as f:
        want_calls = strace_calls(f.read())
    pids = {run.report["pid"], run.report["child_pid"]}
    want, got = [], []
    for pid in sorted(pids):
        for c in want_calls.get(pid, []):
            if c["syscall"] == "openat":
                want.append(("openat", ", ".join(c["args"][2:]),
                             c["ret_fd"] and "%d%s" % (c["ret"], c["ret_fd"])))
            elif c["args"][0].split("<")[1:2] and c["args"][0].split("<")[1].startswith("/"):
                want.append(("write", c["args"][0]))
    for line in proc.stdout.decode(errors="replace").splitlines():
        m = TEXT_OPEN.match(line)
        if m and int(m[1]) in pids:
            ret = m[3] if "<" in m[3] else None
            got.append(("openat", m[2], ret))
            continue
        m = TEXT_WRITE.match(line)
        if m and int(m[1]) in pids and m[2].split("<")[1].startswith("/"):
            got.append(("write", m[2]))
    # per process order: iogen's child makes no openat/write to files
    tap.is_(got, want, "text: each openat's flags (and mode) and result, each write's file "
            "fd, exactly as strace -y printed them (%d lines)" % len(want))
    tap.ok(any("(deleted)" in w[-1] for w in want if w[-1]) and
           any("O_TMPFILE" in w[1] for w in want if w[0] == "openat"),
           "...among them O_TMPFILE and files written after their names went")


RFC3339 = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{9})Z$")


def rfc3339_ns(s):
    m = RFC3339.match(s)
    if not m:
        return None
    sec = calendar.timegm(tuple(int(x) for x in m.groups()[:6]))
    return sec * 1000000000 + int(m[7])


def check_time():
    """JSON "time" lies between CLOCK_REALTIME read before and after the call."""
    with tempfile.TemporaryDirectory(prefix="zcap-time-") as work:
        stamps = os.path.join(work, "stamps")
        code = ("import os, time\n"
                "fd = os.open('/dev/null', os.O_WRONLY)\n"
                "out = []\n"
                "for i in range(20):\n"
                "    t0 = time.time_ns(); os.write(fd, b'tick%02d' % i); t1 = time.time_ns()\n"
                "    out.append('%d %d' % (t0, t1))\n"
                "open(" + repr(stamps) + ", 'w').write('\\n'.join(out))\n")
        res = zt.run_record(["-e", "io,fd,proc"], ["python3", "-c", code])
        tap.ok(res.rc == 0, "time: zcap -- python3 exit 0", res.stderr[-500:])
        with open(stamps) as f:
            bounds = [tuple(map(int, line.split())) for line in f]
    recs = [r for r in res.records if r.get("type") in ("io", "fd", "proc")]
    bad = [r["time"] for r in recs if rfc3339_ns(r.get("time", "")) is None]
    tap.is_(bad[:5], [], "every io/fd/proc record has an RFC 3339 UTC time with nanoseconds "
            "(%d records)" % len(recs))
    offsets = {rfc3339_ns(r["time"]) - r["ts_ns"] for r in recs if r.get("time")}
    tap.is_(len(offsets), 1, "time - ts_ns is the same for every record: one offset")
    ticks = {zt.payload_of(r): rfc3339_ns(r["time"]) for r in zt.io_records(res.records)
             if r["comm"] == "python3" and r["syscall"] == "write" and r["path"] == "/dev/null"}
    outside = []
    for i, (t0, t1) in enumerate(bounds):
        t = ticks.get(b"tick%02d" % i)
        if t is None or not t0 <= t <= t1:
            outside.append((i, t0, t, t1))
    tap.is_(outside, [], "each of %d writes' time is within [CLOCK_REALTIME before, after] "
            "the write, as the writer read them" % len(bounds))


def check_port():
    """--port P keeps a refused connect to P: its socket has no peer left,
    the address argument still names P."""
    port = zt.free_port()
    code = ("import socket\n"
            "s = socket.socket()\n"
            "s.connect_ex(('127.0.0.1', %d))\n" % port)
    res = zt.run_record(["-e", "fd", "--port", port], ["python3", "-c", code])
    got = [(r["syscall"], r["ret"], r.get("sockaddr")) for r in res.records
           if r.get("type") == "fd" and r.get("comm") == "python3"]
    tap.is_(got, [("connect", -errno.ECONNREFUSED,
                   {"family": "inet", "addr": "127.0.0.1", "port": port})],
            "--port %d: the refused connect to it, by its address argument, and nothing else"
            % port)


def main():
    if not shutil.which("strace"):
        tap.plan(skip_all="strace is not installed (make deps installs it)")
        return 0
    tap.plan(15)
    with tempfile.TemporaryDirectory(prefix="zcap-strace-") as work:
        log = os.path.join(work, "strace.log")
        with zt.Iogen("sockets", 4000, seed=13) as run:
            try:
                check_json(run, log)
            except (zt.ZcapError, KeyError, IndexError, TypeError) as e:
                tap.diag("json run: %s: %s" % (type(e).__name__, e))
                if os.environ.get("ZCAP_TEST_DEBUG"):
                    raise
        with zt.Iogen("sockets", 4000, seed=14) as run:
            try:
                check_text(run, log)
            except (zt.ZcapError, KeyError, IndexError) as e:
                tap.diag("text run: %s: %s" % (type(e).__name__, e))
    try:
        check_port()
    except (zt.ZcapError, KeyError) as e:
        tap.diag("port run: %s: %s" % (type(e).__name__, e))
    try:
        check_time()
    except (zt.ZcapError, OSError, KeyError) as e:
        tap.diag("time run: %s: %s" % (type(e).__name__, e))
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
