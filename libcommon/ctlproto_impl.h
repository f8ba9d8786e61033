/* SPDX-License-Identifier: MIT */
/*
 * Private helpers shared by ctlproto.c (the messages) and ctlproto_state.c
 * (ClusterState): bounded field readers that fail the breader (sticky)
 * with a reason, and the matching writers. Not for use outside libcommon.
 */
#ifndef KLOG_CTLPROTO_IMPL_H
#define KLOG_CTLPROTO_IMPL_H

#include "ctlproto.h"

/* The failure reason marking an allocation failure (EXIT_SOFTWARE). */
extern const char ctlproto_oom[];

/*
 * A string into dst[size]: refused (reader failed with `why`) when null
 * and not `nullable`, too long or holding a NUL. Null reads as "".
 */
void ctlproto_get_fixed(struct breader *r, char *dst, size_t size,
    bool nullable, const char *why);
/* A non-null string as a malloc'd C string (NULL once the reader failed). */
char *ctlproto_get_dup(struct breader *r, const char *why);
/* An array count checked against the bytes left and against `cap`. */
int32_t ctlproto_get_count(struct breader *r, size_t min_elem, int32_t cap,
    const char *why);
/* calloc(n, size) failing the reader when out of memory; NULL for n = 0. */
void *ctlproto_get_array(struct breader *r, int32_t n, size_t size);
/* [int32] of at most CTLPROTO_MAX_REPLICAS into dst, count into *n. */
void ctlproto_get_ids(struct breader *r, int32_t *dst, int32_t *n,
    const char *why);
void ctlproto_put_ids(struct buf *b, const int32_t *v, int32_t n);
/* error_message: nullable, truncated to CTLPROTO_MSG_MAX - 1 bytes. */
void ctlproto_get_message(struct breader *r, char *dst);
void ctlproto_put_message(struct buf *b, const char *msg);
/* A ClusterState into *out (initialised here); caller releases it. */
void ctlproto_get_cluster_state(struct breader *r, struct cluster_state *out);
/* 0 when the reader is fine, else -1 with `e` naming `what` and where. */
int ctlproto_finish(const struct breader *r, const char *what, struct err *e);

#endif
