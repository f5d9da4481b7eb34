#!/usr/bin/python3
"""zcap record under faults: the output disk fills up, the output pipe's
reader goes away, the traced process is killed mid-I/O, zcap itself gets
SIGINT/SIGTERM/SIGHUP at random moments or SIGKILL. Each time: the
documented exit code (README: 1 for an output error; 0, or 128+N with
`-- CMD` still running, for a stop; 141 when the reader of the output went
away while CMD runs), at most one clear `zcap:` line, an output file that is
valid up to its last whole block (after a kill -9, once zcap's guard has
cut back a block or line the kill cut), and nothing left in the kernel:
zcap's BPF programs, links and maps are gone and its zcap-PID cgroup is
removed."""
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402
import pcapng_helpers as ph  # noqa: E402
from leftovers import Held  # noqa: E402

ZCAP = ph.ZCAP
SIGNAL_ROUNDS = 6


class Trickle:
    """An HTTP server that answers every request with an endless body,
    8 KiB every 20 ms: a download that lasts until the client goes."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d/" % self.port
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    @staticmethod
    def _serve(c):
        try:
            c.recv(4096)
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
            while True:
                c.sendall(os.urandom(8192))
                time.sleep(0.02)
        except OSError:
            pass
        finally:
            c.close()

    def stop(self):
        self.sock.close()


class Zcap:
    """zcap record (or SUB) ARGS [-- CMD] in the background; records what it holds."""

    def __init__(self, args, cmd=None, stdout=subprocess.DEVNULL, sub="record"):
        argv = [ZCAP, sub] + [str(a) for a in args]
        if cmd:
            argv += ["--"] + [str(c) for c in cmd]
        self._err = tempfile.NamedTemporaryFile(prefix="zcap-faults-err-")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout,
                                     stderr=self._err)
        self.held = Held(self.proc.pid)
        self.rc = None

    def stderr(self):
        with open(self._err.name, errors="replace") as f:
            return f.read()

    def sample_until(self, cond, timeout=60):
        """Note what zcap holds until cond() (or zcap ended); cond's value."""
        deadline = time.monotonic() + timeout
        while True:
            self.held.sample()
            if cond() or self.proc.poll() is not None or time.monotonic() > deadline:
                return cond()
            time.sleep(0.02)

    def ready(self, timeout=60):
        return self.sample_until(lambda: ph.READY in self.stderr(), timeout)

    def wait(self, timeout=90):
        try:
            self.rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.rc = self.proc.wait()
            tap.diag("zcap did not end within %ss: killed" % timeout)
            self.rc = "timeout"
        return self.rc

    def signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait()

    def guard(self):
        """zcap's kill -9 guard (user/killguard.h), a child named zcap-guard."""
        for kid in ph.children(self.proc.pid):
            try:
                with open("/proc/%d/comm" % kid) as f:
                    if f.read().strip() == "zcap-guard":
                        return kid
            except OSError:
                pass
        return None

    def kill9(self):
        """kill -9 zcap; its return code once its guard, which cuts back a
        unit the kill cut, is gone too (None: zcap had no guard)."""
        guard = self.guard()
        rc = self.signal(signal.SIGKILL)
        deadline = time.monotonic() + 20
        while guard and time.monotonic() < deadline:
            try:
                with open("/proc/%d/stat" % guard) as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        break  # ended: reparented, not reaped yet
            except OSError:
                break
            time.sleep(0.005)
        return rc if guard else None


def error_lines(text):
    """stderr lines that are not the start line or a summary."""
    keep = []
    for line in text.splitlines():
        if line.startswith("zcap: capturing") or " records, " in line or \
                " packets (" in line:
            continue
        keep.append(line)
    return keep


def pcapng_valid(path):
    """(ok, number of packets, why): whole blocks only, SHB first, tshark
    reads every packet without complaint."""
    try:
        blocks = ph.pcapng_blocks(path)
    except (ph.HelperError, OSError) as e:
        return False, 0, str(e)
    n = sum(b["type"] == ph.BT_EPB for b in blocks)
    if not blocks or blocks[0]["type"] != ph.BT_SHB:
        return False, n, "no section header first"
    out, err = ph.tshark(path, [])
    if err:
        return False, n, "tshark: " + err
    if len(out.splitlines()) != n:
        return False, n, "tshark shows %d packets, the file has %d" % (len(out.splitlines()), n)
    return True, n, ""


