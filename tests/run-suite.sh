#!/bin/bash
# The test suite as `make test` and CI run it: unit tests (cmocka binaries,
# TAP output) and end-to-end tests (executable TAP scripts in tests/e2e)
# under prove, first against build/ together with the QEMU kernel matrix
# (tests/kernels/linux-VER.t: the same zcap in guests with Debian's
# kernels, run once), then against the ASan+UBSan build in build-asan/.
# Output ends with prove's summary of the last run; the exit status is
# non-zero if either run failed.
#
#   tests/run-suite.sh                both builds (they must be built)
#   tests/run-suite.sh --unit-only    unit tests of $ZCAP_BUILD (default build)
#   tests/run-suite.sh --kernels-only the kernel matrix against $ZCAP_BUILD
#   ZCAP_TESTS="tests/e2e/foo.t"      run only these scripts (no matrix
#                                     unless one of them is its .t)
#   ZCAP_KERNELS="6.1"                the matrix's kernels (default:
#                                     `tests/kernels/kernels.sh default`; "" for none)
set -u
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "zcap: the test suite needs root (BPF, tracefs, cgroups)" >&2
	exit 2
fi

kernel_tests=()
for k in ${ZCAP_KERNELS-$(tests/kernels/kernels.sh default)}; do
	if [ ! -x "tests/kernels/linux-$k.t" ]; then
		echo "zcap: no kernel '$k' in the matrix (tests/kernels/linux-$k.t); known: $(tests/kernels/kernels.sh known)" >&2
		exit 2
	fi
	kernel_tests+=("tests/kernels/linux-$k.t")
done

# run_suite BUILD WHAT: WHAT is units+e2e, units+e2e+kernels, units or kernels
run_suite() {
	local build=$1 what=$2
	local units= tests=() t

	case $what in
	units*) units=$(ls "$build"/tests/test_* 2>/dev/null) ;;
	esac
	case $what in
	*e2e*)
		if [ -n "${ZCAP_TESTS:-}" ]; then
			# kernel scripts only in the plain pass (the guests have no ASan runtime)
			for t in $ZCAP_TESTS; do
				case $what:$t in
				units+e2e:tests/kernels/*) ;;
				*) tests+=("$t") ;;
				esac
			done
		else
			# shellcheck disable=SC2207
			tests=($(ls tests/e2e/*.t 2>/dev/null))
			[ "$what" = units+e2e+kernels ] && tests+=("${kernel_tests[@]}")
		fi
		;;
	kernels) tests=("${kernel_tests[@]}") ;;
	esac
	echo "# ---- suite against $build/zcap ----"
	ZCAP="$PWD/$build/zcap" ZCAP_TOOLS="$PWD/$build/tools" ZCAP_BUILD="$build" \
		CMOCKA_MESSAGE_OUTPUT=TAP \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		prove --timer $units "${tests[@]}"
}

case ${1:-} in
--unit-only)
	run_suite "${ZCAP_BUILD:-build}" units
	exit $?
	;;
--kernels-only)
	if [ ${#kernel_tests[@]} = 0 ]; then
		echo "zcap: no kernels to run (ZCAP_KERNELS is empty)" >&2
		exit 2
	fi
	run_suite "${ZCAP_BUILD:-build}" kernels
	exit $?
	;;
esac

rc=0
run_suite build units+e2e+kernels || rc=1
run_suite build-asan units+e2e || rc=1
exit $rc
