// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* zcap doctor: can zcap run here, and if not, what to fix. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <json-c/json.h>

#include "bpf_part.h"
#include "cli.h"
#include "commands.h"
#include "loader.h"
#include "privs.h"
#include "probe.h"
#include "send_path.h"
#include "util.h"

#define TRACEFS_FIX "mount -t tracefs nodev /sys/kernel/tracing"

enum check_status { CHECK_OK, CHECK_NO, CHECK_UNKNOWN };

static const char *const status_word[] = { "ok", "no", "--" };
static const char *const status_json[] = { "ok", "no", "unknown" };

enum { CHK_PRIVILEGES, CHK_BTF, CHK_TRACEFS, CHK_HOOKS, NCHECKS = CHK_HOOKS + PROBE_NHOOKS };

struct check {
	const char *name;
	bool required;
	enum check_status status;
	char detail[256];
};

struct doctor_args {
	bool json;
	bool quiet;
};

/* What the capture itself would load, beyond the generic hook probes. */
struct features {
	bool probed;
	struct send_path sp;	 /* every send hook family, with the self-test */
	int uring;		 /* URING_* */
	bool capture_ok;	 /* record's and lineage's programs load and attach */
	char capture_why[256];	 /* why not */
	char disabled[256];	 /* features disabled on this kernel */
};

struct report {
	struct utsname uts;
	struct hook_support hs;
	struct check checks[NCHECKS];
	struct features f;
	bool can_run;
};

enum { OPT_JSON = 0x100 };

static const struct argp_option doctor_options[] = {
	{ "json", OPT_JSON, NULL, 0, "One JSON object with the same facts", 0 },
	{ "quiet", 'q', NULL, 0, "Print only the required checks that fail", 0 },
	{ "verbose", 'v', NULL, 0, "libbpf messages of the probes on stderr (twice: debug)", 0 },
	{ 0 },
};

static const char doctor_doc[] =
	"Check what this kernel and machine allow zcap to do: privileges, kernel BTF, "
	"tracefs, and which BPF hook types load and attach here (each is tried, not guessed "
	"from the kernel version).\v"
	"Capturing needs CAP_BPF and CAP_PERFMON, read access to tracefs (root-only) and "
	"CAP_SYS_ADMIN to mount it when it is not mounted; packet capture (pcap-ng) also "
	"CAP_NET_ADMIN: in practice, root. "
	"kprobe and fentry are optional. The send path (zero-copy bodies) is tested the way "
	"`zcap record` uses it: each hook family (kprobe, fentry, then the "
	"tcp:tcp_sendmsg_locked tracepoint) is attached to every TCP send function this "
	"kernel has (do_tcp_sendpages before 6.5, tcp_sendmsg_locked) and a sendfile of a "
	"known pattern must come out byte-exact; the first family that sees it is the one "
	"`record` uses. The programs of `record` and `lineage` are loaded and attached once, "
	"and features this kernel cannot give (e.g. io_uring lineage) are named. cgroup_skb "
	"is needed only for pcap-ng packet capture. Run as root: the probes load BPF "
	"programs, and tracefs is mounted at /sys/kernel/tracing when it is not mounted "
	"yet.\n\n"
	"Exit status: 0 zcap can run here, 1 a required piece of the kernel or machine is "
	"missing (each named with its fix), 2 bad usage or missing privileges (run as root).";

