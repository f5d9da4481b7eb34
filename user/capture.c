// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture.h"
#include "decode.h"
#include "filter_expr.h"
#include "outfile.h"
#include "pathcache.h"
#include "privdrop.h"
#include "privs.h"
#include "sockseed.h"
#include "spawn.h"
#include "status.h"
#include "stopsig.h"
#include "stitch.h"
#include "util.h"
#include "zerocopy.h"

/* The reader of our output pipe went away (`| head`): stop now rather
 * than at the next write, which may never come. */
static bool output_closed(const struct capture_opts *o)
{
	struct pollfd pfd = { .fd = o->out_fd, .events = 0 };

	return o->watch_out && poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLERR);
}

/* "cannot write 'FILE': why" for an output error. */
static void output_error(const struct capture_opts *o, int err)
{
	zcap_err("cannot write '%s': %s", o->out_name ? o->out_name : "output", strerror(-err));
}

#define YIELD_CHECK 64

struct pipeline {
	const struct capture_opts *o;
	struct stitcher *st;
	struct sink **sinks;
	int nsinks;
	struct zcap_stats *stats;
	bool done; /* -c reached */
	int error;
	/* A flood of events must not keep ring_buffer__poll from returning
	 * (signals, -c, --duration, drop reports wait for it): the ring
	 * callback hands control back (-EINTR) after yield_s of consuming.
	 * yield_at is when, set by the first record of a poll (0 before):
	 * the poll may have slept its whole timeout before records came.
	 * The clock is read every YIELD_CHECK records (a clock read costs
	 * about what a small record's decoding does). */
	double yield_s, yield_at;
	unsigned int unclocked;
	/* After the stop: deliver what was written before it, nothing newer
	 * (else a flood would keep the drain going for ever). */
	bool draining;
	uint64_t drain_until_ns;
};

bool have_privileges(void)
{
	return privs_ok(false);
}

/* Whatever the sinks buffered goes out: the outputs are written in large
 * blocks, and this is their timer (every 100 ms while records come). */
static void flush_sinks(struct pipeline *p)
{
	for (int i = 0; i < p->nsinks && !p->error; i++) {
		FILE *out = p->sinks[i]->out;

		if (out && __fpending(out) && fflush(out))
			p->error = -errno;
	}
}

static int to_sinks(const struct zrec *r, void *ctx)
{
	struct pipeline *p = ctx;

	if (p->done || p->error)
		return 0;
	if (p->o->event_mask && !(p->o->event_mask & (1u << r->ev->type)))
		return 0;
	if (p->o->record_filter && !filter_expr_match_record(p->o->record_filter, r))
		return 0;
	p->stats->records++;
	if (r->ev->type == ZCAP_EV_IO)
		p->stats->bytes += r->data_len;
	else if (zc_body_of(r))
		p->stats->body_bytes += r->data_len;
	for (int i = 0; i < p->nsinks; i++) {
		int rc = p->sinks[i]->ops->record(p->sinks[i], r);

		if (rc < 0) {
			p->error = rc;
			return 0;
		}
	}
	if (p->o->max_records && p->stats->records >= p->o->max_records)
		p->done = true;
	return 0;
}

static void busy_to_sinks(void *ctx, const struct zcap_fdinfo *sock, bool busy)
{
	struct pipeline *p = ctx;

	for (int i = 0; i < p->nsinks; i++)
		if (p->sinks[i]->ops->zc_busy)
			p->sinks[i]->ops->zc_busy(p->sinks[i], sock, busy);
}

