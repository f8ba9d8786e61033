/* SPDX-License-Identifier: MIT */
/*
 * The delivery report (-o FORMAT): one line on standard output per
 * acknowledged record, in the order the acknowledgements come (a
 * partition's records in order). Only with -o does a batch keep each
 * record's input number and timestamp. A closed stdout (EPIPE) quietly
 * ends the report, not the producing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kprod.h"
#include "log.h"
#include "util.h"
#include "banned.h"

int
kp_format_check(const char *fmt, struct err *e)
{
	const char *p;

	for (p = fmt; *p != '\0'; p++) {
		if (*p == '\\') {
			if (p[1] == '\0' || strchr("ntr\\", p[1]) == NULL)
				return err_set(e, EXIT_USAGE, "-o: unknown "
				    "escape '\\%c' (use \\n \\t \\r \\\\)",
				    p[1] ? p[1] : ' ');
			p++;
		} else if (*p == '%') {
			if (p[1] == '\0' || strchr("tpolT%", p[1]) == NULL)
				return err_set(e, EXIT_USAGE, "-o: unknown "
				    "token '%%%c' (use %%t %%p %%o %%l %%T "
				    "%%%%)", p[1] ? p[1] : ' ');
			p++;
		}
	}
	return 0;
}

/* Note the next record of p's open batch for the report. */
void
kp_report_note(struct kp_part *p, uint64_t recno, int64_t ts)
{
	if ((size_t)p->rb.count >= p->meta_cap) {
		size_t cap = p->meta_cap ? p->meta_cap * 2 : 256;

		p->meta = xrealloc(p->meta, cap * sizeof(*p->meta));
		p->meta_cap = cap;
	}
	p->meta[p->rb.count].recno = recno;
	p->meta[p->rb.count].ts = ts;
}

static void
put_line(struct kprod *kp, const struct kp_batch *b, int32_t i, int64_t base)
{
	const char *p;
	struct buf *o = &kp->outline;

	for (p = kp->o->output; *p != '\0'; p++) {
		if (*p == '\\') {
			p++;
			buf_putc(o, *p == 'n' ? '\n' : *p == 't' ? '\t' :
			    *p == 'r' ? '\r' : '\\');
			continue;
		}
		if (*p != '%') {
			buf_putc(o, *p);
			continue;
		}
		switch (*++p) {
		case 't':
			buf_put_str(o, kp->o->topic);
			break;
		case 'p':
			buf_printf(o, "%" PRId32, b->part->id);
			break;
		case 'o':
			buf_printf(o, "%" PRId64, base >= 0 ? base + i : -1);
			break;
		case 'l':
			buf_printf(o, "%" PRIu64, b->meta[i].recno);
			break;
		case 'T':
			buf_printf(o, "%" PRId64, b->meta[i].ts);
			break;
		default:
			buf_putc(o, '%');
			break;
		}
	}
}

void
kp_report_batch(struct kprod *kp, const struct kp_batch *b, int64_t base)
{
	struct buf *o = &kp->outline;
	int32_t i;

	if (kp->o->output == NULL || kp->out_closed || b->meta == NULL)
		return;
	buf_clear(o);
	for (i = 0; i < b->count; i++)
		put_line(kp, b, i, base);
	if (o->failed)
		log_fatalx(EXIT_OSERR, "out of memory formatting the report");
	if (fwrite(o->data, 1, o->len, stdout) != o->len) {
		kp->out_closed = true;
		if (errno != EPIPE) {
			log_warn("unable to write the report to standard "
			    "output");
			kp->out_failed = true;
		}
	}
}
