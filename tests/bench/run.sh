#!/bin/bash
# `make bench`: zcap's overhead as ratios measured side by side in one run
# (nginx+wrk under tcpdump and zcap record, make -j2 under strace and zcap
# lineage, a pipe write loop, the userspace consumer alone). One table;
# exit 0 even when targets are missed, 1 when something failed to run.
# What is measured and why: tests/bench/bench.py and docs/performance.md.
# Not part of `make test`.
set -eu
BUILD=${1:-build}
if [ "$(id -u)" != 0 ]; then
	echo "zcap bench: run as root" >&2
	exit 2
fi
exec python3 "$(dirname "$0")/bench.py" "$BUILD"
