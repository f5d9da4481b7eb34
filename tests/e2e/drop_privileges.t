#!/usr/bin/python3
"""`zcap record -Z USER` (issue 13), as tcpdump -Z: once everything is
attached and the output created, zcap really runs as USER (its
/proc/PID/status Uid, Gid, Groups and capability lines, read while it
captures), and the capture still works: ring buffer reads, the output it
holds open, a clean stop on SIGINT with the summary, and the cleanup that
needs root (the child cgroup of `-o FILE.pcapng -- CMD`, removed by the
reaper that kept root). USER is `nobody`, by name and by uid."""
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402

NOBODY = pwd.getpwnam("nobody")

# CMD under zcap: writes zcap's (its parent's) credentials to argv[1], then
# reads the marker file argv[2] and, with argv[3], sends it over TCP
CHILD = r"""
import os, socket, sys
with open("/proc/%d/status" % os.getppid()) as f, open(sys.argv[1], "w") as out:
    out.write(f.read())
data = open(sys.argv[2], "rb").read()
if len(sys.argv) > 3:
    c = socket.create_connection(("127.0.0.1", int(sys.argv[3])))
    c.sendall(data)
    c.recv(100)
    c.close()
"""


def creds(text):
    """Uid, Gid, Groups and the capability sets of a /proc/PID/status text."""
    want = ("Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs")
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in want:
            out[key] = value.split()
    return out


def dropped(c):
    u, g = str(NOBODY.pw_uid), str(NOBODY.pw_gid)
    return (c.get("Uid") == [u] * 4 and c.get("Gid") == [g] * 4 and
            set(c.get("Groups", [])) <= {g} and c.get("CapEff") == ["0000000000000000"] and
            c.get("CapPrm") == ["0000000000000000"] and c.get("NoNewPrivs") == ["1"])


def main():
    tap.plan(10)
    work = tempfile.mkdtemp(prefix="zcap-Z-")
    os.chmod(work, 0o755)
    try:
        marker = os.path.join(work, "marker.txt")
        with open(marker, "wb") as f:
            f.write(b"zcap -Z marker bytes\n")
        status = os.path.join(work, "status")

        # 1. JSON with -- CMD: zcap runs as nobody while CMD (root) works
        out = os.path.join(work, "out.jsonl")
        p = subprocess.run([zt.ZCAP, "record", "--json", "-e", "io", "-Z", "nobody", "-o", out,
                            "--", sys.executable, "-c", CHILD, status, marker],
                           capture_output=True, text=True, timeout=zt.scaled(120))
        c = creds(open(status).read()) if os.path.exists(status) else {}
        tap.ok(p.returncode == 0 and dropped(c),
               "-Z nobody: zcap's real, effective, saved and fs uid and gid are nobody's, no "
               "capabilities, no_new_privs", "rc=%d %r %s" % (p.returncode, c, p.stderr))
        recs = zt.parse_jsonl(open(out).read())
        reads = [r for r in recs if r.get("path") == marker and r.get("syscall") == "read" and
                 zt.payload_of(r)]
        st = os.stat(out)
        tap.ok(reads and zt.payload_of(reads[0]) == b"zcap -Z marker bytes\n" and
               recs[-1].get("type") == "summary" and "drops" in recs[-1],
               "the capture went on as nobody: the marker's read, the summary with the loss "
               "counters", "%d records, last %r" % (len(recs), recs[-1] if recs else None))
        tap.ok(st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o600,
               "the output was created (0600, by root) before the drop",
               "uid %d mode %o" % (st.st_uid, stat.S_IMODE(st.st_mode)))

        # 2. pcap-ng with -- CMD: the child cgroup is removed although zcap is nobody
        os.unlink(status)
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        port = srv.getsockname()[1]
        got = []

        def serve():
            conn, _ = srv.accept()
            got.append(conn.recv(100))
            conn.sendall(b"ok")
            conn.close()
        t = threading.Thread(target=serve)
        t.start()
        pcap = os.path.join(work, "out.pcapng")
        z = subprocess.Popen([zt.ZCAP, "record", "-Z", str(NOBODY.pw_uid), "-o", pcap, "--",
                              sys.executable, "-c", CHILD, status, marker, str(port)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _, err = z.communicate(timeout=zt.scaled(120))
        t.join()
        srv.close()
        c = creds(open(status).read()) if os.path.exists(status) else {}
        tap.ok(z.returncode == 0 and dropped(c), "-Z 65534 (a uid) with pcap-ng: zcap ran as nobody",
               "rc=%d %r %s" % (z.returncode, c, err))
        r = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-e", "tcp.payload"],
                           capture_output=True, text=True)
        payloads = {bytes.fromhex(x.replace(":", "")) for x in r.stdout.split()}
        tap.ok(r.returncode == 0 and b"zcap -Z marker bytes\n" in payloads,
               "tshark reads the file; it holds the payload CMD sent", r.stderr)
        cgdir = cgroup_child(z.pid)
        gone = wait_gone(cgdir)
        # zcap names where it attached: the cgroup existed during the capture
        tap.ok(("at %s)" % cgdir) in err and gone,
               "zcap's child cgroup %s is removed by its reaper (root)" % cgdir,
               "exists: %s; stderr %s" % (not gone, err))

        # 3. system-wide, stopped by SIGINT: /proc/PID/status of zcap itself
        comm = os.path.join(work, "zcapzmark")
        shutil.copy("/bin/cat", comm)
        with zt.start_record(["-Z", "nobody", "-e", "io", "--comm", "zcapzmark"]) as rec:
            rec.wait_ready()
            with open("/proc/%d/status" % rec.pid) as f:
                c = creds(f.read())
            subprocess.run([comm, marker], stdout=subprocess.DEVNULL, check=True)
            res = rec.stop()
        tap.ok(dropped(c), "system-wide: zcap's own status lines show nobody during the capture",
               repr(c))
        data = zt.stream_bytes(res.records, path=marker, dir="in")
        tap.ok(res.rc == 0 and data == b"zcap -Z marker bytes\n" and
               res.records[-1].get("type") == "summary",
               "SIGINT stops it cleanly (exit 0, summary) with the marker read captured",
               "rc=%d data %r %s" % (res.rc, data, res.stderr))

        # 4. bad usage: one line, exit 2, nothing created
        bad = os.path.join(work, "never.jsonl")
        p = subprocess.run([zt.ZCAP, "record", "-Z", "no-such-user-zcap", "-o", bad, "--", "true"],
                           capture_output=True, text=True)
        tap.ok(p.returncode == 2 and p.stderr.count("\n") == 1 and
               p.stderr.startswith("zcap: ") and not os.path.exists(bad),
               "-Z of an unknown user: exit 2, one line, no output file", p.stderr)
        p = subprocess.run([zt.ZCAP, "record", "-Z"], capture_output=True, text=True)
        tap.ok(p.returncode == 2 and p.stderr.count("\n") == 1,
               "-Z without a user: exit 2, one line", p.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return tap.done()


def cgroup_child(zpid):
    with open("/proc/mounts") as f:
        mnt = next(line.split()[1] for line in f if line.split()[2] == "cgroup2")
    return os.path.join(mnt, "zcap-%d" % zpid)


def wait_gone(path):
    """The reaper runs once zcap has exited: wait (bounded) for it to finish."""
    deadline = time.monotonic() + zt.scaled(20)
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not os.path.exists(path)


if __name__ == "__main__":
    sys.exit(main())