static error_t doctor_parse(int key, char *arg, struct argp_state *state)
{
	struct doctor_args *a = state->input;

	switch (key) {
	case OPT_JSON:
		a->json = true;
		break;
	case 'q':
		a->quiet = true;
		break;
	case 'v':
		zcap_verbose++;
		break;
	case ARGP_KEY_ARG:
		cli_fail("unexpected argument '%s'", arg);
		return EINVAL;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp doctor_argp = {
	.options = doctor_options,
	.parser = doctor_parse,
	.doc = doctor_doc,
};

static void set_check(struct check *c, enum check_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_check(struct check *c, enum check_status st, const char *fmt, ...)
{
	va_list ap;

	c->status = st;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
}

/* What `zcap record` checks before it starts (privs.h), and whether
 * packet capture would have what it needs on top. */
static bool check_privileges(struct check *c)
{
	char missing[256], who[32];

	if (geteuid() == 0)
		snprintf(who, sizeof(who), "root");
	else
		snprintf(who, sizeof(who), "uid %u", geteuid());
	if (!privs_check(false, missing, sizeof(missing))) {
		if (geteuid() == 0)
			set_check(c, CHECK_NO, "root lacking %s: grant the missing capabilities",
				  missing);
		else
			set_check(c, CHECK_NO, "%s, missing %s: run as root", who, missing);
		return false;
	}
	if (!privs_check(true, missing, sizeof(missing)))
		set_check(c, CHECK_OK, "%s; missing %s", who, missing);
	else
		set_check(c, CHECK_OK, "%s", who);
	return true;
}

static void check_btf(struct check *c, const struct hook_support *hs)
{
	if (!hs->btf_ok)
		set_check(c, CHECK_NO, "kernel has no BTF: needs CONFIG_DEBUG_INFO_BTF=y");
	else if (hs->btf_sysfs)
		set_check(c, CHECK_OK, "/sys/kernel/btf/vmlinux");
	else
		set_check(c, CHECK_OK, "found by libbpf, but no /sys/kernel/btf/vmlinux");
}

static void check_tracefs(struct check *c, const struct hook_support *hs, bool probed)
{
	if (hs->tracefs)
		set_check(c, CHECK_OK, "%s%s", hs->tracefs,
			  hs->tracefs_mounted ? " (mounted by zcap)" : "");
	else if (probed)
		set_check(c, CHECK_NO, "%s; fix: %s", hs->tracefs_why, TRACEFS_FIX);
	else
		set_check(c, CHECK_UNKNOWN, "not mounted; zcap mounts it when run as root "
					    "(or: " TRACEFS_FIX ")");
}

static bool hook_required(enum probe_hook h)
{
	return h == PROBE_RAW_TP || h == PROBE_TRACEPOINT || h == PROBE_RINGBUF;
}

static void check_hook(struct check *c, const struct hook_status *st, enum probe_hook h)
{
	if (!st->probed)
		set_check(c, CHECK_UNKNOWN, "not checked (needs privileges)");
	else if (st->ok)
		set_check(c, CHECK_OK, "%s", st->why);
	else if (h == PROBE_BPF_LOOP)
		set_check(c, CHECK_NO, "%s; optional: the bounded-loop builds are used", st->why);
	else if (h == PROBE_CGROUP_SKB)
		set_check(c, CHECK_NO, "%s; optional: needed only for pcap-ng packet capture",
			  st->why);
	else
		set_check(c, CHECK_NO, "%s", st->why);
}

static int count_record(void *ctx, void *data, size_t len)
{
	return 0;
}

/* Send hook families with the self-test; the capture's own programs
 * loaded and attached once (tracing no process). */
static void probe_features(struct features *f)
{
	struct loader_opts o = { .snaplen = 0,
				 .filter_pids = true,
				 .ringbuf_bytes = 1 << 16,
				 .no_send_path = true,
				 .want_fs = true,
				 .quiet_optional = true,
				 .on_record = count_record };
	struct loader *l = NULL;
	int err;

	f->probed = true;
	send_path_choose("auto", true, false, &f->sp);
	f->uring = part_fs_uring_variant();
	err = loader_open(&l, &o);
	f->capture_ok = err == 0;
	if (err)
		snprintf(f->capture_why, sizeof(f->capture_why), "%s (run `zcap record -v` for why)",
			 strerror(-err));
	else
		snprintf(f->disabled, sizeof(f->disabled), "%s", loader_disabled(l));
	loader_close(l);
}

static void run_checks(struct report *r)
{
	bool privileged;

	memset(r, 0, sizeof(*r));
	if (uname(&r->uts))
		strcpy(r->uts.sysname, "?");
	r->checks[CHK_PRIVILEGES] = (struct check){ .name = "privileges", .required = true };
	r->checks[CHK_BTF] = (struct check){ .name = "BTF", .required = true };
	r->checks[CHK_TRACEFS] = (struct check){ .name = "tracefs", .required = true };
	for (int h = 0; h < PROBE_NHOOKS; h++)
		r->checks[CHK_HOOKS + h] = (struct check){ .name = probe_hook_name(h),
							   .required = hook_required(h) };

	privileged = check_privileges(&r->checks[CHK_PRIVILEGES]);
	/* without privileges every load would fail for that reason alone */
	if (privileged)
		probe_hooks(&r->hs);
	else
		probe_facts(&r->hs);
	check_btf(&r->checks[CHK_BTF], &r->hs);
	check_tracefs(&r->checks[CHK_TRACEFS], &r->hs, privileged);
	for (int h = 0; h < PROBE_NHOOKS; h++)
		check_hook(&r->checks[CHK_HOOKS + h], &r->hs.hook[h], h);
	if (privileged && r->checks[CHK_BTF].status == CHECK_OK)
		probe_features(&r->f);

	r->can_run = !r->f.probed || r->f.capture_ok;
	for (int i = 0; i < NCHECKS; i++)
		if (r->checks[i].required && r->checks[i].status != CHECK_OK)
			r->can_run = false;
}

static const char *uring_detail(const struct features *f)
{
	if (strstr(f->disabled, "io_uring"))
		return "no: its program does not load here";
	switch (f->uring) {
	case URING_CQE:
		return "ok: raw_tp io_uring_complete (ctx, req, cqe)";
	case URING_RES:
		return "ok: raw_tp io_uring_complete (ctx, req, user_data, res, ...)";
	default:
		return "no: io_uring_complete does not pass the request on this kernel";
	}
}

/* Which build of the BPF objects the capture loads (kern/common.bpf.h). */
static const char *loops_detail(void)
{
	static char buf[200];

	if (part_bpf_loop())
		return "bpf_loop";
	snprintf(buf, sizeof(buf),
		 "bounded (no bpf_loop): a walk stops after %d turns (an iovec or a %d KiB chunk "
		 "each; %d iovecs and 1 MiB fit), more is flagged truncated",
		 ZCAP_BOUNDED_TURNS, ZCAP_CHUNK / 1024, ZCAP_IOV_MAX);
	return buf;
}

/*
 * What capture gives less of here than on a kernel with every hook, one
 * entry a feature: the line a user on an old or locked-down kernel looks
 * for first. NULL-terminated; empty when nothing is reduced.
 */
#define MAX_REDUCTIONS 6
static void reductions(const struct report *r, const char *out[MAX_REDUCTIONS + 1])
{
	static char disabled[sizeof(r->f.disabled) + 64];
	const struct send_path *sp = &r->f.sp;
	int n = 0;

	if (sp->family == SEND_NFAMILIES)
		out[n++] = "zero-copy bodies (no send hook)";
	else if (!sp->bodies_ok)
		out[n++] = "zero-copy bodies: sizes only (the body self-test failed)";
	/* a disabled io_uring program is named with the disabled ones below */
	if (!strstr(r->f.disabled, "io_uring") && strncmp(uring_detail(&r->f), "ok", 2))
		out[n++] = "io_uring lineage (io_uring_complete does not pass the request)";
	if (!part_bpf_loop())
		out[n++] = "buffer walks bounded (no bpf_loop; see loops)";
	if (r->checks[CHK_HOOKS + PROBE_CGROUP_SKB].status != CHECK_OK)
		out[n++] = "pcap-ng packets (no cgroup_skb)";
	if (r->f.disabled[0]) {
		snprintf(disabled, sizeof(disabled), "programs disabled: %s", r->f.disabled);
		out[n++] = disabled;
	}
	out[n] = NULL;
}

static const char *family_status(const struct send_family_result *r)
{
	return r->fired ? (r->bytes_ok ? "ok" : "sizes only") : "no";
}
static void print_check(const struct check *c)
{
	if (c->detail[0])
		printf("  %-5s %-15s %s\n", status_word[c->status], c->name, c->detail);
	else
		printf("  %-5s %s\n", status_word[c->status], c->name);
}

static void print_text(const struct report *r, bool quiet)
{
	if (quiet) {
		for (int i = 0; i < NCHECKS; i++)
			if (r->checks[i].required && r->checks[i].status == CHECK_NO)
				print_check(&r->checks[i]);
		return;
	}
	printf("zcap doctor: %s %s %s", r->uts.sysname, r->uts.release, r->uts.machine);
	if (r->hs.lockdown[0])
		printf(", lockdown=%s", r->hs.lockdown);
	printf("\n");
	for (int i = 0; i < NCHECKS; i++)
		print_check(&r->checks[i]);
	if (!r->f.probed) {
		printf("send path: unknown (probing needs privileges and BTF)\n");
	} else {
		const struct send_path *sp = &r->f.sp;

		for (int fam = 0; fam < SEND_NFAMILIES; fam++) {
			const struct send_family_result *fr = &sp->fam[fam];

			printf("send hook %s: %s: %s%s%s\n", send_family_name(fam), family_status(fr),
			       fr->available ? fr->desc : "", fr->available ? "; " : "",
			       fr->why[0] ? fr->why : "body self-test passed");
		}
		if (sp->family == SEND_NFAMILIES)
			printf("send path: none (bodies of zero-copy sends will not be captured)\n");
		else
			printf("send path: %s (%s)%s\n", send_family_name(sp->family),
			       sp->fam[sp->family].desc, sp->bodies_ok ? "" : ", sizes only");
		printf("io_uring lineage: %s\n", uring_detail(&r->f));
		printf("loops: %s\n", loops_detail());
		if (r->f.capture_ok)
			printf("capture programs: ok%s%s\n", r->f.disabled[0] ? "; disabled here: " : "",
			       r->f.disabled);
		else
			printf("capture programs: no: %s\n", r->f.capture_why);
		if (r->f.capture_ok) {
			const char *red[MAX_REDUCTIONS + 1];

			reductions(r, red);
			printf("reduced here: %s", red[0] ? red[0] : "nothing");
			for (int i = 1; red[i]; i++)
				printf("; %s", red[i]);
			printf("\n");
		}
	}
	if (r->can_run)
		printf("zcap can run here.\n");
	else
		printf("zcap cannot run here: fix the required checks marked 'no' above.\n");
}

static json_object *json_str_or_null(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

static int print_json(const struct report *r)
{
	json_object *root = json_object_new_object(), *kernel, *checks, *c;
	const char *text;
	int rc = 0;

	if (!root)
		return -1;
	kernel = json_object_new_object();
	json_object_object_add(root, "kernel", kernel);
	json_object_object_add(kernel, "sysname", json_object_new_string(r->uts.sysname));
	json_object_object_add(kernel, "release", json_object_new_string(r->uts.release));
	json_object_object_add(kernel, "machine", json_object_new_string(r->uts.machine));
	json_object_object_add(root, "lockdown", json_str_or_null(r->hs.lockdown));
	checks = json_object_new_object();
	json_object_object_add(root, "checks", checks);
	for (int i = 0; i < NCHECKS; i++) {
		const struct check *k = &r->checks[i];

		c = json_object_new_object();
		json_object_object_add(checks, k->name, c);
		json_object_object_add(c, "status", json_object_new_string(status_json[k->status]));
		json_object_object_add(c, "required", json_object_new_boolean(k->required));
		json_object_object_add(c, "detail", json_object_new_string(k->detail));
		if (i == CHK_TRACEFS) {
			json_object_object_add(c, "path", json_str_or_null(r->hs.tracefs));
			json_object_object_add(c, "mounted_by_zcap",
					       json_object_new_boolean(r->hs.tracefs_mounted));
		} else if (i == CHK_HOOKS + PROBE_CGROUP_SKB) {
			json_object_object_add(c, "cgroup2", json_str_or_null(r->hs.cgroup2));
		}
	}
	json_object_object_add(root, "send_path",
			       r->f.probed ? json_object_new_string(send_family_name(r->f.sp.family)) :
					     NULL);
	json_object_object_add(root, "send_path_target",
			       r->f.probed && r->f.sp.family != SEND_NFAMILIES ?
				       json_object_new_string(r->f.sp.fam[r->f.sp.family].desc) :
				       NULL);
	if (r->f.probed) {
		json_object *hooks = json_object_new_object(), *offered = json_object_new_array();

		json_object_object_add(root, "body_self_test",
				       json_object_new_string(r->f.sp.family == SEND_NFAMILIES ?
								      "no hook" :
							      r->f.sp.bodies_ok ? "passed" :
										  "failed"));
		for (int fam = 0; fam < SEND_NFAMILIES; fam++) {
			const struct send_family_result *fr = &r->f.sp.fam[fam];

			c = json_object_new_object();
			json_object_object_add(hooks, send_family_name(fam), c);
			json_object_object_add(c, "status", json_object_new_string(family_status(fr)));
			json_object_object_add(c, "available", json_object_new_boolean(fr->available));
			json_object_object_add(c, "attaches", json_object_new_boolean(fr->attached));
			json_object_object_add(c, "fires", json_object_new_boolean(fr->fired));
			json_object_object_add(c, "bytes_ok", json_object_new_boolean(fr->bytes_ok));
			json_object_object_add(c, "targets",
					       json_str_or_null(fr->available ? fr->desc : NULL));
			json_object_object_add(c, "detail", json_object_new_string(fr->why));
			if (fr->fired)
				json_object_array_add(offered,
						      json_object_new_string(send_family_name(fam)));
		}
		json_object_object_add(root, "send_hooks", hooks);
		json_object_object_add(root, "send_hooks_offered", offered);
		c = json_object_new_object();
		json_object_object_add(root, "io_uring_lineage", c);
		json_object_object_add(c, "ok",
				       json_object_new_boolean(!strncmp(uring_detail(&r->f), "ok", 2)));
		json_object_object_add(c, "detail", json_object_new_string(uring_detail(&r->f)));
		json_object_object_add(root, "loops", json_object_new_string(part_bpf_loop() ? "bpf_loop" :
											       "bounded"));
		c = json_object_new_object();
		json_object_object_add(root, "capture_programs", c);
		json_object_object_add(c, "ok", json_object_new_boolean(r->f.capture_ok));
		json_object_object_add(c, "detail", json_object_new_string(r->f.capture_ok ?
										 "" :
										 r->f.capture_why));
		json_object_object_add(c, "disabled", json_object_new_string(r->f.disabled));
		if (r->f.capture_ok) {
			const char *red[MAX_REDUCTIONS + 1];
			json_object *a = json_object_new_array();

			reductions(r, red);
			for (int i = 0; red[i]; i++)
				json_object_array_add(a, json_object_new_string(red[i]));
			json_object_object_add(root, "reduced", a);
		}
	}
	json_object_object_add(root, "can_run", json_object_new_boolean(r->can_run));
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text || printf("%s\n", text) < 0)
		rc = -1;
	json_object_put(root);
	return rc;
}

int cmd_doctor(int argc, char **argv)
{
	struct doctor_args a = { 0 };
	struct report r;
	int rc;

	rc = cli_parse(&doctor_argp, argc, argv, &a, "doctor");
	if (rc)
		return rc;
	loader_setup_libbpf(zcap_verbose);
	run_checks(&r);
	if (a.json) {
		if (print_json(&r)) {
			zcap_err("doctor: cannot write the JSON report");
			return ZCAP_EXIT_FAIL;
		}
	} else {
		print_text(&r, a.quiet);
	}
	if (fflush(stdout)) {
		zcap_err("doctor: cannot write the report: %m");
		return ZCAP_EXIT_FAIL;
	}
	if (r.can_run)
		return ZCAP_EXIT_OK;
	/* the convention of every command: missing privileges are exit 2 */
	return r.checks[CHK_PRIVILEGES].status == CHECK_OK ? ZCAP_EXIT_FAIL : ZCAP_EXIT_USAGE;
}
