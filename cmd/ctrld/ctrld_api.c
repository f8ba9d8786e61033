/* SPDX-License-Identifier: MIT */
/*
 * The requests ctrld serves (docs/cluster-protocol.md): BrokerHeartbeat,
 * AlterIsr and ControlledShutdown from brokers, DescribeCluster and
 * ApplyTopics from `ctrld status` and `ctrld apply`. Each decodes with
 * ctlproto, runs the state machine, makes its changes durable, and only
 * then writes the answer. Anything else (another API, another version, a
 * malformed body) closes the connection, as Kafka does with unknown APIs.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctrld.h"
#include "log.h"
#include "util.h"
#include "banned.h"

static enum ctrld_handled
malformed(const struct ctrld_conn *k, const struct err *e)
{
	log_warnx("request from %s: %s", k->peer, e->msg);
	return CTRLD_CLOSE;
}

static enum ctrld_handled
heartbeat(struct ctrld *c, struct ctrld_conn *k, struct breader *body,
    int64_t now, bool final, struct buf *out)
{
	struct ctl_heartbeat_req q;
	struct ctl_heartbeat_resp r;
	struct err e = { 0 };
	int64_t wait;

	if (ctlproto_read_heartbeat_req(body, &q, &e) < 0)
		return malformed(k, &e);
	memset(&r, 0, sizeof(r));
	r.error_code = cst_heartbeat(&c->st, &q, now, r.error_message);
	ctrld_commit(c);
	if (r.error_code != KERR_NONE)
		log_warnx("heartbeat from %s refused: %s", k->peer,
		    r.error_message);
	if (r.error_code == KERR_NONE && q.known_version == c->st.cs.version &&
	    q.wait_ms > 0 && !final) {
		if (!k->parked) {
			/* Answer well within the session, whatever it asks. */
			wait = q.wait_ms;
			if (wait > c->m->controller.session_timeout_ms / 2)
				wait = c->m->controller.session_timeout_ms / 2;
			k->park_deadline_ms = now + wait;
		}
		return CTRLD_PARK;
	}
	r.session_timeout_ms = (int32_t)c->m->controller.session_timeout_ms;
	if (r.error_code == KERR_NONE && q.known_version != c->st.cs.version)
		r.state = &c->st.cs;
	ctlproto_write_heartbeat_resp(out, &r);
	return CTRLD_DONE;
}

static enum ctrld_handled
alter_isr(struct ctrld *c, struct ctrld_conn *k, struct breader *body,
    struct buf *out)
{
	struct ctl_alter_isr_req q;
	struct ctl_alter_isr_resp r;
	struct err e = { 0 };

	if (ctlproto_read_alter_isr_req(body, &q, &e) < 0)
		return malformed(k, &e);
	cst_alter_isr(&c->st, &q, &r);
	ctrld_commit(c);
	ctlproto_write_alter_isr_resp(out, &r);
	free(r.results);
	ctlproto_release_alter_isr_req(&q);
	return CTRLD_DONE;
}

static enum ctrld_handled
shutdown_req(struct ctrld *c, struct ctrld_conn *k, struct breader *body,
    struct buf *out)
{
	struct ctl_shutdown_req q;
	struct ctl_shutdown_resp r;
	struct err e = { 0 };

	if (ctlproto_read_shutdown_req(body, &q, &e) < 0)
		return malformed(k, &e);
	memset(&r, 0, sizeof(r));
	r.error_code = cst_controlled_shutdown(&c->st, &q,
	    &r.remaining_leaderships, r.error_message);
	ctrld_commit(c);
	ctlproto_write_shutdown_resp(out, &r);
	return CTRLD_DONE;
}

static enum ctrld_handled
describe(struct ctrld *c, int64_t now, struct buf *out)
{
	struct ctl_describe_resp r;
	int32_t i;

	memset(&r, 0, sizeof(r));
	r.controller_epoch = c->st.controller_epoch;
	r.state = c->st.cs;	/* borrowed: the writer only reads it */
	r.ages = xcalloc((size_t)c->st.cs.nbrokers + 1, sizeof(*r.ages));
	r.nages = c->st.cs.nbrokers;
	for (i = 0; i < r.nages; i++) {
		r.ages[i].broker_id = c->st.cs.brokers[i].id;
		r.ages[i].last_heartbeat_ms_ago = cst_heartbeat_age(&c->st, i,
		    now);
	}
	ctlproto_write_describe_resp(out, &r);
	free(r.ages);
	return CTRLD_DONE;
}

static enum ctrld_handled
apply(struct ctrld *c, struct ctrld_conn *k, struct breader *body,
    struct buf *out)
{
	struct ctl_apply_req q;
	struct ctl_apply_resp r;
	struct err e = { 0 };

	if (ctlproto_read_apply_req(body, &q, &e) < 0)
		return malformed(k, &e);
	log_info("apply from %s: %" PRId32 " topics, %s", k->peer, q.ntopics,
	    q.dry_run ? "dry run" : "execute");
	cst_apply(&c->st, &q, &r);
	ctrld_commit(c);
	ctlproto_write_apply_resp(out, &r);
	ctlproto_release_apply_resp(&r);
	ctlproto_release_apply_req(&q);
	return CTRLD_DONE;
}

enum ctrld_handled
ctrld_dispatch(struct ctrld *c, struct ctrld_conn *conn,
    const struct proto_req_header *h, struct breader *body, int64_t now,
    bool final, struct buf *out)
{
	enum ctrld_handled res;
	size_t start, mark = out->len;

	if (h->api_version != CTLPROTO_VERSION)
		return CTRLD_CLOSE;
	start = proto_frame_begin_response(out, h->correlation_id);
	switch (h->api_key) {
	case API_KLOG_BROKER_HEARTBEAT:
		res = heartbeat(c, conn, body, now, final, out);
		break;
	case API_KLOG_ALTER_ISR:
		res = alter_isr(c, conn, body, out);
		break;
	case API_KLOG_CONTROLLED_SHUTDOWN:
		res = shutdown_req(c, conn, body, out);
		break;
	case API_KLOG_DESCRIBE_CLUSTER:
		res = describe(c, now, out);
		break;
	case API_KLOG_APPLY_TOPICS:
		res = apply(c, conn, body, out);
		break;
	default:
		res = CTRLD_CLOSE;
	}
	if (res != CTRLD_DONE) {
		out->len = mark;	/* nothing of a parked or refused one */
		return res;
	}
	proto_frame_end(out, start);
	return CTRLD_DONE;
}
