// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The lineage part (kern/fs.bpf.c): rename/link/unlink/mkdir/truncate,
 * file-backed mmap, exec'd files, io_uring completions and the truncation
 * watch for ZCAP_FD_NONEMPTY. Loaded only when loader_opts.want_fs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bpf_part.h"
#include "detach.h"
#include "fs.skel.h"
#include "fs_bounded.skel.h"
#include "kbtf.h"
#include "tracefs.h"
#include "util.h"

PART_SKEL_OPENER(fs)

static bool fs_wanted(const struct loader_opts *o)
{
	return o->want_fs;
}

static void *fs_open(void)
{
	return fs_open_skel();
}

static struct bpf_object *fs_object(void *skel)
{
	return ((struct fs_bpf *)skel)->obj;
}

static struct zcap_config *fs_config(void *skel)
{
	return (struct zcap_config *)&((struct fs_bpf *)skel)->rodata->cfg;
}

/* Raw tracepoints of optional subsystems: leave out what this kernel lacks. */
static void skip_missing(struct fs_bpf *skel, char *desc, size_t len)
{
	static const struct {
		const char *cat, *name;
	} optional[] = {
		{ "ext4", "ext4_truncate_enter" },
		{ "ext4", "ext4_da_release_space" },
		{ "ext4", "ext4_free_inode" },
		{ "ext4", "ext4_mark_inode_dirty" },
		{ "ext4", "ext4_journal_start_inode" },
		{ "filemap", "mm_filemap_delete_from_page_cache" },
		{ "io_uring", "io_uring_complete" },
	};
	struct bpf_program *progs[] = {
		skel->progs.rtp_ext4_truncate,
		skel->progs.rtp_ext4_da_release,
		skel->progs.rtp_ext4_free_inode,
		skel->progs.rtp_ext4_dirty,
		skel->progs.rtp_ext4_journal_inode,
		skel->progs.rtp_folio_deleted,
		skel->progs.rtp_uring_complete,
	};

	snprintf(desc, len, "raw_tp fs syscalls, exec");
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		if (tracepoint_exists(optional[i].cat, optional[i].name)) {
			snprintf(desc + strlen(desc), len - strlen(desc), ", %s", optional[i].name);
			continue;
		}
		bpf_program__set_autoload(progs[i], false);
	}
}

int part_fs_uring_variant(void)
{
	int req = kbtf_tracepoint_arg("io_uring_complete", "req");

	if (req != 1)
		return URING_NONE;
	if (kbtf_tracepoint_arg("io_uring_complete", "cqe") == 2)
		return URING_CQE;
	return kbtf_tracepoint_arg("io_uring_complete", "res") == 3 ? URING_RES : URING_NONE;
}

/* Load the io_uring_complete program written for this kernel's prototype. */
static void uring_variant(struct fs_bpf *skel, const struct loader_opts *o)
{
	int v = part_fs_uring_variant();

	if (!bpf_program__autoload(skel->progs.rtp_uring_complete))
		v = URING_NONE; /* no such tracepoint: said in the description */
	else if (v == URING_NONE && !o->quiet_optional)
		zcap_warn("io_uring lineage disabled: this kernel's io_uring_complete tracepoint "
			  "does not pass the request");
	bpf_program__set_autoload(skel->progs.rtp_uring_complete, v == URING_CQE);
	bpf_program__set_autoload(skel->progs.rtp_uring_complete_res, v == URING_RES);
}

/* mm_filemap_delete_from_page_cache passes a folio since 5.16, a page
 * before: the program for what this kernel's BTF has. */
static void filemap_variant(struct fs_bpf *skel)
{
	bool on = bpf_program__autoload(skel->progs.rtp_folio_deleted);
	bool folio = kbtf_tracepoint_arg("mm_filemap_delete_from_page_cache", "folio") == 0;

	bpf_program__set_autoload(skel->progs.rtp_folio_deleted, on && folio);
	bpf_program__set_autoload(skel->progs.rtp_page_deleted, on && !folio);
}

static int fs_prepare(void *skel, const struct loader_opts *o, char *desc, size_t len)
{
	int err = tracefs_ensure(NULL);

	if (err)
		return err;
	skip_missing(skel, desc, len);
	uring_variant(skel, o);
	filemap_variant(skel);
	return 0;
}

static const char *fs_optional(const char *prog)
{
	if (!strncmp(prog, "rtp_uring_complete", 18))
		return "io_uring lineage";
	if (!strncmp(prog, "rtp_ext4_", 9) || !strcmp(prog, "rtp_folio_deleted") ||
	    !strcmp(prog, "rtp_page_deleted"))
		return "detection of O_TRUNC on non-empty files";
	return NULL;
}

static int fs_load(void *skel)
{
	return fs_bpf__load(skel);
}

static int fs_attach(void *skel, const struct loader_opts *o)
{
	int err = fs_bpf__attach(skel);

	if (err)
		zcap_err("cannot attach the lineage raw tracepoints: %s (`zcap doctor` checks the kernel)",
			 strerror(-err));
	return err;
}

static void fs_destroy(void *skel)
{
	if (skel)
		skel_detach_parallel(((struct fs_bpf *)skel)->skeleton);
	fs_bpf__destroy(skel);
}

const struct bpf_part part_fs = {
	.name = "fs",
	.wanted = fs_wanted,
	.open = fs_open,
	.object = fs_object,
	.config = fs_config,
	.prepare = fs_prepare,
	.load = fs_load,
	.attach = fs_attach,
	.destroy = fs_destroy,
	.optional = fs_optional,
};
