// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The syscall-tracepoint part: user-buffer I/O, fd and process life cycle. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf_part.h"
#include "detach.h"
#include "syscalls.skel.h"
#include "syscalls_bounded.skel.h"
#include "tracefs.h"
#include "util.h"

void part_skip_missing_tracepoints(struct bpf_object *obj)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		const char *sec = bpf_program__section_name(prog);
		char cat[64], name[128];

		if (strncmp(sec, "tracepoint/", 11) ||
		    sscanf(sec + 11, "%63[^/]/%127s", cat, name) != 2)
			continue;
		/* e.g. no open(2) or pipe(2) tracepoints on arm64 */
		if (!tracepoint_exists(cat, name))
			bpf_program__set_autoload(prog, false);
	}
}

bool part_pkt_tracepoints(const struct loader_opts *o)
{
	return o->want_packets && !getenv("ZCAP_TEST_RAW_DISPATCH") && !tracefs_ensure(NULL) &&
	       tracepoint_exists("syscalls", "sys_enter_accept4");
}

void part_choose_dispatch(struct bpf_object *obj, const struct loader_opts *o)
{
	bool tracepoints = part_pkt_tracepoints(o);
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		const char *name = bpf_program__name(prog);
		bool enter, raw = part_prog_syscall(name, &enter) || !strcmp(name, "zcap_sys_enter") ||
				  !strcmp(name, "zcap_sys_exit");
		bool tp = !strncmp(name, "tp_enter__", 10) || !strncmp(name, "tp_exit__", 9);

		if (tracepoints ? raw : tp)
			bpf_program__set_autoload(prog, false);
	}
}

PART_SKEL_OPENER(syscalls)

/* What rtp_sock_state serves: IO and transfer records on a connected TCP
 * socket read its details from a cache the program keeps right
 * (kern/common.bpf.h). */
#define FD_DETAILS_FEATURE "the per-connection cache of fd details"

static void *sys_open(void)
{
	return syscalls_open_skel();
}

static struct bpf_object *sys_object(void *skel)
{
	return ((struct syscalls_bpf *)skel)->obj;
}

static struct zcap_config *sys_config(void *skel)
{
	return (struct zcap_config *)&((struct syscalls_bpf *)skel)->rodata->cfg;
}

/* Packet output needs from syscalls only who owns each socket: the calls
 * that give a socket its ends (a UDP socket's first send binds it). Every
 * other call is left out of the dispatch: nginx's reads, writes and opens
 * then cost what an empty hook costs. */
static const char *const pkt_owner_calls[] = { "accept", "accept4", "connect", "bind",
					       "sendto", "sendmsg", "sendmmsg" };

static bool pkt_owner_call(const char *prog)
{
	bool enter;
	const char *call = part_prog_syscall(prog, &enter);

	if (!call)
		return true; /* not a syscall program: process life cycle */
	for (size_t i = 0; i < sizeof(pkt_owner_calls) / sizeof(pkt_owner_calls[0]); i++)
		if (!strcmp(call, pkt_owner_calls[i]))
			return true;
	return false;
}

static int sys_prepare(void *skel, const struct loader_opts *o, char *desc, size_t len)
{
	struct bpf_program *sock_state = ((struct syscalls_bpf *)skel)->progs.rtp_sock_state;
	struct bpf_program *prog;
	int err = tracefs_ensure(NULL);

	if (err)
		return err;
	part_choose_dispatch(sys_object(skel), o);
	part_skip_missing_tracepoints(sys_object(skel));
	if (o->want_packets) {
		bpf_object__for_each_program(prog, sys_object(skel))
			if (!pkt_owner_call(bpf_program__name(prog)))
				bpf_program__set_autoload(prog, false);
		/* few records: nothing for the fd details cache to save */
		bpf_program__set_autoload(sock_state, false);
		snprintf(desc, len, "%s (socket owners), sched",
			 part_pkt_tracepoints(o) ? "syscall tracepoints of accept, connect, bind, sends"
						 : "raw_tp sys_enter/sys_exit");
		return 0;
	}
	if (!tracepoint_exists("sock", "inet_sock_set_state")) {
		bpf_program__set_autoload(sock_state, false);
		if (!o->quiet_optional)
			zcap_warn("%s disabled: this kernel has no inet_sock_set_state tracepoint",
				  FD_DETAILS_FEATURE);
	}
	snprintf(desc, len, "raw_tp sys_enter/sys_exit, sched%s",
		 bpf_program__autoload(sock_state) ? ", inet_sock_set_state" : "");
	return 0;
}

static const char *sys_optional(const char *prog)
{
	return strcmp(prog, "rtp_sock_state") ? NULL : FD_DETAILS_FEATURE;
}

static int sys_load(void *skel)
{
	return syscalls_bpf__load(skel);
}

static int sys_attach(void *skel, const struct loader_opts *o)
{
	struct syscalls_bpf *s = skel;
	int err = syscalls_bpf__attach(s);

	if (err) {
		zcap_err("cannot attach the syscall raw tracepoints: %s (`zcap doctor` checks the kernel)",
			 strerror(-err));
		return err;
	}
	/* only now: before, a state change could leave an entry stale */
	if (bpf_program__autoload(s->progs.rtp_sock_state)) {
		__u32 zero = 0, on = 1;

		err = bpf_map__update_elem(s->maps.fd_details_on, &zero, sizeof(zero), &on,
					   sizeof(on), BPF_ANY);
		if (err) /* an array slot: cannot fail short of a broken kernel */
			zcap_warn("%s disabled: %s", FD_DETAILS_FEATURE, strerror(-err));
	}
	return 0;
}

static void sys_destroy(void *skel)
{
	if (skel)
		skel_detach_parallel(((struct syscalls_bpf *)skel)->skeleton);
	syscalls_bpf__destroy(skel);
}

const struct bpf_part part_syscalls = {
	.name = "syscalls",
	.open = sys_open,
	.object = sys_object,
	.config = sys_config,
	.prepare = sys_prepare,
	.load = sys_load,
	.attach = sys_attach,
	.destroy = sys_destroy,
	.optional = sys_optional,
};
