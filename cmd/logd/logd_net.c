/* SPDX-License-Identifier: MIT */
/*
 * logd's event loop: accepting clients, reading size-prefixed frames,
 * running one request at a time per connection (Kafka answers in order, so
 * a parked long poll holds back the requests behind it), and writing
 * responses with writev for memory and sendfile(2) for log data.
 * Back-pressure: a connection with too much unsent output, or a parked
 * request, is not read from until that clears.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"
#include "logd.h"
#include "logd_groups.h"
#include "util.h"
#include "banned.h"

/* api_key, api_version, correlation_id and the client_id length */
#define MIN_FRAME 10
#define READ_CHUNK (64 * 1024)
#define GATHER_MAX 64
#define IDLE_CHECK_MS 1000
#define FLUSH_CHECK_MS 100
/* How often recovery points are checkpointed (Kafka's default). */
#define CHECKPOINT_MS 60000
/* How often group sessions and join deadlines are checked. */
#define GROUP_TICK_MS 100

struct resp *
resp_new(void)
{
	struct resp *r = calloc(1, sizeof(*r));

	if (r != NULL)
		buf_init(&r->mem);
	return r;
}

void
resp_free(struct resp *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = r->file_idx; i < r->nfiles; i++)
		if (r->files[i].fd >= 0)
			close(r->files[i].fd);
	free(r->files);
	buf_release(&r->mem);
	free(r);
}

int
resp_add_file(struct resp *r, int fd, off_t pos, size_t len)
{
	struct resp_file *f;
	int dupfd;

	if (r->nfiles == r->files_cap) {
		size_t cap = r->files_cap ? r->files_cap * 2 : 8;
		struct resp_file *files = realloc(r->files, cap * sizeof(*files));

		if (files == NULL)
			return -1;
		r->files = files;
		r->files_cap = cap;
	}
	/*
	 * The log may delete or roll the segment before this response is
	 * written; a private descriptor keeps the bytes readable.
	 */
	dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dupfd < 0)
		return -1;
	f = &r->files[r->nfiles++];
	f->at = r->mem.len;
	f->fd = dupfd;
	f->pos = pos;
	f->len = len;
	r->total += len;
	return 0;
}

static void
conn_update_events(struct logd *ld, struct conn *c)
{
	struct epoll_event ev = { 0 };
	bool want_read, want_write;

	want_read = !c->parked && !c->closing && !c->peer_closed &&
	    c->out_bytes < (size_t)ld->cfg.max_conn_output_bytes;
	want_write = c->out_head != NULL;
	if (want_read == !c->read_paused && want_write == c->want_write)
		return;
	ev.events = (want_read ? EPOLLIN : 0) | (want_write ? EPOLLOUT : 0);
	ev.data.ptr = c;
	if (epoll_ctl(ld->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		log_warn("epoll_ctl for %s", c->peer);
	c->read_paused = !want_read;
	c->want_write = want_write;
}

/*
 * Parked requests. Every parked connection is on ld->parked and in the
 * deadline heap ld->park_heap, so the loop finds the next deadline in
 * O(1) and expires only what is due. A parked Fetch is linked into the
 * watchers of its partitions (struct park_watch): data for p puts just
 * those on the ready queue. Requests that name no partitions (acks=all
 * produces, offset commits, group joins, ReplicaState) are also on
 * ld->parked_other, re-run whenever any partition's data moves, as all
 * parked requests are on a broad wake (ld->appended).
 */

static void
heap_set(struct logd *ld, size_t i, struct park_slot slot)
{
	ld->park_heap[i] = slot;
	slot.c->park_heap_idx = i;
}

static void
heap_sift_up(struct logd *ld, size_t i)
{
	struct park_slot slot = ld->park_heap[i];

	while (i > 0) {
		size_t up = (i - 1) / 2;

		if (slot.deadline_ms >= ld->park_heap[up].deadline_ms)
			break;
		heap_set(ld, i, ld->park_heap[up]);
		i = up;
	}
	heap_set(ld, i, slot);
}

static void
heap_sift_down(struct logd *ld, size_t i)
{
	struct park_slot slot = ld->park_heap[i];
	size_t n = ld->npark_heap;

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= n)
			break;
		if (child + 1 < n && ld->park_heap[child + 1].deadline_ms <
		    ld->park_heap[child].deadline_ms)
			child++;
		if (ld->park_heap[child].deadline_ms >= slot.deadline_ms)
			break;
		heap_set(ld, i, ld->park_heap[child]);
		i = child;
	}
	heap_set(ld, i, slot);
}

