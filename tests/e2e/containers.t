#!/usr/bin/python3
"""Containers (issue 13): the cgroup v2 path of every record and packet, and
the container id (docker, podman, containerd, Kubernetes layouts) read from
it, in JSON and in pcap-ng comments; `--cgroup PATH` selects, in the kernel,
exactly the records and packets of the tasks in that cgroup (or below it).

No container runtime is needed: the test makes real cgroup2 directories
named as the runtimes name theirs, under a private directory of the cgroup2
mount (found in /proc/mounts), and moves real processes into them. The
kernel's own view, /proc/PID/cgroup, is the oracle for each path; tcpdump
for the packets."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402

HEX = "%064x"
UID = "5a9c3b1e-7d2f-4c8a-9e6b-%012x"

# a process that waits, in whatever cgroup the test moves it to, until
# told to read its own marker file and write the bytes into a pipe
WORKER = r"""
import os, sys
sys.stdout.write("ready\n"); sys.stdout.flush()
sys.stdin.readline()
with open(sys.argv[1], "rb") as f:
    data = f.read()
r, w = os.pipe()
os.write(w, data)
os.read(r, len(data))
"""


def cgroup2_mount():
    with open("/proc/mounts") as f:
        for line in f:
            parts = line.split()
            if parts[2] == "cgroup2":
                return parts[1]
    return None


def kernel_cgroup(pid):
    """The cgroup v2 path of pid as the kernel shows it ("0::/x/y")."""
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            if line.startswith("0::"):
                return line[3:].rstrip("\n")
    return None


class Worker:
    def __init__(self, work, name, cgdir):
        self.marker = os.path.join(work, "marker-" + name)
        with open(self.marker, "wb") as f:
            f.write(("marker of %s\n" % name).encode())
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER, self.marker],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.proc.stdout.readline()
        if cgdir:
            with open(os.path.join(cgdir, "cgroup.procs"), "w") as f:
                f.write("%d\n" % self.proc.pid)
        self.cgroup = kernel_cgroup(self.proc.pid)

    @property
    def pid(self):
        return self.proc.pid

    def go(self):
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.close()
        self.proc.wait(zt.scaled(30))


def cgroup_fields(recs, pid):
    """The distinct (cgroup, container_id, container_runtime, pod_uid) of pid's records."""
    return {(r.get("cgroup"), r.get("container_id"), r.get("container_runtime"), r.get("pod_uid"))
            for r in recs if r.get("pid") == pid}


def record_workers(args, workers):
    rec = zt.start_record(["-e", "io"] + args)
    with rec:
        rec.wait_ready()
        for w in workers:
            w.go()
        return rec.stop()


