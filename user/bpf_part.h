/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A BPF "part": one kern/NAME.bpf.c object with its skeleton, seen by the
 * loader through this table. Parts share the maps every object defines
 * through kern/common.bpf.h (events, drops, traced_pids, scratch,
 * inflight): the first part loaded creates them, the others reuse them.
 */
#ifndef ZCAP_BPF_PART_H
#define ZCAP_BPF_PART_H

#include <stdbool.h>
#include <bpf/libbpf.h>

#include "loader.h"

struct bpf_part {
	const char *name;
	/* Is this part wanted for these options? (NULL: always) */
	bool (*wanted)(const struct loader_opts *o);
	void *(*open)(void);
	struct bpf_object *(*object)(void *skel);
	struct zcap_config *(*config)(void *skel);
	/* After open, before load: choose programs/hooks; 0 or -errno with a
	 * message printed. Writes a short hook description into desc. */
	int (*prepare)(void *skel, const struct loader_opts *o, char *desc, size_t desclen);
	int (*load)(void *skel);
	/* Attach; 0 or -errno with a message printed. */
	int (*attach)(void *skel, const struct loader_opts *o);
	/* After attach (e.g. a self-test); may adjust settings. */
	int (*started)(void *skel, const struct loader_opts *o);
	void (*destroy)(void *skel);
	/* The feature program PROG serves when it is optional (the part works
	 * without it), else NULL: a program that fails to load on this kernel
	 * then disables only that feature. (NULL: every program is required) */
	const char *(*optional)(const char *prog);
	/* Packets lost per interface (NULL: the part captures none). */
	void (*pkt_lost)(void *skel, loader_pkt_lost_fn fn, void *ctx);
};

extern const struct bpf_part part_syscalls;
extern const struct bpf_part part_fs;
extern const struct bpf_part part_zerocopy;
extern const struct bpf_part part_skb;

/* Which io_uring_complete program the lineage part loads on this kernel:
 * the tracepoint's prototype changed in 6.3 from (ctx, req, user_data, res,
 * ...) to (ctx, req, cqe); kernels before 5.x-something pass no request. */
enum { URING_NONE, URING_CQE, URING_RES };
int part_fs_uring_variant(void);

/* Does this kernel have bpf_loop (5.17+)? Else every object is opened from
 * its bounded-loop build (kern/common.bpf.h). $ZCAP_TEST_BOUNDED_LOOPS=1
 * forces the bounded builds (tests). Probed once. */
bool part_bpf_loop(void);

/* Open a skeleton (calloc'd object of size, filled by create) from its own
 * ELF, or from bounded()'s ELF where the kernel has no bpf_loop: both are
 * builds of the same source, with the same maps, programs and globals. */
void *part_open_skel(size_t size, int (*create)(void *obj),
		     const void *(*bounded)(size_t *sz), void (*destroy)(void *obj));

/* NAME_open_skel(): NAME's skeleton, opened as part_open_skel does (needs
 * NAME.skel.h and NAME_bounded.skel.h). */
#define PART_SKEL_OPENER(name)                                                                     \
	static int name##_create_obj(void *obj)                                                    \
	{                                                                                          \
		return name##_bpf__create_skeleton(obj);                                           \
	}                                                                                          \
	static void name##_destroy_obj(void *obj)                                                  \
	{                                                                                          \
		name##_bpf__destroy(obj);                                                          \
	}                                                                                          \
	static inline struct name##_bpf *name##_open_skel(void)                                    \
	{                                                                                          \
		return part_open_skel(sizeof(struct name##_bpf), name##_create_obj,                \
				      name##_bounded_bpf__elf_bytes, name##_destroy_obj);          \
	}

/* The syscall a dispatch program serves (its name sc_enter__NAME or
 * sc_exit__NAME, kern/common.bpf.h): NAME, and whether it is the enter
 * program; NULL for any other program. */
const char *part_prog_syscall(const char *prog, bool *enter);

/* Options every part's skeleton opens with (the BTF of zcap_btf_path()). */
const struct bpf_object_open_opts *part_open_opts(void);

/* Disable tracepoint programs whose tracepoint this kernel lacks. */
void part_skip_missing_tracepoints(struct bpf_object *obj);

/* Packet output runs its syscall programs from the syscalls' own
 * tracepoints where the kernel has them (kern/common.bpf.h: ZCAP_TP_PAIR),
 * else from the raw sys_enter/sys_exit dispatch, as everything else does.
 * $ZCAP_TEST_RAW_DISPATCH=1 keeps the raw dispatch (tests of it). */
bool part_pkt_tracepoints(const struct loader_opts *o);
/* Leave the dispatch not chosen out of a part's object. */
void part_choose_dispatch(struct bpf_object *obj, const struct loader_opts *o);

#endif
