#!/bin/bash
# A short libFuzzer run of every tests/fuzz/fuzz_*.c target (the event
# decoder through the stitcher into the sinks; the pcap-ng writer), as part
# of `make test`, from the seed corpus in tests/fuzz/seeds; `make fuzz` is
# the long run. Builds the targets (clang,
# ASan+UBSan) into $ZCAP_BUILD/fuzz if they are not up to date. A crash,
# leak, sanitizer report or failed check is a failure, with the input that
# caused it shown.
#   FUZZ_SHORT_TIME  seconds per target (default 10)
set -u
cd "$(dirname "$0")/../.."
build=${ZCAP_BUILD:-build}
secs=${FUZZ_SHORT_TIME:-10}
targets=$(ls tests/fuzz/fuzz_*.c 2>/dev/null)
n=0 fail=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
work=$(mktemp -d /tmp/zcap-fuzz-XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "1..$(($(echo "$targets" | wc -w) + 1))"
if make --no-print-directory -s BUILD="$build" fuzz-build >"$work/make.log" 2>&1; then
	ok 0 "fuzz targets built in $build/fuzz"
else
	ok 1 "fuzz targets built in $build/fuzz"
	sed 's/^/# /' "$work/make.log" | tail -20 >&2
fi
for src in $targets; do
	name=$(basename "$src" .c)
	bin=$build/fuzz/$name
	mkdir -p "$work/$name"
	"$bin" -max_total_time="$secs" -max_len=65536 -timeout=20 -print_final_stats=1 \
		-artifact_prefix="$work/$name-" "$work/$name" $(ls -d tests/fuzz/seeds/$name 2>/dev/null) \
		>"$work/$name.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$work/$name.log")
	cov=$(sed -n 's/^#[0-9]*[[:space:]]*DONE[[:space:]]*cov: \([0-9]*\).*/\1/p' "$work/$name.log")
	if [ $rc = 0 ] && [ -n "$runs" ] && [ "$runs" -gt 0 ]; then
		ok 0 "$name: ${runs} inputs in ${secs} s (coverage ${cov:-?}), no crash"
	else
		ok 1 "$name: no crash (exit $rc)"
		grep -v '^#[0-9]' "$work/$name.log" | tail -40 | sed 's/^/# /' >&2
		for a in "$work/$name"-*; do
			[ -e "$a" ] && echo "# input: $(base64 -w0 "$a")" >&2
		done
	fi
done
exit $fail