/* Entry i's deadline changed: restore the heap order around it. */
static void
heap_fix(struct logd *ld, size_t i)
{
	if (i > 0 && ld->park_heap[i].deadline_ms <
	    ld->park_heap[(i - 1) / 2].deadline_ms)
		heap_sift_up(ld, i);
	else
		heap_sift_down(ld, i);
}

/* c's deadline may have changed (a handler sets it when it parks). */
static void
heap_update(struct logd *ld, struct conn *c)
{
	struct park_slot *slot = &ld->park_heap[c->park_heap_idx];

	if (slot->deadline_ms == c->park_deadline_ms)
		return;
	slot->deadline_ms = c->park_deadline_ms;
	heap_fix(ld, c->park_heap_idx);
}

static void
heap_push(struct logd *ld, struct conn *c)
{
	if (ld->npark_heap == ld->park_heap_cap) {
		size_t cap = ld->park_heap_cap ? ld->park_heap_cap * 2 : 64;

		ld->park_heap = xrealloc(ld->park_heap,
		    cap * sizeof(*ld->park_heap));
		ld->park_heap_cap = cap;
	}
	heap_set(ld, ld->npark_heap, (struct park_slot){ c->park_deadline_ms,
	    c });
	heap_sift_up(ld, ld->npark_heap++);
}

static void
heap_remove(struct logd *ld, struct conn *c)
{
	size_t i = c->park_heap_idx;

	if (i < --ld->npark_heap) {
		heap_set(ld, i, ld->park_heap[ld->npark_heap]);
		heap_fix(ld, i);
	}
}

static void
ready_push(struct logd *ld, struct conn *c)
{
	if (c->park_ready)
		return;
	c->park_ready = true;
	c->ready_next = NULL;
	c->ready_prev = ld->ready_tail;
	if (ld->ready_tail != NULL)
		ld->ready_tail->ready_next = c;
	else
		ld->ready_head = c;
	ld->ready_tail = c;
}

static void
ready_remove(struct logd *ld, struct conn *c)
{
	if (!c->park_ready)
		return;
	if (c->ready_prev != NULL)
		c->ready_prev->ready_next = c->ready_next;
	else
		ld->ready_head = c->ready_next;
	if (c->ready_next != NULL)
		c->ready_next->ready_prev = c->ready_prev;
	else
		ld->ready_tail = c->ready_prev;
	c->ready_next = c->ready_prev = NULL;
	c->park_ready = false;
}

static void
watch_unlink(struct park_watch *w)
{
	if (w->p == NULL)
		return;
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		w->p->watchers = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	w->p = NULL;
	w->next = w->prev = NULL;
}

static void
watches_clear(struct conn *c)
{
	size_t i;

	for (i = 0; i < c->park_nwatches; i++)
		watch_unlink(&c->park_watches[i]);
	c->park_nwatches = 0;
	c->park_watch_all = false;
}

void
park_watch_begin(struct conn *c, size_t n)
{
	watches_clear(c);
	if (n > c->park_watches_cap) {
		/* Nothing points into the array now: it may move. */
		struct park_watch *w = realloc(c->park_watches, n * sizeof(*w));

		if (w == NULL) {
			c->park_watch_all = true;
			return;
		}
		c->park_watches = w;
		c->park_watches_cap = n;
	}
}

void
park_watch_add(struct conn *c, struct partition *p)
{
	struct park_watch *w;

	if (c->park_nwatches == c->park_watches_cap) {
		/* Out of room: be woken by any data instead. */
		c->park_watch_all = true;
		return;
	}
	w = &c->park_watches[c->park_nwatches++];
	w->c = c;
	w->p = p;
	w->prev = NULL;
	w->next = p->watchers;
	if (p->watchers != NULL)
		p->watchers->prev = w;
	p->watchers = w;
}

