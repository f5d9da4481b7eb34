#!/usr/bin/python3
"""zcap lineage --ol-url: OpenLineage RunEvents POSTed to a real HTTP server
(tests/lib/ol_server.py) as the run happens, and never lost: the server
down at the start and in the middle of a run, slow (timeouts), answering
500 and 401. Every body the server stores is validated against the
OpenLineage schemas kept in tests/openlineage/, and every event is stored
exactly once (by its identity: runId, eventType, eventTime, job), with
nothing deduplicated by the server."""
import json
import os
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from lineage_helpers import ZCAP, Tap, Workdir, ol_errors, schema_errors  # noqa: E402
from ol_server import OLServer  # noqa: E402
from zcaptest import free_port  # noqa: E402

PIPELINE = ["sh", "-c", "cat in.txt | gzip -n > out.gz; exit 3"]
ENDPOINT = "/api/v1/lineage"
SPOOL = "zcap-ol-spool.jsonl"
# CMD that writes a.txt, waits for the test to create `go`, writes b.txt
# (this python by its path: a `python3` on PATH may be a pyenv shim script)
STEPS = [sys.executable, "-c", "import os, time\n"
         "open('a.txt', 'w').write('a')\n"
         "while not os.path.exists('go'):\n    time.sleep(0.02)\n"
         "open('b.txt', 'w').write('b')\n"]
STEPS_JOB = os.path.basename(sys.executable)


