// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The packet part (kern/skb.bpf.c): cgroup_skb ingress/egress programs,
 * attached at the cgroup2 root (system-wide) or, for `-- CMD`, at a child
 * cgroup CMD is moved into before it runs: every socket CMD's processes
 * create carries that cgroup, so their handshakes and kernel-sent ACKs are
 * captured, and nothing else is. Loaded only when loader_opts.want_packets.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "bpf_part.h"
#include "cgroups.h"
#include "skb.skel.h"
#include "skb_bounded.skel.h"
#include "util.h"

#define SLOTS_PER_CPU 2 /* kern/common.bpf.h */

struct skb_part {
	struct skb_bpf *skel;
	int cg_fd;		 /* where the programs attach */
	char mnt[PATH_MAX];	 /* the cgroup2 mount */
	char child[PATH_MAX];	 /* the child cgroup we made for CMD, "" if none */
	int reaper_fd;		 /* write end of the reaper's pipe, -1 if none */
};

PART_SKEL_OPENER(skb)

static bool skb_wanted(const struct loader_opts *o)
{
	return o->want_packets;
}

static void *skb_open(void)
{
	struct skb_part *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->cg_fd = -1;
	p->reaper_fd = -1;
	p->skel = skb_open_skel();
	if (!p->skel) {
		int err = errno;

		free(p);
		errno = err;
		return NULL;
	}
	return p;
}

static struct bpf_object *skb_object(void *skel)
{
	return ((struct skb_part *)skel)->skel->obj;
}

static struct zcap_config *skb_config(void *skel)
{
	return (struct zcap_config *)&((struct skb_part *)skel)->skel->rodata->cfg;
}

static int write_pid(const char *dir, pid_t pid)
{
	char path[PATH_MAX + 32], buf[32];
	int fd, n, err = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	if (write(fd, buf, n) != n)
		err = -errno;
	close(fd);
	return err;
}

static void remove_child_cgroup(struct skb_part *p);

/*
 * zcap killed with SIGKILL cannot remove its child cgroup: a forked
 * process does it then. It holds nothing of zcap's (no BPF fds, no output,
 * not the terminal's process group) and waits for EOF on a pipe whose
 * write end only zcap holds; after a normal exit it finds nothing to do.
 */
static void start_cgroup_reaper(struct skb_part *p)
{
	int fds[2], null;
	char c;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return; /* only the kill -9 case loses: not worth failing for */
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (pid > 0) {
		close(fds[0]);
		p->reaper_fd = fds[1];
		return;
	}
	setsid();
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
	}
	close_range(STDERR_FILENO + 1, fds[0] - 1, 0);
	close_range(fds[0] + 1, ~0U, 0);
	while (read(fds[0], &c, 1) < 0 && errno == EINTR)
		;
	remove_child_cgroup(p);
	_exit(0);
}

/* A child cgroup of the cgroup2 root, with CMD (still stopped) in it. */
static int make_child_cgroup(struct skb_part *p, pid_t pid)
{
	int err;

	if (snprintf(p->child, sizeof(p->child), "%s/zcap-%d", p->mnt, (int)getpid()) >=
	    (int)sizeof(p->child)) {
		*p->child = 0;
		zcap_err("cgroup2 mount path too long: %s", p->mnt);
		return -ENAMETOOLONG;
	}
	if (mkdir(p->child, 0755) && errno != EEXIST) {
		err = -errno;
		zcap_err("cannot create cgroup %s: %s", p->child, strerror(-err));
		*p->child = 0;
		return err;
	}
	start_cgroup_reaper(p);
	err = write_pid(p->child, pid);
	if (err)
		zcap_err("cannot move pid %d into cgroup %s: %s", (int)pid, p->child,
			 strerror(-err));
	return err;
}

static int skb_prepare(void *skel, const struct loader_opts *o, char *desc, size_t len)
{
	struct skb_part *p = skel;
	int ncpus = libbpf_num_possible_cpus(), err;

	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	bpf_map__set_max_entries(p->skel->maps.pkt_slots, ncpus * SLOTS_PER_CPU);
	err = cgroup2_mount(p->mnt, sizeof(p->mnt));
	if (err) {
		zcap_err("packet capture needs cgroup2 mounted (none in /proc/mounts; "
			 "`mount -t cgroup2 none /sys/fs/cgroup/unified`)");
		return err;
	}
	if (o->pkt_cgroup_pid > 0) {
		err = make_child_cgroup(p, o->pkt_cgroup_pid);
		if (err)
			return err;
	}
	p->cg_fd = open(*p->child ? p->child : p->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->cg_fd < 0) {
		err = -errno;
		zcap_err("cannot open cgroup %s: %s", *p->child ? p->child : p->mnt,
			 strerror(-err));
		return err;
	}
	snprintf(desc, len, "cgroup_skb ingress/egress at %s", *p->child ? p->child : p->mnt);
	return 0;
}