void
park_wake_partition(struct logd *ld, struct partition *p)
{
	struct park_watch *w;

	for (w = p->watchers; w != NULL; w = w->next)
		ready_push(ld, w->c);
	ld->data_woken = true;
}

void
park_partition_gone(struct logd *ld, struct partition *p)
{
	while (p->watchers != NULL) {
		struct park_watch *w = p->watchers;

		/* The re-run finds no partition and answers so. */
		ready_push(ld, w->c);
		watch_unlink(w);
	}
}

static void
other_unlink(struct logd *ld, struct conn *c)
{
	if (!c->park_other)
		return;
	if (c->other_prev != NULL)
		c->other_prev->other_next = c->other_next;
	else
		ld->parked_other = c->other_next;
	if (c->other_next != NULL)
		c->other_next->other_prev = c->other_prev;
	c->other_next = c->other_prev = NULL;
	c->park_other = false;
}

/* Keep parked c on ld->parked_other exactly when no partition wakes it. */
static void
park_classify(struct logd *ld, struct conn *c)
{
	bool other = c->park_nwatches == 0 || c->park_watch_all;

	if (other == c->park_other)
		return;
	if (!other) {
		other_unlink(ld, c);
		return;
	}
	c->park_other = true;
	c->other_prev = NULL;
	c->other_next = ld->parked_other;
	if (ld->parked_other != NULL)
		ld->parked_other->other_prev = c;
	ld->parked_other = c;
}

static void
park_insert(struct logd *ld, struct conn *c, int64_t now)
{
	c->parked = true;
	c->park_since_ms = now;
	c->park_prev = NULL;
	c->park_next = ld->parked;
	if (ld->parked != NULL)
		ld->parked->park_prev = c;
	ld->parked = c;
	heap_push(ld, c);
	park_classify(ld, c);
}

static void
park_remove(struct logd *ld, struct conn *c)
{
	if (c->park_prev != NULL)
		c->park_prev->park_next = c->park_next;
	else
		ld->parked = c->park_next;
	if (c->park_next != NULL)
		c->park_next->park_prev = c->park_prev;
	c->park_next = c->park_prev = NULL;
	heap_remove(ld, c);
	ready_remove(ld, c);
	other_unlink(ld, c);
	watches_clear(c);
	c->parked = false;
}

