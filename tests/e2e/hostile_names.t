#!/usr/bin/python3
"""Hostile names through every output format (issue 11, items 4 and 5).

A workload whose processes take comms with a newline, ESC sequences,
quotes, brackets and invalid UTF-8, and that open, read, write and
sendfile files named with `\\n`, `\\t`, quotes, ESC, a backslash, invalid
UTF-8 and a 4000-byte path, with those names in argv too. zcap records it
as text, JSON Lines, pcap-ng and lineage JSON / OpenLineage / PROV / DOT.
Every output must parse with a strict oracle (Python's UTF-8 decoder and
json, tshark, dot), hold no raw control byte where a reader would act on
it, and give back the original bytes: text and pcap-ng comments by
undoing zcap's C-style escapes, JSON through `K` / `K_b64`
(docs/event-schema.md), DOT through its node names.
"""
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import pcapng_helpers as ph  # noqa: E402

ZCAP = ph.ZCAP
NAMES = [b"new\nline.txt", b"newline.txt", b"tab\there.txt", b"quo\"te's.txt",
         b"esc\x1b[31mred\x1b]0;title\x07.txt", b"bad\xff\xfe.txt", b"back\\slash\\",
         b"sp ace [1] x.txt"]
COMMS = [b"x\nto pid 1", b"c\x1b[2Jm", b"\xff\xfebad", b'q"[1] fd 9']

WORKLOAD = r"""
import ctypes, os, socket, sys
libc = ctypes.CDLL(None)
paths = [os.fsencode(a) for a in sys.argv[2:]]
comms = [bytes.fromhex(c) for c in sys.argv[1].split(",")]
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(16)
for comm in comms:
    if os.fork() == 0:
        libc.prctl(15, ctypes.c_char_p(comm))  # PR_SET_NAME
        for p in paths:
            with open(p, "rb") as f:
                data = f.read()
            with open(p + b".out", "wb") as f:
                f.write(data)
        c = socket.create_connection(srv.getsockname())
        c.sendall(b"hello from " + comm)
        for p in paths:
            fd = os.open(p, os.O_RDONLY)
            os.sendfile(c.fileno(), fd, 0, 64)
            os.close(fd)
        c.close()
        os._exit(0)
    a, _ = srv.accept()
    while a.recv(65536):
        pass
    a.close()
    os.wait()
"""


def c_escape(raw, word=False):
    """zcap's C-style escape (user/escape.c) in Python, for the oracle."""
    out = []
    for b in raw:
        ch = bytes([b])
        if ch == b"\n":
            out.append("\\n")
        elif ch == b"\r":
            out.append("\\r")
        elif ch == b"\t":
            out.append("\\t")
        elif ch in (b'"', b"\\"):
            out.append("\\" + ch.decode())
        elif b < 0x20 or b >= 0x7f or (word and ch in b" []"):
            out.append("\\x%02x" % b)
        else:
            out.append(ch.decode())
    return "".join(out)


def c_unescape(text):
    out, i = bytearray(), 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            n = text[i + 1]
            if n == "x":
                out.append(int(text[i + 2:i + 4], 16))
                i += 4
                continue
            out += {"n": b"\n", "r": b"\r", "t": b"\t"}.get(n, n.encode())
            i += 2
        else:
            out += text[i].encode()
            i += 1
    return bytes(out)


def raw_of(obj, key):
    """The exact bytes of a JSON text field: K_b64 if present, else K."""
    if key + "_b64" in obj:
        return base64.b64decode(obj[key + "_b64"], validate=True)
    return obj[key].encode()


def argv_ok(got, cmd):
    """argv as captured: every argument exact; the kernel's argv limit may
    cut the last (the 4000-byte path) short."""
    return len(got) == len(cmd) and got[:-1] == cmd[:-1] and cmd[-1].startswith(got[-1])


def strict_json_lines(data, what):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, "%s is not UTF-8: %s" % (what, e)
    recs = []
    for i, line in enumerate(text.splitlines(), 1):
        try:
            recs.append(json.loads(line))
        except ValueError as e:
            return None, "%s line %d: %s" % (what, i, e)
    return recs, ""


def workload(work):
    d = os.path.join(work, "d")
    os.makedirs(d)
    paths = [os.path.join(d.encode(), n) for n in NAMES]
    # a 4000-byte path: nested 200-byte directories
    long = d.encode()
    while len(long) < 3700:
        long = os.path.join(long, b"L" * 200)
    os.makedirs(long)
    paths.append(os.path.join(long, b"n" * (3990 - len(long))))
    for i, p in enumerate(paths):
        with open(p, "wb") as f:
            f.write(b"content %d\n" % i)
    script = os.path.join(work, "w.py")
    with open(script, "w") as f:
        f.write(WORKLOAD)
    cmd = [sys.executable.encode(), script.encode(),
           ",".join(c.hex() for c in COMMS).encode()] + paths
    return paths, cmd


