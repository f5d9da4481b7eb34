#!/bin/bash
# The QEMU kernel matrix: Debian's own kernels booted under TCG with an
# initramfs that holds a small Debian 12 root, the zcap build under test
# and tests/, whose /init runs tests/kernels/guest-run and powers off.
# tests/kernels/linux-VER.t drive it from the suite; README.md there.
#
#   kernels.sh prepare VER...      fetch the kernels and build the guest root
#   kernels.sh boot VER [BUILD]    pack BUILD (default build) + tests/ into an
#                                  initramfs and boot VER once: the guest's TAP
#                                  in $ZCAP_KERNELS_DIR/run-VER/tap.txt, its
#                                  console in .../console.log
#   kernels.sh known               the kernels this script can fetch
#   kernels.sh default             the default matrix (make test, make test-kernels)
#
# VER is 5.10, 6.1 or 6.12. Everything is cached under $ZCAP_KERNELS_DIR
# (default build/kernels): the .debs, the unpacked kernels, the debootstrap
# tree and its packed cpio. A second run reuses them; delete a piece to
# rebuild it. Environment:
#   ZCAP_KERNEL_TIMEOUT  seconds one guest may run before qemu is killed (900)
#   ZCAP_GUEST_TESTS     comma-separated e2e scripts for the guest to run
#                        instead of its default selection (e.g. zerocopy.t)
#   ZCAP_DEBIAN_MIRROR   Debian archive for debootstrap and bullseye (default:
#                        the one in /etc/apt/sources.list.d, else deb.debian.org)
set -eu
cd "$(dirname "$0")/../.."
TOP=$PWD
KDIR=${ZCAP_KERNELS_DIR:-build/kernels}
mkdir -p "$KDIR"
KDIR=$(cd "$KDIR" && pwd -P)

# The default matrix: Debian 11's 5.10 (no bpf_loop: the bounded-loop
# build), Debian 12's 6.1 and 6.12.
DEFAULT_KERNELS="5.10 6.1 6.12"

die() { echo "zcap: kernels: $*" >&2; exit 1; }
note() { echo "zcap: kernels: $*" >&2; }

# VER -> "package suite": suite "-" is the machine's own apt sources
# (bookworm-security has both bookworm kernels); others get a private apt
# state under $KDIR/apt/SUITE so the machine's is untouched.
kernel_pkg() {
	case $1 in
	5.10) echo "linux-image-5.10.0-32-amd64-unsigned bullseye" ;;
	6.1) echo "linux-image-6.1.0-57-amd64-unsigned -" ;;
	6.12) echo "linux-image-6.12.117+deb12-amd64-unsigned -" ;;
	*) die "unknown kernel '$1' (known: 5.10 6.1 6.12)" ;;
	esac
}

# What the guest root holds beyond minbase: zcap's runtime libraries, the
# peers and oracles of the in-guest checks (guest-run's selection), and the
# tools those scripts call (pgrep, setpriv, bpftool, tcpdump). zcap's
# libcurl4 comes with curl.
ROOT_PKGS="libbpf1 libelf1 zlib1g libpcap0.8 libjson-c5 libssl3 liburing2
	python3 python3-jsonschema curl nginx-light haproxy tshark tcpdump strace
	iproute2 coreutils gzip procps util-linux bpftool"

mirror() {
	local m=${ZCAP_DEBIAN_MIRROR:-}
	if [ -z "$m" ]; then
		# the first deb822 "URIs:" or one-line "deb" entry of the main archive
		m=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
			sed -n -e 's,^URIs: *\(\S*/debian\)/\?$,\1,p' \
			       -e 's,^deb \(\[[^]]*\] \)\?\(\S*/debian\)/\? .*,\2,p' | head -n 1)
	fi
	echo "${m:-http://deb.debian.org/debian}"
}

# apt-get / apt-cache (TOOL) for SUITE: "-" is the machine's own state;
# another suite gets private sources, lists and caches under $KDIR/apt/SUITE
kapt() {
	local suite=$1 tool=$2 d=$KDIR/apt/$1
	shift 2
	if [ "$suite" = - ]; then
		"$tool" "$@"
	else
		"$tool" -o Dir::Etc::sourcelist="$d/sources.list" -o Dir::Etc::sourceparts=- \
			-o Dir::State::Lists="$d/lists" -o Dir::Cache="$d/cache" "$@"
	fi
}

# apt-get update for SUITE; apt only warns when it cannot fetch an index,
# so its output decides
apt_update() {
	local suite=$1 out
	out=$(kapt "$suite" apt-get -q update 2>&1) && ! grep -qE '^(W|E): (Failed to fetch|Some index files)' <<<"$out" ||
		die "apt-get update${2:+ for suite $suite} cannot reach the archive (no network?): $(grep -m 1 -E '^(W|E):' <<<"$out")"
}

