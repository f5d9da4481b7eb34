#!/usr/bin/python3
"""zcap lineage: datasets that join across hosts.

Two "hosts" made by the test: two network namespaces joined by a veth pair
(addresses private to those namespaces), each with its own UTS namespace and
host name. Host A runs `zcap lineage -- python3` serving a file over HTTP,
host B `zcap lineage -- curl` fetching it. The TCP connection must be the
same dataset (namespace tcp://SERVER:PORT, name CLIENT:PORT) in both records:
the server's input is the client's output and the other way round, in the
native JSON, OpenLineage and PROV outputs, with the bytes curl itself counted.
Files keep per-host namespaces (file://hostA vs file://hostB).
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from lineage_helpers import ZCAP, Tap, Workdir, schema_errors  # noqa: E402

t = Tap()
tag = str(os.getpid())
NS_A, NS_B = "zlA" + tag, "zlB" + tag
VETH_A, VETH_B = "zla" + tag, "zlb" + tag
ADDR_A, ADDR_B, PORT = "10.213.77.1", "10.213.77.2", 8077  # only inside the test's namespaces
w = Workdir()
root = os.path.realpath(w.path)
DATA = b"".join(b"line %05d of the served file\n" % i for i in range(2000))


def sh(*cmd):
    subprocess.run(cmd, check=True)


def cleanup():
    for ns in (NS_A, NS_B):
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


SERVER = f"""
import functools, http.server
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory='.')
s = http.server.HTTPServer(('{ADDR_A}', {PORT}), h)
open('ready', 'w').close()
s.handle_request()
"""


def on_host(ns, host, cwd, fmt_args, cmd):
    """zcap lineage in namespace ns, as host name `host`, writing one record per format."""
    script = f"hostname {host} && " + " && ".join(
        f"{ZCAP} lineage -o {cwd}/{host}.{fmt} --format {fmt} -- {cmd}" for fmt in fmt_args)
    return ["ip", "netns", "exec", ns, "unshare", "--uts", "sh", "-c", script]


try:
    sh("ip", "netns", "add", NS_A)
    sh("ip", "netns", "add", NS_B)
    sh("ip", "link", "add", VETH_A, "netns", NS_A, "type", "veth", "peer", "name", VETH_B, "netns", NS_B)
    for ns, dev, addr in ((NS_A, VETH_A, ADDR_A), (NS_B, VETH_B, ADDR_B)):
        sh("ip", "-n", ns, "addr", "add", addr + "/24", "dev", dev)
        sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    a_dir, b_dir = os.path.join(root, "a"), os.path.join(root, "b")
    os.mkdir(a_dir)
    os.mkdir(b_dir)
    with open(os.path.join(a_dir, "data.txt"), "wb") as f:
        f.write(DATA)
    with open(os.path.join(a_dir, "server.py"), "w") as f:
        f.write(SERVER)
    recs = {}
    for fmt in ("json", "openlineage", "prov"):
        for p in ("ready", "got.txt"):
            for d in (a_dir, b_dir):
                if os.path.exists(os.path.join(d, p)):
                    os.unlink(os.path.join(d, p))
        srv = subprocess.Popen(on_host(NS_A, "hostA", a_dir, [fmt], "python3 server.py"), cwd=a_dir,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while not os.path.exists(os.path.join(a_dir, "ready")) and srv.poll() is None:
            time.sleep(0.05)  # waiting for the server to listen, not timing anything
        cli = subprocess.run(on_host(NS_B, "hostB", b_dir, [fmt],
                                     "curl -sS -o got.txt -w '%{size_request} %{size_header} "
                                     f"%{{size_download}}' http://{ADDR_A}:{PORT}/data.txt"),
                             cwd=b_dir, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        srv_err = srv.communicate(timeout=120)[1]
        t.eq((srv.returncode, cli.returncode), (0, 0),
             f"{fmt}: both zcap runs exit 0 ({srv_err.decode()[-300:]} {cli.stderr.decode()[-300:]})")
        with open(os.path.join(b_dir, "got.txt"), "rb") as f:
            t.ok(f.read() == DATA, f"{fmt}: curl fetched the file across the veth")
        sent, hdr, body = map(int, cli.stdout.split())
        for host, d in (("hostA", a_dir), ("hostB", b_dir)):
            with open(os.path.join(d, f"{host}.{fmt}")) as f:
                text = f.read()
            recs[(fmt, host)] = text
        recs[(fmt, "curl")] = (sent, hdr + body)

    # ---- native JSON -------------------------------------------------------------
    ra, rb = json.loads(recs[("json", "hostA")]), json.loads(recs[("json", "hostB")])
    t.eq((schema_errors(ra), schema_errors(rb)), ([], []), "json: both records match the schema")
    t.eq((ra["host"], rb["host"]), ("hostA", "hostB"), "json: each record names its host")
    sent, received = recs[("json", "curl")]
    da = [d for d in ra["tcp_datasets"] if d["namespace"] == f"tcp://{ADDR_A}:{PORT}"]
    db = [d for d in rb["tcp_datasets"] if d["namespace"] == f"tcp://{ADDR_A}:{PORT}"]
    t.eq((len(da), len(db)), (1, 1), "json: one connection dataset on each host, namespace tcp://SERVER:PORT")
    if da and db:
        t.eq(da[0]["name"], db[0]["name"], "json: server and client name it alike")
        t.ok(da[0]["name"].startswith(ADDR_B + ":"), f"json: its name is the client end ({da[0]['name']})")
        t.eq((db[0]["bytes_sent"], db[0]["bytes_received"]), (sent, received),
             "json: client's bytes sent/received are curl's size_request and size_header+size_download")
        t.eq((da[0]["bytes_received"], da[0]["bytes_sent"]), (sent, received),
             "json: server received what the client sent and sent what it received")

    # ---- OpenLineage -----------------------------------------------------------
    def ol_sets(text):
        ins, outs = set(), set()
        for line in text.splitlines():
            ev = json.loads(line)
            ins |= {(d["namespace"], d["name"]) for d in ev["inputs"]}
            outs |= {(d["namespace"], d["name"]) for d in ev["outputs"]}
        return ins, outs

    a_in, a_out = ol_sets(recs[("openlineage", "hostA")])
    b_in, b_out = ol_sets(recs[("openlineage", "hostB")])
    a_tcp = {d for d in a_in | a_out if d[0].startswith("tcp://")}
    b_tcp = {d for d in b_in | b_out if d[0].startswith("tcp://")}
    t.eq(len(a_tcp), 1, f"openlineage: the server has one tcp dataset {sorted(a_tcp)}")
    conn = next(iter(a_tcp)) if a_tcp else None
    t.ok(conn is not None and conn in b_out and conn in a_in,
         "openlineage: the client's output dataset is the server's input dataset")
    t.ok(conn is not None and conn in a_out and conn in b_in,
         "openlineage: the server's output dataset is the client's input dataset")
    t.eq(b_tcp, a_tcp, "openlineage: the same (namespace, name) on both hosts")
    t.ok(("file://hostA", os.path.join(a_dir, "data.txt")) in a_in,
         "openlineage: the served file is an input in namespace file://hostA")
    t.ok(("file://hostB", os.path.join(b_dir, "got.txt")) in b_out,
         "openlineage: curl's output file is in namespace file://hostB")

    # ---- PROV ------------------------------------------------------------------
    pa, pb = json.loads(recs[("prov", "hostA")]), json.loads(recs[("prov", "hostB")])
    ea = {k for k, v in pa["entity"].items() if v.get("prov:type") == "zcap:tcp"}
    eb = {k for k, v in pb["entity"].items() if v.get("prov:type") == "zcap:tcp"}
    t.eq((len(ea), ea), (1, eb), "prov: one tcp entity, the same id on both hosts")
    if ea:
        ent = next(iter(ea))
        t.ok(any(r["prov:entity"] == ent for r in pb["wasGeneratedBy"].values()) and
             any(r["prov:entity"] == ent for r in pa["used"].values()),
             "prov: generated by the client, used by the server")
finally:
    cleanup()
    w.cleanup()
t.done()
