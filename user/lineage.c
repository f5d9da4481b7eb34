// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* zcap lineage: run a command and record what it read, wrote and made. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "capture.h"
#include "stopsig.h"
#include "cli.h"
#include "jtext.h"
#include "commands.h"
#include "killguard.h"
#include "lineage.h"
#include "lineage_out.h"
#include "linefile.h"
#include "ol_http.h"
#include "ol_spool.h"
#include "outfile.h"
#include "status.h"
#include "spawn.h"
#include "util.h"

#define LINEAGE_BUFFER_KIB 32768
/* OpenLineage over HTTP: the defaults of the OpenLineage clients where
 * they have one (a 5 s timeout) */
#define OL_INTERVAL_S 60.0
#define OL_TIMEOUT_S  5.0
#define OL_RETRIES    3
#define OL_SPOOL_NAME "zcap-ol-spool.jsonl"
#define OL_SPOOL_DIR  "/var/spool/zcap"

enum {
	OPT_FORMAT = 0x100,
	OPT_OL_URL,
	OPT_OL_INTERVAL,
	OPT_OL_TIMEOUT,
	OPT_OL_RETRIES,
	OPT_OL_SPOOL,
	OPT_FLUSH_SPOOL,
};

/* The writers, by --format name: the command picks one for the model. */
static const struct lineage_writer {
	const char *name;
	int (*write)(struct lineage *lg, FILE *out);
} writers[] = {
	{ "json", lineage_write_json },
	{ "openlineage", lineage_write_openlineage },
	{ "prov", lineage_write_prov },
	{ "dot", lineage_write_dot },
};

struct lineage_args {
	struct capture_opts cap;
	const char *output;
	const struct lineage_writer *writer;
	struct ol_http_opts ol; /* ol.url NULL: not sent */
	double ol_interval;
	const char *ol_spool;
	bool flush_spool;
};

static const struct argp_option lineage_options[] = {
	{ "output", 'o', "FILE", 0, "Write the record to FILE (created 0600, replaced whole)", 0 },
	{ "format", OPT_FORMAT, "FMT", 0,
	  "json (default, docs/lineage.schema.json), openlineage (RunEvents, one per line), "
	  "prov (W3C PROV-JSON), dot (Graphviz)",
	  0 },
	{ "user", CLI_OPT_USER, "USER", 0,
	  "Run CMD as USER (a name or numeric uid) with HOME, USER and LOGNAME set as runuser "
	  "-u sets them (SHELL left as runuser -u leaves it)", 0 },
	{ "buffer-size", 'B', "KIB", 0, "Ring buffer size in KiB (default 32768)", 0 },
	{ "map-entries", CLI_OPT_MAP_ENTRIES, "N", 0,
	  "Entries of the per-thread and per-process BPF maps, 16 to 16777216 (see zcap record "
	  "--help)", 0 },
	{ "verbose", 'v', NULL, 0, "Capture summary and libbpf messages on stderr", 0 },
	{ NULL, 0, NULL, 0,
	  "Sending OpenLineage RunEvents to a lineage server (docs/lineage.md):", 0 },
	{ "ol-url", OPT_OL_URL, "URL", 0,
	  "POST every RunEvent to URL + OPENLINEAGE_ENDPOINT (default api/v1/lineage) as the run "
	  "happens: START, RUNNING with the datasets so far, COMPLETE/FAIL (default "
	  "$OPENLINEAGE_URL; OPENLINEAGE_API_KEY is sent as 'Authorization: Bearer KEY')",
	  0 },
	{ "ol-interval", OPT_OL_INTERVAL, "SECONDS", 0,
	  "A RUNNING event at most this often, when there are new datasets (default 60; 0: none)",
	  0 },
	{ "ol-timeout", OPT_OL_TIMEOUT, "SECONDS", 0, "Timeout of one POST (default 5)", 0 },
	{ "ol-retries", OPT_OL_RETRIES, "N", 0,
	  "Retries of a failed POST, 0.5 s apart and doubling, before events are spooled "
	  "(default 3)",
	  0 },
	{ "ol-spool", OPT_OL_SPOOL, "FILE", 0,
	  "Keep events the server did not take in FILE, sent first by the next run (default "
	  OL_SPOOL_NAME " beside -o FILE, else " OL_SPOOL_DIR "/" OL_SPOOL_NAME ")",
	  0 },
	{ "flush-spool", OPT_FLUSH_SPOOL, NULL, 0,
	  "Run no command: send the spooled events (exit 0 when all were delivered)", 0 },
	{ 0 },
};