def jsonl_valid(path, whole_last=True):
    """(ok, records, why): every line parses; with whole_last the file ends
    with a newline and the summary record (else a cut last line is allowed)."""
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    tail = lines.pop()  # after the last newline
    if tail and whole_last:
        return False, [], "ends in a partial line"
    recs = []
    for i, line in enumerate(lines):
        try:
            recs.append(json.loads(line))
        except ValueError as e:
            return False, recs, "line %d: %s" % (i + 1, e)
    if whole_last and (not recs or recs[-1].get("type") != "summary"):
        return False, recs, "no summary record at the end"
    return True, recs, ""


def whole_lines(path):
    """(ok, why): the file is empty or ends with a newline (no line cut)."""
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        return False, "ends in a partial line: %r" % data[-80:]
    return True, ""


def released(z, what):
    left = z.held.left()
    tap.ok(not left and z.held.ids["prog"],
           "%s: zcap's %d BPF programs and %d links released, no zcap-%d cgroup left"
           % (what, len(z.held.ids["prog"]), len(z.held.ids["link"]), z.proc.pid),
           "left: %r" % (left,))


def read_pid(path):
    """The pid a shell wrote with `echo $$ > path` (None until it has)."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None
    return int(text) if text.endswith("\n") else None


def kill_pidfile(path):
    pid = read_pid(path)
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def loop_cmd(pidfile, body):
    """A shell that records its pid, then runs body forever."""
    return ["sh", "-c", "echo $$ > %s; while :; do %s; done" % (pidfile, body)]


def disk_full(work, big_url):
    mnt = os.path.join(work, "small")
    os.makedirs(mnt)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt], check=True)
    try:
        for name, args in (("x.pcapng", []), ("x.pcap", []), ("x.json", ["-s", "0"]),
                           ("x.txt", ["--width", "100000"])):
            path = os.path.join(mnt, name)
            # CMD waits a moment: the programs are noted while zcap runs
            z = Zcap(["-q", "-o", path] + args,
                     ["sh", "-c", "sleep 1; exec curl -s -o /dev/null %s" % big_url])
            z.sample_until(lambda: False, 10)
            rc = z.wait()
            err = z.stderr().splitlines()
            want = "zcap: cannot write '%s': No space left on device" % path
            tap.ok(rc == 1 and err == [want],
                   "disk full, -o %s: exit 1 and one line naming the file and the cause"
                   % name, "rc=%r stderr=%r" % (rc, err))
            if name.endswith(".pcapng"):
                good, n, why = pcapng_valid(path)
                # a packet block is at most ~64 KiB: the disk was full
                size = os.path.getsize(path)
                tap.ok(good and n > 0 and size > 128 * 1024,
                       "disk full: the pcap-ng file ends with its last whole block, tshark "
                       "reads all %d packets" % n, "%s size %d" % (why, size))
            elif name.endswith(".pcap"):
                td = subprocess.run(["tcpdump", "-n", "-r", path], capture_output=True,
                                    text=True, timeout=60)
                n = len(td.stdout.splitlines())
                tap.ok(td.returncode == 0 and n > 0 and "truncated" not in td.stderr,
                       "disk full: the classic pcap file ends with its last whole record, "
                       "tcpdump reads all %d packets" % n, td.stderr)
            elif name.endswith(".json"):
                good, recs, why = jsonl_valid(path, whole_last=False)
                whole, why2 = whole_lines(path)
                tap.ok(good and whole and len(recs) > 10,
                       "disk full: the JSON Lines file is cut back to its last whole line, "
                       "each parses (%d)" % len(recs), why + why2)
            else:
                whole, why = whole_lines(path)
                tap.ok(whole and os.path.getsize(path) > 128 * 1024,
                       "disk full: the text file is cut back to its last whole line", why)
            released(z, "disk full, -o %s" % name)
            os.unlink(path)
    finally:
        subprocess.run(["umount", mnt])


def reader_gone(work, srv, big_url):
    """The reader of zcap's stdout reads 1000 bytes and closes (| head -c 1000)."""
    cases = (
        ("-o - -- CMD", ["-q", "-o", "-"], "curl -s -o /dev/null %s" % big_url, 141),
        ("--json -- CMD", ["-q", "--json"], "cat %s > /dev/null" % zt.tool("iogen"), 141),
        ("text -- CMD", ["-q"], "cat %s > /dev/null" % zt.tool("iogen"), 141),
        ("-o - --port (no CMD)", ["-q", "-o", "-", "--port", srv.port], None, 0),
    )
    for name, args, body, want in cases:
        pidfile = os.path.join(work, "loop.pid")
        traffic = None
        if body:
            z = Zcap(args, loop_cmd(pidfile, body), stdout=subprocess.PIPE)
        else:
            z = Zcap(args, stdout=subprocess.PIPE)
            traffic = subprocess.Popen(["sh", "-c", "while :; do curl -s -o /dev/null %s; "
                                        "done" % big_url])
        got = z.proc.stdout.read(1000)
        z.held.sample()
        z.proc.stdout.close()
        rc = z.wait(60)
        kill_pidfile(pidfile)
        if traffic:
            traffic.kill()
            traffic.wait()
        tap.ok(len(got) == 1000 and rc == want and error_lines(z.stderr()) == [],
               "output pipe closed after 1000 bytes, %s: exit %d, no error line"
               % (name, want), "rc=%r got %d bytes stderr=%r" % (rc, len(got), z.stderr()))
        released(z, "pipe closed, %s" % name)

    # nothing more to write: zcap notices the closed pipe all the same
    z = Zcap(["-o", "-", "--port", ph.free_port()], stdout=subprocess.PIPE)
    z.ready()
    got = z.proc.stdout.read(16)
    z.proc.stdout.close()
    rc = z.wait(30)
    tap.ok(len(got) == 16 and rc == 0,
           "output pipe closed while nothing is captured: zcap ends by itself, exit 0",
           "rc=%r" % (rc,))
    released(z, "pipe closed while idle")


