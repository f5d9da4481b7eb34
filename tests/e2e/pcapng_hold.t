#!/usr/bin/python3
"""Packets wait for the records still due for them (docs/pcapng.md, "Which
process"): the packet sink writes a packet after a short settling time,
unless a record that names it is still to come; then it waits for that
record, up to 0.5 s.

A python server accepts 0.3 s after the client connected and sent its
request (the handshake and the request go before accept() returns: the
kernel can only name the listener), then sends a 256 KiB file with one
sendfile() on a blocking socket with a small send buffer to a client that
reads slowly: the call blocks for a while, and its packets leave before
the zero-copy records that name their file ranges (those come with the
call's end).

Every packet names both processes exactly (the handshake by the accept
record), every body packet names the file and exactly the byte range it
carries, and the packets are tcpdump's, each once."""
import json
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402
import pcapng_helpers as ph  # noqa: E402

SIZE = 256 << 10
RANGE = re.compile(r"^sendfile (\S+) \[(\d+), (\d+)\)$")

PROG = r"""
import json, os, socket, sys, time
path, size, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
port = srv.getsockname()[1]
child = os.fork()
if child == 0:
    srv.close()
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    c.connect(("127.0.0.1", port))
    c.sendall(b"GET")
    got = 0
    while got < size:
        d = c.recv(16384)
        if not d:
            break
        got += len(d)
        time.sleep(0.008)
    os._exit(0 if got == size else 1)
time.sleep(0.3)
conn, _ = srv.accept()
conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
conn.recv(3)
fd = os.open(path, os.O_RDONLY)
sent = calls = 0
t0 = time.monotonic()
while sent < size:
    sent += os.sendfile(conn.fileno(), fd, sent, size - sent)
    calls += 1
took = time.monotonic() - t0
report = {"pid": os.getpid(), "fd": conn.fileno(), "port": port, "calls": calls,
          "seconds": took}
conn.close()
_, status = os.waitpid(child, 0)
report.update(child=child, child_status=status)
with open(out, "w") as f:
    json.dump(report, f)
"""


def main():
    tap.plan(6)
    work = tempfile.mkdtemp(prefix="zcap-pcapng-hold-")
    prog, rep = os.path.join(work, "prog.py"), os.path.join(work, "report.json")
    served = os.path.join(work, "served.bin")
    zt.random_payload(served, SIZE, seed=33)
    with open(prog, "w") as f:
        f.write(PROG)
    ours, theirs = os.path.join(work, "zcap.pcapng"), os.path.join(work, "tcpdump.pcap")
    with ph.Tcpdump(theirs, expr="tcp", immediate=True):
        z = ph.ZcapOut(ours, [], ["python3", prog, served, SIZE, rep], ready=False)
        rc = z.wait()
        time.sleep(1)
    with open(rep) as f:
        r = json.load(f)
    tap.ok(rc == 0 and r["child_status"] == 0 and r["calls"] == 1,
           "zcap -- python3 prog.py exits 0; the client got the file; one sendfile() call",
           [rc, r, z.stderr[-500:]])
    tap.ok(r["seconds"] > 0.05, "the sendfile() call blocked (%.3f s) for longer than packets "
           "settle (20 ms)" % r["seconds"])
    port = r["port"]
    tap.is_(sorted(ph.packet_list(ours, port)), sorted(ph.packet_list(theirs, port)),
            "the packets are tcpdump's, each once")

    rows = ph.fields(ours, ["tcp.srcport", "tcp.flags.syn", "tcp.len", "frame.comment"],
                     "tcp.port==%d" % port)
    server = "pid %d tid %d comm python3 fd %d" % (r["pid"], r["pid"], r["fd"])
    client = "pid %d tid %d comm python3 fd " % (r["child"], r["child"])
    bad = []
    for sport, syn, length, comment in rows:
        lines = [c for c in ph.owner_comments(comment) if not RANGE.match(c)]
        first, second = (server, client) if int(sport) == port else (client, server)
        if not (len(lines) == 2 and lines[0].startswith(first)
                and lines[1].startswith("to " + second)):
            bad.append((sport, syn, length, lines))
    tap.is_(bad, [], "every packet names sender and receiver exactly, the handshake and the "
            "request sent before accept() returned included")
    handshake = [row for row in rows if row[1] in ("1", "True")]
    tap.is_(len(handshake), 2, "the handshake is there (SYN, SYN-ACK)")

    # each body packet: the file and exactly the bytes it carries
    body = ph.fields(ours, ["tcp.seq", "tcp.len", "frame.comment"],
                     "tcp.srcport==%d && tcp.len > 0" % port)
    bad = []
    for seq, length, comment in body:
        start = int(seq) - 1
        want = [(served, start, start + int(length))]
        got = [(m[1], int(m[2]), int(m[3])) for line in ph.comments(comment)
               for m in [RANGE.match(line)] if m]
        if got != want:
            bad.append((want, got))
    tap.is_((len(body) > 4, bad), (True, []),
            "each of the %d body packets names the file and its exact byte range" % len(body))
    ph.cleanup(work)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
