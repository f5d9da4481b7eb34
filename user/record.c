// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* zcap record: capture I/O and print it (text, JSON Lines). */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "account.h"
#include "capture.h"
#include "stopsig.h"
#include "cgroups.h"
#include "cli.h"
#include "commands.h"
#include "filter_expr.h"
#include "killguard.h"
#include "linefile.h"
#include "outfile.h"
#include "privs.h"
#include "procstat.h"
#include "record.h"
#include "rotate.h"
#include "sink_pcapng.h"
#include "spawn.h"
#include "status.h"
#include "util.h"


/* stdio buffer of the text and JSON output: written in blocks this large
 * (or every 100 ms, capture.c), not per line. Each write(2) that ends in a
 * new block of an ext4 file costs a zeroing of the rest of it: 8 KiB
 * writes cost the JSON consumer a quarter of its CPU (docs/performance.md,
 * fifth round). A kill -9 inside one is cut back by the guard (killguard.h). */
#define OUTPUT_BLOCK (256 * 1024)

enum {
	OPT_COMM = 0x100,
	OPT_PORT,
	OPT_JSON,
	OPT_DURATION,
	OPT_WIDTH,
	OPT_FORMAT,
	OPT_SEND_HOOK,
	OPT_NO_SEND_PATH,
	OPT_TEST_BAD_PAGE_BASE,
	OPT_CGROUP,
	OPT_FD_KINDS,
};

