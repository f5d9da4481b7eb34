// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Namespace and content changes for lineage (ZCAP_EV_FS): rename, link,
 * unlink, rmdir, mkdir, truncate, file-backed mmap, the files an exec ran,
 * io_uring operations, and the truncation watch behind ZCAP_FD_NONEMPTY.
 *
 * Paths are made absolute here, where it is cheap and race-free: a
 * relative name is joined to the path of its dirfd's file or of the
 * task's working directory, walked from the dentry like open's paths.
 * Userspace only normalizes "." and "..". When the walk fails the name is
 * sent as passed (it then does not start with '/').
 */
#include "fs.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AT_FDCWD      -100
#define AT_EMPTY_PATH 0x1000
#define MAP_ANONYMOUS 0x20
#define SPLICE_F_FD_IN_FIXED (1U << 31)

/* Where the second path of rename/link waits while the first is built:
 * past the chunk area, out of reach of the event's own data. */
#define FAR_OFF (ZCAP_SCRATCH_HDR + ZCAP_CHUNK)
#define DATA_OFF sizeof(struct zcap_fs_ev)
#define PMASK (ZCAP_PATH_MAX - 1)
#define BMASK (ZCAP_SCRATCH_HDR - 1)

/* Absolute path of (dentry, mnt) at s->buf + base, as file_path() does for
 * a struct file. Length without the NUL, or -1. */
static __always_inline int dentry_path_abs(struct scratch_slot *s, struct dentry *dentry,
					   struct vfsmount *vfsmnt, __u32 base)
{
	struct pathwalk *pw = &s->pw;
	__u32 key = s->key, off;

