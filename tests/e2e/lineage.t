#!/usr/bin/python3
"""zcap lineage: per-file semantics on real commands (docs/lineage.md).

Each scenario runs twice from the same starting files: under `zcap lineage`
(its read/written/created/deleted sets must be exactly the expected ones,
and the listed edges and byte counts must be there) and under `strace -f -y`
(the oracle: the same rules applied to the syscalls strace saw must give
the same four sets, and the same byte counts where the scenario lists them).
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from lineage_helpers import (Tap, Workdir, file_entry, file_sizes, oracle,  # noqa: E402
                             run_lineage, run_strace, schema_errors, sets_of)

PY = sys.executable
PYN = os.path.basename(PY)
KINDS = ("read", "written", "created", "deleted")

SENDFILE = """import os
i = os.open('in.txt', os.O_RDONLY)
o = os.open('out.txt', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
assert os.sendfile(o, i, 0, 4096) == 12"""

SPLICE = """import os
i = os.open('in.txt', os.O_RDONLY)
o = os.open('out.txt', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
r, w = os.pipe()
assert os.splice(i, w, 4096) == 12
assert os.splice(r, o, 4096) == 12"""


def S(*names):
    return set(names)


# name, starting files, command, expected sets, options:
#   edges: (from, to, via, bytes) that must be in the record, nodes written
#          as file:RELATIVE, proc:PROGRAM (basename of argv[0]), pipe
#   bytes: {file: (bytes_read, bytes_written)}, also checked against strace
#   chain: the data path back from the first file (see chain_back)
#   opened: files opened but not read
SCENARIOS = [
    ("cat f to a pipe (read + write)", {"in.txt": "hello world\n"}, ["cat", "in.txt"],
     dict(read=S("in.txt")),
     {"edges": [("file:in.txt", "proc:cat", "read", 12), ("proc:cat", "pipe", "write", 12)],
      "bytes": {"in.txt": (12, 0)}}),
    ("cat f to a file (copy_file_range)", {"in.txt": "hello world\n"}, ["sh", "-c", "cat in.txt > out.txt"],
     dict(read=S("in.txt"), written=S("out.txt"), created=S("out.txt")),
     {"edges": [("file:in.txt", "proc:cat", "copy_file_range", 12),
                ("proc:cat", "file:out.txt", "copy_file_range", 12)],
      "bytes": {"in.txt": (12, 0), "out.txt": (0, 12)}}),
    ("sendfile file to file", {"in.txt": "hello world\n"}, [PY, "-c", SENDFILE],
     dict(read=S("in.txt"), written=S("out.txt"), created=S("out.txt")),
     {"edges": [("file:in.txt", f"proc:{PYN}", "sendfile", 12), (f"proc:{PYN}", "file:out.txt", "sendfile", 12)],
      "bytes": {"in.txt": (12, 0), "out.txt": (0, 12)}}),
    ("splice file to pipe to file", {"in.txt": "hello world\n"}, [PY, "-c", SPLICE],
     dict(read=S("in.txt"), written=S("out.txt"), created=S("out.txt")),
     {"edges": [("file:in.txt", f"proc:{PYN}", "splice", 12), (f"proc:{PYN}", "pipe", "splice", 12),
                ("pipe", f"proc:{PYN}", "splice", 12), (f"proc:{PYN}", "file:out.txt", "splice", 12)],
      "bytes": {"in.txt": (12, 0), "out.txt": (0, 12)}}),
    ("cp a b (copy_file_range)", {"a": "copy me\n" * 100}, ["cp", "a", "b"],
     dict(read=S("a"), written=S("b"), created=S("b")),
     {"edges": [("file:a", "proc:cp", "copy_file_range", 800), ("proc:cp", "file:b", "copy_file_range", 800)],
      "bytes": {"a": (800, 0), "b": (0, 800)}}),
    ("echo hi > out", {}, ["sh", "-c", "echo hi > out"],
     dict(written=S("out"), created=S("out")),
     {"edges": [("proc:sh", "file:out", "write", 3)], "bytes": {"out": (0, 3)}}),
    ("echo a | tr a b | sort > out", {}, ["sh", "-c", "echo a | tr a b | sort > out"],
     dict(written=S("out"), created=S("out")),
     {"chain": ["file:out", "proc:sort", "pipe", "proc:tr", "pipe", "proc:sh"]}),
    ("cat in.txt | gzip > out.gz", {"in.txt": "gzip me\n" * 100}, ["sh", "-c", "cat in.txt | gzip -n > out.gz"],
     dict(read=S("in.txt"), written=S("out.gz"), created=S("out.gz")),
     {"chain": ["file:out.gz", "proc:gzip", "pipe", "proc:cat", "file:in.txt"],
      "edges": [("proc:cat", "pipe", "write", 800), ("pipe", "proc:gzip", "read", 800)]}),
    ("awk > out; cat out > /dev/null", {"in.txt": "a b\nc d\n"},
     ["sh", "-c", "awk '{print $1}' in.txt > out; cat out > /dev/null"],
     dict(read=S("in.txt", "out"), written=S("out"), created=S("out")), {}),
    ("python zipfile.ZipFile(p, 'w'): output only", {},
     [PY, "-c", "import zipfile\nwith zipfile.ZipFile('out.zip', 'w') as z:\n"
      "    z.writestr('a.txt', 'hello' * 1000)\n    z.writestr('b.txt', 'world')"],
     dict(written=S("out.zip"), created=S("out.zip")), {}),
    ("python open(p, 'w') + close: created, not written", {},
     [PY, "-c", "open('new.txt', 'w').close()"],
     dict(created=S("new.txt")), {}),
    ("python open(p) + close: opened, not read", {"in.txt": "never read\n"},
     [PY, "-c", "open('in.txt').close()"],
     dict(), {"opened": S("in.txt")}),
    ("python open(p, 'w') of a non-empty and an empty file", {"full.txt": "data\n", "empty.txt": ""},
     [PY, "-c", "open('full.txt', 'w').close(); open('empty.txt', 'w').close()"],
     dict(written=S("full.txt")), {}),
    ("python mmap read", {"in.txt": "mapped data\n"},
     [PY, "-c", "import mmap\nf = open('in.txt', 'rb')\n"
      "m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)\nassert m[:6] == b'mapped'"],
     dict(read=S("in.txt")), {"edges": [("file:in.txt", f"proc:{PYN}", "mmap", 0)]}),
    ("python O_RDWR|O_TRUNC + mmap write: never an input", {"np.bin": "old content\n"},
     [PY, "-c", "import mmap, os\nfd = os.open('np.bin', os.O_RDWR | os.O_CREAT | os.O_TRUNC)\n"
      "os.ftruncate(fd, 4096)\nm = mmap.mmap(fd, 4096)\nm[:5] = b'hello'\nassert m[:5] == b'hello'\n"
      "m.close()\nos.lseek(fd, 0, 0)\nassert os.read(fd, 5) == b'hello'"],
     dict(written=S("np.bin")), {}),
    ("sed -i (rename into place)", {"in.txt": "hello\n"}, ["sed", "-i", "s/hello/bye/", "in.txt"],
     dict(read=S("in.txt"), written=S("in.txt")), {"origin": ("in.txt", "sed")}),
    ("python write temp + os.link + unlink", {},
     [PY, "-c", "import os\nwith open('.final.tmp', 'w') as f:\n    f.write('atomic')\n"
      "os.link('.final.tmp', 'final')\nos.unlink('.final.tmp')"],
     dict(written=S("final"), created=S("final")), {"origin": ("final", ".final.tmp")}),
    ("mkdir, mv, rm, rmdir", {"old.txt": "x"},
     ["sh", "-c", "mkdir d; echo x > d/f; mv d/f g; rm old.txt; rmdir d"],
     dict(written=S("g"), created=S("d", "g"), deleted=S("d", "old.txt")), {"origin": ("g", "d/f")}),
    ("truncate -s 0", {"big.txt": "xxxx"}, ["truncate", "-s", "0", "big.txt"],
     dict(written=S("big.txt")), {}),
    ("tar czf", {"in.txt": "tar me\n" * 1000}, ["tar", "czf", "out.tgz", "in.txt"],
     dict(read=S("in.txt"), written=S("out.tgz"), created=S("out.tgz")), {}),
    ("dd", {"in.txt": "dd me\n" * 1000}, ["dd", "if=in.txt", "of=out.txt", "status=none"],
     dict(read=S("in.txt"), written=S("out.txt"), created=S("out.txt")),
     {"bytes": {"in.txt": (6000, 0), "out.txt": (0, 6000)}}),
    ("tee", {"in.txt": "tee me\n"}, ["sh", "-c", "cat in.txt | tee t1 > t2"],
     dict(read=S("in.txt"), written=S("t1", "t2"), created=S("t1", "t2")),
     {"chain": ["file:t1", "proc:tee", "pipe", "proc:cat", "file:in.txt"]}),
    ("failed dup3(9999, 100) does not corrupt fd 100", {},
     [PY, "-c", "import os, ctypes\n"
      "fd = os.open('p', os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)\nos.dup2(fd, 100)\n"
      "assert ctypes.CDLL(None, use_errno=True).dup3(9999, 100, 0) == -1\n"
      "os.write(100, b'xyz')\nos.lseek(100, 0, 0)\nassert os.read(100, 3) == b'xyz'"],
     dict(written=S("p"), created=S("p")), {}),
    ("threaded reader", {"in.txt": "thread data\n"},
     [PY, "-c", "import threading\nt = threading.Thread(target=lambda: open('in.txt').read())\n"
      "t.start()\nt.join()"],
     dict(read=S("in.txt")), {"reader_is_root": True}),
    ("vfork + exec (posix_spawn)", {"in.txt": "spawned\n"},
     [PY, "-c", "import os\np = os.posix_spawn('/bin/sh', ['sh', '-c', 'tr a-z A-Z < in.txt > out.txt'],"
      " os.environ)\nos.waitpid(p, 0)"],
     dict(read=S("in.txt"), written=S("out.txt"), created=S("out.txt")),
     {"chain": ["file:out.txt", "proc:tr", "file:in.txt"]}),
    ("non-zero exit is propagated", {}, ["sh", "-c", "echo x > out; exit 3"],
     dict(written=S("out"), created=S("out")), {"rc": 3}),
    ("daemonizing child still writing after its parent exits", {},
     ["sh", "-c", "setsid sh -c 'sleep 1; echo late > late.txt' </dev/null >/dev/null 2>&1 &"
      " echo early > early.txt"],
     dict(written=S("early.txt", "late.txt"), created=S("early.txt", "late.txt")), {"daemon": True}),
]


class Graph:
    """The record's edges with nodes named relative to the test directory:
    file:RELATIVE (or file:ABSOLUTE outside it), proc:PROGRAM, pipe, ..."""

    def __init__(self, rec, root):
        self.root = root
        self.progs = {"process:%d" % p["pid"]: os.path.basename((p["argv"] or [p.get("exe") or "?"])[0])
                      for p in rec["processes"]}
        self.edges = rec["edges"]

    def label(self, node):
        if node.startswith("file:" + self.root + "/"):
            return "file:" + node[len(self.root) + 6:]
        if node.startswith("process:"):
            return "proc:" + self.progs.get(node, "?")
        if node.startswith("file:"):
            return node
        return node.split(":")[0]

    def labelled(self):
        return {(self.label(e["from"]), self.label(e["to"]), e["via"], e["bytes"]) for e in self.edges}

    def chain_back(self, start, limit=8):
        """From file:START back along data edges (no exec, no mmap, files
        only from the test directory) while each node has exactly one
        source; the labels on the way."""
        node, out = "file:" + os.path.join(self.root, start), []
        while node and len(out) < limit:
            out.append(self.label(node))
            srcs = {e["from"] for e in self.edges if e["to"] == node and e["via"] not in ("exec", "mmap")
                    and (not e["from"].startswith("file:") or e["from"].startswith("file:" + self.root + "/"))}
            node = srcs.pop() if len(srcs) == 1 else None
        return out


def main():
    t = Tap()
    w = Workdir()
    try:
        for name, files, cmd, want, opt in SCENARIOS:
            w.reset(files)
            before = file_sizes(w.path)
            rc, text, err, mode = run_lineage(cmd, w.path)
            try:
                rec = json.loads(text)
            except ValueError:
                t.ok(False, f"{name}: record is JSON", f"rc={rc} stderr={err}\n{text[:500]}")
                continue
            t.eq(schema_errors(rec), [], f"{name}: record valid against docs/lineage.schema.json")
            got = sets_of(rec, w.path)
            got = {k: got[k] for k in KINDS}
            t.eq(got, {k: want.get(k, set()) for k in KINDS}, f"{name}: exact read/written/created/deleted sets")
            t.ok(rc == opt.get("rc", 0) and rec["exit_code"] == opt.get("rc", 0) and
                 rec["dropped_events"] == 0,
                 f"{name}: exit code {opt.get('rc', 0)} (zcap and record), no dropped events",
                 f"rc={rc} exit_code={rec['exit_code']} dropped={rec['dropped_events']} {err}")
            g = Graph(rec, w.path)
            if opt.get("edges"):
                have = g.labelled()
                t.eq([e for e in opt["edges"] if e not in have], [], f"{name}: edges (from, to, via, bytes)")
            if opt.get("chain"):
                t.eq(g.chain_back(opt["chain"][0][5:]), opt["chain"], f"{name}: data path " +
                     " <- ".join(opt["chain"]))
            nbytes = {f: ((file_entry(rec, os.path.join(w.path, f)) or {}).get("bytes_read"),
                          (file_entry(rec, os.path.join(w.path, f)) or {}).get("bytes_written"))
                      for f in opt.get("bytes", {})}
            if opt.get("bytes"):
                t.eq(nbytes, opt["bytes"], f"{name}: bytes_read/bytes_written")
            if opt.get("opened"):
                ent = {f: file_entry(rec, os.path.join(w.path, f)) or {} for f in opt["opened"]}
                t.ok(all(e.get("opened") and not e.get("read") and e.get("bytes_read") == 0 for e in ent.values()),
                     f"{name}: {sorted(opt['opened'])} opened, not read", ent)
            if opt.get("daemon"):
                t.ok(os.path.exists(os.path.join(w.path, "late.txt")),
                     f"{name}: zcap returned only after the daemon wrote")
            if opt.get("origin"):
                final, tmp = opt["origin"]
                f = file_entry(rec, os.path.join(w.path, final))
                origin = (f or {}).get("origin") or ""
                t.ok(origin.startswith(os.path.join(w.path, tmp)),
                     f"{name}: {final} records its temporary as origin", f"origin={origin!r}")
            if opt.get("reader_is_root"):
                f = file_entry(rec, os.path.join(w.path, "in.txt"))
                root_pid = rec["processes"][0]["pid"]
                t.eq((f or {}).get("readers"), [root_pid], f"{name}: the reader is the process")
            # the oracle, on the same starting files
            w.reset(files)
            src, log = run_strace(cmd, w.path)
            o = oracle(log, w.path, before)
            t.eq(got, {k: o[k] for k in KINDS}, f"{name}: read/written/created/deleted agree with strace -f -y")
            if opt.get("bytes"):
                t.eq(nbytes, {f: (o["bytes_read"].get(f, 0), o["bytes_written"].get(f, 0)) for f in opt["bytes"]},
                     f"{name}: byte counts agree with strace -f -y")
    finally:
        w.cleanup()
    t.done()


main()