static const struct argp_option record_options[] = {
	{ NULL, 0, NULL, 0, "What to capture:", 1 },
	{ "pid", 'p', "PID", 0, "Capture PID and the processes it forks from now on (repeatable)", 1 },
	{ "comm", OPT_COMM, "NAME", 0,
	  "Capture only tasks whose command name is NAME (repeatable: any of them)", 1 },
	{ "port", OPT_PORT, "PORT", 0,
	  "Capture only TCP/UDP sockets with local or remote port PORT (repeatable: any of them)",
	  1 },
	{ "interface", 'i', "IFACE", 0,
	  "Packet output: only packets of interface IFACE (any = all, the default)", 1 },
	{ "fd-kinds", OPT_FD_KINDS, "LIST", 0,
	  "Records of these kinds of fd only (repeatable): socket (= tcp,udp,unix and other "
	  "sockets), tcp, udp, unix, file (files and directories), pipe, char (ttys, /dev/null), "
	  "other (eventfd, epoll, ...). Process records are left out, as with --port", 1 },
	{ "cgroup", OPT_CGROUP, "PATH", 0,
	  "Capture only tasks in the cgroup v2 PATH or below it, and packets of their sockets "
	  "(a container: /sys/fs/cgroup/system.slice/docker-ID.scope, or the same relative to "
	  "the cgroup2 root as /proc/PID/cgroup shows it); filtered in the kernel", 1 },
	{ "events", 'e', "LIST", 0,
	  "Record types to show: io (with zero-copy bodies), body, xfer, fd, proc "
	  "(default: all). fd records read like strace -y: open flags by name "
	  "(O_RDONLY|O_CLOEXEC), connect/bind/listen/accept with their addresses (a refused "
	  "connect too), unix socket names and the peer's pid, files whose name is gone "
	  "marked (deleted)", 1 },
	{ "send-hook", OPT_SEND_HOOK, "HOOK", 0,
	  "Zero-copy bodies from this TCP send-path hook: auto, kprobe, fentry, tracepoint "
	  "(default auto: the first that attaches; docs/zerocopy.md)", 1 },
	{ "no-send-path", OPT_NO_SEND_PATH, NULL, 0,
	  "No zero-copy bodies (sendfile/splice metadata only)", 1 },
	{ "test-bad-page-base", OPT_TEST_BAD_PAGE_BASE, NULL, OPTION_HIDDEN,
	  "Test only: make the page-translation self-test fail", 1 },
	{ "user", CLI_OPT_USER, "USER", 0,
	  "Run CMD as USER (a name or numeric uid) with HOME, USER and LOGNAME set as runuser "
	  "-u sets them (SHELL left as runuser -u leaves it) (with -- CMD)", 1 },
	{ NULL, 0, NULL, 0, "How much:", 2 },
	{ "snaplen", 's', "BYTES", 0,
	  "Payload bytes captured per call (default 16384; text output without -X or "
	  "EXPRESSION: what --width shows, at most 16384; 0 = everything)", 2 },
	{ "buffer-size", 'B', "KIB", 0,
	  "Ring buffer size in KiB, 16 to 2097152, rounded up to a power of two (default 32768); "
	  "events that do not fit are counted as lost", 2 },
	{ "map-entries", CLI_OPT_MAP_ENTRIES, "N", 0,
	  "Entries of the BPF maps kept per thread in a call and per traced process, 16 to "
	  "16777216 (default 65536; 16384 for the send-path and truncate maps); when one is "
	  "full, events are counted as lost (map full)", 2 },
	{ "count", 'c', "N", 0, "Stop after N records", 2 },
	{ "duration", OPT_DURATION, "SECONDS", 0, "Stop after SECONDS", 2 },
	{ NULL, 0, NULL, 0, "Output:", 3 },
	{ "json", OPT_JSON, NULL, 0,
	  "JSON Lines, one object per record, each with ts_ns (monotonic) and time (UTC, RFC 3339 "
	  "with nanoseconds) (docs/event-schema.md)", 3 },
	{ "output", 'o', "FILE", 0,
	  "Write to FILE (created 0600) instead of stdout. FILE.pcapng, FILE.pcap and - (stdout, "
	  "pcap-ng) capture IP packets with the process that sent or received each, connections "
	  "opened before the capture too (named from /proc; docs/pcapng.md)",
	  3 },
	{ "format", OPT_FORMAT, "FMT", 0,
	  "Output format: text, json, pcapng or pcap (default: from -o's name, else text)", 3 },
	{ "width", OPT_WIDTH, "COLS", 0,
	  "Payload preview width in text output (default: terminal width, 100 otherwise; 0 = none)",
	  3 },
	{ "hex", 'X', NULL, 0,
	  "Text output: each payload also as hex and ASCII, as tcpdump -X prints it", 3 },
	{ "quiet", 'q', NULL, 0,
	  "No start line, live status line or summary on stderr (the status line is shown "
	  "only when stderr is a terminal the records do not go to)", 3 },
	{ "relinquish-privileges", 'Z', "USER", 0,
	  "Once everything is attached and the output opened, drop root and run as USER (a "
	  "name or numeric uid: its groups, gid and uid, no capabilities) for the rest of the "
	  "capture, as tcpdump -Z does", 3 },
	{ "read", 'r', "FILE", 0, "Read a saved capture instead: the same as 'zcap read FILE'", 3 },
	{ NULL, 0, NULL, 0, "Long captures (packet output, tcpdump's options and file names):", 4 },
	{ "file-size", 'C', "MB", 0,
	  "Before writing a packet, start a new file when this one is larger than MB millions "
	  "of bytes (a fraction is allowed): FILE, FILE1, FILE2, ...", 4 },
	{ "rotate-seconds", 'G', "SECONDS", 0,
	  "Start a new file with the first packet SECONDS or more after this file began; "
	  "strftime(3) %-sequences in FILE are the local time of each file's start "
	  "(-o 'cap-%Y%m%d-%H%M%S.pcapng')", 4 },
	{ "file-count", 'W', "N", 0,
	  "With -C: a ring of N files FILE0 .. FILE<N-1> (zero-padded), the oldest replaced; "
	  "with -G alone: stop after N files", 4 },
	{ "verbose", 'v', NULL, 0,
	  "The hooks attached, counters at the end and libbpf messages on stderr (twice: debug)",
	  3 },
	{ 0 },
};