WRITER = r"""
import os, signal, sys, time
r, w = os.pipe()
if os.fork() == 0:                 # a reader slower than the writer
    os.close(w)
    while os.read(r, 4096):
        time.sleep(0.01)
    os._exit(0)
os.close(r)
open(sys.argv[1], "w").write("%d\n" % os.getpid())
buf = b"x" * (1 << 20)
while True:
    os.write(w, buf)                # blocks in write(2) most of the time
"""


def traced_killed(work, slow_url):
    # JSON: the writer dies inside write(2); zcap ends with its status
    pidfile = os.path.join(work, "writer.pid")
    out = os.path.join(work, "killed.json")
    z = Zcap(["-q", "--json", "-o", out], [sys.executable, "-c", WRITER, pidfile])
    z.sample_until(lambda: read_pid(pidfile) and os.path.getsize(out) > 100000)
    wpid = read_pid(pidfile)
    os.kill(wpid, signal.SIGKILL)
    rc = z.wait()
    good, recs, why = jsonl_valid(out)
    writes = [r for r in recs if r.get("type") == "io" and r.get("pid") == wpid
              and r.get("syscall") == "write"]
    tap.ok(rc == 128 + 9 and good and writes and z.stderr() == "",
           "traced process killed inside write(2): exit 137, no message, every JSON line "
           "whole, ends with the summary (%d writes seen)" % len(writes),
           "rc=%r %s stderr=%r" % (rc, why, z.stderr()))
    released(z, "traced process killed (JSON)")

    # pcap-ng: curl killed mid-download
    out = os.path.join(work, "killed.pcapng")
    z = Zcap(["-q", "-o", out], ["sh", "-c", "echo $$ > %s; exec curl -s -o /dev/null %s"
                                 % (pidfile + "2", slow_url)])
    z.sample_until(lambda: read_pid(pidfile + "2"))
    z.sample_until(lambda: False, 1.5)
    kill_pidfile(pidfile + "2")
    rc = z.wait()
    good, n, why = pcapng_valid(out)
    last = ph.pcapng_blocks(out)[-1]["type"] if good else None
    tap.ok(rc == 137 and good and n > 5 and last == ph.BT_ISB and z.stderr() == "",
           "traced curl killed mid-download: exit 137, %d packets, statistics block at the "
           "end" % n, "rc=%r %s last=%r stderr=%r" % (rc, why, last, z.stderr()))
    released(z, "traced process killed (pcap-ng)")


