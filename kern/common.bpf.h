/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * BPF-side helpers shared by zcap's programs: the maps every object shares
 * (the loader makes them one with bpf_map__reuse_fd), task filtering, the
 * per-CPU scratch slots events are built in, fd inspection and path walks.
 */
#ifndef ZCAP_COMMON_BPF_H
#define ZCAP_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "zcap_abi.h"

/* uapi constants that are macros, hence not in vmlinux.h */
#define S_IFMT	 00170000
#define S_IFSOCK 0140000
#define S_IFREG	 0100000
#define S_IFDIR	 0040000
#define S_IFCHR	 0020000
#define S_IFIFO	 0010000
#define AF_UNIX	 1
#define AF_INET	 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define FMODE_CREATED 0x100000

#define PATH_DEPTH_MAX 32 /* components per path (power of two) */
#define NAME_MAX_BPF   256
/* Event data starts here in a slot; every fixed part is smaller. */
#define ZCAP_SCRATCH_HDR 512

/* State of a payload walk over user buffers. It lives in the scratch slot
 * (map memory) rather than on the stack: the verifier does not track map
 * values precisely, so bpf_loop callbacks converge instead of being
 * explored once per distinct counter value. */
struct walk {
	__u32 iov_idx;
	__u32 iov_cnt;
	__u8 last_flags; /* extra flags for the LAST chunk (TRUNC, IOV_LIMIT) */
	__u8 done;	 /* LAST chunk sent */
	__u16 _pad;
	__u32 _pad2;
	__u64 iov;	/* user pointer to struct iovec[], 0 for one buffer */
	__u64 seg_base; /* current user segment */
	__u64 seg_left;
	__u64 left; /* bytes still to capture */
	__u64 off;  /* offset of the next byte within the call's transfer */
};

/* State of a path walk (file_path), in map memory for the same reason. */
struct pathwalk {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	char *out;
	__u32 depth;
	__u32 off;
	__s32 fail;
	__u32 base; /* where in buf the path goes (after the event's fixed part) */
};

/* One scratch slot: an event under construction (fixed part + up to one
 * chunk of data), plus room for path walking. */
struct scratch_slot {
	__u64 busy; /* taken by a program run on this CPU (preemption guard) */
	__u32 key;  /* own index, for loop steps to look the slot up */
	__u32 mmsg_n; /* sendmmsg/recvmmsg: messages to walk, at mmsg_vec */
	__u64 mmsg_vec;
	struct walk walk;
	struct pathwalk pw;
	__u8 buf[ZCAP_SCRATCH_HDR + ZCAP_CHUNK + ZCAP_PATH_MAX + NAME_MAX_BPF];
	const unsigned char *comps[PATH_DEPTH_MAX];
};
#define SLOTS_PER_CPU 2

const volatile struct zcap_config cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24); /* resized by the loader (-B) */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ZCAP_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* tgids to trace when cfg.filter_pids; children are added on fork. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} traced_pids SEC(".maps");

/* --comm: the names wanted (cfg.filter_comm); filled by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ZCAP_MAX_COMMS);
	__type(key, struct zcap_comm_key);
	__type(value, __u8);
} comm_filter SEC(".maps");

/* SLOTS_PER_CPU entries per possible CPU; the loader sets max_entries. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct scratch_slot);
} scratch SEC(".maps");

/* A syscall between its enter and exit tracepoints, keyed by tid. LRU:
 * an entry leaks when a task dies inside a call. Shared with the send-path
 * object, which attributes page-backed bodies to the call in flight. */
struct inflight {
	__u64 args[6];
	__u64 call_id;
	__u64 ts_ns;
	__u16 sc;      /* enum zcap_syscall */
	__u16 counted; /* still in its bucket's inflight_pending count */
	__u16 _pad[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct inflight);
} inflight SEC(".maps");

/*
 * Calls saved and not yet seen by sys_exit, per bucket of tids (tid &
 * (ZCAP_PENDING_BUCKETS - 1)). sys_exit runs for every syscall on the
 * machine; most are no call of ours, and an array lookup (inlined) tells
 * it so where the inflight hash lookup costs as much again as an empty
 * hook. Counts, not flags: threads share buckets. save_args counts an
 * entry in and marks it counted; sys_exit counts it out the first time it
 * finds it. An entry the LRU evicts (or one saved over) leaves its count
 * behind, which only costs its bucket the hash lookup; a count is never
 * short, so no call of ours is skipped.
 */
#define ZCAP_PENDING_BUCKETS (1 << 16)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ZCAP_PENDING_BUCKETS);
	__type(key, __u32);
	__type(value, __u32);
} inflight_pending SEC(".maps");

static __always_inline __u32 *pending_bucket(__u32 tid)
{
	__u32 bucket = tid & (ZCAP_PENDING_BUCKETS - 1);

	return bpf_map_lookup_elem(&inflight_pending, &bucket);
}

