// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target: hostile strings (comm, paths, argv) through every
 * line-oriented writer: the text and JSON Lines sinks and the lineage
 * JSON, OpenLineage, PROV and DOT writers, and the OpenLineage events
 * made while a run goes on (START, RUNNING, the rest at the end). Each
 * output must parse: JSON
 * with json-c's strict tokenizer validating UTF-8, text and DOT as
 * printable ASCII lines (no byte of a name may act on a terminal or end a
 * line or a DOT string). pcap-ng comments are fuzzed by fuzz_decode.c;
 * tshark and dot check real outputs in tests/e2e/hostile_names.t.
 *
 * Input: strings separated by NUL bytes. The first is the comm, the rest
 * are argv and file names. Files live under a directory that does not
 * exist (a name's '/' becomes '_'), so the lineage model's hashing finds
 * nothing to open.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <json-c/json.h>

#include "escape.h"
#include "lineage.h"
#include "lineage_out.h"
#include "sink.h"
#include "stitch.h"

#define MAX_STRINGS 8
#define NOWHERE	    "/nonexistent-zcap-fuzz/f"
#define PID	    0x3ffffff0 /* above pid_max: /proc/PID never exists */

struct input {
	char comm[ZCAP_COMM_LEN];
	char *strs[MAX_STRINGS + 1]; /* NULL-terminated */
	int n;
};

static void split(const uint8_t *data, size_t size, struct input *in)
{
	const uint8_t *end = memchr(data, 0, size);
	size_t off = end ? (size_t)(end - data) + 1 : size;

	memset(in, 0, sizeof(*in));
	memcpy(in->comm, data, off < ZCAP_COMM_LEN ? off : ZCAP_COMM_LEN - 1);
	while (off < size && in->n < MAX_STRINGS) {
		size_t len;

		end = memchr(data + off, 0, size - off);
		len = end ? (size_t)(end - (data + off)) : size - off;
		in->strs[in->n++] = strndup((const char *)data + off, len > 4000 ? 4000 : len);
		off += len + 1;
	}
	if (!in->n)
		in->strs[in->n++] = strdup("x");
}

static void hdr(struct zcap_hdr *h, unsigned int type, size_t size, const struct input *in)
{
	memset(h, 0, size);
	h->type = type;
	h->hdr_len = size;
	h->pid = PID;
	h->tid = PID;
	h->ts_ns = 1000;
	memcpy(h->comm, in->comm, ZCAP_COMM_LEN);
}

struct out {
	struct sink *sinks[3];
	int n;
};

static void deliver(struct out *o, const struct zev *ev, const void *data, size_t len,
		    const char *path)
{
	struct zrec r = { .ev = ev, .data = data, .data_len = len, .len = len, .path = path,
			  .src_off = -1 };

	for (int i = 0; i < o->n; i++)
		o->sinks[i]->ops->record(o->sinks[i], &r);
}

/* A unix socket bound to name as an abstract name (the bytes as they
 * come, NULs aside) with the path form as its peer's name: the socket
 * strings of an fd record (sockaddr, own name, peer's name). */
static void bind_unix(struct out *o, const struct input *in, const char *name)
{
	uint8_t data[3 * ZCAP_SOCKSTR_MAX];
	size_t n = strnlen(name, ZCAP_SOCKSTR_MAX - 4);
	struct zcap_fd_ev f;
	struct zev ev;

	hdr(&f.h, ZCAP_EV_FD, sizeof(f), in);
	f.f.kind = ZCAP_FD_UNIX;
	f.syscall = ZCAP_SYS_BIND;
	f.fd = 4;
	f.fd2 = -1;
	f.peer_pid = PID;
	memcpy(data, &(sa_family_t){ AF_UNIX }, 2);
	data[2] = 0;
	memcpy(data + 3, name, n);
	f.addr_len = n + 3;
	memcpy(data + f.addr_len, data + 2, n + 1); /* own name: the same, abstract */
	f.lname_len = n + 1;
	memcpy(data + f.addr_len + f.lname_len, name, n); /* peer: as a path */
	f.pname_len = n;
	f.h.data_len = f.addr_len + f.lname_len + f.pname_len;
	ev = (struct zev){ .type = ZCAP_EV_FD, .raw = &f, .h = &f.h };
	deliver(o, &ev, data, f.h.data_len, NULL);
}

/* exec with argv, then for each name: open, write, read, close, and a
 * unix socket bound to it. */
static void feed(struct out *o, const struct input *in)
{
	char argv[8192], path[4200];
	size_t alen = 0;
	struct zcap_proc_ev p;
	struct zev ev = { 0 };

	for (int i = 0; i < in->n; i++) {
		size_t l = strlen(in->strs[i]) + 1;

		if (alen + l > sizeof(argv) - 16)
			break;
		memcpy(argv + alen, in->strs[i], l);
		alen += l;
	}
	memcpy(argv + alen, "/bin/cmd", 9);
	hdr(&p.h, ZCAP_EV_PROC, sizeof(p), in);
	p.syscall = ZCAP_SYS_EXEC;
	p.argv_len = alen;
	ev = (struct zev){ .type = ZCAP_EV_PROC, .raw = &p, .h = &p.h };
	deliver(o, &ev, argv, alen + 9, NULL);

	for (int i = 1; i < in->n; i++) {
		struct zcap_fd_ev f;
		struct zcap_io io;
		size_t n;

		n = snprintf(path, sizeof(path), NOWHERE "%s", in->strs[i]);
		for (char *s = path + strlen(NOWHERE); *s; s++)
			if (*s == '/')
				*s = '_';
		hdr(&f.h, ZCAP_EV_FD, sizeof(f), in);
		f.f.kind = ZCAP_FD_FILE;
		f.f.dev = 42;
		f.f.ino = 100 + i;
		f.f.flags = O_RDWR;
		f.syscall = ZCAP_SYS_OPENAT;
		f.ret = f.fd = 3;
		f.fd2 = -100;
		f.oflags = O_RDWR | O_CREAT;
		f.ev_flags = ZCAP_FD_CREATED | ZCAP_FD_PATH_ABS;
		ev = (struct zev){ .type = ZCAP_EV_FD, .raw = &f, .h = &f.h };
		deliver(o, &ev, path, n, path);
		for (int dir = ZCAP_DIR_OUT; dir >= ZCAP_DIR_IN; dir--) {
			hdr(&io.h, ZCAP_EV_IO, sizeof(io), in);
			io.f = f.f;
			io.syscall = dir == ZCAP_DIR_IN ? ZCAP_SYS_READ : ZCAP_SYS_WRITE;
			io.dir = dir;
			io.fd = 3;
			io.ret = io.total_len = n;
			io.file_off = -1;
			io.flags = ZCAP_F_FIRST | ZCAP_F_LAST;
			ev = (struct zev){ .type = ZCAP_EV_IO, .raw = &io, .h = &io.h };
			deliver(o, &ev, path, n, path);
		}
		f.syscall = ZCAP_SYS_CLOSE;
		f.ret = 0;
		ev = (struct zev){ .type = ZCAP_EV_FD, .raw = &f, .h = &f.h };
		deliver(o, &ev, NULL, 0, path);
		bind_unix(o, in, in->strs[i]);
	}
}

/* Strict JSON (valid UTF-8) for each of n documents split at newlines,
 * or one document (whole). */
static void check_json(const char *buf, size_t len, bool whole)
{
	struct json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
	const char *s = buf, *end = buf + len;

	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	while (s < end) {
		const char *nl = whole ? end : memchr(s, '\n', end - s);
		json_object *o;

		if (!nl)
			abort(); /* a line without its newline */
		if (!utf8_valid(s, nl - s))
			abort();
		json_tokener_reset(tok);
		o = json_tokener_parse_ex(tok, s, nl - s);
		if (!o || json_tokener_get_error(tok) != json_tokener_success)
			abort();
		json_object_put(o);
		s = nl + 1;
	}
	json_tokener_free(tok);
}

/* Printable ASCII lines, each ended. */
static void check_ascii(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != '\n' && ((uint8_t)buf[i] < 0x20 || (uint8_t)buf[i] >= 0x7f))
			abort();
	if (len && buf[len - 1] != '\n')
		abort();
}

