// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* zcap record: capture I/O and print it (text, JSON Lines). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "capture.h"
#include "cli.h"
#include "commands.h"
#include "record.h"
#include "spawn.h"
#include "util.h"


enum {
	OPT_COMM = 0x100,
	OPT_PORT,
	OPT_JSON,
	OPT_DURATION,
	OPT_USER,
	OPT_WIDTH,
};

static const struct argp_option record_options[] = {
	{ NULL, 0, NULL, 0, "What to capture:", 1 },
	{ "pid", 'p', "PID", 0, "Capture PID and the processes it forks from now on (repeatable)", 1 },
	{ "comm", OPT_COMM, "NAME", 0, "Capture only tasks whose command name is NAME", 1 },
	{ "port", OPT_PORT, "PORT", 0, "Capture only TCP/UDP sockets with local or remote port PORT", 1 },
	{ "events", 'e', "LIST", 0, "Record types to show: io,fd,proc (default: all)", 1 },
	{ "user", OPT_USER, "USER", 0, "Run CMD as USER", 1 },
	{ NULL, 0, NULL, 0, "How much:", 2 },
	{ "snaplen", 's', "BYTES", 0,
	  "Payload bytes captured per call (default 16384; 0 = everything)", 2 },
	{ "buffer-size", 'B', "KIB", 0, "Ring buffer size in KiB (default 32768)", 2 },
	{ "count", 'c', "N", 0, "Stop after N records", 2 },
	{ "duration", OPT_DURATION, "SECONDS", 0, "Stop after SECONDS", 2 },
	{ NULL, 0, NULL, 0, "Output:", 3 },
	{ "json", OPT_JSON, NULL, 0, "JSON Lines, one object per record (docs/event-schema.md)", 3 },
	{ "output", 'o', "FILE", 0, "Write to FILE (created 0600) instead of stdout", 3 },
	{ "width", OPT_WIDTH, "COLS", 0,
	  "Payload preview width in text output (default: terminal width, 100 otherwise; 0 = none)",
	  3 },
	{ "quiet", 'q', NULL, 0, "No start line or summary on stderr", 3 },
	{ "verbose", 'v', NULL, 0, "libbpf messages on stderr (twice: debug)", 3 },
	{ 0 },
};

static const char record_doc[] =
	"Capture what processes read and write through files, pipes and sockets.\v"
	"Without a filter the whole system is captured (zcap's own I/O never is). With "
	"`-- CMD ARGS...` zcap runs CMD, captures it and every process it starts, and exits "
	"with CMD's exit code.\n\n"
	"Examples:\n"
	"  zcap record -- curl -s http://127.0.0.1:8000/      what curl sent and received\n"
	"  zcap record --json -p 1234 -s 0                    pid 1234, whole payloads, JSON\n"
	"  zcap record --port 443 -c 100                      100 records of port-443 sockets\n\n"
	"Exit status: 0 ok, 1 runtime failure, 2 bad usage or missing privileges; with CMD, "
	"CMD's exit status (128+N if it was killed by signal N).";

static bool parse_events(const char *list, unsigned int *mask)
{
	char *copy = strdup(list), *save = NULL, *tok;
	bool ok = true;

	*mask = 0;
	if (!copy)
		return false;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "io"))
			*mask |= 1u << ZCAP_EV_IO;
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

#define FAIL(...)                   \
	do {                        \
		cli_fail(__VA_ARGS__); \
		return EINVAL;      \
	} while (0)