/*
 * Syscall dispatch. Two raw tracepoints (sys_enter, sys_exit, in
 * kern/syscalls.bpf.c) serve every captured syscall: attaching ~70
 * per-syscall tracepoints costs an RCU grace period each on detach
 * (seconds in all), two cost next to nothing. sys_of_nr maps the
 * architecture's syscall number to zcap's (plus ZCAP_NR_ENTER when the call
 * has its own enter program); the loader fills it and the program arrays
 * from the programs named sc_enter__NAME / sc_exit__NAME in every part.
 */
/* libbpf 1.1 has no PT_REGS_PARM6_CORE_SYSCALL */
#if defined(__TARGET_ARCH_x86)
#define SYSCALL_ARG6(r)	     BPF_CORE_READ((r), r9)
#define SYSCALL_ARG6_BTF(r) ((r)->r9)
#elif defined(__TARGET_ARCH_arm64)
#define SYSCALL_ARG6(r)	     BPF_CORE_READ((r), regs[5])
#define SYSCALL_ARG6_BTF(r) ((r)->regs[5])
#else
#define SYSCALL_ARG6(r)	     0
#define SYSCALL_ARG6_BTF(r) 0
#endif

/*
 * save_args' registers and argument n (1-6) from them. The bounded build
 * (kernels before 5.17) reads the raw tracepoint's pt_regs with a
 * bpf_probe_read_kernel call per argument; elsewhere bpf_task_pt_regs
 * (5.15+) gives the same registers (the task's saved user ones)
 * BTF-typed, and an argument is a plain load.
 */
#ifdef ZCAP_BOUNDED_LOOPS
#define enter_regs(ctx)	 ((struct pt_regs *)(ctx)->args[0])
#define ENTER_PARM(n, r) PT_REGS_PARM##n##_CORE_SYSCALL(r)
#define ENTER_PARM6(r)	 SYSCALL_ARG6(r)
#else
#define enter_regs(ctx)	 ((struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf()))
#define ENTER_PARM(n, r) PT_REGS_PARM##n##_SYSCALL(r)
#define ENTER_PARM6(r)	 SYSCALL_ARG6_BTF(r)
#endif

#define ZCAP_NR_MAX 1024

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ZCAP_NR_MAX);
	__type(key, __u32);
	__type(value, __u32);
} sys_of_nr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, ZCAP_SYS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} enter_progs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, ZCAP_SYS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} exit_progs SEC(".maps");

/* A syscall's own enter/exit program, reached by tail call; ctx is the
 * raw tracepoint's: args[0] = struct pt_regs *, args[1] = nr (enter) or
 * return value (exit). */
#define ZCAP_SYSCALL_ENTER(name) \
	SEC("raw_tp") int sc_enter__##name(struct bpf_raw_tracepoint_args *ctx)
#define ZCAP_SYSCALL_EXIT(name) \
	SEC("raw_tp") int sc_exit__##name(struct bpf_raw_tracepoint_args *ctx)

/*
 * Packet output runs its few syscall programs from those syscalls' own
 * tracepoints (syscalls:sys_enter_NAME / sys_exit_NAME) when the kernel has
 * them: the raw sys_enter/sys_exit pair costs every syscall on the machine
 * its programs' run, while a syscall tracepoint costs the calls it does not
 * select next to nothing (docs/performance.md). The programs are the same:
 * the tracepoint's arguments are handed to them as the raw tracepoint's
 * context (registers at entry, the return value at exit). The loader picks
 * one dispatch or the other (user/part_syscalls.c).
 */
struct zcap_tp_enter {
	__u64 common;
	long nr;
	unsigned long args[6];
};

struct zcap_tp_exit {
	__u64 common;
	long nr;
	long ret;
};

/* The tracepoint's arguments where the syscall's registers would be. A
 * syscall tracepoint's record holds only the call's nargs arguments, and a
 * program reading past them is refused at attach (EACCES). */
static __always_inline void tp_regs(struct pt_regs *r, const struct zcap_tp_enter *t,
				    const int nargs)
{
	__u64 a[6] = {};

	for (int i = 0; i < 6; i++)
		if (i < nargs)
			a[i] = t->args[i];
#if defined(__TARGET_ARCH_x86)
	r->di = a[0];
	r->si = a[1];
	r->dx = a[2];
	r->r10 = a[3];
	r->r8 = a[4];
	r->r9 = a[5];
#elif defined(__TARGET_ARCH_arm64)
	r->orig_x0 = a[0];
	for (int i = 0; i < 6; i++)
		r->regs[i] = a[i];
#else
#error "tp_regs: no syscall register layout for this architecture"
#endif
}

/* --port: the I/O calls and close name their fd first; on an fd that
 * cannot match (fd_may_match_port), saving the arguments is all the work
 * there would be. */
static __always_inline bool port_checks_call(__u16 sc)
{
	return cfg.filter_port && (sc <= ZCAP_SYS_RECVMMSG || sc == ZCAP_SYS_CLOSE);
}

/* A syscall's two tracepoint programs, running ENTER and EXIT (expressions
 * of the raw context ctx) for the zcap syscall SC of NARGS arguments. */
