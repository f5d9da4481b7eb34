/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The zero-copy send path (kern/zerocopy.bpf.c): which hook family carries
 * body bytes on this kernel, found by loading each in a private instance
 * and sending a known pattern through it (the self-test), never from the
 * kernel version. Used by the zero-copy part and by `zcap doctor`.
 *
 * A family hooks every TCP send function this kernel has: tcp_sendmsg_locked
 * (all sends on 6.5+, user-buffer sends before) and do_tcp_sendpages
 * (sendfile/splice before 6.5), by kprobe or by fentry; or the raw
 * tracepoints tcp:tcp_sendmsg_locked + sock:sock_send_length.
 */
#ifndef ZCAP_SEND_PATH_H
#define ZCAP_SEND_PATH_H

#include <stdbool.h>
#include <stdint.h>

enum send_family { SEND_KPROBE, SEND_FENTRY, SEND_TRACEPOINT, SEND_NFAMILIES };

struct send_family_result {
	bool tried;
	bool available; /* the kernel has a function or tracepoint for it */
	bool attached;	/* loads and attaches */
	bool fired;	/* the self-test's sendfile reached it */
	bool bytes_ok;	/* ... and the bytes read equal the pattern */
	bool origin_ok;	/* ... and the first page named the memfd and offset */
	bool sendmsg, sendpages; /* which targets it hooks here */
	char desc[112];	/* "kprobe do_tcp_sendpages + tcp_sendmsg_locked" */
	char why[192];	/* why not, when it is not usable */
};

struct send_path {
	int family; /* enum send_family; SEND_NFAMILIES: none */
	bool bodies_ok;
	bool origin_ok;
	uint64_t pob, vmb; /* direct-map bases that passed */
	const char *base_src;
	char why[400]; /* no family: why each failed; else the self-test's verdict */
	struct send_family_result fam[SEND_NFAMILIES];
};

struct zerocopy_bpf;

const char *send_family_name(int family);
/* The family called NAME, or -1. */
int send_family_by_name(const char *name);

/*
 * Try the families in order (kprobe, fentry, tracepoint), or only WANT
 * when it names one ("auto": all). The first one that fires in the
 * self-test is chosen; with try_all every family is still tried and its
 * result kept (doctor). bad_base: test only, a wrong direct-map base.
 */
void send_path_choose(const char *want, bool try_all, bool bad_base, struct send_path *sp);

/* Enable, in skel (opened, not loaded), exactly the programs of family
 * (SEND_NFAMILIES: none) that this kernel has targets for. */
void send_path_select(struct zerocopy_bpf *skel, int family);

/* log2 of the page size. */
int send_path_page_shift(void);

#endif