def random_signals(work, srv, big_url):
    traffic = subprocess.Popen(["sh", "-c", "while :; do curl -s -o /dev/null %s; sleep 0.2; "
                                "done" % big_url])
    rnd = random.Random()
    seed = rnd.randrange(1 << 30)
    rnd.seed(seed)
    tap.note("signal delays: seed %d" % seed)
    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    try:
        for i in range(SIGNAL_ROUNDS):
            sig = sigs[i % 3]
            delay = rnd.uniform(0.25, 2.5)
            with_cmd = i % 2 == 1
            pidfile = os.path.join(work, "sig%d.pid" % i)
            if with_cmd:
                out = os.path.join(work, "sig%d.json" % i)
                z = Zcap(["-q", "--json", "-o", out],
                         loop_cmd(pidfile, "cat %s > /dev/null; sleep 0.05" % zt.tool("iogen")))
                want = 128 + sig
            else:
                out = os.path.join(work, "sig%d.pcapng" % i)
                z = Zcap(["-q", "-o", out, "--port", srv.port])
                want = 0
            z.sample_until(lambda: False, delay)
            rc = z.signal(sig)
            kill_pidfile(pidfile)
            if with_cmd:
                good, recs, why = jsonl_valid(out)
                what = "%d JSON records, summary last" % len(recs)
            else:
                good, n, why = pcapng_valid(out)
                what = "%d packets" % n
            tap.ok(rc == want and good and z.stderr() == "",
                   "%s after %.2f s%s: exit %d, file valid (%s)"
                   % (signal.Signals(sig).name, delay, " with -- CMD" if with_cmd else "",
                      want, what), "rc=%r %s stderr=%r" % (rc, why, z.stderr()))
            left = z.held.left()
            tap.ok(not left, "%s after %.2f s: nothing left in the kernel (%d programs seen)"
                   % (signal.Signals(sig).name, delay, len(z.held.ids["prog"])),
                   "left: %r" % (left,))
    finally:
        traffic.kill()
        traffic.wait()


def sigkill(work, slow_url):
    pidfile = os.path.join(work, "k9.pid")
    out = os.path.join(work, "k9.pcapng")
    z = Zcap(["-o", out], ["sh", "-c", "echo $$ > %s; exec curl -s -o /dev/null %s"
                           % (pidfile, slow_url)])
    ready = z.ready()
    z.sample_until(lambda: False, 2)
    had_cgroup = z.held.cgroup and os.path.isdir(z.held.cgroup)
    rc = z.kill9()
    good, n, why = pcapng_valid(out)
    tap.ok(ready and rc == -9 and good and n > 5,
           "kill -9 mid-capture: the file holds whole blocks only, tshark reads all %d "
           "packets" % n, "rc=%r %s" % (rc, why))
    # CMD runs on; the reaper has moved it out of zcap's cgroup and removed it
    left = z.held.left()
    tap.ok(had_cgroup and not left,
           "kill -9: BPF programs and links released; zcap-%d cgroup removed though "
           "CMD still runs" % z.proc.pid, "had cgroup %r, left %r" % (had_cgroup, left))
    kill_pidfile(pidfile)


