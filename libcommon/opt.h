/* SPDX-License-Identifier: MIT */
/*
 * Parsing of numeric and duration option values with range checks
 * (strtonum-style): the whole string must be a number within [min, max].
 * On failure `e` says which value was bad and why, ready to print as
 * "prog: <msg>" before the usage text.
 */
#ifndef KLOG_OPT_H
#define KLOG_OPT_H

#include <stdint.h>

#include "err.h"

struct option;

int opt_parse_u64(const char *name, const char *s, uint64_t min, uint64_t max,
    uint64_t *out, struct err *e);
int opt_parse_i64(const char *name, const char *s, int64_t min, int64_t max,
    int64_t *out, struct err *e);
/*
 * A duration in milliseconds: a number with an optional unit
 * ms, s, m, h, d (no unit means milliseconds).
 */
int opt_parse_dur_ms(const char *name, const char *s, int64_t min, int64_t max,
    int64_t *out, struct err *e);
/* A size in bytes: a number with an optional unit k, m, g (powers of 1024). */
int opt_parse_size(const char *name, const char *s, uint64_t min, uint64_t max,
    uint64_t *out, struct err *e);

/*
 * Describe a getopt_long() failure in the words of a usage error: run
 * getopt with opterr = 0 and an optstring starting with ':', then pass the
 * ':' or '?' it returned, argv[optind - 1] and optopt. Writes e.g.
 * "unknown option '--bogus'", "option -n needs a value", "ambiguous option
 * '--re'" or "option '--help' takes no value" to dst.
 */
void opt_error_text(const struct option *longopts, int c, const char *arg,
    int short_opt, char *dst, size_t size);

#endif
