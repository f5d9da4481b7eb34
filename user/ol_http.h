/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The OpenLineage HTTP transport, as the OpenLineage clients configure it:
 * one POST of Content-Type application/json per RunEvent to URL resolved
 * against ENDPOINT (default api/v1/lineage), "Authorization: Bearer KEY"
 * with an API key. Events are sent by a thread of their own in the order
 * they were handed over; each gets a timeout and retries with backoff,
 * and what the server does not take is kept in the spool (ol_spool.h)
 * for a later run. Every failed attempt is one line on stderr.
 */
#ifndef ZCAP_OL_HTTP_H
#define ZCAP_OL_HTTP_H

#include <stdint.h>

#define OL_DEFAULT_ENDPOINT "api/v1/lineage"

struct ol_http_opts {
	const char *url;      /* the server (--ol-url, OPENLINEAGE_URL) */
	const char *endpoint; /* relative to url (OPENLINEAGE_ENDPOINT); NULL: the default */
	const char *api_key;  /* OPENLINEAGE_API_KEY; NULL: none */
	double timeout_s;     /* of one POST, connecting included */
	int retries;	      /* after a failed POST, before spooling */
	const char *spool;    /* where undelivered events wait */
};

/* What the transport did (the record's "openlineage_http"). */
struct ol_counts {
	uint64_t events;     /* handed over by this run */
	uint64_t delivered;  /* POSTs the server took: this run's and spooled ones */
	uint64_t failures;   /* POSTs that failed (each a line on stderr) */
	uint64_t spool_left; /* events in the spool when done */
	uint64_t lost;	     /* neither delivered nor spooled (the spool failed) */
};

struct ol_http;

/* Check the options (a URL libcurl takes, http or https; a key that is one
 * header line). 0, or ZCAP_EXIT_USAGE / ZCAP_EXIT_FAIL with one line
 * printed. */
int ol_http_new(struct ol_http **out, const struct ol_http_opts *o);

/* Start sending: the spool's events first, then what ol_http_send hands
 * over. 0 or -errno. */
int ol_http_start(struct ol_http *h);

/* Queue one event (JSON text, taken over). Never waits for the network. */
void ol_http_send(struct ol_http *h, char *json);

/* Hold one of the run's last events (taken over) for ol_http_finish. */
void ol_http_send_last(struct ol_http *h, char *json);

/* The end: queue the held last events, deliver or spool everything (the
 * server gets one more chance if it failed before: the spool first, then
 * the last events), stop the thread, count. */
void ol_http_finish(struct ol_http *h, struct ol_counts *c);

/* Deliver the spool now, in this thread (--flush-spool). */
void ol_http_flush(struct ol_http *h, struct ol_counts *c);

/* The URL events go to, without a password (for the record). */
const char *ol_http_url(const struct ol_http *h);

void ol_http_free(struct ol_http *h);

#endif
