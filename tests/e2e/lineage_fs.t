#!/usr/bin/python3
"""zcap lineage: the lineage BPF part's own events (kern/fs.bpf.c).

io_uring openat/read/write/splice/send/recv, O_TRUNC of non-empty files on tmpfs and ext4
(ZCAP_FD_NONEMPTY), paths relative to a dirfd, scripts as executed files,
and the SHA-256 of inputs before and outputs after the run.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from lineage_helpers import Tap, Workdir, file_entry, run_lineage, schema_errors, sets_of  # noqa: E402

URING_PROG = r"""
#include <fcntl.h>
#include <liburing.h>
#include <sys/socket.h>
#include <unistd.h>

static int run(struct io_uring *r)
{
	struct io_uring_cqe *cqe;
	int res;

	io_uring_submit(r);
	if (io_uring_wait_cqe(r, &cqe))
		return -1;
	res = cqe->res;
	io_uring_cqe_seen(r, cqe);
	return res;
}

int main(void)
{
	struct io_uring r;
	char buf[64], got[64];
	int in, out, spl, snd, n, p[2], sv[2];

	if (io_uring_queue_init(8, &r, 0) || pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 2;
	io_uring_prep_openat(io_uring_get_sqe(&r), AT_FDCWD, "in.txt", O_RDONLY, 0);
	in = run(&r);
	io_uring_prep_read(io_uring_get_sqe(&r), in, buf, sizeof(buf), 0);
	n = run(&r);
	io_uring_prep_openat(io_uring_get_sqe(&r), AT_FDCWD, "out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	out = run(&r);
	io_uring_prep_write(io_uring_get_sqe(&r), out, buf, n, 0);
	if (in < 0 || n <= 0 || out < 0 || run(&r) != n)
		return 1;
	/* in.txt -> pipe -> spliced.txt, both halves io_uring splices */
	io_uring_prep_openat(io_uring_get_sqe(&r), AT_FDCWD, "spliced.txt", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	spl = run(&r);
	io_uring_prep_splice(io_uring_get_sqe(&r), in, 0, p[1], -1, n, 0);
	if (spl < 0 || run(&r) != n)
		return 1;
	io_uring_prep_splice(io_uring_get_sqe(&r), p[0], -1, spl, -1, n, 0);
	if (run(&r) != n)
		return 1;
	/* buf -> unix socket (io_uring send) -> io_uring recv -> sent.txt */
	io_uring_prep_send(io_uring_get_sqe(&r), sv[0], buf, n, 0);
	if (run(&r) != n)
		return 1;
	io_uring_prep_recv(io_uring_get_sqe(&r), sv[1], got, sizeof(got), 0);
	if (run(&r) != n)
		return 1;
	io_uring_prep_openat(io_uring_get_sqe(&r), AT_FDCWD, "sent.txt", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	snd = run(&r);
	io_uring_prep_write(io_uring_get_sqe(&r), snd, got, n, 0);
	if (snd < 0 || run(&r) != n)
		return 1;
	io_uring_queue_exit(&r);
	return 0;
}
"""


def sha(data):
    return hashlib.sha256(data).hexdigest()


def only(rec, root, *keys):
    s = sets_of(rec, root)
    return {k: s[k] for k in keys}


CHANNEL_PROG = r"""
import os, socket, sys
kind = sys.argv[1]
if kind == "fifo":
    os.mkfifo("chan")
elif kind == "tcp":
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
else:
    a, b = socket.socketpair()
pid = os.fork()
if pid == 0:  # the child reads the input and sends it
    data = open("in.txt", "rb").read()
    if kind == "fifo":
        with open("chan", "wb") as f:
            f.write(data)
    elif kind == "tcp":
        c = socket.create_connection(("127.0.0.1", port))
        c.sendall(data)
        c.close()
    else:
        a.sendall(data)
    os._exit(0)
if kind == "fifo":
    with open("chan", "rb") as f:
        data = f.read()
elif kind == "tcp":
    conn, _ = srv.accept()
    data = b"".join(iter(lambda: conn.recv(4096), b""))
else:
    data = b.recv(4096)
os.waitpid(pid, 0)
open("out.txt", "wb").write(data)
"""


def labelled_edges(rec, root):
    """The record's edges as (from, to, via, bytes), files under root as
    file:RELATIVE, processes as proc, channels by kind."""
    def label(n):
        if n.startswith("file:" + root + "/"):
            return "file:" + n[len(root) + 6:]
        return n if n.startswith("file:") else n.split(":")[0].replace("process", "proc")
    return {(label(e["from"]), label(e["to"]), e["via"], e["bytes"]) for e in rec["edges"]}


def upstream_files(rec, node):
    """Files whose data reached node, back along data edges (not exec),
    and the kinds of channels crossed on the way."""
    seen, files, chans, todo = {node}, set(), set(), [node]
    while todo:
        n = todo.pop()
        for e in rec["edges"]:
            if e["to"] != n or e["via"] == "exec" or e["from"] in seen:
                continue
            seen.add(e["from"])
            if e["from"].startswith("file:"):
                files.add(e["from"][5:])
            else:
                if not e["from"].startswith("process:"):
                    chans.add(e["from"].split(":")[0])
                todo.append(e["from"])
    return files, chans


SCHEMA_ERRORS = []


def record(text):
    """The native record, its schema violations kept for the last check."""
    rec = json.loads(text)
    SCHEMA_ERRORS.extend(schema_errors(rec))
    return rec


def main():
    t = Tap()
    w = Workdir()
    shm = Workdir("/dev/shm") if os.path.isdir("/dev/shm") else None
    build = tempfile.mkdtemp(prefix="zcap-lin-uring.")
    try:
        # io_uring: the operations run without read/write syscalls of their own
        src = os.path.join(build, "u.c")
        with open(src, "w") as f:
            f.write(URING_PROG)
        cc = subprocess.run(["cc", "-O2", "-o", os.path.join(build, "u"), src, "-luring"],
                            capture_output=True, text=True)
        t.ok(cc.returncode == 0, "the io_uring program builds (liburing-dev, make deps)", cc.stderr)
        w.reset({"in.txt": "uring data\n"})
        rc, text, err, _ = run_lineage([os.path.join(build, "u")], w.path)
        rec = record(text)
        outs = {"out.txt", "spliced.txt", "sent.txt"}
        t.eq((rc, only(rec, w.path, "read", "written", "created")),
             (0, {"read": {"in.txt"}, "written": outs, "created": outs}),
             "io_uring openat/read/write/splice/send/recv attributed to the task")
        edges = labelled_edges(rec, w.path)
        want = [("file:in.txt", "proc", "io_uring", 22),   # the read and the splice out of it
                ("proc", "file:out.txt", "io_uring", 11),
                ("proc", "pipe", "io_uring", 11), ("pipe", "proc", "io_uring", 11),
                ("proc", "file:spliced.txt", "io_uring", 11),
                ("proc", "unix", "io_uring", 11), ("unix", "proc", "io_uring", 11),
                ("proc", "file:sent.txt", "io_uring", 11)]
        t.eq([e for e in want if e not in edges], [], "io_uring edges: read, write, splice via a pipe, "
             "send/recv over a unix socket, with bytes")
        t.eq({n: ((file_entry(rec, os.path.join(w.path, n)) or {}).get("bytes_read"),
                  (file_entry(rec, os.path.join(w.path, n)) or {}).get("bytes_written"))
              for n in ["in.txt", *sorted(outs)]},
             {"in.txt": (22, 0), "out.txt": (0, 11), "sent.txt": (0, 11), "spliced.txt": (0, 11)},
             "io_uring byte counts")
        with open(os.path.join(w.path, "spliced.txt")) as f1, open(os.path.join(w.path, "sent.txt")) as f2:
            t.eq((f1.read(), f2.read()), ("uring data\n", "uring data\n"), "the io_uring program did its copies")

        # pipes are in lineage.t; FIFOs and sockets between traced processes
        for kind in ("fifo", "unix", "tcp"):
            w.reset({"in.txt": f"through a {kind}\n"})
            rc, text, err, _ = run_lineage([sys.executable, "-c", CHANNEL_PROG, kind], w.path)
            rec = record(text)
            files, chans = upstream_files(rec, "file:" + os.path.join(w.path, "out.txt"))
            t.eq((rc, os.path.join(w.path, "in.txt") in files, chans), (0, True, {kind}),
                 f"out.txt <- parent <- {kind} <- child <- in.txt")

        # O_TRUNC of existing files: a write only when data was discarded
        trunc = [sys.executable, "-c", "import os\n"
                 "for n in ('full', 'empty', 'big', 'sparse'):\n"
                 "    if os.path.exists(n): open(n, 'w').close()"]
        for d, fs in ((w, "ext4"), (shm, "tmpfs")):
            if d is None:
                t.ok(False, f"O_TRUNC on {fs}: /dev/shm is missing")
                continue
            fstype = subprocess.run(["stat", "-f", "-c", "%T", d.path], capture_output=True,
                                    text=True).stdout.strip()
            d.reset({"full": "data\n", "empty": "", "big": os.urandom(1 << 20)})
            want = {"full", "big"}
            if fs == "ext4":
                # 1 MiB of hole: no blocks, no pages, only a size to lose
                with open(os.path.join(d.path, "sparse"), "wb") as f:
                    f.truncate(1 << 20)
                want.add("sparse")
                # on disk, not only in the page cache: the ext4 path of the watch
                subprocess.run(["sync"])
                with open("/proc/sys/vm/drop_caches", "w") as f:
                    f.write("1")
            rc, text, err, _ = run_lineage(trunc, d.path)
            rec = record(text)
            t.eq(only(rec, d.path, "written", "created"), {"written": want, "created": set()},
                 f"O_TRUNC on {fs} ({fstype}): non-empty files written (on ext4 one all "
                 "hole too), the empty one not")

        # dirfd-relative rename/unlink and mkdirat: absolute, normalized paths
        w.reset({"a.txt": "A", "gone.txt": "G"})
        os.mkdir(os.path.join(w.path, "sub"))
        cmd = [sys.executable, "-c",
               "import os\nd = os.open('sub', os.O_RDONLY | os.O_DIRECTORY)\n"
               "os.rename('../a.txt', './b.txt', src_dir_fd=d, dst_dir_fd=d)\n"
               "os.unlink('../gone.txt', dir_fd=d)\nos.mkdir('new', dir_fd=d)"]
        rc, text, err, _ = run_lineage(cmd, w.path)
        rec = record(text)
        b = file_entry(rec, os.path.join(w.path, "sub", "b.txt")) or {}
        t.eq((only(rec, w.path, "created", "deleted"), b.get("origin")),
             ({"created": {"sub/new"}, "deleted": {"a.txt", "gone.txt"}}, os.path.join(w.path, "a.txt")),
             "renameat/unlinkat/mkdirat relative to a dirfd resolve to absolute paths")

        # a script: the script and its interpreter are both executed
        w.reset({"run.sh": "#!/bin/sh\necho ran > out.txt\n"})
        os.chmod(os.path.join(w.path, "run.sh"), 0o755)
        rc, text, err, _ = run_lineage(["./run.sh"], w.path)
        rec = record(text)
        ex = {f["path"] for f in rec["files"] if f["executed"]}
        t.ok(os.path.join(w.path, "run.sh") in ex and any(p.endswith("/dash") or p.endswith("/sh") for p in ex),
             "a #! script and its interpreter are executed", sorted(ex))
        t.eq(rec["processes"][0]["argv"], ["/bin/sh", "./run.sh"], "the script's process argv")

        # hashes: inputs as first read, outputs after the run
        w.reset({"in.txt": "input bytes\n", "inout.txt": "before\n"})
        cmd = ["sh", "-c", "cat in.txt > /dev/null; cat inout.txt > /dev/null; "
               "sleep 0.3; echo after >> inout.txt; printf new > out.txt"]
        rc, text, err, _ = run_lineage(cmd, w.path)
        rec = record(text)
        fin = file_entry(rec, os.path.join(w.path, "in.txt")) or {}
        fio = file_entry(rec, os.path.join(w.path, "inout.txt")) or {}
        fout = file_entry(rec, os.path.join(w.path, "out.txt")) or {}
        t.eq((fin.get("sha256_before"), fin.get("sha256_after")), (sha(b"input bytes\n"), None),
             "input: sha256_before of its content, no sha256_after")
        t.eq((fio.get("sha256_before"), fio.get("sha256_after")),
             (sha(b"before\n"), sha(b"before\nafter\n")), "read then appended: both hashes")
        t.eq((fout.get("sha256_before"), fout.get("sha256_after")), (None, sha(b"new")),
             "output: sha256_after of its final content")

        # a large input is hashed off the capture loop, and right
        big = os.urandom(64 << 20)
        w.reset({"big.bin": big})
        rc, text, err, _ = run_lineage(["sh", "-c", "head -c 1 big.bin > /dev/null"], w.path)
        rec = record(text)
        t.eq((file_entry(rec, os.path.join(w.path, "big.bin")) or {}).get("sha256_before"), sha(big),
             "64 MiB input hashed whole")
        t.eq(SCHEMA_ERRORS, [], "every record above is valid against docs/lineage.schema.json")
    finally:
        w.cleanup()
        if shm:
            shm.cleanup()
        shutil.rmtree(build, ignore_errors=True)
    t.done()


main()
