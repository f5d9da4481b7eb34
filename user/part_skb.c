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
#include <linux/filter.h>

#include "bpf_part.h"
#include "cbpf_ebpf.h"
#include "cgroups.h"
#include "skb.skel.h"
#include "skb_bounded.skel.h"
#include "util.h"


struct skb_part {
	struct skb_bpf *skel;
	int cg_fd;		 /* where the programs attach */
	char mnt[PATH_MAX];	 /* the cgroup2 mount */
	char child[PATH_MAX];	 /* the child cgroup we made for CMD, "" if none */
	int reaper_fd;		 /* write end of the reaper's pipe, -1 if none */
	/* A filter expression (loader_opts.pkt_filter), per direction: its
	 * translation is what attaches, and on a match it tail-calls the
	 * capture program through a one-entry program array. */
	const struct sock_filter *filter;
	unsigned int filter_len;
	struct filter_dir {
		int array_fd, prog_fd, link_fd;
	} dirs[2]; /* egress, ingress */
};

static const enum bpf_attach_type dir_attach[2] = { BPF_CGROUP_INET_EGRESS,
						    BPF_CGROUP_INET_INGRESS };

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
	for (int d = 0; d < 2; d++)
		p->dirs[d].array_fd = p->dirs[d].prog_fd = p->dirs[d].link_fd = -1;
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
	int err;

	p->filter = o->pkt_filter;
	p->filter_len = o->pkt_filter_len;
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

/* The filter's program for one direction, in front of `capture`. */
static int load_filter(struct skb_part *p, int d, struct bpf_program *capture)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = dir_attach[d]);
	struct filter_dir *fd = &p->dirs[d];
	struct bpf_insn *insns = NULL;
	unsigned int n;
	static char log[1 << 16];
	__u32 key = 0;
	int cap_fd = bpf_program__fd(capture), err;

	fd->array_fd = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "zcap_filter", sizeof(__u32),
				      sizeof(__u32), 1, NULL);
	if (fd->array_fd < 0) {
		err = -errno;
		zcap_err("cannot create the filter's program array: %s", strerror(-err));
		return err;
	}
	err = cbpf_to_ebpf(p->filter, p->filter_len, fd->array_fd, &insns, &n);
	if (err) {
		zcap_err("cannot translate the filter expression for the kernel: %s",
			 strerror(-err));
		return err;
	}
	if (zcap_verbose) {
		*log = 0;
		opts.log_buf = log;
		opts.log_size = sizeof(log);
		opts.log_level = 1;
	}
	fd->prog_fd = bpf_prog_load(BPF_PROG_TYPE_CGROUP_SKB, d ? "zcap_filter_in" : "zcap_filter_out",
				    "Dual BSD/GPL", insns, n, &opts);
	err = fd->prog_fd < 0 ? -errno : 0;
	free(insns);
	if (err) {
		if (zcap_verbose)
			fprintf(stderr, "%s", log);
		zcap_err("cannot load the filter expression's BPF program: %s (run with -v for the "
			 "verifier log)",
			 strerror(-err));
		return err;
	}
	if (bpf_map_update_elem(fd->array_fd, &key, &cap_fd, BPF_ANY)) {
		err = -errno;
		zcap_err("cannot chain the filter to %s: %s", bpf_program__name(capture),
			 strerror(-err));
	}
	return err;
}

static int skb_load(void *skel)
{
	struct skb_part *p = skel;
	int err = skb_bpf__load(p->skel);

	if (!err && p->filter)
		err = load_filter(p, 0, p->skel->progs.skb_egress);
	if (!err && p->filter)
		err = load_filter(p, 1, p->skel->progs.skb_ingress);
	return err;
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

static int attach_filters(struct skb_part *p)
{
	for (int d = 0; d < 2; d++) {
		p->dirs[d].link_fd = bpf_link_create(p->dirs[d].prog_fd, p->cg_fd, dir_attach[d], NULL);
		if (p->dirs[d].link_fd < 0) {
			int err = -errno;

			zcap_err("cannot attach the filter expression's program to the cgroup: %s "
				 "(`zcap doctor` checks the kernel)",
				 strerror(-err));
			return err;
		}
	}
	return 0;
}

static int skb_attach(void *skel, const struct loader_opts *o)
{
	struct skb_part *p = skel;
	int err;

	if (p->filter)
		return attach_filters(p);
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
	for (int d = 0; d < 2; d++) {
		if (p->dirs[d].link_fd >= 0)
			close(p->dirs[d].link_fd);
		if (p->dirs[d].prog_fd >= 0)
			close(p->dirs[d].prog_fd);
		if (p->dirs[d].array_fd >= 0)
			close(p->dirs[d].array_fd);
	}
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
