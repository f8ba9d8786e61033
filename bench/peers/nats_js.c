/* SPDX-License-Identifier: MIT */
/*
 * nats_js: NATS JetStream as a peer of klog in bench/peers.sh (libnats).
 * Reads FILE (one record a line) into memory first, then, with the clock
 * running:
 *   produce  creates stream STREAM (file storage, one replica) on subject
 *            SUBJECT if it does not exist, then js_PublishAsync()s every
 *            line with up to --max-pending publishes unacknowledged, and
 *            waits for the last acknowledgment (js_PublishAsyncComplete);
 *            the stream must then hold every line;
 *   consume  creates a durable pull consumer (no acks if the server takes
 *            that, else AckAll with one ack per batch) and
 *            natsSubscription_Fetch()es batches of --batch until every
 *            line has come back, each checked against its line in order.
 * Stream and consumer creation are outside the clock. Prints one
 * key=value line: mode, records, bytes, secs, records_per_s (and the
 * consumer's ack policy). Exit 0 only when every record made it.
 */
#include <getopt.h>
#include <inttypes.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "bench_util.h"
#include "exitcode.h"
#include "log.h"
#include "banned.h"

static const char usage_text[] =
    "usage: nats_js [-h] [-b batch] [-m max-pending] [-S stream]"
    " [-s subject] -u url -f file produce|consume\n";

static const struct option long_opts[] = {
	{ "batch", required_argument, NULL, 'b' },
	{ "file", required_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ "max-pending", required_argument, NULL, 'm' },
	{ "stream", required_argument, NULL, 'S' },
	{ "subject", required_argument, NULL, 's' },
	{ "url", required_argument, NULL, 'u' },
	{ NULL, 0, NULL, 0 }
};

/* Publish failures: written by the library's thread, read by main after
 * js_PublishAsyncComplete() returned; the mutex orders the two. */
struct pub_errors {
	pthread_mutex_t mu;
	uint64_t count;
	char first[256];
};

/* Die on a failed libnats call, with its status and JetStream error code. */
static void
check(natsStatus s, jsErrCode jerr, const char *what)
{
	const char *last;

	if (s == NATS_OK)
		return;
	last = nats_GetLastError(NULL);
	if (last == NULL)
		last = "";
	bench_die(s == NATS_NO_SERVER || s == NATS_CONNECTION_CLOSED ?
	    EXIT_UNAVAILABLE : EXIT_FAIL, "%s: %s (jetstream error %d)%s%s",
	    what, natsStatus_GetText(s), (int)jerr, *last != '\0' ? ": " : "",
	    last);
}

static void
on_pub_error(jsCtx *js, jsPubAckErr *pae, void *closure)
{
	struct pub_errors *pe = closure;

	(void)js;
	pthread_mutex_lock(&pe->mu);
	if (pe->count++ == 0)
		snprintf(pe->first, sizeof(pe->first), "%s (%d)",
		    pae->ErrText != NULL ? pae->ErrText :
		    natsStatus_GetText(pae->Err), (int)pae->ErrCode);
	pthread_mutex_unlock(&pe->mu);
}

/* The clock runs from *t0 (once the stream exists) to *t1 (the last
 * acknowledgment). */
static void
produce(jsCtx *js, struct pub_errors *pe, const char *stream,
    const char *subject, const struct bench_lines *l, double *t0, double *t1)
{
	jsStreamConfig cfg;
	jsStreamInfo *si = NULL;
	jsPubOptions po;
	jsErrCode jerr = 0;
	const char *subjects[1] = { subject };
	const char *data;
	natsStatus s;
	size_t i, len;

	jsStreamConfig_Init(&cfg);
	cfg.Name = stream;
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	cfg.Storage = js_FileStorage;
	cfg.Replicas = 1;
	s = js_AddStream(&si, js, &cfg, NULL, &jerr);
	if (s != NATS_OK && jerr != JSStreamNameExistErr)
		check(s, jerr, "create stream");
	jsStreamInfo_Destroy(si);
	si = NULL;

	*t0 = bench_now_s();
	for (i = 0; i < l->n; i++) {
		data = bench_line(l, i, &len);
		s = js_PublishAsync(js, subject, data, (int)len, NULL);
		check(s, 0, "js_PublishAsync");
	}
	jsPubOptions_Init(&po);
	po.MaxWait = 600000;
	check(js_PublishAsyncComplete(js, &po), 0, "js_PublishAsyncComplete");
	*t1 = bench_now_s();
	pthread_mutex_lock(&pe->mu);
	if (pe->count > 0)
		bench_die(EXIT_FAIL, "%" PRIu64 " publishes failed; the first:"
		    " %s", pe->count, pe->first);
	pthread_mutex_unlock(&pe->mu);
	check(js_GetStreamInfo(&si, js, stream, NULL, &jerr), jerr,
	    "stream info");
	if (si->State.Msgs != l->n)
		bench_die(EXIT_FAIL, "stream %s holds %" PRIu64 " messages"
		    " after publishing %zu", stream, si->State.Msgs, l->n);
	jsStreamInfo_Destroy(si);
}

/* Returns the ack policy's name; the clock runs from *t0 (once the
 * consumer exists) to *t1 (the last line checked). */
