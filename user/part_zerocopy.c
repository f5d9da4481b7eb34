// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The zero-copy part (kern/zerocopy.bpf.c): sendfile/splice/tee/vmsplice/
 * copy_file_range metadata, and body bytes on the TCP send path. Which
 * send-path hooks are loaded, and whether body bytes are captured at all,
 * is decided by the self-test of user/send_path.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bpf_part.h"
#include "detach.h"
#include "send_path.h"
#include "util.h"
#include "zerocopy.skel.h"
#include "zerocopy_bounded.skel.h"

#define SLOTS_PER_CPU 2 /* kern/common.bpf.h */

PART_SKEL_OPENER(zerocopy)

static void *zc_open(void)
{
	return zerocopy_open_skel();
}

static struct bpf_object *zc_object(void *skel)
{
	return ((struct zerocopy_bpf *)skel)->obj;
}

static struct zcap_config *zc_config(void *skel)
{
	return (struct zcap_config *)&((struct zerocopy_bpf *)skel)->rodata->cfg;
}

static int zc_prepare(void *skel_, const struct loader_opts *o, char *desc, size_t len)
{
	struct zerocopy_bpf *skel = skel_;
	struct zcap_config *cfg = zc_config(skel);
	const char *want = o->send_hook ? o->send_hook : "auto";
	struct send_path sp;
	int ncpus = libbpf_num_possible_cpus();

	if (ncpus <= 0)
		ncpus = 1;
	bpf_map__set_max_entries(skel->maps.zc_walks, ncpus * SLOTS_PER_CPU);
	bpf_program__set_autoload(skel->progs.zc_read_kvar, false);
	part_choose_dispatch(skel->obj, o);
	part_skip_missing_tracepoints(skel->obj);
	skel->rodata->zc_page_shift = send_path_page_shift();
	if (strcmp(want, "auto") && send_family_by_name(want) < 0) {
		zcap_err("unknown send hook '%s' (auto, kprobe, fentry, tracepoint)", want);
		return -EINVAL;
	}
	if (o->no_send_path) {
		send_path_select(skel, SEND_NFAMILIES);
		snprintf(desc, len, "zero-copy syscalls");
		return 0;
	}
	send_path_choose(want, false, o->test_bad_page_base, &sp);
	if (sp.family == SEND_NFAMILIES && strcmp(want, "auto")) {
		zcap_err("--send-hook=%s does not work here: %s (`zcap doctor` checks the kernel)",
			 want, sp.fam[send_family_by_name(want)].why);
		return -EOPNOTSUPP;
	}
	send_path_select(skel, sp.family);
	if (sp.family == SEND_NFAMILIES) {
		zcap_warn("zero-copy bodies are not captured: no send-path hook sees sendfile "
			  "here (%s)",
			  sp.why);
		snprintf(desc, len, "zero-copy syscalls");
		return 0;
	}
	cfg->page_offset_base = sp.pob;
	cfg->vmemmap_base = sp.vmb;
	cfg->bodies_ok = sp.bodies_ok;
	if (!sp.bodies_ok)
		zcap_warn("zero-copy bodies: page-translation self-test failed (%s); sizes only, "
			  "content not captured",
			  sp.why);
	else if (zcap_verbose)
		zcap_warn("zero-copy bodies: self-test passed (%s bases %#" PRIx64 "/%#" PRIx64
			  ", page origins %s)",
			  sp.base_src, sp.pob, sp.vmb, sp.origin_ok ? "verified" : "unverified");
	snprintf(desc, len, "zero-copy syscalls, %s%s", sp.fam[sp.family].desc,
		 sp.bodies_ok ? "" : " (sizes only)");
	return 0;
}

static int zc_load(void *skel)
{
	return zerocopy_bpf__load(skel);
}

static int zc_attach(void *skel, const struct loader_opts *o)
{
	int err = zerocopy_bpf__attach(skel);

	if (err)
		zcap_err("cannot attach the zero-copy programs: %s (`zcap doctor` checks the "
			 "kernel)",
			 strerror(-err));
	return err;
}

static void zc_destroy(void *skel)
{
	if (skel)
		skel_detach_parallel(((struct zerocopy_bpf *)skel)->skeleton);
	zerocopy_bpf__destroy(skel);
}

const struct bpf_part part_zerocopy = {
	.name = "zerocopy",
	.open = zc_open,
	.object = zc_object,
	.config = zc_config,
	.prepare = zc_prepare,
	.load = zc_load,
	.attach = zc_attach,
	.destroy = zc_destroy,
};
