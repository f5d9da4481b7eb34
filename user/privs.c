// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Privileges a capture needs (see privs.h): checked, not assumed from uid. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>

#include "privs.h"
#include "tracefs.h"
#include "util.h"

/* Effective capabilities from /proc/self/status (0 when unreadable). */
static unsigned long long effective_caps(void)
{
	unsigned long long caps = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	fclose(f);
	return caps;
}

static void add(char *buf, size_t len, const char *what)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s", n ? ", " : "", what);
}

bool privs_check(bool packets, char *missing, size_t len)
{
	unsigned long long caps = effective_caps();
	bool admin = caps & (1ULL << CAP_SYS_ADMIN);
	const char *root = tracefs_root();
	char events[64];

	missing[0] = 0;
	if (!admin && !(caps & (1ULL << CAP_BPF)))
		add(missing, len, "CAP_BPF");
	if (!admin && !(caps & (1ULL << CAP_PERFMON)))
		add(missing, len, "CAP_PERFMON");
	if (packets && !admin && !(caps & (1ULL << CAP_NET_ADMIN)))
		add(missing, len, "CAP_NET_ADMIN for packet capture");
	if (!root) {
		if (!admin)
			add(missing, len, "CAP_SYS_ADMIN to mount tracefs");
	} else {
		/* effective ids and capabilities, as the opens later will be */
		snprintf(events, sizeof(events), "%s/events", root);
		if (faccessat(AT_FDCWD, events, R_OK | X_OK, AT_EACCESS))
			add(missing, len, "access to the root-only tracefs");
	}
	return !missing[0];
}

bool privs_ok(bool packets)
{
	char missing[256];

	if (privs_check(packets, missing, sizeof(missing)))
		return true;
	if (geteuid() == 0) /* a root without capabilities: a container, a bounding set */
		zcap_err("permission denied: root here lacks %s (grant the missing capabilities)",
			 missing);
	else
		zcap_err("permission denied: run as root (missing %s)", missing);
	return false;
}