	if (!dentry || !vfsmnt)
		return -1;
	pw->dentry = dentry;
	pw->vfsmnt = vfsmnt;
	pw->mnt = (void *)((char *)vfsmnt - bpf_core_field_offset(struct mount, mnt));
	pw->depth = 0;
	pw->off = 0;
	pw->fail = 0;
	pw->base = base;
	zcap_loop(PATH_DEPTH_MAX * 2, path_up_step, &key);
	if (pw->fail)
		return -1;
	if (pw->depth == 0) {
		s->buf[base & BMASK] = '/';
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

static __always_inline long read_str(void *dst, const void *src, bool user)
{
	if (user)
		return bpf_probe_read_user_str(dst, ZCAP_PATH_MAX, src);
	return bpf_probe_read_kernel_str(dst, ZCAP_PATH_MAX, src);
}

/*
 * (dirfd, name) as an absolute path at s->buf + base: the name itself when
 * it starts with '/', else dirfd's (or the cwd's) path, '/', the name. An
 * empty name is the dirfd itself when empty_is_dir (AT_EMPTY_PATH). Falls
 * back to the name as passed. Returns the length (0 when nothing).
 */
static __always_inline __u32 resolve_at(struct scratch_slot *s, int dirfd, const char *name,
					__u32 base, bool user, bool empty_is_dir)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct dentry *dentry;
	struct vfsmount *mnt;
	char first = 0;
	long n, dlen;
	__u32 off;

	if (!name)
		return 0;
	if (user)
		bpf_probe_read_user(&first, 1, name);
	else
		bpf_probe_read_kernel(&first, 1, name);
	if (first == '/')
		goto as_passed;
	if (first == 0 && !empty_is_dir)
		return 0;
	if (dirfd == AT_FDCWD) {
		dentry = BPF_CORE_READ(task, fs, pwd.dentry);
		mnt = BPF_CORE_READ(task, fs, pwd.mnt);
	} else {
		struct file *f = fd_to_file(task, dirfd);

		if (!f)
			goto as_passed;
		dentry = BPF_CORE_READ(f, f_path.dentry);
		mnt = BPF_CORE_READ(f, f_path.mnt);
	}
	dlen = dentry_path_abs(s, dentry, mnt, base);
	if (dlen <= 0 || dlen >= ZCAP_PATH_MAX - 2)
		goto as_passed;
	if (first == 0)
		return dlen;
	off = dlen;
	s->buf[(base & BMASK) + (off & PMASK)] = '/';
	off++;
	n = read_str(&s->buf[(base & BMASK) + (off & PMASK)], name, user);
	if (n <= 1 || off + n - 1 >= ZCAP_PATH_MAX)
		goto as_passed;
	return off + n - 1;
as_passed:
	n = read_str(&s->buf[base & BMASK], name, user);
	return n > 1 ? (n - 1) & PMASK : 0;
}

static __always_inline struct zcap_fs_ev *fs_begin(struct scratch_slot *s, __u16 sc, __s64 ret)
{
	struct zcap_fs_ev *ev = (struct zcap_fs_ev *)s->buf;

	__builtin_memset(ev, 0, sizeof(*ev));
	fill_hdr(&ev->h, ZCAP_EV_FS, sizeof(*ev));
	ev->ret = ret;
	ev->syscall = sc;
	ev->fd = -1;
	ev->dirfd = -1;
	ev->dirfd2 = -1;
	return ev;
}

/* data = first path [NUL second path]; path_len = first path's length. */
static __always_inline void fs_submit(struct zcap_fs_ev *ev, __u32 len1, __u32 len2)
{
	__u32 len = len1 & PMASK;

	ev->path_len = len;
	if (len2)
		len += 1 + (len2 & PMASK);
	ev->h.data_len = len;
	submit(ev, DATA_OFF + (len & (2 * ZCAP_PATH_MAX - 1)));
}

/* A syscall exit: its saved call, a scratch slot and the event begun;
 * NULL when the call was not ours or no slot is free. */
static __always_inline struct zcap_fs_ev *fs_call_begin(struct bpf_raw_tracepoint_args *ctx,
							__u16 sc, struct inflight *in,
							struct scratch_slot **sp)
{
	if (!take_inflight(sc, in))
		return NULL;
	*sp = slot_get();
	if (!*sp)
		return NULL;
	return fs_begin(*sp, sc, ctx->args[1]);
}

/* Submit data = the first path (n1 bytes at the data), NUL, the second
 * (n2 bytes parked at FAR_OFF), and release the slot. */
static __always_inline void submit_with_parked(struct scratch_slot *s, struct zcap_fs_ev *ev,
					       __u32 n1, __u32 n2)
{
	n1 &= PMASK;
	n2 &= PMASK;
	s->buf[DATA_OFF + n1] = 0;
	if (n2)
		bpf_probe_read_kernel(&s->buf[DATA_OFF + n1 + 1], n2, &s->buf[FAR_OFF]);
	fs_submit(ev, n1, n2);
	slot_put(s);
}

/* One path: unlink, rmdir, mkdir, truncate. With `at`, args[0] is the
 * dirfd and args[1] the name, else args[0] is the name; arg_idx: the
 * argument kept in ev->arg (flags, mode, length), -1 for none. */
static __always_inline int one_path_exit(struct bpf_raw_tracepoint_args *ctx, __u16 sc, bool at,
					 int arg_idx)
{
	struct inflight in;
	struct scratch_slot *s;
	struct zcap_fs_ev *ev;
	int dirfd = AT_FDCWD;
	__u32 n;

	ev = fs_call_begin(ctx, sc, &in, &s);
	if (!ev)
		return 0;
	if (at)
		dirfd = in.args[0];
	ev->dirfd = dirfd;
	if (arg_idx >= 0 && arg_idx < 6)
		ev->arg = in.args[arg_idx];
	n = resolve_at(s, dirfd, (const char *)in.args[at ? 1 : 0], DATA_OFF, true, false);
	fs_submit(ev, n, 0);
	slot_put(s);
	return 0;
}

/* Two paths: rename family, link family. The new name is built first and
 * parked at FAR_OFF, then the old one at the data, then the new one
 * copied behind it. */
static __always_inline int two_path_exit(struct bpf_raw_tracepoint_args *ctx, __u16 sc, bool at)
{
	struct inflight in;
	struct scratch_slot *s;
	struct zcap_fs_ev *ev;
	const char *oldname, *newname;
	int olddfd = AT_FDCWD, newdfd = AT_FDCWD;
	bool empty_old = false;
	__u32 n1, n2;

	ev = fs_call_begin(ctx, sc, &in, &s);
	if (!ev)
		return 0;
	if (at) {
		olddfd = in.args[0];
		oldname = (const char *)in.args[1];
		newdfd = in.args[2];
		newname = (const char *)in.args[3];
		ev->arg = in.args[4]; /* renameat2 / linkat flags */
		if (sc == ZCAP_SYS_RENAMEAT)
			ev->arg = 0;
		empty_old = sc == ZCAP_SYS_LINKAT && (ev->arg & AT_EMPTY_PATH);
	} else {
		oldname = (const char *)in.args[0];
		newname = (const char *)in.args[1];
	}
	ev->dirfd = olddfd;
	ev->dirfd2 = newdfd;
	/* the rename replaced an inode: the truncation watch saw it discarded */
	if (sc != ZCAP_SYS_LINK && sc != ZCAP_SYS_LINKAT && call_discarded_data())
		ev->fs_flags |= ZCAP_FS_REPLACED;
	n2 = resolve_at(s, newdfd, newname, DATA_OFF, true, false) & PMASK;
	if (n2)
		bpf_probe_read_kernel(&s->buf[FAR_OFF], n2, &s->buf[DATA_OFF]);
	n1 = resolve_at(s, olddfd, oldname, DATA_OFF, true, empty_old) & PMASK;
	submit_with_parked(s, ev, n1, n2);
	return 0;
}

ZCAP_SYSCALL_EXIT(rename) { return two_path_exit(ctx, ZCAP_SYS_RENAME, false); }
ZCAP_SYSCALL_EXIT(renameat) { return two_path_exit(ctx, ZCAP_SYS_RENAMEAT, true); }
ZCAP_SYSCALL_EXIT(renameat2) { return two_path_exit(ctx, ZCAP_SYS_RENAMEAT2, true); }
ZCAP_SYSCALL_EXIT(link) { return two_path_exit(ctx, ZCAP_SYS_LINK, false); }
ZCAP_SYSCALL_EXIT(linkat) { return two_path_exit(ctx, ZCAP_SYS_LINKAT, true); }

/* symlink(target, linkpath), symlinkat(target, newdirfd, linkpath): data =
 * the link's absolute path, NUL, the target as passed (a symlink's target
 * is text, resolved only when the link is followed). */
static __always_inline int symlink_exit(struct bpf_raw_tracepoint_args *ctx, __u16 sc, bool at)
{
	struct inflight in;
	struct scratch_slot *s;
	struct zcap_fs_ev *ev;
	const char *target, *linkpath;
	int dirfd = AT_FDCWD;
	long t;
	__u32 n1, n2 = 0;

	ev = fs_call_begin(ctx, sc, &in, &s);
	if (!ev)
		return 0;
	target = (const char *)in.args[0];
	linkpath = (const char *)in.args[at ? 2 : 1];
	if (at)
		dirfd = in.args[1];
	ev->dirfd = dirfd;
	t = bpf_probe_read_user_str(&s->buf[FAR_OFF], ZCAP_PATH_MAX, target);
	if (t > 1)
		n2 = (t - 1) & PMASK;
	n1 = resolve_at(s, dirfd, linkpath, DATA_OFF, true, false) & PMASK;
	submit_with_parked(s, ev, n1, n2);
	return 0;
}

ZCAP_SYSCALL_EXIT(symlink) { return symlink_exit(ctx, ZCAP_SYS_SYMLINK, false); }
ZCAP_SYSCALL_EXIT(symlinkat) { return symlink_exit(ctx, ZCAP_SYS_SYMLINKAT, true); }

ZCAP_SYSCALL_EXIT(unlink) { return one_path_exit(ctx, ZCAP_SYS_UNLINK, false, -1); }
ZCAP_SYSCALL_EXIT(unlinkat) { return one_path_exit(ctx, ZCAP_SYS_UNLINKAT, true, 2); }
ZCAP_SYSCALL_EXIT(rmdir) { return one_path_exit(ctx, ZCAP_SYS_RMDIR, false, -1); }
ZCAP_SYSCALL_EXIT(mkdir) { return one_path_exit(ctx, ZCAP_SYS_MKDIR, false, 1); }
ZCAP_SYSCALL_EXIT(mkdirat) { return one_path_exit(ctx, ZCAP_SYS_MKDIRAT, true, 2); }
ZCAP_SYSCALL_EXIT(truncate) { return one_path_exit(ctx, ZCAP_SYS_TRUNCATE, false, 1); }

/* fd-based: ftruncate, mmap. data = the file's path (names files opened
 * before the capture too). */
static __always_inline int fd_call_exit(struct bpf_raw_tracepoint_args *ctx, __u16 sc, int fd,
					__u64 arg)
{
	struct scratch_slot *s;
	struct zcap_fs_ev *ev;
	struct file *file;
	int n = 0;

	s = slot_get();
	if (!s)
		return 0;
	ev = fs_begin(s, sc, ctx->args[1]);
	ev->fd = fd;
	ev->arg = arg;
	file = fill_fd_info(&ev->f, fd);
	if (file && ev->f.kind == ZCAP_FD_FILE)
		n = file_path(s, file, DATA_OFF);
	fs_submit(ev, n > 0 ? n : 0, 0);
	slot_put(s);
	return 0;
}

ZCAP_SYSCALL_EXIT(ftruncate)
{
	struct inflight in;

	if (!take_inflight(ZCAP_SYS_FTRUNCATE, &in))
		return 0;
	return fd_call_exit(ctx, ZCAP_SYS_FTRUNCATE, in.args[0], in.args[1]);
}

/* mmap: only file-backed mappings (the lineage question is whether data
 * flowed through the mapping). arg = prot << 32 | flags. */
ZCAP_SYSCALL_EXIT(mmap)
{
	struct inflight in;
	__s64 ret = ctx->args[1];

	if (!take_inflight(ZCAP_SYS_MMAP, &in))
		return 0;
	if ((int)in.args[4] < 0 || (in.args[3] & MAP_ANONYMOUS) || (ret < 0 && ret > -4096))
		return 0;
	return fd_call_exit(ctx, ZCAP_SYS_MMAP, in.args[4],
			    (in.args[2] & 0xffffffff) << 32 | (in.args[3] & 0xffffffff));
}

/*
 * exec: which files ran. data = the executable (mm->exe_file, absolute)
 * and, for a script (#!), NUL and the script's path: binfmt_script moves
 * bprm->interp off bprm->filename.
 */
SEC("raw_tp/sched_process_exec")
int BPF_PROG(rtp_fs_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct scratch_slot *s;
	struct zcap_fs_ev *ev;
	struct file *exe;
	const char *interp, *filename;
	__u32 n1 = 0, n2 = 0;
	int n;

	if (!want_current())
		return 0;
	s = slot_get();
	if (!s)
		return 0;
	ev = fs_begin(s, ZCAP_SYS_EXEC, 0);
	interp = BPF_CORE_READ(bprm, interp);
	filename = BPF_CORE_READ(bprm, filename);
	if (interp != filename) {
		n2 = resolve_at(s, AT_FDCWD, filename, DATA_OFF, false, false) & PMASK;
		if (n2)
			bpf_probe_read_kernel(&s->buf[FAR_OFF], n2, &s->buf[DATA_OFF]);
	}
	exe = BPF_CORE_READ(task, mm, exe_file);
	fill_file_info(&ev->f, exe);
	if (exe) {
		n = file_path(s, exe, DATA_OFF);
		n1 = n > 0 ? n & PMASK : 0;
	}
	s->buf[DATA_OFF + n1] = 0;
	if (n2)
		bpf_probe_read_kernel(&s->buf[DATA_OFF + n1 + 1], n2, &s->buf[FAR_OFF]);
	fs_submit(ev, n1, n2);
	slot_put(s);
	return 0;
}

/* ---- ZCAP_FD_NONEMPTY: data discarded inside an open (fs.bpf.h) ------- */

static __always_inline bool is_open(__u16 sc)
{
	return sc == ZCAP_SYS_OPEN || sc == ZCAP_SYS_OPENAT || sc == ZCAP_SYS_OPENAT2 ||
	       sc == ZCAP_SYS_CREAT;
}

static __always_inline void note_discard_in(struct inode *inode, bool opens_only)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct inflight *in = bpf_map_lookup_elem(&inflight, &tid);
	__u64 ino;

