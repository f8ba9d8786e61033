/* SPDX-License-Identifier: MIT */
/*
 * kprod's run: find the topic (waiting up to -m for brokers and a new
 * topic's leaders), get a producer id when idempotent, then one loop that
 * polls the brokers and the input together. Input is read only while the
 * buffer has room (back-pressure: nothing is ever dropped). At the end of
 * the input, or on the first SIGINT/SIGTERM, reading stops and whatever
 * is pending is delivered within the flush timeout; a second signal gives
 * up at once. One function maps the outcome to the exit status.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kprod.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "banned.h"

/* Input bytes read in one go before the brokers get a turn. */
#define KP_READ_BUDGET (16u << 20)
#define KP_PROGRESS_MS 1000

struct kp_loop {
	bool input_done;
	int input_code;		/* 65, 66, 74: an input problem ended it */
	int64_t start;
	int64_t flush_deadline;
	int64_t next_progress;
	int64_t progress_at;
	uint64_t progress_acked;
	int metadata_failures;
};

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static const char *
topics_arg(const struct kprod *kp)
{
	return kp->o->topic;
}

/* Metadata for the topic until it has partitions, or -m runs out. */
static int
find_topic(struct kprod *kp, struct err *e)
{
	int64_t deadline = clock_mono_ms() + kp->o->metadata_timeout_ms;
	const char *topic = topics_arg(kp);
	int attempt = 0;

	for (;;) {
		if (kcl_metadata(kp->k, &topic, 1, kp->cfg.auto_create,
		    e) == 0 && kp_parts_update(kp, e) == 0)
			break;
		if (e->code != EXIT_UNAVAILABLE && e->code != EXIT_TEMPFAIL &&
		    e->code != EXIT_NOUSER)
			return -1;
		if (clock_mono_ms() >= deadline || kp_signals() > 0) {
			if (e->code == EXIT_NOUSER)
				return err_set(e, EXIT_NOUSER, "topic '%s' "
				    "does not exist%s", topic,
				    kp->cfg.auto_create ? " (and the broker "
				    "does not create topics)" : "");
			return -1;
		}
		log_debug("waiting for topic '%s': %s", topic, e->msg);
		if (kcl_poll(kp->k, NULL, 0, (int)min64(kp->cfg.backoff_ms <<
		    (attempt < 4 ? attempt : 4), 1000), e) < 0)
			return -1;
		attempt++;
	}
	kp->metadata_at = clock_mono_ms();
	if (kp->o->partition >= kp->nparts)
		return err_set(e, EXIT_NOUSER, "partition %" PRId32 " does not "
		    "exist: topic '%s' has %" PRId32 " partition%s",
		    kp->o->partition, topic, kp->nparts,
		    kp->nparts == 1 ? "" : "s");
	return 0;
}

static int
start_idempotence(struct kprod *kp, struct err *e)
{
	int32_t i;
	int rc;

	if (kp->cfg.idempotence == KP_IDEMP_OFF)
		return 0;
	rc = kp_init_producer_id(kp, e);
	if (rc < 0) {
		if (kp->cfg.idempotence == KP_IDEMP_REQUIRED)
			return err_wrap(e, "enable.idempotence=true");
		log_warnx("%s; producing without idempotence (retries may "
		    "duplicate records)", e->msg);
		err_clear(e);
		return 0;
	}
	kp->idempotent = true;
	for (i = 0; i < kp->nparts; i++) {
		kp->parts[i]->pid = kp->pid;
		kp->parts[i]->epoch = kp->epoch;
	}
	return 0;
}

static void
refresh_metadata(struct kprod *kp, struct kp_loop *l, int64_t now)
{
	const char *topic = topics_arg(kp);
	struct err e = { 0 };

	if (kcl_metadata(kp->k, &topic, 1, kp->cfg.auto_create, &e) == 0 &&
	    kp_parts_update(kp, &e) == 0) {
		kp->need_metadata = false;
		kp->metadata_at = now;
		l->metadata_failures = 0;
		kp->metadata_next = now + kp->cfg.backoff_ms;
		return;
	}
	l->metadata_failures++;
	if (l->metadata_failures == 1 || log_get_level() >= LOG_LEVEL_DEBUG)
		log_warnx("metadata refresh failed: %s", e.msg);
	kp->metadata_next = now + min64(kp->cfg.backoff_ms <<
	    (l->metadata_failures < 5 ? l->metadata_failures : 5),
	    kp->cfg.backoff_max_ms);
}

