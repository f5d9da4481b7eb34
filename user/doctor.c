// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* zcap doctor: can zcap run here, and if not, what to fix. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <json-c/json.h>

#include "cli.h"
#include "commands.h"
#include "loader.h"
#include "privs.h"
#include "probe.h"
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

struct report {
	struct utsname uts;
	struct hook_support hs;
	struct check checks[NCHECKS];
	const char *send_hook; /* NULL: not probed */
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
	"kprobe and fentry are optional (the send path uses the first that works, else the "
	"tcp:tcp_sendmsg_locked tracepoint); cgroup_skb is needed only for pcap-ng packet "
	"capture. Run as root: the hook probes load BPF programs, and tracefs is mounted at "
	"/sys/kernel/tracing when it is not mounted yet.\n\n"
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
	return h == PROBE_RAW_TP || h == PROBE_TRACEPOINT || h == PROBE_RINGBUF ||
	       h == PROBE_BPF_LOOP;
}

static void check_hook(struct check *c, const struct hook_status *st, enum probe_hook h)
{
	if (!st->probed)
		set_check(c, CHECK_UNKNOWN, "not checked (needs privileges)");
	else if (st->ok)
		set_check(c, CHECK_OK, "%s", st->why);
	else if (h == PROBE_CGROUP_SKB)
		set_check(c, CHECK_NO, "%s; optional: needed only for pcap-ng packet capture",
			  st->why);
	else
		set_check(c, CHECK_NO, "%s", st->why);
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
	r->send_hook = privileged ? probe_send_hook(&r->hs) : NULL;

	r->can_run = true;
	for (int i = 0; i < NCHECKS; i++)
		if (r->checks[i].required && r->checks[i].status != CHECK_OK)
			r->can_run = false;
}

/* What the send-path hook attaches to. */
static const char *send_hook_target(const char *hook)
{
	if (!strcmp(hook, "kprobe") || !strcmp(hook, "fentry"))
		return "tcp_sendmsg";
	if (!strcmp(hook, "tracepoint"))
		return "tcp:tcp_sendmsg_locked";
	return NULL;
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
	const char *target;

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
	if (!r->send_hook)
		printf("send path: unknown (probing needs privileges)\n");
	else if ((target = send_hook_target(r->send_hook)))
		printf("send path: %s (%s)\n", r->send_hook, target);
	else
		printf("send path: none (bodies of zero-copy sends will not be captured)\n");
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
	json_object_object_add(root, "send_path", json_str_or_null(r->send_hook));
	json_object_object_add(root, "send_path_target",
			       json_str_or_null(r->send_hook ? send_hook_target(r->send_hook) :
							       NULL));
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