#define ZCAP_TP_PAIR(tp, SC, NARGS, ENTER, EXIT)                                    \
	SEC("tracepoint/syscalls/sys_enter_" #tp)                                   \
	int tp_enter__##tp(struct zcap_tp_enter *tp_ctx)                            \
	{                                                                           \
		struct pt_regs regs = {};                                           \
		__u64 raw[2];                                                       \
		struct bpf_raw_tracepoint_args *ctx = (void *)raw;                  \
                                                                                    \
		if (!want_current() ||                                              \
		    (port_checks_call(SC) && !fd_may_match_port(tp_ctx->args[0])))  \
			return 0;                                                   \
		tp_regs(&regs, tp_ctx, NARGS);                                      \
		raw[0] = (__u64)&regs;                                              \
		raw[1] = tp_ctx->nr;                                                \
		return ENTER;                                                       \
	}                                                                           \
	SEC("tracepoint/syscalls/sys_exit_" #tp)                                    \
	int tp_exit__##tp(struct zcap_tp_exit *tp_ctx)                              \
	{                                                                           \
		__u64 raw[2] = { 0, tp_ctx->ret };                                  \
		struct bpf_raw_tracepoint_args *ctx = (void *)raw;                  \
                                                                                    \
		return EXIT;                                                        \
	}

/* Unique id per captured call; shared by all records of that call: a
 * per-CPU sequence number with the CPU in bits 40-51 (no atomic
 * fetch-and-add, which kernels before 5.12 refuse; exact in JSON). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} call_seq SEC(".maps");

/* One more in slot of a per-CPU array of counters. */
static __always_inline void count_in(void *counters, __u32 slot)
{
	__u64 *c = bpf_map_lookup_elem(counters, &slot);

	if (c)
		*c += 1;
}

static __always_inline void count_drop(__u32 cause)
{
	count_in(&drops, cause);
}

static __always_inline __u64 next_call_id(void)
{
	__u32 zero = 0;
	__u64 *seq = bpf_map_lookup_elem(&call_seq, &zero);

	if (!seq)
		return 0;
	/* programs do not migrate between CPUs while they run */
	*seq += 1;
	return ((__u64)(bpf_get_smp_processor_id() & 0xfff) + 1) << 40 | (*seq & ((1ULL << 40) - 1));
}

/*
 * Loops. With bpf_loop (5.17+) a step callback runs up to n times. For
 * kernels without it the same sources are built with -DZCAP_BOUNDED_LOOPS
 * (the loader picks that build, user/bpf_part.h): each step is then also a
 * global function, verified once on its own, called from a bounded loop
 * of at most ZCAP_LOOP_MAX turns; a walk that needs more is cut there and
 * flagged (truncated) like one cut by the snaplen. A step takes (turn,
 * pointer to its scratch slot's key), keeps its state in map memory, and
 * returns 1 to stop.
 */
#ifdef ZCAP_BOUNDED_LOOPS
#define ZCAP_LOOP_MAX ZCAP_BOUNDED_TURNS
/* The loop itself is a global function too: the verifier walks its turns
 * once per program, not once per call site (an exit program has a dozen),
 * which is what makes loading slow on old verifiers. */
#define ZCAP_LOOP_STEP(name)                                                                       \
	static long name(__u32 i, __u32 *slot_key);                                                \
	__noinline long name##__turn(__u32 i, __u32 key)                                           \
	{                                                                                          \
		/* the turn is read even by steps that ignore it: clang would     \
		 * otherwise not pass it, and the verifier wants a scalar */      \
		asm volatile("" ::"r"(i), "r"(key));                                               \
		return name(i, &key);                                                              \
	}                                                                                          \
	__noinline long name##__loop(__u64 n, __u32 key)                                           \
	{                                                                                          \
		for (__u32 i = 0; i < ZCAP_LOOP_MAX && i < n; i++)                                 \
			if (name##__turn(i, key))                                                  \
				break;                                                             \
		return 0;                                                                          \
	}
#define zcap_loop(n, name, keyp) name##__loop((n), *(keyp))
#else
#define ZCAP_LOOP_MAX (1 << 23)
#define ZCAP_LOOP_STEP(name) static long name(__u32 i, __u32 *slot_key);
#define zcap_loop(n, name, keyp) bpf_loop((n), name, (keyp), 0)
#endif

/* Save the call's arguments for its exit program. */
static __always_inline int save_args(struct bpf_raw_tracepoint_args *ctx, __u16 sc)
{
	struct pt_regs *regs = enter_regs(ctx);
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct inflight in = {};
	__u32 *pending;

	in.sc = sc;
	in.call_id = next_call_id();
	in.ts_ns = bpf_ktime_get_ns();
	in.args[0] = ENTER_PARM(1, regs);
	in.args[1] = ENTER_PARM(2, regs);
	in.args[2] = ENTER_PARM(3, regs);
	in.args[3] = ENTER_PARM(4, regs);
	in.args[4] = ENTER_PARM(5, regs);
	in.args[5] = ENTER_PARM6(regs);
	in.counted = 1;
	if (bpf_map_update_elem(&inflight, &tid, &in, BPF_ANY)) {
		count_drop(ZCAP_DROP_MAPFULL);
		return 0;
	}
	pending = pending_bucket(tid);
	if (pending)
		__sync_fetch_and_add(pending, 1);
	return 0;
}

/* Argument n of the syscall being entered (enter programs): one
 * bpf_probe_read_kernel, cheaper than the two helper calls that would
 * make the registers BTF-typed. */
static __always_inline __u64 enter_arg(struct bpf_raw_tracepoint_args *ctx, int n)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];

	switch (n) {
	case 0:
		return PT_REGS_PARM1_CORE_SYSCALL(regs);
	case 1:
		return PT_REGS_PARM2_CORE_SYSCALL(regs);
	case 2:
		return PT_REGS_PARM3_CORE_SYSCALL(regs);
	default:
		return PT_REGS_PARM4_CORE_SYSCALL(regs);
	}
}

/* The exit's return value and the saved call (removed from the map);
 * false when the call was not ours. */
static __always_inline bool take_inflight(__u16 sc, struct inflight *out)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct inflight *in = bpf_map_lookup_elem(&inflight, &tid);

	if (!in)
		return false;
	if (in->sc != sc) {
		bpf_map_delete_elem(&inflight, &tid);
		return false;
	}
	__builtin_memcpy(out, in, sizeof(*out));
	bpf_map_delete_elem(&inflight, &tid);
	return true;
}