static const char lineage_doc[] =
	"Run CMD and record the data lineage of it and every process it starts: which files "
	"were read, written, created, deleted or executed, with SHA-256 of inputs before and "
	"outputs after, the process tree, and the data flow through pipes and sockets.\v"
	"CMD's stdin, stdout and stderr are passed through; zcap waits for the last of its "
	"descendants (daemons too) and exits with CMD's exit status. TCP connections are "
	"datasets too (OpenLineage namespace tcp://SERVER:PORT, name CLIENT:PORT: the same on "
	"both hosts), files are in namespace file://HOST. Ctrl-C while CMD runs still writes "
	"the record, marked interrupted. Semantics: docs/lineage.md.\n\n"
	"Examples:\n"
	"  zcap lineage -o build.json -- make\n"
	"  zcap lineage --format dot -o g.dot -- sh -c 'cat in.txt | gzip > out.gz'\n"
	"  zcap lineage --format openlineage --user nobody -o ol.jsonl -- ./etl.sh\n"
	"  OPENLINEAGE_API_KEY=KEY zcap lineage --ol-url http://marquez:5000 -- ./etl.sh\n"
	"  zcap lineage --flush-spool --ol-url http://marquez:5000\n\n"
	"A lineage server that cannot be reached does not fail the run: each failed POST is "
	"one line on stderr, the events wait in the spool, and the record's openlineage_http "
	"counts them.\n\n"
	"Exit status: CMD's (128+N if killed by signal N); 1 runtime failure, 2 bad usage or "
	"missing privileges, before CMD runs. --flush-spool: 0 all delivered, 1 some left.";

