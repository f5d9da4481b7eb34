#!/usr/bin/python3
"""zcap doctor on this machine (the kernel 6.18 test VM).

The facts asserted are this VM's: no kprobe PMU (CONFIG_KPROBES off),
fentry refused at load (lockdown=integrity / BPF LSM), raw_tp, syscall tracepoints,
cgroup_skb at the cgroup2 root, ring buffers and bpf_loop all working, so
the send path falls back to the tcp:tcp_sendmsg_locked raw tracepoint.
"""
import json
import os
import subprocess
import sys

ZCAP = os.environ.get("ZCAP", "build/zcap")
TRACEFS = "/sys/kernel/tracing"
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
HOOKS = ["kprobe", "fentry", "raw_tp", "tracepoint", "cgroup_skb", "ringbuf", "bpf_loop"]
CHECKS = ["privileges", "BTF", "tracefs"] + HOOKS
# securityfs is not mounted on this VM: the mode is the floor its kernel
# config sets (CONFIG_LOCK_DOWN_KERNEL_FORCE_INTEGRITY=y)
LOCKDOWN = "integrity"
PRIV_FIX = "uid 65534, missing CAP_BPF, CAP_PERFMON, access to the root-only tracefs: run as root"


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        print(("ok" if cond else "not ok") + " %d - %s" % (self.n, name))
        if not cond:
            self.failed += 1
            if diag is not None:
                for line in str(diag).splitlines():
                    print("#   " + line)
        sys.stdout.flush()
        return cond

    def skip(self, name, why):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, name, why))