static int on_ring_record(void *ctx, void *data, size_t len)
{
	const struct zcap_hdr *h = data;
	struct pipeline *p = ctx;
	struct zev ev;

	/* -EINTR stops the ring's consumer (loader_poll reports 0); libbpf
	 * has consumed the record by then, so it is returned only for records
	 * not wanted or after this one is fed */
	if (p->done || p->error)
		return -EINTR;
	if (p->draining && len >= sizeof(*h) && h->ts_ns > p->drain_until_ns)
		return -EINTR;
	if (zev_decode(data, len, &ev, NULL))
		p->stats->bad_records++;
	else
		stitcher_feed(p->st, &ev);
	if (p->draining)
		return 0;
	if (stop_signal_caught())
		return -EINTR;
	if (!p->yield_at) {
		p->yield_at = mono_now_s() + p->yield_s;
		p->unclocked = 0;
	} else if (++p->unclocked >= YIELD_CHECK) {
		p->unclocked = 0;
		if (mono_now_s() >= p->yield_at)
			return -EINTR;
	}
	return 0;
}

/* The packet sink's tick (capture_opts): whether to stop. A write it
 * failed is the capture's error, as one of the loop's own (-EPIPE: the
 * reader left, however that was noticed first). */
static bool tick_stops(const struct capture_opts *o, struct pipeline *p)
{
	struct timespec ts;
	int rc;

	if (!o->tick)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	rc = o->tick(o->hook_ctx, (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec);
	if (rc < 0)
		p->error = rc;
	return rc != 0;
}

static void report_drops(struct loader *l, struct pipeline *p, uint64_t *last_total)
{
	uint64_t total = 0;

	loader_drops(l, p->stats->drops);
	for (int i = 0; i < ZCAP_DROP_MAX; i++)
		total += p->stats->drops[i];
	if (total == *last_total)
		return;
	*last_total = total;
	for (int i = 0; i < p->nsinks; i++)
		if (p->sinks[i]->ops->drops)
			p->sinks[i]->ops->drops(p->sinks[i], p->stats);
}

static void print_summary(const struct zcap_stats *st)
{
	char bodies[64] = "", limited[80] = "";

	if (st->body_bytes)
		snprintf(bodies, sizeof(bodies), " (%llu in zero-copy bodies)",
			 (unsigned long long)st->body_bytes);
	if (st->iov_limited)
		snprintf(limited, sizeof(limited), "; %llu cut at the kernel's iovec walk limit",
			 (unsigned long long)st->iov_limited);
	fprintf(stderr,
		"zcap: %llu records, %llu payload bytes captured%s; lost events: %llu ring full, "
		"%llu map full, %llu read faults; %llu incomplete records%s\n",
		(unsigned long long)st->records, (unsigned long long)(st->bytes + st->body_bytes),
		bodies, (unsigned long long)st->drops[ZCAP_DROP_RINGBUF],
		(unsigned long long)st->drops[ZCAP_DROP_MAPFULL],
		(unsigned long long)st->drops[ZCAP_DROP_FAULT], (unsigned long long)st->incomplete,
		limited);
}

/* -v: how many fds of IO and transfer records the kernel described from
 * its per-connection cache of fd details rather than by walking them. */
static void print_fd_details(const struct loader *l)
{
	uint64_t n[ZCAP_FDD_MAX];

	loader_fd_details(l, n);
	if (n[ZCAP_FDD_CACHED] + n[ZCAP_FDD_WALKED])
		fprintf(stderr,
			"zcap: fd details of %llu I/O and transfer fds: %llu from the "
			"connection cache, %llu walked\n",
			(unsigned long long)(n[ZCAP_FDD_CACHED] + n[ZCAP_FDD_WALKED]),
			(unsigned long long)n[ZCAP_FDD_CACHED],
			(unsigned long long)n[ZCAP_FDD_WALKED]);
}

/* The live status line: records, bytes and lost events so far. */
static void show_status(const struct zcap_stats *st, double elapsed)
{
	uint64_t lost = 0;
	char b[32];

	for (int i = 0; i < ZCAP_DROP_MAX; i++)
		lost += st->drops[i];
	status_bytes(st->bytes + st->body_bytes, b, sizeof(b));
	status_show(elapsed, "%llu records, %s, %llu events lost", (unsigned long long)st->records,
		    b, (unsigned long long)lost);
}

/* Reap children without blocking; true once cmd has exited. */
static bool reap(pid_t cmd_pid, struct capture_result *res)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == cmd_pid && (WIFEXITED(status) || WIFSIGNALED(status))) {
			res->cmd_status = status;
			return true;
		}
	}
	return false;
}