static error_t lineage_parse(int key, char *arg, struct argp_state *state)
{
	struct lineage_args *a = state->input;
	uint64_t v;

	switch (key) {
	case 'o':
		if (!*arg)
			CLI_FAIL("empty output file name");
		a->output = arg;
		break;
	case OPT_FORMAT:
		a->writer = NULL;
		for (size_t i = 0; i < sizeof(writers) / sizeof(writers[0]); i++)
			if (!strcmp(arg, writers[i].name))
				a->writer = &writers[i];
		if (!a->writer)
			CLI_FAIL("invalid --format '%s' (json, openlineage, prov or dot)", arg);
		break;
	case OPT_OL_URL:
		if (!*arg)
			CLI_FAIL("empty --ol-url");
		a->ol.url = arg;
		break;
	case OPT_OL_INTERVAL:
		if (strcmp(arg, "0") && !parse_seconds(arg, &a->ol_interval))
			CLI_FAIL("invalid --ol-interval '%s' (seconds, 0 for none)", arg);
		if (!strcmp(arg, "0"))
			a->ol_interval = 0;
		break;
	case OPT_OL_TIMEOUT:
		if (!parse_seconds(arg, &a->ol.timeout_s) || a->ol.timeout_s < 0.001 ||
		    a->ol.timeout_s > 86400)
			CLI_FAIL("invalid --ol-timeout '%s' (seconds, up to 86400)", arg);
		break;
	case OPT_OL_RETRIES:
		if (!parse_u64(arg, 0, 100, &v))
			CLI_FAIL("invalid --ol-retries '%s' (0 to 100)", arg);
		a->ol.retries = (int)v;
		break;
	case OPT_OL_SPOOL:
		if (!*arg)
			CLI_FAIL("empty --ol-spool file name");
		a->ol_spool = arg;
		break;
	case OPT_FLUSH_SPOOL:
		a->flush_spool = true;
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
	a->writer = &writers[0];
	a->ol_interval = OL_INTERVAL_S;
	a->ol.timeout_s = OL_TIMEOUT_S;
	a->ol.retries = OL_RETRIES;
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
	/* as the OpenLineage clients: the environment names the server */
	if (!a->ol.url && getenv("OPENLINEAGE_URL") && *getenv("OPENLINEAGE_URL"))
		a->ol.url = getenv("OPENLINEAGE_URL");
	if (a->ol.url) {
		a->ol.endpoint = getenv("OPENLINEAGE_ENDPOINT");
		if (a->ol.endpoint && !*a->ol.endpoint)
			a->ol.endpoint = NULL;
		a->ol.api_key = getenv("OPENLINEAGE_API_KEY");
	}
	if (a->flush_spool) {
		if (dash < argc) {
			zcap_err("lineage: --flush-spool runs no command");
			return ZCAP_EXIT_USAGE;
		}
		if (!a->ol.url) {
			zcap_err("lineage: --flush-spool needs --ol-url URL or OPENLINEAGE_URL");
			return ZCAP_EXIT_USAGE;
		}
		return 0;
	}
	if (dash + 1 >= argc) {
		zcap_err("lineage: missing command (zcap lineage [OPTION...] -- CMD [ARG...])");
		return ZCAP_EXIT_USAGE;
	}
	a->cap.cmd = argv + dash + 1;
	return 0;
}

/* ---- OpenLineage to a server, as the run happens ----------------------------- */

struct ol_stream {
	struct lineage *lg;
	struct ol_http *http;
	struct ol_run run;
	double interval;
	double next_running; /* CLOCK_MONOTONIC s */
};

static uint64_t real_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void ol_hand_over(struct ol_stream *st, int err, char *json)
{
	if (err)
		zcap_err("openlineage: out of memory: an event was not made");
	else if (json)
		ol_http_send(st->http, json);
}

/* After every ring poll (capture_opts.tick), so only once CMD runs: its
 * START, then a RUNNING each interval. Making an event is quick; the
 * network is the sender thread's. */
static int ol_tick(void *ctx, uint64_t now_mono_ns)
{
	struct ol_stream *st = ctx;
	double now = now_mono_ns / 1e9;
	char *json = NULL;
	int err;

	if (!st->run.started) {
		err = lineage_ol_start(st->lg, &st->run, real_now_ns(), &json);
		ol_hand_over(st, err, json);
		st->next_running = now + st->interval;
	} else if (st->interval > 0 && now >= st->next_running) {
		err = lineage_ol_running(st->lg, &st->run, real_now_ns(), &json);
		ol_hand_over(st, err, json);
		st->next_running = now + st->interval;
	}
	return 0;
}

static int ol_emit(void *ctx, const char *json)
{
	struct ol_stream *st = ctx;
	char *copy = strdup(json);

	if (!copy)
		return -ENOMEM;
	ol_http_send_last(st->http, copy);
	return 0;
}

/* The spool: --ol-spool, else beside the -o file, else the system's. */
static char *spool_path(const struct lineage_args *a)
{
	struct stat st;
	char *copy, *parent, *dir, *path = NULL;

	if (a->ol_spool)
		return strdup(a->ol_spool);
	if (a->output && strcmp(a->output, "-") &&
	    !(stat(a->output, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)))) {
		/* absolute: the record names it, a later run may be elsewhere */
		copy = strdup(a->output);
		parent = copy ? dirname(copy) : NULL;
		dir = parent ? realpath(parent, NULL) : NULL;
		if (parent && asprintf(&path, "%s/%s", dir ? dir : parent, OL_SPOOL_NAME) < 0)
			path = NULL;
		free(dir);
		free(copy);
		return path;
	}
	return strdup(OL_SPOOL_DIR "/" OL_SPOOL_NAME);
}

/* The record's account of the transport. */
static json_object *ol_counts_json(struct ol_http *h, const char *spool, const struct ol_counts *c)
{
	json_object *o = json_object_new_object(), *extra = json_object_new_object();

	json_object_object_add(o, "url", json_object_new_string(ol_http_url(h)));
	json_object_object_add(o, "spool", jtext_new(spool, strlen(spool)));
	json_object_object_add(o, "events", json_object_new_uint64(c->events));
	json_object_object_add(o, "delivered", json_object_new_uint64(c->delivered));
	json_object_object_add(o, "failures", json_object_new_uint64(c->failures));
	json_object_object_add(o, "spool_left", json_object_new_uint64(c->spool_left));
	json_object_object_add(o, "lost", json_object_new_uint64(c->lost));
	json_object_object_add(extra, "openlineage_http", o);
	return extra;
}

static int flush_spool(struct lineage_args *a)
{
	struct ol_http *h = NULL;
	struct ol_counts c;
	char *spool = spool_path(a);
	int rc;

	if (!spool) {
		zcap_err("lineage: out of memory");
		return ZCAP_EXIT_FAIL;
	}
	a->ol.spool = spool;
	rc = ol_spool_check(spool) ? ZCAP_EXIT_USAGE : ol_http_new(&h, &a->ol);
	if (!rc) {
		ol_http_flush(h, &c);
		fprintf(stderr, "zcap: openlineage: %llu events delivered, %llu left in '%s'\n",
			(unsigned long long)c.delivered, (unsigned long long)c.spool_left, spool);
		rc = c.spool_left ? ZCAP_EXIT_FAIL : ZCAP_EXIT_OK;
	}
	ol_http_free(h);
	free(spool);
	return rc;
}

