#!/usr/bin/python3
"""Outputs against a second, unprivileged user (uid 65534, a real process
through setpriv) who shares a sticky world-writable directory with root:

- `record -o FILE` / `.pcapng` into a file the attacker made and holds
  open: the capture goes to a new 0600 inode; the attacker's fd sees only
  its own bytes (issue 11, item 1);
- `lineage -o LINK`, LINK the attacker's symlink to a block device (a
  loop device) or a file: refused, exit 2, one line, the device and the
  file untouched; the block device named directly too (item 2);
- `lineage --user nobody` cannot make zcap hash a file it swapped in
  (`ln -sf /etc/shadow`), nor one it could not read (item 3);
- a failed start (`--send-hook kprobe`, no kprobes here) leaves an
  existing file as it was and no temporary (item 6);
- `-o FIFO` without a reader: a wait message, --duration and SIGINT
  honoured; lineage waits before CMD runs (item 8);
- ZCAP_TRACEFS_PATH: zcap unmounts the tracefs it mounted there (item 12).
"""
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ZCAP = os.path.abspath(os.environ.get("ZCAP") or os.path.join(ROOT, "build", "zcap"))
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
SECRET = b"hunter2-zcap-secret"
PLANTED = b"the attacker's own bytes\n"


def run(argv, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("timeout", 120)
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(argv, **kw)


def as_nobody(script):
    return run(NOBODY + ["sh", "-c", script], text=True)


def temporaries(d):
    return [n for n in os.listdir(d) if ".zcap-" in n]


def one_line(p):
    lines = p.stderr.decode(errors="replace").splitlines() if isinstance(p.stderr, bytes) \
        else p.stderr.splitlines()
    return lines


class Reader:
    """The attacker: opens FILE before zcap runs, reads it all afterwards."""

    def __init__(self, path, go):
        self.go = go
        self.proc = subprocess.Popen(
            NOBODY + ["sh", "-c", 'exec 3<"$1"; while [ ! -e "$2" ]; do sleep 0.05; done; '
                      'cat <&3', "sh", path, go], stdout=subprocess.PIPE)
        time.sleep(0.3)  # it has opened the file

    def read(self):
        open(self.go, "w").close()
        out = self.proc.communicate(timeout=30)[0]
        os.unlink(self.go)
        return out


def planted_file(d, name):
    path = os.path.join(d, name)
    p = as_nobody('printf "%s" > "%s"; chmod 666 "%s"' % (PLANTED.decode(), path, path))
    if p.returncode:
        tap.bail_out("nobody cannot write in %s: %s" % (d, p.stderr))
    return path


def attack_record(d):
    for name, extra in (("cap.txt", []), ("cap.json", ["--json"]), ("cap.pcapng", [])):
        path = planted_file(d, name)
        before = os.stat(path)
        spy = Reader(path, os.path.join(d, "go"))
        cmd = ["sh", "-c", "printf %s > /dev/null" % SECRET.decode()]
        if name.endswith(".pcapng"):
            # packets carry the secret: a TCP exchange on loopback
            cmd = [sys.executable, "-c",
                   "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); "
                   "c = socket.create_connection(s.getsockname()); a, _ = s.accept(); "
                   "c.sendall(%r); a.recv(100); c.close(); a.close()" % SECRET]
        p = run([ZCAP, "record", "-q", "-s", "0", "-o", path] + extra + ["--"] + cmd)
        stolen = spy.read()
        st = os.stat(path)
        with open(path, "rb") as f:
            data = f.read()
        tap.ok(p.returncode == 0 and stolen == PLANTED and SECRET in data,
               "record -o %s the attacker holds open: its fd reads only its own bytes, the "
               "capture is in the file" % name,
               "rc=%d stolen=%r secret in file: %s %s" % (p.returncode, stolen[:200],
                                                         SECRET in data, p.stderr[-300:]))
        tap.ok(st.st_ino != before.st_ino and st.st_uid == 0 and
               stat.S_IMODE(st.st_mode) == 0o600 and not temporaries(d),
               "record -o %s: a new inode, root's, 0600, no temporary left" % name,
               "ino %d -> %d uid %d mode %o tmp %r" % (before.st_ino, st.st_ino, st.st_uid,
                                                     stat.S_IMODE(st.st_mode), temporaries(d)))
        os.unlink(path)


def loop_device(work):
    img = os.path.join(work, "disk.img")
    with open(img, "wb") as f:
        f.truncate(1 << 20)
    p = run(["losetup", "-f", "--show", img], text=True)
    return img, p.stdout.strip() if p.returncode == 0 else None


def attack_lineage_link(d, work):
    img, dev = loop_device(work)
    if not dev:
        tap.skip("lineage -o a symlink to a loop device", "no loop device here")
        tap.skip("lineage -o a loop device", "no loop device here")
    else:
        try:
            link = os.path.join(d, "lin.json")
            as_nobody('ln -s "%s" "%s"' % (dev, link))
            p = run([ZCAP, "lineage", "-o", link, "--", "true"], text=True)
            run(["sync"])
            with open(img, "rb") as f:
                untouched = f.read() == bytes(1 << 20)
            lines = p.stderr.splitlines()
            tap.ok(p.returncode == 2 and len(lines) == 1 and "symbolic link" in lines[0] and
                   untouched and os.path.islink(link),
                   "lineage -o the attacker's symlink to %s: exit 2, one line, the device "
                   "untouched" % dev, "rc=%d %r untouched=%s" % (p.returncode, p.stderr,
                                                                  untouched))
            os.unlink(link)
            p = run([ZCAP, "lineage", "-o", dev, "--", "true"], text=True)
            with open(img, "rb") as f:
                untouched = f.read() == bytes(1 << 20)
            tap.ok(p.returncode == 2 and "block device" in p.stderr and untouched,
                   "lineage -o %s: a block device is refused, exit 2" % dev, p.stderr)
        finally:
            run(["losetup", "-d", dev])
    # a symlink to a file of root's: refused, the file as it was
    target = os.path.join(work, "roots-file")
    with open(target, "wb") as f:
        f.write(PLANTED)
    link = os.path.join(d, "lin2.json")
    as_nobody('ln -s "%s" "%s"' % (target, link))
    for cmd in (["lineage", "-o", link, "--", "true"], ["record", "-o", link, "--", "true"]):
        p = run([ZCAP] + cmd, text=True)
        with open(target, "rb") as f:
            same = f.read() == PLANTED
        tap.ok(p.returncode == 2 and len(p.stderr.splitlines()) == 1 and same,
               "%s -o the attacker's symlink to a file: exit 2, one line, the file untouched"
               % cmd[0], "rc=%d %r" % (p.returncode, p.stderr))
    os.unlink(link)


def lineage_record(d, argv, extra=()):
    out = os.path.join(d, "rec.json")
    p = run([ZCAP, "lineage", "-o", out] + list(extra) + ["--"] + argv, cwd=d, text=True)
    with open(out) as f:
        rec = json.load(f)
    os.unlink(out)
    return p, {f["path"]: f for f in rec["files"]}


def sha(data):
    return hashlib.sha256(data).hexdigest()


def attack_lineage_hash(d, work):
    with open("/etc/shadow", "rb") as f:
        shadow = sha(f.read())
    o = os.path.join(d, "o.txt")
    # the attack of the issue: write o.txt, then make it a symlink to /etc/shadow
    p, files = lineage_record(d, ["sh", "-c", "echo x > o.txt; ln -sf /etc/shadow o.txt"],
                              ["--user", "nobody"])
    got = files.get(o, {}).get("sha256_after")
    tap.ok(p.returncode == 0 and o in files and got is None,
           "lineage --user nobody, o.txt written then swapped for a symlink to /etc/shadow: "
           "no sha256_after", "rc=%d sha256_after=%r (shadow %s) %s"
           % (p.returncode, got, shadow[:12], p.stderr))
    os.unlink(o)
    # replaced by another file of its own: not the inode that was written
    p, files = lineage_record(d, ["sh", "-c", "echo x > o.txt; echo y > o2; mv -f o2 o.txt"],
                              ["--user", "nobody"])
    tap.ok(files.get(o, {}).get("sha256_after") in (None, sha(b"y\n")),
           "o.txt replaced by a rename: the hash, if any, is of what is there now and was "
           "written by the run", files.get(o))
    os.unlink(o)
    # the control: what was written is hashed
    p, files = lineage_record(d, ["sh", "-c", "echo x > o.txt"], ["--user", "nobody"])
    tap.is_(files.get(o, {}).get("sha256_after"), sha(b"x\n"),
            "lineage --user nobody, o.txt written: sha256_after is its content's")
    os.unlink(o)
    # a file nobody may not read, handed to CMD on an inherited fd
    secret = os.path.join(work, "root-only")
    with open(secret, "wb") as f:
        f.write(SECRET)
    os.chmod(secret, 0o600)
    for extra, want, what in ((["--user", "nobody"], None, "nobody cannot read it: no hash"),
                              ([], sha(SECRET), "without --user: hashed")):
        fd = os.open(secret, os.O_RDONLY)
        try:
            out = os.path.join(d, "rec.json")
            p = subprocess.run([ZCAP, "lineage", "-o", out] + extra +
                               ["--", "sh", "-c", "cat <&3 > /dev/null"], pass_fds=(fd,),
                               cwd=d, capture_output=True, text=True, timeout=120,
                               stdin=subprocess.DEVNULL,
                               preexec_fn=lambda: os.dup2(fd, 3))
        finally:
            os.close(fd)
        with open(out) as f:
            files = {x["path"]: x for x in json.load(f)["files"]}
        os.unlink(out)
        entry = files.get(secret, {})
        tap.ok(p.returncode == 0 and entry.get("read") and entry.get("sha256_before") == want,
               "a root-only file read through an inherited fd, %s" % what,
               "rc=%d %r %s" % (p.returncode, entry, p.stderr))


def failed_start(d):
    for name in ("f.txt", "f.json", "f.pcapng"):
        path = os.path.join(d, name)
        with open(path, "wb") as f:
            f.write(b"IMPORTANT\n")
        os.chmod(path, 0o644)
        ino = os.stat(path).st_ino
        p = run([ZCAP, "record", "-o", path, "--send-hook", "kprobe", "--", "true"], text=True)
        with open(path, "rb") as f:
            data = f.read()
        st = os.stat(path)
        tap.ok(p.returncode == 1 and data == b"IMPORTANT\n" and st.st_ino == ino and
               stat.S_IMODE(st.st_mode) == 0o644 and not temporaries(d),
               "a start that fails (--send-hook kprobe): %s untouched, no temporary, exit 1"
               % name, "rc=%d data=%r tmp=%r %s" % (p.returncode, data[:100], temporaries(d),
                                                  p.stderr))
        os.unlink(path)
        p = run([ZCAP, "record", "-o", path, "--send-hook", "kprobe", "--", "true"], text=True)
        tap.ok(p.returncode == 1 and not os.path.lexists(path) and not temporaries(d),
               "a start that fails: a new %s is not created" % name, p.stderr)


def interrupted(args):
    """zcap ARGS, SIGINT after a second: (the process, its stderr)."""
    z = subprocess.Popen([ZCAP] + args, stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    z.send_signal(signal.SIGINT)
    try:
        err = z.communicate(timeout=10)[1]
    except subprocess.TimeoutExpired:
        z.kill()
        err = z.communicate()[1]
    return z, err


def fifo(d):
    path = os.path.join(d, "fifo")
    os.mkfifo(path)
    t0 = time.monotonic()
    p = run([ZCAP, "record", "-o", path, "--duration", "1"], text=True, timeout=30)
    took = time.monotonic() - t0
    tap.ok(p.returncode == 1 and took < 10 and p.stderr.splitlines() == [
        "zcap: waiting for a reader of the FIFO '%s'" % path,
        "zcap: cannot write '%s': no reader opened the FIFO" % path],
        "-o FIFO without a reader, --duration 1: says it waits, gives up after the duration "
        "(%.1f s), exit 1" % took, "rc=%d %r" % (p.returncode, p.stderr))
    z, err = interrupted(["record", "-o", path])
    tap.ok(z.returncode == 1 and "Interrupted" not in err and
           err.endswith("no reader opened the FIFO\n"),
           "-o FIFO without a reader: SIGINT ends the wait, exit 1", "rc=%r %r"
           % (z.returncode, err))
    reader = subprocess.Popen(["cat", path], stdout=subprocess.PIPE)
    p = run([ZCAP, "record", "-q", "-o", path, "--", "sh", "-c", "echo fifo-ok > /dev/null"],
            timeout=60)
    got = reader.communicate(timeout=30)[0]
    tap.ok(p.returncode == 0 and b'"fifo-ok\\n"' in got,
           "-o FIFO with a reader: the reader gets the capture", p.stderr[-300:])
    marker = os.path.join(d, "ran")
    z, err = interrupted(["lineage", "-o", path, "--", "touch", marker])
    tap.ok(z.returncode == 1 and not os.path.exists(marker) and
           err.startswith("zcap: waiting for a reader of the FIFO"),
           "lineage -o FIFO without a reader: waits before CMD runs, SIGINT ends it, exit 1",
           "rc=%r ran=%s %r" % (z.returncode, os.path.exists(marker), err))
    os.unlink(path)


def tracefs_override(work):
    empty = os.path.join(work, "tracing")
    os.makedirs(empty)
    p = run([ZCAP, "record", "-q", "-o", "/dev/null", "--", "true"],
            env=dict(os.environ, ZCAP_TRACEFS_PATH=empty), text=True)
    with open("/proc/self/mounts") as f:
        left = [m for m in f.read().splitlines() if m.split()[1] == empty]
    tap.ok(p.returncode == 0 and not left,
           "ZCAP_TRACEFS_PATH=an empty dir: zcap mounts tracefs there and unmounts it at exit",
           "rc=%d left %r %s" % (p.returncode, left, p.stderr))
    for m in left:
        run(["umount", empty])


def main():
    tap.plan(6 + 4 + 5 + 6 + 4 + 1)
    work = tempfile.mkdtemp(prefix="zcap-safety-")
    os.chmod(work, 0o755)
    shared = os.path.join(work, "shared")  # like /tmp: sticky, world-writable
    os.makedirs(shared)
    os.chmod(shared, 0o1777)
    try:
        attack_record(shared)
        attack_lineage_link(shared, work)
        attack_lineage_hash(shared, work)
        failed_start(shared)
        fifo(shared)
        tracefs_override(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
