// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * OpenLineage 2-0-2 output: a job per process, each run a START and a
 * COMPLETE (exit 0) or FAIL RunEvent, one JSON object per line, in time
 * order. The process tree is the ParentRunFacet; datasets are files in
 * namespace "file", their SHA-256 the DatasetVersion facet.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <json-c/json.h>

#include "escape.h"
#include "jtext.h"
#include "lineage_model.h"
#include "lineage_out.h"

#define OL_SPEC	    "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
#define OL_PRODUCER "urn:zcap:" ZCAP_VERSION
#define OL_JOB_NS   "zcap"
/* Facet versions are the ones whose schemas tests/openlineage/facets/ keeps. */
#define OL_FACET(name, ver) "https://openlineage.io/spec/facets/" ver "/" name ".json#/$defs/" name

/* UUIDv7: 48-bit Unix ms timestamp, version, random bits, variant. */
static void uuid7(uint64_t real_ns, char out[37])
{
	uint8_t b[16];
	uint64_t ms = real_ns / 1000000ULL;

	if (getrandom(b, sizeof(b), 0) != sizeof(b)) {
		for (size_t i = 0; i < sizeof(b); i++) /* not secret: only unique */
			b[i] = (uint8_t)(rand() >> 7);
	}
	for (int i = 0; i < 6; i++)
		b[i] = ms >> (40 - 8 * i);
	b[6] = (b[6] & 0x0f) | 0x70;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
		 b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		 b[14], b[15]);
}

static json_object *facet(const char *schema_url)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "_producer", json_object_new_string(OL_PRODUCER));
	json_object_object_add(o, "_schemaURL", json_object_new_string(schema_url));
	return o;
}

static const char *base_name(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;

	return s ? s + 1 : p ? p : "?";
}

struct ol_ctx {
	struct lineage *lg;
	struct lin_edge **ev;
	int ne;
	char **job_names; /* per process, stable across runs of the same command */
};

static int proc_index(const struct lineage *lg, pid_t pid, int before)
{
	for (int i = before - 1; i >= 0; i--)
		if (lg->procs[i]->pid == pid)
			return i;
	return -1;
}

/* Job names follow the tree: "cmd", "cmd/sh", "cmd/sh/cat", siblings with
 * the same program numbered "#2", "#3" in start order. */
static int name_jobs(struct ol_ctx *c)
{
	struct lineage *lg = c->lg;
	struct lmap used = { 0 };
	int err = 0;

	c->job_names = calloc(lg->nprocs ? lg->nprocs : 1, sizeof(char *));
	if (!c->job_names)
		return -ENOMEM;
	for (int i = 0; i < lg->nprocs && !err; i++) {
		const struct lin_proc *p = lg->procs[i];
		int parent = proc_index(lg, p->ppid, i);
		/* argv[0] is what the user wrote ("sh"), exe what it resolved to ("dash") */
		const char *prog = parent < 0 ? base_name(lg->cmd[0])
				   : base_name(p->argv && p->argv[0] ? p->argv[0] : p->exe);
		/* names are JSON text: valid UTF-8 (argv keeps the bytes) */
		char *name = NULL, *text = utf8_lossy(prog, strlen(prog), NULL);

		if (!text)
			err = 1;
		else if (parent >= 0)
			err = asprintf(&name, "%s/%s", c->job_names[parent], text) < 0;
		else
			err = asprintf(&name, "%s", text) < 0;
		free(text);
		if (err)
			break;
		for (int n = 2; lmap_get(&used, name); n++) {
			char *alt = NULL;
			size_t blen = strcspn(name, "#");

			if (asprintf(&alt, "%.*s#%d", (int)blen, name, n) < 0) {
				err = 1;
				break;
			}
			free(name);
			name = alt;
		}
		if (!err && lmap_put(&used, name, name))
			err = 1;
		c->job_names[i] = name;
	}
	lmap_clear(&used);
	return err ? -ENOMEM : 0;
}

/* A TCP connection (OpenLineage naming: namespace scheme://host:port of
 * the service, here the listening end; name the client end). */
static json_object *peer_dataset(const struct lin_peer *pe)
{
	json_object *d = json_object_new_object();

	json_object_object_add(d, "namespace", json_object_new_string(pe->ns));
	json_object_object_add(d, "name", json_object_new_string(pe->name));
	json_object_object_add(d, "facets", json_object_new_object());
	return d;
}

