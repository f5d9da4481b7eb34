#!/usr/bin/python3
"""Packets leave the kernel attributed (docs/pcapng.md, "Which process"):
the owners come from the sock_owner map that accept, connect, bind and a
socket's first send fill, read by the cgroup_skb programs.

A python program forks a child that listens on TCP and binds a UDP socket;
the parent connects over TCP (the handshake goes before accept() returns:
the kernel names the listener, the accept record the connection) and sends
a datagram from an unbound UDP socket (its first sendto binds it: the
datagram leaves before the call returns). Every packet of both flows names its sender (pid, tid, comm, fd)
and, loopback being this host, its receiver, exactly; and no packet is
written twice (tcpdump -i lo is the oracle for the packet set).

Both dispatches of the owner syscalls are run: the syscalls' own
tracepoints (chosen where the kernel has them) and the raw
sys_enter/sys_exit pair ($ZCAP_TEST_RAW_DISPATCH=1, the fallback)."""
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402
import pcapng_helpers as ph  # noqa: E402

PROG = r"""
import json, os, socket, sys, threading, time
out = sys.argv[1]
r, w = os.pipe()
go_r, go_w = os.pipe()
child = os.fork()
if child == 0:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    udp_r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp_r.bind(("127.0.0.1", 0))
    os.write(go_w, json.dumps([srv.getsockname()[1], udp_r.getsockname()[1]]).encode())
    conn, _ = srv.accept()
    for _ in range(3):
        conn.sendall(conn.recv(100).upper())
    d, a = udp_r.recvfrom(100)
    udp_r.sendto(d.upper(), a)
    os.write(w, json.dumps({"pid": os.getpid(), "tcp_fd": conn.fileno(),
                            "udp_fd": udp_r.fileno()}).encode())
    conn.close()
    os._exit(0)
tcp_port, udp_port = json.loads(os.read(go_r, 100))
me = {"pid": os.getpid(), "tid": threading.get_native_id()}
c = socket.create_connection(("127.0.0.1", tcp_port))
for m in (b"one", b"two", b"three"):
    c.sendall(m)
    c.recv(100)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"ping", ("127.0.0.1", udp_port))
u.recvfrom(100)
me.update(tcp_fd=c.fileno(), udp_fd=u.fileno(), tcp_port=tcp_port, udp_port=udp_port)
c.close()
os.waitpid(child, 0)
with open(out, "w") as f:
    json.dump({"parent": me, "child": json.loads(os.read(r, 1000))}, f)
"""


DISPATCHES = (
    ("syscall tracepoints", {}, "syscall tracepoints of accept, connect, bind, sends"),
    ("raw sys_enter/sys_exit", {"ZCAP_TEST_RAW_DISPATCH": "1"},
     "raw_tp sys_enter/sys_exit (socket owners)"),
)


def main():
    tap.plan(6 * len(DISPATCHES))
    for name, env, hooks in DISPATCHES:
        tap.note("dispatch: " + name)
        run(env, hooks)
    return tap.done()


def run(env, hooks):
    work = tempfile.mkdtemp(prefix="zcap-pcapng-owners-")
    prog, rep = os.path.join(work, "prog.py"), os.path.join(work, "report.json")
    with open(prog, "w") as f:
        f.write(PROG)
    ours, theirs = os.path.join(work, "zcap.pcapng"), os.path.join(work, "tcpdump.pcap")
    with ph.Tcpdump(theirs, expr="tcp or udp", immediate=True):
        z = ph.ZcapOut(ours, ["-v"], ["python3", prog, rep], ready=False, env=env)
        rc = z.wait()
        time.sleep(1)
    tap.is_(rc, 0, "zcap record -o x.pcapng -- python3 prog.py exits 0")
    tap.ok(hooks in z.stderr, "the owners come from the %s" % hooks)
    with open(rep) as f:
        r = json.load(f)
    p, c = r["parent"], r["child"]
    tcp, udp = p["tcp_port"], p["udp_port"]
    rows = ph.fields(ours, ["tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
                            "frame.comment"], "tcp.port==%d || udp.port==%d" % (tcp, udp))
    tap.ok(len(rows) >= 12, "the TCP handshake, data, FINs and both datagrams (%d packets)"
           % len(rows))

    def line(who, fd, tid=None):
        return "pid %d tid %d comm python3 fd %d" % (who["pid"], tid or who["pid"], fd)

    bad = []
    for tsport, tdport, usport, udport, comment in rows:
        if tsport:
            to_server = int(tdport) == tcp
            parent, child = line(p, p["tcp_fd"], p["tid"]), line(c, c["tcp_fd"])
        else:
            to_server = int(udport) == udp
            parent, child = line(p, p["udp_fd"], p["tid"]), line(c, c["udp_fd"])
        want = [parent, "to " + child] if to_server else [child, "to " + parent]
        if ph.owner_comments(comment) != want:
            bad.append((tsport or usport, tdport or udport, ph.owner_comments(comment), want))
    tap.is_(bad, [], "every packet names sender and receiver exactly (pid, tid, comm, fd), "
            "the handshake and the first datagram of an unbound socket included")
    udp_rows = [row for row in rows if row[2]]
    tap.is_(len(udp_rows), 2, "both datagrams are there")
    tap.is_(sorted(ph.packet_list(ours, tcp)), sorted(ph.packet_list(theirs, tcp)),
            "the TCP packets are tcpdump's, each once")
    ph.cleanup(work)


if __name__ == "__main__":
    sys.exit(main())
