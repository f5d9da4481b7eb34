#!/usr/bin/python3
"""pcap filter expressions (`zcap record [OPTIONS] EXPRESSION`).

Packet output: for several expressions, the packets zcap writes equal, as
multisets of bytes from the IP header on, those tcpdump -i lo writes with
the same expression on the same traffic, and those tcpdump -r selects with
it from an unfiltered zcap capture; on those packets, and on each cut
short, the translated program's verdict in the kernel equals libpcap's
(tools/filter_diff). Packets that do not match never reach
the ring buffer: with a ring too small for one 64 KiB packet, a capture
filtered to a few UDP datagrams loses nothing while the unfiltered one
loses packets. Text/JSON output: the records the expression selects are
exactly those whose socket the expression describes. A bad expression:
libpcap's message, exit 2, no output file."""
import base64
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402
import pcapng_helpers as ph  # noqa: E402

ZCAP = ph.ZCAP

# Known traffic on lo, from one process named zfiltgen: TCP to 127.0.0.1:P1
# and 127.0.0.2:P2 (10, 200, 300 bytes), UDP to 127.0.0.1:P3 (20, 150
# bytes), to 127.0.0.1:P1 (20 bytes) and to [::1]:P3 (60 bytes). Prints the
# ports it used (servers and clients) as JSON.
GEN = r'''
import ctypes, json, socket, sys, time
ctypes.CDLL(None).prctl(15, b"zfiltgen", 0, 0, 0)
p1, p2, p3 = map(int, sys.argv[1:4])
ports = {p1, p2, p3}

def exact(s, n):
    got = b""
    while len(got) < n:
        got += s.recv(n - len(got))
    return got

def listener(host, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen()
    return s

def udp(family, host, port):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((host, port))
    return s

servers = [(listener("127.0.0.1", p1), "127.0.0.1", p1), (listener("127.0.0.2", p2), "127.0.0.2", p2)]
u3, u1, u6 = udp(socket.AF_INET, "127.0.0.1", p3), udp(socket.AF_INET, "127.0.0.1", p1), \
    udp(socket.AF_INET6, "::1", p3)
for ls, host, port in servers:
    c = socket.create_connection((host, port))
    ports.add(c.getsockname()[1])
    s, _ = ls.accept()
    c.sendall(b"q" * 10)
    exact(s, 10)
    s.sendall(b"r" * 200)
    exact(c, 200)
    c.sendall(b"s" * 300)
    exact(s, 300)
    c.close()
    s.close()
    ls.close()
c4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c4.sendto(b"u" * 20, ("127.0.0.1", p3))
c4.sendto(b"v" * 150, ("127.0.0.1", p3))
c4.sendto(b"w" * 20, ("127.0.0.1", p1))
ports.add(c4.getsockname()[1])
c6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
c6.sendto(b"x" * 60, ("::1", p3))
ports.add(c6.getsockname()[1])
for s, n in ((u3, 20), (u3, 150), (u1, 20), (u6, 60)):
    assert len(s.recvfrom(1000)[0]) == n
time.sleep(0.3)  # the last ACKs of the closes
print(json.dumps(sorted(ports)))
'''

# Bulk TCP (big GSO packets) on 127.0.0.1:P1, then 5 UDP datagrams to P3.
BULK = r'''
import socket, sys
p1, p3 = map(int, sys.argv[1:3])
ls = socket.socket()
ls.bind(("127.0.0.1", p1))
ls.listen()
c = socket.create_connection(("127.0.0.1", p1))
s, _ = ls.accept()
blob = b"b" * (4 << 20)
import threading
t = threading.Thread(target=c.sendall, args=(blob,))
t.start()
got = 0
while got < len(blob):
    got += len(s.recv(1 << 20))
t.join()
c.close()
s.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.bind(("127.0.0.1", p3))
for i in range(5):
    u.sendto(b"%d" % i * 30, ("127.0.0.1", p3))
    r.recvfrom(100)
'''


