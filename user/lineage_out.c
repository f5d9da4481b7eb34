// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Lineage writers: the native JSON record (docs/lineage.schema.json),
 * W3C PROV-JSON and Graphviz. OpenLineage is in lineage_out_ol.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "escape.h"
#include "jsonw.h"
#include "jtext.h"
#include "lineage_model.h"
#include "lineage_out.h"
#include "names.h"

struct lin_file *lin_file_final(struct lin_file *f)
{
	/* bounded: a rename cycle must not loop forever */
	for (int i = 0; f && !lin_file_listed(f) && f->successor && i < 64; i++)
		f = f->successor;
	return f;
}

/* "file:PATH" of an absorbed temporary -> "file:FINAL"; else a copy. */
static char *alias_node(struct lineage *lg, const char *node)
{
	struct lin_file *f;

	if (strncmp(node, "file:", 5))
		return strdup(node);
	f = lmap_get(&lg->files_by_path, node + 5);
	f = f ? lin_file_final(f) : NULL;
	if (!f) {
		return strdup(node);
	} else {
		size_t len = strlen(f->path) + 6;
		char *s = malloc(len);

		if (s)
			snprintf(s, len, "file:%s", f->path);
		return s;
	}
}

void lin_edges_free(struct lin_edge **edges, int n)
{
	for (int i = 0; i < n; i++) {
		free(edges[i]->from);
		free(edges[i]->to);
		free(edges[i]);
	}
	free(edges);
}

int lin_edges_resolved(struct lineage *lg, struct lin_edge ***out, int *nout)
{
	struct lin_edge **res = calloc(lg->nedges ? lg->nedges : 1, sizeof(*res));
	struct lmap seen = { 0 };
	int n = 0, err = 0;

	if (!res)
		return -ENOMEM;
	for (int i = 0; i < lg->nedges; i++) {
		const struct lin_edge *e = lg->edges[i];
		char *from = alias_node(lg, e->from), *to = alias_node(lg, e->to), *key = NULL;
		struct lin_edge *r;

		if (!from || !to || asprintf(&key, "%s\x01%s\x01%s", from, to, e->via) < 0) {
			free(from);
			free(to);
			err = -ENOMEM;
			break;
		}
		if (!strcmp(from, to)) { /* a rename folded into itself */
			free(from);
			free(to);
			free(key);
			continue;
		}
		r = lmap_get(&seen, key);
		if (r) {
			r->bytes += e->bytes;
			free(from);
			free(to);
		} else if (!(r = calloc(1, sizeof(*r))) || lmap_put(&seen, key, r)) {
			free(r);
			free(from);
			free(to);
			free(key);
			err = -ENOMEM;
			break;
		} else {
			r->from = from;
			r->to = to;
			memcpy(r->via, e->via, sizeof(r->via));
			r->bytes = e->bytes;
			res[n++] = r;
		}
		free(key);
	}
	lmap_clear(&seen);
	if (err) {
		lin_edges_free(res, n);
		return err;
	}
	*out = res;
	*nout = n;
	return 0;
}

static int cmp_files(const void *a, const void *b)
{
	return strcmp((*(struct lin_file *const *)a)->path, (*(struct lin_file *const *)b)->path);
}

/* The listed files, sorted by path; caller frees the array. */
static struct lin_file **listed_files(struct lineage *lg, int *n)
{
	struct lin_file **v = calloc(lg->nfiles ? lg->nfiles : 1, sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (int i = 0; i < lg->nfiles; i++)
		if (lin_file_listed(lg->files[i]))
			v[(*n)++] = lg->files[i];
	qsort(v, *n, sizeof(*v), cmp_files);
	return v;
}

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ULL + ts->tv_nsec;
}

static int put_json(json_object *root, FILE *out)
{
	const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								  JSON_C_TO_STRING_NOSLASHESCAPE);
	int err = 0;

	if (!s || fputs(s, out) < 0 || fputc('\n', out) < 0)
		err = -EIO;
	json_object_put(root);
	return err;
}