/* One lookup however many --comm names were given. */
static __always_inline bool comm_matches(void)
{
	struct zcap_comm_key key;

	/* the helper writes up to the NUL only on some kernels (strscpy on
	 * 6.1; strncpy on 5.10 pads): zero the rest, as the map's keys are */
	__builtin_memset(&key, 0, sizeof(key));
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	return bpf_map_lookup_elem(&comm_filter, &key) != NULL;
}

/* struct cgroup before 6.1: the ids of its ancestors, by level */
struct cgroup___ancestor_ids {
	int level;
	__u64 ancestor_ids[];
} __attribute__((preserve_access_index));

/* The id of the current task's cgroup v2 ancestor at --cgroup's level (0
 * when it is not that deep): by the helper, or where raw tracepoints may
 * not call it (5.10; the loader probes, cfg.cgroup_walk) from the cgroup's
 * own ancestor_ids[]. */
static __always_inline __u64 current_ancestor_cgroup(void)
{
	struct cgroup___ancestor_ids *cg = NULL;
	struct task_struct *task;
	__u32 level = cfg.cgroup_level;
	__u64 id = 0;

	if (!cfg.cgroup_walk)
		return bpf_get_current_ancestor_cgroup_id(level);
	if (!bpf_core_field_exists(cg->ancestor_ids))
		return 0;
	task = (void *)bpf_get_current_task();
	cg = (void *)BPF_CORE_READ(task, cgroups, dfl_cgrp);
	if (!cg || BPF_CORE_READ(cg, level) < (int)level || level > 1023)
		return 0;
	bpf_probe_read_kernel(&id, sizeof(id),
			      (char *)cg + bpf_core_field_offset(cg->ancestor_ids) +
				      level * sizeof(__u64));
	return id;
}

/* Is the current task one we capture? (port filtering happens later,
 * once the fd is known.) */
static __always_inline bool want_current(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (tgid == cfg.self_pid)
		return false;
	if (cfg.filter_pids && !bpf_map_lookup_elem(&traced_pids, &tgid))
		return false;
	if (cfg.filter_comm && !comm_matches())
		return false;
	/* --cgroup: the task's ancestor at the filter's depth is that cgroup
	 * (the cgroup itself or one below it): one helper call, no map */
	if (cfg.filter_cgroup && current_ancestor_cgroup() != cfg.cgroup_id)
		return false;
	return true;
}

/* Is port one of --port's? */
static __always_inline bool port_selected(__u16 port)
{
	__u32 i = port;

	/* the verifier of 5.10 loses a byte-swapped port's bounds (a packet's
	 * port through bpf_ntohs): mask it where it can see the mask */
	asm volatile("%0 &= 0xffff" : "+r"(i));
	return cfg.port_set[i >> 3] & (1u << (i & 7));
}

/* Are records of this fd shown (--fd-kinds, --port)? */
static __always_inline bool fd_wanted(const struct zcap_fdinfo *f)
{
	if (cfg.fd_kinds && !(cfg.fd_kinds & (1u << (f->kind & 15))))
		return false;
	if (!cfg.filter_port)
		return true;
	if (f->kind != ZCAP_FD_TCP && f->kind != ZCAP_FD_UDP)
		return false;
	return port_selected(f->lport) || port_selected(f->rport);
}