static int skb_load(void *skel)
{
	return skb_bpf__load(((struct skb_part *)skel)->skel);
}

static int attach_one(struct bpf_program *prog, int cg_fd, struct bpf_link **link)
{
	*link = bpf_program__attach_cgroup(prog, cg_fd);
	if (!*link) {
		int err = -errno;

		zcap_err("cannot attach %s to the cgroup: %s (`zcap doctor` checks the kernel)",
			 bpf_program__name(prog), strerror(-err));
		return err;
	}
	return 0;
}

static int skb_attach(void *skel, const struct loader_opts *o)
{
	struct skb_part *p = skel;
	int err;

	err = attach_one(p->skel->progs.skb_egress, p->cg_fd, &p->skel->links.skb_egress);
	if (!err)
		err = attach_one(p->skel->progs.skb_ingress, p->cg_fd, &p->skel->links.skb_ingress);
	return err;
}

/* zcap's own cgroup2 path ("0::/x/y" in /proc/self/cgroup), below mnt. */
static void own_cgroup(const char *mnt, char *out, size_t len)
{
	FILE *f = fopen("/proc/self/cgroup", "r");
	char line[PATH_MAX];

	snprintf(out, len, "%s", mnt);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = 0;
		if (snprintf(out, len, "%s%s", mnt, strcmp(line + 3, "/") ? line + 3 : "") >=
		    (int)len)
			snprintf(out, len, "%s", mnt);
		break;
	}
	fclose(f);
}

/* Processes CMD left running go back to zcap's cgroup; then the child
 * cgroup can go (sockets that still point at it keep it alive inside). */
static void remove_child_cgroup(struct skb_part *p)
{
	char procs[PATH_MAX + 16], back[PATH_MAX];
	FILE *f;
	int pid;

	own_cgroup(p->mnt, back, sizeof(back));
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", p->child);
	for (int round = 0; round < 10; round++) {
		if (!rmdir(p->child) || errno == ENOENT)
			return;
		/* -Z dropped root: the reaper, still root, removes it once we
		 * are gone (start_cgroup_reaper) */
		if (errno == EACCES || errno == EPERM)
			return;
		f = fopen(procs, "r");
		if (!f)
			break;
		while (fscanf(f, "%d", &pid) == 1)
			write_pid(back, pid);
		fclose(f);
		usleep(10000); /* exiting tasks leave the cgroup a moment later */
	}
	zcap_warn("cannot remove cgroup %s: %s", p->child, strerror(errno));
}

static void skb_destroy(void *skel)
{
	struct skb_part *p = skel;

	if (!p)
		return;
	skb_bpf__destroy(p->skel);
	if (p->cg_fd >= 0)
		close(p->cg_fd);
	if (*p->child)
		remove_child_cgroup(p);
	if (p->reaper_fd >= 0)
		close(p->reaper_fd);
	free(p);
}

/* The per-interface loss counters (kern/skb.bpf.c pkt_lost). */
static void skb_lost(void *skel, loader_pkt_lost_fn fn, void *ctx)
{
	struct skb_part *p = skel;
	int fd = bpf_map__fd(p->skel->maps.pkt_lost);
	__u32 key, next;
	__u64 lost;
	bool first = true;

	while (!bpf_map_get_next_key(fd, first ? NULL : &key, &next)) {
		first = false;
		key = next;
		if (!bpf_map_lookup_elem(fd, &key, &lost) && lost)
			fn(ctx, key, lost);
	}
}

const struct bpf_part part_skb = {
	.name = "skb",
	.wanted = skb_wanted,
	.open = skb_open,
	.object = skb_object,
	.config = skb_config,
	.prepare = skb_prepare,
	.load = skb_load,
	.attach = skb_attach,
	.destroy = skb_destroy,
	.pkt_lost = skb_lost,
};