static void
conn_close(struct logd *ld, struct conn *c)
{
	struct resp *r, *next;

	if (c->parked)
		park_remove(ld, c);
	watches_clear(c);
	free(c->park_watches);
	free(c->park_member);
	free(c->park_state);
	epoll_ctl(ld->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	for (r = c->out_head; r != NULL; r = next) {
		next = r->next;
		resp_free(r);
	}
	buf_release(&c->in);
	if (c->prev)
		c->prev->next = c->next;
	else
		ld->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ld->nconns--;
	free(c);
}

static void
conn_enqueue(struct conn *c, struct resp *r)
{
	r->total += r->mem.len;
	r->next = NULL;
	if (c->out_tail)
		c->out_tail->next = r;
	else
		c->out_head = r;
	c->out_tail = r;
	c->out_bytes += r->total;
}

/* Where the memory part ends before the next file slice (or the end). */
static size_t
resp_split(const struct resp *r)
{
	return r->file_idx < r->nfiles ? r->files[r->file_idx].at : r->mem.len;
}

static bool
resp_done(const struct resp *r)
{
	return r->mem_sent == r->mem.len && r->file_idx == r->nfiles;
}

static void
conn_pop_done(struct conn *c)
{
	while (c->out_head != NULL && resp_done(c->out_head)) {
		struct resp *r = c->out_head;

		c->out_head = r->next;
		if (c->out_head == NULL)
			c->out_tail = NULL;
		resp_free(r);
	}
}

/* Write memory parts of several queued responses with one writev. */
static ssize_t
conn_write_mem(struct conn *c)
{
	struct iovec iov[GATHER_MAX];
	struct resp *r;
	size_t left;
	ssize_t w;
	int n = 0;

	for (r = c->out_head; r != NULL && n < GATHER_MAX; r = r->next) {
		size_t split = resp_split(r);

		if (split > r->mem_sent) {
			iov[n].iov_base = r->mem.data + r->mem_sent;
			iov[n].iov_len = split - r->mem_sent;
			n++;
		}
		/* Stop at a file slice: it goes out with sendfile. */
		if (split < r->mem.len || r->file_idx < r->nfiles)
			break;
	}
	if (n == 0)
		return 0;
	do
		w = writev(c->fd, iov, n);
	while (w < 0 && errno == EINTR);
	if (w <= 0)
		return w;
	left = (size_t)w;
	c->out_bytes -= left;
	for (r = c->out_head; r != NULL && left > 0; r = r->next) {
		size_t split = resp_split(r), take = split - r->mem_sent;

		if (take > left)
			take = left;
		r->mem_sent += take;
		left -= take;
	}
	conn_pop_done(c);
	return w;
}

/* Returns 0 when drained or blocked, -1 when the connection must close. */
static int
conn_flush(struct logd *ld, struct conn *c)
{
	while (c->out_head != NULL) {
		struct resp *r = c->out_head;
		ssize_t w;

		if (r->mem_sent < resp_split(r)) {
			w = conn_write_mem(c);
		} else if (r->file_idx < r->nfiles) {
			struct resp_file *f = &r->files[r->file_idx];

			do
				w = sendfile(c->fd, f->fd, &f->pos, f->len);
			while (w < 0 && errno == EINTR);
			if (w == 0) {
				/* The file shrank under us: framing is lost. */
				log_warnx("closing connection from %s: log data "
				    "truncated while sending", c->peer);
				return -1;
			}
			if (w > 0) {
				f->len -= (size_t)w;
				c->out_bytes -= (size_t)w;
				if (f->len == 0) {
					close(f->fd);
					f->fd = -1;
					r->file_idx++;
					conn_pop_done(c);
				}
			}
		} else {
			conn_pop_done(c);
			continue;
		}
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno != EPIPE && errno != ECONNRESET)
				log_warn("write to %s", c->peer);
			return -1;
		}
	}
	/* A client that half-closed has had every answer: done. */
	if (c->peer_closed && c->out_head == NULL && !c->parked)
		return -1;
	conn_update_events(ld, c);
	return 0;
}

/*
 * Run the request in `frame`. `waited_ms` is 0 on the first run; `final`
 * forces an answer (deadline passed or shutting down).
 */
static enum handle_result
run_request(struct logd *ld, struct conn *c, uint8_t *frame, size_t len,
    int64_t now, bool final)
{
	struct req q;
	enum handle_result res;

	memset(&q, 0, sizeof(q));
	q.ld = ld;
	q.c = c;
	q.frame = frame;
	q.frame_len = len;
	q.now_ms = now;
	q.final = final;
	q.waited_ms = c->parked ? now - c->park_since_ms : 0;
	br_init(&q.body, frame, len);
	proto_read_req_header(&q.body, &q.hdr);
	if (!br_ok(&q.body)) {
		log_warnx("closing connection from %s: malformed request header",
		    c->peer);
		return HANDLE_CLOSE;
	}
	res = logd_dispatch(&q);
	if (res == HANDLE_CLOSE) {
		log_warnx("closing connection from %s: %s v%d request "
		    "(correlation id %" PRId32 "): %s", c->peer,
		    proto_api_name(q.hdr.api_key) ? proto_api_name(q.hdr.api_key) :
		    "unknown", q.hdr.api_version, q.hdr.correlation_id,
		    q.close_reason ? q.close_reason : "malformed request");
		resp_free(q.resp);
		return res;
	}
	if (res == HANDLE_PARK) {
		resp_free(q.resp);
		return res;
	}
	if (q.resp != NULL)
		conn_enqueue(c, q.resp);
	ld->requests++;
	return HANDLE_DONE;
}

static void
conn_compact_input(struct conn *c)
{
	if (c->in_off == 0)
		return;
	if (c->in_off == c->in.len) {
		c->in.len = 0;
		c->in_off = 0;
	} else if (c->in_off >= c->in.cap / 2) {
		memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
		c->in.len -= c->in_off;
		c->in_off = 0;
	}
}