# package lists for SUITE: the machine's are updated only when they lack
# PKG (a fresh machine), a private suite's once
apt_lists() {
	local suite=$1 pkg=$2 d=$KDIR/apt/$1
	if [ "$suite" = - ]; then
		apt-cache show "$pkg" >/dev/null 2>&1 && return 0
		note "$pkg unknown to apt; running apt-get update"
		apt_update -
		return 0
	fi
	[ -n "$(ls "$d/lists/"*_Packages* 2>/dev/null)" ] && return 0
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(mirror) $suite main" \
		>"$d/sources.list"
	apt_update "$suite" private
}

# The package to fetch: the pinned one, or, when the archive has moved on,
# the newest linux-image-SERIES.* unsigned package (said on stderr).
resolve_pkg() {
	local pkg=$1 suite=$2 series=$3 newest
	apt_lists "$suite" "$pkg"
	if kapt "$suite" apt-cache show "$pkg" >/dev/null 2>&1; then
		echo "$pkg"
		return
	fi
	newest=$(kapt "$suite" apt-cache pkgnames linux-image- |
		grep -E "^linux-image-${series//./\\.}\.[0-9]+(-[0-9]+)?(\+deb[0-9]+)?-amd64-unsigned\$" |
		sort -V | tail -n 1)
	[ -n "$newest" ] || die "$pkg is not in the archive, nor any linux-image-$series.*-amd64-unsigned"
	note "$pkg is gone from the archive; using the newest of $series: $newest"
	echo "$newest"
}

# build/kernels/linux-VER/{vmlinuz,config,version,unpacked/}
fetch_kernel() {
	local ver=$1 pkg suite d deb
	d=$KDIR/linux-$ver
	[ -s "$d/vmlinuz" ] && return 0
	read -r pkg suite <<<"$(kernel_pkg "$ver")"
	pkg=$(resolve_pkg "$pkg" "$suite" "$ver")
	rm -rf "$d.tmp" && mkdir -p "$d.tmp" "$KDIR/deb"
	deb=$(ls "$KDIR/deb/${pkg}_"*.deb 2>/dev/null | tail -n 1)
	if [ -z "$deb" ]; then
		note "downloading $pkg"
		rm -rf "$KDIR/deb/tmp" && mkdir -p "$KDIR/deb/tmp"
		# (apt warns that it downloads as root, not _apt, into a root-only tree)
		(cd "$KDIR/deb/tmp" && kapt "$suite" apt-get -q download "$pkg") >"$KDIR/deb/download.log" 2>&1 ||
			die "apt-get download $pkg failed (no network?); see $KDIR/deb/download.log"
		mv "$KDIR/deb/tmp/"*.deb "$KDIR/deb/" && rmdir "$KDIR/deb/tmp"
		deb=$(ls "$KDIR/deb/${pkg}_"*.deb | tail -n 1)
	fi
	dpkg-deb -x "$deb" "$d.tmp/unpacked" || die "dpkg-deb -x $deb failed"
	ln -s unpacked/boot/"$(cd "$d.tmp/unpacked/boot" && ls vmlinuz-*)" "$d.tmp/vmlinuz"
	ln -s unpacked/boot/"$(cd "$d.tmp/unpacked/boot" && ls config-*)" "$d.tmp/config"
	dpkg-deb -f "$deb" Package Version >"$d.tmp/version"
	rm -rf "$d" && mv "$d.tmp" "$d"
	note "linux $ver: $(tr '\n' ' ' <"$d/version")"
}