/* ---- the native JSON record ------------------------------------------------ */

/*
 * Written with the streaming writer in json-c's pretty layout (the bytes
 * json_object_to_json_string_ext(PRETTY | NOSLASHESCAPE) gave for the same
 * tree): a build's record has tens of thousands of edges, and a json-c
 * object per member was most of the time zcap took after CMD ended.
 */

static void jw_pids(struct jw *w, const char *key, const struct pidset *s)
{
	jw_key(w, key);
	jw_arr_open(w);
	for (int i = 0; i < s->n; i++)
		jw_i64(w, s->v[i]);
	jw_arr_close(w);
}

/* key: the string, or null when there is none (jtext_add_or_null) */
static void jw_ktext_or_null(struct jw *w, const char *key, const char *s)
{
	if (s && *s) {
		jw_ktext(w, key, s, strlen(s));
	} else {
		jw_key(w, key);
		jw_null(w);
	}
}

static void jw_ktime(struct jw *w, const char *key, uint64_t real_ns)
{
	char buf[48];

	jw_key(w, key);
	if (!real_ns) {
		jw_null(w);
		return;
	}
	lin_iso_time(real_ns, buf, sizeof(buf));
	jw_str(w, buf);
}

/* A json-c value (the caller's extra members) in the same layout. */
static void jw_json_c(struct jw *w, json_object *v)
{
	const char *s;

	switch (json_object_get_type(v)) {
	case json_type_object:
		jw_obj_open(w);
		json_object_object_foreach(v, key, val)
		{
			jw_key(w, key);
			jw_json_c(w, val);
		}
		jw_obj_close(w);
		break;
	case json_type_array:
		jw_arr_open(w);
		for (size_t i = 0; i < json_object_array_length(v); i++)
			jw_json_c(w, json_object_array_get_idx(v, i));
		jw_arr_close(w);
		break;
	default: /* a scalar prints the same in every layout */
		s = v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE)
		      : "null";
		jw_scalar(w, s, strlen(s));
	}
}

static void file_jw(struct jw *w, const struct lin_file *f)
{
	bool input = f->read || f->executed;
	bool output = (f->written || f->created) && !f->deleted;

	jw_obj_open(w);
	jw_ktext(w, "path", f->path, strlen(f->path));
	jw_kstr(w, "kind", f->link_target ? "symlink" : f->is_dir ? "dir" : "file");
	jw_kbool(w, "opened", f->opened);
	jw_kbool(w, "read", f->read);
	jw_kbool(w, "written", f->written);
	jw_kbool(w, "executed", f->executed);
	jw_kbool(w, "created", f->created);
	jw_kbool(w, "deleted", f->deleted);
	jw_ku64(w, "bytes_read", f->bytes_read);
	jw_ku64(w, "bytes_written", f->bytes_written);
	jw_key(w, "sha256_before");
	if (input && f->sha_before[0])
		jw_str(w, f->sha_before);
	else
		jw_null(w);
	jw_key(w, "sha256_after");
	if (output && f->sha_after[0])
		jw_str(w, f->sha_after);
	else
		jw_null(w);
	jw_pids(w, "readers", &f->readers);
	jw_pids(w, "writers", &f->writers);
	jw_ktext_or_null(w, "origin", f->origin);
	jw_ktext_or_null(w, "link_target", f->link_target);
	jw_obj_close(w);
}

/* TCP connections as datasets (struct lin_peer), in first-seen order. */
static void peers_jw(struct jw *w, const struct lineage *lg)
{
	jw_key(w, "tcp_datasets");
	jw_arr_open(w);
	for (int i = 0; i < lg->npeers; i++) {
		const struct lin_peer *pe = lg->peers[i];

		jw_obj_open(w);
		jw_kstr(w, "namespace", pe->ns);
		jw_kstr(w, "name", pe->name);
		jw_ku64(w, "bytes_sent", pe->bytes_sent);
		jw_ku64(w, "bytes_received", pe->bytes_received);
		jw_pids(w, "senders", &pe->senders);
		jw_pids(w, "receivers", &pe->receivers);
		jw_obj_close(w);
	}
	jw_arr_close(w);
}

