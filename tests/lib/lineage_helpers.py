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
    """Minimal TAP producer: plan up front, ok/not ok, diagnostics. No TODO
    and no SKIP: a check that cannot run here is a failure."""

    def __init__(self, plan=None):
        self.n = 0
        self.failed = 0
        self.plan = plan
        if plan is not None:
            print(f"1..{plan}", flush=True)

    def diag(self, msg):
        for d in str(msg).splitlines():
            print(f"# {d}", flush=True)

    def ok(self, cond, name, diag=None):
        self.n += 1
        print(f"{'ok' if cond else 'not ok'} {self.n} - {name}", flush=True)
        if not cond and diag is not None:
            for d in str(diag).splitlines():
                print(f"#   {d}", flush=True)
        if not cond:
            self.failed += 1
        return cond

    def eq(self, got, want, name):
        return self.ok(got == want, name, f"got:  {got!r}\nwant: {want!r}")

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


_SCHEMA = []


def schema_errors(record):
    """Messages of every violation of docs/lineage.schema.json by a native record."""
    import jsonschema  # python3-jsonschema (make deps)
    if not _SCHEMA:
        with open(os.path.join(ROOT, "docs", "lineage.schema.json")) as f:
            _SCHEMA.append(jsonschema.Draft202012Validator(json.load(f)))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _SCHEMA[0].iter_errors(record)]


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


def at_path(dirarg, name, root):
    """Absolute, normalized path of name relative to a strace -y dirfd
    argument ("AT_FDCWD</dir>", "3</dir>") or, without one, to root (the
    tests run their commands there)."""
    name = unquote(name)
    m = re.match(r"^(?:AT_FDCWD|-?\d+)<([^>]*)>$", dirarg or "")
    base = m.group(1) if m else root
    return os.path.normpath(name if name.startswith("/") else os.path.join(base, name))


def oracle(log, root, before):
    """The lineage sets and byte counts by the rules of docs/lineage.md,
    derived from an strace -f -y log alone.

    before: {absolute path: size} of every file and directory under root
    before the run (size None for directories). O_TRUNC of a non-empty file
    is a write; per-process fd tables follow fork/dup so that reads through
    an O_TRUNC fd are not inputs; existence is tracked through the run so
    that "created" means the call made the path; a temporary the run
    created and renamed, or linked and unlinked, into place is not listed.
    Returns {read, written, created, deleted: set of paths relative to
    root, bytes_read, bytes_written: {relative path: n}}."""
    trunc = {}   # pid -> {fd: opened with O_TRUNC}
    read, written, created, deleted = set(), set(), set(), set()
    nread, nwritten = {}, {}
    moved, linked, removed = set(), set(), set()
    exists = set(before)

    def table(pid):
        return trunc.setdefault(pid, {})

    def make(path):
        if path not in exists:
            created.add(path)
        exists.add(path)
        deleted.discard(path)

    def remove(path):
        exists.discard(path)
        deleted.add(path)

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
            if ("O_CREAT" in flags or name == "creat") and retpath.startswith("/"):
                make(retpath)
            if is_trunc and (before.get(retpath) or 0) > 0 and retpath not in created:
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
                nread[path] = nread.get(path, 0) + ret
        elif name in WRITES and ret > 0:
            fd, path = fd_path(a[0])
            if path and path.startswith("/"):
                written.add(path)
                nwritten[path] = nwritten.get(path, 0) + ret
        elif name == "mmap" and ret != -1 and len(a) >= 5:
            fd, path = fd_path(a[4])
            if not path or not path.startswith("/"):
                continue
            if "PROT_READ" in a[2] and not table(pid).get(fd, False):
                read.add(path)
            if "PROT_WRITE" in a[2] and "MAP_SHARED" in a[3]:
                written.add(path)
        elif name in XFERS and ret > 0:
            if name.startswith("sendfile"):
                _, dst = fd_path(a[0])
                _, src = fd_path(a[1])
            else:  # splice, copy_file_range: (in, off_in, out, off_out, ...)
                _, src = fd_path(a[0])
                _, dst = fd_path(a[2])
            if src and src.startswith("/"):
                read.add(src)
                nread[src] = nread.get(src, 0) + ret
            if dst and dst.startswith("/"):
                written.add(dst)
                nwritten[dst] = nwritten.get(dst, 0) + ret
        elif name in ("ftruncate", "truncate") and ret == 0:
            path = fd_path(a[0])[1] if name == "ftruncate" else at_path(None, a[0], root)
            if path:
                written.add(path)
        elif name in ("mkdir", "mkdirat") and ret == 0:
            make(at_path(a[0], a[1], root) if name == "mkdirat" else at_path(None, a[0], root))
        elif name in ("rename", "renameat", "renameat2", "link", "linkat") and ret == 0:
            if name in ("rename", "link"):
                src, dst = at_path(None, a[0], root), at_path(None, a[1], root)
            else:
                src, dst = at_path(a[0], a[1], root), at_path(a[2], a[3], root)
            if src in written:
                written.add(dst)
            if name.startswith("rename"):
                moved.add(src)
                exists.discard(src)
                if src in before:
                    deleted.add(src)  # a pre-existing file renamed away
                if src in created:
                    make(dst)  # a file the run made, renamed onto a new path
                else:
                    exists.add(dst)
            else:
                linked.add(src)
                make(dst)
        elif name in ("unlink", "unlinkat", "rmdir") and ret == 0:
            path = at_path(a[0], a[1], root) if name == "unlinkat" else at_path(None, a[0], root)
            removed.add(path)
            remove(path)
        elif name == "close":
            fd, _ = fd_path(a[0])
            table(pid).pop(fd, None)
    temps = {p for p in moved | (linked & removed) if p not in before}

    def rel(paths):
        return {p[len(root) + 1:] for p in paths - temps if p.startswith(root + "/")}

    def relmap(m):
        return {p[len(root) + 1:]: n for p, n in m.items() if p not in temps and p.startswith(root + "/")}

    return dict(read=rel(read), written=rel(written), created=rel(created), deleted=rel(deleted),
                bytes_read=relmap(nread), bytes_written=relmap(nwritten))


