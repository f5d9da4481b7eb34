#!/usr/bin/python3
"""zcap record and zcap lineage are memory-clean on real captures: valgrind
memcheck (no invalid reads or writes, no use of uninitialised values, no
definitely lost blocks) over a small `-- CMD` workload: record with --json,
record with -o x.pcapng, lineage. The ASan+UBSan build cannot run under valgrind: there the same
runs are checked by its own sanitizers and LeakSanitizer instead.

tests/lib/valgrind.supp holds the only suppressions: valgrind's model of
bpf(2) in libbpf (fields of union bpf_attr a command does not use)."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import pcapng_helpers as ph  # noqa: E402

ZCAP = ph.ZCAP
SUPP = os.path.join(ph.ROOT, "tests", "lib", "valgrind.supp")

# files, a pipe, a socketpair, a TCP connection with a sendfile body
WORKLOAD = r"""
import os, socket, sys, threading
d = sys.argv[1]
p = os.path.join(d, "in.txt")
with open(p, "w") as f:
    f.write("hello valgrind\n" * 200)
data = open(p, "rb").read()
r, w = os.pipe()
os.write(w, data[:1000]); os.close(w); os.read(r, 4096); os.close(r)
a, b = socket.socketpair()
a.sendall(b"ping"); b.recv(16); a.close(); b.close()
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
def serve():
    c, _ = srv.accept()
    with open(p, "rb") as f:
        os.sendfile(c.fileno(), f.fileno(), 0, len(data))
    c.close()
t = threading.Thread(target=serve); t.start()
c = socket.create_connection(srv.getsockname())
got = b""
while len(got) < len(data):
    chunk = c.recv(65536)
    if not chunk:
        break
    got += chunk
c.close(); t.join()
sys.exit(0 if got == data else 3)
"""


def asan_build():
    p = subprocess.run(["ldd", ZCAP], capture_output=True, text=True)
    return "libasan" in p.stdout


def memcheck(args, work, name, asan):
    """(zcap's exit code, problems found by the checker)."""
    log = os.path.join(work, name + ".vg")
    cmd = [ZCAP] + args + ["--", sys.executable, "-c", WORKLOAD, work]
    env = dict(os.environ)
    if asan:
        env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:exitcode=99:log_path=" + log
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:log_path=" + log
    else:
        # the cgroup reaper zcap forks for packet capture only waits: quiet
        cmd = ["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite",
               "--error-exitcode=9", "--child-silent-after-fork=yes", "--suppressions=" + SUPP,
               "--log-file=" + log] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    problems = []
    if p.stderr:
        problems.append("stderr: " + p.stderr[-2000:])
    if asan:
        for f in os.listdir(work):
            if f.startswith(name + ".vg"):
                with open(os.path.join(work, f)) as fh:
                    problems.append(fh.read()[-3000:])
    else:
        with open(log) as fh:
            text = fh.read()
        if "ERROR SUMMARY: 0 errors" not in text:
            problems.append(text[-3000:])
        if "definitely lost" in text and "definitely lost: 0 bytes" not in text:
            problems.append("leaks: " + text[-3000:])
    return p.returncode, problems


def main():
    asan = asan_build()
    checker = "ASan/UBSan/LSan" if asan else "valgrind memcheck"
    tap.plan(6)
    tap.note("checker: " + checker)
    work = tempfile.mkdtemp(prefix="zcap-valgrind-")
    try:
        out = os.path.join(work, "x.json")
        rc, problems = memcheck(["record", "-q", "--json", "-o", out], work, "json", asan)
        tap.ok(rc == 0 and not problems,
               "--json -- CMD under %s: exit 0, no errors, nothing definitely lost" % checker,
               ["rc=%d" % rc] + problems)
        with open(out) as f:
            recs = [json.loads(line) for line in f]
        kinds = {r.get("type") for r in recs}
        vias = {r.get("via") for r in recs if r.get("type") == "body"}
        tap.ok(recs[-1].get("type") == "summary" and {"io", "fd", "proc"} <= kinds and
               "sendfile" in vias,
               "the JSON output is whole: io, fd, proc records, the sendfile body, the summary",
               sorted(str(k) for k in kinds))

        out = os.path.join(work, "x.pcapng")
        rc, problems = memcheck(["record", "-q", "-o", out], work, "pcapng", asan)
        tap.ok(rc == 0 and not problems,
               "-o x.pcapng -- CMD under %s: exit 0, no errors, nothing definitely lost"
               % checker, ["rc=%d" % rc] + problems)
        blocks = ph.pcapng_blocks(out)
        epbs = [b for b in blocks if b["type"] == ph.BT_EPB]
        size = sum(len(b["data"]) for b in epbs)
        # handshake, the 3000-byte body, the close: the body is in there
        tap.ok(len(epbs) >= 5 and size > 3000 and blocks[-1]["type"] == ph.BT_ISB,
               "the pcap-ng file is whole: %d packets of %d bytes, statistics at the end"
               % (len(epbs), size))

        out = os.path.join(work, "lineage.json")
        rc, problems = memcheck(["lineage", "-o", out], work, "lineage", asan)
        tap.ok(rc == 0 and not problems,
               "lineage -- CMD under %s: exit 0, no errors, nothing definitely lost" % checker,
               ["rc=%d" % rc] + problems)
        with open(out) as f:
            rec = json.load(f)
        inp = [f for f in rec["files"] if f["path"] == os.path.join(work, "in.txt")]
        tap.ok(len(inp) == 1 and inp[0]["written"] and inp[0]["read"] and
               rec["exit_code"] == 0 and rec["dropped_events"] == 0,
               "the lineage record is whole: in.txt written and read, exit 0, no drops",
               inp)
    finally:
        ph.cleanup(work)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
