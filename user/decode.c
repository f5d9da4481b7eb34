// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <string.h>

#include "decode.h"

size_t zev_fixed_size(unsigned int type)
{
	switch (type) {
	case ZCAP_EV_IO:
		return sizeof(struct zcap_io);
	case ZCAP_EV_FD:
		return sizeof(struct zcap_fd_ev);
	case ZCAP_EV_PROC:
		return sizeof(struct zcap_proc_ev);
	case ZCAP_EV_XFER:
		return sizeof(struct zcap_xfer_ev);
	case ZCAP_EV_SEND:
		return sizeof(struct zcap_send_ev);
	case ZCAP_EV_PKT:
		return sizeof(struct zcap_pkt_ev);
	case ZCAP_EV_FS:
		return sizeof(struct zcap_fs_ev);
	default:
		return 0;
	}
}

static int fail(const char **why, const char *msg, int err)
{
	if (why)
		*why = msg;
	return err;
}

bool fd_has_sockstrs(unsigned int syscall)
{
	return syscall != ZCAP_SYS_OPEN && syscall != ZCAP_SYS_OPENAT &&
	       syscall != ZCAP_SYS_OPENAT2 && syscall != ZCAP_SYS_CREAT;
}

static int check_fdinfo(const struct zcap_fdinfo *f)
{
	return f->kind < ZCAP_FD_KIND_MAX;
}

int zev_decode(const void *buf, size_t len, struct zev *out, const char **why)
{
	const struct zcap_hdr *h = buf;
	size_t fixed;

	if (!buf || len < sizeof(*h))
		return fail(why, "record shorter than its header", -EINVAL);
	fixed = zev_fixed_size(h->type);
	if (!fixed)
		return fail(why, "unknown record type", -EPROTO);
	if (h->hdr_len != fixed)
		return fail(why, "record size does not match this zcap's ABI", -EPROTO);
	if (len < fixed || h->data_len > len - fixed)
		return fail(why, "record length inconsistent", -EINVAL);

	memset(out, 0, sizeof(*out));
	out->type = h->type;
	out->h = h;
	out->raw = buf;
	out->data = (const uint8_t *)buf + fixed;
	out->data_len = h->data_len;

	switch (h->type) {
	case ZCAP_EV_IO:
		if (out->io->syscall >= ZCAP_SYS_MAX || out->io->dir > ZCAP_DIR_OUT ||
		    !check_fdinfo(&out->io->f))
			return fail(why, "io record out of range", -EINVAL);
		if (h->data_len > ZCAP_CHUNK)
			return fail(why, "io chunk larger than ZCAP_CHUNK", -EINVAL);
		break;
	case ZCAP_EV_FD:
		if (out->fd->syscall >= ZCAP_SYS_MAX || !check_fdinfo(&out->fd->f) ||
		    !check_fdinfo(&out->fd->f2))
			return fail(why, "fd record out of range", -EINVAL);
		if (h->data_len >= ZCAP_PATH_MAX)
			return fail(why, "fd record path too long", -EINVAL);
		if (!fd_has_sockstrs(out->fd->syscall)) {
			if (out->fd->addr_len || out->fd->lname_len || out->fd->pname_len)
				return fail(why, "socket strings in an open record", -EINVAL);
		} else if (out->fd->addr_len >= ZCAP_SOCKSTR_MAX ||
			   out->fd->lname_len > ZCAP_SOCKSTR_MAX ||
			   out->fd->pname_len > ZCAP_SOCKSTR_MAX ||
			   (uint32_t)out->fd->addr_len + out->fd->lname_len + out->fd->pname_len !=
				   h->data_len) {
			return fail(why, "fd record socket strings do not add up", -EINVAL);
		}
		break;
	case ZCAP_EV_PROC:
		if (out->proc->syscall != ZCAP_SYS_FORK && out->proc->syscall != ZCAP_SYS_EXEC &&
		    out->proc->syscall != ZCAP_SYS_EXIT)
			return fail(why, "proc record of unknown kind", -EINVAL);
		if (out->proc->argv_len > h->data_len)
			return fail(why, "proc record argv longer than its data", -EINVAL);
		break;
	case ZCAP_EV_XFER:
		if (out->xfer->syscall >= ZCAP_SYS_MAX || !check_fdinfo(&out->xfer->in) ||
		    !check_fdinfo(&out->xfer->out))
			return fail(why, "xfer record out of range", -EINVAL);
		break;
	case ZCAP_EV_SEND:
		if (!check_fdinfo(&out->send->f) || h->data_len > ZCAP_CHUNK)
			return fail(why, "send record out of range", -EINVAL);
		break;
	case ZCAP_EV_PKT:
		if (out->pkt->dir > ZCAP_DIR_OUT || h->data_len > out->pkt->pkt_len)
			return fail(why, "packet record out of range", -EINVAL);
		break;
	case ZCAP_EV_FS:
		if (out->fs->syscall >= ZCAP_SYS_MAX || out->fs->path_len > h->data_len ||
		    !check_fdinfo(&out->fs->f))
			return fail(why, "fs record out of range", -EINVAL);
		break;
	}
	return 0;
}