/* Turn the records in the input buffer into batched records. */
static void
take_records(struct kprod *kp, struct kp_loop *l, int64_t now)
{
	const struct kp_opts *o = kp->o;
	int64_t wall = clock_wall_ms();
	struct kp_rec r;
	struct err e = { 0 };
	int32_t p;

	while (!l->input_done) {
		enum kp_next n = kp_input_next(&kp->in, &r, &e);

		switch (n) {
		case KP_NEXT_NONE:
			return;
		case KP_NEXT_SKIP:
			continue;
		case KP_NEXT_TOO_LONG:
			kp->st.read++;
			kp_fail_record(kp, kp->in.recno, "MESSAGE_TOO_LARGE: "
			    "longer than message.max.bytes allows");
			break;
		case KP_NEXT_BAD:
			goto bad;
		case KP_NEXT_RECORD:
			if (r.partition >= kp->nparts) {
				err_set(&e, EXIT_DATAERR, "partition %" PRId32
				    " does not exist (topic '%s' has %" PRId32
				    ")", r.partition, o->topic, kp->nparts);
				goto bad;
			}
			kp->st.read++;
			p = kp_pick(kp, &r);
			kp_append(kp, p, &r, wall, now);
			break;
		}
		if (o->count > 0 && kp->st.read >= o->count)
			l->input_done = true;
		continue;
bad:
		if (o->skip_bad) {
			log_warnx("%s %" PRIu64 ": %s (skipped)",
			    kp_input_unit(&kp->in), kp->in.recno, e.msg);
			kp->st.skipped++;
			continue;
		}
		log_errorx("%s %" PRIu64 ": %s", kp_input_unit(&kp->in),
		    kp->in.recno, e.msg);
		l->input_done = true;
		l->input_code = EXIT_DATAERR;
	}
}

static bool
can_read(const struct kprod *kp, const struct kp_loop *l)
{
	return !l->input_done && kp->buffered < kp->cfg.buffer_bytes &&
	    kp->pending < (uint64_t)kp->cfg.buffer_records;
}

static void
read_input(struct kprod *kp, struct kp_loop *l, int64_t now)
{
	size_t total = 0;
	struct err e = { 0 };

	while (can_read(kp, l) && total < KP_READ_BUDGET) {
		long n = kp_input_fill(&kp->in, &e);

		if (n < 0) {
			log_errorx("%s", e.msg);
			l->input_done = true;
			l->input_code = e.code;
			break;
		}
		total += (size_t)n;
		take_records(kp, l, now);
		if (kp->in.done) {
			l->input_done = true;
			break;
		}
		if (!kp_input_ready(&kp->in))
			break;
	}
}

static void
print_progress(struct kprod *kp, struct kp_loop *l, int64_t now)
{
	double secs = (double)(now - l->start) / 1000.0;
	int64_t span = now - l->progress_at;
	double rate = (double)(kp->st.acked - l->progress_acked) * 1000.0 /
	    (double)(span > 0 ? span : 1);

	fprintf(stderr, "%s: progress: %" PRIu64 " records acknowledged "
	    "(%.1f MB) in %.0f s, %.0f records/s now, %" PRIu64 " pending\n",
	    prog_name(), kp->st.acked, (double)kp->st.acked_bytes / 1e6, secs,
	    rate, kp->pending);
	l->progress_acked = kp->st.acked;
	l->progress_at = now;
	l->next_progress = now + KP_PROGRESS_MS;
}

/* One turn: deadlines, sends, then a poll of brokers and input. */
static bool
turn(struct kprod *kp, struct kp_loop *l)
{
	int64_t now = clock_mono_ms(), wake;
	struct pollfd pfd;
	struct err e = { 0 };
	bool reading, immediate = false;
	int timeout, n = 0;

	if (kp_signals() > 0 && !l->input_done) {
		log_info("signal received: reading stopped, delivering %" PRIu64
		    " pending records", kp->pending);
		l->input_done = true;
	}
	if (l->input_done && l->flush_deadline == INT64_MAX)
		l->flush_deadline = now + kp->o->flush_timeout_ms;
	wake = kp_seal_due(kp, now, l->input_done);
	if ((kp->need_metadata || now - kp->metadata_at >=
	    kp->cfg.metadata_max_age_ms) && now >= kp->metadata_next)
		refresh_metadata(kp, l, now);
	if (kp->need_metadata)
		wake = min64(wake, kp->metadata_next);
	if (kp->idempotent)
		wake = min64(wake, kp_reset_partitions(kp));
	wake = min64(wake, kp_expire(kp, now));
	wake = min64(wake, kp_send_ready(kp, now));
	if (kp->fatal_code != 0)
		return false;
	if (l->input_done && kp->pending == 0)
		return false;
	if (now >= l->flush_deadline) {
		log_errorx("flush timeout (%" PRId64 " ms) with %" PRIu64
		    " records undelivered", kp->o->flush_timeout_ms,
		    kp->pending);
		kp_abandon(kp);
		return false;
	}
	if (kp->o->progress) {
		if (now >= l->next_progress)
			print_progress(kp, l, now);
		wake = min64(wake, l->next_progress);
	}
	wake = min64(wake, l->flush_deadline);
	reading = can_read(kp, l);
	if (reading) {
		/* Opening the next file or taking a file's end never blocks. */
		if (kp->in.fd < 0 || kp->in.file_eof) {
			immediate = true;
		} else {
			pfd.fd = kp->in.fd;
			pfd.events = POLLIN;
			n = 1;
		}
	}
	timeout = immediate ? 0 : wake == INT64_MAX ? -1 :
	    (int)min64(wake > now ? wake - now : 0, INT32_MAX);
	if (kcl_poll(kp->k, n ? &pfd : NULL, n, timeout, &e) < 0) {
		kp->fatal_code = e.code;
		kp->fatal = e;
		return false;
	}
	if (immediate || (n && pfd.revents != 0))
		read_input(kp, l, clock_mono_ms());
	return true;
}

