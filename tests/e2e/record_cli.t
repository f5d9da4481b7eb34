#!/bin/bash
# zcap record's command line: bad input gives one clear line and exit 2;
# `-- CMD` runs CMD and exits with its status; privileges are checked.
ZCAP=${ZCAP:-build/zcap}
n=0 fail=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
# usage_error NAME ARGS...: exit 2, exactly one line on stderr starting "zcap: ", nothing on stdout
usage_error() {
	local name=$1 out err rc
	shift
	out=$("$ZCAP" "$@" 2>/tmp/zcap-cli-err.$$)
	rc=$?
	err=$(cat /tmp/zcap-cli-err.$$)
	[ $rc = 2 ] && [ -z "$out" ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] && [[ $err == "zcap: "* ]]
	ok $? "$name (rc=$rc: $err)"
}
echo "1..29"
usage_error "unknown flag" record --bogus
usage_error "bad number for -s" record -s abc
usage_error "negative snaplen" record -s -5
usage_error "snaplen out of range" record -s 99999999999
usage_error "missing argument" record -c
usage_error "count zero" record -c 0
usage_error "port out of range" record --port 70000
usage_error "bad pid" record -p 12ab
usage_error "pid that does not exist" record -p 4194303
usage_error "bad duration" record --duration soon
usage_error "bad buffer size" record -B 1
usage_error "bad event list" record -e io,nope
usage_error "missing command after --" record --
usage_error "stray argument" record true
usage_error "-p with -- CMD" record -p 1 -- true
usage_error "unknown command" frobnicate
usage_error "output is a directory" record -o /tmp -- true
usage_error "unknown format" record --format nope
usage_error "fractional snaplen" record -s 1.5

"$ZCAP" record -q -- sh -c 'exit 7' >/dev/null 2>&1
ok $([ $? = 7 ] && echo 0 || echo 1) "-- CMD exit code propagated (7)"
"$ZCAP" record -q -- sh -c 'kill -TERM $$' >/dev/null 2>&1
ok $([ $? = 143 ] && echo 0 || echo 1) "-- CMD killed by SIGTERM gives 128+15"
"$ZCAP" record -q -- /nonexistent/cmd >/dev/null 2>/tmp/zcap-cli-err.$$
rc=$?
ok $([ $rc = 127 ] && grep -q "cannot run '/nonexistent/cmd'" /tmp/zcap-cli-err.$$ && echo 0 || echo 1) \
	"nonexistent command: exit 127 and a clear line (rc=$rc)"

# not root: a clear line naming the fix, exit 2, before any BPF is touched
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$ZCAP" record -- true 2>&1)
rc=$?
ok $([ $rc = 2 ] && [[ $out == *"run as root"* ]] && echo 0 || echo 1) "not root: exit 2 ($out)"

# what is missing is named: CAP_NET_ADMIN (or CAP_SYS_ADMIN, its superset)
# only matters for packet capture
noadmin="setpriv --bounding-set=-net_admin,-sys_admin --inh-caps=-net_admin,-sys_admin"
out=$($noadmin "$ZCAP" record -q -o /tmp/zcap-cli-$$.pcapng -- true 2>&1)
rc=$?
ok $([ $rc = 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && [[ $out == *"CAP_NET_ADMIN for packet capture"* ]] && echo 0 || echo 1) \
	"root without CAP_NET_ADMIN, CAP_SYS_ADMIN: packet capture refused, exit 2 ($out)"
$noadmin "$ZCAP" record -q -e proc -- true >/dev/null 2>&1
ok $? "root without CAP_NET_ADMIN, CAP_SYS_ADMIN: syscall capture runs"
# CAP_BPF and CAP_PERFMON alone: tracefs is root-only
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+bpf,+perfmon --ambient-caps=+bpf,+perfmon \
	"$ZCAP" record -q -- true 2>&1)
rc=$?
ok $([ $rc = 2 ] && [[ $out == "zcap: permission denied: run as root (missing "*"tracefs)" ]] && echo 0 || echo 1) \
	"CAP_BPF+CAP_PERFMON only: exit 2 naming tracefs ($out)"

out=$("$ZCAP" record --help)
ok $([ $? = 0 ] && [[ $out == *"Usage: zcap record"* ]] && [[ $out == *"--snaplen"* ]] && [[ $out == *"Exit status"* ]] && echo 0 || echo 1) "record --help teaches"
out=$("$ZCAP" help)
ok $([ $? = 0 ] && [[ $out == *record* ]] && [[ $out == *doctor* ]] && echo 0 || echo 1) "zcap help lists the commands"

# output file: created 0600 even when it existed with a wider mode
f=$(mktemp /tmp/zcap-out.XXXXXX)
chmod 0644 "$f"
"$ZCAP" record -q -o "$f" -- true >/dev/null 2>&1
ok $([ "$(stat -c %a "$f")" = 600 ] && [ -s "$f" ] && echo 0 || echo 1) "-o FILE is 0600 and written"
rm -f "$f" /tmp/zcap-cli-err.$$ /tmp/zcap-cli-$$.pcapng
exit $fail
