"""Helpers for the packet-output end-to-end tests (tests/e2e/pcapng*.t).

Servers on 127.0.0.1 (python3 -m http.server, nginx with sendfile), tcpdump
on lo as the oracle, `zcap record -o FILE` in the background, tshark to read
both files, and a small pcap-ng block reader that checks the file's
structure independently of tshark.

    srv = HttpServer(directory)            # .port, .pid, .stop()
    with Tcpdump(path, port) as td, ZcapOut(path, ["--port", port]) as z:
        ... traffic ...
    rc = z.rc                              # after the with block: both stopped
"""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

from zcaptest import free_port  # noqa: F401 (re-exported for the tests)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ZCAP = os.path.abspath(os.environ.get("ZCAP") or os.path.join(ROOT, "build", "zcap"))
READY = "zcap: capturing"


class HelperError(Exception):
    """A tool around zcap (server, tcpdump, tshark) did not behave."""




def wait_port(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise HelperError("nothing listens on 127.0.0.1:%d after %ss" % (port, timeout))


def _stop(proc, sig=signal.SIGTERM, timeout=10):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class HttpServer:
    """python3 -m http.server serving `directory` on 127.0.0.1."""

    def __init__(self, directory):
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, "-m", "http.server", str(self.port),
                                      "--bind", "127.0.0.1"], cwd=directory,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.pid = self.proc.pid
        wait_port(self.port)

    def stop(self):
        _stop(self.proc)


