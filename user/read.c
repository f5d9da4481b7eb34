// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* zcap read (and record -r): a saved capture as the text view. */
#include <arpa/inet.h>
#include <argp.h>
#include <errno.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "escape.h"
#include "hexdump.h"
#include "ngcomments.h"
#include "pktattr.h"
#include "filter_expr.h"
#include "read.h"
#include "util.h"

enum {
	OPT_COMM = 0x100,
	OPT_PORT,
	OPT_WIDTH,
};

static const struct argp_option read_options[] = {
	{ "read", 'r', "FILE", 0, "The capture to read (or give FILE as the first argument)", 1 },
	{ "pid", 'p', "PID", 0, "Only records (packets) of process PID (repeatable)", 1 },
	{ "comm", OPT_COMM, "NAME", 0, "Only records (packets) of command NAME (repeatable)", 1 },
	{ "port", OPT_PORT, "PORT", 0, "Only TCP/UDP with local or remote port PORT (repeatable)",
	  1 },
	{ "count", 'c', "N", 0, "Stop after N records (packets)", 1 },
	{ "hex", 'X', NULL, 0, "Payloads (packets) also as hex and ASCII, as tcpdump -X", 2 },
	{ "width", OPT_WIDTH, "COLS", 0,
	  "Payload preview width of syscall records (default 100; 0 = none)", 2 },
	{ 0 },
};

static const char read_doc[] =
	"Print a saved capture as text: a pcap-ng file (zcap's, with the process that sent "
	"and received each packet, or any other tool's), a classic pcap file (tcpdump -w), or "
	"zcap record --json's JSON Lines (printed as zcap record prints text).\v"
	"EXPRESSION, after FILE, is a pcap filter expression (tcpdump's, compiled by libpcap): "
	"packets of a packet file that match it, or the records of a JSON Lines capture whose "
	"sockets match it, as zcap record selects them. -p and --comm match the processes zcap named in its packet "
	"comments (sender or receiver); a packet no process was named for does not match.\n\n"
	"Packet lines: TIME IP SRC.PORT > DST.PORT: tcp LEN [FLAGS] SENDER -> RECEIVER, "
	"then zcap's other comments (zero-copy sources), indented.\n\n"
	"Examples:\n"
	"  zcap read web.pcapng 'tcp port 80'\n"
	"  zcap read -X --comm curl web.pcapng\n"
	"  zcap record -r trace.pcap       (tcpdump's habit)\n"
	"  zcap read capture.jsonl -p 1234\n\n"
	"Exit status: 0 ok, 1 a file that cannot be read or is not a capture, 2 bad usage "
	"(an expression libpcap rejects).";

struct read_args {
	struct read_opts o;
	char **expr_words;
	int nexpr;
};

static char *join_words(char **w, int n)
{
	size_t len = 1;
	char *s;

	for (int i = 0; i < n; i++)
		len += strlen(w[i]) + 1;
	s = calloc(1, len);
	for (int i = 0; s && i < n; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, w[i]);
	}
	return s;
}

