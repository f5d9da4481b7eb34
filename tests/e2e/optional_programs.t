#!/usr/bin/python3
"""An optional BPF program that does not load on a kernel disables its own
feature only (user/loader.c): one warning line, everything else captured;
a required one that does not load fails the command with one line and no
output. ZCAP_TEST_BREAK_PROG makes the named program fail verification, as
a program needing a field or helper the kernel lacks would (on Debian's 6.1
and 6.12 io_uring lineage did exactly that before it was fixed)."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402


def zcap(args, work, brk):
    env = dict(os.environ, ZCAP_TEST_BREAK_PROG=brk)
    p = subprocess.run([zt.ZCAP] + args, cwd=work, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True,
                       timeout=zt.scaled(120))
    return p.returncode, p.stdout, p.stderr


def lineage_files(path, work):
    with open(path) as f:
        doc = json.load(f)
    return {(f["path"], tuple(sorted(k for k in ("read", "written", "created") if f.get(k))))
            for f in doc["files"] if f["path"].startswith(work + "/")}


def checks(work):
    with open(os.path.join(work, "in.txt"), "w") as f:
        f.write("pear\nfig\n")
    out = os.path.join(work, "l.json")
    want = {(os.path.join(work, "in.txt"), ("read",)),
            (os.path.join(work, "out.gz"), ("created", "written"))}
    pipeline = ["sh", "-c", "cat in.txt | gzip > out.gz"]

    for prog, feature in (("rtp_uring_complete", "io_uring lineage"),
                          ("rtp_folio_deleted", "detection of O_TRUNC on non-empty files")):
        if os.path.exists(os.path.join(work, "out.gz")):
            os.unlink(os.path.join(work, "out.gz"))
        rc, _, err = zcap(["lineage", "-o", out, "--"] + pipeline, work, prog)
        lines = err.splitlines()
        tap.ok(rc == 0 and lines == [
            "zcap: warning: %s disabled: its BPF program %s does not load on this kernel "
            "(Permission denied); everything else is captured" % (feature, prog)],
            "%s does not load: lineage runs, one warning naming %s" % (prog, feature), err)
        tap.is_(lineage_files(out, work) if rc == 0 else set(), want,
                "%s does not load: every other file is still reported, exactly" % prog)

    rc, jout, err = zcap(["doctor", "--json"], work, "rtp_uring_complete")
    try:
        doc = json.loads(jout)
    except ValueError:
        doc = {}
    tap.ok(rc == 0 and err == "" and doc.get("can_run") is True
           and doc["capture_programs"]["ok"] is True
           and doc["capture_programs"]["disabled"].startswith("io_uring lineage (rtp_uring_complete: ")
           and doc["io_uring_lineage"]["ok"] is False
           and len(doc["reduced"]) == 1
           and doc["reduced"][0].startswith("programs disabled: io_uring lineage (rtp_uring_complete: "),
           "doctor names the disabled feature, once in 'reduced'; zcap can still run", jout + err)

    os.unlink(out)
    rc, _, err = zcap(["lineage", "-o", out, "--", "true"], work, "sc_exit__read")
    tap.ok(rc == 1 and len(err.splitlines()) == 1
           and err.startswith("zcap: cannot load the syscalls BPF programs: ")
           and not os.path.exists(out) and not [n for n in os.listdir(work) if n.startswith(".zcap")],
           "a required program that does not load: exit 1, one line, no output", err)

    rc, _, err = zcap(["record", "-c", "1", "-o", "/dev/null", "--", "true"], work,
                      "rtp_uring_complete")
    tap.ok(rc == 0 and "warning" not in err, "record loads no lineage program: unaffected", err)
    return tap.done_testing()


if __name__ == "__main__":
    sys.exit(zt.in_workdir("zcap-optional-", checks))
