// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpf_part.h"
#include "kbtf.h"
#include "loader.h"
#include "names.h"
#include "sysnr.h"
#include "tracefs.h"
#include "util.h"

#define BTF_SYSFS "/sys/kernel/btf/vmlinux"

#define SLOTS_PER_CPU 2 /* kern/common.bpf.h */
#define MAX_PARTS     8

/* Maps every part defines (kern/common.bpf.h); made one across parts. */
static const char *const shared_maps[] = { "events",	 "drops",	"traced_pids",
					   "scratch",	 "inflight",	"sys_of_nr",
					   "enter_progs", "exit_progs", "trunc_ino",
					   "comm_filter", "sock_owner", "inflight_pending",
					   "fd_details", "fd_details_stats", "fd_details_on" };

/* The parts, in load order; the first creates the shared maps. */
static const struct bpf_part *const all_parts[] = {
	&part_syscalls,
	&part_fs,
	&part_zerocopy,
	&part_skb,
};

struct loader {
	const struct bpf_part *parts[MAX_PARTS];
	void *skels[MAX_PARTS];
	int nparts;
	struct bpf_object *first;
	struct ring_buffer *rb;
	int ncpus;
	char hooks[256];
	char disabled[256];
	bool behind; /* the last poll stopped before the ring was empty */
};

static int libbpf_verbose;

/* The program libbpf named in its last warning ("prog 'NAME': ..."): the
 * one that failed, when a load fails. */
static char failed_prog[128];

static void note_failed_prog(const char *fmt, va_list ap)
{
	char line[512];
	const char *p;

	vsnprintf(line, sizeof(line), fmt, ap);
	p = strstr(line, "prog '");
	if (p)
		sscanf(p + 6, "%127[^']", failed_prog);
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN) {
		va_list copy;

		va_copy(copy, ap);
		note_failed_prog(fmt, copy);
		va_end(copy);
	}
	if (!libbpf_verbose || (level == LIBBPF_DEBUG && libbpf_verbose < 2))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void loader_setup_libbpf(int verbose)
{
	libbpf_verbose = verbose;
	libbpf_set_print(print_libbpf);
}

const char *zcap_btf_path(void)
{
	const char *p = getenv("ZCAP_BTF_PATH");

	return p && *p ? p : NULL;
}

const struct bpf_object_open_opts *part_open_opts(void)
{
	static struct bpf_object_open_opts opts = { .sz = sizeof(opts) };

	opts.btf_custom_path = zcap_btf_path();
	return &opts;
}

bool part_bpf_loop(void)
{
	static int have = -1;
	const char *force = getenv("ZCAP_TEST_BOUNDED_LOOPS");

	if (have < 0)
		/* the kernel's BTF has the helper's implementation iff it has
		 * the helper (a probe load would do too, but its log buffer
		 * makes valgrind runs noisy) */
		have = !(force && !strcmp(force, "1")) && kbtf_has_func("bpf_loop");
	return have;
}

void *part_open_skel(size_t size, int (*create)(void *obj),
		     const void *(*bounded)(size_t *sz), void (*destroy)(void *obj))
{
	void *obj = calloc(1, size);
	struct bpf_object_skeleton *s;
	int err;

	if (!obj) {
		errno = ENOMEM;
		return NULL;
	}
	err = create(obj);
	if (!err) {
		/* every generated skeleton starts with its bpf_object_skeleton */
		s = *(struct bpf_object_skeleton **)obj;
		if (!part_bpf_loop())
			s->data = (void *)bounded(&s->data_sz);
		err = bpf_object__open_skeleton(s, part_open_opts());
	}
	if (err) {
		destroy(obj);
		errno = -err;
		return NULL;
	}
	return obj;
}