/* Run every complete frame in order; returns -1 when the conn closed. */
static int
conn_process(struct logd *ld, struct conn *c, int64_t now)
{
	while (!c->parked && !c->closing &&
	    c->out_bytes < (size_t)ld->cfg.max_conn_output_bytes) {
		size_t avail = c->in.len - c->in_off;
		uint8_t *p = c->in.data + c->in_off;
		int32_t size;
		enum handle_result res;

		if (avail < PROTO_FRAME_HEADER)
			break;
		size = (int32_t)be32_load(p);
		if (size < MIN_FRAME || size > ld->cfg.socket_request_max_bytes) {
			log_warnx("closing connection from %s: request size %" PRId32
			    " outside [%d, %" PRId64 "] (socket.request.max.bytes)",
			    c->peer, size, MIN_FRAME,
			    ld->cfg.socket_request_max_bytes);
			conn_close(ld, c);
			return -1;
		}
		if (avail < PROTO_FRAME_HEADER + (size_t)size)
			break;
		res = run_request(ld, c, p + PROTO_FRAME_HEADER, (size_t)size,
		    now, false);
		if (res == HANDLE_CLOSE) {
			conn_close(ld, c);
			return -1;
		}
		if (res == HANDLE_PARK) {
			park_insert(ld, c, now);
			break;
		}
		c->in_off += PROTO_FRAME_HEADER + (size_t)size;
	}
	conn_compact_input(c);
	if (c->out_head != NULL && conn_flush(ld, c) < 0) {
		conn_close(ld, c);
		return -1;
	}
	conn_update_events(ld, c);
	return 0;
}