def main():
    mnt = cgroup2_mount()
    if not mnt:
        tap.plan(skip_all="no cgroup2 mount")
        return tap.done()
    tap.plan(17)
    base = os.path.join(mnt, "zcaptest-%d" % os.getpid())
    ids = [HEX % (0xc0ffee00 + i) for i in range(5)]
    pod = UID % 0x42
    layouts = [  # name, relative dir, runtime, container id, pod uid
        ("docker", "system.slice/docker-%s.scope" % ids[0], "docker", ids[0], None),
        ("docker-cgroupfs", "docker/%s" % ids[1], "docker", ids[1], None),
        ("podman", "machine.slice/libpod-%s.scope" % ids[2], "podman", ids[2], None),
        ("k8s-containerd", "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s"
         ".slice/cri-containerd-%s.scope" % (pod.replace("-", "_"), ids[3]),
         "containerd", ids[3], pod),
        ("k8s-cgroupfs", "kubepods/besteffort/pod%s/%s" % (pod, ids[4]), None, ids[4], pod),
        ("plain", "plain", None, None, None),
        # quotes, a tab, a backslash, UTF-8 in a cgroup's name: JSON stays valid
        ("hostile", "evil\tname \"q\" \\ \xe9", None, None, None),
    ]
    work = tempfile.mkdtemp(prefix="zcap-ct-")
    made = []
    workers = []
    try:
        for name, rel, *_ in layouts:
            d = os.path.join(base, rel)
            os.makedirs(d)
            made.append(d)
        workers = [Worker(work, name, os.path.join(base, rel)) for name, rel, *_ in layouts]

        # 1. every record's cgroup and container, per layout
        args = []
        for w in workers:
            args += ["-p", w.pid]
        res = record_workers(args, workers)
        for w, (name, rel, runtime, cid, puid) in zip(workers, layouts):
            want = {(w.cgroup, cid, runtime, puid)}
            got = cgroup_fields(res.records, w.pid)
            tap.ok(w.cgroup and w.cgroup.endswith("/" + rel) and got == want,
                   "%s: every record of the worker has cgroup %r%s" %
                   (name, w.cgroup, " and container %s %s" % (runtime, cid) if cid else ""),
                   "got %r want %r" % (got, want))
        ids_ok = {r.get("cgroup_id") == os.stat(os.path.join(mnt, w.cgroup.lstrip("/"))).st_ino
                  for w in workers for r in res.records if r.get("pid") == w.pid}
        tap.ok(ids_ok == {True}, "cgroup_id is the cgroup directory's inode number")

        # 2. --cgroup: exactly the tasks in it, system-wide, in the kernel
        inside = Worker(work, "in", os.path.join(base, layouts[0][1]))
        outside = Worker(work, "out", None)
        res = record_workers(["--cgroup", os.path.join(base, layouts[0][1])], [inside, outside])
        pids = {r["pid"] for r in res.records if "pid" in r}
        paths = {r.get("path") for r in res.records if r.get("pid") == inside.pid}
        tap.ok(res.rc == 0 and pids == {inside.pid} and inside.marker in paths,
               "--cgroup DIR: only the records of the task in it (its marker read)",
               "pids %r (inside %d, outside %d) paths %r" % (pids, inside.pid, outside.pid, paths))
        # the same cgroup as /proc/PID/cgroup shows it, and a parent cgroup
        a = Worker(work, "a", os.path.join(base, layouts[3][1]))
        b = Worker(work, "b", os.path.join(base, layouts[5][1]))
        res = record_workers(["--cgroup", a.cgroup], [a, b])
        pids = {r["pid"] for r in res.records if "pid" in r}
        tap.ok(pids == {a.pid}, "--cgroup /proc-style path selects that cgroup's task",
               "pids %r want {%d}" % (pids, a.pid))
        a = Worker(work, "a2", os.path.join(base, layouts[3][1]))
        c = Worker(work, "c2", os.path.join(base, layouts[4][1]))
        b = Worker(work, "b2", os.path.join(base, layouts[5][1]))
        res = record_workers(["--cgroup", os.path.join(base, "kubepods.slice")], [a, c, b])
        pids = {r["pid"] for r in res.records if "pid" in r}
        tap.ok(pids == {a.pid}, "--cgroup of a parent: the tasks of the cgroups below it",
               "pids %r want {%d}" % (pids, a.pid))

        # 3. packets: --cgroup in pcap-ng, against tcpdump on the same traffic
        packets(work, base, layouts[0], ids[0])

        # 4. bad --cgroup: one line, exit 2
        p = subprocess.run([zt.ZCAP, "record", "--cgroup", "/no/such/cgroup-x"],
                           capture_output=True, text=True)
        tap.ok(p.returncode == 2 and p.stderr.count("\n") == 1 and
               p.stderr.startswith("zcap: ") and "no such cgroup" in p.stderr,
               "--cgroup that does not exist: exit 2, one line", p.stderr)
        p = subprocess.run([zt.ZCAP, "record", "--cgroup", "/", "-o",
                            os.path.join(work, "no.pcapng"), "--", "true"],
                           capture_output=True, text=True)
        tap.ok(p.returncode == 2 and p.stderr.count("\n") == 1 and
               not os.path.exists(os.path.join(work, "no.pcapng")),
               "--cgroup with -o FILE.pcapng -- CMD: exit 2, one line, no file", p.stderr)
        p = subprocess.run([zt.ZCAP, "record", "--cgroup", work], capture_output=True, text=True)
        tap.ok(p.returncode == 2 and p.stderr.count("\n") == 1 and "cgroup" in p.stderr,
               "--cgroup of a directory that is no cgroup: exit 2, one line", p.stderr)
    finally:
        for w in workers:
            if w.proc.poll() is None:
                w.proc.kill()
                w.proc.wait()
        for d in sorted(made, key=len, reverse=True):
            while d != mnt and d.startswith(base):
                try:
                    os.rmdir(d)
                except OSError:
                    break
                d = os.path.dirname(d)
        shutil.rmtree(work, ignore_errors=True)
    return tap.done()