def sigkill_lines(work):
    """kill -9 while JSON Lines and text are written: whole lines only."""
    for name, args in (("k9.json", ["--json", "-s", "0"]), ("k9.txt", ["--width", "5000"])):
        out = os.path.join(work, name)
        pidfile = os.path.join(work, name + ".pid")
        z = Zcap(["-q", "-o", out] + args,
                 loop_cmd(pidfile, "cat %s > /dev/null" % zt.tool("iogen")))
        z.sample_until(lambda: os.path.exists(out) and os.path.getsize(out) > 300000)
        rc = z.kill9()
        kill_pidfile(pidfile)
        whole, why = whole_lines(out)
        if whole and name.endswith(".json"):
            whole, recs, why = jsonl_valid(out, whole_last=False)
        tap.ok(rc == -9 and whole and os.path.getsize(out) > 300000,
               "kill -9 while writing %s: only whole lines in the file (%d bytes)"
               % (name, os.path.getsize(out)), "rc=%r %s" % (rc, why))
        os.unlink(out)


def sigkill_lineage(work):
    """kill -9 of lineage -o FILE while CMD runs, before the record is
    written: FILE stays as it was and no new file is left beside it."""
    d = os.path.join(work, "k9-lineage")
    os.mkdir(d)
    out = os.path.join(d, "lineage.json")
    with open(out, "w") as f:
        f.write("old\n")
    pidfile = os.path.join(work, "k9-lineage.pid")
    z = Zcap(["-o", out], ["sh", "-c", "echo $$ > %s; exec sleep 60" % pidfile], sub="lineage")
    began = z.sample_until(lambda: os.path.exists(pidfile) and
                           any(n.startswith(".zcap-") for n in os.listdir(d)))
    rc = z.kill9()
    kill_pidfile(pidfile)
    with open(out) as f:
        kept = f.read()
    tap.ok(began and rc == -9 and sorted(os.listdir(d)) == ["lineage.json"] and kept == "old\n",
           "kill -9 of lineage -o FILE while CMD runs: FILE as it was, its new file removed",
           "began=%r rc=%r dir=%r FILE=%r" % (began, rc, os.listdir(d), kept))


SUMMARY = r"lost events: (\d+) ring full, (\d+) map full, (\d+) read faults"


def summary_drops(stderr):
    """(ring full, map full, read faults) from zcap's summary line."""
    m = re.search(SUMMARY, stderr)
    return tuple(int(x) for x in m.groups()) if m else None