int loader_preflight(void)
{
	const char *path = zcap_btf_path();
	struct btf *btf;

	/* libbpf looks beyond sysfs (/boot/vmlinux-*): ask it only then */
	if (path || access(BTF_SYSFS, R_OK)) {
		btf = path ? btf__parse(path, NULL) : btf__load_vmlinux_btf();
		if (!btf && path && !access(path, F_OK)) {
			zcap_err("'%s' (ZCAP_BTF_PATH) is not a valid BTF file", path);
			return -EINVAL;
		}
		if (!btf) {
			zcap_err("no kernel BTF%s%s: zcap needs a kernel built with "
				 "CONFIG_DEBUG_INFO_BTF=y (`zcap doctor` checks the kernel)",
				 path ? " at " : "", path ? path : "");
			return -ENOENT;
		}
		btf__free(btf);
	}
	return tracefs_ensure(NULL);
}

static uint64_t round_pow2(uint64_t v)
{
	uint64_t p = 4096;

	while (p < v)
		p <<= 1;
	return p;
}

static void set_config(struct zcap_config *cfg, const struct loader_opts *o)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->self_pid = getpid();
	cfg->snaplen = o->snaplen;
	cfg->want_payload = o->want_payload;
	cfg->filter_pids = o->filter_pids;
	cfg->filter_comm = o->ncomms > 0;
	cfg->filter_port = o->filter_port;
	if (o->filter_port)
		memcpy(cfg->port_set, o->port_set, sizeof(cfg->port_set));
	cfg->fd_kinds = o->fd_kinds;
	cfg->ifindex = o->ifindex;
	cfg->bodies_ok = 1;
	cfg->filter_cgroup = o->filter_cgroup;
	/* 5.10 refuses the ancestor helper to raw tracepoints: read it */
	cfg->cgroup_walk = o->filter_cgroup &&
			   libbpf_probe_bpf_helper(BPF_PROG_TYPE_RAW_TRACEPOINT,
						   BPF_FUNC_get_current_ancestor_cgroup_id, NULL) != 1;
	cfg->cgroup_id = o->cgroup_id;
	cfg->cgroup_level = o->cgroup_level;
	cfg->pkt_owners = o->want_packets;
}

static struct bpf_map *map_of(struct bpf_object *obj, const char *name)
{
	return bpf_object__find_map_by_name(obj, name);
}

/* Maps with an entry per thread in a call (LRU: a task that dies inside a
 * call leaks its entry) or per traced process (removed at exit): sized by
 * --map-entries. When full, new entries fail and are counted (map_full). */
static const char *const sized_maps[] = { "traced_pids", "inflight", "trunc_ino", "zc_sends" };

static void size_maps(struct bpf_object *obj, const struct loader_opts *o)
{
	for (size_t i = 0; o->map_entries && i < sizeof(sized_maps) / sizeof(sized_maps[0]); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, sized_maps[i]);

		if (m)
			bpf_map__set_max_entries(m, o->map_entries);
	}
}

