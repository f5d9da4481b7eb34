#!/bin/bash
# `make bench`: ratios measured side by side in one run on this machine.
#   1. syscall-heavy workload: untraced vs zcap record vs strace -f
#   2. consumer throughput: records/s zcap delivers for a write storm
# Timed with hyperfine-free plain loops so it runs anywhere; each ratio is
# the median of several runs. Not part of `make test`.
set -eu
BUILD=${1:-build}
ZCAP=$PWD/$BUILD/zcap
if [ "$(id -u)" != 0 ]; then
	echo "zcap bench: run as root" >&2
	exit 2
fi
work=$(mktemp -d /tmp/zcap-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# median wall time in seconds of running "$@" 5 times
median() {
	local t=()
	for _ in 1 2 3 4 5; do
		local s e
		s=$(date +%s.%N)
		"$@" >/dev/null 2>&1
		e=$(date +%s.%N)
		t+=("$(echo "$e - $s" | bc)")
	done
	printf '%s\n' "${t[@]}" | sort -n | sed -n 3p
}

# 200k small writes to a pipe, each captured with its payload
workload() { dd if=/dev/zero bs=512 count=200000 status=none | cat > /dev/null; }
export -f workload

base=$(median bash -c workload)
traced=$(median "$ZCAP" record -q -o "$work/out.txt" -- bash -c workload)
meta=$(median "$ZCAP" record -q -s 16 -o "$work/out.txt" -- bash -c workload)
strace_t=$(median strace -f -o /dev/null bash -c workload)

printf '\n%-44s %10s %8s\n' "workload: 200k x 512 B writes through a pipe" "seconds" "ratio"
printf '%-44s %10.3f %8.2f\n' "untraced" "$base" 1
printf '%-44s %10.3f %8.2f\n' "zcap record (payload, text to file)" "$traced" "$(echo "$traced / $base" | bc -l)"
printf '%-44s %10.3f %8.2f\n' "zcap record -s 16" "$meta" "$(echo "$meta / $base" | bc -l)"
printf '%-44s %10.3f %8.2f\n' "strace -f -o /dev/null" "$strace_t" "$(echo "$strace_t / $base" | bc -l)"

# consumer throughput: records per second through decoder/stitcher/JSON
s=$(date +%s.%N)
"$ZCAP" record --json -s 64 -o "$work/out.json" -- bash -c workload 2>"$work/err"
e=$(date +%s.%N)
n=$(grep -c '"type":"io"' "$work/out.json" || true)
printf '\nconsumer: %d io records in %.2f s = %.0f records/s (JSON); %s\n' "$n" \
	"$(echo "$e - $s" | bc)" "$(echo "$n / ($e - $s)" | bc -l)" "$(tail -1 "$work/err")"