static const char record_doc[] =
	"Capture what processes read and write through files, pipes and sockets.\v"
	"Without a filter the whole system is captured (zcap's own I/O never is). With "
	"`-- CMD ARGS...` zcap runs CMD, captures it and every process it starts, and exits "
	"with CMD's exit code.\n\n"
	"EXPRESSION, after the options (and before -- CMD), is a pcap filter expression as "
	"tcpdump takes it (pcap-filter(7)), for packets that start at their IP header. With "
	"packet output it runs in the kernel: packets that do not match are never copied. In "
	"text and JSON output it selects the records of TCP and UDP sockets: each is matched as "
	"the packet it stands for (its addresses, ports and protocol in the direction the bytes "
	"went, TCP flags ACK and PSH, its payload); other records never match.\n\n"
	"Examples:\n"
	"  zcap record -- curl -s http://127.0.0.1:8000/\n"
	"      what curl sent and received\n"
	"  zcap record -e io --fd-kinds socket -- curl -s http://127.0.0.1:8000/\n"
	"      only curl's network I/O (not the libraries it reads)\n"
	"  zcap record -o web.pcapng 'tcp port 80 and host 10.0.0.1'\n"
	"      those packets only, filtered in the kernel\n"
	"  zcap record --json -p 1234 -s 0\n"
	"      pid 1234 and its children from now on, whole payloads, JSON Lines\n"
	"  zcap record -e fd -- python3 app.py\n"
	"      its opens, connects, binds, listens and accepts, as strace -y would name them\n"
	"  zcap record --port 443 -c 100\n"
	"      100 records of sockets with port 443\n"
	"  zcap record -o web.pcapng -- curl -s http://x/\n"
	"      curl's packets, for Wireshark\n"
	"  zcap record -o db.pcapng -p 4321\n"
	"      a running server's packets, its open keep-alive connections named too\n"
	"  zcap record -o - --port 80 | wireshark -k -i -\n"
	"      live packets into Wireshark\n"
	"  zcap record -o ring.pcapng -C 100 -W 10\n"
	"      the newest 10 files of 100 MB: ring.pcapng0 .. ring.pcapng9\n"
	"  zcap record -o 'day-%Y%m%d.pcapng' -G 86400\n"
	"      one file a day, named by its date\n\n"
	"On a terminal a status line on stderr counts records (packets), bytes and lost "
	"events once a second with the time elapsed.\n\n"
	"  zcap record --json --cgroup /system.slice/docker-ID.scope\n"
	"      what one container does, filtered in the kernel\n"
	"  zcap record -Z nobody -o web.pcapng --port 80\n"
	"      drop root once the capture runs\n\n"
	"Containers: every JSON record carries the cgroup_id of its task and, resolved, its "
	"\"cgroup\" path (as /proc/PID/cgroup shows it), with \"container_id\", "
	"\"container_runtime\" and \"pod_uid\" when the path names them (docker, podman, "
	"containerd, CRI-O, Kubernetes layouts); pcap-ng packets carry \"cgroup PATH\" and "
	"\"container RUNTIME ID\" comments for their socket.\n\n"
	"At the end a summary on stderr counts records, payload bytes and lost events "
	"by cause (ring full, map full, read fault); --json ends with a \"summary\" "
	"record and reports losses as \"drop\" records.\n\n"
	"Exit status: 0 ok, 1 runtime failure, 2 bad usage or missing privileges (root is "
	"needed); with CMD, CMD's exit status (128+N if it was killed by signal N, 127 if "
	"it cannot be run), or if zcap stopped while CMD runs on, 128+N for signal N and 141 "
	"when the reader of the output went away.";

static bool parse_events(const char *list, unsigned int *mask)
{
	char *copy = strdup(list), *save = NULL, *tok;
	bool ok = true;

	*mask = 0;
	if (!copy)
		return false;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "io"))
			*mask |= 1u << ZCAP_EV_IO | 1u << ZCAP_EV_SEND;
		else if (!strcmp(tok, "body"))
			*mask |= 1u << ZCAP_EV_SEND;
		else if (!strcmp(tok, "xfer"))
			*mask |= 1u << ZCAP_EV_XFER;
		else if (!strcmp(tok, "fd"))
			*mask |= 1u << ZCAP_EV_FD;
		else if (!strcmp(tok, "proc"))
			*mask |= 1u << ZCAP_EV_PROC;
		else
			ok = false;
	}
	free(copy);
	return ok && *mask;
}

/* --fd-kinds: 1 << enum zcap_fd_kind per name. */
static bool parse_fd_kinds(const char *list, uint16_t *mask)
{
	static const struct {
		const char *name;
		uint16_t kinds;
	} names[] = {
		{ "socket", 1u << ZCAP_FD_TCP | 1u << ZCAP_FD_UDP | 1u << ZCAP_FD_UNIX |
				    1u << ZCAP_FD_SOCK_OTHER },
		{ "tcp", 1u << ZCAP_FD_TCP },
		{ "udp", 1u << ZCAP_FD_UDP },
		{ "unix", 1u << ZCAP_FD_UNIX },
		{ "file", 1u << ZCAP_FD_FILE | 1u << ZCAP_FD_DIR },
		{ "pipe", 1u << ZCAP_FD_PIPE },
		{ "char", 1u << ZCAP_FD_CHR },
		{ "other", 1u << ZCAP_FD_OTHER },
	};
	char *copy = strdup(list), *save = NULL, *tok;
	bool ok = copy != NULL;

	for (tok = ok ? strtok_r(copy, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i = 0;

		while (i < sizeof(names) / sizeof(names[0]) && strcmp(tok, names[i].name))
			i++;
		if (i == sizeof(names) / sizeof(names[0]))
			ok = false;
		else
			*mask |= names[i].kinds;
	}
	free(copy);
	return ok && *mask;
}

/* Expression words (argp hands them one by one) joined by spaces, as
 * tcpdump joins its arguments. */
static bool add_expr_word(struct record_args *a, const char *word)
{
	size_t used = strlen(a->filter_text), n = strlen(word);

	if (used + !!used + n >= sizeof(a->filter_text))
		return false;
	if (used)
		a->filter_text[used++] = ' ';
	memcpy(a->filter_text + used, word, n + 1);
	return true;
}

static const char *const format_names[] = {
	[RECORD_FMT_TEXT] = "text",
	[RECORD_FMT_JSON] = "json",
	[RECORD_FMT_PCAPNG] = "pcapng",
	[RECORD_FMT_PCAP] = "pcap",
};

static bool parse_format(const char *s, enum record_format *out)
{
	for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
		if (!strcmp(s, format_names[i])) {
			*out = i;
			return true;
		}
	}
	return false;
}