def file_sizes(root):
    """{absolute path: size} of every file under root, directories with size None."""
    out = {}
    for dirpath, dirs, names in os.walk(root):
        for n in dirs:
            out[os.path.join(dirpath, n)] = None
        for n in names:
            p = os.path.join(dirpath, n)
            if os.path.isfile(p):
                out[p] = os.path.getsize(p)
    return out


# ---- OpenLineage: the schemas kept under tests/openlineage/ -------------------

def ol_schemas():
    """The OpenLineage schemas kept under tests/openlineage/, by $id."""
    store = {}
    for dirpath, _, names in os.walk(os.path.join(ROOT, "tests", "openlineage")):
        for n in names:
            if n.endswith(".json"):
                with open(os.path.join(dirpath, n)) as f:
                    doc = json.load(f)
                store[doc["$id"]] = doc
    return store


def ol_validator(schema, store):
    """A draft 2020-12 validator resolving $refs from store only (offline):
    the `referencing` registry on jsonschema >= 4.18, RefResolver before."""
    import jsonschema
    fc = jsonschema.FormatChecker()
    try:
        from referencing import Registry, Resource
    except ImportError:
        resolver = jsonschema.RefResolver.from_schema(schema, store=store)
        return jsonschema.Draft202012Validator(schema, resolver=resolver, format_checker=fc)
    registry = Registry().with_resources((u, Resource.from_contents(d)) for u, d in store.items())
    return jsonschema.Draft202012Validator(schema, registry=registry, format_checker=fc)


def facets_of(ev):
    """(where, facet) for every facet in a RunEvent."""
    yield from ((f"run.facets.{k}", v) for k, v in ev["run"].get("facets", {}).items())
    yield from ((f"job.facets.{k}", v) for k, v in ev["job"].get("facets", {}).items())
    for side in ("inputs", "outputs"):
        for d in ev.get(side, []):
            for group in ("facets", "inputFacets", "outputFacets"):
                yield from ((f"{side}[{d['name']}].{group}.{k}", v) for k, v in d.get(group, {}).items())


def ol_core_errors(events, store):
    """How the RunEvents break the OpenLineage 2-0-2 schema ([] if not)."""
    core = ol_validator(store["https://openlineage.io/spec/2-0-2/OpenLineage.json"], store)
    return [f"{i}: {e.message}" for i, ev in enumerate(events) for e in core.iter_errors(ev)]


def ol_facet_errors(events, store, used=None):
    """How the standard facets break their own published schemas, named by
    their _schemaURL ([] if not); the URLs checked are added to used."""
    errs = []
    for i, ev in enumerate(events):
        for where, fc in facets_of(ev):
            url = fc.get("_schemaURL", "")
            if url.startswith("urn:zcap:"):
                continue  # zcap's own facet: no published schema
            if url.split("#")[0] not in store:
                errs.append(f"{i} {where}: schema {url} not kept under tests/openlineage/")
                continue
            if used is not None:
                used.add(url)
            errs += [f"{i} {where}: {e.message}" for e in ol_validator({"$ref": url}, store).iter_errors(fc)]
    return errs


def ol_errors(events):
    """Every way the RunEvents break the OpenLineage schemas; [] when all
    are valid."""
    store = ol_schemas()
    return ol_core_errors(events, store) + ol_facet_errors(events, store)
