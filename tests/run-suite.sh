#!/bin/bash
# The test suite as `make test` and CI run it: unit tests (cmocka binaries,
# TAP output) and end-to-end tests (executable TAP scripts in tests/e2e)
# under prove, first against build/, then against the ASan+UBSan build in
# build-asan/. Output ends with prove's summary of the last run; the exit
# status is non-zero if either run failed.
#
#   tests/run-suite.sh              both builds (they must be built)
#   tests/run-suite.sh --unit-only  unit tests of $ZCAP_BUILD (default build)
#   ZCAP_TESTS="tests/e2e/foo.t"    run only these e2e scripts
set -u
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "zcap: the test suite needs root (BPF, tracefs, cgroups)" >&2
	exit 2
fi

run_suite() {
	local build=$1 unit_only=${2:-}
	local units e2e=()

	units=$(ls "$build"/tests/test_* 2>/dev/null)
	if [ -z "$unit_only" ]; then
		# shellcheck disable=SC2206
		e2e=(${ZCAP_TESTS:-$(ls tests/e2e/*.t 2>/dev/null)})
	fi
	echo "# ---- suite against $build/zcap ----"
	ZCAP="$PWD/$build/zcap" ZCAP_TOOLS="$PWD/$build/tools" ZCAP_BUILD="$build" \
		CMOCKA_MESSAGE_OUTPUT=TAP \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		prove --timer $units "${e2e[@]}"
}

if [ "${1:-}" = --unit-only ]; then
	run_suite "${ZCAP_BUILD:-build}" unit
	exit $?
fi

rc=0
run_suite build || rc=1
run_suite build-asan || rc=1
exit $rc