def run(args, prefix=()):
    p = subprocess.run(list(prefix) + [ZCAP] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def mounts():
    with open("/proc/mounts") as f:
        return [line.split() for line in f]


def tracefs_mounted():
    return any(m[1] == TRACEFS and m[2] == "tracefs" for m in mounts())


def cgroup2_root():
    return next(m[1] for m in mounts() if m[2] == "cgroup2")


def parse_report(out):
    """{check name: (status, detail)} from the text report's check lines."""
    checks = {}
    order = []
    for line in out.splitlines():
        if not line.startswith("  "):
            continue
        status, name, detail = (line[2:7].strip(), line[8:23].strip(), line[24:])
        checks[name] = (status, detail)
        order.append(name)
    return checks, order


def cgroup_root_programs():
    p = subprocess.run(["bpftool", "-j", "cgroup", "show", cgroup2_root()],
                       stdout=subprocess.PIPE, universal_newlines=True)
    return [e.get("name", "") for e in json.loads(p.stdout.strip() or "[]")]


def main():
    if not os.access(ZCAP, os.X_OK):
        # not a bail-out: that would stop the other scripts of the suite too
        print("1..1\nnot ok 1 - no zcap binary at %s (set ZCAP or run make)" % ZCAP)
        return 1
    t = Tap()
    print("1..18")
    uname = os.uname()
    cg2 = cgroup2_root()

    # --- as root, tracefs already mounted --------------------------------
    if not tracefs_mounted():
        subprocess.run(["mount", "-t", "tracefs", "nodev", TRACEFS], check=True)
    rc, out, err = run(["doctor"])
    lines = out.splitlines()
    t.ok(rc == 0 and err == "", "root: exit 0, nothing on stderr", "rc=%d\n%s" % (rc, err))
    t.ok(lines[:1] == ["zcap doctor: Linux %s %s, lockdown=%s" % (uname.release, uname.machine,
                                                                  LOCKDOWN)],
         "header names the kernel and its lockdown mode", out)
    checks, order = parse_report(out)
    t.ok(order == CHECKS, "one line per check, in order", order)
    want = {
        "privileges": ("ok", "root"),
        "BTF": ("ok", "/sys/kernel/btf/vmlinux"),
        "tracefs": ("ok", TRACEFS),
        "kprobe": ("no", "no kprobe PMU: kernel built without CONFIG_KPROBES"),
        "fentry": ("no", "load refused: Operation not permitted (lockdown=%s / BPF LSM)"
                   % LOCKDOWN),
        "raw_tp": ("ok", ""),
        "tracepoint": ("ok", ""),
        "cgroup_skb": ("ok", "cgroup2 at %s" % cg2),
        "ringbuf": ("ok", ""),
        "bpf_loop": ("ok", ""),
    }
    t.ok(checks == want, "every check has this machine's exact status and detail",
         "\n".join("%s: got %s want %s" % (k, checks.get(k), want[k])
                   for k in want if checks.get(k) != want[k]))
    tail = [
        "send hook kprobe: no: kprobe tcp_sendmsg_locked; "
        "attach kprobe/tcp_sendmsg_locked: No such file or directory",
        "send hook fentry: no: fentry tcp_sendmsg_locked; load: Operation not permitted",
        "send hook tracepoint: ok: raw_tp tcp_sendmsg_locked + sock_send_length; "
        "body self-test passed",
        "send path: tracepoint (raw_tp tcp_sendmsg_locked + sock_send_length)",
        "io_uring lineage: ok: raw_tp io_uring_complete (ctx, req, cqe)",
        "loops: bpf_loop",
        "capture programs: ok",
        "reduced here: nothing",
        "zcap can run here.",
    ]
    t.ok(lines[-len(tail):] == tail,
         "each send hook family tried with the body self-test; send path is the raw "
         "tracepoint; io_uring lineage and the capture programs load; zcap can run",
         "\n".join(lines[-len(tail):]))
    # a link detaches with the process; a plain attach would stay behind
    left = [n for n in cgroup_root_programs() if n.startswith("probe_")]
    t.ok(left == [], "cgroup_skb probe not left at the cgroup2 root", left)

    # --- --json: the same facts ------------------------------------------
    rc, jout, err = run(["doctor", "--json"])
    try:
        doc = json.loads(jout)
    except ValueError as e:
        doc = None
        t.ok(False, "--json parses", "%s\n%s" % (e, jout))
    else:
        t.ok(rc == 0 and err == "", "--json parses, exit 0", "rc=%d %s" % (rc, err))
    if doc is not None:
        got = {k: (v["status"], v["detail"]) for k, v in doc["checks"].items()}
        required = {k for k, v in doc["checks"].items() if v["required"]}
        t.ok(list(doc["checks"]) == CHECKS and got == want
             and required == {"privileges", "BTF", "tracefs", "raw_tp", "tracepoint",
                              "ringbuf"},
             "--json checks match the text report, required set exact", doc["checks"])
        t.ok(doc["kernel"] == {"sysname": "Linux", "release": uname.release,
                               "machine": uname.machine}
             and doc["send_path"] == "tracepoint"
             and doc["send_path_target"] == "raw_tp tcp_sendmsg_locked + sock_send_length"
             and doc["send_hooks_offered"] == ["tracepoint"]
             and doc["body_self_test"] == "passed"
             and {k: (v["attaches"], v["fires"], v["bytes_ok"])
                  for k, v in doc["send_hooks"].items()}
             == {"kprobe": (False, False, False), "fentry": (False, False, False),
                 "tracepoint": (True, True, True)}
             and doc["io_uring_lineage"]["ok"] is True and doc["loops"] == "bpf_loop"
             and doc["capture_programs"] == {"ok": True, "detail": "", "disabled": ""}
             and doc["reduced"] == []
             and doc["can_run"] is True and doc["lockdown"] == LOCKDOWN
             and doc["checks"]["tracefs"]["path"] == TRACEFS
             and doc["checks"]["tracefs"]["mounted_by_zcap"] is False
             and doc["checks"]["cgroup_skb"]["cgroup2"] == cg2,
             "--json kernel, send path, tracefs, cgroup2, can_run", jout)
    else:
        t.ok(False, "--json checks match the text report")
        t.ok(False, "--json kernel, send path, tracefs, cgroup2, can_run")

    # --- tracefs unmounted: doctor mounts it and says so -----------------
    um = subprocess.run(["umount", TRACEFS], stderr=subprocess.PIPE, universal_newlines=True)
    if um.returncode != 0:
        t.skip("doctor mounts tracefs again", "cannot unmount it: " + um.stderr.strip())
        t.skip("tracefs stays mounted for zcap", "not unmounted")
    else:
        was_gone = not tracefs_mounted()
        rc, out, err = run(["doctor"])
        checks, _ = parse_report(out)
        t.ok(was_gone and rc == 0
             and checks.get("tracefs") == ("ok", TRACEFS + " (mounted by zcap)")
             and checks.get("tracepoint") == ("ok", ""),
             "tracefs unmounted: doctor mounts it, says so, tracepoint ok", out + err)
        t.ok(tracefs_mounted(), "tracefs stays mounted for zcap")
    if not tracefs_mounted():
        subprocess.run(["mount", "-t", "tracefs", "nodev", TRACEFS])

    # --- -q ---------------------------------------------------------------
    rc, out, err = run(["doctor", "-q"])
    t.ok(rc == 0 and out == "" and err == "", "-q as root: exit 0, silent", repr((rc, out, err)))

    # --- not root ---------------------------------------------------------
    rc, out, err = run(["doctor"], NOBODY)
    checks, order = parse_report(out)
    t.ok(rc == 2 and err == "" and order == CHECKS
         and checks["privileges"] == ("no", PRIV_FIX)
         and all(checks[h] == ("--", "not checked (needs privileges)") for h in HOOKS)
         and checks["BTF"] == ("ok", "/sys/kernel/btf/vmlinux")
         and out.splitlines()[-1].startswith("zcap cannot run here"),
         "not root: exit 2, privileges line names the fix, nothing loaded", out + err)
    rc, out, err = run(["doctor", "-q"], NOBODY)
    t.ok(rc == 2 and out == "  no    privileges      %s\n" % PRIV_FIX,
         "not root, -q: exit 2 and only the privileges line", repr((rc, out, err)))
    rc, jout, err = run(["doctor", "--json"], NOBODY)
    try:
        doc = json.loads(jout)
        good = (rc == 2 and doc["can_run"] is False and doc["send_path"] is None
                and doc["checks"]["privileges"] == {"status": "no", "required": True,
                                                    "detail": PRIV_FIX}
                and all(doc["checks"][h]["status"] == "unknown" for h in HOOKS))
    except (ValueError, KeyError):
        good = False
    t.ok(good, "not root, --json: exit 2, can_run false, hooks unknown", jout + err)

    # --- bad usage: exit 2, one line ---------------------------------------
    for args, name in ((["doctor", "--bogus"], "unknown flag"),
                       (["doctor", "extra"], "stray argument")):
        rc, out, err = run(args)
        t.ok(rc == 2 and out == "" and len(err.splitlines()) == 1
             and err.startswith("zcap: doctor: "),
             "%s: exit 2 with one line on stderr" % name, repr((rc, out, err)))
    rc, out, err = run(["doctor", "--help"])
    t.ok(rc == 0 and "Usage: zcap doctor" in out and "--json" in out and "Exit status" in out,
         "--help teaches", out + err)

    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())