/* Size the shared maps (first part) or point them at the first part's. */
static int share_maps(struct loader *l, struct bpf_object *obj, const struct loader_opts *o)
{
	for (size_t i = 0; i < sizeof(shared_maps) / sizeof(shared_maps[0]); i++) {
		struct bpf_map *m = map_of(obj, shared_maps[i]);
		int err;

		if (!m)
			continue;
		if (!l->first) {
			if (!strcmp(shared_maps[i], "events"))
				bpf_map__set_max_entries(m, round_pow2(o->ringbuf_bytes));
			else if (!strcmp(shared_maps[i], "scratch"))
				bpf_map__set_max_entries(m, l->ncpus * SLOTS_PER_CPU);
			continue;
		}
		err = bpf_map__reuse_fd(m, bpf_map__fd(map_of(l->first, shared_maps[i])));
		if (err) {
			zcap_err("cannot share map %s: %s", shared_maps[i], strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Program arrays and the syscall-number map from every part's
 * sc_enter__NAME / sc_exit__NAME programs (kern/common.bpf.h). */
struct dispatch {
	uint32_t flags[ZCAP_SYS_MAX]; /* 1: exit program, ZCAP_NR_ENTER: enter program */
	int sys_of_nr_fd;
	int err;
};

const char *part_prog_syscall(const char *prog, bool *enter)
{
	*enter = !strncmp(prog, "sc_enter__", 10);
	if (*enter)
		return prog + 10;
	return strncmp(prog, "sc_exit__", 9) ? NULL : prog + 9;
}

static int register_program(struct loader *l, struct dispatch *d, struct bpf_program *prog)
{
	const char *name = bpf_program__name(prog), *call;
	bool enter;
	int sc, key, fd;

	call = part_prog_syscall(name, &enter);
	if (!call)
		return 0;
	sc = syscall_by_name(call);
	if (sc <= 0) {
		zcap_err("BPF program %s names no known syscall", name);
		return -EINVAL;
	}
	key = sc;
	fd = bpf_program__fd(prog);
	if (bpf_map__update_elem(map_of(l->first, enter ? "enter_progs" : "exit_progs"), &key,
				 sizeof(key), &fd, sizeof(fd), BPF_ANY)) {
		zcap_err("cannot register %s: %s", name, strerror(errno));
		return -errno;
	}
	d->flags[sc] |= enter ? ZCAP_NR_ENTER : 1;
	return 0;
}

static void map_nr(int nr, int sc, void *ctx)
{
	struct dispatch *d = ctx;
	uint32_t key = nr, val;

	if (!d->flags[sc] || nr < 0 || d->err)
		return;
	val = sc | (d->flags[sc] & ZCAP_NR_ENTER);
	if (bpf_map_update_elem(d->sys_of_nr_fd, &key, &val, BPF_ANY))
		d->err = -errno;
}

static int fill_dispatch(struct loader *l)
{
	struct dispatch d = { .sys_of_nr_fd = bpf_map__fd(map_of(l->first, "sys_of_nr")) };
	struct bpf_program *prog;
	int err;

	for (int i = 0; i < l->nparts; i++) {
		bpf_object__for_each_program(prog, l->parts[i]->object(l->skels[i])) {
			if (!bpf_program__autoload(prog))
				continue;
			err = register_program(l, &d, prog);
			if (err)
				return err;
		}
	}
	sysnr_for_each(map_nr, &d);
	if (d.err)
		zcap_err("cannot fill the syscall map: %s", strerror(-d.err));
	return d.err;
}

/* --comm names, as the kernel's comm_filter map keys them. */
static int fill_comm_filter(struct loader *l, const struct loader_opts *o)
{
	struct bpf_map *m = l->first ? map_of(l->first, "comm_filter") : NULL;
	__u8 one = 1;

	for (int i = 0; m && i < o->ncomms; i++) {
		struct zcap_comm_key key = {};

		strncpy(key.comm, o->comms[i], sizeof(key.comm) - 1);
		if (bpf_map__update_elem(m, &key, sizeof(key), &one, sizeof(one), BPF_ANY)) {
			zcap_err("cannot fill the --comm map: %s", strerror(errno));
			return -errno;
		}
	}
	return 0;
}

#define MAX_DISABLED 8

/* Test only: $ZCAP_TEST_BREAK_PROG names a program that must fail to load,
 * as one needing something this kernel lacks would (a program type whose
 * context and helpers it cannot use makes the verifier refuse it). */
static void test_break_program(struct bpf_object *obj)
{
	const char *name = getenv("ZCAP_TEST_BREAK_PROG");
	struct bpf_program *prog = name ? bpf_object__find_program_by_name(obj, name) : NULL;

	if (prog && bpf_program__autoload(prog))
		bpf_program__set_type(prog, BPF_PROG_TYPE_SOCKET_FILTER);
}

static void disable_programs(struct bpf_object *obj, char *const names[], int n)
{
	for (int i = 0; i < n; i++) {
		struct bpf_program *prog = bpf_object__find_program_by_name(obj, names[i]);

		if (prog)
			bpf_program__set_autoload(prog, false);
	}
}

/* Open, prepare and load one part, its programs in disabled[] left out. */
static int load_part(struct loader *l, const struct bpf_part *p, const struct loader_opts *o,
		     char *const disabled[], int ndisabled, char *desc, size_t desclen,
		     bool *at_load)
{
	void *skel = p->open();
	int err;

	if (!skel) {
		err = -errno;
		zcap_err("cannot open the %s BPF object: %s", p->name, strerror(-err));
		return err;
	}
	l->parts[l->nparts] = p;
	l->skels[l->nparts++] = skel;
	set_config(p->config(skel), o);
	size_maps(p->object(skel), o);
	err = share_maps(l, p->object(skel), o);
	/* before prepare too, so its hook description leaves them out */
	disable_programs(p->object(skel), disabled, ndisabled);
	if (!err && p->prepare)
		err = p->prepare(skel, o, desc, desclen);
	if (err)
		return err;
	disable_programs(p->object(skel), disabled, ndisabled);
	test_break_program(p->object(skel));
	failed_prog[0] = 0;
	*at_load = true;
	return p->load(skel);
}

/*
 * Load a part. When an optional program of it does not load on this
 * kernel (a missing function, field or tracepoint), that program's feature
 * is disabled with one line and the part is loaded again without it;
 * any other failure is fatal.
 */
static int open_part(struct loader *l, const struct bpf_part *p, const struct loader_opts *o)
{
	char *disabled[MAX_DISABLED];
	int ndisabled = 0, err;
	char desc[128];

	for (;;) {
		const char *feature = NULL;
		bool at_load = false;

		desc[0] = 0;
		err = load_part(l, p, o, disabled, ndisabled, desc, sizeof(desc), &at_load);
		if (!err || !at_load)
			break; /* loaded, or failed before the load (message printed) */
		if (failed_prog[0] && p->optional && ndisabled < MAX_DISABLED)
			feature = p->optional(failed_prog);
		if (!feature || !(disabled[ndisabled] = strdup(failed_prog))) {
			zcap_err("cannot load the %s BPF programs: %s (run with -v for the verifier "
				 "log; `zcap doctor` checks the kernel)",
				 p->name, strerror(-err));
			break;
		}
		if (!o->quiet_optional)
			zcap_warn("%s disabled: its BPF program %s does not load on this kernel "
				  "(%s); everything else is captured",
				  feature, disabled[ndisabled], strerror(-err));
		snprintf(l->disabled + strlen(l->disabled), sizeof(l->disabled) - strlen(l->disabled),
			 "%s%s (%s: %s)", *l->disabled ? "; " : "", feature, disabled[ndisabled],
			 strerror(-err));
		ndisabled++;
		p->destroy(l->skels[--l->nparts]);
	}
	for (int i = 0; i < ndisabled; i++)
		free(disabled[i]);
	if (err)
		return err;
	if (!l->first)
		l->first = p->object(l->skels[l->nparts - 1]);
	if (*desc)
		snprintf(l->hooks + strlen(l->hooks), sizeof(l->hooks) - strlen(l->hooks), "%s%s",
			 *l->hooks ? ", " : "", desc);
	return 0;
}

int loader_open(struct loader **out, const struct loader_opts *o)
{
	struct loader *l;
	int err;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->ncpus = libbpf_num_possible_cpus();
	if (l->ncpus <= 0) {
		err = l->ncpus ? l->ncpus : -EINVAL;
		zcap_err("cannot count CPUs: %s", strerror(-err));
		goto fail;
	}
	for (size_t i = 0; i < sizeof(all_parts) / sizeof(all_parts[0]); i++) {
		if (all_parts[i]->wanted && !all_parts[i]->wanted(o))
			continue;
		err = open_part(l, all_parts[i], o);
		if (err)
			goto fail;
	}
	/* the dispatch and filter maps are complete before any program runs */
	err = fill_comm_filter(l, o);
	if (!err)
		err = fill_dispatch(l);
	if (err)
		goto fail;
	for (int i = 0; i < l->nparts; i++) {
		err = l->parts[i]->attach(l->skels[i], o);
		if (err)
			goto fail;
	}
	for (int i = 0; i < l->nparts; i++) {
		if (!l->parts[i]->started)
			continue;
		err = l->parts[i]->started(l->skels[i], o);
		if (err)
			goto fail;
	}
	l->rb = ring_buffer__new(bpf_map__fd(map_of(l->first, "events")), o->on_record, o->ctx,
				 NULL);
	if (!l->rb) {
		err = -errno;
		zcap_err("cannot set up the ring buffer: %s", strerror(-err));
		goto fail;
	}
	*out = l;
	return 0;
fail:
	loader_close(l);
	return err;
}

int loader_trace_pid(struct loader *l, pid_t pid)
{
	__u32 key = pid;
	__u8 one = 1;

	if (bpf_map__update_elem(map_of(l->first, "traced_pids"), &key, sizeof(key), &one,
				 sizeof(one), BPF_ANY))
		return -errno;
	return 0;
}

int loader_traced_alive(struct loader *l)
{
	struct bpf_map *m = map_of(l->first, "traced_pids");
	__u32 key, next;
	int n = 0;
	bool first = true;

	/* exits remove their pid in the kernel; kill(0) guards against an
	 * entry whose exit raced the map's creation */
	while (!bpf_map__get_next_key(m, first ? NULL : &key, &next, sizeof(next))) {
		first = false;
		key = next;
		if (kill((pid_t)key, 0) == 0 || errno == EPERM)
			n++;
	}
	return n;
}

int loader_poll(struct loader *l, int timeout_ms)
{
	int n;

	/* BPF wakes us only when the waiting data reaches a batch
	 * (ringbuf_wakeup_flag): while we are behind, no record wakes us, so
	 * keep draining instead of sleeping */
	if (l->behind)
		n = ring_buffer__consume(l->rb);
	else
		n = ring_buffer__poll(l->rb, timeout_ms);
	/* on a timeout, take what is there so a quiet capture is still
	 * delivered promptly */
	if (n == 0)
		n = ring_buffer__consume(l->rb);
	/* -EINTR: the consumer handed control back mid-ring (capture.c) */
	l->behind = n == -EINTR;
	return n == -EINTR ? 0 : n;
}

int loader_drain(struct loader *l)
{
	return ring_buffer__consume(l->rb);
}

/* out[k] = slot k of a per-CPU array of counters, summed over the CPUs;
 * zeros where the map is missing or unreadable. */
static void sum_percpu(const struct loader *l, const struct bpf_map *m, uint64_t *out, __u32 n)
{
	uint64_t *vals = calloc(l->ncpus, sizeof(*vals));

	memset(out, 0, sizeof(uint64_t) * n);
	for (__u32 k = 0; m && vals && k < n; k++) {
		if (bpf_map__lookup_elem(m, &k, sizeof(k), vals, sizeof(*vals) * l->ncpus, 0))
			continue;
		for (int c = 0; c < l->ncpus; c++)
			out[k] += vals[c];
	}
	free(vals);
}

void loader_drops(const struct loader *l, uint64_t out[ZCAP_DROP_MAX])
{
	sum_percpu(l, map_of(l->first, "drops"), out, ZCAP_DROP_MAX);
}

void loader_fd_details(const struct loader *l, uint64_t out[ZCAP_FDD_MAX])
{
	const struct bpf_map *m = NULL;

	for (int i = 0; i < l->nparts && !m; i++)
		m = map_of(l->parts[i]->object(l->skels[i]), "fd_details_stats");
	sum_percpu(l, m, out, ZCAP_FDD_MAX);
}

int loader_drops_fd(const struct loader *l)
{
	return bpf_map__fd(map_of(l->first, "drops"));
}

void loader_pkt_lost(const struct loader *l, loader_pkt_lost_fn fn, void *ctx)
{
	for (int i = 0; i < l->nparts; i++)
		if (l->parts[i]->pkt_lost)
			l->parts[i]->pkt_lost(l->skels[i], fn, ctx);
}

int loader_sock_owner_fd(const struct loader *l)
{
	struct bpf_map *m = l->first ? map_of(l->first, "sock_owner") : NULL;

	return m ? bpf_map__fd(m) : -1;
}

const char *loader_disabled(const struct loader *l)
{
	return l->disabled;
}

const char *loader_hooks(const struct loader *l)
{
	return l->hooks;
}

void loader_close(struct loader *l)
{
	if (!l)
		return;
	ring_buffer__free(l->rb);
	/* later parts reuse the first one's maps: destroy them first */
	for (int i = l->nparts - 1; i >= 0; i--)
		l->parts[i]->destroy(l->skels[i]);
	free(l);
}