	if (!in || !inode)
		return;
	/* opens: O_TRUNC discarded data; renames: the replaced target went */
	if (!is_open(in->sc) && (opens_only || (in->sc != ZCAP_SYS_RENAME &&
						in->sc != ZCAP_SYS_RENAMEAT &&
						in->sc != ZCAP_SYS_RENAMEAT2)))
		return;
	ino = BPF_CORE_READ(inode, i_ino);
	if (bpf_map_update_elem(&trunc_ino, &tid, &ino, BPF_ANY))
		count_drop(ZCAP_DROP_MAPFULL);
}

static __always_inline void note_discard(struct inode *inode)
{
	note_discard_in(inode, false);
}

/* Any filesystem: cached pages thrown away (tmpfs keeps all data there). */
SEC("raw_tp/mm_filemap_delete_from_page_cache")
int BPF_PROG(rtp_folio_deleted, struct folio *folio)
{
	note_discard(BPF_CORE_READ(folio, mapping, host));
	return 0;
}

/* The same tracepoint before folios (5.16): a struct page, whose mapping
 * is where the folio's is (user/part_fs.c loads the one BTF names). */
struct page___mapping {
	struct address_space *mapping;
} __attribute__((preserve_access_index));

SEC("raw_tp/mm_filemap_delete_from_page_cache")
int BPF_PROG(rtp_page_deleted, struct page___mapping *page)
{
	note_discard(BPF_CORE_READ(page, mapping, host));
	return 0;
}

