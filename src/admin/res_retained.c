/*
 * res_retained.c — retained messages:
 *
 *   GET    /api/v1/mqtt/retained            paged, sorted by topic
 *          ?topic= (substring) &payload=true (first 4096 bytes)
 *   GET    /api/v1/mqtt/retained/{topic}    one message with its payload
 *   DELETE /api/v1/mqtt/retained/{topic}    clear it (through a worker)
 *
 * The list walks the whole store with a sweep cursor, a bounded step at a
 * time between quiescent points (shm/retained.h), copying topics and
 * sizes; payloads are read afterwards for the page's topics only.  A
 * payload comes as text ("payload", invalid UTF-8 shown as U+FFFD) and as
 * "payload_base64", the bytes exactly.
 */
#include "config.h"
#include "admin/admin-int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shm/ctl.h"
#include "shm/msg.h"
#include "shm/retained.h"

#define STEP_BUDGET    256u
#define LIST_PAYLOAD   4096u
#define SINGLE_PAYLOAD (1u << 20)

typedef struct rrow {
	char *topic;
	size_t len;
	uint8_t qos;
	uint32_t size;
	uint64_t stored_ms;
	uint64_t expiry;
} rrow_t;

typedef struct rlist {
	const char *q;
	rrow_t *v;
	size_t n, cap;
	bool failed;
} rlist_t;

static void
take(void *arg, const char *topic, size_t len, cq_off_t m)
{
	rlist_t *l = arg;
	if (l->failed || (l->q != NULL && !cq_contains(topic, len, l->q)))
		return;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		rrow_t *v = realloc(l->v, nc * sizeof(*v));
		if (v == NULL) {
			l->failed = true;
			return;
		}
		l->v = v;
		l->cap = nc;
	}
	const cq_msg_t *msg = cq_msg_get(m);
	rrow_t *row = &l->v[l->n];
	row->topic = malloc(len + 1);
	if (row->topic == NULL) {
		l->failed = true;
		return;
	}
	memcpy(row->topic, topic, len);
	row->topic[len] = '\0';
	row->len = len;
	row->qos = msg->qos;
	row->size = msg->payload_len;
	row->stored_ms = msg->created_ms;
	row->expiry = msg->expiry;
	l->n++;
}

static int
row_cmp(const void *x, const void *y)
{
	const rrow_t *a = x, *b = y;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->topic, b->topic, n);
	return c != 0 ? c : (a->len > b->len) - (a->len < b->len);
}

static void
rlist_free(rlist_t *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].topic);
	free(l->v);
}

/* Every retained message (matching l->q), sorted.  0 or -1. */
static int
collect(rlist_t *l)
{
	cq_retained_cursor_t *c = cq_retained_sweep_new();
	if (c == NULL)
		return -1;
	uint64_t now = (uint64_t)time(NULL);
	int rc;
	cq_snap_begin();
	do {
		rc = cq_retained_step(c, now, STEP_BUDGET, take, l);
		cq_snap_pause();
	} while (rc == 1 && !l->failed);
	cq_snap_end();
	cq_retained_cursor_free(c);
	if (rc < 0 || l->failed)
		return -1;
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), row_cmp);
	return 0;
}

/* The payload of 'topic' now (up to max bytes): into j as the "payload"
 * and "payload_base64" members.  False when it is gone. */
static bool
payload_json(cq_json_t *j, const char *topic, size_t len, size_t max)
{
	bool found = false;
	cq_snap_begin();
	cq_off_t m = cq_retained_get(topic, len, (uint64_t)time(NULL));
	if (m != CQ_OFF_NULL) {
		const cq_msg_t *msg = cq_msg_get(m);
		size_t n = msg->payload_len < max ? msg->payload_len : max;
		cq_json_kstr(j, "payload", cq_msg_payload(msg), n);
		cq_json_key(j, "payload_base64");
		cq_json_base64(j, cq_msg_payload(msg), n);
		cq_json_kbool(j, "payload_truncated", n < msg->payload_len);
		found = true;
	}
	cq_snap_end();
	return found;
}