def overload(work, big_url):
    """Nothing lost silently: a 16 KiB ring (-B 16) and 16-entry maps
    overflow, and every output counts the loss by cause, the same counts as
    the summary on stderr."""
    flood = ["sh", "-c", "head -c 20000000 /dev/zero | cat > /dev/null"]
    # JSON: drop records as it happens, the summary record at the end
    out = os.path.join(work, "flood.json")
    z = Zcap(["--json", "-s", "0", "-B", "16", "-o", out], flood)
    rc = z.wait()
    good, recs, why = jsonl_valid(out)
    drops = summary_drops(z.stderr())
    last = recs[-1]["drops"] if good else {}
    tap.ok(rc == 0 and good and drops and drops[0] > 0 and
           (last.get("ring_full"), last.get("map_full"), last.get("read_fault")) == drops and
           any(r.get("type") == "drop" for r in recs),
           "-B 16 --json: ring-full losses in \"drop\" records and the summary record, the "
           "same as on stderr %r" % (drops,), "rc=%r %s last=%r stderr=%r"
           % (rc, why, last, z.stderr()))
    # text: a "-- lost events" line in the output
    out = os.path.join(work, "flood.txt")
    z = Zcap(["-s", "0", "-B", "16", "-o", out], flood)
    rc = z.wait()
    with open(out) as f:
        lost = [line for line in f if line.startswith("-- lost events so far: ")]
    drops = summary_drops(z.stderr())
    tap.ok(rc == 0 and lost and drops and drops[0] > 0 and
           lost[-1].startswith("-- lost events so far: %d ring full" % drops[0]),
           "-B 16, text: the output says what was lost (%s)" % (lost[-1].strip() if lost else ""),
           "rc=%r stderr=%r" % (rc, z.stderr()))
    # pcap-ng: packets lost per interface, events lost by cause in the ISBs
    out = os.path.join(work, "flood.pcapng")
    z = Zcap(["-B", "16", "-o", out], ["curl", "-s", "-o", "/dev/null", big_url])
    rc = z.wait()
    good, n, why = pcapng_valid(out)
    isbs = [b for b in ph.pcapng_blocks(out) if b["type"] == ph.BT_ISB] if good else []
    drops = summary_drops(z.stderr())
    want = "zcap events lost (all interfaces): %d ring full, %d map full, %d read faults" \
        % drops if drops else None
    comments = {ph.option(b, 1)[0].decode() for b in isbs if ph.option(b, 1)}
    ifdrop = sum(ph.u64(ph.option(b, 5)[0]) for b in isbs)
    tap.ok(rc == 0 and good and isbs and drops[0] > 0 and comments == {want} and ifdrop > 0,
           "-B 16 -o x.pcapng: %d packets lost in isb_ifdrop, the ISB comment counts the "
           "events lost as the summary does" % ifdrop,
           "rc=%r %s comments=%r want=%r stderr=%r" % (rc, why, comments, want, z.stderr()))
    # lineage: dropped_events and drops by cause. Its events are small (no
    # payloads), so zcap is stopped while CMD makes 600000 of them: the
    # 16 KiB ring must overflow, however fast the machine.
    out = os.path.join(work, "flood-lineage.json")
    ready, go, done = (os.path.join(work, n) for n in ("l.ready", "l.go", "l.done"))
    script = ("touch %s; while [ ! -e %s ]; do sleep 0.05; done; "
              "dd if=/dev/zero of=/dev/null bs=1 count=300000 status=none; touch %s"
              % (ready, go, done))
    p = subprocess.Popen([ZCAP, "lineage", "-B", "16", "-o", out, "--", "sh", "-c", script],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not os.path.exists(ready) and time.monotonic() < deadline:
        time.sleep(0.05)
    p.send_signal(signal.SIGSTOP)
    open(go, "w").close()
    while not os.path.exists(done) and time.monotonic() < deadline + 60:
        time.sleep(0.05)
    p.send_signal(signal.SIGCONT)
    err = p.communicate(timeout=120)[1]
    with open(out) as f:
        rec = json.load(f)
    d = rec.get("drops", {})
    tap.ok(p.returncode == 0 and d.get("ring_full", 0) > 0 and
           rec["dropped_events"] == sum(d.values()) and "events lost" in err,
           "lineage -B 16, zcap stopped during a flood: dropped_events %d = drops by cause %r, "
           "a warning on stderr" % (rec["dropped_events"], d), err)
    # maps: 16 entries of traced processes, 40 children at once
    z = Zcap(["-e", "proc", "--map-entries", "16", "-o", os.path.join(work, "maps.txt")],
             ["sh", "-c", "for i in $(seq 40); do sleep 3 & done; wait"])
    rc = z.wait()
    drops = summary_drops(z.stderr())
    tap.ok(rc == 0 and drops and drops[1] >= 40 + 1 - 16,
           "--map-entries 16 and 41 traced processes: the untraced are counted as map full "
           "(%r)" % (drops,), z.stderr())


def main():
    tap.plan(12 + 10 + 4 + 2 * SIGNAL_ROUNDS + 2 + 2 + 1 + 5)
    work = tempfile.mkdtemp(prefix="zcap-faults-")
    www = os.path.join(work, "www")
    os.makedirs(www)
    zt.random_payload(os.path.join(www, "big.bin"), 8 << 20, seed=61)
    srv = ph.HttpServer(www)
    slow = Trickle()
    big_url = "http://127.0.0.1:%d/big.bin" % srv.port
    try:
        disk_full(work, big_url)
        reader_gone(work, srv, big_url)
        traced_killed(work, slow.url)
        random_signals(work, srv, big_url)
        sigkill(work, slow.url)
        sigkill_lines(work)
        sigkill_lineage(work)
        overload(work, big_url)
    finally:
        slow.stop()
        srv.stop()
        ph.cleanup(work)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