static error_t read_parse(int key, char *arg, struct argp_state *state)
{
	struct read_args *a = state->input;
	struct read_opts *o = &a->o;
	uint64_t v;

	switch (key) {
	case 'r':
		if (o->file)
			CLI_FAIL("one capture file at a time");
		o->file = arg;
		break;
	case 'p':
		if (!parse_u64(arg, 1, 0x7fffffff, &v))
			CLI_FAIL("invalid pid '%s'", arg);
		if (o->npids >= READ_MAX_FILTERS)
			CLI_FAIL("at most %d -p options", READ_MAX_FILTERS);
		o->pids[o->npids++] = v;
		break;
	case OPT_COMM:
		if (!*arg || strlen(arg) >= ZCAP_COMM_LEN)
			CLI_FAIL("invalid --comm '%s' (1 to %d characters)", arg, ZCAP_COMM_LEN - 1);
		if (o->ncomms >= READ_MAX_FILTERS)
			CLI_FAIL("at most %d --comm options", READ_MAX_FILTERS);
		esc_mem(o->comms[o->ncomms++], arg, strlen(arg), ESC_WORD);
		break;
	case OPT_PORT:
		if (!parse_u64(arg, 1, 65535, &v))
			CLI_FAIL("invalid port '%s' (1-65535)", arg);
		if (o->nports >= READ_MAX_FILTERS)
			CLI_FAIL("at most %d --port options", READ_MAX_FILTERS);
		o->ports[o->nports++] = v;
		break;
	case 'c':
		if (!parse_u64(arg, 1, UINT64_MAX, &v))
			CLI_FAIL("invalid count '%s'", arg);
		o->max = v;
		break;
	case 'X':
		o->hex = true;
		break;
	case OPT_WIDTH:
		if (!parse_u64(arg, 0, 1 << 20, &v))
			CLI_FAIL("invalid width '%s'", arg);
		o->width = v;
		break;
	case ARGP_KEY_ARG:
		/* FILE first (unless -r), then the words of the expression */
		if (!o->file) {
			o->file = arg;
			break;
		}
		a->expr_words = &state->argv[state->next - 1];
		a->nexpr = state->argc - state->next + 1;
		state->next = state->argc;
		break;
	case ARGP_KEY_END:
		if (!o->file)
			CLI_FAIL("no capture file (zcap read FILE [EXPRESSION])");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp read_argp = {
	.options = read_options,
	.parser = read_parse,
	.args_doc = "FILE [EXPRESSION]",
	.doc = read_doc,
};

bool read_pid_wanted(const struct read_opts *o, uint32_t pid)
{
	for (int i = 0; i < o->npids; i++)
		if (o->pids[i] == pid)
			return true;
	return false;
}

bool read_comm_wanted(const struct read_opts *o, const char *name)
{
	for (int i = 0; i < o->ncomms; i++)
		if (!strcmp(o->comms[i], name))
			return true;
	return false;
}

bool read_port_wanted(const struct read_opts *o, uint16_t a, uint16_t b)
{
	for (int i = 0; i < o->nports; i++)
		if (o->ports[i] == a || o->ports[i] == b)
			return true;
	return false;
}

/* ------------------------------------------------------------ packets */

/* A process zcap named in a packet comment: "[to ]pid P tid T comm C[ fd F]". */
struct named {
	bool have;
	uint32_t pid, tid;
	char comm[ZCAP_COMM_LEN * 4 + 1];
};

/* Escaped by zcap, a comm is printable ASCII without spaces; anything
 * else (another tool's comment) is not taken for one. */
static bool parse_owner(const char *line, const char *prefix, struct named *n)
{
	size_t plen = strlen(prefix);
	int used = 0;

	if (strncmp(line, prefix, plen) ||
	    sscanf(line + plen, "pid %u tid %u comm %64s%n", &n->pid, &n->tid, n->comm, &used) != 3)
		return false;
	for (const char *c = n->comm; *c; c++)
		if (*c <= 0x20 || *c >= 0x7f)
			return false;
	line += plen + used;
	if (*line && strncmp(line, " fd ", 4))
		return false;
	n->have = true;
	return true;
}

/* Where the IP header starts for this link type, -1 when not IP. */
static int ip_offset(int dlt, const uint8_t *p, uint32_t caplen)
{
	uint16_t type;

	switch (dlt) {
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return 0;
	case DLT_NULL:
	case DLT_LOOP:
		return 4;
	case DLT_EN10MB:
		if (caplen < 14)
			return -1;
		type = p[12] << 8 | p[13];
		if (type == 0x8100 && caplen >= 18)
			return (p[16] << 8 | p[17]) == 0x0800 || (p[16] << 8 | p[17]) == 0x86dd ? 18 : -1;
		return type == 0x0800 || type == 0x86dd ? 14 : -1;
	case DLT_LINUX_SLL:
		if (caplen < 16)
			return -1;
		type = p[14] << 8 | p[15];
		return type == 0x0800 || type == 0x86dd ? 16 : -1;
#ifdef DLT_LINUX_SLL2
	case DLT_LINUX_SLL2:
		if (caplen < 20)
			return -1;
		type = p[0] << 8 | p[1];
		return type == 0x0800 || type == 0x86dd ? 20 : -1;
#endif
	default:
		return -1;
	}
}

static void print_time(FILE *out, const struct timeval *tv)
{
	time_t sec = tv->tv_sec;
	struct tm tm;

	localtime_r(&sec, &tm);
	/* opened with nanosecond precision: tv_usec holds nanoseconds */
	fprintf(out, "%02d:%02d:%02d.%06ld ", tm.tm_hour, tm.tm_min, tm.tm_sec,
		(long)tv->tv_usec / 1000);
}

static void print_endpoint(FILE *out, const struct pkt_info *pi, const uint8_t *a, uint16_t port)
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(pi->version == 4 ? AF_INET : AF_INET6, pi->version == 4 ? a + 12 : a, s,
		  sizeof(s));
	fputs(s, out);
	if (pi->has_ports)
		fprintf(out, ".%u", port);
}

/* tcpdump's letters: S F R P U E W, '.' for ACK */
static void print_tcp_flags(FILE *out, uint8_t f)
{
	static const struct {
		uint8_t bit;
		char c;
	} flags[] = { { 0x02, 'S' }, { 0x01, 'F' }, { 0x04, 'R' }, { 0x08, 'P' },
		      { 0x20, 'U' }, { 0x40, 'E' }, { 0x80, 'W' }, { 0x10, '.' } };

	fputs(" [", out);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (f & flags[i].bit)
			fputc(flags[i].c, out);
	fputc(']', out);
}

static void print_named(FILE *out, const struct named *n)
{
	fprintf(out, "%s[%u", n->comm, n->pid);
	if (n->tid != n->pid)
		fprintf(out, "/%u", n->tid);
	fputc(']', out);
}

struct pkt_view {
	const struct pcap_pkthdr *h;
	const uint8_t *ip; /* NULL when not IP */
	uint32_t ip_caplen, ip_len;
	struct pkt_info pi;
	bool parsed;
	struct named snd, rcv;
	const char *const *comments;
	size_t ncomments;
};

static bool packet_wanted(const struct read_opts *o, const struct pkt_view *v)
{
	if (o->npids && !(v->snd.have && read_pid_wanted(o, v->snd.pid)) &&
	    !(v->rcv.have && read_pid_wanted(o, v->rcv.pid)))
		return false;
	if (o->ncomms && !(v->snd.have && read_comm_wanted(o, v->snd.comm)) &&
	    !(v->rcv.have && read_comm_wanted(o, v->rcv.comm)))
		return false;
	if (o->nports && !(v->parsed && v->pi.has_ports && read_port_wanted(o, v->pi.sport, v->pi.dport)))
		return false;
	return true;
}

static void print_packet(FILE *out, const struct read_opts *o, const struct pkt_view *v,
			 const uint8_t *raw)
{
	const struct pkt_info *pi = &v->pi;

	print_time(out, &v->h->ts);
	if (!v->parsed) {
		fprintf(out, "%s, length %u", v->ip ? "IP (headers not readable)" : "not IP",
			v->h->len);
	} else {
		fputs(pi->version == 4 ? "IP " : "IP6 ", out);
		print_endpoint(out, pi, pi->saddr, pi->sport);
		fputs(" > ", out);
		print_endpoint(out, pi, pi->daddr, pi->dport);
		if (pi->proto == IPPROTO_TCP && pi->has_ports) {
			fprintf(out, ": tcp %u", pi->payload_len);
			print_tcp_flags(out, pi->tcp_flags);
		} else if (pi->proto == IPPROTO_UDP && pi->has_ports) {
			fprintf(out, ": udp %u", pi->payload_len);
		} else {
			fprintf(out, ": ip-proto-%u, length %u", pi->proto, v->h->len);
		}
	}
	if (v->snd.have) {
		fputc(' ', out);
		print_named(out, &v->snd);
	}
	if (v->rcv.have) {
		fputs(" -> ", out);
		print_named(out, &v->rcv);
	}
	fputc('\n', out);
	/* the other comments (zero-copy sources, other tools' notes) */
	for (size_t i = 0; i < v->ncomments; i++) {
		struct named skip = { 0 };

		if (parse_owner(v->comments[i], "", &skip) ||
		    parse_owner(v->comments[i], "to ", &skip))
			continue;
		fputs("\t# ", out);
		esc_fputs(out, v->comments[i], 0);
		fputc('\n', out);
	}
	if (o->hex) {
		if (v->ip)
			hexdump_x(out, v->ip, v->ip_caplen);
		else
			hexdump_x(out, raw, v->h->caplen);
	}
}

static int read_packets(pcap_t *p, const struct read_opts *o, FILE *out)
{
	struct ngcomments *nc = ngcomments_open(o->file);
	struct bpf_program prog = { 0 };
	bool have_prog = false;
	struct pcap_pkthdr *h;
	const uint8_t *data;
	uint64_t shown = 0;
	int dlt = pcap_datalink(p), rc = ZCAP_EXIT_OK, n;

	if (o->expr) {
		if (pcap_compile(p, &prog, o->expr, 1, PCAP_NETMASK_UNKNOWN)) {
			zcap_err("read: invalid expression '%s': %s", o->expr, pcap_geterr(p));
			rc = ZCAP_EXIT_USAGE;
			goto cleanup;
		}
		have_prog = true;
	}
	while ((n = pcap_next_ex(p, &h, &data)) == 1) {
		struct pkt_view v = { .h = h };
		int off;

		if (nc && !ngcomments_next(nc, &v.comments, &v.ncomments)) {
			ngcomments_close(nc); /* out of step: no more comments */
			nc = NULL;
		}
		if (have_prog && !pcap_offline_filter(&prog, h, data))
			continue;
		off = ip_offset(dlt, data, h->caplen);
		if (off >= 0 && (uint32_t)off <= h->caplen && (uint32_t)off <= h->len) {
			v.ip = data + off;
			v.ip_caplen = h->caplen - off;
			v.ip_len = h->len - off;
			v.parsed = !pkt_parse(v.ip, v.ip_caplen, v.ip_len, &v.pi);
		}
		for (size_t i = 0; i < v.ncomments; i++) {
			if (!v.snd.have)
				parse_owner(v.comments[i], "", &v.snd);
			if (!v.rcv.have)
				parse_owner(v.comments[i], "to ", &v.rcv);
		}
		if (!packet_wanted(o, &v))
			continue;
		print_packet(out, o, &v, data);
		if (ferror(out))
			break;
		if (o->max && ++shown >= o->max)
			break;
	}
	if (n == PCAP_ERROR) {
		fflush(out);
		zcap_err("read: '%s': %s", o->file, pcap_geterr(p));
		rc = ZCAP_EXIT_FAIL;
	}
cleanup:
	if (have_prog)
		pcap_freecode(&prog);
	ngcomments_close(nc);
	return rc;
}

/* ------------------------------------------------------------ the command */

/* pcap-ng's SHB or one of classic pcap's four magic numbers */
static bool is_packet_file(const uint8_t m[4])
{
	static const uint32_t magics[] = { 0x0A0D0D0A, 0xA1B2C3D4, 0xD4C3B2A1, 0xA1B23C4D,
					   0x4D3CB2A1 };
	uint32_t v;

	memcpy(&v, m, 4);
	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		if (v == magics[i] || v == __builtin_bswap32(magics[i]))
			return true;
	return false;
}

int cmd_read(int argc, char **argv)
{
	struct read_args a = { .o.width = 100 };
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	uint8_t magic[4] = { 0 };
	FILE *in = NULL;
	pcap_t *p = NULL;
	int rc;

	rc = cli_parse(&read_argp, argc, argv, &a, "read");
	if (rc)
		return rc;
	signal(SIGPIPE, SIG_IGN);
	if (a.nexpr && !(a.o.expr = join_words(a.expr_words, a.nexpr))) {
		zcap_err("out of memory");
		return ZCAP_EXIT_FAIL;
	}
	in = !strcmp(a.o.file, "-") ? stdin : fopen(a.o.file, "rbe");
	if (!in) {
		zcap_err("read: cannot open '%s': %s", a.o.file, strerror(errno));
		rc = ZCAP_EXIT_FAIL;
		goto cleanup;
	}
	if (fread(magic, 1, 4, in) != 4 || !is_packet_file(magic)) {
		if (magic[0] != '{') {
			zcap_err("read: '%s' is not a pcap-ng, pcap or JSON Lines capture", a.o.file);
			rc = ZCAP_EXIT_FAIL;
			goto cleanup;
		}
		/* records are matched as the packets they stand for, as
		 * record --json matched them (user/filter_expr.h) */
		if (a.o.expr && (rc = filter_expr_compile(a.o.expr, &a.o.filter))) {
			if (rc == -ENOMEM)
				zcap_err("out of memory");
			rc = rc == -ENOMEM ? ZCAP_EXIT_FAIL : ZCAP_EXIT_USAGE;
			goto cleanup;
		}
		rewind(in);
		rc = read_jsonl(in, stdout, &a.o);
		goto cleanup;
	}
	if (in == stdin) {
		zcap_err("read: packet files are read from a file, not stdin");
		rc = ZCAP_EXIT_USAGE;
		goto cleanup;
	}
	fclose(in);
	in = NULL;
	p = pcap_open_offline_with_tstamp_precision(a.o.file, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!p) {
		zcap_err("read: '%s': %s", a.o.file, errbuf);
		rc = ZCAP_EXIT_FAIL;
		goto cleanup;
	}
	rc = read_packets(p, &a.o, stdout);
cleanup:
	if (fflush(stdout) && errno != EPIPE && !rc) {
		zcap_err("cannot write 'stdout': %s", strerror(errno));
		rc = ZCAP_EXIT_FAIL;
	}
	if (p)
		pcap_close(p);
	if (in && in != stdin)
		fclose(in);
	filter_expr_free(a.o.filter);
	free(a.o.expr);
	return rc;
}