int lineage_write_json(struct lineage *lg, FILE *out)
{
	return lineage_write_json_with(lg, out, NULL);
}

int lineage_write_json_with(struct lineage *lg, FILE *out, json_object *extra)
{
	struct lin_edge **ev = NULL;
	struct lin_file **fv;
	struct jw w;
	int nf, ne = 0, err;

	fv = listed_files(lg, &nf);
	err = lin_edges_resolved(lg, &ev, &ne);
	if (!fv || err) {
		json_object_put(extra);
		free(fv);
		return err ? err : -ENOMEM;
	}
	jw_init(&w);
	w.pretty = true;
	jw_obj_open(&w);
	jw_kstr(&w, "zcap_version", ZCAP_VERSION);
	jw_ktextv(&w, "command", lg->cmd);
	jw_ktext(&w, "host", lg->host, strlen(lg->host));
	/* stopped by a signal while CMD ran: CMD has no exit code yet */
	jw_key(&w, "exit_code");
	if (lg->stop_signal)
		jw_null(&w);
	else
		jw_i64(&w, lg->exit_code);
	jw_kbool(&w, "interrupted", lg->stop_signal != 0);
	jw_key(&w, "stop_signal");
	if (lg->stop_signal)
		jw_i64(&w, lg->stop_signal);
	else
		jw_null(&w);
	jw_ktime(&w, "start_time", ts_ns(&lg->start));
	jw_ktime(&w, "end_time", ts_ns(&lg->end));
	jw_ku64(&w, "dropped_events", lg->dropped);
	/* dropped_events by cause: the kernel's counters, malformed records,
	 * allocation failures (docs/lineage.md) */
	jw_key(&w, "drops");
	jw_obj_open(&w);
	for (int i = 0; i < ZCAP_DROP_MAX; i++)
		jw_ku64(&w, drop_cause_name(i), lg->drops[i]);
	jw_ku64(&w, "bad_record", lg->bad_records);
	jw_ku64(&w, "out_of_memory", lg->oom);
	jw_obj_close(&w);
	if (extra) {
		json_object_object_foreach(extra, key, val)
		{
			jw_key(&w, key);
			jw_json_c(&w, val);
		}
		json_object_put(extra);
	}

	jw_key(&w, "processes");
	jw_arr_open(&w);
	for (int i = 0; i < lg->nprocs; i++) {
		const struct lin_proc *p = lg->procs[i];

		jw_obj_open(&w);
		jw_ki64(&w, "pid", p->pid);
		jw_ki64(&w, "ppid", p->ppid);
		jw_ktextv(&w, "argv", p->argv);
		jw_ktext_or_null(&w, "exe", p->exe);
		jw_key(&w, "exit_code");
		if (p->exited)
			jw_i64(&w, p->exit_code);
		else
			jw_null(&w);
		jw_ktime(&w, "start_time", p->start_ns);
		jw_ktime(&w, "end_time", p->end_ns);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);

	jw_key(&w, "files");
	jw_arr_open(&w);
	for (int i = 0; i < nf; i++)
		file_jw(&w, fv[i]);
	jw_arr_close(&w);

	jw_key(&w, "edges");
	jw_arr_open(&w);
	for (int i = 0; i < ne; i++) {
		jw_obj_open(&w);
		jw_ktext(&w, "from", ev[i]->from, strlen(ev[i]->from));
		jw_ktext(&w, "to", ev[i]->to, strlen(ev[i]->to));
		jw_kstr(&w, "via", ev[i]->via);
		jw_ku64(&w, "bytes", ev[i]->bytes);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	peers_jw(&w, lg);
	jw_obj_close(&w);
	jw_raw(&w, "\n", 1);
	free(fv);
	lin_edges_free(ev, ne);
	err = w.oom ? -ENOMEM : 0;
	if (!err && fwrite(w.buf, 1, w.len, out) != w.len)
		err = -EIO;
	jw_free(&w);
	return err;
}

/* ---- derivation: which inputs an output's data came from ----------------- */

static bool is_file_node(const char *n)
{
	return !strncmp(n, "file:", 5);
}

static bool data_edge(const struct lin_edge *e)
{
	return strcmp(e->via, "exec") != 0; /* code, not data */
}

/*
 * Files whose data reached `node` (a file): back along data edges through
 * processes and channels, stopping at files. Library code (mapped
 * executable) is not data. Adds "file:PATH" keys to srcs.
 */
static void sources_of(struct lineage *lg, struct lin_edge **ev, int ne, const char *node,
		       struct lmap *srcs)
{
	struct lmap seen = { 0 };
	const char **queue = calloc(ne + 1, sizeof(*queue));
	int qh = 0, qt = 0;

	if (!queue)
		return;
	queue[qt++] = node;
	lmap_put(&seen, node, (void *)node);
	while (qh < qt) {
		const char *n = queue[qh++];

		for (int i = 0; i < ne; i++) {
			const struct lin_edge *e = ev[i];
			struct lin_file *f;

			if (strcmp(e->to, n) || !data_edge(e) || lmap_get(&seen, e->from))
				continue;
			lmap_put(&seen, e->from, (void *)e->from);
			if (is_file_node(e->from)) {
				f = lmap_get(&lg->files_by_path, e->from + 5);
				if (!f || !f->code)
					lmap_put(srcs, e->from, (void *)e->from);
				continue;
			}
			if (qt < ne + 1)
				queue[qt++] = e->from;
		}
	}
	lmap_clear(&seen);
	free(queue);
}

/* ---- W3C PROV-JSON --------------------------------------------------------- */

/* Ids are JSON keys (UTF-8) and must stay apart: a path that is not
 * valid UTF-8 is named by its bytes in base64 ("zcap:file:b64:..."). */
static void prov_entity_id(const struct lin_file *f, bool after, char *buf, size_t len)
{
	const char *v = after ? "after" : "before";
	char *b64;

	if (utf8_valid(f->path, strlen(f->path))) {
		snprintf(buf, len, "zcap:file:%s#%s", f->path, v);
		return;
	}
	b64 = jtext_b64_dup(f->path, strlen(f->path));
	snprintf(buf, len, "zcap:file:b64:%s#%s", b64 ? b64 : "", v);
	free(b64);
}

static void prov_rel(json_object *sect, int *seq, const char *k1, const char *v1, const char *k2,
		     const char *v2, const char *role)
{
	json_object *o = json_object_new_object();
	char id[32];

	snprintf(id, sizeof(id), "_:r%d", ++*seq);
	json_object_object_add(o, k1, json_object_new_string(v1));
	json_object_object_add(o, k2, json_object_new_string(v2));
	if (role)
		json_object_object_add(o, "prov:role", json_object_new_string(role));
	json_object_object_add(sect, id, o);
}

/* A TCP connection dataset: its namespace and name, as OpenLineage has them. */
static void prov_peer_id(const struct lin_peer *pe, char *buf, size_t len)
{
	snprintf(buf, len, "zcap:%s/%s", pe->ns, pe->name);
}

static void prov_activity_id(const char *node, char *buf, size_t len)
{
	snprintf(buf, len, "zcap:%s", node); /* zcap:process:PID */
}

int lineage_write_prov(struct lineage *lg, FILE *out)
{
	json_object *root = json_object_new_object(), *prefix, *entity, *activity, *used, *gen,
		    *derived, *informed;
	struct lin_edge **ev = NULL;
	struct lin_file **fv;
	char a[2 * PATH_MAX + 64], b[2 * PATH_MAX + 64]; /* ids with base64 */
	int nf, ne = 0, seq = 0, err;

	fv = listed_files(lg, &nf);
	err = lin_edges_resolved(lg, &ev, &ne);
	if (!root || !fv || err) {
		json_object_put(root);
		free(fv);
		return err ? err : -ENOMEM;
	}
	prefix = json_object_new_object();
	json_object_object_add(prefix, "zcap", json_object_new_string("urn:zcap:"));
	json_object_object_add(root, "prefix", prefix);
	entity = json_object_new_object();
	activity = json_object_new_object();
	used = json_object_new_object();
	gen = json_object_new_object();
	derived = json_object_new_object();
	informed = json_object_new_object();

	for (int i = 0; i < nf; i++) {
		const struct lin_file *f = fv[i];

		for (int v = 0; v < 2; v++) {
			bool after = v == 1;
			const char *sha = after ? f->sha_after : f->sha_before;
			json_object *o;

			if (after ? !(f->written || f->created) : !(f->read || f->executed))
				continue;
			o = json_object_new_object();
			prov_entity_id(f, after, a, sizeof(a));
			json_object_object_add(o, "prov:type",
					       json_object_new_string(f->is_dir ? "zcap:dir" : "zcap:file"));
			json_object_object_add(o, "prov:label", jtext_new(f->path, strlen(f->path)));
			jtext_add_str(o, "zcap:path", f->path);
			if (*sha)
				json_object_object_add(o, "zcap:sha256", json_object_new_string(sha));
			if (after && f->deleted)
				json_object_object_add(o, "zcap:deleted", json_object_new_boolean(1));
			json_object_object_add(entity, a, o);
		}
		/* a file both read and rewritten: the new version revises the old */
		if ((f->read || f->executed) && (f->written || f->created)) {
			json_object *o = json_object_new_object();
			char id[32];

			prov_entity_id(f, true, a, sizeof(a));
			prov_entity_id(f, false, b, sizeof(b));
			json_object_object_add(o, "prov:generatedEntity", json_object_new_string(a));
			json_object_object_add(o, "prov:usedEntity", json_object_new_string(b));
			json_object_object_add(o, "prov:type", json_object_new_string("prov:Revision"));
			snprintf(id, sizeof(id), "_:r%d", ++seq);
			json_object_object_add(derived, id, o);
		}
	}
	for (int i = 0; i < lg->npeers; i++) {
		const struct lin_peer *pe = lg->peers[i];
		json_object *o = json_object_new_object();

		prov_peer_id(pe, a, sizeof(a));
		json_object_object_add(o, "prov:type", json_object_new_string("zcap:tcp"));
		json_object_object_add(o, "zcap:namespace", json_object_new_string(pe->ns));
		json_object_object_add(o, "zcap:name", json_object_new_string(pe->name));
		json_object_object_add(o, "zcap:bytes_sent", json_object_new_uint64(pe->bytes_sent));
		json_object_object_add(o, "zcap:bytes_received",
				       json_object_new_uint64(pe->bytes_received));
		json_object_object_add(entity, a, o);
	}
	for (int i = 0; i < lg->nprocs; i++) {
		const struct lin_proc *p = lg->procs[i];
		json_object *o = json_object_new_object();
		char node[32], t[48];
		const char *label;

		lin_proc_node(p, node, sizeof(node));
		prov_activity_id(node, a, sizeof(a));
		json_object_object_add(o, "prov:type", json_object_new_string("zcap:process"));
		label = p->argv && p->argv[0] ? p->argv[0] : "?";
		json_object_object_add(o, "prov:label", jtext_new(label, strlen(label)));
		if (p->start_ns) {
			lin_iso_time(p->start_ns, t, sizeof(t));
			json_object_object_add(o, "prov:startTime", json_object_new_string(t));
		}
		if (p->end_ns) {
			lin_iso_time(p->end_ns, t, sizeof(t));
			json_object_object_add(o, "prov:endTime", json_object_new_string(t));
		}
		json_object_object_add(o, "zcap:pid", json_object_new_int(p->pid));
		json_object_object_add(o, "zcap:ppid", json_object_new_int(p->ppid));
		jtext_add_strv(o, "zcap:argv", p->argv);
		jtext_add_str(o, "zcap:exe", p->exe);
		if (p->exited)
			json_object_object_add(o, "zcap:exit_code", json_object_new_int(p->exit_code));
		json_object_object_add(activity, a, o);
	}
	for (int i = 0; i < ne; i++) {
		const struct lin_edge *e = ev[i];
		struct lin_peer *pe;
		struct lin_file *f;

		if (is_file_node(e->from) && !strncmp(e->to, "process:", 8) &&
		    (f = lmap_get(&lg->files_by_path, e->from + 5))) {
			prov_activity_id(e->to, a, sizeof(a));
			prov_entity_id(f, false, b, sizeof(b));
			prov_rel(used, &seq, "prov:activity", a, "prov:entity", b,
				 !strcmp(e->via, "exec") ? "zcap:executable" : NULL);
		} else if (!strncmp(e->from, "process:", 8) && is_file_node(e->to) &&
			   (f = lmap_get(&lg->files_by_path, e->to + 5))) {
			prov_entity_id(f, true, a, sizeof(a));
			prov_activity_id(e->from, b, sizeof(b));
			prov_rel(gen, &seq, "prov:entity", a, "prov:activity", b, NULL);
		} else if ((pe = lmap_get(&lg->peers_by_chan, e->to)) &&
			   !strncmp(e->from, "process:", 8)) {
			/* sent into a TCP connection: a version of that dataset */
			prov_peer_id(pe, a, sizeof(a));
			prov_activity_id(e->from, b, sizeof(b));
			prov_rel(gen, &seq, "prov:entity", a, "prov:activity", b, NULL);
		} else if ((pe = lmap_get(&lg->peers_by_chan, e->from)) &&
			   !strncmp(e->to, "process:", 8)) {
			prov_activity_id(e->to, a, sizeof(a));
			prov_peer_id(pe, b, sizeof(b));
			prov_rel(used, &seq, "prov:activity", a, "prov:entity", b, NULL);
		} else if (!strncmp(e->from, "process:", 8)) {
			/* into a channel: every process reading it was informed */
			for (int j = 0; j < ne; j++) {
				if (strcmp(ev[j]->from, e->to) || strncmp(ev[j]->to, "process:", 8) ||
				    !strcmp(ev[j]->to, e->from))
					continue;
				prov_activity_id(ev[j]->to, a, sizeof(a));
				prov_activity_id(e->from, b, sizeof(b));
				prov_rel(informed, &seq, "prov:informed", a, "prov:informant", b, NULL);
			}
		}
	}
	for (int i = 0; i < nf; i++) {
		struct lmap srcs = { 0 };
		char node[PATH_MAX + 8];

		if (!(fv[i]->written || fv[i]->created))
			continue;
		snprintf(node, sizeof(node), "file:%s", fv[i]->path);
		sources_of(lg, ev, ne, node, &srcs);
		for (int j = 0; j < nf; j++) {
			snprintf(b, sizeof(b), "file:%s", fv[j]->path);
			if (!lmap_get(&srcs, b) || !(fv[j]->read || fv[j]->executed || !fv[j]->created))
				continue;
			prov_entity_id(fv[i], true, a, sizeof(a));
			prov_entity_id(fv[j], false, b, sizeof(b));
			prov_rel(derived, &seq, "prov:generatedEntity", a, "prov:usedEntity", b, NULL);
		}
		lmap_clear(&srcs);
	}
	json_object_object_add(root, "entity", entity);
	json_object_object_add(root, "activity", activity);
	json_object_object_add(root, "used", used);
	json_object_object_add(root, "wasGeneratedBy", gen);
	json_object_object_add(root, "wasDerivedFrom", derived);
	json_object_object_add(root, "wasInformedBy", informed);
	free(fv);
	lin_edges_free(ev, ne);
	return put_json(root, out);
}

/* ---- Graphviz ---------------------------------------------------------------- */

/* A node id or label as a DOT string literal (user/escape.c). */
static void dot_str(FILE *out, const char *s)
{
	fputc('"', out);
	esc_dot(out, s, false);
	fputc('"', out);
}

static void dot_node_decl(struct lineage *lg, FILE *out, const char *node, struct lmap *declared)
{
	const char *shape = "ellipse", *name = node, *note1 = "", *note2 = "";
	char pid[32] = "";

	if (lmap_get(declared, node))
		return;
	lmap_put(declared, node, (void *)node);
	if (is_file_node(node)) {
		struct lin_file *f = lmap_get(&lg->files_by_path, node + 5);

		shape = "note";
		name = node + 5;
		note1 = f && f->created ? "\\n(created)" : "";
		note2 = f && f->deleted ? "\\n(deleted)" : "";
	} else if (!strncmp(node, "process:", 8)) {
		const struct lin_proc *p = NULL;

		for (int i = 0; i < lg->nprocs; i++) {
			char n[32];

			lin_proc_node(lg->procs[i], n, sizeof(n));
			if (!strcmp(n, node))
				p = lg->procs[i];
		}
		shape = "box";
		name = p && p->argv && p->argv[0] ? p->argv[0] : "?";
		snprintf(pid, sizeof(pid), "\\npid %s", node + 8);
	} else {
		shape = "cds";
	}
	fputs("  ", out);
	dot_str(out, node);
	fprintf(out, " [shape=%s, label=\"", shape);
	/* the name escaped and shown as escaped; the notes' \n are line breaks */
	esc_dot(out, name, true);
	fprintf(out, "%s%s%s\"];\n", note1, note2, pid);
}

int lineage_write_dot(struct lineage *lg, FILE *out)
{
	struct lmap declared = { 0 };
	struct lin_edge **ev = NULL;
	struct lin_file **fv;
	int nf, ne = 0, err;

	fv = listed_files(lg, &nf);
	err = lin_edges_resolved(lg, &ev, &ne);
	if (!fv || err) {
		free(fv);
		return err ? err : -ENOMEM;
	}
	fputs("digraph lineage {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n"
	      "  edge [fontname=\"Helvetica\", fontsize=9];\n",
	      out);
	for (int i = 0; i < lg->nprocs; i++) {
		char n[32];

		lin_proc_node(lg->procs[i], n, sizeof(n));
		dot_node_decl(lg, out, n, &declared);
	}
	for (int i = 0; i < nf; i++) {
		char n[PATH_MAX + 8];

		snprintf(n, sizeof(n), "file:%s", fv[i]->path);
		dot_node_decl(lg, out, n, &declared);
	}
	for (int i = 0; i < ne; i++) {
		dot_node_decl(lg, out, ev[i]->from, &declared);
		dot_node_decl(lg, out, ev[i]->to, &declared);
	}
	/* the process tree, dashed */
	for (int i = 0; i < lg->nprocs; i++) {
		char c[32], p[32];

		snprintf(p, sizeof(p), "process:%d", (int)lg->procs[i]->ppid);
		if (!lmap_get(&declared, p))
			continue;
		lin_proc_node(lg->procs[i], c, sizeof(c));
		fputs("  ", out);
		dot_str(out, p);
		fputs(" -> ", out);
		dot_str(out, c);
		fputs(" [style=dashed, label=\"fork\"];\n", out);
	}
	for (int i = 0; i < ne; i++) {
		char label[64];

		snprintf(label, sizeof(label), "%s %" PRIu64 " B", ev[i]->via, ev[i]->bytes);
		fputs("  ", out);
		dot_str(out, ev[i]->from);
		fputs(" -> ", out);
		dot_str(out, ev[i]->to);
		fputs(" [label=", out);
		dot_str(out, label);
		fputs("];\n", out);
	}
	fputs("}\n", out);
	lmap_clear(&declared);
	free(fv);
	lin_edges_free(ev, ne);
	return ferror(out) ? -EIO : 0;
}