# build/kernels/root (debootstrap tree) and root.cpio.gz (its packed form).
# Rebuilt when ROOT_PKGS changes.
build_root() {
	local r=$KDIR/root want
	want=$(echo $ROOT_PKGS)
	if [ -s "$KDIR/root.cpio.gz" ] && [ "$(cat "$r/.zcap-root-pkgs" 2>/dev/null)" = "$want" ]; then
		return 0
	fi
	if [ "$(cat "$r/.zcap-root-pkgs" 2>/dev/null)" != "$want" ]; then
		command -v debootstrap >/dev/null || die "debootstrap is not installed (make deps)"
		rm -rf "$r.tmp"
		note "debootstrap (minbase, bookworm) into $r"
		debootstrap --variant=minbase bookworm "$r.tmp" "$(mirror)" >"$KDIR/debootstrap.log" 2>&1 ||
			die "debootstrap failed (no network? mirror $(mirror)); see $KDIR/debootstrap.log"
		# no daemon may start inside the chroot while packages install
		printf '#!/bin/sh\nexit 101\n' >"$r.tmp/usr/sbin/policy-rc.d"
		chmod 755 "$r.tmp/usr/sbin/policy-rc.d"
		mount -t proc proc "$r.tmp/proc"
		# shellcheck disable=SC2086
		if ! chroot "$r.tmp" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
			sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $want" \
			>>"$KDIR/debootstrap.log" 2>&1; then
			umount "$r.tmp/proc"
			die "installing the guest packages failed; see $KDIR/debootstrap.log"
		fi
		umount "$r.tmp/proc"
		# smaller image: nothing in the guest reads docs, man pages, locales
		# or apt's caches
		rm -rf "$r.tmp"/usr/share/{doc,man,info,locale,lintian} "$r.tmp"/var/cache/apt/* \
			"$r.tmp"/var/lib/apt/lists/* "$r.tmp"/var/log/* "$r.tmp/usr/sbin/policy-rc.d"
		echo "$want" >"$r.tmp/.zcap-root-pkgs"
		rm -rf "$r" && mv "$r.tmp" "$r"
	fi
	note "packing the guest root ($(du -sh "$r" | cut -f1))"
	(cd "$r" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) \
		>"$KDIR/root.cpio.gz.tmp" || die "packing $r failed"
	mv "$KDIR/root.cpio.gz.tmp" "$KDIR/root.cpio.gz"
}

# The initramfs of one run: the cached root, then a second cpio (the kernel
# unpacks concatenated archives in turn) with /init, the build under test,
# tests/ and the lineage schema the lineage checks validate against.
pack_run() {
	local ver=$1 build=$2 run=$KDIR/run-$1 s
	s=$run/stage
	rm -rf "$s" && mkdir -p "$s/zcap/build/tools" "$s/zcap/docs"
	[ -x "$build/zcap" ] || die "no zcap binary at $build/zcap (make)"
	cp "$build/zcap" "$s/zcap/build/"
	cp "$build"/tools/* "$s/zcap/build/tools/" 2>/dev/null || die "no $build/tools/* (make)"
	cp -r tests "$s/zcap/"
	rm -rf "$s/zcap/tests/out"
	find "$s/zcap/tests" -name __pycache__ -prune -exec rm -rf {} +
	cp docs/*.json "$s/zcap/docs/"
	cp tests/kernels/init "$s/init"
	(cd "$s" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1) \
		>"$run/overlay.cpio.gz"
	cat "$KDIR/root.cpio.gz" "$run/overlay.cpio.gz" >"$run/initrd.img"
	rm -rf "$s" "$run/overlay.cpio.gz"
}

# One boot: TCG (KVM does not work on these hosts), one vCPU (two crash
# guests under TCG here), console on ttyS0, the guest's TAP on ttyS1.
boot() {
	local ver=$1 build=${2:-build} run=$KDIR/run-$1 t0 rc limit=${ZCAP_KERNEL_TIMEOUT:-900}
	local append
	command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is not installed (make deps)"
	[ -s "$KDIR/linux-$ver/vmlinuz" ] && [ -s "$KDIR/root.cpio.gz" ] ||
		die "linux $ver or the guest root is not prepared (kernels.sh prepare $ver)"
	mkdir -p "$run"
	# one boot of VER at a time: they share the run directory. boot-tap
	# holds this lock itself until it has read the results, and says so.
	if [ "${ZCAP_RUN_LOCKED:-}" != "$run.lock" ]; then
		exec 8>"$run.lock"
		flock 8
	fi
	rm -f "$run/console.log" "$run/tap.txt" "$run/qemu.err"
	t0=$(date +%s)
	pack_run "$ver" "$build"
	note "linux $ver: initramfs packed in $(($(date +%s) - t0)) s ($(du -h "$run/initrd.img" | cut -f1))"
	append="rdinit=/init console=ttyS0 panic=-1 zcap_kernel=$ver"
	[ -n "${ZCAP_GUEST_TESTS:-}" ] && append="$append zcap_tests=$ZCAP_GUEST_TESTS"
	# investigation only (docs/kernels.md, "more than one vCPU"): another
	# vCPU count, and a script of tests/kernels/ run instead of guest-run
	[ -n "${ZCAP_GUEST_CMD:-}" ] && append="$append zcap_cmd=$ZCAP_GUEST_CMD ${ZCAP_GUEST_ARGS:-}"
	t0=$(date +%s)
	rc=0
	timeout -k 10 "$limit" qemu-system-x86_64 -accel tcg -cpu max -m 4G -smp "${ZCAP_GUEST_SMP:-1}" \
		-nodefaults -display none -no-reboot \
		-serial "file:$run/console.log" -serial "file:$run/tap.txt" \
		-kernel "$KDIR/linux-$ver/vmlinuz" -initrd "$run/initrd.img" -append "$append" \
		2>"$run/qemu.err" || rc=$?
	echo "$(($(date +%s) - t0))" >"$run/seconds"
	rm -f "$run/initrd.img"
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		note "linux $ver: the guest did not power off within $limit s; qemu killed"
		return 124
	fi
	[ "$rc" = 0 ] || note "linux $ver: qemu exited $rc: $(tail -n 3 "$run/qemu.err")"
	return "$rc"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
prepare)
	[ $# -gt 0 ] || die "usage: kernels.sh prepare VER..."
	for v in "$@"; do kernel_pkg "$v" >/dev/null; done
	# one builder at a time (prove -j, two make runs)
	exec 9>"$KDIR/.lock"
	flock 9
	for v in "$@"; do fetch_kernel "$v"; done
	build_root
	;;
boot)
	[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: kernels.sh boot VER [BUILD]"
	kernel_pkg "$1" >/dev/null
	boot "$1" "${2:-build}"
	;;
known) echo "5.10 6.1 6.12" ;;
default) echo "$DEFAULT_KERNELS" ;;
*) die "usage: kernels.sh prepare VER... | boot VER [BUILD] | known | default" ;;
esac
