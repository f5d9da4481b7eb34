#!/usr/bin/python3
"""zcap lineage: output formats (native JSON against docs/lineage.schema.json,
OpenLineage 2-0-2 against tests/openlineage/, W3C PROV-JSON, Graphviz), the
output file, the command line, stdio pass-through and --user."""
import hashlib
import json
import os
import re
import subprocess
import sys

import jsonschema

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from lineage_helpers import (ROOT, ZCAP, Tap, Workdir, ol_core_errors,  # noqa: E402
                             ol_facet_errors, ol_schemas, ol_validator, run_lineage)
import socket  # noqa: E402

FILE_NS = "file://" + socket.gethostname()  # OpenLineage naming: local files are file://HOST

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
PIPELINE = ["sh", "-c", "cat in.txt | gzip -n > out.gz; sh -c 'exit 4'; true"]


def sha_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def usage_error(t, name, args):
    p = subprocess.run([ZCAP, "lineage", *args], capture_output=True, text=True)
    lines = p.stderr.strip().splitlines()
    t.ok(p.returncode == 2 and not p.stdout and len(lines) == 1 and lines[0].startswith("zcap: "),
         f"usage error: {name}", f"rc={p.returncode} stderr={p.stderr!r}")


def check_json(t, w):
    rc, text, err, mode = run_lineage(PIPELINE, w.path)
    rec = json.loads(text)
    with open(os.path.join(ROOT, "docs", "lineage.schema.json")) as f:
        schema = json.load(f)
    errs = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(rec)]
    t.eq(errs, [], "native JSON is valid against docs/lineage.schema.json")
    t.eq((rc, mode), (0, 0o600), "exit code of CMD, output file 0600")
    names = sorted((p["argv"] or ["?"])[0] for p in rec["processes"])
    t.eq(names, ["cat", "gzip", "sh", "sh"], "processes: the shell, cat, gzip, the sub-shell")
    root = rec["processes"][0]
    t.eq((root["argv"], root["exit_code"], rec["exit_code"]), (PIPELINE, 0, 0), "the root process and its exit code")
    t.eq(sorted(p["exit_code"] for p in rec["processes"]), [0, 0, 0, 4], "every exit code, the sub-shell's 4 too")
    t.ok(all(p["ppid"] == root["pid"] for p in rec["processes"][1:]), "children's ppid is the shell")


def check_openlineage(t, w):
    rc, text, err, _ = run_lineage(PIPELINE, w.path, fmt="openlineage")
    store = ol_schemas()
    core = store["https://openlineage.io/spec/2-0-2/OpenLineage.json"]
    validator = ol_validator(core, store)
    events = [json.loads(line) for line in text.splitlines()]
    t.eq(ol_core_errors(events, store), [], f"{len(events)} OpenLineage RunEvents valid against the 2-0-2 schema")
    # every standard facet against its own published schema, named by its _schemaURL
    used = set()
    ferrs = ol_facet_errors(events, store, used)
    t.eq(ferrs, [], "every standard facet valid against its own schema")
    t.eq(sorted(u.split("#")[0].split("/")[-1] for u in used),
         ["DatasetVersionDatasetFacet.json", "JobTypeJobFacet.json",
          "LifecycleStateChangeDatasetFacet.json", "ParentRunFacet.json"],
         "the parent, jobType, version and lifecycleStateChange facets were all checked")
    # the validators reject what the spec rejects (they are not vacuous)
    bad_id, no_ns = json.loads(json.dumps(events[-1])), json.loads(json.dumps(events[-1]))
    bad_id["run"]["runId"] = "not-a-uuid"
    del no_ns["job"]["namespace"]
    parent = next((ev["run"]["facets"]["parent"] for ev in events if "parent" in ev["run"].get("facets", {})), {})
    pvalidator = ol_validator({"$ref": parent.get("_schemaURL", "")}, store)
    t.ok(not validator.is_valid(bad_id) and not validator.is_valid(no_ns) and
         pvalidator.is_valid(parent) and not pvalidator.is_valid(dict(parent, run={})),
         "a bad runId, a missing job namespace and a parent facet without runId are rejected")
    t.ok(all(UUID.match(ev["run"]["runId"]) and TIME.match(ev["eventTime"]) for ev in events),
         "runId is a UUID, eventTime RFC 3339")
    runs = {}
    for ev in events:
        runs.setdefault(ev["run"]["runId"], []).append(ev)
    kinds = sorted(tuple(e["eventType"] for e in evs) for evs in runs.values())
    t.eq(kinds, [("START", "COMPLETE")] * 3 + [("START", "FAIL")],
         "a START and a COMPLETE/FAIL per process; the failing sub-shell FAILs")
    jobs = {evs[0]["job"]["name"]: evs for evs in runs.values()}
    t.eq(sorted(jobs), ["sh", "sh/cat", "sh/gzip", "sh/sh"], "a job per process, named along the tree")
    root_id = jobs["sh"][0]["run"]["runId"]
    parents = {n: evs[0]["run"]["facets"].get("parent", {}).get("run", {}).get("runId")
               for n, evs in jobs.items()}
    t.eq(parents, {"sh": None, "sh/cat": root_id, "sh/gzip": root_id, "sh/sh": root_id},
         "ParentRunFacet links every child run to the shell's run")
    cat_in = [(d["namespace"], d["name"], d["facets"]["version"]["datasetVersion"])
              for d in jobs["sh/cat"][1]["inputs"] if d["name"].startswith(w.path)]
    t.eq(cat_in, [(FILE_NS, os.path.join(w.path, "in.txt"), sha_file(os.path.join(w.path, "in.txt")))],
         "cat's input: in.txt in namespace file://HOST, SHA-256 as dataset version")
    gz_out = [(d["namespace"], d["name"], d["facets"]["version"]["datasetVersion"],
               d["facets"]["lifecycleStateChange"]["lifecycleStateChange"])
              for d in jobs["sh/gzip"][1]["outputs"]]
    out = os.path.join(w.path, "out.gz")
    t.eq(gz_out, [(FILE_NS, out, sha_file(out), "CREATE")], "gzip's output: out.gz, its final SHA-256, CREATE")