/* --format given (argp parsers get no other per-parse state) */
static bool format_set;

static error_t record_parse(int key, char *arg, struct argp_state *state)
{
	struct record_args *a = state->input;
	struct capture_opts *c = &a->cap;
	struct procstat ps;
	uint64_t v;
	int err;

	switch (key) {
	case 'p':
		if (!parse_u64(arg, 1, 0x7fffffff, &v))
			CLI_FAIL("invalid pid '%s'", arg);
		else if (c->npids >= CAPTURE_MAX_PIDS)
			CLI_FAIL("at most %d -p options", CAPTURE_MAX_PIDS);
		else if (kill((pid_t)v, 0) && errno == ESRCH)
			CLI_FAIL("no such process: %s", arg);
		/* as strace -p refuses one: nothing would ever be captured */
		else if (!procstat_read(v, &ps) && ps.kernel_thread)
			CLI_FAIL("pid %s (%s) is a kernel thread: it has no user I/O to capture",
				 arg, ps.comm);
		else
			c->pids[c->npids++] = v;
		break;
	case OPT_COMM:
		if (!*arg || strlen(arg) >= ZCAP_COMM_LEN)
			CLI_FAIL("invalid --comm '%s' (1 to %d characters)", arg,
				   ZCAP_COMM_LEN - 1);
		if (c->lo.ncomms >= ZCAP_MAX_COMMS)
			CLI_FAIL("at most %d --comm options", ZCAP_MAX_COMMS);
		c->lo.comms[c->lo.ncomms++] = arg;
		break;
	case OPT_PORT:
		if (!parse_u64(arg, 1, 65535, &v))
			CLI_FAIL("invalid port '%s' (1-65535)", arg);
		c->lo.port_set[v >> 3] |= 1u << (v & 7);
		c->lo.filter_port = true;
		break;
	case 'i':
		if (!strcmp(arg, "any"))
			c->lo.ifindex = 0;
		else if (!*arg || !(c->lo.ifindex = if_nametoindex(arg)))
			CLI_FAIL("no such interface '%s'", arg);
		a->iface_set = strcmp(arg, "any") != 0;
		break;
	case OPT_FD_KINDS:
		if (!parse_fd_kinds(arg, &c->lo.fd_kinds))
			CLI_FAIL("invalid --fd-kinds '%s' (a list of socket, tcp, udp, unix, file, "
				 "pipe, char, other)",
				 arg);
		break;
	case 'e':
		if (!parse_events(arg, &c->event_mask))
			CLI_FAIL("invalid --events '%s' (a list of io, body, xfer, fd, proc)", arg);
		a->events_set = true;
		break;
	case 's':
		if (!parse_u64(arg, 0, 1U << 30, &v))
			CLI_FAIL("invalid snaplen '%s' (0 to %u bytes)", arg, 1U << 30);
		c->lo.snaplen = v ? v : UINT32_MAX;
		a->snaplen_set = true;
		break;
	case 'c':
		if (!parse_u64(arg, 1, UINT64_MAX, &v))
			CLI_FAIL("invalid count '%s'", arg);
		c->max_records = v;
		break;
	case OPT_DURATION:
		if (!parse_seconds(arg, &c->duration))
			CLI_FAIL("invalid duration '%s' (seconds > 0)", arg);
		break;
	case OPT_JSON:
		a->json = true;
		break;
	case 'o':
		if (!*arg)
			CLI_FAIL("empty output file name");
		a->output = arg;
		break;
	case OPT_FORMAT:
		if (!parse_format(arg, &a->format))
			CLI_FAIL("invalid --format '%s' (text, json, pcapng or pcap)", arg);
		format_set = true;
		break;
	case OPT_WIDTH:
		if (!parse_u64(arg, 0, 1 << 20, &v))
			CLI_FAIL("invalid width '%s'", arg);
		a->width = v;
		a->width_set = true;
		break;
	case OPT_SEND_HOOK:
		if (strcmp(arg, "auto") && strcmp(arg, "kprobe") && strcmp(arg, "fentry") &&
		    strcmp(arg, "tracepoint"))
			CLI_FAIL("invalid --send-hook '%s' (auto, kprobe, fentry, tracepoint)", arg);
		c->lo.send_hook = arg;
		break;
	case OPT_CGROUP:
		err = cgroup_resolve(arg, &c->lo.cgroup_id, &c->lo.cgroup_level);
		if (err)
			CLI_FAIL("no such cgroup '%s': %s (a directory of the cgroup2 mount)", arg,
				 strerror(-err));
		c->lo.filter_cgroup = true;
		break;
	case 'Z':
		if (account_lookup(arg, &a->drop_to))
			CLI_FAIL("unknown user '%s' for -Z (a name or a numeric uid)", arg);
		c->drop_to = &a->drop_to;
		break;
	case OPT_NO_SEND_PATH:
		c->lo.no_send_path = true;
		break;
	case OPT_TEST_BAD_PAGE_BASE:
		c->lo.test_bad_page_base = true;
		break;
	case 'q':
		c->quiet = true;
		break;
	case 'X':
		a->hex = true;
		break;
	case 'C': {
		double mb;

		if (!parse_seconds(arg, &mb) || mb * 1e6 < 1 || mb > 1e12)
			CLI_FAIL("invalid -C '%s' (millions of bytes, > 0)", arg);
		a->rot.size_limit = (uint64_t)(mb * 1e6);
		break;
	}
	case 'G':
		if (!parse_u64(arg, 1, 100L * 365 * 86400, &v))
			CLI_FAIL("invalid -G '%s' (whole seconds > 0)", arg);
		a->rot.period = v;
		break;
	case 'W':
		if (!parse_u64(arg, 1, 1000000, &v))
			CLI_FAIL("invalid -W '%s' (1 to 1000000 files)", arg);
		a->rot.files = v;
		break;
	case 'r':
		/* cmd_record hands -r to zcap read before parsing */
		CLI_FAIL("-r FILE reads a capture: put it first ('zcap record -r FILE ...')");
		break;
	case 'v':
		zcap_verbose++;
		break;
	case ARGP_KEY_ARG:
		if (!add_expr_word(a, arg))
			CLI_FAIL("filter expression too long (at most %zu bytes)",
				 sizeof(a->filter_text) - 1);
		break;
	default:
		return cli_capture_opt(key, arg, c);
	}
	return 0;
}

