// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* placeholder until the doctor lands */
#include "commands.h"
int cmd_doctor(int argc, char **argv)
{
	return 0;
}
