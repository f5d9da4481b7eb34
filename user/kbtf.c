// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdio.h>
#include <string.h>
#include <bpf/btf.h>

#include "kbtf.h"
#include "loader.h"

/* Parsed once; kept for the process's life (a few MB, read-only). */
static struct btf *kernel_btf(void)
{
	static struct btf *btf;
	static bool tried;

	if (!tried) {
		tried = true;
		/* libbpf 1.x returns NULL with errno set on failure */
		btf = zcap_btf_path() ? btf__parse(zcap_btf_path(), NULL) : btf__load_vmlinux_btf();
	}
	return btf;
}

bool kbtf_ok(void)
{
	return kernel_btf() != NULL;
}

bool kbtf_has_func(const char *name)
{
	struct btf *btf = kernel_btf();

	return btf && btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) > 0;
}

bool kbtf_has_tracepoint(const char *name)
{
	struct btf *btf = kernel_btf();
	char tname[160];

	snprintf(tname, sizeof(tname), "btf_trace_%s", name);
	return btf && btf__find_by_name_kind(btf, tname, BTF_KIND_TYPEDEF) > 0;
}

int kbtf_tracepoint_arg(const char *name, const char *arg)
{
	struct btf *btf = kernel_btf();
	const struct btf_param *p;
	const struct btf_type *t;
	char fname[160];
	int id;

	if (!btf)
		return -1;
	/* the typedef's prototype has no parameter names; the functions the
	 * kernel generates for the tracepoint (__bpf_trace_NAME,
	 * __traceiter_NAME) have them, with the hidden __data first */
	snprintf(fname, sizeof(fname), "__bpf_trace_%s", name);
	id = btf__find_by_name_kind(btf, fname, BTF_KIND_FUNC);
	if (id <= 0) {
		/* tracepoints sharing a class have only the iterator (5.10+),
		 * with the same parameters */
		snprintf(fname, sizeof(fname), "__traceiter_%s", name);
		id = btf__find_by_name_kind(btf, fname, BTF_KIND_FUNC);
	}
	if (id <= 0)
		return -1;
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	if (!t || !btf_is_func_proto(t))
		return -1;
	p = btf_params(t);
	for (int i = 1; i < btf_vlen(t); i++)
		if (!strcmp(btf__name_by_offset(btf, p[i].name_off), arg))
			return i - 1;
	return -1;
}

static bool type_has_member(const struct btf *btf, const struct btf_type *t, const char *member,
			    int depth)
{
	const struct btf_member *m;

	if (!t || !btf_is_composite(t) || depth > 4)
		return false;
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++) {
		const char *name = btf__name_by_offset(btf, m[i].name_off);

		if (name && *name && !strcmp(name, member))
			return true;
		if ((!name || !*name) &&
		    type_has_member(btf, btf__type_by_id(btf, btf__resolve_type(btf, m[i].type)),
				    member, depth + 1))
			return true;
	}
	return false;
}

bool kbtf_has_member(const char *struct_name, const char *member)
{
	struct btf *btf = kernel_btf();
	int id;

	if (!btf)
		return false;
	id = btf__find_by_name_kind(btf, struct_name, BTF_KIND_STRUCT);
	return id > 0 && type_has_member(btf, btf__type_by_id(btf, id), member, 0);
}