static void
conn_on_readable(struct logd *ld, struct conn *c, int64_t now)
{
	size_t budget = 4 * READ_CHUNK;

	while (budget > 0) {
		ssize_t n;

		if (buf_reserve(&c->in, READ_CHUNK) < 0) {
			log_warnx("closing connection from %s: out of memory",
			    c->peer);
			conn_close(ld, c);
			return;
		}
		n = read(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len);
		if (n > 0) {
			c->in.len += (size_t)n;
			c->last_active_ms = now;
			budget = (size_t)n > budget ? 0 : budget - (size_t)n;
			continue;
		}
		if (n == 0) {
			/*
			 * The client will send no more; answer the requests
			 * it already sent (a half-close), then close.
			 */
			log_debug("connection from %s closed by peer", c->peer);
			c->peer_closed = true;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		if (errno != ECONNRESET)
			log_warn("read from %s", c->peer);
		conn_close(ld, c);
		return;
	}
	if (conn_process(ld, c, now) < 0)
		return;
	if (c->peer_closed && !c->parked && c->out_head == NULL)
		conn_close(ld, c);
}

/* Accept on the client port, or on replica.sock (`replica`). */
static void
accept_clients(struct logd *ld, int lfd, bool replica, int64_t now)
{
	for (;;) {
		struct epoll_event ev = { 0 };
		struct conn *c;
		int fd;

		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("accept");
			return;
		}
		if ((int64_t)ld->nconns >= ld->cfg.max_connections) {
			char peer[NET_ADDR_MAX];

			net_peer_addr(fd, peer, sizeof(peer));
			log_warnx("refusing connection from %s: max.connections "
			    "(%" PRId64 ") reached", peer, ld->cfg.max_connections);
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		buf_init(&c->in);
		net_peer_addr(fd, c->peer, sizeof(c->peer));
		c->replica = replica;
		if (replica)
			snprintf(c->peer, sizeof(c->peer), "replica.sock");
		net_set_nodelay(fd);
		c->last_active_ms = now;
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(ld->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			log_warn("epoll_ctl for %s", c->peer);
			close(fd);
			free(c);
			continue;
		}
		c->next = ld->conns;
		if (ld->conns)
			ld->conns->prev = c;
		ld->conns = c;
		ld->nconns++;
		log_debug("connection from %s", c->peer);
	}
}

/* Re-run c's parked request; `due`: its deadline passed (or shutdown). */
static void
park_rerun(struct logd *ld, struct conn *c, int64_t now, bool due)
{
	uint8_t *p = c->in.data + c->in_off;
	size_t size = be32_load(p);
	enum handle_result res;

	ready_remove(ld, c);
	res = run_request(ld, c, p + PROTO_FRAME_HEADER, size, now, due);
	if (res == HANDLE_PARK && !due) {
		/* Still waiting; its deadline or partitions may have moved. */
		heap_update(ld, c);
		park_classify(ld, c);
		return;
	}
	park_remove(ld, c);
	if (res == HANDLE_CLOSE) {
		conn_close(ld, c);
		return;
	}
	c->in_off += PROTO_FRAME_HEADER + size;
	conn_process(ld, c, now);
}

/*
 * Re-run every parked request (a broad wake; `final` at shutdown). A
 * re-run only changes its own connection, and one that parks again goes
 * to the head of the list, so `next` stays valid and nothing runs twice.
 */
static void
wake_all(struct logd *ld, int64_t now, bool final)
{
	struct conn *c, *next;

	for (c = ld->parked; c != NULL; c = next) {
		next = c->park_next;
		park_rerun(ld, c, now, final || now >= c->park_deadline_ms);
	}
}

/* Some partition's data moved: the requests that watch no partition. */
static void
wake_others(struct logd *ld, int64_t now)
{
	struct conn *c, *next;

	for (c = ld->parked_other; c != NULL; c = next) {
		next = c->other_next;
		park_rerun(ld, c, now, now >= c->park_deadline_ms);
	}
}

/* The fetches woken by their partitions; wakes during this pass wait
 * for the next turn, as a broad wake's do. */
static void
wake_ready(struct logd *ld, int64_t now)
{
	struct conn *c, *last = ld->ready_tail;

	while ((c = ld->ready_head) != NULL) {
		bool end = c == last;

		park_rerun(ld, c, now, now >= c->park_deadline_ms);
		if (end)
			break;
	}
}

/* Answer the requests whose deadline passed, soonest first. */
static void
expire_parked(struct logd *ld, int64_t now)
{
	while (ld->npark_heap > 0 && ld->park_heap[0].deadline_ms <= now)
		park_rerun(ld, ld->park_heap[0].c, now, true);
}

static void
wake_parked(struct logd *ld, int64_t now)
{
	if (ld->appended) {
		ld->appended = false;
		ld->data_woken = false;
		wake_all(ld, now, false);
	} else {
		if (ld->data_woken) {
			ld->data_woken = false;
			wake_others(ld, now);
		}
		if (ld->ready_head != NULL)
			wake_ready(ld, now);
	}
	expire_parked(ld, now);
}

static int64_t
next_deadline(struct logd *ld)
{
	int64_t t = ld->next_idle_check_ms;

	/* Parked requests must re-check at once (a re-run appended, or the
	 * high watermark moved): do not sleep first. */
	if (ld->appended || ld->data_woken || ld->ready_head != NULL)
		return 0;
	if (ld->next_checkpoint_ms < t)
		t = ld->next_checkpoint_ms;
	if (ld->ngroups > 0 && ld->next_group_tick_ms < t)
		t = ld->next_group_tick_ms;
	if (ld->next_retention_ms < t)
		t = ld->next_retention_ms;
	/* No flush.ms anywhere (the default): no 100 ms wake-ups for it. */
	if (ld->next_flush_check_ms < t && topics_flush_timed(ld))
		t = ld->next_flush_check_ms;
	if (cleaner_next_deadline(ld) < t)
		t = cleaner_next_deadline(ld);
	if (ld->npark_heap > 0 && ld->park_heap[0].deadline_ms < t)
		t = ld->park_heap[0].deadline_ms;
	return t;
}

static void
close_idle(struct logd *ld, int64_t now)
{
	struct conn *c, *next;

	for (c = ld->conns; c != NULL; c = next) {
		next = c->next;
		if (c->parked || c->out_head != NULL)
			continue;
		if (now - c->last_active_ms > ld->cfg.connections_max_idle_ms) {
			log_info("closing idle connection from %s", c->peer);
			conn_close(ld, c);
		}
	}
}

static void
run_timers(struct logd *ld, int64_t now)
{
	if (now >= ld->next_idle_check_ms) {
		close_idle(ld, now);
		ld->next_idle_check_ms = now + IDLE_CHECK_MS;
	}
	if (now >= ld->next_retention_ms) {
		topics_run_retention(ld, clock_wall_ms());
		topics_run_compaction(ld, clock_wall_ms());
		ld->next_retention_ms = now + ld->cfg.retention_check_interval_ms;
	}
	if (now >= ld->next_flush_check_ms) {
		topics_flush_due(ld, clock_wall_ms());
		ld->next_flush_check_ms = now + FLUSH_CHECK_MS;
	}
	if (now >= ld->next_group_tick_ms) {
		groups_tick(ld, now);
		ld->next_group_tick_ms = now + GROUP_TICK_MS;
	}
	if (now >= ld->next_checkpoint_ms) {
		store_checkpoint(ld);
		ld->next_checkpoint_ms = now + CHECKPOINT_MS;
	}
	cleaner_tick(ld, now);
	cluster_tick(ld, now);
	replica_tick(ld, now);
}

static int
announce(struct logd *ld, const struct logd_opts *o, struct err *e)
{
	if (net_local_addr(ld->listen_fd, ld->bound_addr, sizeof(ld->bound_addr),
	    e) < 0)
		return -1;
	/* With port 0, clients must be told the port we really got. */
	if (ld->cfg.listen.port == 0) {
		struct net_addr bound;

		if (net_addr_parse(ld->bound_addr, 0, &bound, e) < 0)
			return -1;
		if (!ld->cfg.advertise_set)
			ld->cfg.advertise.port = bound.port;
	}
	if (o->addr_file != NULL) {
		char line[NET_ADDR_MAX + 1];
		size_t n = strlen(ld->bound_addr);

		memcpy(line, ld->bound_addr, n);
		line[n++] = '\n';
		if (file_write_atomic(o->addr_file, line, n, e) < 0)
			return -1;
	}
	log_info("listening on %s, advertising %s:%u, broker id %" PRId32,
	    ld->bound_addr, ld->cfg.advertise.host, ld->cfg.advertise.port,
	    ld->cfg.broker_id);
	if (o->ready_fd >= 0) {
		(void)!write(o->ready_fd, "\n", 1);
		close(o->ready_fd);
	}
	return 0;
}

/* After SIGTERM: answer parked requests, flush output, bounded in time. */
static void
drain(struct logd *ld, const sigset_t *mask)
{
	int64_t deadline = clock_mono_ms() + ld->cfg.shutdown_timeout_ms;
	struct epoll_event evs[64];

	wake_all(ld, clock_mono_ms(), true);
	while (clock_mono_ms() < deadline) {
		struct conn *c, *next;
		bool pending = false;
		int i, n;

		for (c = ld->conns; c != NULL; c = next) {
			next = c->next;
			if (c->out_head != NULL)
				pending = true;
		}
		if (!pending)
			break;
		n = epoll_pwait(ld->epfd, evs, 64,
		    (int)(deadline - clock_mono_ms()), mask);
		for (i = 0; i < n; i++) {
			struct conn *cc = evs[i].data.ptr;

			if (cc == NULL || (void *)cc == &ld->listen_fd ||
			    (void *)cc == &ld->ctl_fd ||
			    (void *)cc == &ld->cleaner)
				continue;
			if ((evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) &&
			    conn_flush(ld, cc) < 0)
				conn_close(ld, cc);
		}
	}
	while (ld->conns != NULL)
		conn_close(ld, ld->conns);
	free(ld->park_heap);
	ld->park_heap = NULL;
	ld->npark_heap = ld->park_heap_cap = 0;
}

int
logd_serve(struct logd *ld, const struct logd_opts *o,
    volatile sig_atomic_t *stop, volatile sig_atomic_t *reload,
    struct err *e)
{
	struct epoll_event ev = { 0 }, evs[256];
	sigset_t block, orig;
	int64_t now;

	ld->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ld->epfd < 0)
		return err_sys(e, EXIT_OSERR, "epoll_create1");
	ld->listen_fd = net_listen_tcp(&ld->cfg.listen, 1024, e);
	if (ld->listen_fd < 0)
		return -1;
	ev.events = EPOLLIN;
	ev.data.ptr = &ld->listen_fd;
	epoll_ctl(ld->epfd, EPOLL_CTL_ADD, ld->listen_fd, &ev);
	if (ctl_listen(ld, e) < 0)
		return -1;
	ev.data.ptr = &ld->ctl_fd;
	epoll_ctl(ld->epfd, EPOLL_CTL_ADD, ld->ctl_fd, &ev);
	/* Cluster mode: replica.sock and the ctrld link (logd_cluster.c). */
	if (cluster_serve_start(ld, e) < 0)
		return -1;

	/*
	 * Signals are blocked except inside epoll_pwait, so a TERM that
	 * arrives between checking the flag and waiting is never lost.
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &orig);
	sigdelset(&orig, SIGTERM);
	sigdelset(&orig, SIGINT);
	sigdelset(&orig, SIGHUP);

	if (announce(ld, o, e) < 0)
		return -1;
	/* Compaction reads and writes on its own thread (logd_cleaner.c). */
	if (cleaner_start(ld, e) < 0)
		return -1;
	/* Rolled segments are synced on their own thread too. */
	if (flusher_start(ld, e) < 0) {
		cleaner_stop(ld);
		return -1;
	}
	now = clock_mono_ms();
	ld->next_idle_check_ms = now + IDLE_CHECK_MS;
	ld->next_retention_ms = now + ld->cfg.retention_check_interval_ms;
	ld->next_flush_check_ms = now + FLUSH_CHECK_MS;
	ld->next_checkpoint_ms = now + CHECKPOINT_MS;

	/* In cluster mode a stop first moves our leaderships away. */
	while (!*stop || !cluster_stop_ready(ld)) {
		int64_t wait = next_deadline(ld) - clock_mono_ms();
		int i, n;

		if (wait < 0)
			wait = 0;
		if (wait > 1000)
			wait = 1000;
		n = epoll_pwait(ld->epfd, evs, 256, (int)wait, &orig);
		if (n < 0 && errno != EINTR) {
			err_sys(e, EXIT_OSERR, "epoll_wait");
			cleaner_stop(ld);
			flusher_stop(ld);
			return -1;
		}
		now = clock_mono_ms();
		for (i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;
			struct conn *c = tag;

			if (tag == &ld->listen_fd) {
				accept_clients(ld, ld->listen_fd, false, now);
				continue;
			}
			if (tag == &ld->replica_fd) {
				accept_clients(ld, ld->replica_fd, true, now);
				continue;
			}
			if (ld->cluster != NULL && tag == (void *)ld->cluster) {
				cluster_on_event(ld);
				continue;
			}
			if (tag == &ld->ctl_fd) {
				ctl_accept(ld);
				continue;
			}
			if (tag == &ld->cleaner) {
				cleaner_on_wakeup(ld);
				continue;
			}
			if (tag == &ld->flusher) {
				flusher_on_wakeup(ld);
				continue;
			}
			if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
				/* The peer is gone: nothing left to deliver. */
				log_debug("connection from %s hung up", c->peer);
				conn_close(ld, c);
				continue;
			}
			if (evs[i].events & EPOLLOUT) {
				if (conn_flush(ld, c) < 0) {
					conn_close(ld, c);
					continue;
				}
				/* Output drained: requests held back can run. */
				if (!c->parked && c->in.len > c->in_off &&
				    conn_process(ld, c, now) < 0)
					continue;
			}
			if (evs[i].events & EPOLLIN)
				conn_on_readable(ld, c, now);
		}
		wake_parked(ld, now);
		run_timers(ld, now);
		if (*reload) {
			*reload = 0;
			logd_reload(ld);
		}
	}
	log_info("shutting down: %zu connections, %" PRIu64 " requests served",
	    ld->nconns, ld->requests);
	close(ld->listen_fd);
	ld->listen_fd = -1;
	cluster_serve_stop(ld);
	/* Promptly: the thread looks at its stop flag between reads. */
	cleaner_stop(ld);
	drain(ld, &orig);
	/* After the drain: what it appended is synced by the clean close. */
	flusher_stop(ld);
	close(ld->ctl_fd);
	ld->ctl_fd = -1;
	ctl_unlink(ld);
	close(ld->epfd);
	return 0;
}
