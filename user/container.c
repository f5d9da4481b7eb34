// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Container ids and pod UIDs in cgroup paths (container.h). */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "container.h"

static bool hex_id(const char *s, size_t n)
{
	if (n != CONTAINER_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

/* "<prefix><64hex><suffix>" exactly: the id is copied out */
static bool id_between(const char *comp, size_t n, const char *prefix, const char *suffix, char *id)
{
	size_t p = strlen(prefix), s = strlen(suffix);

	if (n != p + CONTAINER_ID_LEN + s || strncmp(comp, prefix, p) ||
	    strncmp(comp + n - s, suffix, s) || !hex_id(comp + p, CONTAINER_ID_LEN))
		return false;
	memcpy(id, comp + p, CONTAINER_ID_LEN);
	id[CONTAINER_ID_LEN] = 0;
	return true;
}

/* A pod UID: 8-4-4-4-12 hex digits, with '-' (cgroupfs) or '_' (systemd
 * slices, where '-' separates the slice's parents) */
static bool pod_uid(const char *s, size_t n, char *out)
{
	if (n != POD_UID_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool sep = i == 8 || i == 13 || i == 18 || i == 23;

		if (sep ? s[i] != '-' && s[i] != '_' : !isxdigit((unsigned char)s[i]))
			return false;
		out[i] = sep ? '-' : s[i];
	}
	out[n] = 0;
	return true;
}

static void pod_of(const char *comp, size_t n, char *out)
{
	const char *pod;

	/* cgroupfs: "pod<uid>" */
	if (n > 3 && !strncmp(comp, "pod", 3) && pod_uid(comp + 3, n - 3, out))
		return;
	/* systemd: "kubepods-besteffort-pod<uid>.slice", "kubepods-pod<uid>.slice" */
	if (n > 6 && !strncmp(comp, "kubepods", 8) && !strncmp(comp + n - 6, ".slice", 6)) {
		pod = memmem(comp, n, "-pod", 4);
		if (pod)
			pod_uid(pod + 4, comp + n - 6 - (pod + 4), out);
	}
}

static bool below_docker(const char *parent, size_t n)
{
	return n == 6 && !strncmp(parent, "docker", 6);
}

void container_of_cgroup(const char *path, struct container *out)
{
	const char *comp = path, *parent = "";
	size_t parent_len = 0;
	char pod[POD_UID_LEN + 1];

	memset(out, 0, sizeof(*out));
	while (comp && *comp) {
		size_t n;

		while (*comp == '/')
			comp++;
		n = strcspn(comp, "/");
		if (!n)
			break;
		pod[0] = 0;
		pod_of(comp, n, pod);
		if (pod[0])
			memcpy(out->pod_uid, pod, sizeof(pod));
		if (id_between(comp, n, "docker-", ".scope", out->id))
			out->runtime = "docker";
		else if (id_between(comp, n, "libpod-", ".scope", out->id) ||
			 id_between(comp, n, "libpod-", "", out->id))
			out->runtime = "podman";
		else if (id_between(comp, n, "cri-containerd-", ".scope", out->id))
			out->runtime = "containerd";
		else if (id_between(comp, n, "crio-", ".scope", out->id))
			out->runtime = "cri-o";
		else if (hex_id(comp, n) && (below_docker(parent, parent_len) || out->pod_uid[0])) {
			/* cgroupfs drivers: the bare id below "docker" or a pod */
			memcpy(out->id, comp, n);
			out->id[n] = 0;
			out->runtime = below_docker(parent, parent_len) ? "docker" : NULL;
		}
		parent = comp;
		parent_len = n;
		comp += n;
	}
}
