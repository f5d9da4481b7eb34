"""What a zcap process holds in the kernel, and whether it let go after it
ended: BPF programs and links (by id, from /proc/PID/fdinfo, so other zcap
instances running at the same time do not count) and its child cgroup
(zcap-PID under the cgroup2 mount).

Maps are not listed with `bpftool map show`: opening a prog_array by id
while its owner exits leaks it on this kernel (6.18: prog_array_map_clear
takes a reference for work that is already queued), for every zcap on the
machine. A map outlives its process only through a program or a pin; the
programs are checked, and zcap pins nothing.

    held = Held(pid)          # then held.sample() while zcap runs
    ...zcap ends...
    left = held.left()        # {} when everything was released
"""
import json
import os
import subprocess
import time

KINDS = (("prog_id", "prog"), ("link_id", "link"))


def cgroup2_root():
    with open("/proc/mounts") as f:
        for line in f:
            parts = line.split()
            if len(parts) > 2 and parts[2] == "cgroup2":
                return parts[1]
    return None


def bpf_ids(pid):
    """{"prog": {ids}, "link": {ids}, "map": {ids}} held through pid's fds."""
    out = {kind: set() for _, kind in KINDS}
    d = "/proc/%d/fdinfo" % pid
    try:
        names = os.listdir(d)
    except OSError:
        return out
    for name in names:
        try:
            with open(os.path.join(d, name)) as f:
                text = f.read()
        except OSError:
            continue
        # a link's fdinfo names its program too: count it as the link's
        for line in text.splitlines():
            key, _, val = line.partition(":")
            for field, kind in KINDS:
                if key == field and val.strip().isdigit():
                    out[kind].add(int(val))
    return out


def live_ids():
    """Ids of every program and link the kernel has now."""
    out = {}
    for _, kind in KINDS:
        p = subprocess.run(["bpftool", "-j", kind, "show"], capture_output=True, text=True,
                           timeout=60)
        # an object freed while bpftool lists it shows up as an error entry
        out[kind] = {o["id"] for o in json.loads(p.stdout or "[]") if "id" in o}
    return out


class Held:
    """Kernel objects one zcap process held at some point."""

    def __init__(self, pid):
        self.pid = pid
        self.ids = {kind: set() for _, kind in KINDS}
        self.cgroup = None
        root = cgroup2_root()
        if root:
            self.cgroup = os.path.join(root, "zcap-%d" % pid)

    def sample(self):
        """Add what the process holds now; the number of programs."""
        for kind, ids in bpf_ids(self.pid).items():
            self.ids[kind] |= ids
        return len(self.ids["prog"])

    def left(self, timeout=20):
        """What is still there once the process is gone (waits up to
        timeout: the kernel frees programs and the cgroup reaper runs
        asynchronously). {} when nothing is."""
        deadline = time.monotonic() + timeout
        while True:
            live = live_ids()
            left = {k: sorted(self.ids[k] & live[k]) for k in self.ids if self.ids[k] & live[k]}
            if self.cgroup and os.path.exists(self.cgroup):
                left["cgroup"] = self.cgroup
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.2)