def env_without_ol(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENLINEAGE_")}
    env.update(extra)
    return env


def zcap_lineage(w, args, cmd, env=None, wait=True):
    """zcap lineage -o w/rec.json ARGS -- CMD in w; (rc, record, stderr) or the Popen."""
    argv = [ZCAP, "lineage", "-o", os.path.join(w, "rec.json"), *args, "--", *cmd]
    p = subprocess.Popen(argv, cwd=w, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env or env_without_ol())
    return finish(p, w) if wait else p


def finish(p, w):
    out, err = p.communicate(timeout=180)
    try:
        with open(os.path.join(w, "rec.json")) as f:
            rec = json.load(f)
    except (OSError, ValueError):
        rec = {}
    return p.returncode, rec, err


def flush(spool, url, env=None):
    p = subprocess.run([ZCAP, "lineage", "--flush-spool", "--ol-url", url, "--ol-spool", spool],
                       capture_output=True, text=True, timeout=180, env=env or env_without_ol())
    return p.returncode, p.stderr


def post_failures(err):
    return [line for line in err.splitlines() if line.startswith("zcap: openlineage: POST ")]


def identity(ev):
    return (ev["run"]["runId"], ev["eventType"], ev["eventTime"], ev["job"]["name"])


def counts(rec):
    ol = rec.get("openlineage_http", {})
    return {k: ol.get(k) for k in ("events", "delivered", "failures", "spool_left", "lost")}


def wait_for(cond, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def spool_lines(path):
    with open(path) as f:
        return f.read().splitlines()


def check_stored(t, name, srv, n_events, key=None, path=ENDPOINT):
    """What the server stored: n_events valid RunEvents, each exactly once,
    every request exact (path, Content-Type, Authorization)."""
    events = srv.events()
    ids = [identity(ev) for ev in events]
    t.eq((len(events), len(set(ids))), (n_events, n_events),
         f"{name}: {n_events} events stored, each exactly once")
    t.eq(ol_errors(events), [], f"{name}: every stored body valid against the OpenLineage schemas")
    with srv.lock:
        reqs = [(p, h.get("Content-Type"), h.get("Authorization")) for p, h, _ in srv.stored]
    t.eq(sorted(set(reqs)), [(path, "application/json", f"Bearer {key}" if key else None)],
         f"{name}: POST {path}, Content-Type application/json, "
         + (f"Authorization: Bearer {key}" if key else "no Authorization"))
    return events


def check_runs(t, name, events, root_job):
    """Each process run: one START and one end; CMD's run first and last."""
    runs = {}
    for ev in events:
        runs.setdefault(ev["run"]["runId"], []).append(ev["eventType"])
    ends = {"COMPLETE", "FAIL", "ABORT"}
    t.ok(all(kinds.count("START") == 1 and sum(k in ends for k in kinds) == 1 for kinds in runs.values()),
         f"{name}: every run has one START and one COMPLETE/FAIL", runs)
    root = [ev for ev in events if ev["job"]["name"] == root_job]
    t.ok(root and root[0]["eventType"] == "START" and root[-1]["eventType"] in ends and
         len({ev["run"]["runId"] for ev in root}) == 1,
         f"{name}: CMD's events ({[ev['eventType'] for ev in root]}) share one runId", root[:1])


def scenario_up(t, srv):
    """Server up; configured by the environment only (URL with a path,
    endpoint relative to it, API key)."""
    w = Workdir()
    w.reset({"in.txt": "hello world\n"})
    env = env_without_ol(OPENLINEAGE_URL=srv.url + "/base/", OPENLINEAGE_ENDPOINT="v2/events",
                         OPENLINEAGE_API_KEY="k3y-Up")
    rc, rec, err = zcap_lineage(w.path, ["--ol-interval", "0"], PIPELINE, env=env)
    n = 2 * len(rec.get("processes", []))
    t.eq((rc, n), (3, 6), "up: zcap exits with CMD's 3; sh, cat, gzip ran")
    events = check_stored(t, "up", srv, n, key="k3y-Up", path="/base/v2/events")
    check_runs(t, "up", events, "sh")
    t.eq(counts(rec), {"events": 6, "delivered": 6, "failures": 0, "spool_left": 0, "lost": 0},
         "up: the record counts 6 events, 6 delivered, no failure")
    t.eq((post_failures(err), os.path.exists(os.path.join(w.path, SPOOL)), schema_errors(rec)), ([], False, []),
         "up: no failure on stderr, no spool; the record is valid against docs/lineage.schema.json")
    gz = [d["name"] for ev in events if ev["job"]["name"] == "sh/gzip" for d in ev["outputs"]]
    t.eq(gz, [os.path.join(w.path, "out.gz")], "up: gzip's COMPLETE has out.gz as output")
    w.cleanup()


def scenario_file_agrees(t, srv):
    """--format openlineage -o FILE with --ol-url: the file holds the events
    the server got (the same runIds)."""
    w = Workdir()
    w.reset({"in.txt": "hello world\n"})
    out = os.path.join(w.path, "ol.jsonl")
    p = subprocess.run([ZCAP, "lineage", "--format", "openlineage", "-o", out, "--ol-url", srv.url,
                        "--ol-interval", "0", "--", *PIPELINE], cwd=w.path, capture_output=True, text=True,
                       timeout=180, env=env_without_ol())
    with open(out) as f:
        in_file = [json.loads(line) for line in f]
    events = check_stored(t, "file", srv, 6)

    def key(ev):
        return (ev["run"]["runId"], ev["eventType"], ev["job"]["name"])

    t.eq((p.returncode, sorted(map(key, in_file))), (3, sorted(map(key, events))),
         "file: --format openlineage holds the 6 events the server got, with the same runIds")
    w.cleanup()


def scenario_down_at_start(t, port):
    """Nothing listens: everything is spooled beside the output; the next
    run sends the spool first, then its own events."""
    w = Workdir()
    w.reset({"in.txt": "hello world\n"})
    url = f"http://127.0.0.1:{port}"
    rc, rec, err = zcap_lineage(w.path, ["--ol-url", url, "--ol-interval", "0", "--ol-retries", "2"],
                                PIPELINE)
    spool = os.path.join(w.path, SPOOL)
    fails = post_failures(err)
    t.eq(rc, 3, "down at start: zcap still exits with CMD's 3")
    # START: 3 attempts, then spooled; at the end the spool gets 3 more
    t.eq((len(fails), counts(rec)),
         (6, {"events": 6, "delivered": 0, "failures": 6, "spool_left": 6, "lost": 0}),
         "down at start: 6 failed POSTs (3 for START, 3 more at the end), one line each; "
         "the record counts them and 6 events in the spool")
    t.ok(all(f"POST {url}{ENDPOINT}: " in f for f in fails), "down at start: each line names the URL",
         fails)
    t.eq((schema_errors(rec), rec.get("openlineage_http", {}).get("url"), rec.get("openlineage_http", {}).get("spool")),
         ([], url + ENDPOINT, spool),
         "down at start: the record is valid against docs/lineage.schema.json and names the URL and the spool")
    st = os.stat(spool)
    t.eq((stat.S_IMODE(st.st_mode), st.st_uid, len(spool_lines(spool))), (0o600, 0, 6),
         "down at start: the spool beside the output is 0600, holds the 6 events")
    srv = OLServer(port).start()
    try:
        rc2, rec2, err2 = zcap_lineage(w.path, ["--ol-url", url, "--ol-interval", "0"], ["true"])
        events = check_stored(t, "down at start, next run", srv, 8)
        check_runs(t, "down at start, next run", events[:6], "sh")
        check_runs(t, "down at start, next run", events[6:], "true")
        t.eq((rc2, counts(rec2), post_failures(err2), os.path.exists(spool)),
             (0, {"events": 2, "delivered": 8, "failures": 0, "spool_left": 0, "lost": 0}, [], False),
             "down at start: the next run delivered the 6 spooled events, then its 2; spool removed")
    finally:
        srv.stop()
        w.cleanup()


def scenario_down_in_middle(t, port):
    """The server goes away while CMD runs: START was delivered, the rest
    is spooled; --flush-spool delivers it once the server is back."""
    w = Workdir()
    url = f"http://127.0.0.1:{port}"
    spool = os.path.join(w.path, "my.spool")
    srv = OLServer(port).start()
    p = zcap_lineage(w.path, ["--ol-url", url, "--ol-interval", "0", "--ol-retries", "1",
                              "--ol-spool", spool], STEPS, wait=False)
    try:
        wait_for(lambda: len(srv.events()) == 1, "START at the server")
        srv.stop()
        open(os.path.join(w.path, "go"), "w").close()
        rc, rec, err = finish(p, w.path)
        n = rec.get("openlineage_http", {}).get("events", 0)
        t.eq((rc, counts(rec), len(post_failures(err))),
             (0, {"events": 2, "delivered": 1, "failures": 4, "spool_left": 1, "lost": 0}, 4),
             "down in the middle: START delivered; COMPLETE failed 2 + 2 times (4 lines), spooled")
        srv2 = OLServer(port)
        srv2.stored = list(srv.stored)  # the same server, back with what it had
        srv2.start()
        frc, ferr = flush(spool, url)
        events = check_stored(t, "down in the middle, flushed", srv2, n)
        check_runs(t, "down in the middle, flushed", events, STEPS_JOB)
        t.eq((frc, post_failures(ferr), os.path.exists(spool)), (0, [], False),
             "down in the middle: --flush-spool exits 0, no failure, spool removed")
        srv2.stop()
    finally:
        srv.stop()
        if p.poll() is None:
            p.kill()
        w.cleanup()


def scenario_fault(t, srv, name, setup, args, want_failures, check_server, key=None):
    w = Workdir()
    w.reset({"in.txt": "hello world\n"})
    setup()
    env = env_without_ol(OPENLINEAGE_API_KEY=key) if key else None
    rc, rec, err = zcap_lineage(w.path, ["--ol-url", srv.url, "--ol-interval", "0", *args], PIPELINE,
                                env=env)
    fails = post_failures(err)
    t.eq((rc, len(fails), counts(rec)),
         (3, want_failures, {"events": 6, "delivered": 6, "failures": want_failures, "spool_left": 0,
                             "lost": 0}),
         f"{name}: exit 3 (CMD's); {want_failures} failed POSTs, one line each and counted; "
         "then all 6 delivered")
    check_server(fails)
    events = check_stored(t, name, srv, 6, key=key)
    check_runs(t, name, events, "sh")
    w.cleanup()


def scenario_401(t, srv, port):
    """A key the server refuses: nothing is taken, everything spooled;
    with the right key --flush-spool delivers it."""
    w = Workdir()
    w.reset({"in.txt": "hello world\n"})
    srv.require_key("right-key")
    rc, rec, err = zcap_lineage(w.path, ["--ol-url", srv.url, "--ol-interval", "0", "--ol-retries", "1"],
                                PIPELINE, env=env_without_ol(OPENLINEAGE_API_KEY="wrong-key"))
    fails = post_failures(err)
    t.eq((rc, len(fails), srv.answered.get(401), counts(rec)),
         (3, 4, 4, {"events": 6, "delivered": 0, "failures": 4, "spool_left": 6, "lost": 0}),
         "401: 4 refused POSTs (2 for START, 2 at the end), all 6 events spooled")
    t.ok(all(f.endswith("HTTP 401 (attempt 1 of 2, again in 0.5 s)") or
             f.endswith("HTTP 401 (attempt 2 of 2, giving up)") for f in fails), "401: each line says HTTP 401",
         fails)
    frc, ferr = flush(os.path.join(w.path, SPOOL), srv.url, env=env_without_ol(OPENLINEAGE_API_KEY="right-key"))
    events = check_stored(t, "401, flushed with the right key", srv, 6, key="right-key")
    check_runs(t, "401, flushed", events, "sh")
    t.eq((frc, post_failures(ferr)), (0, []), "401: --flush-spool with the right key exits 0")
    srv.require_key(None)
    w.cleanup()


def scenario_running(t, srv):
    """RUNNING events while CMD runs: the datasets so far, CMD's runId."""
    w = Workdir()
    p = zcap_lineage(w.path, ["--ol-url", srv.url, "--ol-interval", "0.1"], STEPS, wait=False)
    a, b = os.path.join(w.path, "a.txt"), os.path.join(w.path, "b.txt")

    def outputs(ev):
        return {d["name"] for d in ev["outputs"]}

    try:
        wait_for(lambda: any(ev["eventType"] == "RUNNING" and a in outputs(ev) for ev in srv.events()),
                 "a RUNNING event with a.txt")
        open(os.path.join(w.path, "go"), "w").close()
        rc, rec, err = finish(p, w.path)
    finally:
        if p.poll() is None:
            p.kill()
    n = rec.get("openlineage_http", {}).get("events")
    events = check_stored(t, "running", srv, n)
    check_runs(t, "running", [ev for ev in events if ev["eventType"] != "RUNNING"], STEPS_JOB)
    running = [ev for ev in events if ev["eventType"] == "RUNNING"]
    root = [ev for ev in events if ev["job"]["name"] == STEPS_JOB]
    t.ok(running and all(ev["job"]["name"] == STEPS_JOB and
                         ev["run"]["runId"] == root[0]["run"]["runId"] for ev in running),
         "running: RUNNING events are CMD's, with its runId", [identity(ev) for ev in running])
    t.ok(root[0]["eventType"] == "START" and root[-1]["eventType"] == "COMPLETE" and
         events.index(root[0]) < events.index(running[0]) and events.index(running[-1]) < events.index(root[-1]),
         "running: START, then the RUNNINGs, then COMPLETE, as the server received them")
    t.ok(any(a in outputs(ev) and b not in outputs(ev) for ev in running) and
         b in outputs(root[-1]) and a in outputs(root[-1]),
         "running: a RUNNING listed a.txt before b.txt existed; COMPLETE lists both")
    t.ok(all("version" not in d["facets"] for ev in running for d in ev["inputs"] + ev["outputs"]),
         "running: no dataset versions before the end (hashes come with COMPLETE)")
    sets = [json.dumps([ev["inputs"], ev["outputs"]], sort_keys=True) for ev in running]
    t.ok(all(a != b for a, b in zip(sets, sets[1:])),
         "running: a RUNNING only when the datasets changed since the last one")
    t.eq((rc, counts(rec)["failures"], counts(rec)["delivered"]), (0, 0, n), "running: all delivered")
    w.cleanup()


def scenario_back_before_end(t, port):
    """Down at the start, back before CMD ends: START waits in the spool and
    the same run delivers it, then the rest, once the server is back."""
    w = Workdir()
    url = f"http://127.0.0.1:{port}"
    spool = os.path.join(w.path, SPOOL)
    p = zcap_lineage(w.path, ["--ol-url", url, "--ol-interval", "0", "--ol-retries", "1"], STEPS, wait=False)
    srv = OLServer(port)
    try:
        wait_for(lambda: os.path.exists(spool) and len(spool_lines(spool)) == 1, "START in the spool")
        srv.start()
        open(os.path.join(w.path, "go"), "w").close()
        rc, rec, err = finish(p, w.path)
        t.eq((rc, counts(rec), len(post_failures(err)), os.path.exists(spool)),
             (0, {"events": 2, "delivered": 2, "failures": 2, "spool_left": 0, "lost": 0}, 2, False),
             "back before the end: START failed twice and was spooled; the same run delivered it "
             "and COMPLETE once the server was back; spool removed")
        events = check_stored(t, "back before the end", srv, 2)
        t.eq([ev["eventType"] for ev in events], ["START", "COMPLETE"], "back before the end: in order")
    finally:
        srv.stop()
        if p.poll() is None:
            p.kill()
        w.cleanup()


def scenario_spool_unwritable(t, port):
    """Nothing listens and the spool cannot be written: the events are
    lost, and said so (stderr, the record); the exit status stays CMD's.
    CMD ends only once START was lost, so the end's last chance is exact."""
    w = Workdir()
    p = zcap_lineage(w.path, ["--ol-url", f"http://127.0.0.1:{port}", "--ol-interval", "0",
                              "--ol-retries", "0", "--ol-spool", "/proc/zcap-no-such-dir/spool"],
                     STEPS, wait=False)
    early = []
    try:
        for line in p.stderr:
            early.append(line)
            if "lost (the spool cannot keep them)" in line:
                break
        open(os.path.join(w.path, "go"), "w").close()
        rc, rec, err = finish(p, w.path)
    finally:
        if p.poll() is None:
            p.kill()
    err = "".join(early) + err
    lost = [line for line in err.splitlines() if "lost (the spool cannot keep them)" in line]
    t.eq((rc, counts(rec), len(post_failures(err)), len(lost)),
         (0, {"events": 2, "delivered": 0, "failures": 2, "spool_left": 0, "lost": 2}, 2, 2),
         "spool unwritable: START and COMPLETE each failed once and were lost, each said on stderr "
         "and counted; exit 0 (CMD's)")
    w.cleanup()


def scenario_usage(t, port):
    w = Workdir()
    url = f"http://127.0.0.1:{port}"
    cases = [
        ("--flush-spool with a command", ["--flush-spool", "--ol-url", url, "--", "true"]),
        ("--flush-spool without a URL", ["--flush-spool"]),
        ("--ol-url not http", ["--ol-url", "ftp://127.0.0.1/", "--", "touch", "ran"]),
        ("bad --ol-interval", ["--ol-interval", "soon", "--", "touch", "ran"]),
        ("bad --ol-retries", ["--ol-retries", "-1", "--", "touch", "ran"]),
    ]
    link = os.path.join(w.path, "link.spool")
    os.symlink("/etc/passwd", link)
    cases.append(("a spool that is a symlink", ["--ol-url", url, "--ol-spool", link, "--", "touch", "ran"]))
    for name, args in cases:
        p = subprocess.run([ZCAP, "lineage", *args], capture_output=True, text=True, cwd=w.path,
                           env=env_without_ol())
        lines = p.stderr.strip().splitlines()
        t.ok(p.returncode == 2 and len(lines) == 1 and lines[0].startswith("zcap: ") and
             not os.path.exists(os.path.join(w.path, "ran")),
             f"usage: {name}: exit 2, one line, CMD not run", f"rc={p.returncode} stderr={p.stderr!r}")
    w.cleanup()


def main():
    t = Tap()
    port = free_port()
    srv = OLServer(port).start()
    try:
        scenario_up(t, srv)
        srv.stored.clear()
        scenario_fault(t, srv, "500s", lambda: srv.fail(3, 500), ["--ol-retries", "3"], 3,
                       lambda fails: t.eq((srv.answered.get(500), sum("HTTP 500" in f for f in fails)), (3, 3),
                                          "500s: the server answered 500 three times, three lines say so"))
        srv.stored.clear()
        scenario_fault(t, srv, "slow", lambda: srv.hang(2), ["--ol-retries", "2", "--ol-timeout", "1"], 2,
                       lambda fails: t.eq((srv.abandoned, sum("timed out" in f for f in fails)), (2, 2),
                                          "slow: two POSTs timed out (the server dropped both), two lines"),
                       key="s3cret")
        srv.stored.clear()
        scenario_file_agrees(t, srv)
        srv.stored.clear()
        scenario_401(t, srv, port)
        srv.stored.clear()
        scenario_running(t, srv)
    finally:
        srv.stop()
    scenario_down_at_start(t, port)
    scenario_down_in_middle(t, port)
    scenario_back_before_end(t, port)
    scenario_spool_unwritable(t, port)
    scenario_usage(t, port)
    t.done()


main()