/* Write whole or not at all: into the new file outfile_open made before
 * CMD ran, renamed over FILE (a FIFO or device is written in place).
 * extra: members for the JSON record; run: CMD's runId, when sent. */
static int write_output(struct lineage *lg, struct outfile *of, const struct lineage_writer *w,
			json_object *extra, const struct ol_run *run)
{
	FILE *f = linefile_open(of->fd >= 0 ? of->fd : STDOUT_FILENO, false);
	int err;

	if (!f) {
		json_object_put(extra);
		return -ENOMEM;
	}
	if (w->write == lineage_write_json)
		err = lineage_write_json_with(lg, f, extra);
	else if (w->write == lineage_write_openlineage && run)
		err = lineage_write_openlineage_run(lg, run, f);
	else
		err = w->write(lg, f);
	if (w->write != lineage_write_json)
		json_object_put(extra);
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
	struct ol_stream st = { 0 };
	struct ol_counts counts;
	json_object *extra = NULL;
	char *spool = NULL;
	struct timespec start, end;
	uint64_t dropped = 0;
	int rc, err;

	rc = parse_args(argc, argv, &a);
	if (rc)
		return rc;
	if (a.flush_spool)
		return flush_spool(&a);
	if (!have_privileges())
		return ZCAP_EXIT_USAGE;
	if (!command_runnable(a.cap.cmd[0]))
		return 127;
	keep_freed_memory();
	loader_setup_libbpf(zcap_verbose);
	if (loader_preflight())
		return ZCAP_EXIT_FAIL;
	/* before CMD runs: refused, or waited for (a FIFO's reader), now */
	stop_signals_catch();
	if (a.ol.url) {
		spool = spool_path(&a);
		if (!spool) {
			zcap_err("lineage: out of memory");
			return ZCAP_EXIT_FAIL;
		}
		a.ol.spool = spool;
		rc = ol_spool_check(spool) ? ZCAP_EXIT_USAGE : ol_http_new(&st.http, &a.ol);
		if (rc)
			goto cleanup;
	}
	if (a.output && strcmp(a.output, "-")) {
		/* a kill -9 leaves FILE as it was, and no temporary beside it */
		killguard_start();
		rc = outfile_open(&of, a.output, 0);
		if (rc)
			goto cleanup;
	}
	lg = lineage_new(a.cap.cmd);
	sink = lg && (!a.cap.user || !lineage_set_user(lg, a.cap.user)) ? lineage_sink_new(lg)
									  : NULL;
	if (!sink) {
		zcap_err("lineage: out of memory");
		rc = ZCAP_EXIT_FAIL;
		goto cleanup;
	}
	/* the record is written at the end: stdout may be this terminal */
	a.cap.status = status_wanted(-1);
	if (st.http) {
		st.lg = lg;
		st.interval = a.ol_interval;
		a.cap.tick = ol_tick;
		a.cap.hook_ctx = &st;
		if (ol_http_start(st.http)) {
			rc = ZCAP_EXIT_FAIL;
			goto cleanup;
		}
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
	if (!res.cmd_exited && res.stop_signal)
		lineage_set_stop_signal(lg, res.stop_signal);
	lineage_finish(lg, &start, &end, rc, dropped);
	if (st.http) {
		/* the rest of the run's events; then wait until each is
		 * delivered or spooled, so the record can count them */
		if (lineage_ol_events(lg, &st.run, true, ol_emit, &st))
			zcap_err("openlineage: out of memory: the run's last events were not made");
		ol_http_finish(st.http, &counts);
		extra = ol_counts_json(st.http, spool, &counts);
	}
	err = write_output(lg, &of, a.writer, extra, st.http ? &st.run : NULL);
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
	ol_http_free(st.http); /* a run that never started still sends the old spool */
	lineage_ol_run_clear(&st.run);
	lineage_free(lg);
	outfile_close(&of); /* not committed: FILE stays as it was */
	killguard_stop();
	free(spool);
	return rc;
}