static const struct argp record_argp = {
	.options = record_options,
	.parser = record_parse,
	.args_doc = "[EXPRESSION] [-- CMD [ARG...]]",
	.doc = record_doc,
};

static int terminal_width(void)
{
	struct winsize ws;

	if (isatty(STDOUT_FILENO) && !ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_col > 60)
		return ws.ws_col - 60; /* room for the line's prefix */
	return 100;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && !strcasecmp(s + n - m, suffix);
}

/* The output format from --format, --json or -o's name; packet formats
 * change what is captured. 0 or ZCAP_EXIT_USAGE with a message printed. */
static int resolve_format(struct record_args *a)
{
	struct capture_opts *c = &a->cap;

	if (!format_set) {
		if (a->json)
			a->format = RECORD_FMT_JSON;
		else if (a->output && (!strcmp(a->output, "-") || ends_with(a->output, ".pcapng")))
			a->format = RECORD_FMT_PCAPNG;
		else if (a->output && ends_with(a->output, ".pcap"))
			a->format = RECORD_FMT_PCAP;
		else if (a->output && ends_with(a->output, ".json"))
			a->format = RECORD_FMT_JSON;
		else
			a->format = RECORD_FMT_TEXT;
	} else if (a->json && a->format != RECORD_FMT_JSON) {
		zcap_err("record: --json and --format %s exclude each other", format_names[a->format]);
		return ZCAP_EXIT_USAGE;
	}
	/* a packet file's name with --json: refused as --format pcapng is */
	if (a->json && !format_set && a->output &&
	    (ends_with(a->output, ".pcapng") || ends_with(a->output, ".pcap"))) {
		zcap_err("record: --json and -o %s exclude each other (--format json to write JSON "
			 "Lines there)",
			 a->output);
		return ZCAP_EXIT_USAGE;
	}
	a->json = a->format == RECORD_FMT_JSON;
	if (a->rot.files && !rotate_wanted(&a->rot)) {
		zcap_err("record: -W needs -C or -G");
		return ZCAP_EXIT_USAGE;
	}
	if (a->hex && a->format != RECORD_FMT_TEXT) {
		zcap_err("record: -X is for text output (--format %s)", format_names[a->format]);
		return ZCAP_EXIT_USAGE;
	}
	if (rotate_wanted(&a->rot) &&
	    (!record_format_packets(a->format) || !a->output || !strcmp(a->output, "-"))) {
		zcap_err("record: -C and -G rotate packet files: they need -o FILE.pcapng or "
			 "FILE.pcap");
		return ZCAP_EXIT_USAGE;
	}
	if (!record_format_packets(a->format)) {
		if (a->iface_set) {
			zcap_err("record: -i applies to packet output (-o FILE.pcapng); records "
				 "of sockets have no interface");
			return ZCAP_EXIT_USAGE;
		}
		return 0;
	}
	if (a->events_set || c->lo.fd_kinds) {
		zcap_err("record: %s does not apply to packet output (--format %s)",
			 a->events_set ? "-e" : "--fd-kinds", format_names[a->format]);
		return ZCAP_EXIT_USAGE;
	}
	if (!a->output)
		a->output = "-";
	/* like tcpdump: whole packets unless -s says otherwise */
	if (!a->snaplen_set)
		c->lo.snaplen = UINT32_MAX;
	c->lo.want_packets = true;
	/* syscall records only name the packets' owners: no payload copies */
	c->lo.want_payload = false;
	a->max_packets = c->max_records;
	c->max_records = 0;
	c->event_mask = 0;
	return 0;
}

