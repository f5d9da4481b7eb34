#!/usr/bin/python3
"""Many calls in flight at once under --port: sys_exit looks a thread's saved
call up only while its tid bucket counts one in flight (kern/common.bpf.h,
inflight_pending), so every count must be right when calls of many threads
and processes overlap. A python program (comm zcap-inflight) and a child it
forks block 8 and 4 threads in recv, each on its own TCP connection to the
test's port (all made before the fork), while their other syscalls (files, pipes) go on; once every
thread sits in recvfrom (/proc/TID/syscall) the main threads send each its
own payload. The io records of the two processes must be exactly the 12
receives (tid, fd, bytes) and the 12 sends, nothing of the files or pipes.
"""
import os
import platform
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402

RECVFROM_NR = {"x86_64": 45, "aarch64": 207}

# argv: port, recvfrom's number, scratch dir. Prints one line per receive
# ("pid tid fd hexpayload") and per send ("pid tid fd hexpayload S").
PROGRAM = r'''
import ctypes, os, socket, sys, threading, time
ctypes.CDLL(None).prctl(15, b"zcap-inflight", 0, 0, 0)
port, nr, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
lst = socket.socket()
lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lst.bind(("127.0.0.1", port))
lst.listen(64)

def in_recvfrom(tid):
    with open("/proc/self/task/%d/syscall" % tid) as f:
        return f.read().split()[0] == str(nr)

# every connection made before the fork: each process's pairs are its own
pairs = []
for i in range(12):
    c = socket.create_connection(("127.0.0.1", port))
    a, _ = lst.accept()
    pairs.append((c, a))

def run(pairs, tag):
    nthreads = len(pairs)
    lines, tids = [], [None] * nthreads
    started = threading.Barrier(nthreads + 1)

    def worker(i):
        tids[i] = threading.get_native_id()
        # unrelated calls of a captured process: files and pipes
        with open(os.path.join(work, "%s-%d" % (tag, i)), "wb") as f:
            f.write(b"not a socket")
        r, w = os.pipe()
        os.write(w, b"pipe")
        os.read(r, 4)
        os.close(r)
        os.close(w)
        started.wait()
        data = pairs[i][1].recv(4096)
        lines.append("%d %d %d %s" % (os.getpid(), tids[i], pairs[i][1].fileno(), data.hex()))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(nthreads)]
    for t in threads:
        t.start()
    started.wait()
    # every worker blocked inside recvfrom: their calls are in flight together
    while not all(in_recvfrom(t) for t in tids):
        time.sleep(0.01)  # a poll, not a timed check: lets the workers run
    for i, (c, a) in enumerate(pairs):
        payload = ("%s thread %d of %d: %s" % (tag, i, nthreads, "x" * i)).encode()
        c.sendall(payload)
        lines.append("%d %d %d %s S" % (os.getpid(), threading.get_native_id(), c.fileno(),
                                         payload.hex()))
    for t in threads:
        t.join()
    for c, a in pairs:
        c.close()
        a.close()
    return lines

out = []
r, w = os.pipe()
child = os.fork()
if child == 0:
    os.close(r)
    for c, a in pairs[:8]:
        c.close()
        a.close()
    os.write(w, "\n".join(run(pairs[8:], "child")).encode() + b"\n")
    os._exit(0)
os.close(w)
for c, a in pairs[8:]:
    c.close()
    a.close()
out += run(pairs[:8], "parent")
got = b""
while True:
    b = os.read(r, 65536)
    if not b:
        break
    got += b
os.waitpid(child, 0)
sys.stdout.write("\n".join(out) + "\n" + got.decode())
'''


def main():
    nr = RECVFROM_NR.get(platform.machine())
    if nr is None:
        tap.plan(skip_all="no recvfrom number for %s" % platform.machine())
        return tap.done_testing()
    port = zt.free_port()
    with tempfile.TemporaryDirectory(prefix="zcap-inflight-") as work:
        with zt.start_record(["--port", port]) as rec:
            rec.wait_ready(120)
            prog = subprocess.run([sys.executable, "-c", PROGRAM, str(port), str(nr), work],
                                  capture_output=True, text=True, timeout=zt.scaled(120))
            res = rec.stop()
    tap.is_(prog.returncode, 0, "the program ran (stderr: %s)" % prog.stderr.strip()[-300:])
    tap.is_(res.rc, 0, "zcap record --port exits 0")
    want_in, want_out = set(), set()
    for line in prog.stdout.splitlines():
        f = line.split()
        item = (int(f[0]), int(f[1]), int(f[2]), bytes.fromhex(f[3]))
        (want_out if len(f) == 5 else want_in).add(item)
    tap.is_(len(want_in), 12, "12 threads in two processes received")
    pids = {p for p, _, _, _ in want_in}
    tap.is_(len(pids), 2, "the receivers are in two processes")
    recs = [r for r in res.io() if r["pid"] in pids]
    got_in = {(r["pid"], r["tid"], r["fd"], zt.payload_of(r)) for r in recs if r["dir"] == "in"}
    got_out = {(r["pid"], r["tid"], r["fd"], zt.payload_of(r)) for r in recs if r["dir"] == "out"}
    tap.is_(got_in, want_in, "every receive in flight at once has its record: tid, fd, bytes")
    tap.is_(got_out, want_out, "every send has its record")
    tap.is_(sorted({r["syscall"] for r in recs if r["dir"] == "in"}), ["recvfrom"],
            "the receives are recvfrom records")
    tap.is_(len(recs), 24, "nothing else of the two processes (files, pipes) is an io record")
    return tap.done_testing()


if __name__ == "__main__":
    sys.exit(main())