/* Packet output: name the owners of the sockets open before the capture
 * (sockseed.h), now that the kernel names those of newer ones. Not with
 * `-- CMD`, which starts after. A failure costs only names. */
static void seed_socket_owners(struct loader *l, const struct capture_opts *o)
{
	struct sockseed_filter f = {
		.lo = &o->lo, .pids = o->pids, .npids = o->npids, .self = getpid()
	};
	struct sockseed_result r;
	int err = sockseed_fill(loader_sock_owner_fd(l), &f, &r);

	if (err)
		zcap_warn("cannot name the owners of sockets open before the capture: %s",
			  strerror(-err));
	else if (zcap_verbose)
		fprintf(stderr,
			"zcap: %u sockets open before the capture named from /proc (%u named by "
			"the kernel already)\n",
			r.named, r.kernel);
}

int capture_run(const struct capture_opts *o, struct sink **sinks, int nsinks,
		struct capture_result *res)
{
	struct pipeline p = { .o = o, .sinks = sinks, .nsinks = nsinks, .stats = &res->stats };
	struct loader_opts lo = o->lo;
	struct pathcache *pc = NULL;
	struct loader *l = NULL;
	uint64_t last_drops = 0;
	double start = mono_now_s(), last_check, last_flush;
	pid_t cmd_pid = -1;
	int err = 0;

	memset(res, 0, sizeof(*res));
	/* the caught signal is not reset: a signal during setup still stops us */
	stop_signals_catch();

	pc = pathcache_new(0);
	p.st = stitcher_new(pc, to_sinks, &p);
	if (!pc || !p.st) {
		err = -ENOMEM;
		goto cleanup;
	}
	stitcher_set_busy_cb(p.st, busy_to_sinks, &p);
	/* name the files open before the capture: CMD inherits our stdio */
	pathcache_seed_pid(pc, 0);
	for (int i = 0; i < o->npids; i++)
		pathcache_seed_pid(pc, o->pids[i]);
	if (o->cmd) {
		cmd_pid = spawn_stopped(o->cmd, o->user);
		if (cmd_pid < 0) {
			err = -ECHILD;
			goto cleanup;
		}
	}
	lo.filter_pids = o->npids > 0 || o->cmd;
	if (lo.want_packets && cmd_pid > 0)
		lo.pkt_cgroup_pid = cmd_pid;
	lo.on_record = on_ring_record;
	lo.ctx = &p;
	err = loader_open(&l, &lo);
	if (err)
		goto cleanup;
	for (int i = 0; i < o->npids; i++)
		if ((err = loader_trace_pid(l, o->pids[i])))
			goto cleanup;
	if (cmd_pid > 0 && (err = loader_trace_pid(l, cmd_pid)))
		goto cleanup;
	if (lo.want_packets && !o->cmd)
		seed_socket_owners(l, o);
	/* -Z: what USER will not be able to do is found out before the
	 * output exists */
	if (o->drop_to && (err = privdrop_check(o->drop_to, loader_drops_fd(l))))
		goto cleanup;
	/* the capture starts: only now does the output replace -o FILE */
	if (o->out_file && (err = outfile_commit(o->out_file))) {
		output_error(o, err);
		p.error = err;
		goto cleanup;
	}
	/* everything is attached and the output open: root is no longer
	 * needed (stopped already: stay root to kill CMD below). Dropped
	 * before the line that says the capture runs, which is what scripts
	 * wait for: from then on, /proc shows the user -Z named. */
	if (o->drop_to && !stop_signal_caught() && (err = privdrop_now(o->drop_to)))
		goto cleanup;
	if (!o->quiet)
		fprintf(stderr, "zcap: capturing (%s)%s\n", loader_hooks(l),
			o->cmd ? "" : ", Ctrl-C to stop");
	/* stopped while setting up: CMD never starts (it is killed below) */
	if (cmd_pid > 0 && !stop_signal_caught()) {
		spawn_resume(cmd_pid);
		res->cmd_ran = true;
	}

