#!/usr/bin/python3
"""Zero-copy bodies from real servers (docs/zerocopy.md).

nginx (`sendfile on;`) serves random files of 1 KiB, 64 KiB, 1 MiB and
10 MiB to curl: at -s 0 the captured bodies equal each file byte for byte,
name it as their source and cover [0, size) exactly once.

haproxy 2.6 in `mode tcp` with splice-request/splice-response in front of
nginx: the response crosses haproxy through a pipe (socket -> pipe ->
socket). Each socket's bytes are captured once: haproxy's client-side
stream (bodies and plain sends, in order) is exactly what curl received,
and nginx's sendfile bodies are the files again."""
import base64
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402

SIZES = (1024, 65536, 1 << 20, 10 << 20)
SEND_CALLS = ("write", "writev", "sendto", "sendmsg", "sendmmsg", "pwritev", "pwritev2")


def wait_port(port, proc, what):
    for _ in range(200):
        if proc.poll() is not None:
            tap.bail_out("%s exited %d at start" % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    tap.bail_out("%s does not listen on %d" % (what, port))


def start_nginx(work, port):
    for d in ("www", "tmp", "logs"):
        os.makedirs(os.path.join(work, d), exist_ok=True)
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""daemon off;
user root;
worker_processes 1;
error_log %(w)s/logs/error.log;
pid %(w)s/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    sendfile on;
    client_body_temp_path %(w)s/tmp;
    proxy_temp_path %(w)s/tmp;
    fastcgi_temp_path %(w)s/tmp;
    uwsgi_temp_path %(w)s/tmp;
    scgi_temp_path %(w)s/tmp;
    server { listen 127.0.0.1:%(p)d; root %(w)s/www; }
}
""" % {"w": work, "p": port})
    proc = subprocess.Popen(["nginx", "-c", conf, "-p", work], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_port(port, proc, "nginx")
    return proc


def start_haproxy(work, port, backend):
    cfg = os.path.join(work, "haproxy.cfg")
    with open(cfg, "w") as f:
        f.write("""global
    maxconn 64
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    option splice-request
    option splice-response
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 127.0.0.1:%d
""" % (port, backend))
    proc = subprocess.Popen(["haproxy", "-f", cfg, "-db"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_port(port, proc, "haproxy")
    return proc


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def fetch(work, port, size):
    out = os.path.join(work, "got-%d-%d" % (port, size))
    rc = subprocess.run(["curl", "-s", "-o", out, "http://127.0.0.1:%d/f%d.bin" % (port, size)],
                        check=False).returncode
    with open(out, "rb") as f:
        return rc, f.read()


def file_bodies(records, path):
    return [r for r in records if r["type"] == "body" and r["source"].get("path") == path]


def coverage_problems(recs, content):
    """Sources must tile [0, len(content)) once, each body's bytes the file's."""
    problems, pos = [], 0
    for r in sorted(recs, key=lambda r: r["source"]["offset"]):
        off = r["source"]["offset"]
        if off != pos:
            problems.append("offset %d where %d was expected" % (off, pos))
        if base64.b64decode(r["data"]) != content[off:off + r["len"]] or r["truncated"]:
            problems.append("bytes at offset %d differ from the file" % off)
        pos = off + r["len"]
    if pos != len(content):
        problems.append("coverage ends at %d, not %d" % (pos, len(content)))
    return problems


def sock_out_stream(records, pid, lport, rport):
    """Bytes a process sent on one TCP socket: bodies and plain sends, in order."""
    recs = [r for r in records if r.get("pid") == pid and r.get("fd_kind") == "tcp"
            and r.get("lport") == lport and r.get("rport") == rport
            and (r["type"] == "body" or (r["type"] == "io" and r["dir"] == "out"
                                          and r["syscall"] in SEND_CALLS))]
    recs.sort(key=lambda r: r["ts_ns"])
    return recs, b"".join(base64.b64decode(r["data"]) for r in recs)


def main():
    for prog in ("nginx", "haproxy", "curl"):
        if not shutil.which(prog):
            tap.plan(skip_all="%s is not installed (make deps)" % prog)
    work = tempfile.mkdtemp(prefix="zcap-zcsrv-")
    files = {}
    for i, size in enumerate(SIZES):
        path = os.path.join(work, "www", "f%d.bin" % size)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        files[size] = (path, zt.random_payload(path, size, seed=100 + i))
    nport, hport = zt.free_port(), zt.free_port()
    nginx = start_nginx(work, nport)
    haproxy = None
    try:
        # -- nginx alone
        rec = zt.start_record(["-s", "0", "--port", nport])
        rec.wait_ready()
        got = {size: fetch(work, nport, size) for size in SIZES}
        time.sleep(0.3)
        res = rec.stop()
        tap.is_(res.rc, 0, "nginx: zcap exited 0 on SIGINT")
        for size, (path, content) in files.items():
            rc, body = got[size]
            tap.ok(rc == 0 and body == content, "nginx %d: curl got the file" % size)
            recs = file_bodies(res.records, path)
            tap.is_(coverage_problems(recs, content), [],
                    "nginx %d: bodies from %s tile [0, %d) once, byte for byte" % (size, path, size))
            tap.ok(recs and all(r["via"] == "sendfile" and r["comm"] == "nginx"
                                and r["lport"] == nport and not r.get("incomplete") for r in recs),
                   "nginx %d: via sendfile on nginx's socket, complete" % size,
                   [repr({k: v for k, v in r.items() if k != "data"}) for r in recs[:2]])
        tap.is_(sum(r["len"] for r in res.of_type("body")), sum(SIZES),
                "nginx: no body byte captured twice or from elsewhere")

        # -- haproxy in front of nginx, splicing
        haproxy = start_haproxy(work, hport, nport)
        workers = children(nginx.pid)
        rec = zt.start_record(["-s", "0", "-p", haproxy.pid] +
                              [a for w in workers for a in ("-p", w)])
        rec.wait_ready()
        got = {size: fetch(work, hport, size) for size in SIZES}
        time.sleep(0.3)
        res = rec.stop()
        tap.is_(res.rc, 0, "haproxy: zcap exited 0 on SIGINT")
        curl_ports = {}
        for r in res.of_type("body") + res.io():
            if r.get("pid") == haproxy.pid and r.get("lport") == hport:
                curl_ports.setdefault(r["rport"], []).append(r)
        for size, (path, content) in files.items():
            rc, body = got[size]
            tap.ok(rc == 0 and body == content, "haproxy %d: curl got the file" % size)
            # the client connection whose stream carries this file
            match = None
            for rport in curl_ports:
                recs, stream = sock_out_stream(res.records, haproxy.pid, hport, rport)
                head, sep, rest = stream.partition(b"\r\n\r\n")
                if sep and rest == content and head.startswith(b"HTTP/1.1 200"):
                    match = (rport, recs, stream)
            tap.ok(match is not None,
                   "haproxy %d: its client socket's captured stream = headers + the file, each "
                   "byte once" % size)
            spliced = [r for r in (match[1] if match else []) if r["type"] == "body"]
            tap.ok(spliced and all(r["via"] == "splice" for r in spliced)
                   and sum(r["len"] for r in spliced) >= size // 2
                   and not any(r.get("incomplete") or r["truncated"] for r in spliced),
                   "haproxy %d: the response went out by splice and was captured" % size)
            tap.is_(coverage_problems([r for r in file_bodies(res.records, path)
                                       if r["comm"] == "nginx"], content), [],
                    "haproxy %d: nginx's own socket: sendfile bodies tile the file once" % size)
    finally:
        for proc in (haproxy, nginx):
            if proc and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        shutil.rmtree(work, ignore_errors=True)
    return tap.done_testing()


if __name__ == "__main__":
    sys.exit(main())