/*
 * Text output shows `width` columns of each payload, a byte taking one
 * column or more: as strace -s does, capture no more than that, unless
 * -s says how much, -X shows whole payloads, or an expression may look at
 * any byte of them. Copying 16 KiB of every call to show 100 bytes of it
 * cost the traced processes and filled the ring (make bench, write loop).
 */
static void text_snaplen(struct record_args *a)
{
	struct capture_opts *c = &a->cap;

	if (a->format != RECORD_FMT_TEXT)
		return;
	if (!a->width_set)
		a->width = terminal_width();
	if (a->snaplen_set || a->hex || a->filter)
		return;
	if (a->width > 0)
		c->lo.snaplen = (uint32_t)a->width < c->lo.snaplen ? (uint32_t)a->width
								   : c->lo.snaplen;
	else
		c->lo.want_payload = false;
}

/* The filter expression: in the kernel for packets, on records else. */
static int compile_filter(struct record_args *a)
{
	struct capture_opts *c = &a->cap;
	int err;

	if (!*a->filter_text)
		return 0;
	err = filter_expr_compile(a->filter_text, &a->filter);
	if (err)
		return err == -ENOMEM ? ZCAP_EXIT_FAIL : ZCAP_EXIT_USAGE;
	if (record_format_packets(a->format))
		c->lo.pkt_filter = filter_expr_insns(a->filter, &c->lo.pkt_filter_len);
	else
		c->record_filter = a->filter;
	return 0;
}

void record_args_free(struct record_args *a)
{
	filter_expr_free(a->filter);
	a->filter = NULL;
}

int record_parse_args(int argc, char **argv, struct record_args *a)
{
	int dash, rc;

	memset(a, 0, sizeof(*a));
	a->cap.lo.snaplen = DEFAULT_SNAPLEN;
	a->cap.lo.want_payload = true;
	a->cap.lo.ringbuf_bytes = (uint64_t)DEFAULT_BUFFER_KIB * 1024;
	a->cap.lo.send_hook = "auto";

	format_set = false;
	dash = cli_split_command(argc, argv);
	rc = cli_parse(&record_argp, dash, argv, a, "record");
	if (rc)
		return rc;
	rc = resolve_format(a);
	if (rc)
		return rc;
	if (dash < argc) {
		if (dash + 1 >= argc) {
			zcap_err("record: missing command after -- (see 'zcap record --help')");
			return ZCAP_EXIT_USAGE;
		}
		a->cap.cmd = argv + dash + 1;
		if (a->cap.npids) {
			zcap_err("record: -p and -- CMD exclude each other");
			return ZCAP_EXIT_USAGE;
		}
		/* packet capture moves CMD into a cgroup of zcap's own */
		if (a->cap.lo.filter_cgroup && record_format_packets(a->format)) {
			zcap_err("record: --cgroup and -- CMD exclude each other in packet output "
				 "(CMD's packets are captured in a cgroup of its own)");
			return ZCAP_EXIT_USAGE;
		}
	} else if (a->cap.user) {
		zcap_err("record: --user needs a command after --");
		return ZCAP_EXIT_USAGE;
	}
	rc = compile_filter(a);
	if (!rc)
		text_snaplen(a);
	return rc;
}

