// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <pthread.h>
#include <stdlib.h>

#include "detach.h"

#define DETACH_THREADS 32

struct detach_job {
	struct bpf_link ***links;
	int n;
};

static void *detach_some(void *arg)
{
	struct detach_job *job = arg;

	for (int i = 0; i < job->n; i++) {
		bpf_link__destroy(*job->links[i]);
		*job->links[i] = NULL;
	}
	return NULL;
}

void skel_detach_parallel(struct bpf_object_skeleton *s)
{
	struct detach_job jobs[DETACH_THREADS] = { 0 };
	pthread_t tids[DETACH_THREADS];
	bool started[DETACH_THREADS] = { 0 };
	struct bpf_link ***links;
	int n = 0;

	if (!s)
		return;
	links = calloc(s->prog_cnt, sizeof(*links));
	if (!links)
		return; /* the skeleton's own destroy detaches them, slowly */
	for (int i = 0; i < s->prog_cnt; i++)
		if (s->progs[i].link && *s->progs[i].link)
			links[n++] = s->progs[i].link;
	for (int t = 0; t < DETACH_THREADS && n; t++) {
		int lo = n * t / DETACH_THREADS, hi = n * (t + 1) / DETACH_THREADS;

		jobs[t].links = links + lo;
		jobs[t].n = hi - lo;
		if (jobs[t].n && !pthread_create(&tids[t], NULL, detach_some, &jobs[t]))
			started[t] = true;
	}
	for (int t = 0; t < DETACH_THREADS; t++) {
		if (started[t])
			pthread_join(tids[t], NULL);
		else if (jobs[t].n)
			detach_some(&jobs[t]);
	}
	free(links);
}
