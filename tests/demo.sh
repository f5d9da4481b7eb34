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
echo "Try: $ZCAP record --help"
