// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zlib.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "loader.h"
#include "probe.h"
#include "probe.skel.h"
#include "tracefs.h"
#include "util.h"

#define BTF_SYSFS     "/sys/kernel/btf/vmlinux"
#define LOCKDOWN_FILE "/sys/kernel/security/lockdown"
#define KPROBE_PMU    "/sys/bus/event_source/devices/kprobe/type"

static const char *const hook_names[PROBE_NHOOKS] = {
	[PROBE_KPROBE] = "kprobe",	   [PROBE_FENTRY] = "fentry",
	[PROBE_RAW_TP] = "raw_tp",	   [PROBE_TRACEPOINT] = "tracepoint",
	[PROBE_CGROUP_SKB] = "cgroup_skb", [PROBE_RINGBUF] = "ringbuf",
	[PROBE_BPF_LOOP] = "bpf_loop",
};

const char *probe_hook_name(enum probe_hook h)
{
	return h < PROBE_NHOOKS ? hook_names[h] : "?";
}

static void set_why(struct hook_status *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_why(struct hook_status *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->why, sizeof(st->why), fmt, ap);
	va_end(ap);
}

bool probe_parse_lockdown(const char *text, char *out, size_t outlen)
{
	const char *open = strchr(text, '['), *close;

	if (!open || !outlen)
		return false;
	close = strchr(open + 1, ']');
	if (!close || close == open + 1 || (size_t)(close - open - 1) >= outlen)
		return false;
	memcpy(out, open + 1, close - open - 1);
	out[close - open - 1] = 0;
	return true;
}

bool probe_find_cgroup2(const char *mounts_path, char *out, size_t outlen)
{
	struct mntent ent;
	char buf[4096];
	bool found = false;
	FILE *f;

	f = setmntent(mounts_path, "re");
	if (!f)
		return false;
	/* getmntent decodes the \040-style escapes of mount points */
	while (getmntent_r(f, &ent, buf, sizeof(buf))) {
		if (strcmp(ent.mnt_type, "cgroup2") || strlen(ent.mnt_dir) >= outlen)
			continue;
		strcpy(out, ent.mnt_dir);
		found = true;
		break;
	}
	endmntent(f);
	return found;
}

/*
 * Is CONFIG_name set in the running kernel's config? 1 yes, 0 no, -1 when
 * no config can be found. Never decides a probe: only explains one (and
 * gives the lockdown floor when securityfs is not mounted).
 */
static int kconfig_has(const char *name)
{
	char path[128], line[256], set[96], unset[96];
	struct utsname u;
	gzFile f;
	int found = -1;

	f = gzopen("/proc/config.gz", "rb");
	if (!f && uname(&u) == 0) {
		snprintf(path, sizeof(path), "/boot/config-%s", u.release);
		f = gzopen(path, "rb"); /* zlib reads plain text too */
	}
	if (!f)
		return -1;
	snprintf(set, sizeof(set), "CONFIG_%s=", name);
	snprintf(unset, sizeof(unset), "# CONFIG_%s is not set", name);
	while (found < 0 && gzgets(f, line, sizeof(line))) {
		if (!strncmp(line, set, strlen(set)))
			found = 1;
		else if (!strncmp(line, unset, strlen(unset)))
			found = 0;
	}
	gzclose(f);
	/* absent from a config that exists: not set */
	return found < 0 ? 0 : found;
}

static const char *const lockdown_levels[] = { "none", "integrity", "confidentiality" };

static int lockdown_level(const char *mode)
{
	for (int i = 0; i < 3; i++)
		if (!strcmp(mode, lockdown_levels[i]))
			return i;
	return -1;
}

