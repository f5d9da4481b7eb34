#!/usr/bin/python3
"""Fd details once per connection (kern/syscalls.bpf.c): an IO record on a
connected TCP socket takes the socket's ends from a kernel cache filled by
the connection's first record, and every TCP state change empties the
socket's entry (raw tracepoint inet_sock_set_state). The records must be
exactly what walking the socket for each of them gives:

- many short connections one after the other, client and server in one
  traced process: the kernel reuses the freed socket's memory and fd for the
  next one, and each record must name its own connection's ports;
- a socket that disconnects (connect with AF_UNSPEC) and connects to a
  second server with no record in between: its records after that name the
  second server;
- the same with the cache's program failing to load: one warning naming the
  feature, the same records, nothing from the cache.

-v counts the records the cache described: exactly the ones after each
connection's first record, up to the peer's FIN (the EOF read after it is
walked again), so the count fails if the cache is not used at all."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402

CONNS, MSGS = 12, 4

# Echo servers (replies upper-cased) on two ports in threads, and a client
# in the main thread; prints "conn LPORT RPORT" for each connection made.
PAIR = r"""
import ctypes, socket, sys, threading

def serve(ls):
    while True:
        c, _ = ls.accept()
        try:
            while True:
                d = c.recv(100)
                if not d:
                    break
                c.sendall(d.upper())
        except ConnectionResetError:
            pass
        c.close()
        handled.release()

handled = threading.Semaphore(0)

def listener():
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    threading.Thread(target=serve, args=(ls,), daemon=True).start()
    return ls.getsockname()[1]

def talk(s, tag, n):
    for j in range(n):
        s.sendall(b"%s-%d" % (tag, j))
        want = b"%s-%d" % (tag.upper(), j)
        got = b""
        while len(got) < len(want):
            got += s.recv(100)
        assert got == want, got

a, b = listener(), listener()
conns, msgs = int(sys.argv[1]), int(sys.argv[2])
for i in range(conns):
    s = socket.create_connection(("127.0.0.1", a))
    print("conn", s.getsockname()[1], a, flush=True)
    talk(s, b"c%d" % i, msgs)
    s.close()
s = socket.create_connection(("127.0.0.1", a))
print("conn", s.getsockname()[1], a, flush=True)
talk(s, b"d", 2)
unspec = ctypes.create_string_buffer(16)  # sa_family 0: AF_UNSPEC
libc = ctypes.CDLL(None, use_errno=True)
assert libc.connect(s.fileno(), unspec, 16) == 0, ctypes.get_errno()
s.connect(("127.0.0.1", b))
print("conn", s.getsockname()[1], b, flush=True)
talk(s, b"e", 2)
s.close()
for _ in range(conns + 2):  # every server read up to its EOF or reset recorded
    assert handled.acquire(timeout=60)