SERVER_REPLY = b"reply-from-server\n"


def serve(srv, n):
    for _ in range(n):
        conn, _ = srv.accept()
        conn.recv(100)
        conn.sendall(SERVER_REPLY)
        conn.close()  # the server closes first: its TIME_WAIT, not the client's


CLIENT = r"""
import socket, sys
sys.stdout.write("ready\n"); sys.stdout.flush()
sys.stdin.readline()
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print(c.getsockname()[1], flush=True)
c.sendall(sys.argv[2].encode())
while c.recv(100):
    pass
c.close()
"""


def client(port, msg, cgdir):
    p = subprocess.Popen([sys.executable, "-c", CLIENT, str(port), msg],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    p.stdout.readline()
    if cgdir:
        with open(os.path.join(cgdir, "cgroup.procs"), "w") as f:
            f.write("%d\n" % p.pid)
    return p


def tshark_fields(path, *fields):
    argv = ["tshark", "-r", path, "-T", "fields", "-E", "separator=|", "-o",
            "tcp.relative_sequence_numbers:FALSE"]
    for f in fields:
        argv += ["-e", f]
    p = subprocess.run(argv, capture_output=True, text=True)
    return p.returncode, [line.split("|") for line in p.stdout.splitlines()]


def packets(work, base, layout, cid):
    name, rel = layout[0], layout[1]
    cgdir = os.path.join(base, rel)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    t = threading.Thread(target=serve, args=(srv, 2))
    t.start()
    out = os.path.join(work, "ct.pcapng")
    ref = os.path.join(work, "ref.pcap")
    inside = client(port, "hello-inside", cgdir)
    outside = client(port, "hello-outside", None)
    cgroup = kernel_cgroup(inside.pid)
    dump = subprocess.Popen(["tcpdump", "-Z", "root", "--immediate-mode", "-i", "lo", "-w", ref,
                             "tcp port %d" % port],
                            stderr=subprocess.PIPE)
    dump.stderr.readline()  # "listening on lo ..."
    z = subprocess.Popen([zt.ZCAP, "record", "-o", out, "--cgroup", cgdir],
                         stderr=subprocess.PIPE, text=True)
    line = z.stderr.readline()
    while line and not line.startswith(zt.READY_PREFIX):
        line = z.stderr.readline()
    ports = {}
    for p, who in ((inside, "in"), (outside, "out")):
        p.stdin.write("go\n")
        p.stdin.close()
        ports[who] = p.stdout.readline().strip()
        p.wait(zt.scaled(30))
    t.join()
    srv.close()
    # the server's TIME_WAIT ACK reaches tcpdump as soon as the client's FIN did
    z.send_signal(2)
    z.wait(zt.scaled(60))
    dump.send_signal(2)
    dump.wait(zt.scaled(30))
    fields = ("tcp.srcport", "tcp.dstport", "tcp.seq", "tcp.ack", "tcp.flags", "tcp.len")
    rc, got = tshark_fields(out, *fields, "frame.comment")
    rc2, want = tshark_fields(ref, *fields)
    flow = {ports["in"], str(port)}
    got_flows = {frozenset(r[:2]) for r in got}
    tap.ok(rc == 0 and got and got_flows == {frozenset(flow)},
           "--cgroup in pcap-ng: only the packets of the socket in the cgroup (port %s)" %
           ports["in"], "flows %r want %r (outside client port %s)" %
           (got_flows, flow, ports["out"]))
    mine = sorted(tuple(r[:6]) for r in want if set(r[:2]) == flow)
    tap.ok(rc2 == 0 and sorted(tuple(r[:6]) for r in got) == mine,
           "the same packets as tcpdump captured of that connection (%d)" % len(mine),
           "zcap %r\ntcpdump %r" % (sorted(tuple(r[:6]) for r in got), mine))
    comments = [r[6] for r in got]
    want_lines = ["cgroup " + cgroup, "container docker " + cid]
    tap.ok(comments and all(all(w in c.split(",") for w in want_lines) for c in comments),
           "every packet's comments name its cgroup %s and container docker %s" % (cgroup, cid),
           "comments %r" % comments)


if __name__ == "__main__":
    sys.exit(main())