bool probe_cmdline_lockdown(const char *cmdline, char *out, size_t outlen)
{
	char copy[4096], *save = NULL, *tok;
	int level = -1;

	snprintf(copy, sizeof(copy), "%s", cmdline);
	for (tok = strtok_r(copy, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		int l;

		if (!strcmp(tok, "--"))
			break; /* the rest is init's */
		if (strncmp(tok, "lockdown=", 9))
			continue;
		/* the kernel only ever raises the level: the highest wins */
		l = lockdown_level(tok + 9);
		if (l > level)
			level = l;
	}
	if (level <= 0 || strlen(lockdown_levels[level]) >= outlen)
		return false; /* "none" is not a value lockdown= takes */
	strcpy(out, lockdown_levels[level]);
	return true;
}

/*
 * The lockdown mode from securityfs; without it (not mounted), the floor
 * the boot command line and the kernel config impose. "" when unknown.
 */
static void read_lockdown(char *out, size_t outlen)
{
	char text[4096], mode[24];
	int level = -1, lsm;
	size_t n;
	FILE *f;

	out[0] = 0;
	f = fopen(LOCKDOWN_FILE, "re");
	if (f) {
		n = fread(text, 1, sizeof(text) - 1, f);
		text[n] = 0;
		fclose(f);
		if (!probe_parse_lockdown(text, out, outlen))
			out[0] = 0;
		return;
	}
	lsm = kconfig_has("SECURITY_LOCKDOWN_LSM");
	if (lsm == 0) {
		snprintf(out, outlen, "none"); /* not built in */
		return;
	}
	f = fopen("/proc/cmdline", "re");
	if (f) {
		n = fread(text, 1, sizeof(text) - 1, f);
		text[n] = 0;
		fclose(f);
		if (probe_cmdline_lockdown(text, mode, sizeof(mode)))
			level = lockdown_level(mode);
	}
	if (kconfig_has("LOCK_DOWN_KERNEL_FORCE_CONFIDENTIALITY") == 1)
		level = 2;
	else if (kconfig_has("LOCK_DOWN_KERNEL_FORCE_INTEGRITY") == 1 && level < 1)
		level = 1;
	else if (lsm == 1 && level < 0)
		level = 0;
	if (level >= 0)
		snprintf(out, outlen, "%s", lockdown_levels[level]);
}

void probe_facts(struct hook_support *hs)
{
	struct btf *btf;

	memset(hs, 0, sizeof(*hs));
	read_lockdown(hs->lockdown, sizeof(hs->lockdown));
	if (!probe_find_cgroup2("/proc/mounts", hs->cgroup2, sizeof(hs->cgroup2)))
		hs->cgroup2[0] = 0;
	hs->tracefs = tracefs_root();
	hs->btf_sysfs = access(BTF_SYSFS, R_OK) == 0;
	/* ZCAP_BTF_PATH: the test/debug override the capture uses too */
	btf = zcap_btf_path() ? btf__parse(zcap_btf_path(), NULL) : btf__load_vmlinux_btf();
	if (!btf)
		return;
	hs->btf_ok = true;
	btf__free(btf);
}

static struct bpf_program *program_of(struct probe_bpf *skel, enum probe_hook h)
{
	switch (h) {
	case PROBE_KPROBE:
		return skel->progs.probe_kprobe;
	case PROBE_FENTRY:
		return skel->progs.probe_fentry;
	case PROBE_RAW_TP:
		return skel->progs.probe_raw_tp;
	case PROBE_TRACEPOINT:
		return skel->progs.probe_tracepoint;
	case PROBE_CGROUP_SKB:
		return skel->progs.probe_cgroup_skb;
	case PROBE_RINGBUF:
		return skel->progs.probe_ringbuf;
	case PROBE_BPF_LOOP:
		return skel->progs.probe_bpf_loop;
	default:
		return NULL;
	}
}

static void explain_load(const struct hook_support *hs, struct hook_status *st,
			 enum probe_hook h, int err)
{
	const char *text = strerror(err);

	if (err == EPERM && geteuid()) {
		set_why(st, "load refused: %s (run as root)", text);
	} else if (err == EPERM) {
		/* root was refused: the kernel's policy, not ours */
		if (!hs->lockdown[0])
			set_why(st, "load refused: %s (lockdown or BPF LSM?)", text);
		else if (strcmp(hs->lockdown, "none"))
			set_why(st, "load refused: %s (lockdown=%s / BPF LSM)", text,
				hs->lockdown);
		else
			set_why(st, "load refused: %s (BPF LSM policy?)", text);
	} else if (h == PROBE_FENTRY && err == ESRCH) {
		set_why(st, "tcp_sendmsg is not in the kernel's BTF");
	} else if (h == PROBE_RINGBUF) {
		set_why(st, "ring buffer refused: %s (needs BPF ring buffers, Linux 5.8+)", text);
	} else if (h == PROBE_BPF_LOOP) {
		set_why(st, "bpf_loop refused: %s (needs the bpf_loop helper, Linux 5.17+)", text);
	} else {
		set_why(st, "load refused: %s", text);
	}
}

static void explain_attach(const struct hook_support *hs, struct hook_status *st,
			   enum probe_hook h, int err)
{
	const char *text = strerror(err);

	if (h == PROBE_KPROBE && access(KPROBE_PMU, F_OK)) {
		if (kconfig_has("KPROBES") == 0)
			set_why(st, "no kprobe PMU: kernel built without CONFIG_KPROBES");
		else
			set_why(st, "no kprobe PMU (CONFIG_KPROBES off?): %s", text);
	} else if (h == PROBE_KPROBE) {
		set_why(st, "attach to tcp_sendmsg failed: %s", text);
	} else if (h == PROBE_TRACEPOINT && err == ENOENT) {
		set_why(st, "no syscalls/sys_enter_getpid tracepoint%s",
			kconfig_has("FTRACE_SYSCALLS") == 0 ?
				": kernel built without CONFIG_FTRACE_SYSCALLS" :
				" (CONFIG_FTRACE_SYSCALLS off?)");
	} else if (h == PROBE_CGROUP_SKB) {
		set_why(st, "attach at the cgroup2 root %s failed: %s%s", hs->cgroup2, text,
			err == EPERM && geteuid() ? " (needs CAP_NET_ADMIN)" : "");
	} else if ((err == EPERM || err == EACCES) && geteuid()) {
		set_why(st, "attach failed: %s (run as root)", text);
	} else {
		set_why(st, "attach failed: %s", text);
	}
}

/* Attach the loaded program of hook h; the link (if any) goes to *link. */
static int attach_one(struct hook_support *hs, struct hook_status *st, struct bpf_program *prog,
		      enum probe_hook h, struct bpf_link **link)
{
	int cg_fd, err = 0;

	switch (h) {
	case PROBE_RINGBUF:
	case PROBE_BPF_LOOP:
		return 0; /* loading was the test */
	case PROBE_TRACEPOINT:
		if (!hs->tracefs) {
			set_why(st, "needs tracefs: %s", hs->tracefs_why);
			return -ENOENT;
		}
		break;
	case PROBE_CGROUP_SKB:
		if (!hs->cgroup2[0]) {
			set_why(st, "no cgroup2 file system mounted");
			return -ENOENT;
		}
		cg_fd = open(hs->cgroup2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cg_fd < 0) {
			err = errno;
			set_why(st, "cannot open %s: %s", hs->cgroup2, strerror(err));
			return -err;
		}
		/* a link: it detaches when destroyed, or when zcap dies */
		*link = bpf_program__attach_cgroup(prog, cg_fd);
		err = *link ? 0 : errno;
		close(cg_fd);
		goto out;
	default:
		break;
	}
	*link = bpf_program__attach(prog);
	err = *link ? 0 : errno;
out:
	if (err)
		explain_attach(hs, st, h, err);
	return -err;
}

/* Load and attach only hook h's program; everything undone before return. */
static int probe_one(struct hook_support *hs, enum probe_hook h, bool *opened)
{
	struct hook_status *st = &hs->hook[h];
	struct bpf_program *prog, *want;
	struct bpf_link *link = NULL;
	struct probe_bpf *skel;
	int err;

	st->probed = true;
	skel = probe_bpf__open();
	if (!skel) {
		err = -errno;
		set_why(st, "cannot open the probe BPF object: %s", strerror(-err));
		return err;
	}
	*opened = true;
	want = program_of(skel, h);
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, prog == want);
	/* only the ring buffer probe may depend on ring buffers existing */
	bpf_map__set_autocreate(skel->maps.probe_rb, h == PROBE_RINGBUF);
	bpf_map__set_max_entries(skel->maps.probe_rb, sysconf(_SC_PAGESIZE));
	err = probe_bpf__load(skel);
	if (err) {
		explain_load(hs, st, h, -err);
		goto cleanup;
	}
	err = attach_one(hs, st, want, h, &link);
	if (err)
		goto cleanup;
	st->ok = true;
	if (h == PROBE_CGROUP_SKB)
		set_why(st, "cgroup2 at %s", hs->cgroup2);
cleanup:
	bpf_link__destroy(link);
	probe_bpf__destroy(skel);
	return err;
}

