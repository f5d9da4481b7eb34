// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* zcap lineage: run a command and record what it read, wrote and made. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "capture.h"
#include "cli.h"
#include "commands.h"
#include "lineage.h"
#include "linefile.h"
#include "outfile.h"
#include "spawn.h"
#include "util.h"

#define LINEAGE_BUFFER_KIB 32768

enum {
	OPT_FORMAT = 0x100,
};

struct lineage_args {
	struct capture_opts cap;
	const char *output;
	enum lineage_format format;
};

static const struct argp_option lineage_options[] = {
	{ "output", 'o', "FILE", 0, "Write the record to FILE (created 0600, replaced whole)", 0 },
	{ "format", OPT_FORMAT, "FMT", 0,
	  "json (default, docs/lineage.schema.json), openlineage (RunEvents, one per line), "
	  "prov (W3C PROV-JSON), dot (Graphviz)",
	  0 },
	{ "user", CLI_OPT_USER, "USER", 0, "Run CMD as USER", 0 },
	{ "buffer-size", 'B', "KIB", 0, "Ring buffer size in KiB (default 32768)", 0 },
	{ "map-entries", CLI_OPT_MAP_ENTRIES, "N", 0,
	  "Entries of the per-thread and per-process BPF maps, 16 to 16777216 (see zcap record "
	  "--help)", 0 },
	{ "verbose", 'v', NULL, 0, "Capture summary and libbpf messages on stderr", 0 },
	{ 0 },
};

static const char lineage_doc[] =
	"Run CMD and record the data lineage of it and every process it starts: which files "
	"were read, written, created, deleted or executed, with SHA-256 of inputs before and "
	"outputs after, the process tree, and the data flow through pipes and sockets.\v"
	"CMD's stdin, stdout and stderr are passed through; zcap waits for the last of its "
	"descendants (daemons too) and exits with CMD's exit status. Semantics: docs/lineage.md.\n\n"
	"Examples:\n"
	"  zcap lineage -o build.json -- make\n"
	"  zcap lineage --format dot -o g.dot -- sh -c 'cat in.txt | gzip > out.gz'\n"
	"  zcap lineage --format openlineage --user nobody -o ol.jsonl -- ./etl.sh\n\n"
	"Exit status: CMD's (128+N if killed by signal N); 1 runtime failure, 2 bad usage or "
	"missing privileges, before CMD runs.";

static error_t lineage_parse(int key, char *arg, struct argp_state *state)
{
	struct lineage_args *a = state->input;
	int fmt;

	switch (key) {
	case 'o':
		if (!*arg)
			CLI_FAIL("empty output file name");
		a->output = arg;
		break;
	case OPT_FORMAT:
		fmt = lineage_format_by_name(arg);
		if (fmt < 0)
			CLI_FAIL("invalid --format '%s' (json, openlineage, prov or dot)", arg);
		a->format = fmt;
		break;
	case 'v':
		zcap_verbose++;
		a->cap.quiet = false;
		break;
	case ARGP_KEY_ARG:
		CLI_FAIL("unexpected argument '%s' (put the command after --)", arg);
		break;
	default:
		return cli_capture_opt(key, arg, &a->cap);
	}
	return 0;
}

static const struct argp lineage_argp = {
	.options = lineage_options,
	.parser = lineage_parse,
	.args_doc = "-- CMD [ARG...]",
	.doc = lineage_doc,
};

static int parse_args(int argc, char **argv, struct lineage_args *a)
{
	int dash, rc;

	memset(a, 0, sizeof(*a));
	a->format = LINEAGE_JSON;
	a->cap.quiet = true;
	a->cap.wait_all = true;
	a->cap.lo.snaplen = 0;
	a->cap.lo.want_payload = false; /* sizes are enough */
	a->cap.lo.ringbuf_bytes = (uint64_t)LINEAGE_BUFFER_KIB * 1024;
	a->cap.lo.send_hook = "auto";
	a->cap.lo.no_send_path = true; /* TCP bodies are not lineage */
	a->cap.lo.want_fs = true;

	dash = cli_split_command(argc, argv);
	rc = cli_parse(&lineage_argp, dash, argv, a, "lineage");
	if (rc)
		return rc;
	if (dash + 1 >= argc) {
		zcap_err("lineage: missing command (zcap lineage [OPTION...] -- CMD [ARG...])");
		return ZCAP_EXIT_USAGE;
	}
	a->cap.cmd = argv + dash + 1;
	return 0;
}

/* Write whole or not at all: into the new file outfile_open made before
 * CMD ran, renamed over FILE (a FIFO or device is written in place). */
static int write_output(struct lineage *lg, struct outfile *of, enum lineage_format fmt)
{
	FILE *f = linefile_open(of->fd >= 0 ? of->fd : STDOUT_FILENO);
	int err;

	if (!f)
		return -ENOMEM;
	err = lineage_write(lg, f, fmt);
	if (fflush(f) && !err)
		err = -errno;
	fclose(f);
	if (!err && of->tmp && fsync(of->fd))
		err = -errno;
	if (!err)
		err = outfile_commit(of);
	return err;
}

int cmd_lineage(int argc, char **argv)
{
	struct lineage_args a;
	struct outfile of = { .fd = -1 };
	struct capture_result res;
	struct lineage *lg = NULL;
	struct sink *sink = NULL;
	struct timespec start, end;
	uint64_t dropped = 0;
	int rc, err;

	rc = parse_args(argc, argv, &a);
	if (rc)
		return rc;
	if (!have_privileges())
		return ZCAP_EXIT_USAGE;
	if (!command_runnable(a.cap.cmd[0]))
		return 127;
	loader_setup_libbpf(zcap_verbose);
	if (loader_preflight())
		return ZCAP_EXIT_FAIL;
	/* before CMD runs: refused, or waited for (a FIFO's reader), now */
	capture_catch_signals();
	if (a.output && strcmp(a.output, "-")) {
		rc = outfile_open(&of, a.output, 0);
		if (rc)
			return rc;
	}
	lg = lineage_new(a.cap.cmd);
	sink = lg && (!a.cap.user || !lineage_set_user(lg, a.cap.user)) ? lineage_sink_new(lg)
									  : NULL;
	if (!sink) {
		zcap_err("lineage: out of memory");
		rc = ZCAP_EXIT_FAIL;
		goto cleanup;
	}
	clock_gettime(CLOCK_REALTIME, &start);
	capture_run(&a.cap, &sink, 1, &res);
	clock_gettime(CLOCK_REALTIME, &end);
	rc = capture_exit_code(&a.cap, &res);
	if (!res.cmd_ran)
		goto cleanup; /* nothing ran: no record (the error is printed) */
	for (int i = 0; i < ZCAP_DROP_MAX; i++)
		dropped += res.stats.drops[i];
	dropped += res.stats.bad_records;
	lineage_set_drops(lg, res.stats.drops, res.stats.bad_records);
	lineage_finish(lg, &start, &end, rc, dropped);
	err = write_output(lg, &of, a.format);
	if (err) {
		zcap_err("cannot write '%s': %s", a.output ? a.output : "stdout", strerror(-err));
		rc = ZCAP_EXIT_FAIL;
	}
	if (dropped)
		zcap_warn("%llu events lost: the lineage record is incomplete (dropped_events)",
			  (unsigned long long)dropped);
cleanup:
	if (sink)
		sink->ops->destroy(sink);
	lineage_free(lg);
	outfile_close(&of); /* not committed: FILE stays as it was */
	return rc;
}