/* Packet output: the owner of each inet socket by its ends (struct
 * zcap_sock_key), for the cgroup_skb programs (kern/skb.bpf.c). LRU: a
 * socket's entry stays after close (its last packets, TIME-WAIT) until
 * the next socket with those ends replaces it or the map is full. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct zcap_sock_key);
	__type(value, struct zcap_sock_owner);
} sock_owner SEC(".maps");

/* A socket address as the 16 bytes of struct zcap_sock_key. */
static __always_inline void sock_key_addr(__u8 out[ZCAP_ADDR_LEN], __u8 family,
					  const __u8 in[ZCAP_ADDR_LEN])
{
	__u32 w[4];

	__builtin_memcpy(w, in, sizeof(w));
	if (family == AF_INET) {
		w[2] = w[0] ? bpf_htonl(0xffff) : 0;
		w[3] = w[0];
		w[0] = w[1] = 0;
	} else if (!w[0] && !w[1] && w[2] == bpf_htonl(0xffff) && !w[3]) {
		w[2] = 0; /* ::ffff:0.0.0.0, any address */
	}
	__builtin_memcpy(out, w, sizeof(w));
}

/* Packet output: the current task owns this socket (fd in its table).
 * With BPF_NOEXIST only when nothing named it yet. True when written. */
static __always_inline bool sock_owner_note_flags(const struct zcap_fdinfo *f, int fd,
						  __u64 flags)
{
	struct zcap_sock_owner o = { .fd = fd };
	struct zcap_sock_key k = {};
	__u64 pid_tgid;

	if (f->kind == ZCAP_FD_TCP)
		k.proto = IPPROTO_TCP;
	else if (f->kind == ZCAP_FD_UDP)
		k.proto = IPPROTO_UDP;
	else
		return false;
	if (!f->lport)
		return false; /* not bound yet: no packet can carry it */
	k.lport = f->lport;
	k.rport = f->rport;
	sock_key_addr(k.laddr, f->family, f->laddr);
	sock_key_addr(k.raddr, f->family, f->raddr);
	pid_tgid = bpf_get_current_pid_tgid();
	o.pid = pid_tgid >> 32;
	o.tid = (__u32)pid_tgid;
	if (flags == BPF_NOEXIST && bpf_map_lookup_elem(&sock_owner, &k))
		return false; /* named already: the common case, and a lookup is cheap */
	bpf_get_current_comm(o.comm, sizeof(o.comm));
	return bpf_map_update_elem(&sock_owner, &k, &o, flags) == 0;
}

static __always_inline void sock_owner_note(const struct zcap_fdinfo *f, int fd)
{
	sock_owner_note_flags(f, fd, BPF_ANY);
}

/* The same for a socket no call named yet (its fd unknown: -1). */
static __always_inline void sock_owner_note_new(const struct zcap_fdinfo *f)
{
	sock_owner_note_flags(f, -1, BPF_NOEXIST);
}

/* Process records (fork, exec, exit): not with --port or --fd-kinds,
 * which ask for the records of some fds only. */
static __always_inline bool proc_wanted(void)
{
	return !cfg.filter_port && !cfg.fd_kinds && want_current();
}

/*
 * Take a per-CPU slot's busy flag. Only program runs on the same CPU meet
 * at a slot: nested ones (a kprobe in a helper, an interrupt) end before
 * the one they interrupted resumes, and a preempted one is what the
 * compare-and-swap guards against. The build for kernels before 5.17 has
 * no cmpxchg (5.12+): a plain test-and-set there, exact for nesting, and
 * for preemption too on the non-preemptible kernels those usually are.
 */
static __always_inline bool slot_take(__u64 *busy)
{
#ifdef ZCAP_BOUNDED_LOOPS
	if (*busy)
		return false;
	*busy = 1;
	asm volatile("" ::: "memory"); /* taken before the slot is written */
	return true;
#else
	return __sync_val_compare_and_swap(busy, 0, 1) == 0;
#endif
}

/* Take a free scratch slot of this CPU; NULL when both are busy, which
 * only happens when a preempted program run still holds one. */
static __always_inline struct scratch_slot *slot_get(void)
{
	__u32 base = bpf_get_smp_processor_id() * SLOTS_PER_CPU;

	for (__u32 k = 0; k < SLOTS_PER_CPU; k++) {
		__u32 key = base + k;
		struct scratch_slot *s = bpf_map_lookup_elem(&scratch, &key);

		if (s && slot_take(&s->busy)) {
			s->key = key;
			return s;
		}
	}
	count_drop(ZCAP_DROP_MAPFULL);
	return NULL;
}

static __always_inline void slot_put(struct scratch_slot *s)
{
	s->busy = 0;
}

static __always_inline void fill_hdr(struct zcap_hdr *h, __u16 type, __u16 hdr_len)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	h->type = type;
	h->hdr_len = hdr_len;
	h->data_len = 0;
	h->ts_ns = bpf_ktime_get_ns();
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
	h->cgroup_id = bpf_get_current_cgroup_id();
}