static void
row_json(cq_json_t *j, const rrow_t *row)
{
	cq_json_kstr(j, "topic", row->topic, row->len);
	cq_json_kuint(j, "qos", row->qos);
	cq_json_kuint(j, "size", row->size);
	cq_json_kuint(j, "stored_at", row->stored_ms / 1000);
	cq_json_kuint(j, "expiry", row->expiry);
}

void
cq_res_retained(cq_hreq_t *r)
{
	cq_page_t p;
	int with_payload;
	if (cq_http_page(r, &p) < 0 ||
		cq_http_query_bool(r, "payload", 0, &with_payload) < 0)
		return;
	const char *q = cq_http_query(r, "topic");
	rlist_t l = {.q = q != NULL && q[0] != '\0' ? q : NULL};
	if (collect(&l) < 0) {
		rlist_free(&l);
		cq_http_error(r, 503, "out of memory");
		return;
	}
	size_t from, to;
	cq_page_window(&p, l.n, &from, &to);
	cq_json_t j;
	cq_json_init(&j);
	cq_json_obj_begin(&j);
	cq_page_head(&j, &p, l.n);
	cq_json_arr_begin(&j);
	for (size_t i = from; i < to; i++) {
		cq_json_obj_begin(&j);
		row_json(&j, &l.v[i]);
		if (with_payload)
			payload_json(
				&j, l.v[i].topic, l.v[i].len, LIST_PAYLOAD);
		cq_json_obj_end(&j);
	}
	cq_json_arr_end(&j);
	cq_json_obj_end(&j);
	rlist_free(&l);
	cq_http_json(r, 200, &j);
}

void
cq_res_retained_get(cq_hreq_t *r)
{
	rrow_t row = {.topic = r->arg[0], .len = r->arg_len[0]};
	bool found = false;
	cq_snap_begin();
	cq_off_t m = cq_retained_get(row.topic, row.len, (uint64_t)time(NULL));
	if (m != CQ_OFF_NULL) {
		const cq_msg_t *msg = cq_msg_get(m);
		row.qos = msg->qos;
		row.size = msg->payload_len;
		row.stored_ms = msg->created_ms;
		row.expiry = msg->expiry;
		found = true;
	}
	cq_snap_end();
	cq_json_t j;
	cq_json_init(&j);
	cq_json_obj_begin(&j);
	row_json(&j, &row);
	if (!found || !payload_json(&j, row.topic, row.len, SINGLE_PAYLOAD)) {
		cq_json_free(&j);
		cq_http_error(r, 404, "no retained message on this topic");
		return;
	}
	cq_json_obj_end(&j);
	cq_http_json(r, 200, &j);
}

static void
deleted(cq_acall_t *c)
{
	cq_hreq_t *r = c->r;
	if (cq_acall_failed(
		    r, cq_acall_status(c), "no retained message on this topic"))
		return;
	cq_json_t j;
	cq_json_init(&j);
	cq_json_obj_begin(&j);
	cq_json_kstr(&j, "topic", r->arg[0], r->arg_len[0]);
	cq_json_kbool(&j, "deleted", true);
	cq_json_obj_end(&j);
	cq_http_json(r, 200, &j);
}

void
cq_res_retained_delete(cq_hreq_t *r)
{
	int w = cq_acall_any_worker(r->a);
	unsigned char *mem = malloc(CQ_CTL_PAYLOAD_MAX);
	cq_acall_t *c = mem && w >= 0 ? cq_acall_new(r, deleted, NULL, NULL)
				      : NULL;
	if (c == NULL) {
		free(mem);
		cq_http_error(
			r, 503, w < 0 ? "no worker runs" : "out of memory");
		return;
	}
	cq_ctlbuf_t b;
	cq_ctlbuf_init(&b, mem, CQ_CTL_PAYLOAD_MAX);
	cq_ctlbuf_str(&b, r->arg[0], r->arg_len[0], UINT16_MAX);
	int rc = b.bad ? -1
		       : cq_acall_send(c, (unsigned)w, CQ_CTL_RETAINED_DELETE,
				 0, mem, b.len, NULL);
	free(mem);
	if (rc < 0) {
		cq_acall_free(c);
		cq_http_error(r, b.bad ? 400 : 503,
			b.bad ? "topic too long" : "the worker is busy");
		return;
	}
	cq_acall_start(c);
}