class Nginx:
    """nginx with sendfile on, one worker, serving `root` on 127.0.0.1."""

    def __init__(self, root, work):
        self.port = free_port()
        self.prefix = os.path.join(work, "nginx")
        os.makedirs(os.path.join(self.prefix, "logs"), exist_ok=True)
        tmp = os.path.join(self.prefix, "tmp")
        os.makedirs(tmp, exist_ok=True)
        conf = os.path.join(self.prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write("daemon off;\nuser root;\nworker_processes 1;\n"
                    "error_log %s/logs/error.log;\npid %s/nginx.pid;\n"
                    "events { worker_connections 64; }\n"
                    "http {\n access_log off;\n sendfile on;\n"
                    " client_body_temp_path %s; proxy_temp_path %s; fastcgi_temp_path %s;\n"
                    " uwsgi_temp_path %s; scgi_temp_path %s;\n"
                    " server { listen 127.0.0.1:%d; root %s; }\n}\n"
                    % (self.prefix, self.prefix, tmp, tmp, tmp, tmp, tmp, self.port, root))
        self.proc = subprocess.Popen(["nginx", "-c", conf, "-p", self.prefix],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(self.port)
            self.master = self.proc.pid
            # the master listens before it forks its worker
            deadline = time.monotonic() + 30
            self.workers = children(self.master)
            while not self.workers and time.monotonic() < deadline:
                time.sleep(0.05)
                self.workers = children(self.master)
            if len(self.workers) != 1:
                raise HelperError("nginx: expected one worker, found %r" % (self.workers,))
        except HelperError:
            _stop(self.proc)  # the caller never gets an object to stop
            raise

    def stop(self):
        _stop(self.proc, signal.SIGQUIT)


def children(pid):
    """Child pids of pid (all threads' children)."""
    kids = []
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
            kids += [int(x) for x in f.read().split()]
    return sorted(kids)


class Tcpdump:
    """tcpdump -U on lo writing `path` (TCP port `port`, or the filter
    expression `expr`), ready on entry. immediate: --immediate-mode, every
    packet handed over at once (else, on a loaded machine, packets can still
    sit in the kernel's ring block when the SIGINT comes)."""

    def __init__(self, path, port=None, expr=None, immediate=False):
        self.path = path
        self.dropped = None
        self._err = tempfile.NamedTemporaryFile(prefix="tcpdump-err-")
        # -B: a big buffer, or 64 KiB loopback packets overflow the default
        self.proc = subprocess.Popen(["tcpdump", "-U", "-n", "-B", "65536", "-i", "lo", "-s",
                                      "0", "-w", path] + ["--immediate-mode"] * immediate +
                                     [expr or "tcp port %d" % port], stdout=subprocess.DEVNULL,
                                     stderr=self._err)
        deadline = time.monotonic() + 10
        while "listening on" not in self._text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise HelperError("tcpdump did not start: %s" % self._text())
            time.sleep(0.02)

    def _text(self):
        with open(self._err.name, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.returncode is None:
            _stop(self.proc, signal.SIGINT)
            self.stderr = self._text()
            self._err.close()
            m = re.search(r"(\d+) packets? dropped by kernel", self.stderr)
            self.dropped = int(m[1]) if m else None
        return self.dropped

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


class ZcapOut:
    """`zcap record -o PATH ARGS [-- CMD]` in the background, ready on entry
    (without a command); stop() sends a signal and waits; .rc, .stderr.
    env: variables added to zcap's environment."""

    def __init__(self, path, args=(), cmd=None, ready=True, env=None):
        self.path = path
        argv = [ZCAP, "record", "-o", path] + [str(a) for a in args]
        if cmd:
            argv += ["--"] + [str(c) for c in cmd]
        self._err = tempfile.NamedTemporaryFile(prefix="zcap-err-")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self._err, env=dict(os.environ, **(env or {})))
        self.rc = None
        self.stderr = None
        if ready:
            self.wait_ready()

    def _text(self):
        with open(self._err.name, errors="replace") as f:
            return f.read()

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while READY not in self._text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop(signal.SIGKILL)
                raise HelperError("zcap did not start: %s" % self.stderr)
            time.sleep(0.02)

    def wait(self, timeout=60):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise HelperError("zcap did not finish within %ss" % timeout) from None
        return self.stop()

    def stop(self, sig=signal.SIGINT, timeout=30):
        if self.rc is None:
            self.rc = _stop(self.proc, sig, timeout)
            self.stderr = self._text()
            self._err.close()
        return self.rc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


# ------------------------------------------------------------------ tshark

def _quiet_stderr(text):
    """tshark's stderr without its standing warning about running as root."""
    return "\n".join(line for line in text.splitlines()
                     if line and "Running as user" not in line
                     and "This could be dangerous" not in line)


def tshark(path, args=(), http_port=None):
    """(stdout, stderr without the root warning) of `tshark -r path ARGS`."""
    argv = ["tshark", "-n", "-r", path]
    if http_port:
        argv += ["-d", "tcp.port==%d,http" % http_port]
    proc = subprocess.run(argv + list(args), capture_output=True, text=True, timeout=120)
    return proc.stdout, _quiet_stderr(proc.stderr)


def fields(path, names, display_filter=None, http_port=None):
    """One tuple of the named fields per packet (empty strings when absent)."""
    args = ["-T", "fields", "-E", "separator=\x1f", "-E", "occurrence=a", "-E", "aggregator=\x1e"]
    for n in names:
        args += ["-e", n]
    if display_filter:
        args += ["-Y", display_filter]
    out, err = tshark(path, args, http_port)
    if err:
        raise HelperError("tshark -r %s: %s" % (path, err))
    # not splitlines(): it also splits at the \x1e aggregator
    return [tuple(line.split("\x1f")) for line in out.split("\n") if line]


def comments(value):
    """A frame.comment field value as its list of comment lines."""
    return [c for c in value.split("\x1e") if c] if value else []


def owner_comments(value):
    """comments(value) without the socket's cgroup, container and pod lines
    (every packet of a socket with a cgroup has them; containers.t checks them)."""
    return [c for c in comments(value) if not c.startswith(("cgroup ", "container ", "pod "))]


def tcp_streams(path):
    """{stream index: (bytes node 0 -> 1, bytes node 1 -> 0)} from tshark's follow."""
    idx = sorted({int(f[0]) for f in fields(path, ["tcp.stream"]) if f[0]})
    out = {}
    for i in idx:
        text, err = tshark(path, ["-q", "-z", "follow,tcp,raw,%d" % i])
        if err:
            raise HelperError("tshark follow: %s" % err)
        a, b = [], []
        body = text.split("=" * 67)[1] if "=" * 67 in text else text
        for line in body.splitlines():
            if not line.strip() or ":" in line or line.startswith("="):
                continue
            (b if line.startswith("\t") else a).append(bytes.fromhex(line.strip()))
        out[i] = (b"".join(a), b"".join(b))
    return out


def packet_list(path, port):
    """What identifies each TCP packet on the wire, in file order."""
    return fields(path, ["ip.src", "ip.dst", "tcp.srcport", "tcp.dstport", "tcp.seq_raw",
                         "tcp.ack_raw", "tcp.len", "tcp.flags"], "tcp.port==%d" % port)


def by_direction(packets, port):
    """packet_list rows split into (to port, from port), each in file order."""
    return ([p for p in packets if p[3] == str(port)], [p for p in packets if p[2] == str(port)])


# ------------------------------------------------------- pcap-ng structure

BT_SHB, BT_IDB, BT_EPB, BT_ISB = 0x0A0D0D0A, 1, 6, 5


def _options(data):
    opts = []
    off = 0
    while off + 4 <= len(data):
        code, length = struct.unpack_from("<HH", data, off)
        off += 4
        if code == 0:
            break
        opts.append((code, data[off:off + length]))
        off += (length + 3) & ~3
    return opts


def pcapng_blocks(path):
    """[(type, fields dict)] of a little-endian pcap-ng file; raises HelperError
    on anything malformed (length mismatch, trailing bytes)."""
    with open(path, "rb") as f:
        data = f.read()
    blocks, off = [], 0
    while off < len(data):
        if off + 12 > len(data):
            raise HelperError("%d trailing bytes at %d" % (len(data) - off, off))
        btype, blen = struct.unpack_from("<II", data, off)
        if blen < 12 or blen % 4 or off + blen > len(data):
            raise HelperError("block at %d: bad length %d" % (off, blen))
        if struct.unpack_from("<I", data, off + blen - 4)[0] != blen:
            raise HelperError("block at %d: trailing length differs" % off)
        body = data[off + 8:off + blen - 4]
        b = {"type": btype}
        if btype == BT_SHB:
            b["magic"] = struct.unpack_from("<I", body, 0)[0]
            b["options"] = _options(body[16:])
        elif btype == BT_IDB:
            b["linktype"], _, b["snaplen"] = struct.unpack_from("<HHI", body, 0)
            b["options"] = _options(body[8:])
        elif btype == BT_EPB:
            b["if_id"], hi, lo, b["caplen"], b["origlen"] = struct.unpack_from("<IIIII", body, 0)
            b["ts"] = hi << 32 | lo
            b["data"] = body[20:20 + b["caplen"]]
            b["options"] = _options(body[20 + ((b["caplen"] + 3) & ~3):])
        elif btype == BT_ISB:
            b["if_id"] = struct.unpack_from("<I", body, 0)[0]
            b["options"] = _options(body[12:])
        blocks.append(b)
        off += blen
    return blocks


def pcap_packets(path, strip=0):
    """The packets of a classic pcap file (tcpdump -w), each without its
    first `strip` bytes (14: the Ethernet header tcpdump has on lo)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24 or struct.unpack_from("<I", data, 0)[0] not in (0xA1B2C3D4, 0xA1B23C4D):
        raise HelperError("%s: not a little-endian pcap file" % path)
    out, off = [], 24
    while off + 16 <= len(data):
        caplen = struct.unpack_from("<I", data, off + 8)[0]
        out.append(data[off + 16 + strip:off + 16 + caplen])
        off += 16 + caplen
    if off != len(data):
        raise HelperError("%s: %d trailing bytes" % (path, len(data) - off))
    return out


def option(block, code):
    """Values of option `code` of a block (a list)."""
    return [v for c, v in block["options"] if c == code]


def u64(value):
    return struct.unpack("<Q", value)[0]


def cleanup(path):
    shutil.rmtree(path, ignore_errors=True)