/* with_version: the SHA-256 as DatasetVersion (not while the run goes on:
 * the hasher thread may still be writing it) */
static json_object *dataset(const struct lineage *lg, const struct lin_file *f, bool output,
			    bool with_version)
{
	json_object *d = json_object_new_object(), *facets = json_object_new_object();
	const char *sha = output ? f->sha_after : f->sha_before;
	char ns[300];

	/* OpenLineage naming: local files are file://HOST, name the path */
	snprintf(ns, sizeof(ns), "file://%s", lg->host);
	json_object_object_add(d, "namespace", jtext_new(ns, strlen(ns)));
	json_object_object_add(d, "name", jtext_new(f->path, strlen(f->path)));
	if (!utf8_valid(f->path, strlen(f->path))) {
		/* the name lost bytes (U+FFFD): the exact path beside it */
		json_object *z = facet("urn:zcap:facets:path");

		json_object_object_add(z, "path_b64", jtext_base64(f->path, strlen(f->path)));
		json_object_object_add(facets, "zcap_path", z);
	}
	if (with_version && *sha) {
		json_object *v = facet(OL_FACET("DatasetVersionDatasetFacet", "1-0-0"));

		json_object_object_add(v, "datasetVersion", json_object_new_string(sha));
		json_object_object_add(facets, "version", v);
	}
	if (output && (f->created || f->deleted || f->written)) {
		json_object *l = facet(OL_FACET("LifecycleStateChangeDatasetFacet", "1-0-0"));

		json_object_object_add(l, "lifecycleStateChange",
				       json_object_new_string(f->deleted   ? "DROP"
							      : f->created ? "CREATE"
									   : "OVERWRITE"));
		json_object_object_add(facets, "lifecycleStateChange", l);
	}
	json_object_object_add(d, "facets", facets);
	return d;
}

/* The files process p (NULL: any process of the run) read (inputs) or
 * wrote (outputs). */
static json_object *datasets_of(struct ol_ctx *c, const struct lin_proc *p, bool output,
				bool with_version)
{
	json_object *arr = json_object_new_array();
	struct lmap seen = { 0 };
	char node[32] = "process:";

	if (p)
		lin_proc_node(p, node, sizeof(node));
	for (int i = 0; i < c->ne; i++) {
		const struct lin_edge *e = c->ev[i];
		const char *fnode = output ? e->to : e->from;
		const char *pnode = output ? e->from : e->to;
		struct lin_peer *pe;
		struct lin_file *f;

		if ((p ? strcmp(pnode, node) : strncmp(pnode, node, strlen(node))) ||
		    !strcmp(e->via, "exec") || lmap_get(&seen, fnode))
			continue;
		if ((pe = lmap_get(&c->lg->peers_by_chan, fnode))) {
			lmap_put(&seen, fnode, pe);
			json_object_array_add(arr, peer_dataset(pe));
			continue;
		}
		if (strncmp(fnode, "file:", 5))
			continue;
		f = lmap_get(&c->lg->files_by_path, fnode + 5);
		if (!f || (!output && f->code))
			continue;
		lmap_put(&seen, fnode, f);
		json_object_array_add(arr, dataset(c->lg, f, output, with_version));
	}
	lmap_clear(&seen);
	return arr;
}

/* A RunEvent of job job_name's run run_id; p is its process (NULL: not
 * seen yet), parent the index of its parent process (-1: none). */
