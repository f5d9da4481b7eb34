// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The OpenLineage HTTP transport (ol_http.h), on libcurl.
 *
 * Why a thread of its own with blocking easy handles rather than libcurl's
 * multi interface in the capture loop: a POST is not the only thing that
 * waits. Backoff between retries, the spool's flock (another run may hold
 * it while it sends) and its fsync all block too, and the capture loop
 * must keep draining the ring buffer meanwhile (a full ring loses events).
 * The loop only polls the ring (loader_poll), so multi's sockets and
 * timers cannot join that poll without reaching into the loader. The
 * thread also keeps the order simple: one event at a time, oldest first,
 * spool before queue, so a server never sees an event before the ones
 * made earlier.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>

#include "ol_http.h"
#include "ol_spool.h"
#include "util.h"

#define OL_BACKOFF_S	 0.5  /* before the first retry, doubling */
#define OL_BACKOFF_MAX_S 8.0
/* Once the server failed every retry of an event, the events after it go
 * to the spool; during a long run it is tried again this often. */
#define OL_PROBE_S 30.0

struct ol_event {
	struct ol_event *next;
	char *json;
};

struct ol_http {
	struct ol_http_opts o;
	char *url;	/* where to POST */
	char *shown;	/* url without a password, for messages */
	CURL *curl;
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];

	pthread_t thread;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ol_event *head, **tail; /* under mu */
	bool closing;		       /* under mu: no more events come */

	/* the capture thread's */
	uint64_t handed, unqueued; /* events handed over; lost for want of memory */
	struct ol_event *last, **last_tail; /* the run's last events, until the end */
	/* the sender's own (read by others after the join) */
	bool offline;	    /* the spool holds events: new ones go after them */
	double failed_at;   /* mono time of the last give-up */
	struct ol_counts c;
};

/* url resolved against endpoint as a browser (and Python's urljoin, which
 * the OpenLineage client uses) would; *shown without a password. */
static int resolve_url(const char *url, const char *endpoint, char **full, char **shown)
{
	CURLU *u = curl_url();
	char *scheme = NULL;
	int rc = ZCAP_EXIT_USAGE;

	*full = *shown = NULL;
	if (!u)
		return ZCAP_EXIT_FAIL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
	    (strcmp(scheme, "http") && strcmp(scheme, "https"))) {
		zcap_err("lineage: invalid OpenLineage URL '%s' (http:// or https://)", url);
		goto out;
	}
	if (curl_url_set(u, CURLUPART_URL, endpoint, 0)) {
		zcap_err("lineage: invalid OpenLineage endpoint '%s'", endpoint);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_URL, full, 0) ||
	    curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) ||
	    curl_url_get(u, CURLUPART_URL, shown, 0)) {
		zcap_err("lineage: out of memory");
		rc = ZCAP_EXIT_FAIL;
		goto out;
	}
	rc = 0;
out:
	curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}

static bool header_safe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* The response body is not needed (and must not reach stdout). */
static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	return size * n;
}

int ol_http_new(struct ol_http **out, const struct ol_http_opts *o)
{
	struct ol_http *h;
	char *auth = NULL;
	int rc;

	*out = NULL;
	if (o->api_key && (!*o->api_key || !header_safe(o->api_key))) {
		zcap_err("lineage: OPENLINEAGE_API_KEY must be one line of printable characters");
		return ZCAP_EXIT_USAGE;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		zcap_err("lineage: libcurl cannot start");
		return ZCAP_EXIT_FAIL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		curl_global_cleanup();
		zcap_err("lineage: out of memory");
		return ZCAP_EXIT_FAIL;
	}
	h->o = *o;
	h->tail = &h->head;
	h->last_tail = &h->last;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	rc = resolve_url(o->url, o->endpoint ? o->endpoint : OL_DEFAULT_ENDPOINT, &h->url,
			 &h->shown);
	if (rc) {
		ol_http_free(h);
		return rc;
	}
	h->headers = curl_slist_append(NULL, "Content-Type: application/json");
	/* no "Expect: 100-continue" round trip before larger bodies */
	h->headers = h->headers ? curl_slist_append(h->headers, "Expect:") : NULL;
	if (h->headers && o->api_key) {
		if (asprintf(&auth, "Authorization: Bearer %s", o->api_key) < 0)
			auth = NULL;
		h->headers = auth ? curl_slist_append(h->headers, auth) : NULL;
		free(auth);
	}
	h->curl = curl_easy_init();
	if (!h->headers || !h->curl) {
		zcap_err("lineage: out of memory");
		ol_http_free(h);
		return ZCAP_EXIT_FAIL;
	}
	curl_easy_setopt(h->curl, CURLOPT_URL, h->url);
	curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->headers);
	curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "zcap/" ZCAP_VERSION);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, (long)(o->timeout_s * 1000));
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)(o->timeout_s * 1000));
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM in a thread */
	curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, discard);
	*out = h;
	return 0;
}