/*
 * Wake the consumer once per batch, not per event: a wakeup is an irq_work
 * and an IPI (a VM exit in guests) and costs more than the event
 * (docs/performance.md). Only the record that makes the waiting data reach
 * a batch wakes it; once awake the consumer drains the ring before it
 * sleeps again (user/loader.c loader_poll), so records that find it behind
 * need no wakeup of their own. It also drains when its poll times out
 * (100 ms), which bounds the delay of a quiet capture and of a crossing
 * two CPUs missed together.
 */
#define ZCAP_WAKEUP_BATCH (256 * 1024)

static __always_inline __u64 ringbuf_wakeup_flag(__u64 size)
{
	__u64 batch = bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 8;
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	if (batch > ZCAP_WAKEUP_BATCH)
		batch = ZCAP_WAKEUP_BATCH;
	return avail < batch && avail + size >= batch ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline void submit_flags(const void *ev, __u64 size, __u64 flags)
{
	if (size > ZCAP_SCRATCH_HDR + ZCAP_CHUNK + ZCAP_PATH_MAX)
		return;
	if (bpf_ringbuf_output(&events, (void *)ev, size, flags))
		count_drop(ZCAP_DROP_RINGBUF);
}

/* Send hdr_len + data_len bytes of a slot; counts a drop when full. */
static __always_inline void submit(const void *ev, __u64 size)
{
	submit_flags(ev, size, ringbuf_wakeup_flag(size));
}

/* The same, waking the consumer now: for rare events it waits for (a
 * traced process exiting ends `-- CMD` runs). */
static __always_inline void submit_now(const void *ev, __u64 size)
{
	submit_flags(ev, size, BPF_RB_FORCE_WAKEUP);
}

static __always_inline struct file *fd_to_file(struct task_struct *task, int fd)
{
	struct file **fds;
	struct file *file = NULL;
	unsigned int max_fds;

	if (fd < 0)
		return NULL;
	max_fds = BPF_CORE_READ(task, files, fdt, max_fds);
	if ((unsigned int)fd >= max_fds)
		return NULL;
	fds = BPF_CORE_READ(task, files, fdt, fd);
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	return file;
}

/* Ports and addresses of an inet socket; fi->family is set. */
static __always_inline void fill_inet_addrs(struct zcap_fdinfo *fi, struct sock *sk)
{
	fi->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	fi->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (fi->family == AF_INET) {
		/* the cast sizes the read: 4 bytes, not one array element */
		BPF_CORE_READ_INTO((__be32 *)fi->laddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__be32 *)fi->raddr, sk, __sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO((struct in6_addr *)fi->laddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO((struct in6_addr *)fi->raddr, sk, __sk_common.skc_v6_daddr);
	}
}

static __always_inline void fill_sock_info(struct zcap_fdinfo *fi, struct file *file)
{
	struct socket *sock = BPF_CORE_READ(file, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	__u16 proto;

	if (!sk) {
		fi->kind = ZCAP_FD_SOCK_OTHER;
		return;
	}
	fi->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	fi->sock_type = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_type);
	proto = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
	if (fi->family == AF_INET || fi->family == AF_INET6) {
		if (proto == IPPROTO_TCP)
			fi->kind = ZCAP_FD_TCP;
		else if (proto == IPPROTO_UDP)
			fi->kind = ZCAP_FD_UDP;
		else
			fi->kind = ZCAP_FD_SOCK_OTHER;
		fill_inet_addrs(fi, sk);
	} else if (fi->family == AF_UNIX) {
		struct unix_sock *us = (void *)sk;
		struct sock *peer = BPF_CORE_READ(us, peer);

		fi->kind = ZCAP_FD_UNIX;
		if (peer)
			fi->peer_ino = BPF_CORE_READ(peer, sk_socket, file, f_inode, i_ino);
	} else {
		fi->kind = ZCAP_FD_SOCK_OTHER;
	}
}

/* Describe what a struct file is: kind, identity, socket addresses. */
static __always_inline void fill_file_info(struct zcap_fdinfo *fi, struct file *file)
{
	struct inode *inode;
	__u32 mode;

	__builtin_memset(fi, 0, sizeof(*fi));
	if (!file)
		return;
	inode = BPF_CORE_READ(file, f_inode);
	mode = BPF_CORE_READ(inode, i_mode);
	fi->ino = BPF_CORE_READ(inode, i_ino);
	fi->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	fi->flags = BPF_CORE_READ(file, f_flags);
	switch (mode & S_IFMT) {
	case S_IFREG:
		fi->kind = ZCAP_FD_FILE;
		break;
	case S_IFDIR:
		fi->kind = ZCAP_FD_DIR;
		break;
	case S_IFIFO:
		fi->kind = ZCAP_FD_PIPE;
		break;
	case S_IFCHR:
		fi->kind = ZCAP_FD_CHR;
		break;
	case S_IFSOCK:
		fill_sock_info(fi, file);
		return;
	default:
		fi->kind = ZCAP_FD_OTHER;
	}
	/* d_unlinked(), the test d_path() (so /proc/PID/fd) uses for
	 * " (deleted)": an unhashed dentry that is not a root. Pipes and
	 * anonymous inodes have pseudo dentries that are their own root. */
	{
		struct dentry *d = BPF_CORE_READ(file, f_path.dentry);

		if (!BPF_CORE_READ(d, d_hash.pprev) && BPF_CORE_READ(d, d_parent) != d)
			fi->fi_flags |= ZCAP_FI_DELETED;
	}
}

static __always_inline struct file *fill_fd_info(struct zcap_fdinfo *fi, int fd)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct file *file = fd_to_file(task, fd);

	fill_file_info(fi, file);
	return file;
}

/*
 * The current task's file at fd, for sys_enter, which runs for every
 * syscall on the machine. Where bpf_get_current_task_btf exists (5.11+,
 * so in every build but the bounded one) the task's fields are plain
 * loads (a fault reads 0), not a bpf_probe_read_kernel call each.
 */
static __always_inline struct file *current_fd_file(int fd)
{
#ifdef ZCAP_BOUNDED_LOOPS
	return fd_to_file((void *)bpf_get_current_task(), fd);
#else
	struct fdtable *fdt = bpf_get_current_task_btf()->files->fdt;
	struct file **fds;
	struct file *file = NULL;

	if (fd < 0 || (unsigned int)fd >= fdt->max_fds)
		return NULL;
	/* a pointer to pointers is a number to the verifier: read by helper */
	fds = fdt->fd;
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	return file;
#endif
}

/* ---- fd details once per connection ------------------------------------ */

/*
 * An IO or transfer record's fd details walk the file, its inode and its
 * socket: about fifteen reads. A TCP socket's ends cannot change while it
 * is connected, so they are walked once per connection and kept here,
 * keyed by the struct sock; a record then reads only what says the entry
 * is still this socket's (its file, its state) and the file's flags, which
 * fcntl changes. Every TCP state change removes the socket's entry first
 * (rtp_sock_state in kern/syscalls.bpf.c): a socket that disconnects and
 * connects again, or a new one at a freed one's address, is walked again.
 * Until that program is attached the cache is off.
 */
struct fd_details {
	struct zcap_fdinfo f;
	__u64 file;
	__u32 state;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct fd_details);
} fd_details SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ZCAP_FDD_MAX);
	__type(key, __u32);
	__type(value, __u64);
} fd_details_stats SEC(".maps");

