// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The owners of sockets older than the capture, into sock_owner (sockseed.h). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <bpf/bpf.h>

#include "cgroups.h"
#include "sockseed.h"

static const uint8_t v4_mapped[12] = { [10] = 0xff, [11] = 0xff };
static const uint8_t any_addr[16];

/* As sock_key_addr() in kern/common.bpf.h. */
static void key_addr(uint8_t out[ZCAP_ADDR_LEN], uint8_t family, const uint8_t in[16])
{
	memset(out, 0, ZCAP_ADDR_LEN);
	if (family == AF_INET) {
		if (memcmp(in, any_addr, 4)) {
			memcpy(out, v4_mapped, sizeof(v4_mapped));
			memcpy(out + 12, in, 4);
		}
	} else if (memcmp(in, v4_mapped, sizeof(v4_mapped)) || memcmp(in + 12, any_addr, 4)) {
		memcpy(out, in, ZCAP_ADDR_LEN); /* ::ffff:0.0.0.0 is the any address */
	}
}

void sockseed_key(const struct sockscan_sock *s, struct zcap_sock_key *k)
{
	memset(k, 0, sizeof(*k));
	k->proto = s->proto;
	k->lport = s->lport;
	k->rport = s->rport;
	key_addr(k->laddr, s->family, s->laddr);
	key_addr(k->raddr, s->family, s->raddr);
}

struct seed_entry {
	struct zcap_sock_key key;
	struct zcap_sock_owner owner;
};

struct seed {
	const struct sockseed_filter *f;
	struct seed_entry *e;
	size_t n, cap;
	int err;
};

/* The capture's process filters, as task_wanted() in kern/common.bpf.h
 * applies them (which compares whole comms, ZCAP_COMM_LEN - 1 bytes). */
static bool wanted_process(void *ctx, pid_t pid, const char *comm)
{
	const struct sockseed_filter *f = ((struct seed *)ctx)->f;
	const struct loader_opts *lo = f->lo;
	bool listed = !f->npids, named = !lo->ncomms;

	for (int i = 0; i < f->npids && !listed; i++)
		listed = f->pids[i] == pid;
	for (int i = 0; i < lo->ncomms && !named; i++)
		named = !strncmp(comm, lo->comms[i], ZCAP_COMM_LEN - 1);
	return pid != f->self && listed && named &&
	       (!lo->filter_cgroup || cgroup_pid_in(pid, lo->cgroup_id, lo->cgroup_level));
}

static bool port_wanted(const struct loader_opts *lo, uint16_t port)
{
	return lo->port_set[port >> 3] & (1u << (port & 7));
}

static void add_socket(void *ctx, const struct sockscan_owner *o, const struct sockscan_sock *s)
{
	struct seed *sd = ctx;
	const struct loader_opts *lo = sd->f->lo;
	struct seed_entry *e;

	/* the kernel names no socket without a local port either */
	if (sd->err || !s->lport)
		return;
	/* A listener several processes hold is a pre-fork server's (nginx's
	 * master and workers): the lowest pid, the master, accepts nothing.
	 * Left unnamed, its handshakes are named by the accept that follows
	 * (a record; the kernel names the accepted socket itself). */
	if (s->proto == IPPROTO_TCP && s->state == TCP_LISTEN && o->holders > 1)
		return;
	if (lo->filter_port && !port_wanted(lo, s->lport) && !port_wanted(lo, s->rport))
		return;
	if (sd->n == sd->cap) {
		size_t want = sd->cap ? sd->cap * 2 : 256;
		void *p = reallocarray(sd->e, want, sizeof(*sd->e));

		if (!p) {
			sd->err = -ENOMEM;
			return;
		}
		sd->e = p;
		sd->cap = want;
	}
	e = &sd->e[sd->n++];
	memset(e, 0, sizeof(*e));
	sockseed_key(s, &e->key);
	e->owner.pid = (uint32_t)o->pid;
	e->owner.tid = (uint32_t)o->tid;
	e->owner.fd = o->fd;
	memcpy(e->owner.comm, o->comm, sizeof(e->owner.comm));
	e->owner.comm[sizeof(e->owner.comm) - 1] = 0;
}

/* By key, then pid and fd: of the sockets with one key (SO_REUSEPORT
 * listeners of several workers) the lowest pid's comes first. */
static int entry_order(const void *a, const void *b)
{
	const struct seed_entry *x = a, *y = b;
	int c = memcmp(&x->key, &y->key, sizeof(x->key));

	if (c)
		return c;
	if (x->owner.pid != y->owner.pid)
		return x->owner.pid < y->owner.pid ? -1 : 1;
	return (x->owner.fd > y->owner.fd) - (x->owner.fd < y->owner.fd);
}

int sockseed_fill(int map_fd, const struct sockseed_filter *f, struct sockseed_result *res)
{
	struct seed sd = { .f = f };
	int err;

	memset(res, 0, sizeof(*res));
	if (map_fd < 0)
		return -EBADF;
	err = sockscan_run("/proc", wanted_process, add_socket, &sd);
	if (!err)
		err = sd.err;
	if (err)
		goto cleanup;
	if (sd.n)
		qsort(sd.e, sd.n, sizeof(*sd.e), entry_order);
	for (size_t i = 0; i < sd.n; i++) {
		if (i && !memcmp(&sd.e[i].key, &sd.e[i - 1].key, sizeof(sd.e[i].key)))
			continue;
		if (!bpf_map_update_elem(map_fd, &sd.e[i].key, &sd.e[i].owner, BPF_NOEXIST))
			res->named++;
		else if (errno == EEXIST)
			res->kernel++;
		else {
			err = -errno;
			break;
		}
	}
cleanup:
	free(sd.e);
	return err;
}
