// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Container ids and pod UIDs read from cgroup v2 paths (user/container.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "container.h"

#define ID   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UID  "5a9c3b1e-7d2f-4c8a-9e6b-0f1d2c3b4a59"
#define UID_ "5a9c3b1e_7d2f_4c8a_9e6b_0f1d2c3b4a59"

static void expect(const char *path, const char *runtime, const char *id, const char *pod)
{
	struct container c;

	container_of_cgroup(path, &c);
	if (runtime) {
		assert_non_null(c.runtime);
		assert_string_equal(c.runtime, runtime);
	} else {
		assert_null(c.runtime);
	}
	assert_string_equal(c.id, id);
	assert_string_equal(c.pod_uid, pod);
}

static void test_layouts(void **state)
{
	expect("/system.slice/docker-" ID ".scope", "docker", ID, "");
	expect("/docker/" ID, "docker", ID, "");
	expect("/machine.slice/libpod-" ID ".scope", "podman", ID, "");
	expect("/libpod_parent/libpod-" ID, "podman", ID, "");
	expect("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
	       ".slice/cri-containerd-" ID ".scope",
	       "containerd", ID, UID);
	expect("/kubepods.slice/kubepods-pod" UID_ ".slice/crio-" ID ".scope", "cri-o", ID, UID);
	expect("/kubepods/besteffort/pod" UID "/" ID, NULL, ID, UID);
	/* the container's own sub-cgroups keep its id */
	expect("/system.slice/docker-" ID ".scope/init.scope", "docker", ID, "");
}

static void test_not_containers(void **state)
{
	expect("/", NULL, "", "");
	expect("", NULL, "", "");
	expect("/user.slice/user-1000.slice/session-2.scope", NULL, "", "");
	/* a bare 64-hex name outside docker and pods is no container */
	expect("/x/" ID, NULL, "", "");
	/* one digit short, upper case, a suffix too many */
	expect("/system.slice/docker-"
	       "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
	       ".scope",
	       NULL, "", "");
	expect("/system.slice/docker-"
	       "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"
	       ".scope",
	       NULL, "", "");
	expect("/system.slice/docker-" ID ".scope.x", NULL, "", "");
	expect("/libpod-conmon-" ID ".scope", NULL, "", "");
	expect("/kubepods/besteffort/pod"
	       "5a9c3b1e-7d2f-4c8a-9e6b",
	       NULL, "", "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layouts),
		cmocka_unit_test(test_not_containers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