static int tick_hook(void *ctx, uint64_t now_ns)
{
	return sink_pcapng_tick(ctx, now_ns);
}

static void lost_hook(void *ctx, uint32_t ifindex, uint64_t lost)
{
	sink_pcapng_lost(ctx, ifindex, lost);
}

/* -o FILE (user/outfile.c): a FIFO is waited for within --duration, and
 * the capture gets what is left of it. 0 or the exit code. */
static int open_output(struct record_args *a, struct outfile *of)
{
	double start = mono_now_s();
	int rc = outfile_open(of, a->output, a->cap.duration);

	if (!rc && a->cap.duration > 0) {
		a->cap.duration -= mono_now_s() - start;
		if (a->cap.duration < 0.001)
			a->cap.duration = 0.001;
	}
	return rc;
}

/* -o FILE.pcapng / FILE.pcap / -: IP packets, each with its process. */
static int record_packets(struct record_args *a)
{
	bool to_stdout = !strcmp(a->output, "-");
	struct pkt_sink_opts po = {
		.fd = STDOUT_FILENO,
		.name = to_stdout ? "stdout" : a->output,
		.format = a->format == RECORD_FMT_PCAP ? PKT_FORMAT_PCAP : PKT_FORMAT_PCAPNG,
		.snaplen = a->cap.lo.snaplen,
		.max_packets = a->max_packets,
		.owned_only = a->cap.npids > 0 || a->cap.lo.ncomms,
		.progress = !a->cap.quiet && isatty(STDERR_FILENO),
		.quiet = a->cap.quiet,
	};
	struct outfile of = { .fd = -1 }, *file = &of;
	struct rotator *rot = NULL;
	struct cgroupmap *cgroups = NULL;
	struct capture_result res;
	struct sink *sink = NULL;
	int rc, err;

	keep_freed_memory(); /* packets wait in memory for their window */
	if (to_stdout && isatty(STDOUT_FILENO)) {
		zcap_err("record: not writing %s to a terminal (use -o FILE, or pipe: "
			 "-o - | wireshark -k -i -)",
			 format_names[a->format]);
		return ZCAP_EXIT_USAGE;
	}
	if (rotate_wanted(&a->rot)) {
		rot = rotator_new(a->output, &a->rot);
		if (!rot)
			return ZCAP_EXIT_FAIL;
		rc = rotator_open_first(rot, a->cap.duration);
		if (rc)
			goto cleanup;
		file = rotator_outfile(rot);
		po.fd = rotator_fd(rot);
		po.name = rotator_name(rot);
		po.rot = rot;
	} else if (!to_stdout) {
		rc = open_output(a, &of);
		if (rc)
			return rc;
		po.fd = of.fd;
	}
	sink = sink_pcapng_new(&po);
	if (!sink) {
		rc = ZCAP_EXIT_FAIL;
		goto cleanup;
	}
	/* packets' cgroups in their comments (NULL when out of memory: none) */
	sink->cgroups = cgroups = cgroupmap_new();
	a->cap.tick = tick_hook;
	a->cap.pkt_lost = lost_hook;
	a->cap.hook_ctx = sink;
	a->cap.out_name = po.name;
	a->cap.out_fd = po.fd;
	a->cap.out_file = file;
	/* a rotated output's fd changes; files have no reader to lose */
	a->cap.watch_out = !rot;
	if (a->cap.cmd)
		a->cap.linger = 0.25;
	capture_run(&a->cap, &sink, 1, &res);
	rc = capture_exit_code(&a->cap, &res);
cleanup:
	if (sink)
		sink->ops->destroy(sink);
	cgroupmap_free(cgroups);
	err = rot ? outfile_close(rotator_outfile(rot)) : outfile_close(&of);
	rotator_free(rot);
	if (err && rc == ZCAP_EXIT_OK) {
		zcap_err("cannot write '%s': %s", a->output, strerror(-err));
		rc = ZCAP_EXIT_FAIL;
	}
	return rc;
}

