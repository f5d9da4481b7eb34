/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Facts from the running kernel's BTF (or $ZCAP_BTF_PATH): which
 * functions, tracepoints and struct members exist, and where a
 * tracepoint's arguments are. Hooks are chosen from these and from what
 * attaches, never from the kernel version.
 */
#ifndef ZCAP_KBTF_H
#define ZCAP_KBTF_H

#include <stdbool.h>

/* Is the kernel's BTF readable at all? */
bool kbtf_ok(void);

/* Does the kernel have function NAME (a kprobe/fentry target)? */
bool kbtf_has_func(const char *name);

/* Does the kernel have tracepoint NAME (its raw tracepoint prototype
 * btf_trace_NAME)? */
bool kbtf_has_tracepoint(const char *name);

/* Index of tracepoint NAME's argument called ARG, counted as a raw
 * tracepoint program sees them (ctx->args[i]); -1 when there is none. */
int kbtf_tracepoint_arg(const char *name, const char *arg);

/* Does struct STRUCT_NAME have a member MEMBER (at any nesting of
 * anonymous unions/structs)? */
bool kbtf_has_member(const char *struct_name, const char *member);

#endif