/* ext4: allocated blocks about to be freed (data not in the page cache). */
SEC("raw_tp/ext4_truncate_enter")
int BPF_PROG(rtp_ext4_truncate, struct inode *inode)
{
	if (BPF_CORE_READ(inode, i_blocks))
		note_discard(inode);
	return 0;
}

/*
 * ext4: a file that is all hole (no blocks, no pages to discard) still
 * loses its size to an O_TRUNC. ext4_setattr starts a journal handle for
 * the inode (6.5+: ext4_journal_start_inode), and before 6.x reordered it
 * also marks the inode dirty, while i_size is still the old one: a regular
 * file with a size there, inside an open, is one being cut. Opens only: a
 * rename dirties the files it moves, which discards nothing.
 */
static __always_inline void note_sized(struct inode *inode)
{
	if ((BPF_CORE_READ(inode, i_mode) & S_IFMT) == S_IFREG && BPF_CORE_READ(inode, i_size) > 0)
		note_discard_in(inode, true);
}

SEC("raw_tp/ext4_mark_inode_dirty")
int BPF_PROG(rtp_ext4_dirty, struct inode *inode, unsigned long ip)
{
	note_sized(inode);
	return 0;
}

SEC("raw_tp/ext4_journal_start_inode")
int BPF_PROG(rtp_ext4_journal_inode, struct inode *inode)
{
	note_sized(inode);
	return 0;
}