const char *ol_http_url(const struct ol_http *h)
{
	return h->shown;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* One POST; 0 when the server took it (2xx). */
static int post_once(struct ol_http *h, const char *json, char *why, size_t len)
{
	long status = 0;
	CURLcode rc;

	h->errbuf[0] = 0;
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(json));
	rc = curl_easy_perform(h->curl);
	if (rc != CURLE_OK) {
		snprintf(why, len, "%s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300)
		return 0;
	snprintf(why, len, "HTTP %ld", status);
	return -1;
}

/* POST with retries; 0 when delivered. Every failure is a line. */
static int deliver(struct ol_http *h, const char *json, int retries)
{
	double backoff = OL_BACKOFF_S;
	char why[CURL_ERROR_SIZE + 32];

	for (int attempt = 0; attempt <= retries; attempt++) {
		if (post_once(h, json, why, sizeof(why)) == 0) {
			h->c.delivered++;
			return 0;
		}
		h->c.failures++;
		if (attempt < retries) {
			zcap_err("openlineage: POST %s: %s (attempt %d of %d, again in %.1f s)",
				 h->shown, why, attempt + 1, retries + 1, backoff);
			sleep_s(backoff);
			backoff = backoff * 2 > OL_BACKOFF_MAX_S ? OL_BACKOFF_MAX_S : backoff * 2;
		} else {
			zcap_err("openlineage: POST %s: %s (attempt %d of %d, giving up)", h->shown,
				 why, attempt + 1, retries + 1);
		}
	}
	return -1;
}

static int deliver_spooled(void *ctx, const char *json)
{
	struct ol_http *h = ctx;

	return deliver(h, json, h->o.retries);
}

/* The spool's events, oldest first; true when it is empty now. */
static bool flush_spool(struct ol_http *h)
{
	int sent, left;

	if (ol_spool_flush(h->o.spool, deliver_spooled, h, &sent, &left))
		return false;
	return left == 0;
}

static void free_events(struct ol_event *list)
{
	while (list) {
		struct ol_event *next = list->next;

		free(list->json);
		free(list);
		list = next;
	}
}

/* Keep events the server did not take; they are freed. */
static void spool_events(struct ol_http *h, struct ol_event *list)
{
	char **v;
	int n = 0, i = 0;

	for (struct ol_event *e = list; e; e = e->next)
		n++;
	v = calloc(n ? n : 1, sizeof(*v));
	for (struct ol_event *e = list; e && v; e = e->next)
		v[i++] = e->json;
	if (n && (!v || ol_spool_append(h->o.spool, v, n))) {
		h->c.lost += n;
		zcap_err("openlineage: %d events lost (the spool cannot keep them)", n);
	} else if (n) {
		zcap_warn("openlineage: %d events kept in spool '%s' until the server takes them",
			  n, h->o.spool);
	}
	free(v);
	free_events(list);
}

static void *sender_main(void *arg)
{
	struct ol_http *h = arg;
	bool last_chance = false;

	/* older events first: a spool left by an earlier run */
	h->offline = !flush_spool(h);
	if (h->offline)
		h->failed_at = mono_now_s();
	for (;;) {
		struct ol_event *e;

		pthread_mutex_lock(&h->mu);
		while (!h->head && !h->closing)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->offline &&
		    (h->closing ? !last_chance : mono_now_s() - h->failed_at >= OL_PROBE_S)) {
			/* the server may be back: the spool goes first */
			last_chance = h->closing;
			pthread_mutex_unlock(&h->mu);
			h->offline = !flush_spool(h);
			if (h->offline)
				h->failed_at = mono_now_s();
			continue;
		}
		if (!h->head) { /* closing, all done */
			pthread_mutex_unlock(&h->mu);
			break;
		}
		if (h->offline) { /* behind the spooled ones: all of them */
			e = h->head;
			h->head = NULL;
			h->tail = &h->head;
			pthread_mutex_unlock(&h->mu);
			spool_events(h, e);
			continue;
		}
		e = h->head;
		h->head = e->next;
		if (!h->head)
			h->tail = &h->head;
		pthread_mutex_unlock(&h->mu);
		e->next = NULL;
		if (deliver(h, e->json, h->o.retries) == 0) {
			free(e->json);
			free(e);
			continue;
		}
		h->offline = true;
		h->failed_at = mono_now_s();
		/* this one and everything queued behind it */
		pthread_mutex_lock(&h->mu);
		e->next = h->head;
		h->head = NULL;
		h->tail = &h->head;
		pthread_mutex_unlock(&h->mu);
		spool_events(h, e);
	}
	return NULL;
}

int ol_http_start(struct ol_http *h)
{
	sigset_t stops, old;
	int err;

	/* SIGINT/SIGTERM/SIGHUP stop the capture: let them reach its thread,
	 * whose loop checks for them, not interrupt a POST or a backoff */
	sigemptyset(&stops);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stops, &old);
	err = pthread_create(&h->thread, NULL, sender_main, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	if (err) {
		zcap_err("lineage: cannot start the OpenLineage sender: %s", strerror(err));
		return -err;
	}
	h->running = true;
	return 0;
}

static struct ol_event *new_event(struct ol_http *h, char *json)
{
	struct ol_event *e = calloc(1, sizeof(*e));

	h->handed++;
	if (!e) {
		free(json);
		h->unqueued++;
		zcap_err("openlineage: out of memory: 1 event lost");
		return NULL;
	}
	e->json = json;
	return e;
}

void ol_http_send(struct ol_http *h, char *json)
{
	struct ol_event *e = new_event(h, json);

	if (!e)
		return;
	pthread_mutex_lock(&h->mu);
	*h->tail = e;
	h->tail = &e->next;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

void ol_http_send_last(struct ol_http *h, char *json)
{
	struct ol_event *e = new_event(h, json);

	if (!e)
		return;
	*h->last_tail = e;
	h->last_tail = &e->next;
}

/* Events in the spool now (a line each). */
static uint64_t spool_count(const char *path)
{
	FILE *f = fopen(path, "re");
	uint64_t n = 0;
	int ch;

	if (!f)
		return 0;
	while ((ch = getc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

void ol_http_finish(struct ol_http *h, struct ol_counts *c)
{
	if (h->running) {
		/* the last events come with the end, in one step: all of them
		 * get the server's last chance, none is spooled before it */
		pthread_mutex_lock(&h->mu);
		*h->tail = h->last;
		if (h->last)
			h->tail = h->last_tail;
		h->last = NULL;
		h->last_tail = &h->last;
		h->closing = true;
		pthread_cond_signal(&h->cv);
		pthread_mutex_unlock(&h->mu);
		pthread_join(h->thread, NULL);
		h->running = false;
	}
	h->c.events = h->handed;
	h->c.lost += h->unqueued;
	h->unqueued = 0;
	h->c.spool_left = spool_count(h->o.spool);
	*c = h->c;
}

void ol_http_flush(struct ol_http *h, struct ol_counts *c)
{
	flush_spool(h);
	h->c.spool_left = spool_count(h->o.spool);
	*c = h->c;
}

void ol_http_free(struct ol_http *h)
{
	if (!h)
		return;
	if (h->running) {
		struct ol_counts c;

		ol_http_finish(h, &c);
	}
	free_events(h->head);
	free_events(h->last);
	curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->headers);
	curl_free(h->url);
	curl_free(h->shown);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	free(h);
	curl_global_cleanup();
}