/* Slot 0 set by userspace once rtp_sock_state is attached
 * (user/part_syscalls.c): before, a state change could go unseen. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} fd_details_on SEC(".maps");

/* States in which a TCP socket's four-tuple is fixed. */
static __always_inline bool tcp_ends_fixed(__u32 state)
{
	return state == TCP_ESTABLISHED || state == TCP_FIN_WAIT1 || state == TCP_FIN_WAIT2 ||
	       state == TCP_CLOSE_WAIT || state == TCP_LAST_ACK || state == TCP_CLOSING;
}

/* fill_fd_info for records that carry payload (IO, transfers): from the
 * cache, or walked (and kept when they are a connected TCP socket's). */
static __always_inline struct file *fill_fd_details(struct zcap_fdinfo *fi, int fd)
{
	struct file *file = current_fd_file(fd);
	struct fd_details *d, nd;
	struct sock *sk = NULL;
	__u32 zero = 0, *on = bpf_map_lookup_elem(&fd_details_on, &zero);
	__u32 state = 0;
	__u64 key = 0;

	if (on && *on && file && (BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) == S_IFSOCK) {
		struct socket *sock = BPF_CORE_READ(file, private_data);

		sk = BPF_CORE_READ(sock, sk);
		key = (__u64)sk;
		state = BPF_CORE_READ(sk, __sk_common.skc_state);
		d = sk ? bpf_map_lookup_elem(&fd_details, &key) : NULL;
		if (d && d->file == (__u64)file && d->state == state) {
			*fi = d->f;
			fi->flags = BPF_CORE_READ(file, f_flags);
			count_in(&fd_details_stats, ZCAP_FDD_CACHED);
			return file;
		}
	}
	fill_file_info(fi, file);
	count_in(&fd_details_stats, ZCAP_FDD_WALKED);
	if (!sk || fi->kind != ZCAP_FD_TCP || !tcp_ends_fixed(state))
		return file;
	nd.f = *fi;
	nd.file = (__u64)file;
	nd.state = state;
	nd._pad = 0;
	bpf_map_update_elem(&fd_details, &key, &nd, BPF_ANY);
	/* A state change between the first look and the update removed
	 * nothing: the entry must not outlive it. */
	if (BPF_CORE_READ(sk, __sk_common.skc_state) != state)
		bpf_map_delete_elem(&fd_details, &key);
	return file;
}

/*
 * --port at syscall entry: can a call on this fd be one the port selects?
 * Only an inet socket with that local or remote port can; everything else
 * (files, pipes, /dev/null: nearly every syscall of a busy machine) is
 * turned away before its arguments are saved. The exit program decides
 * again with everything it reads.
 *
 * What an uninteresting call costs here is mostly the memory it touches:
 * on a kernel with page-table isolation and no PCID every syscall starts
 * with an empty TLB, so each page is a walk (docs/performance.md). A
 * socket's file always has its struct socket in private_data; regular
 * files and devices have nothing there and are turned away on the struct
 * file alone, which the syscall reads anyway, without their inode.
 */
