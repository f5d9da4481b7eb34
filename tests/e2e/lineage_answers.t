#!/usr/bin/python3
"""zcap lineage: answers that were wrong once (issue 12), each with exact expectations.

A file unlinked while open and written; symlinks made by tar and symlinkat;
os.replace onto an existing target (OVERWRITE, not CREATE); SIGINT to zcap
while CMD runs (interrupted, no exit code); O_TMPFILE published through
linkat("/proc/self/fd/N", AT_SYMLINK_FOLLOW).
"""
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from lineage_helpers import ZCAP, Tap, Workdir, file_entry, run_lineage, schema_errors  # noqa: E402

t = Tap()
w = Workdir()
root = os.path.realpath(w.path)


def record(cmd, fmt="json", files=None, want_rc=0):
    w.reset(files or {})
    rc, text, err, _ = run_lineage(cmd, root, fmt=fmt)
    t.eq(rc, want_rc, f"{cmd[-1][:40]!r}: zcap exits {want_rc} ({err.strip()[:200]})")
    if fmt != "json":
        return [json.loads(line) for line in text.splitlines()]
    rec = json.loads(text)
    t.eq(schema_errors(rec), [], "record matches docs/lineage.schema.json")
    return rec


def entry(rec, rel):
    f = file_entry(rec, os.path.join(root, rel))
    t.ok(f is not None, f"{rel} is in files")
    return f or {}


def flags(f):
    return {k: f.get(k) for k in ("kind", "created", "written", "deleted", "read", "sha256_after",
                                  "link_target", "origin")}


# ---- 1. unlinked while open, then written ------------------------------------
rec = record(["python3", "-c",
              "import os\n"
              "fd = os.open('gone.txt', os.O_CREAT | os.O_WRONLY, 0o644)\n"
              "os.unlink('gone.txt')\n"
              "os.write(fd, b'written after unlink\\n')\n"
              "os.close(fd)\n"])
f = entry(rec, "gone.txt")
t.eq(flags(f), {"kind": "file", "created": True, "written": True, "deleted": True, "read": False,
                "sha256_after": None, "link_target": None, "origin": None},
     "unlinked-then-written file: created, written, deleted, no sha256_after")
t.eq(f.get("bytes_written"), 21, "its bytes_written")

# ---- 2. symlinks: tar xzf of src/link -> a.txt, and symlinkat ----------------
src = tempfile.mkdtemp(prefix="zcap-lin-tar.")
os.mkdir(os.path.join(src, "src"))
with open(os.path.join(src, "src", "a.txt"), "w") as fh:
    fh.write("hello\n")
os.symlink("a.txt", os.path.join(src, "src", "link"))
tgz = os.path.join(src, "arc.tgz")
subprocess.run(["tar", "czf", tgz, "-C", src, "src"], check=True)
with open(tgz, "rb") as fh:
    archive = fh.read()
rec = record(["sh", "-c", "tar xzf arc.tgz && python3 -c \"import os; "
              "d = os.open('.', os.O_DIRECTORY); os.symlink('../no/such', 'dangling', dir_fd=d)\""],
             files={"arc.tgz": archive})
t.eq(flags(entry(rec, "src/link")),
     {"kind": "symlink", "created": True, "written": False, "deleted": False, "read": False,
      "sha256_after": None, "link_target": "a.txt", "origin": None},
     "tar's symlink src/link: kind symlink, created, target a.txt")
t.eq(flags(entry(rec, "dangling")),
     {"kind": "symlink", "created": True, "written": False, "deleted": False, "read": False,
      "sha256_after": None, "link_target": "../no/such", "origin": None},
     "symlinkat(dirfd) dangling link: kind symlink, target as given")
t.eq(os.readlink(os.path.join(root, "src", "link")), "a.txt", "(tar made the link)")
a = entry(rec, "src/a.txt")
t.eq((a.get("kind"), a.get("created"), a.get("written"), a.get("link_target")),
     ("file", True, True, None), "src/a.txt is a created, written file")

# ---- 3. os.replace onto an existing target ---------------------------------
replace = ("import os\n"
           "with open('target.tmp', 'w') as f:\n"
           "    f.write('new content\\n')\n"
           "os.replace('target.tmp', 'target')\n"
           "with open('fresh.tmp', 'w') as f:\n"
           "    f.write('fresh\\n')\n"
           "os.replace('fresh.tmp', 'fresh')\n")