"""

CACHE_LINE = re.compile(r"^zcap: fd details of (\d+) I/O and transfer fds: (\d+) from the "
                        r"connection cache, (\d+) walked$", re.M)
WARNING = ("zcap: warning: the per-connection cache of fd details disabled: its BPF program "
           "rtp_sock_state does not load on this kernel (Permission denied); everything else "
           "is captured")


def expected(conns):
    """Every payload-carrying record, as (syscall, lport, rport, bytes)."""
    tags = [b"c%d" % i for i in range(CONNS)] + [b"d", b"e"]
    counts = [MSGS] * CONNS + [2, 2]
    want = set()
    for (cport, sport), tag, n in zip(conns, tags, counts):
        for j in range(n):
            ask, reply = b"%s-%d" % (tag, j), b"%s-%d" % (tag.upper(), j)
            want |= {("sendto", cport, sport, ask), ("recvfrom", sport, cport, ask),
                     ("sendto", sport, cport, reply), ("recvfrom", cport, sport, reply)}
    return want


def run(work, env_extra):
    script = os.path.join(work, "pair.py")
    with open(script, "w") as f:
        f.write(PAIR)
    out = os.path.join(work, "out.json")
    if os.path.exists(out):
        os.unlink(out)
    env = dict(os.environ, **env_extra)
    p = subprocess.run([zt.ZCAP, "record", "-v", "--json", "--fd-kinds", "tcp", "-o", out, "--",
                        "python3", script, str(CONNS), str(MSGS)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                       timeout=zt.scaled(120))
    conns = [(int(w[1]), int(w[2])) for w in (x.split() for x in p.stdout.splitlines())
             if w and w[0] == "conn"]
    recs = []
    if os.path.exists(out):
        with open(out) as f:
            recs = zt.io_records(zt.parse_jsonl(f.read()), fd_kind="tcp")
    return p.returncode, conns, recs, p.stderr


def check(work, what, env_extra, cached_want):
    rc, conns, recs, err = run(work, env_extra)
    tap.ok(rc == 0 and len(conns) == CONNS + 2, "%s: zcap and the client exit 0 (%d connections)"
           % (what, len(conns)), err[-2000:])
    got = {(r["syscall"], r["lport"], r["rport"], zt.payload_of(r)) for r in recs
           if r.get("data")}
    want = expected(conns)
    tap.ok(got == want and want, "%s: every payload record names its own connection's ports, "
           "exactly (%d records)" % (what, len(got)),
           "missing %r\nunexpected %r" % (sorted(want - got)[:8], sorted(got - want)[:8]))
    # the server's read that the d connection's reset fails: its socket is
    # closed, unhashed, its local port 0 by then, cached or walked alike
    ends = {(c, s) for c, s in conns} | {(s, c) for c, s in conns} | \
        ({(0, conns[-2][0])} if len(conns) > 1 else set())
    stray = [r for r in recs if (r["lport"], r["rport"]) not in ends]
    tap.ok(not stray, "%s: the EOF and error records too (%d records in all)" % (what, len(recs)),
           "%r\nconnections %r" % (stray[:4], conns))
    # after the last connection's reconnect its records name server b, not a
    b_port = conns[-1][1] if conns else None
    e_recs = [r for r in recs if r.get("data") and zt.payload_of(r).lower().startswith(b"e-")]
    tap.ok(len(e_recs) == 8 and all(b_port in (r["lport"], r["rport"]) for r in e_recs),
           "%s: after disconnect and connect, no record names the first server" % what,
           repr(e_recs[:2]))
    m = CACHE_LINE.search(err)
    cached = int(m.group(2)) if m else None
    tap.ok(cached == cached_want, "%s: -v: %s records described from the cache" %
           (what, cached_want), "got %r; stderr: %s" % (cached, err[-2000:]))
    return err, normalized(conns, recs)


def normalized(conns, recs):
    """The records with each port named by its role (server a or b, the
    client's connection k), sorted: two runs compare equal."""
    name = {0: "0"}
    for k, (cport, sport) in enumerate(conns):
        name[cport] = "conn%d" % k
        name.setdefault(sport, "server%d" % len({v for v in name.values() if "server" in v}))
    return sorted((r["syscall"], name.get(r["lport"], r["lport"]), name.get(r["rport"], r["rport"]),
                   r["ret"], r.get("data", "")) for r in recs)


def body(work):
    # client and server of each connection: the first of its 2 * MSGS
    # calls walks, the others are cached; the server's EOF read after the
    # client's FIN walks again. The d connection: 3 + 3 (its reset walks);
    # the e connection: 3 + 3 (its EOF walks).
    per_conn = 2 * (2 * MSGS - 1)
    err, cached = check(work, "cache on", {}, CONNS * per_conn + 12)
    tap.ok("fd details disabled" not in err and ", inet_sock_set_state," in err,
           "cache on: no warning; -v names the hook", err[-2000:])
    err, walked = check(work, "cache's program refused", {"ZCAP_TEST_BREAK_PROG": "rtp_sock_state"},
                        0)
    tap.is_(cached, walked, "the records with the cache are those walking every fd gives, "
            "exactly (%d records)" % len(cached))
    lines = [x for x in err.splitlines() if "fd details" in x and "warning" in x]
    tap.is_(lines, [WARNING], "cache's program refused: one warning naming the feature")
    tap.ok("inet_sock_set_state" not in err.split("zcap: capturing (")[-1].split("\n")[0],
           "cache's program refused: -v does not name its hook", err[-2000:])
    return tap.done_testing()


if __name__ == "__main__":
    sys.exit(zt.in_workdir("fd-details", body))