def zcap(args, cmd, out):
    p = subprocess.run([ZCAP.encode()] + [a.encode() if isinstance(a, str) else a
                                          for a in args] + [b"-o", out, b"--"] + cmd,
                       capture_output=True, timeout=180, stdin=subprocess.DEVNULL)
    with open(out, "rb") as f:
        data = f.read()
    return p, data


def check_text(work, paths, cmd):
    p, data = zcap(["record", "-q", "-s", "0"], cmd, os.path.join(work, "o.txt"))
    bad = [ln for ln in data.split(b"\n") if any(b < 0x20 or b >= 0x7f for b in ln)]
    tap.ok(p.returncode == 0 and data and not bad,
           "text: every line printable ASCII (no newline, ESC or invalid byte from a name)",
           "rc=%d %r %r" % (p.returncode, bad[:3], p.stderr[-300:]))
    text = data.decode()
    opened = {c_unescape(m) for m in re.findall(r'openat\("((?:[^"\\]|\\.)*)"', text)}
    tap.is_(set(paths) - opened, set(), "text: every hostile path round-trips from its "
            "escaped open line")
    comms = {c_unescape(m) for m in re.findall(r"^\d\d:\d\d:\d\d\.\d{6} (\S+)\[\d+", text, re.M)}
    tap.is_(set(COMMS) - comms, set(), "text: every hostile comm round-trips from the prefix "
            "(one word, before the [pid])")
    argv = [ln for ln in text.splitlines() if " exec [" in ln and "w.py" in ln]
    got = [c_unescape(a) for a in re.findall(r'"((?:[^"\\]|\\.)*)"', argv[0])] if argv else []
    tap.ok(argv_ok(got, cmd), "text: argv escaped, each in its quotes, round-trips",
           [a[:80] for a in got])


def check_json(work, paths, cmd):
    p, data = zcap(["record", "-q", "--json", "-s", "0"], cmd, os.path.join(work, "o.json"))
    recs, why = strict_json_lines(data, "JSON Lines")
    tap.ok(p.returncode == 0 and recs, "JSON Lines: strict UTF-8, every line parses", why)
    recs = recs or []
    got = {raw_of(r, "path") for r in recs if r.get("type") == "fd" and "path" in r}
    tap.is_(set(paths) - got, set(), "JSON: every hostile path round-trips (path / path_b64)")
    comms = {raw_of(r, "comm") for r in recs if "comm" in r}
    tap.is_(set(COMMS) - comms, set(), "JSON: every hostile comm round-trips (comm / comm_b64)")
    execs = [r for r in recs if r.get("syscall") == "exec" and "argv" in r]
    ok = any(argv_ok([base64.b64decode(a) for a in r["argv_b64"]] if "argv_b64" in r else
                     [a.encode() for a in r["argv"]], cmd) for r in execs)
    tap.ok(ok, "JSON: argv round-trips (argv / argv_b64)")
    bodies = {raw_of(r["source"], "path") for r in recs
              if r.get("type") == "body" and "path" in r.get("source", {})}
    tap.is_(set(paths) - bodies, set(), "JSON: the sendfile bodies' source paths round-trip")


def check_pcapng(work, paths, cmd):
    out = os.path.join(work, "o.pcapng")
    p, _ = zcap(["record", "-q"], cmd, out)
    _, err = ph.tshark(out, [])
    tap.ok(p.returncode == 0 and not err, "pcap-ng: tshark reads the file",
           "rc=%d %s %r" % (p.returncode, err, p.stderr[-300:]))
    comments = []
    for b in ph.pcapng_blocks(out):
        if b["type"] == ph.BT_EPB:
            comments += [v for v in ph.option(b, 1)]
    bad = [c for c in comments if any(x < 0x20 or x >= 0x7f for x in c)]
    tap.ok(comments and not bad, "pcap-ng: %d comments, each printable ASCII, one line"
           % len(comments), bad[:3])
    owner = re.compile(r"^(to )?pid \d+ tid \d+ comm (\S+)( fd \d+)?$")
    owners = [c.decode() for c in comments if re.match(rb"(to )?pid ", c)]
    strays = [c for c in owners if not owner.match(c)]
    comms = {c_unescape(owner.match(c)[2]) for c in owners if owner.match(c)}
    tap.ok(not strays and not set(COMMS) - comms,
           "pcap-ng: every owner comment is exactly pid/tid/comm[/fd]; the comms round-trip",
           "strays %r missing %r" % (strays[:3], set(COMMS) - comms))
    srcs = set()
    for c in comments:
        m = re.match(r"^sendfile (.*) \[\d+, \d+\)$", c.decode())
        if m:
            srcs.add(c_unescape(m[1]))
    tap.is_(set(paths) - srcs, set(), "pcap-ng: the sendfile source comments name every "
            "hostile path, escaped")


