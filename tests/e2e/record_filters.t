#!/usr/bin/python3
"""zcap record's selection options, each against an unfiltered capture of
the same activity taken at the same time: --fd-kinds (the README's
`-e io --fd-kinds socket -- curl` prints exactly curl's socket records),
--port and --comm given several times (any of them, not the last one),
--pid as the long form of -p, and -i IFACE for packets (a veth pair beside
lo; an unknown interface is exit 2)."""
import os
import re
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402
import pcapng_helpers as ph  # noqa: E402

ZCAP = ph.ZCAP
SOCKET_KINDS = {"tcp", "udp", "unix", "socket"}

# A process named argv[1] that writes argv[2] to a file, a pipe and a TCP
# connection to port argv[3] (a server of the test), then exits.
WRITER = r'''
import ctypes, os, socket, sys
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
data = sys.argv[2].encode()
with open(sys.argv[4], "wb") as f:
    f.write(data)
r, w = os.pipe()
os.write(w, data)
os.read(r, 100)
c = socket.create_connection(("127.0.0.1", int(sys.argv[3])))
c.sendall(data)
c.close()
'''


def key(r):
    return tuple(r.get(k) for k in ("type", "pid", "syscall", "fd", "dir", "len", "data", "fd_kind",
                                    "lport", "rport", "path"))


def concurrent(arg_sets, action):
    """One `zcap record --json ARGS` per arg set, all running while action()
    runs; their Results (and action's value)."""
    recs = [zt.start_record(a) for a in arg_sets]
    try:
        for r in recs:
            r.wait_ready(120)
        value = action()
        return [r.stop() for r in recs], value
    finally:
        for r in recs:
            if r.result is None:
                r.kill()


def fd_kinds_tests(work):
    www = os.path.join(work, "www")
    os.makedirs(www)
    with open(os.path.join(www, "index.html"), "w") as f:
        f.write("hello from the filter test\n" * 20)
    srv = ph.HttpServer(www)
    url = "http://127.0.0.1:%d/index.html" % srv.port
    try:
        def curl():
            return subprocess.run(["curl", "-s", "-o", "/dev/null", url], timeout=30).returncode

        (everything, sockets, pipes_files), rc = concurrent(
            [["-e", "io,fd", "--comm", "curl"],
             ["-e", "io,fd", "--comm", "curl", "--fd-kinds", "socket"],
             ["-e", "io,fd", "--comm", "curl", "--fd-kinds", "pipe", "--fd-kinds", "file"]], curl)
        # the README's example, as printed (text)
        readme = subprocess.run([ZCAP, "record", "-e", "io", "--fd-kinds", "socket", "--", "curl",
                                 "-s", "-o", "/dev/null", url], capture_output=True, text=True,
                                timeout=120)
    finally:
        srv.stop()
    tap.ok(rc == 0 and everything.rc == sockets.rc == pipes_files.rc == 0,
           "curl and the three zcaps exited 0")
    pids = {r["pid"] for r in everything.records if r.get("type") == "io"
            and r.get("rport") == srv.port}
    mine = [r for r in everything.records if r.get("pid") in pids and r["type"] in ("io", "fd")]
    tap.ok(len(pids) == 1 and {r["fd_kind"] for r in mine} - SOCKET_KINDS,
           "unfiltered: curl's records include other fds (%s)"
           % sorted({r["fd_kind"] for r in mine}))
    want = [key(r) for r in mine if r["fd_kind"] in SOCKET_KINDS
            or (r["type"] == "fd" and r.get("fd2_fd_kind") in SOCKET_KINDS)]
    got = [key(r) for r in sockets.records if r.get("pid") in pids]
    tap.ok(got == want and want, "--fd-kinds socket: exactly curl's %d socket records" % len(want),
           "got %d want %d" % (len(got), len(want)))
    tap.is_({r["type"] for r in sockets.records} - {"summary"}, {"io", "fd"},
            "--fd-kinds: no process records")
    kinds = {"pipe", "file", "dir"}
    want = [key(r) for r in mine if r["fd_kind"] in kinds
            or (r["type"] == "fd" and r.get("fd2_fd_kind") in kinds)]
    got = [key(r) for r in pipes_files.records if r.get("pid") in pids]
    tap.ok(got == want and want, "--fd-kinds pipe --fd-kinds file: exactly curl's %d file and pipe "
           "records" % len(want), "got %d want %d" % (len(got), len(want)))

    lines = readme.stdout.splitlines()
    line_re = re.compile(r"^\S+ curl\[\d+\] (sendto|recvfrom|read|write|recvmsg|sendmsg)"
                         r"\(\d+<tcp 127\.0\.0\.1:\d+->127\.0\.0\.1:%d>\) = \d+ [<>] " % srv.port)
    tap.ok(readme.returncode == 0 and lines and all(line_re.match(x) for x in lines),
           "README example: every line is a socket record of curl (%d lines)" % len(lines),
           readme.stdout[-2000:])
    sent = [x for x in lines if " > " in x]
    got_ = [x for x in lines if " < " in x]
    tap.ok(len(sent) == 1 and "GET /index.html" in sent[0] and got_,
           "README example: the request and the response")


