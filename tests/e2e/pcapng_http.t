#!/usr/bin/python3
"""zcap record -o FILE.pcapng, system-wide (--port), beside tcpdump -i lo while
curl fetches files from python3 -m http.server: tshark reads zcap's file
cleanly, every packet and every TCP stream byte equals tcpdump's, HTTP is
dissected, each packet names the processes at both ends, and the file's
blocks (SHB, IDB, EPB options, ISB) are what docs/pcapng.md says."""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import tap  # noqa: E402
import zcaptest as zt  # noqa: E402
import pcapng_helpers as ph  # noqa: E402


def main():
    tap.plan(17)
    work = tempfile.mkdtemp(prefix="zcap-pcapng-http-")
    body = zt.random_payload(os.path.join(work, "file.bin"), 300000, seed=11)
    zt.random_payload(os.path.join(work, "small.txt"), 100, seed=12)
    ours, theirs = os.path.join(work, "zcap.pcapng"), os.path.join(work, "tcpdump.pcap")
    srv = ph.HttpServer(work)
    curls = []
    try:
        with ph.Tcpdump(theirs, srv.port) as td, ph.ZcapOut(ours, ["--port", srv.port]) as z:
            for name in ("file.bin", "small.txt"):
                c = subprocess.Popen(["curl", "-s", "-o", os.path.join(work, "got-" + name),
                                      "http://127.0.0.1:%d/%s" % (srv.port, name)])
                c.wait(60)
                curls.append(c)
            time.sleep(1.5)  # the last ACKs; zcap's window; tcpdump's block timeout
        rc = z.rc
    finally:
        srv.stop()
    port = srv.port
    tap.ok(all(c.returncode == 0 for c in curls) and td.dropped == 0,
           "curl fetched both files; tcpdump dropped nothing (oracle sanity)")
    with open(os.path.join(work, "got-file.bin"), "rb") as f:
        tap.is_(f.read(), body, "curl got the file (oracle sanity)")
    tap.is_(rc, 0, "zcap exited 0 on SIGINT")
    tap.like(z.stderr, r"zcap: \d+ packets .* written to .*zcap\.pcapng; 0 packets lost",
             "summary line on stderr")
    tap.is_(os.stat(ours).st_mode & 0o777, 0o600, "the capture file is 0600")

    out, err = ph.tshark(ours, ["-q"], port)
    tap.is_(err, "", "tshark reads zcap's file without a warning")
    malformed, _ = ph.tshark(ours, ["-Y", "_ws.malformed || _ws.expert.severity >= error"], port)
    tap.is_(malformed, "", "no malformed packets, no expert errors")

    got, want = ph.packet_list(ours, port), ph.packet_list(theirs, port)
    tap.ok(len(want) >= 20, "tcpdump saw the two connections (%d packets)" % len(want))
    tap.is_(got, want, "the same packets as tcpdump, in the same order (loopback: once each)")
    streams, oracle = ph.tcp_streams(ours), ph.tcp_streams(theirs)
    tap.is_(len(streams), 2, "two TCP streams")
    tap.is_(streams, oracle, "TCP stream payloads identical to tcpdump's, both directions")

    uris = ph.fields(ours, ["http.request.uri"], "http.request", port)
    codes = ph.fields(ours, ["http.response.code"], "http.response", port)
    tap.is_((sorted(u[0] for u in uris), [c[0] for c in codes]),
            (["/file.bin", "/small.txt"], ["200", "200"]), "HTTP requests and responses dissected")

    # Every packet names both local ends: the sender first, then the
    # receiver as "to pid ...". Loopback copies are the delivered ones
    # (inbound); a packet to a socket already in TIME-WAIT passes no ingress
    # hook: its sender's copy is written, outbound.
    rows = ph.fields(ours, ["tcp.srcport", "tcp.dstport", "tcp.stream", "frame.comment",
                            "frame.packet_flags_direction"], "tcp.port==%d" % port)
    curl_pid = {0: curls[0].pid, 1: curls[1].pid}
    bad = []
    for sport, dport, stream, comment, direction in rows:
        cl = curl_pid[int(stream)]
        curl_line = "pid %d tid %d comm curl fd " % (cl, cl)
        srv_line = "pid %d tid " % srv.pid
        lines = ph.owner_comments(comment)
        to_server = int(dport) == port
        first, second = (curl_line, srv_line) if to_server else (srv_line, curl_line)
        if not (len(lines) == 2 and lines[0].startswith(first) and lines[1].startswith("to " + second)
                and any("comm python3 fd " in line for line in lines)
                and direction in ("0x00000001", "0x00000002")):
            bad.append((sport, dport, direction, lines))
    tap.is_(bad, [], "each packet: sender, then \"to\" receiver (pid, tid, comm, fd)")
    tap.is_(len(ph.fields(ours, ["frame.number"], 'frame.comment contains "comm curl"', port)),
            len(rows), 'display filter frame.comment contains "comm curl" selects curl\'s packets')

    blocks = ph.pcapng_blocks(ours)
    idbs = [b for b in blocks if b["type"] == ph.BT_IDB]
    isbs = [b for b in blocks if b["type"] == ph.BT_ISB]
    epbs = [b for b in blocks if b["type"] == ph.BT_EPB]
    tap.is_((blocks[0]["type"], len(idbs), [ph.option(i, 2) for i in idbs],
             [i["linktype"] for i in idbs], [ph.option(i, 9) for i in idbs]),
            (ph.BT_SHB, 1, [[b"lo"]], [101], [[b"\x09"]]),
            "SHB first; one IDB: if_name lo, LINKTYPE_RAW, if_tsresol 9 (ns)")
    tap.ok(len(epbs) == len(rows) and all(ph.option(e, 8) and ph.option(e, 2) for e in epbs),
           "every EPB has epb_flags and a pid/tid option")
    tap.is_([(i["if_id"], ph.u64(ph.option(i, 5)[0]), ph.u64(ph.option(i, 8)[0]))
             for i in isbs] if isbs else None,
            [(0, 0, len(epbs))], "an ISB at the end: 0 dropped, every packet delivered")
    ph.cleanup(work)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