static const char *
consume(jsCtx *js, const char *stream, const char *subject,
    const struct bench_lines *l, int batch, double *t0, double *t1)
{
	jsConsumerConfig cc;
	jsConsumerInfo *ci = NULL;
	jsSubOptions so;
	natsSubscription *sub = NULL;
	natsMsgList list;
	jsErrCode jerr = 0;
	natsStatus s;
	size_t got = 0, len;
	const char *want, *policy = "none";
	int i;

	jsConsumerConfig_Init(&cc);
	cc.Durable = "bench";
	cc.DeliverPolicy = js_DeliverAll;
	cc.AckPolicy = js_AckNone;
	cc.MaxAckPending = -1;
	/* A consumer left by an earlier run would start where it stopped. */
	(void)js_DeleteConsumer(js, stream, "bench", NULL, NULL);
	s = js_AddConsumer(&ci, js, stream, &cc, NULL, &jerr);
	if (s != NATS_OK) {
		/* Servers before 2.7 want acks on pull consumers. */
		cc.AckPolicy = js_AckAll;
		policy = "all";
		jerr = 0;
		check(js_AddConsumer(&ci, js, stream, &cc, NULL, &jerr), jerr,
		    "create consumer");
	}
	jsConsumerInfo_Destroy(ci);
	jsSubOptions_Init(&so);
	so.Stream = stream;
	so.Consumer = "bench";
	check(js_PullSubscribe(&sub, js, subject, "bench", NULL, &so, &jerr),
	    jerr, "pull subscribe");

	*t0 = bench_now_s();
	while (got < l->n) {
		jerr = 0;
		s = natsSubscription_Fetch(&list, sub, batch, 10000, &jerr);
		check(s, jerr, "fetch");
		for (i = 0; i < list.Count; i++) {
			if (got >= l->n)
				bench_die(EXIT_FAIL, "more than %zu messages",
				    l->n);
			want = bench_line(l, got, &len);
			if ((size_t)natsMsg_GetDataLength(list.Msgs[i]) != len ||
			    memcmp(natsMsg_GetData(list.Msgs[i]), want,
			    len) != 0)
				bench_die(EXIT_FAIL, "message %zu differs from"
				    " line %zu", got + 1, got + 1);
			got++;
		}
		if (cc.AckPolicy == js_AckAll && list.Count > 0)
			check(natsMsg_Ack(list.Msgs[list.Count - 1], NULL), 0,
			    "ack");
		natsMsgList_Destroy(&list);
	}
	*t1 = bench_now_s();
	natsSubscription_Destroy(sub);
	return policy;
}

int
main(int argc, char **argv)
{
	const char *url = NULL, *file = NULL, *mode, *policy = NULL;
	const char *stream = "BENCH", *subject = "bench";
	long batch = 1000, max_pending = 65536;
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsOptions jo;
	struct pub_errors pe = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct bench_lines l;
	double t0, t1;
	int ch;

	prog_init(argv[0]);
	while ((ch = getopt_long(argc, argv, "b:f:hm:S:s:u:", long_opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'b':
			batch = (long)bench_opt_u64(usage_text, "--batch",
			    optarg, 1, 1000000);
			break;
		case 'f':
			file = optarg;
			break;
		case 'h':
			printf("%s", usage_text);
			return EXIT_OK;
		case 'm':
			max_pending = (long)bench_opt_u64(usage_text,
			    "--max-pending", optarg, 1, 100000000);
			break;
		case 'S':
			stream = optarg;
			break;
		case 's':
			subject = optarg;
			break;
		case 'u':
			url = optarg;
			break;
		default:
			fprintf(stderr, "%s", usage_text);
			return EXIT_USAGE;
		}
	}
	if (url == NULL || file == NULL || optind + 1 != argc ||
	    (strcmp(argv[optind], "produce") != 0 &&
	    strcmp(argv[optind], "consume") != 0)) {
		fprintf(stderr, "%s", usage_text);
		return EXIT_USAGE;
	}
	mode = argv[optind];

	bench_lines_load(file, &l);
	check(natsConnection_ConnectTo(&nc, url), 0, url);
	jsOptions_Init(&jo);
	jo.Wait = 30000;
	jo.PublishAsync.MaxPending = max_pending;
	jo.PublishAsync.StallWait = 600000;	/* block while at the limit */
	jo.PublishAsync.ErrHandler = on_pub_error;
	jo.PublishAsync.ErrHandlerClosure = &pe;
	check(natsConnection_JetStream(&js, nc, &jo), 0, "jetstream context");
	if (mode[0] == 'p')
		produce(js, &pe, stream, subject, &l, &t0, &t1);
	else
		policy = consume(js, stream, subject, &l, (int)batch, &t0,
		    &t1);
	printf("mode=%s records=%zu bytes=%zu secs=%.3f records_per_s=%.0f",
	    mode, l.n, l.bytes, t1 - t0, (double)l.n / (t1 - t0));
	if (policy != NULL)
		printf(" ack_policy=%s batch=%ld\n", policy, batch);
	else
		printf(" max_pending=%ld\n", max_pending);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	nats_CloseAndWait(5000);
	bench_lines_release(&l);
	return EXIT_OK;
}