def l4_ports(pkt):
    """(proto, sport, dport) of an IPv4/IPv6 TCP/UDP packet, else None."""
    if not pkt:
        return None
    if pkt[0] >> 4 == 4:
        proto, off = pkt[9], (pkt[0] & 15) * 4
    elif pkt[0] >> 4 == 6:
        proto, off = pkt[6], 40
    else:
        return None
    if proto not in (6, 17) or len(pkt) < off + 4:
        return None
    return (proto,) + struct.unpack_from("!HH", pkt, off)


def ip_len(pkt):
    return struct.unpack_from("!H", pkt, 2)[0] if pkt[0] >> 4 == 4 else 40 + struct.unpack_from(
        "!H", pkt, 4)[0]


def ours(pkts, ports):
    """The generator's packets (a port of its sockets on either end), sorted."""
    return sorted(p for p in pkts if (lambda t: t and (t[1] in ports or t[2] in ports))(l4_ports(p)))


def zcap_packets(path):
    return [b["data"] for b in ph.pcapng_blocks(path) if b["type"] == ph.BT_EPB]


def tcpdump_select(path, expr, out):
    """tcpdump -r PATH -w OUT EXPR: what libpcap selects from a file."""
    p = subprocess.run(["tcpdump", "-n", "-r", path, "-w", out, expr], capture_output=True,
                       text=True, timeout=60)
    if p.returncode:
        raise ph.HelperError("tcpdump -r: %s" % p.stderr)
    return ph.pcap_packets(out)


def packet_tests(work, gen):
    p1, p2, p3 = zt.free_port(), zt.free_port(), zt.free_port()
    exprs = ["tcp port %d" % p1,
             "host 127.0.0.2",
             "udp and (port %d or port %d)" % (p3, p1),
             "port %d and not udp" % p1,
             "tcp[tcpflags] & tcp-syn != 0",
             "greater 100",
             "ip6 and udp",
             "tcp and dst port %d and tcp[tcpflags] & (tcp-fin|tcp-push) != 0" % p2]
    zs, tds = [], []
    try:
        everything = ph.ZcapOut(os.path.join(work, "all.pcapng"), ["-B", "65536"], ready=False)
        zs.append(everything)
        for i, e in enumerate(exprs):
            zs.append(ph.ZcapOut(os.path.join(work, "z%d.pcapng" % i), [e], ready=False))
        for z in zs:
            z.wait_ready(zt.scaled(180))  # nine loads at once
        for i, e in enumerate(exprs):
            tds.append(ph.Tcpdump(os.path.join(work, "t%d.pcap" % i), expr=e, immediate=True))
        p = subprocess.run([sys.executable, gen, str(p1), str(p2), str(p3)], capture_output=True,
                           text=True, timeout=60)
        ports = set(json.loads(p.stdout)) if p.returncode == 0 else set()
    finally:
        for t in tds:
            t.stop()
        for z in zs:
            z.stop()
    tap.ok(p.returncode == 0 and len(ports) == 7, "the traffic ran (%s)" % p.stderr.strip()[-200:])
    tap.is_([z.rc for z in zs], [0] * len(zs), "every zcap exited 0 on SIGINT")
    tap.is_([t.dropped for t in tds], [0] * len(tds), "tcpdump dropped nothing (oracle sanity)")
    everything = ours(zcap_packets(os.path.join(work, "all.pcapng")), ports)
    # tcpdump's `greater N` counts the 14-byte Ethernet header on lo, zcap
    # (LINKTYPE_RAW) does not: no packet of the traffic is in between
    tap.ok(len(everything) > 20 and not [p for p in everything if 86 <= ip_len(p) < 100],
           "unfiltered: %d packets of the traffic, none of 86 to 99 bytes" % len(everything))
    for i, e in enumerate(exprs):
        got = ours(zcap_packets(os.path.join(work, "z%d.pcapng" % i)), ports)
        want = ours(ph.pcap_packets(os.path.join(work, "t%d.pcap" % i), strip=14), ports)
        offline = ours(tcpdump_select(os.path.join(work, "all.pcapng"), e,
                                      os.path.join(work, "r%d.pcap" % i)), ports)
        tap.ok(0 < len(want) < len(everything), "'%s': tcpdump selects %d of %d packets"
               % (e, len(want), len(everything)))
        tap.ok(got == want, "'%s': zcap's packets = tcpdump -i lo's (%d)" % (e, len(got)),
               "zcap %d packets, tcpdump %d" % (len(got), len(want)))
        tap.ok(got == offline, "'%s': = tcpdump -r of the unfiltered capture" % e)