def lineage(work, fmt, cmd):
    out = os.path.join(work, "l." + fmt)
    p = subprocess.run([ZCAP.encode(), b"lineage", b"--format", fmt.encode(), b"-o",
                        out.encode(), b"--"] + cmd, capture_output=True, timeout=180,
                       stdin=subprocess.DEVNULL)
    with open(out, "rb") as f:
        return p, f.read()


def check_lineage(work, paths, cmd):
    outs = set(paths) | {q + b".out" for q in paths}
    p, data = lineage(work, "json", cmd)
    recs, why = strict_json_lines(data.replace(b"\n", b" "), "lineage JSON")
    tap.ok(p.returncode == 0 and recs, "lineage JSON: strict UTF-8, parses", why)
    rec = recs[0] if recs else {"files": [], "processes": [], "edges": []}
    got = {raw_of(f, "path") for f in rec["files"]}
    tap.is_(outs - got, set(), "lineage JSON: inputs and outputs round-trip (path / path_b64)")
    ends = {raw_of(e, k) for e in rec["edges"] for k in ("from", "to")}
    tap.is_({b"file:" + q for q in outs} - ends, set(), "lineage JSON: edge ends round-trip")
    argvs = [[base64.b64decode(a) for a in x["argv_b64"]] if "argv_b64" in x else
             [a.encode() for a in x["argv"]] for x in rec["processes"]]
    tap.ok(any(argv_ok(a, cmd) for a in argvs), "lineage JSON: the processes' argv round-trip")

    p, data = lineage(work, "prov", cmd)
    recs, why = strict_json_lines(data.replace(b"\n", b" "), "PROV")
    ents = recs[0]["entity"].values() if recs else []
    # file entities (TCP connections are entities too, with no path)
    got = {raw_of(e, "zcap:path") for e in ents if "zcap:path" in e or "zcap:path_b64" in e}
    tap.ok(p.returncode == 0 and recs and not outs - got,
           "PROV: strict UTF-8, parses, every file entity's path round-trips (zcap:path_b64)",
           why or outs - got)

    p, data = lineage(work, "openlineage", cmd)
    recs, why = strict_json_lines(data, "OpenLineage")
    names = set()
    for ev in recs or []:
        for ds in ev.get("inputs", []) + ev.get("outputs", []):
            z = ds.get("facets", {}).get("zcap_path")
            names.add(base64.b64decode(z["path_b64"]) if z else ds["name"].encode())
    tap.ok(p.returncode == 0 and recs and not outs - names,
           "OpenLineage: strict UTF-8, every line parses, every dataset's path round-trips",
           why or outs - names)

    p, data = lineage(work, "dot", cmd)
    d = subprocess.run(["dot", "-Tjson"], input=data, capture_output=True, timeout=60)
    try:
        graph = json.loads(d.stdout.decode())
    except ValueError as e:
        graph = {"objects": []}
        tap.diag("dot -Tjson: %s %s" % (e, d.stderr[-300:]))
    # a node's id is zcap's escaped text with \" read as "
    nodes = [o["name"] for o in graph.get("objects", []) if "name" in o]
    got = {c_unescape(n.replace('"', '\\"')) for n in nodes}
    tap.ok(p.returncode == 0 and d.returncode == 0 and
           not {b"file:" + q for q in outs} - got and len(nodes) == len(set(nodes)),
           "DOT: dot reads it; every path is its own node, round-tripping (new\\nline.txt "
           "and newline.txt stay apart)", d.stderr[-300:])


def main():
    tap.plan(4 + 5 + 4 + 4 + 3)
    work = tempfile.mkdtemp(prefix="zcap-hostile-")
    try:
        paths, cmd = workload(work)
        check_text(work, paths, cmd)
        check_json(work, paths, cmd)
        check_pcapng(work, paths, cmd)
        check_lineage(work, paths, cmd)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