/* ext4: an inode freed (a rename's replaced target, empty or not) */
SEC("raw_tp/ext4_free_inode")
int BPF_PROG(rtp_ext4_free_inode, struct inode *inode)
{
	note_discard(inode);
	return 0;
}

/* ext4: delayed-allocation reservations released (written, not yet on disk). */
SEC("raw_tp/ext4_da_release_space")
int BPF_PROG(rtp_ext4_da_release, struct inode *inode, int freed_blocks)
{
	if (freed_blocks > 0)
		note_discard(inode);
	return 0;
}

/* ---- io_uring: operations that run without a syscall of their own ----- */

static __always_inline bool uring_op_wanted(__u8 op)
{
	switch (op) {
	case IORING_OP_READV:
	case IORING_OP_WRITEV:
	case IORING_OP_READ_FIXED:
	case IORING_OP_WRITE_FIXED:
	case IORING_OP_SENDMSG:
	case IORING_OP_RECVMSG:
	case IORING_OP_OPENAT:
	case IORING_OP_READ:
	case IORING_OP_WRITE:
	case IORING_OP_SEND:
	case IORING_OP_RECV:
	case IORING_OP_OPENAT2:
	case IORING_OP_SPLICE:
	case IORING_OP_TEE:
		return true;
	default:
		return false;
	}
}

/* splice/tee: both ends, as a ZCAP_EV_XFER record of syscall io_uring. */
/* The record names the request's owner, not an io-wq worker or kworker. */
static __always_inline void owner_hdr(struct zcap_hdr *h, struct task_struct *task)
{
	h->pid = BPF_CORE_READ(task, tgid);
	h->tid = BPF_CORE_READ(task, pid);
	BPF_CORE_READ_INTO(&h->comm, task, comm);
}

static __always_inline void uring_xfer(struct scratch_slot *s, struct io_kiocb *req,
				       struct task_struct *task, __u8 op, __s32 res)
{
	struct zcap_xfer_ev *x = (struct zcap_xfer_ev *)s->buf;
	struct io_splice *sp = (void *)req;
	__u32 sflags = BPF_CORE_READ(sp, flags);
	int fd_in = BPF_CORE_READ(sp, splice_fd_in);