def check_prov(t, w):
    rc, text, err, _ = run_lineage(PIPELINE, w.path, fmt="prov")
    doc = json.loads(text)
    inp, out = "zcap:file:%s/in.txt#before" % w.path, "zcap:file:%s/out.gz#after" % w.path
    t.ok(inp in doc["entity"] and out in doc["entity"] and
         doc["entity"][out]["zcap:sha256"] == sha_file(os.path.join(w.path, "out.gz")),
         "PROV entities: in.txt (before) and out.gz (after, with its SHA-256)")
    acts = {a: v["prov:label"] for a, v in doc["activity"].items()}
    gen = [(acts.get(r["prov:activity"])) for r in doc["wasGeneratedBy"].values() if r["prov:entity"] == out]
    used = [acts.get(r["prov:activity"]) for r in doc["used"].values() if r["prov:entity"] == inp]
    t.eq((gen, used), (["gzip"], ["cat"]), "wasGeneratedBy(out.gz, gzip), used(cat, in.txt)")
    der = {(r["prov:generatedEntity"], r["prov:usedEntity"]) for r in doc["wasDerivedFrom"].values()}
    t.ok((out, inp) in der, "wasDerivedFrom(out.gz, in.txt) through the pipe")
    inf = {(acts.get(r["prov:informed"]), acts.get(r["prov:informant"])) for r in doc["wasInformedBy"].values()}
    t.ok(("gzip", "cat") in inf, "wasInformedBy(gzip, cat): the pipe", inf)


def check_dot(t, w):
    rc, text, err, _ = run_lineage(PIPELINE + ["x\"y"], w.path, fmt="dot")
    p = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True)
    t.ok(p.returncode == 0 and "<svg" in p.stdout, "dot -Tsvg renders the graph", p.stderr)
    t.ok(f'"file:{w.path}/in.txt"' in text and f'"file:{w.path}/out.gz"' in text,
         "the graph has in.txt and out.gz")


def check_cli(t, w):
    usage_error(t, "bad --format", ["--format", "xml", "--", "true"])
    usage_error(t, "missing command", ["-o", "/tmp/x"])
    usage_error(t, "nothing after --", ["--"])
    usage_error(t, "stray argument", ["true"])
    usage_error(t, "output in a missing directory", ["-o", "/nonexistent/dir/x", "--", "true"])
    usage_error(t, "unknown --user", ["--user", "no-such-user-zcap", "--", "true"])
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ZCAP,
                        "lineage", "--", "true"], capture_output=True, text=True)
    t.ok(p.returncode == 2 and "run as root" in p.stderr, "not root: exit 2, clear message", p.stderr)
    p = subprocess.run([ZCAP, "lineage", "--help"], capture_output=True, text=True)
    t.ok(p.returncode == 0 and "--format" in p.stdout and "Exit status" in p.stdout, "--help teaches")
    p = subprocess.run([ZCAP, "lineage", "--", "/nonexistent/cmd"], capture_output=True, text=True)
    t.eq(p.returncode, 127, "a command that does not exist: 127")

    # stdio passes through; the record replaces an existing file whole, 0600
    out = os.path.join(w.path, "rec.json")
    with open(out, "w") as f:
        f.write("old")
    os.chmod(out, 0o644)
    p = subprocess.run([ZCAP, "lineage", "-o", out, "--", "tr", "a-z", "A-Z"], input="abc\n",
                       capture_output=True, text=True, cwd=w.path)
    with open(out) as f:
        rec = json.load(f)
    leftovers = [n for n in os.listdir(w.path) if ".zcap-" in n]
    t.ok(p.returncode == 0 and p.stdout == "ABC\n" and rec["command"] == ["tr", "a-z", "A-Z"] and
         os.stat(out).st_mode & 0o777 == 0o600 and not leftovers,
         "stdin/stdout pass through; -o replaced whole, 0600, no temporary left",
         f"rc={p.returncode} out={p.stdout!r} leftovers={leftovers}")

    # --user: CMD runs unprivileged, still traced
    os.chmod(w.path, 0o777)
    rc, text, err, _ = run_lineage(["sh", "-c", "id -u > uid.txt"], w.path, extra=["--user", "nobody"])
    rec = json.loads(text)
    with open(os.path.join(w.path, "uid.txt")) as f:
        uid = f.read().strip()
    t.ok(rc == 0 and uid == "65534" and any(x["path"] == os.path.join(w.path, "uid.txt") and x["written"]
                                            for x in rec["files"]),
         "--user nobody: CMD ran as 65534 and its write was recorded", f"uid={uid} {err}")


def main():
    t = Tap()
    w = Workdir()
    try:
        for check in (check_json, check_openlineage, check_prov, check_dot):
            w.reset({"in.txt": "lineage formats\n" * 50})
            check(t, w)
        w.reset({})
        check_cli(t, w)
    finally:
        w.cleanup()
    t.done()


main()