static __always_inline bool fd_may_match_port(int fd)
{
	struct file *file = current_fd_file(fd);
	struct socket *sock;
	struct sock *sk;
	__u16 family;

	if (!file)
		return false;
	sock = BPF_CORE_READ(file, private_data);
	if (!sock || (BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return false;
	sk = BPF_CORE_READ(sock, sk);
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return false;
	/* TCP or UDP alike here: the exit program tells them apart */
	return port_selected(BPF_CORE_READ(sk, __sk_common.skc_num)) ||
	       port_selected(bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport)));
}

/* One step up the dentry tree: record a component or cross a mount. */
ZCAP_LOOP_STEP(path_up_step)
static long path_up_step(__u32 i, __u32 *slot_key)
{
	struct scratch_slot *s = bpf_map_lookup_elem(&scratch, slot_key);
	struct dentry *dentry, *mnt_root, *parent;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	struct pathwalk *pw;

	if (!s)
		return 1;
	pw = &s->pw;
	/* plain loads first: CO-RE reads must start from kernel types */
	dentry = pw->dentry;
	vfsmnt = pw->vfsmnt;
	mnt = pw->mnt;
	mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	parent = BPF_CORE_READ(dentry, d_parent);
	if (dentry == mnt_root || dentry == parent) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

		if (dentry != mnt_root || up == mnt)
			return 1; /* the root of the tree */
		pw->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		pw->mnt = up;
		pw->vfsmnt = (void *)((char *)up + bpf_core_field_offset(struct mount, mnt));
		return 0;
	}
	if (pw->depth >= PATH_DEPTH_MAX) {
		pw->fail = 1;
		return 1;
	}
	s->comps[pw->depth & (PATH_DEPTH_MAX - 1)] = BPF_CORE_READ(dentry, d_name.name);
	pw->depth++;
	pw->dentry = parent;
	return 0;
}

/* Write component depth-1-i after a '/', root first. */
ZCAP_LOOP_STEP(path_write_step)
static long path_write_step(__u32 i, __u32 *slot_key)
{
	struct scratch_slot *s = bpf_map_lookup_elem(&scratch, slot_key);
	struct pathwalk *pw;
	__u32 idx, off;
	long n;

	if (!s)
		return 1;
	pw = &s->pw;
	if (i >= pw->depth)
		return 1;
	idx = (pw->depth - 1 - i) & (PATH_DEPTH_MAX - 1);
	off = pw->off;
	if (off > ZCAP_PATH_MAX - 2) {
		pw->fail = 1;
		return 1;
	}
	s->buf[(pw->base & (ZCAP_SCRATCH_HDR - 1)) + (off & (ZCAP_PATH_MAX - 1))] = '/';
	off++;
	n = bpf_probe_read_kernel_str(
		&s->buf[(pw->base & (ZCAP_SCRATCH_HDR - 1)) + (off & (ZCAP_PATH_MAX - 1))],
		NAME_MAX_BPF, s->comps[idx]);
	if (n <= 1) {
		pw->fail = 1;
		return 1;
	}
	pw->off = off + n - 1;
	return 0;
}

/*
 * Absolute path of an open file, from its dentry up to the root of the
 * task's mount tree, crossing mount points, written at s->buf + base (the
 * end of the event's fixed part, < ZCAP_SCRATCH_HDR). Returns the length
 * without the NUL, or -1. Collecting the component pointers first lets the
 * names be written forwards with bounds the verifier can follow.
 */
static __always_inline int file_path(struct scratch_slot *s, struct file *file, __u32 base)
{
	struct pathwalk *pw = &s->pw;
	__u32 key = s->key, off;

	pw->dentry = BPF_CORE_READ(file, f_path.dentry);
	pw->vfsmnt = BPF_CORE_READ(file, f_path.mnt);
	pw->mnt = (void *)((char *)pw->vfsmnt - bpf_core_field_offset(struct mount, mnt));
	pw->depth = 0;
	pw->off = 0;
	pw->fail = 0;
	pw->base = base;
	zcap_loop(PATH_DEPTH_MAX * 2, path_up_step, &key);
	if (pw->fail)
		return -1;
	if (pw->depth == 0) {
		s->buf[base & (ZCAP_SCRATCH_HDR - 1)] = '/';
		return 1;
	}
	zcap_loop(PATH_DEPTH_MAX, path_write_step, &key);
	off = pw->off;
	if (pw->fail || off >= ZCAP_PATH_MAX)
		return -1;
	/* keep the bound where the verifier sees it (clang drops a mask it
	 * can prove redundant, then checks a copy) */
	barrier_var(off);
	return off & (ZCAP_PATH_MAX - 1);
}

#endif /* ZCAP_COMMON_BPF_H */
