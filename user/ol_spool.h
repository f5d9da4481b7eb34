/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The OpenLineage spool: RunEvents the lineage server did not take, kept
 * until a later run (or `zcap lineage --flush-spool`) delivers them. One
 * event (one line of JSON text) per line, oldest first. The file is zcap's
 * own: a regular file of zcap's user, mode 0600, never a symlink (a spool
 * in /tmp someone else prepared would have zcap send their events). Every
 * use holds an flock on it, so runs sharing a spool never send an event
 * twice nor lose one appended meanwhile.
 */
#ifndef ZCAP_OL_SPOOL_H
#define ZCAP_OL_SPOOL_H

/* Before CMD runs: the spool at path is usable (absent is fine). 0, or
 * -errno with one line printed. */
int ol_spool_check(const char *path);

/* Add n events after the ones kept (creating the file, and a missing
 * last directory, 0700); fsync'd. 0 or -errno (one line printed). */
int ol_spool_append(const char *path, char *const *events, int n);

/*
 * Deliver the kept events in order with send (0: delivered), stopping at
 * the first it did not deliver: that one and the rest stay. The file is
 * removed once empty. *sent and *left count events. 0, or -errno of the
 * file (one line printed).
 */
int ol_spool_flush(const char *path, int (*send)(void *ctx, const char *json), void *ctx,
		   int *sent, int *left);

#endif