static json_object *run_event_of(struct ol_ctx *c, const struct lin_proc *p, int parent,
				 const char *job_name, const char *run_id, const char *type,
				 uint64_t t, json_object *inputs, json_object *outputs)
{
	struct lineage *lg = c->lg;
	json_object *ev = json_object_new_object(), *run = json_object_new_object(),
		    *rfacets = json_object_new_object(), *job = json_object_new_object(),
		    *jfacets = json_object_new_object(), *zf, *jt;
	bool ended = strcmp(type, "START") && strcmp(type, "RUNNING");
	char when[48];

	lin_iso_time(t, when, sizeof(when));
	json_object_object_add(ev, "eventType", json_object_new_string(type));
	json_object_object_add(ev, "eventTime", json_object_new_string(when));
	json_object_object_add(ev, "producer", json_object_new_string(OL_PRODUCER));
	json_object_object_add(ev, "schemaURL", json_object_new_string(OL_SPEC));

	json_object_object_add(run, "runId", json_object_new_string(run_id));
	if (parent >= 0) {
		json_object *pf = facet(OL_FACET("ParentRunFacet", "1-0-2"));
		json_object *prun = json_object_new_object(), *pjob = json_object_new_object();

		json_object_object_add(prun, "runId",
				       json_object_new_string(lg->procs[parent]->run_id));
		json_object_object_add(pjob, "namespace", json_object_new_string(OL_JOB_NS));
		json_object_object_add(pjob, "name", json_object_new_string(c->job_names[parent]));
		json_object_object_add(pf, "run", prun);
		json_object_object_add(pf, "job", pjob);
		json_object_object_add(rfacets, "parent", pf);
	}
	if (p) {
		zf = facet("urn:zcap:facets:process");
		json_object_object_add(zf, "pid", json_object_new_int(p->pid));
		json_object_object_add(zf, "ppid", json_object_new_int(p->ppid));
		jtext_add_strv(zf, "argv", p->argv);
		jtext_add_str(zf, "exe", p->exe);
		if (ended && p->exited)
			json_object_object_add(zf, "exit_code", json_object_new_int(p->exit_code));
		json_object_object_add(rfacets, "zcap_process", zf);
	}
	json_object_object_add(run, "facets", rfacets);
	json_object_object_add(ev, "run", run);

	json_object_object_add(job, "namespace", json_object_new_string(OL_JOB_NS));
	json_object_object_add(job, "name", json_object_new_string(job_name));
	jt = facet(OL_FACET("JobTypeJobFacet", "2-0-2"));
	json_object_object_add(jt, "processingType", json_object_new_string("BATCH"));
	json_object_object_add(jt, "integration", json_object_new_string("ZCAP"));
	json_object_object_add(jt, "jobType", json_object_new_string("PROCESS"));
	json_object_object_add(jfacets, "jobType", jt);
	json_object_object_add(job, "facets", jfacets);
	json_object_object_add(ev, "job", job);

	json_object_object_add(ev, "inputs", inputs);
	json_object_object_add(ev, "outputs", outputs);
	return ev;
}

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ULL + ts->tv_nsec;
}

static json_object *run_event(struct ol_ctx *c, int idx, bool start)
{
	struct lineage *lg = c->lg;
	const struct lin_proc *p = lg->procs[idx];
	uint64_t t = start ? p->start_ns : p->end_ns;
	const char *type = "START";

	if (!t)
		t = start ? ts_ns(&lg->start) : ts_ns(&lg->end);
	if (!start)
		type = !p->exited ? "ABORT" : p->exit_code == 0 ? "COMPLETE" : "FAIL";
	return run_event_of(c, p, proc_index(lg, p->ppid, idx), c->job_names[idx], p->run_id, type,
			    t, start ? json_object_new_array() : datasets_of(c, p, false, true),
			    start ? json_object_new_array() : datasets_of(c, p, true, true));
}

struct ol_item {
	uint64_t t;
	int idx;
	bool start;
};

static int cmp_items(const void *a, const void *b)
{
	const struct ol_item *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->start != y->start)
		return x->start ? -1 : 1;
	/* same instant: parents start first and end last */
	return x->start ? x->idx - y->idx : y->idx - x->idx;
}

static const char *event_text(json_object *ev)
{
	return json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE);
}

static void ol_ctx_clear(struct ol_ctx *c)
{
	if (c->job_names)
		for (int i = 0; i < c->lg->nprocs; i++)
			free(c->job_names[i]);
	free(c->job_names);
	if (c->ev)
		lin_edges_free(c->ev, c->ne);
}

