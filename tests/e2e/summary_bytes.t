#!/usr/bin/python3
"""The summary counts every payload byte captured, zero-copy bodies too
(issue 11, item 11): a sendfile of an 8 MiB file over TCP, captured whole
(-s 0), is 8 MiB of body bytes in the JSON summary ("body_bytes", and in
"bytes") and on the stderr summary line."""
import base64
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402

SIZE = 8 << 20
CLIENT = r"""
import os, socket, sys, threading
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
def drain():
    a, _ = srv.accept()
    while a.recv(1 << 20):
        pass
t = threading.Thread(target=drain)
t.start()
c = socket.create_connection(srv.getsockname())
fd = os.open(sys.argv[1], os.O_RDONLY)
off = 0
while off < %d:
    off += os.sendfile(c.fileno(), fd, off, %d - off)
c.close()
t.join()
""" % (SIZE, SIZE)


def main():
    tap.plan(2)
    with tempfile.TemporaryDirectory(prefix="zcap-sum-") as work:
        src = os.path.join(work, "big.bin")
        zt.random_payload(src, SIZE, seed=111)
        p = subprocess.run([zt.ZCAP, "record", "--json", "-s", "0", "-e", "body", "--",
                            sys.executable, "-c", CLIENT, src], capture_output=True,
                           timeout=300, stdin=subprocess.DEVNULL)
        recs = zt.parse_jsonl(p.stdout.decode())
        body = sum(len(base64.b64decode(r["data"])) for r in recs if r.get("type") == "body")
        summary = recs[-1] if recs else {}
        tap.ok(p.returncode == 0 and body == SIZE and summary.get("body_bytes") == SIZE and
               summary.get("bytes") == SIZE,
               "JSON summary: body_bytes and bytes count the %d-byte sendfile body" % SIZE,
               "rc=%d bodies %d summary %r" % (p.returncode, body, summary))
        err = p.stderr.decode(errors="replace")
        m = re.search(r"(\d+) payload bytes captured \((\d+) in zero-copy bodies\)", err)
        tap.ok(m and int(m[1]) == SIZE and int(m[2]) == SIZE,
               "stderr summary: %d payload bytes, all of them in zero-copy bodies" % SIZE, err)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