static int print_nothing(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

static int probe_quietly(struct hook_support *hs, enum probe_hook h, bool *opened)
{
	libbpf_print_fn_t old_print = NULL;
	int err;

	/* failed probes are expected: keep libbpf's complaints for -v */
	if (!zcap_verbose)
		old_print = libbpf_set_print(print_nothing);
	err = probe_one(hs, h, opened);
	if (!zcap_verbose)
		libbpf_set_print(old_print);
	return err;
}

int probe_hook(struct hook_support *hs, enum probe_hook h)
{
	bool opened = false;

	if (h >= PROBE_NHOOKS)
		return -EINVAL;
	return probe_quietly(hs, h, &opened);
}

int probe_hooks(struct hook_support *hs)
{
	bool opened = false;
	int n = 0, err;

	probe_facts(hs);
	/* the doctor reports a failure in its tracefs line: no message here */
	err = tracefs_mount(&hs->tracefs_mounted);
	if (err)
		snprintf(hs->tracefs_why, sizeof(hs->tracefs_why),
			 "not mounted, and mounting it failed: %s", strerror(-err));
	hs->tracefs = tracefs_root();
	err = 0;
	for (int h = 0; h < PROBE_NHOOKS; h++) {
		int rc = probe_quietly(hs, h, &opened);

		if (!rc)
			n++;
		else if (!err)
			err = rc;
	}
	/* the object itself would not open: no result says anything of hooks */
	return opened ? n : err;
}
