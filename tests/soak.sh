#!/bin/bash
# make soak: zcap under steady load for a long time, its memory sampled.
#
# Two captures run side by side for SOAK_SECS (default 600): `zcap record
# --json -- LOAD` (the stitcher, zero-copy bodies, path cache, JSON sink)
# and a system-wide `zcap record --format pcapng --port PORT` (the packet
# sink and its attribution), both into /dev/null. LOAD keeps starting short
# processes that make new files, pipes and TCP connections (curl against a
# local server), so every cache keeps meeting new pids, inodes and flows.
# Every SOAK_INTERVAL seconds (default 10) the RSS of both is sampled. The
# first sample after SOAK_WARMUP seconds (default 60: the ring buffer's
# pages are all touched by then) is the baseline; the run fails if a later
# sample is more than SOAK_MAX_GROWTH_KB (default 16384) above it, if
# either zcap dies, or if either ends with an error.
#
#   tests/soak.sh [BUILD]         (BUILD default: build)
#   SOAK_SECS=90 SOAK_WARMUP=30 tests/soak.sh build    a short check of the script
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
zcap=$PWD/$build/zcap
secs=${SOAK_SECS:-600}
interval=${SOAK_INTERVAL:-10}
warmup=${SOAK_WARMUP:-60}
max_growth=${SOAK_MAX_GROWTH_KB:-16384}

if [ "$(id -u)" != 0 ]; then
	echo "zcap: the soak test needs root" >&2
	exit 2
fi
if [ ! -x "$zcap" ]; then
	echo "zcap: $zcap not built (make BUILD=$build)" >&2
	exit 2
fi

work=$(mktemp -d /tmp/zcap-soak-XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# a local server with a 256 KiB file
mkdir -p "$work/www"
head -c 262144 /dev/urandom >"$work/www/blob.bin"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/www" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do
	curl -s -o /dev/null "http://127.0.0.1:$port/blob.bin" && break
	sleep 0.1
done

# the load: new processes, files, pipes and connections, until told to stop
cat >"$work/load.sh" <<EOF
#!/bin/bash
while [ ! -e "$work/stop" ]; do
	curl -s -o /dev/null "http://127.0.0.1:$port/blob.bin"
	f=\$(mktemp "$work/f.XXXXXX")
	head -c 100000 /dev/urandom >"\$f"
	cat "\$f" | gzip -1 >"\$f.gz"
	rm -f "\$f" "\$f.gz"
	sleep 0.05
done
EOF
chmod +x "$work/load.sh"

"$zcap" record -q --json -B 4096 -o /dev/null -- "$work/load.sh" 2>"$work/a.err" &
a=$!
pids+=($a)
"$zcap" record -q --format pcapng -B 4096 -o /dev/null --port "$port" 2>"$work/b.err" &
b=$!
pids+=($b)

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

echo "zcap soak: $secs s, RSS every $interval s, baseline after $warmup s, at most +$max_growth KiB"
printf '%6s %12s %12s\n' "time" "json KiB" "pcapng KiB"
fail=0 base_a= base_b= peak_a=0 peak_b=0
start=$(date +%s)
while :; do
	sleep "$interval"
	t=$(($(date +%s) - start))
	ra=$(rss $a) rb=$(rss $b)
	if [ -z "$ra" ] || [ -z "$rb" ]; then
		echo "zcap soak: FAIL: a capture ended early (json: ${ra:-gone}, pcapng: ${rb:-gone})"
		cat "$work/a.err" "$work/b.err"
		fail=1
		break
	fi
	printf '%6d %12d %12d\n' "$t" "$ra" "$rb"
	if [ "$t" -ge "$warmup" ] && [ -z "$base_a" ]; then
		base_a=$ra base_b=$rb
	fi
	[ "$ra" -gt "$peak_a" ] && peak_a=$ra
	[ "$rb" -gt "$peak_b" ] && peak_b=$rb
	if [ -n "$base_a" ]; then
		if [ $((ra - base_a)) -gt "$max_growth" ] || [ $((rb - base_b)) -gt "$max_growth" ]; then
			echo "zcap soak: FAIL: RSS grew beyond +$max_growth KiB (json $base_a -> $ra, pcapng $base_b -> $rb)"
			fail=1
			break
		fi
	fi
	[ "$t" -ge "$secs" ] && break
done

touch "$work/stop"
kill -INT $b 2>/dev/null
wait $a
rc_a=$?
wait $b
rc_b=$?
pids=("${pids[0]}")
if [ $rc_a != 0 ] || [ $rc_b != 0 ] || [ -s "$work/a.err" ] || [ -s "$work/b.err" ]; then
	echo "zcap soak: FAIL: exit codes json $rc_a, pcapng $rc_b"
	cat "$work/a.err" "$work/b.err"
	fail=1
fi
if [ -z "$base_a" ] && [ $fail = 0 ]; then
	echo "zcap soak: FAIL: the run ended before the warm-up ($warmup s) was over"
	fail=1
fi
if [ $fail = 0 ]; then
	echo "zcap soak: ok: RSS json $base_a -> peak $peak_a KiB, pcapng $base_b -> peak $peak_b KiB"
fi
exit $fail