# Expressions whose translation tools/filter_diff holds against libpcap,
# packet by packet, in the kernel: every classic BPF instruction class
# (loads of 1/2/4 bytes, absolute and indexed, M[] spills, every ALU
# operation, X and K operands, division by a packet value that can be zero)
DIFF_EXPRS = [
    "tcp port 80 or udp portrange 1000-40000",
    "greater 100 and less 300",
    "ip6 and udp or ip and tcp[tcpflags] & (tcp-syn|tcp-fin) != 0",
    "host 127.0.0.2 or net ::1/128 or src net 127.0.0.0/8 and not dst host 127.0.0.1",
    "tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x71717171 or udp[8:2] = 0x7575",
    "ip[2:2] / (tcp[12] >> 4) > 10 or len % 7 = 3 or ip[8] / (ip[1] & 1) = 1",
    "ip[0] & 0xf != 5 or ip[1] - 3 < 2 or ip[3] * 3 >= 500 or ip[4] ^ 7 = 1 or "
    "ip[5] << 2 > 17 or ip[6] | 1 = 77 or -ip[7] = 1 or ip[12:4] > 0x7f000000",
    "ip6[40:2] > 1024 and ip6[6] = 17 or ip[9] = 6 and ip[20 + 13] & 2 = 2",
]


def translation_tests(work):
    """filter_diff: the kernel's verdict = libpcap's on every packet."""
    pk = os.path.join(work, "packets.bin")
    with open(pk, "wb") as f:
        for p in zcap_packets(os.path.join(work, "all.pcapng")):
            f.write(struct.pack("<I", len(p)) + p)
    p = subprocess.run([zt.tool("filter_diff"), pk] + DIFF_EXPRS, capture_output=True, text=True,
                       timeout=300)
    lines = p.stdout.splitlines()
    for e in DIFF_EXPRS:
        line = [x for x in lines if x.startswith(e + ": ")]
        tap.ok(len(line) == 1 and re.search(r": (\d+) runs over (\d+) packets, 0 disagree", line[0])
               and int(re.search(r"over (\d+)", line[0])[1]) > 20,
               "translated '%s' = libpcap on every packet and cut (%s)"
               % (e, line[0].split(": ", 1)[1] if line else p.stderr.strip()[-300:]))


def ring_test(work, bulk):
    """Non-matching packets never reach the ring: 64 KiB of ring cannot
    hold one 64 KiB packet."""
    res = {}
    for name, expr in (("filtered", ["udp port %d"]), ("unfiltered", [])):
        p1, p3 = zt.free_port(), zt.free_port()
        f = os.path.join(work, "ring-%s.pcapng" % name)
        p = subprocess.run([ZCAP, "record", "-B", "64", "-o", f] + [x % p3 for x in expr] +
                           ["--", sys.executable, bulk, str(p1), str(p3)], capture_output=True,
                           text=True, timeout=120)
        m = re.search(r"zcap: (\d+) packets .* written to .*; (\d+) packets lost", p.stderr)
        udp = [x for x in zcap_packets(f) if (l4_ports(x) or (0,))[0] == 17
               and l4_ports(x)[2] == p3] if os.path.exists(f) else []
        res[name] = (p.returncode, int(m[1]) if m else None, int(m[2]) if m else None, len(udp))
    tap.is_(res["filtered"], (0, 5, 0, 5),
            "'udp port P' with a 64 KiB ring: exactly the 5 datagrams, 0 packets lost")
    tap.ok(res["unfiltered"][0] == 0 and (res["unfiltered"][2] or 0) > 0,
           "the same traffic unfiltered loses packets in that ring (%s lost)"
           % res["unfiltered"][2])