int lineage_ol_events(struct lineage *lg, const struct ol_run *run, bool unsent_only,
		      int (*emit)(void *ctx, const char *json), void *ctx)
{
	struct ol_ctx c = { .lg = lg };
	struct ol_item *items = NULL;
	uint64_t start = ts_ns(&lg->start), end = ts_ns(&lg->end);
	int err, n = 0;

	err = lin_edges_resolved(lg, &c.ev, &c.ne);
	if (!err)
		err = name_jobs(&c);
	if (!err && !(items = calloc(2 * lg->nprocs + 1, sizeof(*items))))
		err = -ENOMEM;
	for (int i = 0; !err && i < lg->nprocs; i++) {
		struct lin_proc *p = lg->procs[i];

		if (i == 0 && run && run->run_id[0]) /* CMD: the run announced early */
			memcpy(p->run_id, run->run_id, sizeof(p->run_id));
		else if (!p->run_id[0])
			uuid7(p->start_ns ? p->start_ns : start, p->run_id);
		if (!(i == 0 && run && unsent_only && run->started))
			items[n++] = (struct ol_item){ p->start_ns ? p->start_ns : start, i, true };
		items[n++] = (struct ol_item){ p->end_ns ? p->end_ns : end, i, false };
	}
	if (!err)
		qsort(items, n, sizeof(*items), cmp_items);
	for (int i = 0; !err && i < n; i++) {
		json_object *ev = run_event(&c, items[i].idx, items[i].start);
		const char *s = event_text(ev);

		err = s ? emit(ctx, s) : -ENOMEM;
		json_object_put(ev);
	}
	free(items);
	ol_ctx_clear(&c);
	return err;
}

static int emit_line(void *ctx, const char *json)
{
	FILE *out = ctx;

	return fputs(json, out) < 0 || fputc('\n', out) < 0 ? -EIO : 0;
}

int lineage_write_openlineage(struct lineage *lg, FILE *out)
{
	return lineage_ol_events(lg, NULL, false, emit_line, out);
}

int lineage_write_openlineage_run(struct lineage *lg, const struct ol_run *run, FILE *out)
{
	return lineage_ol_events(lg, run, false, emit_line, out);
}

/* ---- while the run happens ------------------------------------------------------ */

/* CMD's event before the model is finished: its process is the first the
 * model saw (when it saw one), its job name the one name_jobs gives it. */
static int cmd_event(struct lineage *lg, struct ol_run *run, const char *type, uint64_t t,
		     bool with_datasets, char **json)
{
	struct ol_ctx c = { .lg = lg };
	const struct lin_proc *p = lg->nprocs ? lg->procs[0] : NULL;
	const char *prog = base_name(lg->cmd[0]);
	char *job = utf8_lossy(prog, strlen(prog), NULL), *text = NULL;
	json_object *ev, *in, *out;
	int err = 0;

	*json = NULL;
	if (!job)
		return -ENOMEM;
	if (with_datasets)
		err = lin_edges_resolved(lg, &c.ev, &c.ne);
	if (err) {
		free(job);
		return err;
	}
	in = with_datasets ? datasets_of(&c, NULL, false, false) : json_object_new_array();
	out = with_datasets ? datasets_of(&c, NULL, true, false) : json_object_new_array();
	if (with_datasets) {
		/* nothing new since the last RUNNING: nothing to say */
		json_object *both = json_object_new_array();
		const char *s;

		json_object_array_add(both, json_object_get(in));
		json_object_array_add(both, json_object_get(out));
		s = event_text(both);
		if (run->last_datasets && s && !strcmp(run->last_datasets, s)) {
			json_object_put(both);
			json_object_put(in);
			json_object_put(out);
			goto out;
		}
		free(run->last_datasets);
		run->last_datasets = s ? strdup(s) : NULL;
		json_object_put(both);
	}
	ev = run_event_of(&c, p, -1, job, run->run_id, type, t, in, out);
	text = event_text(ev) ? strdup(event_text(ev)) : NULL;
	json_object_put(ev);
	if (!text)
		err = -ENOMEM;
	*json = text;
out:
	free(job);
	ol_ctx_clear(&c);
	return err;
}

int lineage_ol_start(struct lineage *lg, struct ol_run *run, uint64_t now_ns, char **json)
{
	const struct lin_proc *p = lg->nprocs ? lg->procs[0] : NULL;
	int err;

	if (!run->run_id[0])
		uuid7(p && p->start_ns ? p->start_ns : now_ns, run->run_id);
	err = cmd_event(lg, run, "START", p && p->start_ns ? p->start_ns : now_ns, false, json);
	if (!err)
		run->started = true;
	return err;
}

int lineage_ol_running(struct lineage *lg, struct ol_run *run, uint64_t now_ns, char **json)
{
	if (!run->run_id[0])
		uuid7(now_ns, run->run_id);
	return cmd_event(lg, run, "RUNNING", now_ns, true, json);
}

void lineage_ol_run_clear(struct ol_run *run)
{
	free(run->last_datasets);
	memset(run, 0, sizeof(*run));
}
