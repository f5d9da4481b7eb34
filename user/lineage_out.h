/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The lineage writers: each turns a finished model (lineage.h) into one
 * output format. The model knows none of them: the lineage command picks
 * one and hands it the model. 0 or -errno.
 */
#ifndef ZCAP_LINEAGE_OUT_H
#define ZCAP_LINEAGE_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>

#include "lineage.h"

/* lineage_out.c: native JSON (docs/lineage.schema.json), W3C PROV-JSON,
 * Graphviz. */
int lineage_write_json(struct lineage *lg, FILE *out);
int lineage_write_prov(struct lineage *lg, FILE *out);
int lineage_write_dot(struct lineage *lg, FILE *out);

/* The native record with the members of extra (an object, consumed; NULL:
 * none) added at its top level after "drops". */
int lineage_write_json_with(struct lineage *lg, FILE *out, json_object *extra);

/* lineage_out_ol.c: OpenLineage 2-0-2 RunEvents, one per line. */
int lineage_write_openlineage(struct lineage *lg, FILE *out);

/*
 * OpenLineage while the run happens (the HTTP transport): CMD's run is
 * announced before the model is finished. One ol_run per run keeps CMD's
 * runId, so that the events sent early and the ones of the finished model
 * belong to the same run.
 */
struct ol_run {
	char run_id[37];     /* CMD's runId */
	bool started;	     /* its START was made */
	char *last_datasets; /* the datasets of the last RUNNING (text) */
};

/* CMD's START at now_ns (the process's start when the model has seen
 * it); *json is malloc'd. 0 or -ENOMEM. */
int lineage_ol_start(struct lineage *lg, struct ol_run *run, uint64_t now_ns, char **json);

/* CMD's RUNNING at now_ns with the datasets every process of the run read
 * and wrote so far (without versions: hashes come with the end); *json is
 * NULL when they are the ones the last RUNNING listed. 0 or -ENOMEM. */
int lineage_ol_running(struct lineage *lg, struct ol_run *run, uint64_t now_ns, char **json);

/*
 * Every RunEvent of the finished model in time order (what
 * lineage_write_openlineage writes), each handed to emit as one line of
 * JSON text without the newline; emit returns 0 or -errno (which stops).
 * run: CMD's runId is run->run_id, and with unsent_only CMD's START is
 * left out when run->started (it was sent). NULL: a new runId.
 */
int lineage_ol_events(struct lineage *lg, const struct ol_run *run, bool unsent_only,
		      int (*emit)(void *ctx, const char *json), void *ctx);

/* lineage_write_openlineage with CMD's runId of run (every event). */
int lineage_write_openlineage_run(struct lineage *lg, const struct ol_run *run, FILE *out);

void lineage_ol_run_clear(struct ol_run *run);

#endif