def record_tests(work, gen):
    """Text/JSON: records of the expression's sockets, direction-aware."""
    p1, p2, p3 = zt.free_port(), zt.free_port(), zt.free_port()
    exprs = {
        "tcp port %d" % p1: lambda r, out: r["fd_kind"] == "tcp" and p1 in (r["lport"], r["rport"]),
        "udp": lambda r, out: r["fd_kind"] == "udp",
        "host 127.0.0.2": lambda r, out: r["fd_kind"] in ("tcp", "udp")
        and "127.0.0.2" in (r["laddr"], r["raddr"]),
        "ip6": lambda r, out: r.get("family") == "inet6",
        "tcp and dst port %d" % p2: lambda r, out: r["fd_kind"] == "tcp"
        and (r["rport"] if out else r["lport"]) == p2,
        "greater 100": lambda r, out: r["fd_kind"] in ("tcp", "udp") and r.get("type") == "io"
        and (40 if r["fd_kind"] == "tcp" else 28) + (20 if r["family"] == "inet6" else 0)
        + len(base64.b64decode(r.get("data", ""))) >= 100,
    }
    recs = []
    try:
        recs.append(zt.start_record(["-e", "io,fd", "--comm", "zfiltgen"]))
        for e in exprs:
            recs.append(zt.start_record(["-e", "io,fd", "--comm", "zfiltgen", e]))
        for r in recs:
            r.wait_ready(180)
        p = subprocess.run([sys.executable, gen, str(p1), str(p2), str(p3)], capture_output=True,
                           text=True, timeout=60)
        time.sleep(0.3)
        results = [r.stop() for r in recs]
    finally:
        for r in recs:
            if r.result is None:
                r.kill()
    tap.ok(p.returncode == 0 and all(r.rc == 0 for r in results),
           "traffic ran; every zcap --json exited 0")

    def key(r):
        return tuple(r.get(k) for k in ("type", "syscall", "fd", "dir", "len", "data", "fd_kind",
                                        "lport", "rport", "fd2", "fd2_lport"))

    def wanted(r, pred):
        if r["type"] not in ("io", "fd"):
            return False
        if pred(r, r["type"] == "fd" or r.get("dir") == "out"):
            return True
        # fd records: the second fd too (accept's listener)
        second = {k[4:]: v for k, v in r.items() if k.startswith("fd2_")}
        return "fd_kind" in second and pred(second, True)

    everything = [r for r in results[0].records if r["type"] in ("io", "fd")]
    tap.ok(len([r for r in everything if r.get("fd_kind") in ("tcp", "udp")]) >= 20,
           "unfiltered: the generator's socket records")
    for (e, pred), res in zip(exprs.items(), results[1:]):
        got = [key(r) for r in res.records if r["type"] in ("io", "fd")]
        want = [key(r) for r in everything if wanted(r, pred)]
        tap.ok(got == want and 0 < len(want) < len(everything),
               "--json '%s': exactly the %d records of its sockets" % (e, len(want)),
               "got %d, want %d of %d" % (len(got), len(want), len(everything)))
    kinds = {(r["type"], r.get("fd_kind")) for r in results[1 + list(exprs).index("udp")].records
             if r["type"] != "summary"}
    tap.is_(kinds, {("io", "udp"), ("fd", "udp")},
            "'udp': no record of another fd kind, no process record")


def bad_expressions(work):
    for expr, msg in (("tcp port", "syntax error"), ("port 99999", "illegal port number 99999 > 65535"),
                      ("ip and nosuchkeyword 3", "syntax error")):
        out = os.path.join(work, "bad.pcapng")
        p = subprocess.run([ZCAP, "record", "-o", out, expr], capture_output=True, text=True,
                           timeout=30)
        lines = p.stderr.splitlines()
        tap.ok(p.returncode == 2 and len(lines) == 1 and lines[0].startswith(
            "zcap: invalid filter expression '%s': " % expr) and msg in lines[0]
            and not os.path.exists(out), "bad expression '%s': exit 2, libpcap's message, no "
            "file (%s)" % (expr, p.stderr.strip()))


def main():
    tap.plan(50)
    work = tempfile.mkdtemp(prefix="zcap-filter-expr-")
    gen, bulk = os.path.join(work, "gen.py"), os.path.join(work, "bulk.py")
    for path, text in ((gen, GEN), (bulk, BULK)):
        with open(path, "w") as f:
            f.write(text)
    packet_tests(work, gen)
    translation_tests(work)
    ring_test(work, bulk)
    record_tests(work, gen)
    bad_expressions(work)
    ph.cleanup(work)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
