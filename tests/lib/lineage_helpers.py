"""Helpers for the `zcap lineage` end-to-end tests (tests/e2e/lineage*.t).

TAP output, running `zcap lineage`, reducing its record to per-file sets,
and an independent oracle: the same command under `strace -f -y`, whose
log is reduced to the same sets by the rules of docs/lineage.md.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ZCAP = os.path.abspath(os.environ.get("ZCAP", os.path.join(ROOT, "build", "zcap")))


class Tap:
    """Minimal TAP producer: plan up front, ok/not ok, diagnostics."""

    def __init__(self, plan=None):
        self.n = 0
        self.failed = 0
        self.plan = plan
        if plan is not None:
            print(f"1..{plan}", flush=True)

    def diag(self, msg):
        for d in str(msg).splitlines():
            print(f"# {d}", flush=True)

    def ok(self, cond, name, diag=None, todo=None):
        self.n += 1
        line = f"{'ok' if cond else 'not ok'} {self.n} - {name}"
        if todo:
            line += f" # TODO {todo}"
        print(line, flush=True)
        if not cond and diag is not None:
            for d in str(diag).splitlines():
                print(f"#   {d}", flush=True)
        if not cond and not todo:
            self.failed += 1
        return cond

    def eq(self, got, want, name, todo=None):
        return self.ok(got == want, name, f"got:  {got!r}\nwant: {want!r}", todo)

    def skip(self, name, why):
        self.n += 1
        print(f"ok {self.n} - {name} # SKIP {why}", flush=True)

    def done(self):
        if self.plan is None:
            print(f"1..{self.n}", flush=True)
        sys.exit(1 if self.failed else 0)


class Workdir:
    """A fresh directory per scenario; setup() rebuilds its files so the
    zcap run and the strace run start from the same state."""

    def __init__(self, base=None):
        self.path = tempfile.mkdtemp(prefix="zcap-lin.", dir=base)

    def reset(self, files):
        for name in os.listdir(self.path):
            p = os.path.join(self.path, name)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            else:
                os.unlink(p)
        for name, content in files.items():
            with open(os.path.join(self.path, name), "wb") as f:
                f.write(content if isinstance(content, bytes) else content.encode())

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


def run_lineage(cmd, cwd, fmt="json", extra=(), timeout=60, stdin=None):
    """Run `zcap lineage` on cmd (a list); returns (rc, text of the record, stderr)."""
    fd, out = tempfile.mkstemp(prefix="zcap-lin-out.", suffix="." + fmt)
    os.close(fd)
    try:
        p = subprocess.run([ZCAP, "lineage", "-o", out, "--format", fmt, *extra, "--", *cmd],
                           cwd=cwd, capture_output=True, timeout=timeout,
                           stdin=stdin if stdin is not None else subprocess.DEVNULL)
        with open(out) as f:
            text = f.read()
        mode = os.stat(out).st_mode & 0o777
    finally:
        os.unlink(out)
    return p.returncode, text, p.stderr.decode(errors="replace"), mode


FLAGS = ("read", "written", "created", "deleted", "executed")


def sets_of(record, root):
    """{flag: set of paths relative to root} for files under root."""
    out = {k: set() for k in FLAGS}
    for f in record["files"]:
        if not f["path"].startswith(root + "/"):
            continue
        rel = f["path"][len(root) + 1:]
        for k in FLAGS:
            if f[k]:
                out[k].add(rel)
    return out


def file_entry(record, path):
    for f in record["files"]:
        if f["path"] == path:
            return f
    return None


# ---- strace oracle -----------------------------------------------------------

READS = {"read", "pread64", "readv", "preadv", "preadv2", "recvfrom", "recvmsg"}
WRITES = {"write", "pwrite64", "writev", "pwritev", "pwritev2", "sendto", "sendmsg"}
XFERS = {"sendfile", "sendfile64", "splice", "copy_file_range"}
LINE = re.compile(r"^(\d+)\s+(.*)$")
CALL = re.compile(r"^(\w+)\((.*)\)\s+=\s+(-?\d+|0x[0-9a-fA-F]+|\?)(<[^>]*>)?")
FDPATH = re.compile(r"(-?\d+)<([^>]*)>")


def strace_lines(log):
    """Whole calls "pid name(args) = ret", with <unfinished ...> / <... resumed>
    pairs of concurrent processes joined."""
    pending = {}
    for raw in log.splitlines():
        m = LINE.match(raw)
        if not m:
            continue
        pid, rest = int(m.group(1)), m.group(2)
        if rest.endswith("<unfinished ...>"):
            pending[pid] = rest[: -len("<unfinished ...>")].rstrip()
            continue
        r = re.match(r"^<\.\.\. (\w+) resumed>(.*)$", rest)
        if r:
            rest = pending.pop(pid, r.group(1) + "(") + r.group(2)
        c = CALL.match(rest)
        if c:
            ret = c.group(3)
            try:
                ret = int(ret, 0)
            except ValueError:  # "?" or an octal umask such as 022
                ret = int(ret, 8) if ret.isdigit() else -1
            yield pid, c.group(1), c.group(2), ret, (c.group(4) or "")[1:-1]


def split_args(args):
    """Top-level comma split of a strace argument list (strings, {} and [] kept whole)."""
    out, depth, cur, q = [], 0, "", False
    i = 0
    while i < len(args):
        ch = args[i]
        if q:
            cur += ch
            if ch == "\\" and i + 1 < len(args):
                cur += args[i + 1]
                i += 1
            elif ch == '"':
                q = False
        elif ch == '"':
            q = True
            cur += ch
        elif ch in "[{(":
            depth += 1
            cur += ch
        elif ch in "]})":
            depth -= 1
            cur += ch
        elif ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
        i += 1
    if cur.strip():
        out.append(cur.strip())
    return out


def fd_path(arg):
    m = FDPATH.match(arg)
    return (int(m.group(1)), m.group(2)) if m else (None, None)


def unquote(s):
    return s[1:-1] if len(s) >= 2 and s[0] == '"' and s[-1] == '"' else s


def run_strace(cmd, cwd, timeout=60):
    fd, log = tempfile.mkstemp(prefix="zcap-lin-strace.")
    os.close(fd)
    try:
        p = subprocess.run(["strace", "-f", "-y", "-qq", "-s", "0", "-o", log, "--", *cmd],
                           cwd=cwd, capture_output=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        with open(log) as f:
            text = f.read()
    finally:
        os.unlink(log)
    return p.returncode, text


def oracle_sets(log, root, sizes_before):
    """The read/written sets by the lineage rules, from an strace -f -y log.
    sizes_before: {absolute path: size} of the files before the run (O_TRUNC
    of a non-empty file is a write; a temporary the run created and renamed
    or linked-then-removed into place is not listed). Per-process fd tables
    follow fork/dup so that reads through an O_TRUNC fd are not inputs."""
    trunc = {}   # pid -> {fd: bool}
    read, written = set(), set()
    moved, linked, removed = set(), set(), set()
    nonempty_before = {p for p, n in sizes_before.items() if n > 0}

    def absolute(p):
        return os.path.normpath(p if p.startswith("/") else os.path.join(root, p))

    def table(pid):
        return trunc.setdefault(pid, {})

    for pid, name, args, ret, retpath in strace_lines(log):
        a = split_args(args)
        if name in ("clone", "clone3", "fork", "vfork") and ret > 0:
            shared = "CLONE_THREAD" in args or "CLONE_FILES" in args
            trunc[ret] = table(pid) if shared else dict(table(pid))
        elif name in ("openat", "open", "creat") and ret >= 0:
            flags = a[2] if name == "openat" else (a[1] if len(a) > 1 else "")
            is_trunc = "O_TRUNC" in flags or name == "creat"
            table(pid)[ret] = is_trunc
            # -y shows the opened file's path on the returned fd
            if is_trunc and retpath in nonempty_before:
                written.add(retpath)
        elif name in ("dup2", "dup3") and ret >= 0:
            old, _ = fd_path(a[0])
            table(pid)[ret] = table(pid).get(old, False)
        elif name in ("dup", "fcntl") and ret >= 0 and (name == "dup" or "F_DUPFD" in args):
            old, _ = fd_path(a[0])
            table(pid)[ret] = table(pid).get(old, False)
        elif name in READS and ret > 0:
            fd, path = fd_path(a[0])
            if path and path.startswith("/") and not table(pid).get(fd, False):
                read.add(path)
        elif name in WRITES and ret > 0:
            fd, path = fd_path(a[0])
            if path and path.startswith("/"):
                written.add(path)
        elif name == "mmap" and ret != -1 and len(a) >= 5:
            fd, path = fd_path(a[4])
            if not path or not path.startswith("/"):
                continue
            if "PROT_READ" in a[2] and not table(pid).get(fd, False):
                read.add(path)
            if "PROT_WRITE" in a[2] and "MAP_SHARED" in a[3]:
                written.add(path)
        elif name in XFERS and ret > 0:
            _, src = fd_path(a[0])
            _, dst = fd_path(a[2] if name in ("splice", "copy_file_range") else a[1])
            if name == "sendfile":
                _, dst = fd_path(a[0])
                _, src = fd_path(a[1])
            if src and src.startswith("/"):
                read.add(src)
            if dst and dst.startswith("/"):
                written.add(dst)
        elif name in ("ftruncate", "truncate") and ret == 0:
            _, path = fd_path(a[0]) if name == "ftruncate" else (None, unquote(a[0]))
            if path:
                written.add(path)
        elif name in ("rename", "renameat", "renameat2", "link", "linkat") and ret == 0:
            # relative names: the tests run in root
            src = absolute(unquote(a[0] if name in ("rename", "link") else a[1]))
            dst = absolute(unquote(a[1] if name in ("rename", "link") else a[3]))
            if src in written:
                written.add(dst)
            (moved if name.startswith("rename") else linked).add(src)
        elif name in ("unlink", "unlinkat") and ret == 0:
            removed.add(absolute(unquote(a[0] if name == "unlink" else a[1])))
        elif name in ("close",):
            fd, _ = fd_path(a[0])
            table(pid).pop(fd, None)
    temps = {p for p in moved | (linked & removed) if p not in sizes_before}
    rel = lambda s: {p[len(root) + 1:] for p in s - temps if p.startswith(root + "/")}
    return rel(read), rel(written)


def file_sizes(root):
    out = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = os.path.join(dirpath, n)
            if os.path.isfile(p):
                out[p] = os.path.getsize(p)
    return out


def have_xfer_events():
    """Does this zcap emit ZCAP_EV_XFER records (the zero-copy part)?"""
    d = tempfile.mkdtemp(prefix="zcap-lin-xfer.")
    try:
        src = os.path.join(d, "a")
        with open(src, "w") as f:
            f.write("x" * 100)
        p = subprocess.run([ZCAP, "record", "-q", "--json", "--", sys.executable, "-c",
                            f"import os; a=os.open('{src}',os.O_RDONLY); "
                            f"b=os.open('{d}/b',os.O_WRONLY|os.O_CREAT,0o600); "
                            "os.copy_file_range(a,b,100)"],
                           capture_output=True, timeout=60)
        return any(json.loads(line).get("type") == "xfer"
                   for line in p.stdout.decode().splitlines() if line.startswith("{"))
    except (OSError, ValueError, subprocess.SubprocessError):
        return False
    finally:
        shutil.rmtree(d, ignore_errors=True)
