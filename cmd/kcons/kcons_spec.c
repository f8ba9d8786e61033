/* SPDX-License-Identifier: MIT */
/*
 * The -o grammar: kcat's words and s@/e@ forms, rpk's +N, @TIME and
 * START:STOP ranges, with times in milliseconds, ISO 8601 (UTC unless a
 * zone is given) or -DURATION before now. Parsing is strict: anything
 * not recognised is a usage error, never offset 0.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "opt.h"
#include "kcons.h"
#include "banned.h"

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian, any year). */
static int64_t
civil_days(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy;

	if (m <= 2)
		y--;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static int
month_days(int64_t y, int64_t m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* Exactly n digits at *p; advances *p. */
static bool
take_digits(const char **p, int n, int64_t *out)
{
	int64_t v = 0;
	int i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/*
 * ISO 8601 / RFC 3339: YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|+HH[:MM]|-HH[:MM]].
 * Without a zone the time is UTC. Sets *end past what it used.
 */
static bool
parse_iso(const char *s, int64_t *out, const char **end)
{
	int64_t y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, zh = 0, zm = 0;
	const char *p = s;
	int sign = 0, n;

	if (!take_digits(&p, 4, &y) || *p++ != '-' ||
	    !take_digits(&p, 2, &mo) || *p++ != '-' ||
	    !take_digits(&p, 2, &d))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo))
		return false;
	if ((*p == 'T' || *p == 't' || *p == ' ') &&
	    isdigit((unsigned char)p[1])) {
		p++;
		if (!take_digits(&p, 2, &h) || *p++ != ':' ||
		    !take_digits(&p, 2, &mi))
			return false;
		/* ":SS", but not the ':' of START:STOP before a year. */
		if (p[0] == ':' && isdigit((unsigned char)p[1]) &&
		    isdigit((unsigned char)p[2]) &&
		    !isdigit((unsigned char)p[3])) {
			p++;
			if (!take_digits(&p, 2, &sec))
				return false;
			if (*p == '.' || *p == ',') {
				p++;
				for (n = 0; isdigit((unsigned char)*p);
				    n++, p++)
					if (n < 3)
						ms = ms * 10 + (*p - '0');
				if (n == 0)
					return false;
				for (; n < 3; n++)
					ms *= 10;
			}
		}
		if (h > 23 || mi > 59 || sec > 60)
			return false;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1])) {
		sign = *p++ == '-' ? -1 : 1;
		if (!take_digits(&p, 2, &zh))
			return false;
		if (*p == ':' && isdigit((unsigned char)p[1]))
			p++;
		if (isdigit((unsigned char)*p) && !take_digits(&p, 2, &zm))
			return false;
		if (zh > 23 || zm > 59)
			return false;
	}
	*out = ((civil_days(y, mo, d) * 24 + h) * 60 + mi) * 60 + sec;
	*out = (*out - sign * (zh * 3600 + zm * 60)) * 1000 + ms;
	*end = p;
	return true;
}

int
kc_time_parse(const char *s, int64_t now_ms, int64_t *out, const char **end,
    struct err *e)
{
	const char *p = s;
	int64_t v;

	if (*s == '-') {
		/* -DURATION: that long before now. */
		char dur[32];
		size_t n;

		p++;
		while (isdigit((unsigned char)*p))
			p++;
		while (isalpha((unsigned char)*p))
			p++;
		n = (size_t)(p - s - 1);
		if (n == 0 || n >= sizeof(dur))
			goto bad;
		memcpy(dur, s + 1, n);
		dur[n] = '\0';
		if (opt_parse_dur_ms("-o", dur, 0, now_ms, &v, e) < 0)
			return -1;
		*out = now_ms - v;
		*end = p;
		return 0;
	}
	if (parse_iso(s, out, end)) {
		if (*out < 0)
			return err_set(e, EXIT_USAGE, "-o: time '%s' is before "
			    "1970", s);
		return 0;
	}
	if (!isdigit((unsigned char)*s))
		goto bad;
	for (v = 0; isdigit((unsigned char)*p); p++) {
		if (v > (INT64_MAX - (*p - '0')) / 10)
			goto bad;
		v = v * 10 + (*p - '0');
	}
	/* A date that failed to parse is not a number followed by junk. */
	if (*p == '-')
		goto bad;
	*out = v;
	*end = p;
	return 0;
bad:
	return err_set(e, EXIT_USAGE, "-o: bad time in '%s' (use milliseconds, "
	    "an ISO 8601 time such as 2024-05-01T12:00:00Z, or -DURATION "
	    "such as -1h)", s);
}