	__builtin_memset(x, 0, sizeof(*x));
	fill_hdr(&x->h, ZCAP_EV_XFER, sizeof(*x));
	x->ret = res;
	x->off_in = BPF_CORE_READ(sp, off_in);
	x->off_out = BPF_CORE_READ(sp, off_out);
	x->len = BPF_CORE_READ(sp, len);
	x->syscall = ZCAP_SYS_IOURING;
	x->fd_in = (sflags & SPLICE_F_FD_IN_FIXED) ? -1 : fd_in;
	x->fd_out = -1;
	x->xflags = op;
	if (!(sflags & SPLICE_F_FD_IN_FIXED))
		fill_file_info(&x->in, fd_to_file(task, fd_in));
	fill_file_info(&x->out, BPF_CORE_READ(sp, file_out));
	owner_hdr(&x->h, task);
	submit(x, sizeof(*x));
}

/*
 * A completion: attributed to the task that owns the request (io-wq
 * workers and SQPOLL threads are threads of that process anyway).
 * ZCAP_EV_FS, syscall io_uring: arg = opcode | URING_ARG_CREATED | open
 * flags << 32, f = the file (for open: the new fd's), ret = the CQE
 * result, data = the path of an opened file.
 */
#define URING_ARG_CREATED 0x100 /* the open created the file */

/* The request's submitter: req->task until 6.13, req->tctx->task since */
struct io_kiocb___task {
	struct task_struct *task;
} __attribute__((preserve_access_index));

static __always_inline struct task_struct *uring_owner(struct io_kiocb *req)
{
	struct task_struct *task = NULL;

	if (bpf_core_field_exists(req->tctx))
		task = BPF_CORE_READ(req, tctx, task);
	else if (bpf_core_field_exists(struct io_kiocb___task, task))
		task = BPF_CORE_READ((struct io_kiocb___task *)req, task);
	return task ? task : (void *)bpf_get_current_task();
}

/* res: the CQE's result, or read from cqe when it is given */
static __always_inline int uring_complete(struct io_kiocb *req, struct io_uring_cqe *cqe, __s32 res)
{
	struct task_struct *task;
	struct scratch_slot *s;
	struct zcap_fs_ev *ev;
	struct file *file = NULL;
	__u32 tgid;
	__u8 op;
	int n = 0;

	if (!req)
		return 0;
	op = BPF_CORE_READ(req, opcode);
	if (!uring_op_wanted(op))
		return 0;
	task = uring_owner(req);
	tgid = BPF_CORE_READ(task, tgid);
	if (tgid == cfg.self_pid || (cfg.filter_pids && !bpf_map_lookup_elem(&traced_pids, &tgid)))
		return 0;
	if (cqe)
		res = BPF_CORE_READ(cqe, res);
	s = slot_get();
	if (!s)
		return 0;
	if (op == IORING_OP_SPLICE || op == IORING_OP_TEE) {
		uring_xfer(s, req, task, op, res);
		goto out;
	}
	ev = fs_begin(s, ZCAP_SYS_IOURING, res);
	ev->arg = op;
	if (op == IORING_OP_OPENAT || op == IORING_OP_OPENAT2) {
		struct io_open *o = (void *)req;

		ev->arg |= (__u64)(BPF_CORE_READ(o, how.flags) & 0xffffffff) << 32;
		if (res >= 0 && !BPF_CORE_READ(o, file_slot)) {
			ev->fd = res;
			file = fd_to_file(task, res);
		}
	} else {
		file = BPF_CORE_READ(req, file);
	}
	fill_file_info(&ev->f, file);
	if (file && (op == IORING_OP_OPENAT || op == IORING_OP_OPENAT2)) {
		n = file_path(s, file, DATA_OFF);
		if (BPF_CORE_READ(file, f_mode) & FMODE_CREATED)
			ev->arg |= URING_ARG_CREATED;
	}
	owner_hdr(&ev->h, task);
	fs_submit(ev, n > 0 ? n : 0, 0);
out:
	slot_put(s);
	return 0;
}

/* The tracepoint's prototype changed in 6.3; user/part_fs.c loads the one
 * this kernel's BTF has. */
SEC("raw_tp/io_uring_complete")
int BPF_PROG(rtp_uring_complete, struct io_ring_ctx *rctx, void *req, struct io_uring_cqe *cqe)
{
	return uring_complete(req, cqe, 0);
}

SEC("raw_tp/io_uring_complete")
int BPF_PROG(rtp_uring_complete_res, void *rctx, void *req, __u64 user_data, int res)
{
	return uring_complete(req, NULL, res);
}
