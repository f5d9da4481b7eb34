/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Names of the ABI's enumerations, as printed and as accepted in filters. */
#ifndef ZCAP_NAMES_H
#define ZCAP_NAMES_H

#include "zcap_abi.h"

const char *syscall_name(unsigned int sc);	/* "?" when unknown */
int syscall_by_name(const char *name);		/* -1 when unknown */
const char *fd_kind_name(unsigned int kind);	/* "unknown" when out of range */
const char *dir_name(unsigned int dir);		/* "in", "out", "-" */
const char *drop_cause_name(unsigned int cause);

#endif