static error_t record_parse(int key, char *arg, struct argp_state *state)
{
	struct record_args *a = state->input;
	struct capture_opts *c = &a->cap;
	uint64_t v;

	switch (key) {
	case 'p':
		if (!parse_u64(arg, 1, 0x7fffffff, &v))
			FAIL("invalid pid '%s'", arg);
		else if (c->npids >= CAPTURE_MAX_PIDS)
			FAIL("at most %d -p options", CAPTURE_MAX_PIDS);
		else if (kill((pid_t)v, 0) && errno == ESRCH)
			FAIL("no such process: %s", arg);
		else
			c->pids[c->npids++] = v;
		break;
	case OPT_COMM:
		if (!*arg || strlen(arg) >= ZCAP_COMM_LEN)
			FAIL("invalid --comm '%s' (1 to %d characters)", arg,
				   ZCAP_COMM_LEN - 1);
		c->lo.comm = arg;
		break;
	case OPT_PORT:
		if (!parse_u64(arg, 1, 65535, &v))
			FAIL("invalid port '%s' (1-65535)", arg);
		c->lo.port = v;
		break;
	case 'e':
		if (!parse_events(arg, &c->event_mask))
			FAIL("invalid --events '%s' (a list of io, fd, proc)", arg);
		break;
	case OPT_USER:
		c->user = arg;
		break;
	case 's':
		if (!parse_u64(arg, 0, 1U << 30, &v))
			FAIL("invalid snaplen '%s' (0 to %u bytes)", arg, 1U << 30);
		c->lo.snaplen = v ? v : UINT32_MAX;
		break;
	case 'B':
		if (!parse_u64(arg, 16, 4U << 20, &v))
			FAIL("invalid buffer size '%s' (16 to %u KiB)", arg, 4U << 20);
		c->lo.ringbuf_bytes = v * 1024;
		break;
	case 'c':
		if (!parse_u64(arg, 1, UINT64_MAX, &v))
			FAIL("invalid count '%s'", arg);
		c->max_records = v;
		break;
	case OPT_DURATION:
		if (!parse_seconds(arg, &c->duration))
			FAIL("invalid duration '%s' (seconds > 0)", arg);
		break;
	case OPT_JSON:
		a->json = true;
		break;
	case 'o':
		if (!*arg)
			FAIL("empty output file name");
		a->output = arg;
		break;
	case OPT_WIDTH:
		if (!parse_u64(arg, 0, 1 << 20, &v))
			FAIL("invalid width '%s'", arg);
		a->width = v;
		a->width_set = true;
		break;
	case 'q':
		c->quiet = true;
		break;
	case 'v':
		zcap_verbose++;
		break;
	case ARGP_KEY_ARG:
		FAIL("unexpected argument '%s' (put the command after --)", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp record_argp = {
	.options = record_options,
	.parser = record_parse,
	.args_doc = "[-- CMD [ARG...]]",
	.doc = record_doc,
};

static int terminal_width(void)
{
	struct winsize ws;

	if (isatty(STDOUT_FILENO) && !ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_col > 60)
		return ws.ws_col - 60; /* room for the line's prefix */
	return 100;
}

int record_parse_args(int argc, char **argv, struct record_args *a)
{
	int dash, rc;

	memset(a, 0, sizeof(*a));
	a->cap.lo.snaplen = DEFAULT_SNAPLEN;
	a->cap.lo.want_payload = true;
	a->cap.lo.port = -1;
	a->cap.lo.ringbuf_bytes = (uint64_t)DEFAULT_BUFFER_KIB * 1024;
	a->cap.lo.send_hook = "auto";

	dash = cli_split_command(argc, argv);
	rc = cli_parse(&record_argp, dash, argv, a, "record");
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
	} else if (a->cap.user) {
		zcap_err("record: --user needs a command after --");
		return ZCAP_EXIT_USAGE;
	}
	return 0;
}

int cmd_record(int argc, char **argv)
{
	struct record_args a;
	struct capture_result res;
	struct sink *sink = NULL;
	FILE *out = stdout;
	int rc, fd;

	rc = record_parse_args(argc, argv, &a);
	if (rc)
		return rc;
	if (!have_privileges())
		return ZCAP_EXIT_USAGE;
	if (a.cap.cmd && !command_runnable(a.cap.cmd[0]))
		return 127;
	if (a.output && strcmp(a.output, "-")) {
		fd = create_output(a.output);
		if (fd < 0)
			return ZCAP_EXIT_USAGE;
		out = fdopen(fd, "w");
		if (!out) {
			zcap_err("cannot write '%s': %s", a.output, strerror(errno));
			close(fd);
			return ZCAP_EXIT_FAIL;
		}
	}
	loader_setup_libbpf(zcap_verbose);
	if (a.json)
		sink = sink_json_new(out);
	else
		sink = sink_text_new(out, a.width_set ? a.width : terminal_width());
	if (!sink) {
		rc = ZCAP_EXIT_FAIL;
		goto cleanup;
	}
	capture_run(&a.cap, &sink, 1, &res);
	rc = capture_exit_code(&a.cap, &res);
cleanup:
	if (sink)
		sink->ops->destroy(sink);
	if (out != stdout)
		fclose(out);
	else
		fflush(stdout);
	return rc;
}