files = {"target": "old content that is replaced\n", "empty": ""}
rec = record(["python3", "-c", replace], files=files)
f = entry(rec, "target")
t.eq(flags(f), {"kind": "file", "created": False, "written": True, "deleted": False, "read": False,
                "sha256_after": hashlib.sha256(b"new content\n").hexdigest(),
                "link_target": None, "origin": os.path.join(root, "target.tmp")},
     "replaced target: written, not created, origin the temporary")
t.eq((entry(rec, "fresh").get("created"), entry(rec, "fresh").get("written")), (True, True),
     "renamed onto a new name: created")
t.eq(file_entry(rec, os.path.join(root, "target.tmp")), None, "the temporary is folded in")
events = record(["python3", "-c", replace], fmt="openlineage", files=files)
life = {}
for ev in events:
    for d in ev["outputs"]:
        if d["name"] in (os.path.join(root, "target"), os.path.join(root, "fresh")):
            life[os.path.basename(d["name"])] = d["facets"]["lifecycleStateChange"]["lifecycleStateChange"]
t.eq(life, {"target": "OVERWRITE", "fresh": "CREATE"}, "OpenLineage lifecycle: OVERWRITE vs CREATE")
# an empty existing target (nothing cached to discard) on this file system
rec = record(["python3", "-c", "import os\nopen('e.tmp', 'w').write('x')\nos.replace('e.tmp', 'empty')\n"],
             files=files)
t.eq(entry(rec, "empty").get("created"), False, "replacing an existing empty file: not created")

# ---- 4. O_TMPFILE published with linkat("/proc/self/fd/N", AT_SYMLINK_FOLLOW) ----
rec = record(["python3", "-c",
              "import os\n"
              "d = os.open('.', os.O_DIRECTORY)\n"
              "fd = os.open('.', os.O_TMPFILE | os.O_WRONLY, 0o644)\n"
              "os.write(fd, b'published\\n')\n"
              "os.link('/proc/self/fd/%d' % fd, 'out.txt', dst_dir_fd=d, follow_symlinks=True)\n"
              "os.close(fd)\n"])
f = entry(rec, "out.txt")
t.eq(flags(f), {"kind": "file", "created": True, "written": True, "deleted": False, "read": False,
                "sha256_after": hashlib.sha256(b"published\n").hexdigest(), "link_target": None,
                "origin": None}, "O_TMPFILE linked via /proc/self/fd: created, written, hashed")
t.eq(f.get("bytes_written"), 10, "its bytes_written")
t.eq([x["path"] for x in rec["files"] if x["path"].startswith(root + "/")], [os.path.join(root, "out.txt")],
     "no /proc/self/fd or #INO entry under the directory")

# ---- 5. SIGINT to zcap while CMD still runs --------------------------------
w.reset({})
out = os.path.join(root, "..", os.path.basename(root) + ".sigint.json")
p = subprocess.Popen([ZCAP, "lineage", "-o", out, "--", "sh", "-c", "echo up > ready; exec sleep 600"],
                     cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)  # CMD keeps pipes open: no pipes
while not os.path.exists(os.path.join(root, "ready")) and p.poll() is None:
    time.sleep(0.05)  # waiting for CMD to start, not timing anything
p.send_signal(signal.SIGINT)
p.wait(timeout=60)
t.eq(p.returncode, 130, "zcap stopped by SIGINT exits 130")
with open(out) as fh:
    rec = json.load(fh)
os.unlink(out)
t.eq(schema_errors(rec), [], "interrupted record matches the schema")
t.eq((rec["interrupted"], rec["stop_signal"], rec["exit_code"]), (True, 2, None),
     "record: interrupted by signal 2, no top-level exit_code")
t.eq(rec["processes"][0]["exit_code"], None, "CMD's own exit_code null: it still runs")
cmd_pid = rec["processes"][0]["pid"]
try:
    with open(f"/proc/{cmd_pid}/cmdline", "rb") as fh:
        alive = fh.read().split(b"\0")[0] == b"sleep"
    os.kill(cmd_pid, signal.SIGKILL)
except OSError:
    alive = False
t.ok(alive, "CMD (sleep) was indeed still running")
rec = record(["sh", "-c", "exit 3"], want_rc=3)
t.eq((rec["interrupted"], rec["stop_signal"], rec["exit_code"]), (False, None, 3),
     "a run that ends: not interrupted, CMD's exit code")

w.cleanup()
subprocess.run(["rm", "-rf", src])
t.done()
