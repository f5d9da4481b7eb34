#!/bin/bash
# `make demo`: zcap on a built-in workload. A local web server, curl fetching
# a page, and a shell pipeline; zcap shows what each process sent and
# received. Everything stays on 127.0.0.1 and in a temporary directory.
set -eu
BUILD=${1:-build}
ZCAP=$PWD/$BUILD/zcap
if [ "$(id -u)" != 0 ]; then
	echo "zcap demo: run as root (eBPF needs it)" >&2
	exit 2
fi
work=$(mktemp -d /tmp/zcap-demo.XXXXXX)
cleanup() {
	[ -n "${server:-}" ] && kill "$server" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/www"
printf '<html><body>Hello from the zcap demo</body></html>\n' > "$work/www/index.html"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$work/www" && exec /usr/bin/python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
server=$!
for _ in $(seq 50); do
	curl -s -o /dev/null "http://127.0.0.1:$port/" && break
	sleep 0.1
done

echo "== 1. What curl sent and received (zcap record -e io --port $port -- curl ...)"
"$ZCAP" record -e io --port "$port" --width 100 -- curl -s -o /dev/null "http://127.0.0.1:$port/index.html"

echo
echo "== 2. A pipeline, every process traced (zcap record -e io,proc -- sh -c 'cat | tr | sort')"
printf 'cherry\napple\nbanana\n' > "$work/fruit.txt"
"$ZCAP" record -e io,proc --width 60 -- sh -c "cat $work/fruit.txt | tr a-z A-Z | sort > $work/sorted.txt" 2>&1 |
	grep -v -e '/etc/' -e '/usr/lib' -e 'ld.so' || true

echo
echo "== 3. The same as JSON Lines (first io record of sort, zcap record --json)"
"$ZCAP" record --json -q -e io -- sh -c "sort $work/fruit.txt > /dev/null" |
	/usr/bin/python3 -c '
import json, sys, base64
for line in sys.stdin:
    r = json.loads(line)
    if r.get("type") == "io" and r.get("path", "").endswith("fruit.txt"):
        r["data"] = r["data"][:40]
        print(json.dumps(r, indent=2)); print("decoded data:", base64.b64decode(json.loads(line)["data"]))
        break
'

echo
echo "== 4. Zero-copy: nginx sends a file with sendfile(2); zcap recovers the body and its source"
head -c 200000 /dev/urandom > "$work/www/blob.bin"
nport=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/nginx/logs"
cat > "$work/nginx/nginx.conf" <<CONF
daemon off;
user root;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 64; }
http {
	sendfile on;
	access_log off;
	client_body_temp_path $work/nginx;
	server { listen 127.0.0.1:$nport; root $work/www; }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" >/dev/null 2>&1 &
nginx_pid=$!
for _ in $(seq 50); do
	curl -s -o /dev/null "http://127.0.0.1:$nport/" && break
	sleep 0.1
done
# nginx is already running: capture system-wide, filtered by its port,
# while curl fetches the file.
record_fetch() {
	"$ZCAP" record --port "$nport" "$@" 2> "$work/zcap.err" &
	zcap_pid=$!
	for _ in $(seq 100); do
		grep -q '^zcap: capturing' "$work/zcap.err" && break
		sleep 0.1
	done
	curl -s -o "$work/fetched.bin" "http://127.0.0.1:$nport/blob.bin"
	kill -INT "$zcap_pid"
	wait "$zcap_pid" || true
}
record_fetch --json -s 0 -o "$work/zc.jsonl"
/usr/bin/python3 - "$work" <<'PY'
import base64, json, sys
work = sys.argv[1]
body, ranges = b"", []
for line in open(work + "/zc.jsonl"):
    r = json.loads(line)
    if r.get("type") == "body":
        body += base64.b64decode(r["data"])
        src = r.get("source", {})
        ranges.append((src.get("path"), src.get("offset"), src.get("len")))
        if len(ranges) == 1:
            print("first body record: comm=%s via=%s source=%s tcp_seq=%s" %
                  (r["comm"], r["via"], json.dumps(src), r.get("tcp_seq")))
want = open(work + "/www/blob.bin", "rb").read()
print("%d body records from %s, %d bytes; identical to the file: %s" %
      (len(ranges), sorted({p for p, _, _ in ranges}), len(body), body == want))
PY

echo
echo "== 5. pcap-ng for Wireshark: zcap record -o demo.pcapng --port $nport (the same fetch); tshark -r"
record_fetch -s 0 -o "$work/demo.pcapng"
kill "$nginx_pid" 2>/dev/null; wait "$nginx_pid" 2>/dev/null || true
tshark -r "$work/demo.pcapng" -T fields -e frame.number -e tcp.srcport -e tcp.dstport \
	-e tcp.len -e frame.comment -E separator=' ' 2>/dev/null |
	awk '$4 > 0' | head -6 | cut -c1-160
echo "(Wireshark: add frame.comment as a column; filter frame.comment contains \"sendfile\")"

echo
echo "== 6. Lineage: zcap lineage -- sh -c 'cat fruit.txt | gzip > fruit.gz'"
(cd "$work" && "$ZCAP" lineage -o "$work/lineage.json" -- sh -c 'cat fruit.txt | gzip > fruit.gz')
/usr/bin/python3 - "$work/lineage.json" <<'PY'
import json, sys
rec = json.load(open(sys.argv[1]))
for f in rec["files"]:
    if f["path"].endswith(("fruit.txt", "fruit.gz")):
        flags = [k for k in ("read", "written", "created", "deleted") if f.get(k)]
        print("%-40s %-22s before=%.12s after=%.12s" % (f["path"], ",".join(flags),
              f.get("sha256_before") or "-", f.get("sha256_after") or "-"))
for e in rec["edges"]:
    if not any(x in e["from"] + e["to"] for x in ("fruit", "pipe:")):
        continue  # the libraries and locale files every process maps
    print("edge %s -> %s via %s (%s bytes)" % (e["from"], e["to"], e["via"], e.get("bytes")))
PY

echo
echo "Try: $ZCAP record --help, $ZCAP lineage --help, $ZCAP doctor"
