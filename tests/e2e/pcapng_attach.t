#!/usr/bin/python3
"""zcap record -o FILE.pcapng attached to a connection older than the capture:
a python3 server and client connect (keep-alive) before zcap starts, then
exchange messages with write(2)/read(2) only, so no syscall zcap's programs
handle names their socket: every packet of the connection is named from
/proc when the capture starts (user/sockseed.c). Checked with tshark: the
exact payloads, and on each packet the sender "pid P tid T comm C fd F" and
the receiver "to pid ..." with the pids and fds the peers report. The
server's socket is shared with a forked child: the lower pid is named.
With -p SERVER only the server's end is named, with --comm seedcli only the
client's, with --cgroup (the server runs in a cgroup below it) the server's."""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import pcapng_helpers as ph  # noqa: E402
from leftovers import cgroup2_root  # noqa: E402

# A peer: sets its comm, connects (the server also forks a child holding
# the socket), moves the socket to fd FD and then obeys stdin:
# "send HEX" writes, "recv N" reads N bytes and prints them as hex.
PEER = r"""
import os, socket, sys
role, comm, fd = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open("/proc/self/comm", "w") as f:
    f.write(comm)
kid = 0
if role == "server":
    lis = socket.socket()
    lis.bind(("127.0.0.1", 0))
    lis.listen(1)
    print(lis.getsockname()[1], flush=True)
    s, _ = lis.accept()
else:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[4])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
os.dup2(s.fileno(), fd)
name = s.getsockname()
s.close()
if role == "server":
    r, w = os.pipe()
    kid = os.fork()
    if not kid:
        # holds the socket until the server exits (EOF on the pipe)
        with open("/proc/self/comm", "w") as f:
            f.write("seedkid")
        os.close(w)
        os.read(r, 1)
        os._exit(0)
    os.close(r)
print("ready", os.getpid(), fd, kid, name[1], flush=True)
for line in sys.stdin:
    cmd, arg = line.split()
    if cmd == "send":
        os.write(fd, bytes.fromhex(arg))
        print("ok", flush=True)
    else:
        got = b""
        while len(got) < int(arg):
            got += os.read(fd, int(arg) - len(got))
        print(got.hex(), flush=True)
"""


class Peer:
    """cgdir: the peer runs in this cgroup2 directory from its start."""

    def __init__(self, role, comm, fd, port=None, cgdir=None):
        def enter_cgroup():
            with open(os.path.join(cgdir, "cgroup.procs"), "w") as f:
                f.write("0\n")

        argv = [sys.executable, "-c", PEER, role, comm, str(fd)] + ([str(port)] if port else [])
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, preexec_fn=enter_cgroup if cgdir else None)
        if role == "server":
            self.port = int(self.proc.stdout.readline())

    def ready(self):
        words = self.proc.stdout.readline().split()
        if len(words) != 5 or words[0] != "ready":
            raise ph.HelperError("peer did not start: %r" % words)
        self.pid, self.fd, self.kid, self.lport = (int(w) for w in words[1:])

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(10)


def exchange(cli, srv, tag):
    """Three requests and answers; the bytes each side sent, in order."""
    sent = {"cli": [], "srv": []}
    for i in range(3):
        for who, frm, to in (("cli", cli, srv), ("srv", srv, cli)):
            msg = ("%s: %s message %d; " % (tag, who, i)).encode() * (i + 1)
            if frm.ask("send " + msg.hex()) != "ok" or to.ask("recv %d" % len(msg)) != msg.hex():
                raise ph.HelperError("%s: message %d not delivered" % (who, i))
            sent[who].append(msg)
    return sent


def check(work, name, args, cli, srv, named):
    """One capture; named: {"cli": line or None, "srv": line or None}."""
    path = os.path.join(work, name + ".pcapng")
    # the client's ACK of the last answer may come after the stop: which
    # packets are in the file varies, that each is named does not
    with ph.ZcapOut(path, args) as z:
        sent = exchange(cli, srv, name)
    tap.is_(z.rc, 0, "%s: zcap exited 0" % name)
    flt = "tcp.port==%d && tcp.port==%d" % (srv.port, cli.lport)
    rows = ph.fields(path, ["tcp.srcport", "tcp.payload", "frame.comment"], flt)
    payload = {"cli": b"", "srv": b""}
    bad = []
    for sport, data, comment in rows:
        who, other = ("srv", "cli") if int(sport) == srv.port else ("cli", "srv")
        payload[who] += bytes.fromhex(data.replace(":", ""))
        want = ([named[who]] if named[who] else []) + \
               (["to " + named[other]] if named[other] else [])
        got = ph.owner_comments(comment)
        if got != want:
            bad.append((who, got, want))
    tap.is_(payload, {k: b"".join(v) for k, v in sent.items()},
            "%s: the connection's bytes, both directions, exactly" % name)
    tap.is_(bad, [], "%s: each of the %d packets names %s" % (name, len(rows), " and ".join(
        "%s as %r" % (k, v) for k, v in named.items() if v) or "no one"))


def main():
    tap.plan(13)
    work = tempfile.mkdtemp(prefix="zcap-pcapng-attach-")
    # the server (and its child) in a cgroup one below --cgroup's
    cgroup = "/attach-test-%d" % os.getpid()
    if not cgroup2_root():
        raise ph.HelperError("no cgroup2 mount")
    base = cgroup2_root() + cgroup
    inner = os.path.join(base, "inner")
    os.makedirs(inner)
    srv = Peer("server", "seedsrv", 50, cgdir=inner)
    cli = Peer("client", "seedcli", 60, srv.port)
    try:
        srv.ready()
        cli.ready()
        tap.ok(srv.pid > 0 and srv.kid > 0 and cli.pid > 0 and (srv.fd, cli.fd) == (50, 60),
               "peers connected before the capture (server %d with child %d, client %d)"
               % (srv.pid, srv.kid, cli.pid))
        cli_line = "pid %d tid %d comm seedcli fd 60" % (cli.pid, cli.pid)
        # the server's socket is also its child's: the lower pid is named
        low = min(srv.pid, srv.kid)
        low_line = "pid %d tid %d comm %s fd 50" % (low, low,
                                                     "seedsrv" if low == srv.pid else "seedkid")
        srv_line = "pid %d tid %d comm seedsrv fd 50" % (srv.pid, srv.pid)
        check(work, "system-wide", [], cli, srv, {"cli": cli_line, "srv": low_line})
        check(work, "pid", ["-p", srv.pid], cli, srv, {"cli": None, "srv": srv_line})
        check(work, "comm", ["--comm", "seedcli"], cli, srv, {"cli": cli_line, "srv": None})
        check(work, "cgroup", ["--cgroup", cgroup], cli, srv, {"cli": None, "srv": low_line})
    finally:
        cli.stop()
        srv.stop()
        # the server's child leaves once the server has gone (EOF on its pipe)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with open(os.path.join(inner, "cgroup.procs")) as f:
                if not f.read().strip():
                    break
            time.sleep(0.05)
        os.rmdir(inner)
        os.rmdir(base)
    ph.cleanup(work)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
