#!/usr/bin/python3
"""curl <-> python3 -m http.server on 127.0.0.1, both ends captured at once:
request and response bytes exact on both sides, against curl's own record
of what it received (-D headers, -o body) and the served file."""
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402


def stream(records, pid, direction):
    """Bytes one process moved over its TCP sockets in one direction, in order."""
    recs = [r for r in zt.io_records(records, pid=pid, dir=direction) if r.get("fd_kind") == "tcp"]
    recs.sort(key=lambda r: r["ts_ns"])
    assert not any(r["truncated"] for r in recs), "snaplen 0 must not truncate"
    return b"".join(zt.payload_of(r) for r in recs)


def main():
    tap.plan(9)
    work = tempfile.mkdtemp(prefix="zcap-http-")
    body = zt.random_payload(os.path.join(work, "file.bin"), 200000, seed=7)
    port = zt.free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                              cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        h = zt.start_record(["-s", "0", "-e", "io", "--port", str(port)])
        h.wait_ready()
        curl = subprocess.run(["curl", "-s", "-A", "zcap-test", "-H", "Accept: x/y",
                               "-D", os.path.join(work, "headers"), "-o", os.path.join(work, "body"),
                               "http://127.0.0.1:%d/file.bin" % port], check=False)
        time.sleep(0.3)
        rc, records, err = h.stop()
    finally:
        server.terminate()
        server.wait()
    tap.is_(curl.returncode, 0, "curl fetched the file")
    tap.is_(rc, 0, "zcap exited 0 on SIGINT")

    request = ("GET /file.bin HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: zcap-test\r\n"
               "Accept: x/y\r\n\r\n" % port).encode()
    curl_pid = curl_pids = {r["pid"] for r in zt.io_records(records) if r["comm"] == "curl"}
    tap.is_(len(curl_pids), 1, "one curl process seen")
    curl_pid = curl_pids.pop() if curl_pids else -1
    srv_pid = server.pid
    sent = stream(records, curl_pid, "out")
    tap.is_(sent, request, "curl's request bytes exact")
    tap.is_(stream(records, srv_pid, "in"), request, "the server received exactly those bytes")

    with open(os.path.join(work, "headers"), "rb") as f:
        headers = f.read()
    with open(os.path.join(work, "body"), "rb") as f:
        got_body = f.read()
    received = stream(records, curl_pid, "in")
    tap.is_(got_body, body, "curl's body is the file (oracle sanity)")
    tap.is_(received, headers + got_body, "curl's received bytes = its headers + body, exactly")
    tap.is_(stream(records, srv_pid, "out"), received, "the server sent exactly what curl received")
    io = zt.io_records(records, pid=curl_pid, dir="out")
    tap.ok(all(r["lport"] != port and r["rport"] == port and r["raddr"] == "127.0.0.1"
               for r in io if r["fd_kind"] == "tcp"), "curl's socket addresses: 127.0.0.1:%d" % port)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