/* A non-negative decimal number; sets *end after it. */
static bool
parse_count(const char *s, int64_t *out, const char **end)
{
	int64_t v = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (INT64_MAX - (*p - '0')) / 10)
			return false;
		v = v * 10 + (*p - '0');
	}
	*out = v;
	*end = p;
	return true;
}

/* A word followed by the end of the spec or ':'. */
static bool
word(const char *s, const char *w, const char **end)
{
	size_t n = strlen(w);

	if (strncmp(s, w, n) != 0 || (s[n] != '\0' && s[n] != ':'))
		return false;
	*end = s + n;
	return true;
}

static int
bad_offset(const char *arg, struct err *e)
{
	return err_set(e, EXIT_USAGE, "-o: bad offset '%s' (use beginning, "
	    "end, N, -N, +N, @TIME, START:STOP, s@TIME or e@TIME)", arg);
}

static int
parse_start(struct kc_offset_spec *spec, const char *arg, const char *s,
    int64_t now_ms, const char **end, struct err *e)
{
	int64_t v;

	if (spec->start_set)
		return err_set(e, EXIT_USAGE, "-o: the start is given twice "
		    "('%s')", arg);
	spec->start_set = true;
	spec->start_value = 0;
	if (word(s, "beginning", end) || word(s, "start", end)) {
		spec->start = KC_START_BEGINNING;
	} else if (word(s, "end", end)) {
		spec->start = KC_START_END;
	} else if (*s == '@' || strncmp(s, "s@", 2) == 0) {
		spec->start = KC_START_TIME;
		if (kc_time_parse(s + (*s == '@' ? 1 : 2), now_ms, &v, end,
		    e) < 0)
			return -1;
		spec->start_value = v;
	} else if (*s == '-' || *s == '+') {
		spec->start = *s == '-' ? KC_START_TAIL : KC_START_SKIP;
		if (!parse_count(s + 1, &v, end))
			return bad_offset(arg, e);
		spec->start_value = v;
	} else if (parse_count(s, &v, end)) {
		spec->start = KC_START_OFFSET;
		spec->start_value = v;
	} else {
		return bad_offset(arg, e);
	}
	return 0;
}

/* STOP: end, N, @TIME, or after a @TIME start a bare TIME. */
static int
parse_stop(struct kc_offset_spec *spec, const char *arg, const char *s,
    bool time_start, int64_t now_ms, struct err *e)
{
	const char *end;
	int64_t v;

	if (spec->stop_set)
		return err_set(e, EXIT_USAGE, "-o: the stop is given twice "
		    "('%s')", arg);
	spec->stop_set = true;
	if (strcmp(s, "end") == 0) {
		spec->stop = KC_STOP_END;
		return 0;
	}
	if (*s == '@' || time_start) {
		if (kc_time_parse(s + (*s == '@'), now_ms, &v, &end, e) < 0)
			return -1;
		spec->stop = KC_STOP_TIME;
	} else if (parse_count(s, &v, &end)) {
		spec->stop = KC_STOP_OFFSET;
	} else {
		return bad_offset(arg, e);
	}
	if (*end != '\0')
		return bad_offset(arg, e);
	spec->stop_value = v;
	return 0;
}

int
kc_offset_parse(struct kc_offset_spec *spec, const char *arg, int64_t now_ms,
    struct err *e)
{
	const char *rest;

	if (strcmp(arg, "stored") == 0) {
		if (spec->start_set)
			return err_set(e, EXIT_USAGE, "-o: the start is given "
			    "twice ('%s')", arg);
		spec->start = KC_START_STORED;
		spec->start_value = 0;
		spec->start_set = true;
		return 0;
	}
	if (strncmp(arg, "e@", 2) == 0)
		return parse_stop(spec, arg, arg + 1, true, now_ms, e);
	if (*arg == ':')
		return parse_stop(spec, arg, arg + 1, false, now_ms, e);
	if (parse_start(spec, arg, arg, now_ms, &rest, e) < 0)
		return -1;
	if (*rest == '\0')
		return 0;
	if (*rest != ':' || rest[1] == '\0' || strncmp(arg, "s@", 2) == 0)
		return bad_offset(arg, e);
	return parse_stop(spec, arg, rest + 1, spec->start == KC_START_TIME,
	    now_ms, e);
}