static void
summary(const struct kprod *kp, const struct kp_loop *l)
{
	double secs = (double)(clock_mono_ms() - l->start) / 1000.0;
	uint64_t lost = kp->st.failed + kp->st.abandoned;

	if (secs <= 0)
		secs = 0.001;
	log_info("%" PRIu64 " records (%.1f MB) delivered to '%s' in %.2f s: "
	    "%.0f records/s, %.1f MB/s; %" PRIu64 " failed, %" PRIu64
	    " retries%s", kp->st.acked, (double)kp->st.acked_bytes / 1e6,
	    kp->o->topic, secs, (double)kp->st.acked / secs,
	    (double)kp->st.acked_bytes / 1e6 / secs, lost, kp->st.retries,
	    kp->idempotent ? ", idempotent" : "");
	if (kp->st.skipped > 0)
		log_warnx("%" PRIu64 " bad input records skipped",
		    kp->st.skipped);
	if (lost > 0)
		log_errorx("%" PRIu64 " of %" PRIu64 " records not delivered "
		    "(%" PRIu64 " failed, %" PRIu64 " still pending at exit)",
		    lost, kp->st.read, kp->st.failed, kp->st.abandoned);
}

static int
exit_status(const struct kprod *kp, const struct kp_loop *l)
{
	if (kp->fatal_code != 0)
		return kp->fatal_code;
	if (l->input_code != 0)
		return l->input_code;
	if (kp->st.abandoned > 0)
		return EXIT_TEMPFAIL;
	if (kp->st.failed > 0)
		return EXIT_FAIL;
	if (kp->out_failed)
		return EXIT_IOERR;
	return EXIT_OK;
}

static int
setup(struct kprod *kp, struct kp_opts *o, struct err *e)
{
	memset(kp, 0, sizeof(*kp));
	kp->o = o;
	kp->in.fd = -1;
	if (kp_conf_resolve(o, &kp->cfg, e) < 0)
		return -1;
	kp->produce_timeout_ms = kp->cfg.client.request_timeout_ms;
	kp_picker_init(&kp->picker, kp->cfg.partitioner);
	/* Input files are checked before anything goes on the network. */
	if (kp_input_open(&kp->in, o, 2 * kp->cfg.max_request + 65536, e) < 0)
		return -1;
	if (kcl_new(&kp->cfg.client, &kp->k, e) < 0)
		return -1;
	if (find_topic(kp, e) < 0 || start_idempotence(kp, e) < 0)
		return -1;
	return 0;
}

int
kp_run(struct kp_opts *o)
{
	struct kprod kp;
	struct kp_loop l;
	struct err e = { 0 };
	int rc;

	memset(&l, 0, sizeof(l));
	if (setup(&kp, o, &e) < 0) {
		log_errorx("%s", e.msg);
		rc = e.code ? e.code : EXIT_SOFTWARE;
		goto out;
	}
	l.start = clock_mono_ms();
	l.flush_deadline = INT64_MAX;
	l.next_progress = l.start + KP_PROGRESS_MS;
	l.progress_at = l.start;
	log_debug("producing to '%s' (%" PRId32 " partitions), acks=%d, "
	    "compression %s, partitioner %s", o->topic, kp.nparts, kp.cfg.acks,
	    compress_codec_name(kp.cfg.codec),
	    kp_partitioner_name(kp.cfg.partitioner));
	while (turn(&kp, &l))
		;
	if (kp.fatal_code != 0)
		log_errorx("%s", kp.fatal.msg);
	if (kp.fatal_code != 0 && kp.pending > 0)
		kp_abandon(&kp);
	if (o->output != NULL && !kp.out_closed && fflush(stdout) != 0 &&
	    errno != EPIPE) {
		log_warn("unable to write the report to standard output");
		kp.out_failed = true;
	}
	summary(&kp, &l);
	rc = exit_status(&kp, &l);
out:
	kp_parts_free(&kp);
	kcl_free(kp.k);
	kp_input_close(&kp.in);
	buf_release(&kp.outline);
	return rc;
}

int
kp_dump(struct kp_opts *o)
{
	struct kp_cfg cfg;
	struct err e = { 0 };

	if (kp_conf_resolve(o, &cfg, &e) < 0) {
		log_errorx("%s", e.msg);
		return e.code ? e.code : EXIT_CONFIG;
	}
	kp_conf_dump(&cfg);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_IOERR;
}
