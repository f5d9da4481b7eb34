/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The container a cgroup v2 path belongs to, read from the names the
 * runtimes give their cgroups (a naming convention, not an API; the
 * deepest component that matches wins):
 *
 *   docker (systemd driver)   .../docker-<64hex>.scope
 *   docker (cgroupfs driver)  /docker/<64hex>
 *   podman                    .../libpod-<64hex>.scope, /libpod_parent/libpod-<64hex>
 *   containerd (CRI)          .../cri-containerd-<64hex>.scope
 *   CRI-O                     .../crio-<64hex>.scope
 *   Kubernetes, cgroupfs      /kubepods/<qos>/pod<uid>/<64hex>
 *
 * and the Kubernetes pod UID from `pod<uid>` (cgroupfs driver) or
 * `kubepods[-<qos>]-pod<uid with _ for ->.slice` (systemd driver).
 */
#ifndef ZCAP_CONTAINER_H
#define ZCAP_CONTAINER_H

#define CONTAINER_ID_LEN 64
#define POD_UID_LEN	 36

struct container {
	const char *runtime; /* "docker", "podman", "containerd", "cri-o"; NULL if unknown */
	char id[CONTAINER_ID_LEN + 1]; /* "" when the path names no container */
	char pod_uid[POD_UID_LEN + 1]; /* "" when not in a Kubernetes pod */
};

void container_of_cgroup(const char *path, struct container *out);

#endif
