#!/usr/bin/python3
"""A file's path is resolved in the kernel once, then again only when its
name changed (kern/zerocopy.bpf.c path_news): a python server sendfile()s
a.bin twice, renames it to b.bin and sends it again, then sends a second
file that is a hard link's other name. Every transfer record names the
path the file had at that moment (--json in_path), and every body packet's
comment in the pcap-ng names it too, with its byte range."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402
import pcapng_helpers as ph  # noqa: E402

SIZE = 5000

SERVER = r"""
import os, socket, sys
d = sys.argv[1]
a, b, c, l = (os.path.join(d, n) for n in ("a.bin", "b.bin", "c.bin", "l.bin"))
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
cl = socket.create_connection(srv.getsockname())
conn, _ = srv.accept()


def send(path):
    with open(path, "rb") as f:
        n = os.sendfile(conn.fileno(), f.fileno(), 0, %(size)d)
    got = b""
    while len(got) < n:
        got += cl.recv(65536)


send(a)
send(a)
os.rename(a, b)
send(b)
os.link(c, l)
os.unlink(c)
send(l)
""" % {"size": SIZE}


def main():
    tap.plan(4)
    work = tempfile.mkdtemp(prefix="zcap-xfer-paths-")
    os.chmod(work, 0o755)
    for name in ("a.bin", "c.bin"):
        zt.random_payload(os.path.join(work, name), SIZE, seed=len(name) + ord(name[0]))
    script = os.path.join(work, "server.py")
    with open(script, "w") as f:
        f.write(SERVER)
    want = [os.path.join(work, n) for n in ("a.bin", "a.bin", "b.bin", "l.bin")]

    res = zt.run_record(["-s", "0"], ["python3", script, work])
    tap.is_(res.rc, 0, "zcap record --json -- python3 server.py exits 0")
    tap.is_([r["in_path"] for r in res.of_type("xfer") if r["syscall"] == "sendfile"], want,
            "each sendfile names the file's path at that moment (a, a, renamed b, link l)")

    for name in ("b.bin", "l.bin"):
        os.rename(os.path.join(work, name), os.path.join(work, name.replace(".", "0.")))
    os.rename(os.path.join(work, "b0.bin"), os.path.join(work, "a.bin"))
    os.rename(os.path.join(work, "l0.bin"), os.path.join(work, "c.bin"))
    out = os.path.join(work, "x.pcapng")
    z = ph.ZcapOut(out, [], ["python3", script, work], ready=False)
    rc = z.wait()
    tap.is_(rc, 0, "zcap record -o x.pcapng -- python3 server.py exits 0")
    rows = ph.fields(out, ["frame.comment"], "tcp.len > 0")
    named = [c.split()[1] for r in rows for c in ph.comments(r[0]) if c.startswith("sendfile ")]
    tap.is_(named, want, "each body packet names the file's path at that moment")
    ph.cleanup(work)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