/* -r FILE, -rFILE, --read FILE or --read=FILE before any "--". */
static bool record_wants_read(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strncmp(argv[i], "-r", 2) || !strcmp(argv[i], "--read") ||
		    !strncmp(argv[i], "--read=", 7))
			return true;
	return false;
}

/* text or JSON Lines to -o FILE or stdout */
static int record_lines(struct record_args *a)
{
	struct cgroupmap *cgroups = NULL;
	struct outfile of = { .fd = -1 };
	struct capture_result res;
	struct sink *sink = NULL;
	bool reported = true; /* an output error was already printed */
	const char *name = "stdout";
	FILE *out = NULL;
	char *outbuf = NULL;
	bool share;
	int rc, err = 0;

	if (a->output && strcmp(a->output, "-")) {
		rc = open_output(a, &of);
		if (rc)
			return rc;
		name = a->output;
		a->cap.out_file = &of;
	}
	a->cap.out_fd = of.fd >= 0 ? of.fd : STDOUT_FILENO;
	/* CMD may write to the same pipe */
	share = a->cap.cmd && a->cap.out_fd == STDOUT_FILENO;
	/* whole lines only, whatever ends zcap; pieces within PIPE_BUF
	 * where shared (linefile.h) */
	out = linefile_open(a->cap.out_fd, share);
	if (!out) {
		zcap_err("out of memory");
		rc = ZCAP_EXIT_FAIL;
		goto cleanup;
	}
	/* large blocks, flushed by the capture loop at least every 100 ms
	 * (capture.c); our own buffer: glibc ignores the size when it
	 * allocates one. Shared, stdio's own: CMD's lines and ours soon. */
	if (!share && (outbuf = malloc(OUTPUT_BLOCK)))
		setvbuf(out, outbuf, _IOFBF, OUTPUT_BLOCK);
	if (a->json)
		sink = sink_json_new(out);
	else
		sink = sink_text_new(out, a->width); /* text_snaplen resolved it */
	if (!sink) {
		rc = ZCAP_EXIT_FAIL;
		goto cleanup;
	}
	if (!a->json)
		sink_text_set_hex(sink, a->hex);
	a->cap.status = !a->cap.quiet && status_wanted(a->cap.out_fd);
	/* records' cgroups by path in JSON (NULL when out of memory: ids only) */
	if (a->json)
		sink->cgroups = cgroups = cgroupmap_new();
	a->cap.out_name = name;
	a->cap.watch_out = true;
	capture_run(&a->cap, &sink, 1, &res);
	rc = capture_exit_code(&a->cap, &res);
	reported = res.error != 0;
cleanup:
	if (sink)
		sink->ops->destroy(sink);
	cgroupmap_free(cgroups);
	/* the sink flushed; a failure here (close on a network fs) is news */
	if (out && fclose(out))
		err = -errno;
	free(outbuf); /* after fclose: stdio writes from it until then */
	if (outfile_close(&of) && !err)
		err = -errno;
	if (err && !reported && err != -EPIPE) {
		zcap_err("cannot write '%s': %s", name, strerror(-err));
		rc = ZCAP_EXIT_FAIL;
	}
	return rc;
}

static int record_run(struct record_args *a)
{
	int rc;

	stop_signals_catch();
	/* packet output also attaches cgroup_skb programs */
	if (!privs_ok(record_format_packets(a->format)))
		return ZCAP_EXIT_USAGE;
	if (a->cap.cmd && !command_runnable(a->cap.cmd[0]))
		return 127;
	/* no BTF, no tracefs: say so before any output file exists */
	loader_setup_libbpf(zcap_verbose);
	if (loader_preflight())
		return ZCAP_EXIT_FAIL;
	/* whole blocks and lines in the output even after a kill -9 */
	killguard_start();
	rc = record_format_packets(a->format) ? record_packets(a) : record_lines(a);
	killguard_stop();
	return rc;
}

int cmd_record(int argc, char **argv)
{
	struct record_args a;
	int rc;

	/* tcpdump's habit: -r FILE reads a capture (zcap read) */
	if (record_wants_read(argc, argv))
		return cmd_read(argc, argv);
	rc = record_parse_args(argc, argv, &a);
	if (!rc)
		rc = record_run(&a);
	record_args_free(&a);
	return rc;
}