	start = last_check = last_flush = mono_now_s();
	while (!stop_signal_caught() && !p.done && !p.error) {
		int n;

		p.yield_s = 0.1;
		p.yield_at = 0;
		n = loader_poll(l, 100);

		if (n < 0) {
			zcap_err("ring buffer: %s", strerror(-n));
			err = n;
			break;
		}
		if (tick_stops(o, &p))
			break;
		if (cmd_pid > 0 && !res->cmd_exited && reap(cmd_pid, res)) {
			res->cmd_exited = true;
			if (!o->wait_all)
				break;
		}
		/* wait_all: until the last descendant (a daemon too) has exited */
		if (res->cmd_exited) {
			reap(-1, res);
			if (loader_traced_alive(l) == 0)
				break;
		}
		if (mono_now_s() - last_flush >= 0.1) {
			last_flush = mono_now_s();
			flush_sinks(&p);
		}
		if (mono_now_s() - last_check >= 1.0) {
			last_check = mono_now_s();
			report_drops(l, &p, &last_drops);
			if (o->status)
				show_status(p.stats, last_check - start);
		}
		if (o->duration > 0 && mono_now_s() - start >= o->duration)
			break;
		if (output_closed(o)) {
			p.error = -EPIPE;
			break;
		}
	}
	/* CMD's connections end after CMD: its FIN and last ACKs */
	if (o->linger > 0 && res->cmd_exited) {
		double until = mono_now_s() + o->linger;

		while (!stop_signal_caught() && !p.done && !p.error && mono_now_s() < until) {
			p.yield_s = 0.05;
			p.yield_at = 0;
			if (loader_poll(l, 50) < 0 || tick_stops(o, &p))
				break;
		}
	}
	/* whatever the kernel wrote before we stopped is still delivered */
	if (!p.error) {
		p.draining = true;
		p.drain_until_ns = (uint64_t)(mono_now_s() * 1e9);
		loader_drain(l);
	}
	stitcher_flush(p.st);
	res->stats.incomplete = stitcher_incomplete(p.st);
	res->stats.iov_limited = stitcher_iov_limited(p.st);
	report_drops(l, &p, &last_drops);
	if (o->pkt_lost)
		loader_pkt_lost(l, o->pkt_lost, o->hook_ctx);
	if (p.error && p.error != -EPIPE) {
		output_error(o, p.error);
		err = p.error;
	}
	res->error = p.error;
	res->stop_signal = stop_signal_caught();
	/* the reader left: like a pipeline member killed by SIGPIPE */
	if (p.error == -EPIPE && !res->stop_signal)
		res->stop_signal = SIGPIPE;

cleanup:
	for (int i = 0; i < nsinks; i++) {
		int rc = sinks[i]->ops->finish(sinks[i], &res->stats);

		if (rc && !err && rc != -EPIPE && rc != p.error) {
			output_error(o, rc);
			err = rc;
		}
	}
	/* the last counts, as the summary has them */
	if (o->status && l) {
		show_status(&res->stats, mono_now_s() - start);
		status_end(true);
	}
	if (!o->quiet && l)
		print_summary(&res->stats);
	if (zcap_verbose && l)
		print_fd_details(l);
	loader_close(l);
	stitcher_free(p.st);
	pathcache_free(pc);
	if (cmd_pid > 0 && !res->cmd_ran) {
		kill(cmd_pid, SIGKILL);
		waitpid(cmd_pid, NULL, 0);
	}
	if (!res->error)
		res->error = err;
	return err;
}

int capture_exit_code(const struct capture_opts *o, const struct capture_result *res)
{
	if (res->error && res->error != -EPIPE)
		return ZCAP_EXIT_FAIL;
	if (o->cmd && res->cmd_exited)
		return exit_code_of(res->cmd_status);
	/* stopped before CMD ended: CMD keeps running; like a shell, report
	 * the signal that ended us */
	if (o->cmd && res->stop_signal)
		return 128 + res->stop_signal;
	return ZCAP_EXIT_OK;
}