def port_comm_pid_tests(work):
    servers = []
    for _ in range(3):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        servers.append(s)
    ports = [s.getsockname()[1] for s in servers]
    writer = os.path.join(work, "writer.py")
    with open(writer, "w") as f:
        f.write(WRITER)

    def run_writers():
        procs = []
        for i, name in enumerate(("zfa", "zfb", "zfc")):
            procs.append(subprocess.Popen([sys.executable, writer, name, "payload-%s" % name,
                                           str(ports[i]), os.path.join(work, name + ".out")]))
        return [p.wait(60) for p in procs]

    try:
        (everything, by_port, by_comm), rcs = concurrent(
            [["-e", "io", "--comm", "zfa", "--comm", "zfb", "--comm", "zfc"],
             ["-e", "io", "--port", ports[0], "--port", ports[2]],
             ["-e", "io", "--comm", "zfa", "--comm", "zfc"]], run_writers)
    finally:
        for s in servers:
            s.close()
    tap.ok(rcs == [0, 0, 0] and everything.rc == by_port.rc == by_comm.rc == 0,
           "the writers and zcaps exited 0")
    tap.is_({r["comm"] for r in everything.io()}, {"zfa", "zfb", "zfc"},
            "three --comm: the records of all three names")
    # as multisets: two captures' rings may order two CPUs' records apart
    tap.is_(sorted((key(r) for r in by_comm.io()), key=repr),
            sorted((key(r) for r in everything.io() if r["comm"] in ("zfa", "zfc")), key=repr),
            "--comm zfa --comm zfc: exactly those two processes' records")
    mine = [r for r in by_port.io() if {r.get("lport"), r.get("rport")} & set(ports)]
    tap.is_(sorted((key(r) for r in mine), key=repr),
            sorted((key(r) for r in everything.io() if r.get("fd_kind") == "tcp"
                    and {r["lport"], r["rport"]} & {ports[0], ports[2]}), key=repr),
            "--port A --port C: the socket records of ports A and C, none of B")
    tap.is_(sorted({r["comm"] for r in mine}), ["zfa", "zfc"], "... from the writers of A and C")

    # --pid: the long form of -p
    proc = subprocess.Popen([sys.executable, "-c", "import sys, time\nsys.stdin.readline()\n"
                             "print('pid-long-form', flush=True)\ntime.sleep(0.2)"],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    (res,), _ = concurrent([["-e", "io", "--pid", proc.pid]],
                           lambda: (proc.stdin.write("go\n"), proc.stdin.flush(), proc.wait(30)))
    written = b"".join(zt.payload_of(r) for r in res.io(syscall="write"))
    tap.ok(res.rc == 0 and {r["pid"] for r in res.io()} == {proc.pid}
           and written == b"pid-long-form\n", "--pid PID: that process's records only",
           "rc %d, pids %s, written %r" % (res.rc, {r["pid"] for r in res.io()}, written))


def iface_tests(work):
    veth = "zf%d" % (os.getpid() % 100000)
    peer = veth + "p"
    subprocess.run(["ip", "link", "del", veth], capture_output=True)
    made = subprocess.run(["ip", "link", "add", veth, "type", "veth", "peer", "name", peer],
                          capture_output=True, text=True)
    if made.returncode:
        # the QEMU guests of the kernel matrix boot without modules
        for name in ("three zcaps with -i", "-i lo", "-i VETH", "-i any"):
            tap.skip(name, "no veth pair here: %s" % made.stderr.strip())
    try:
        for cmd in ([] if made.returncode else [
                    ["ip", "addr", "add", "10.251.7.1/24", "dev", veth],
                    ["ip", "link", "set", veth, "up"], ["ip", "link", "set", peer, "up"],
                    ["ip", "neigh", "replace", "10.251.7.2", "lladdr", "02:00:00:00:00:02", "dev",
                     veth]]):
            subprocess.run(cmd, check=True, capture_output=True)
        if not made.returncode:
            port = zt.free_port()
            files = {n: os.path.join(work, "if-%s.pcapng" % n) for n in ("lo", veth, "any")}
            zs = [ph.ZcapOut(files[n], ["-i", n, "udp port %d" % port], ready=False) for n in files]
            for z in zs:
                z.wait_ready(120)
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            r.bind(("127.0.0.1", port))
            for i in range(3):
                u.sendto(b"lo-%d" % i, ("127.0.0.1", port))
                u.sendto(b"veth-%d" % i, ("10.251.7.2", port))
                r.recvfrom(100)
            for z in zs:
                z.stop()
            payloads = {n: sorted(b["data"][28:] for b in ph.pcapng_blocks(f)
                                  if b["type"] == ph.BT_EPB) for n, f in files.items()}
            tap.is_([z.rc for z in zs], [0, 0, 0], "three zcaps with -i exited 0")
            tap.is_(payloads["lo"], [b"lo-0", b"lo-1", b"lo-2"], "-i lo: the loopback datagrams only")
            tap.is_(payloads[veth], [b"veth-0", b"veth-1", b"veth-2"],
                    "-i %s: the veth datagrams only" % veth)
            tap.is_(payloads["any"], sorted(payloads["lo"] + payloads[veth]), "-i any: both")
    finally:
        subprocess.run(["ip", "link", "del", veth], capture_output=True)
    out = os.path.join(work, "nosuch.pcapng")
    p = subprocess.run([ZCAP, "record", "-i", "zfilt-nosuch", "-o", out], capture_output=True,
                       text=True, timeout=30)
    tap.ok(p.returncode == 2 and p.stderr.startswith("zcap: record: no such interface "
                                                     "'zfilt-nosuch'")
           and len(p.stderr.splitlines()) == 1 and not os.path.exists(out),
           "-i with an unknown interface: exit 2, one line, no file (%s)" % p.stderr.strip())


def main():
    tap.plan(18)
    work = tempfile.mkdtemp(prefix="zcap-record-filters-")
    fd_kinds_tests(work)
    port_comm_pid_tests(work)
    iface_tests(work)
    ph.cleanup(work)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