/* One OpenLineage event as the HTTP transport gets it: one JSON text. */
static int check_event(void *ctx, const char *json)
{
	check_json(json, strlen(json), true);
	if (strchr(json, '\n'))
		abort(); /* the spool keeps one event per line */
	(*(int *)ctx)++;
	return 0;
}

/* START and RUNNING on the model as fed so far, as --ol-url makes them. */
static void check_streamed(struct lineage *lg, struct ol_run *run)
{
	char *json = NULL;
	int n = 0;

	if (lineage_ol_start(lg, run, 1000000000ULL, &json) || !json)
		abort();
	check_event(&n, json);
	free(json);
	if (lineage_ol_running(lg, run, 2000000000ULL, &json))
		abort();
	if (json)
		check_event(&n, json);
	free(json);
	/* the same datasets again: nothing new to say */
	if (lineage_ol_running(lg, run, 3000000000ULL, &json) || json)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct {
		int (*write)(struct lineage *lg, FILE *out);
		bool dot, jsonl;
	} fmts[] = {
		{ lineage_write_json, false, false },
		{ lineage_write_openlineage, false, true },
		{ lineage_write_prov, false, false },
		{ lineage_write_dot, true, false },
	};
	char *tbuf = NULL, *jbuf = NULL;
	size_t tlen = 0, jlen = 0;
	FILE *tf = open_memstream(&tbuf, &tlen), *jf = open_memstream(&jbuf, &jlen);
	struct zcap_stats st = { 0 };
	struct timespec ts = { 1, 0 };
	struct input in;
	struct lineage *lg;
	struct out o = { 0 };
	struct ol_run run = { 0 };
	int nev = 0;

	split(data, size, &in);
	lg = lineage_new(in.strs);
	o.sinks[o.n++] = sink_text_new(tf, 200);
	o.sinks[o.n++] = sink_json_new(jf);
	o.sinks[o.n++] = lg ? lineage_sink_new(lg) : NULL;
	if (!tf || !jf || !lg || !o.sinks[0] || !o.sinks[1] || !o.sinks[2])
		abort();
	feed(&o, &in);
	check_streamed(lg, &run);
	for (int i = 0; i < o.n; i++) {
		o.sinks[i]->ops->finish(o.sinks[i], &st);
		o.sinks[i]->ops->destroy(o.sinks[i]);
	}
	fclose(tf);
	fclose(jf);
	check_ascii(tbuf, tlen);
	check_json(jbuf, jlen, false);
	free(tbuf);
	free(jbuf);

	lineage_finish(lg, &ts, &ts, 0, 0);
	if (lineage_ol_events(lg, &run, true, check_event, &nev))
		abort();
	lineage_ol_run_clear(&run);
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		if (!f || fmts[i].write(lg, f))
			abort();
		fclose(f);
		if (fmts[i].dot)
			check_ascii(buf, len);
		else
			check_json(buf, len, !fmts[i].jsonl);
		free(buf);
	}
	lineage_free(lg);
	for (int i = 0; i < in.n; i++)
		free(in.strs[i]);
	return 0;
}
