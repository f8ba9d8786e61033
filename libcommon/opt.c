/* SPDX-License-Identifier: MIT */
/*
 * Option value parsing (see opt.h).
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opt.h"
#include "banned.h"

static int
parse_signed(const char *name, const char *s, int64_t *out, const char **rest,
    struct err *e)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return err_set(e, EXIT_USAGE, "%s: expected a number, got '%s'",
		    name, s ? s : "");
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s)
		return err_set(e, EXIT_USAGE, "%s: expected a number, got '%s'",
		    name, s);
	if (errno == ERANGE)
		return err_set(e, EXIT_USAGE, "%s: number out of range: '%s'",
		    name, s);
	*out = v;
	*rest = end;
	return 0;
}

int
opt_parse_i64(const char *name, const char *s, int64_t min, int64_t max,
    int64_t *out, struct err *e)
{
	const char *rest;
	int64_t v;

	if (parse_signed(name, s, &v, &rest, e) < 0)
		return -1;
	if (*rest != '\0')
		return err_set(e, EXIT_USAGE, "%s: expected a number, got '%s'",
		    name, s);
	if (v < min || v > max)
		return err_set(e, EXIT_USAGE,
		    "%s: %s is out of range [%" PRId64 ", %" PRId64 "]", name, s,
		    min, max);
	*out = v;
	return 0;
}

int
opt_parse_u64(const char *name, const char *s, uint64_t min, uint64_t max,
    uint64_t *out, struct err *e)
{
	char *end;
	unsigned long long v;

	if (s == NULL || !isdigit((unsigned char)*s))
		return err_set(e, EXIT_USAGE,
		    "%s: expected a non-negative number, got '%s'", name,
		    s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return err_set(e, EXIT_USAGE,
		    "%s: expected a non-negative number, got '%s'", name, s);
	if (errno == ERANGE || v < min || v > max)
		return err_set(e, EXIT_USAGE,
		    "%s: %s is out of range [%" PRIu64 ", %" PRIu64 "]", name, s,
		    min, max);
	*out = v;
	return 0;
}

/* Multiply with an overflow check against [min, max]. */
static int
scale_checked(const char *name, const char *s, int64_t v, int64_t unit,
    int64_t min, int64_t max, int64_t *out, struct err *e)
{
	if ((v > 0 && v > INT64_MAX / unit) || (v < 0 && v < INT64_MIN / unit))
		return err_set(e, EXIT_USAGE, "%s: number out of range: '%s'",
		    name, s);
	v *= unit;
	if (v < min || v > max)
		return err_set(e, EXIT_USAGE,
		    "%s: %s is out of range [%" PRId64 ", %" PRId64 "] ms", name,
		    s, min, max);
	*out = v;
	return 0;
}

int
opt_parse_dur_ms(const char *name, const char *s, int64_t min, int64_t max,
    int64_t *out, struct err *e)
{
	static const struct {
		const char *suffix;
		int64_t ms;
	} units[] = {
		{ "", 1 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 },
	};
	const char *rest;
	int64_t v;
	size_t i;

	if (parse_signed(name, s, &v, &rest, e) < 0)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(rest, units[i].suffix) == 0)
			return scale_checked(name, s, v, units[i].ms, min, max,
			    out, e);
	return err_set(e, EXIT_USAGE,
	    "%s: bad duration '%s' (use a number with ms, s, m, h or d)", name, s);
}

int
opt_parse_size(const char *name, const char *s, uint64_t min, uint64_t max,
    uint64_t *out, struct err *e)
{
	const char *rest;
	int64_t v, unit = 1;

	if (parse_signed(name, s, &v, &rest, e) < 0)
		return -1;
	if (v < 0)
		return err_set(e, EXIT_USAGE, "%s: size must not be negative: '%s'",
		    name, s);
	if (*rest == 'k' || *rest == 'K')
		unit = 1024;
	else if (*rest == 'm' || *rest == 'M')
		unit = 1024 * 1024;
	else if (*rest == 'g' || *rest == 'G')
		unit = 1024 * 1024 * 1024;
	else if (*rest != '\0')
		return err_set(e, EXIT_USAGE,
		    "%s: bad size '%s' (use a number with k, m or g)", name, s);
	if (unit > 1 && rest[1] != '\0' && strcmp(rest + 1, "b") != 0 &&
	    strcmp(rest + 1, "B") != 0 && strcmp(rest + 1, "iB") != 0)
		return err_set(e, EXIT_USAGE,
		    "%s: bad size '%s' (use a number with k, m or g)", name, s);
	if (v > INT64_MAX / unit || (uint64_t)(v * unit) < min ||
	    (uint64_t)(v * unit) > max)
		return err_set(e, EXIT_USAGE,
		    "%s: %s is out of range [%" PRIu64 ", %" PRIu64 "] bytes",
		    name, s, min, max);
	*out = (uint64_t)(v * unit);
	return 0;
}

void
opt_error_text(const struct option *longopts, int c, const char *arg,
    int short_opt, char *dst, size_t size)
{
	const char *eq;
	size_t n, i, matches = 0;
	bool is_long = arg != NULL && strncmp(arg, "--", 2) == 0;

	if (c == ':') {
		if (!is_long && short_opt != 0)
			snprintf(dst, size, "option -%c needs a value", short_opt);
		else
			snprintf(dst, size, "option '%s' needs a value",
			    arg ? arg : "?");
		return;
	}
	if (!is_long) {
		snprintf(dst, size, "unknown option -%c", short_opt);
		return;
	}
	eq = strchr(arg, '=');
	n = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
	for (i = 0; longopts[i].name != NULL; i++) {
		if (strncmp(longopts[i].name, arg + 2, n) != 0)
			continue;
		if (strlen(longopts[i].name) == n && eq != NULL) {
			snprintf(dst, size, "option '--%s' takes no value",
			    longopts[i].name);
			return;
		}
		matches++;
	}
	if (matches > 1)
		snprintf(dst, size, "ambiguous option '%.*s'", (int)n + 2, arg);
	else
		snprintf(dst, size, "unknown option '%s'", arg);
}
