/*
 * load.c — the stored state back into shm at start-up (load.h).
 *
 * Order: the sessions (the index, then each into the session table), then
 * the children table in one scan (each child finds its session through
 * the index; queued messages are collected and pushed in position order
 * at the end), then the retained messages, then one batch deleting what
 * expired or belongs to no session.  The loader is not a worker, so
 * nothing it puts into shm is reported back to the storage process.
 */
#include "config.h"
#include "plugins/storage/load.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "mqtt/topic.h"
#include "plugins/storage/codec.h"
#include "shm/counters.h"
#include "shm/msg.h"
#include "shm/persist.h"
#include "shm/retained.h"
#include "shm/session.h"

typedef struct load_ctx {
	const cq_store_ops_t *ops;
	cq_store_t *st;
	cq_sindex_t *ix;
	unsigned nworkers;
	uint64_t now;
	cq_load_stats_t *stats;
	char **error_r;
	cq_buf_t drop; /* changes for the final batch (change_later) */
	cq_buf_t key, val;
} load_ctx_t;

static int fail(load_ctx_t *lc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
fail(load_ctx_t *lc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (*lc->error_r == NULL && vasprintf(lc->error_r, fmt, ap) < 0)
		*lc->error_r = NULL;
	va_end(ap);
	return -1;
}

/* What the final batch does to a key: every delete first, then every
 * put (a renumbered queue entry may take the key of another's old one). */
enum { CH_DEL = 0, CH_PUT = 1 };

/* Record {op, table, klen u32, key, vlen u32, val} for the final batch. */
static int
change_later(load_ctx_t *lc, unsigned op, unsigned table, const void *key,
	size_t klen, const void *val, size_t vlen)
{
	uint8_t h[6] = {(uint8_t)op, (uint8_t)table};
	uint32_t k = (uint32_t)klen, v = (uint32_t)vlen;
	memcpy(h + 2, &k, 4);
	if (cq_buf_append(&lc->drop, h, sizeof(h)) < 0 ||
		cq_buf_append(&lc->drop, key, klen) < 0 ||
		cq_buf_append(&lc->drop, &v, 4) < 0 ||
		cq_buf_append(&lc->drop, val, vlen) < 0)
		return fail(lc, "out of memory");
	return 0;
}

static int
drop_later(load_ctx_t *lc, unsigned table, const void *key, size_t len)
{
	return change_later(lc, CH_DEL, table, key, len, NULL, 0);
}

/* ---- sessions ------------------------------------------------------ */

static int
index_one(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
	cq_sindex_t *ix = arg;
	cq_pev_sess_t rec;
	if (klen == 0 || cq_scodec_sess_decode(val, vlen, &rec) < 0) {
		cq_log(CQ_LOG_ERR, 0,
			"the session record of \"%.*s\" is corrupt",
			(int)CQ_MIN(klen, 256), (const char *)key);
		return -1;
	}
	cq_sindex_ent_t *e = cq_sindex_put(ix, key, klen);
	if (e == NULL)
		return -1;
	e->rec = rec;
	return 0;
}

int
cq_load_index(const cq_store_ops_t *ops, cq_store_t *st, cq_sindex_t *ix)
{
	cq_sindex_clear(ix);
	return ops->scan(st, CQ_ST_SESSIONS, index_one, ix);
}

static bool
expired(const cq_pev_sess_t *r, uint64_t now)
{
	return r->expiry_interval == 0 ||
		(r->deadline != 0 && r->deadline <= now);
}

static int
restore_session(load_ctx_t *lc, cq_sindex_ent_t *e)
{
	const cq_pev_sess_t *r = &e->rec;
	uint64_t deadline = r->deadline;
	/* Connected when the broker stopped: its interval runs from now. */
	if (deadline == 0 && r->expiry_interval != CQ_SESSION_NEVER)
		deadline = lc->now + r->expiry_interval;
	cq_session_restore_t rs = {
		.o = {.client_id = e->id,
			.id_len = e->id_len,
			.protocol = r->protocol,
			.expiry_interval = r->expiry_interval,
			.inflight_max = r->inflight_max,
			.qos2_max = r->qos2_max,
			.queue_max = r->queue_max},
		.owner = (unsigned)(e->hash % lc->nworkers),
		.deadline = deadline,
		.inc = r->inc};
	if (cq_session_restore(&rs, &e->sess) == 0)
		return 0;
	if (errno == ENOSPC)
		return fail(lc,
			"more stored sessions than limits.max_sessions (%llu "
			"so far); raise it",
			(unsigned long long)lc->stats->sessions);
	return fail(lc, "session \"%s\": %s%s", e->id, strerror(errno),
		errno == ENOMEM ? " (raise shm_size)" : "");
}

static int
load_sessions(load_ctx_t *lc, uint64_t *max_inc_r)
{
	cq_sindex_t *ix = lc->ix;
	for (size_t i = 0; i < ix->cap; i++) {
		cq_sindex_ent_t *e = &ix->e[i];
		if (e->id == NULL)
			continue;
		if (e->rec.inc > *max_inc_r)
			*max_inc_r = e->rec.inc;
		if (expired(&e->rec, lc->now)) {
			lc->stats->expired++;
			if (drop_later(lc, CQ_ST_SESSIONS, e->id, e->id_len) <
				0)
				return -1;
			continue; /* its children are dropped as orphans */
		}
		if (restore_session(lc, e) < 0)
			return -1;
		lc->stats->sessions++;
	}
	return 0;
}

/* ---- children ------------------------------------------------------ */

static cq_off_t
make_msg(load_ctx_t *lc, const cq_msg_info_t *info)
{
	cq_off_t m = cq_msg_create(info);
	if (m == CQ_OFF_NULL)
		fail(lc, "the message store is full (raise shm_size)");
	return m;
}

static int
load_sub(load_ctx_t *lc, cq_sindex_ent_t *e, const uint8_t *f, size_t fl,
	const void *val, size_t vlen)
{
	cq_subopts_t o;
	if (vlen != 8 ||
		cq_topic_filter_check(f, fl, 0, CQ_TOPIC_SHARED) != CQ_TOPIC_OK)
		return -1;
	cq_pev_subopts_unpack(cq_scodec_get_le64(val), &o);
	if (o.qos > 2 || o.retain_handling > 2)
		return -1;
	if (cq_session_sub_add(e->sess, 1, (const char *)f, fl, &o) < 0)
		return fail(lc, "session \"%s\": a subscription: %s", e->id,
			strerror(errno));
	lc->stats->subs++;
	return 0;
}

static int
load_inflight(load_ctx_t *lc, cq_sindex_ent_t *e, uint16_t pid, const void *val,
	size_t vlen)
{
	unsigned state;
	uint32_t seq;
	bool has;
	cq_msg_info_t info;
	const char *why;
	if (pid == 0 ||
		cq_scodec_inflight_decode(
			val, vlen, &state, &seq, &has, &info, &why) < 0)
		return -1;
	cq_off_t m = CQ_OFF_NULL;
	if (has && (m = make_msg(lc, &info)) == CQ_OFF_NULL)
		return -1;
	int rc = cq_session_inflight_restore(e->sess, 1, pid, m, state, seq);
	if (rc == 0) {
		lc->stats->inflight++;
		return 0;
	}
	if (m != CQ_OFF_NULL)
		cq_msg_unref(m);
	cq_log(CQ_LOG_WARN, rc == CQ_AGAIN ? 0 : errno,
		"session \"%s\": inflight packet %u left out (%s)", e->id, pid,
		rc == CQ_AGAIN ? "window full" : "error");
	return 0;
}

static int
load_queued(load_ctx_t *lc, cq_sindex_ent_t *e, uint32_t pos, const void *key,
	size_t klen, const void *val, size_t vlen)
{
	cq_msg_info_t info;
	const char *why;
	if (cq_scodec_plain_decode(val, vlen, &info, &why) < 0)
		return -1;
	if (info.expiry != 0 && lc->now >= info.expiry) {
		lc->stats->expired++;
		return drop_later(lc, CQ_ST_CHILDREN, key, klen);
	}
	cq_off_t m = make_msg(lc, &info);
	if (m == CQ_OFF_NULL)
		return -1;
	if (cq_sindex_queue_add(e, pos, m) < 0) {
		cq_msg_unref(m);
		return fail(lc, "out of memory");
	}
	return 0;
}

static int
load_will(load_ctx_t *lc, cq_sindex_ent_t *e, const void *val, size_t vlen)
{
	uint32_t delay;
	cq_msg_info_t info;
	const char *why;
	if (cq_scodec_will_decode(val, vlen, &delay, &info, &why) < 0)
		return -1;
	cq_off_t m = make_msg(lc, &info);
	if (m == CQ_OFF_NULL)
		return -1;
	if (cq_session_will_set(e->sess, 1, m, delay) < 0) {
		cq_msg_unref(m);
		return fail(lc, "session \"%s\": its will: %s", e->id,
			strerror(errno));
	}
	lc->stats->wills++;
	return 0;
}

/* One child of a restored session: 0, -1 corrupt (reported by the
 * caller) or -1 with the error set. */
static int
load_child(load_ctx_t *lc, cq_sindex_ent_t *e, char kind, const uint8_t *sub,
	size_t sl, const void *key, size_t klen, const void *val, size_t vlen)
{
	switch (kind) {
	case CQ_SK_SUB:
		return load_sub(lc, e, sub, sl, val, vlen);
	case CQ_SK_QUEUE:
		return load_queued(
			lc, e, cq_scodec_get_be(sub, 4), key, klen, val, vlen);
	case CQ_SK_INFLIGHT:
		return load_inflight(
			lc, e, (uint16_t)cq_scodec_get_be(sub, 2), val, vlen);
	case CQ_SK_QOS2: {
		uint16_t pid = (uint16_t)cq_scodec_get_be(sub, 2);
		if (pid == 0 || vlen != 0)
			return -1;
		if (cq_session_qos2_add(e->sess, 1, pid) == 1)
			lc->stats->qos2++;
		return 0;
	}
	default:
		return load_will(lc, e, val, vlen);
	}
}

static int
child_one(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
	load_ctx_t *lc = arg;
	const char *id;
	size_t il, sl;
	char kind;
	const uint8_t *sub;
	if (cq_scodec_child_split(key, klen, &id, &il, &kind, &sub, &sl) < 0)
		return fail(lc, "a key of table children is corrupt");
	cq_sindex_ent_t *e = cq_sindex_get(lc->ix, id, il);
	if (e == NULL || e->sess == CQ_OFF_NULL)
		return drop_later(lc, CQ_ST_CHILDREN, key, klen);
	if (load_child(lc, e, kind, sub, sl, key, klen, val, vlen) == 0)
		return 0;
	return fail(lc, "session \"%s\": a stored %c entry is corrupt", e->id,
		kind);
}

/* ---- queues -------------------------------------------------------- */

static int
by_pos(const void *a, const void *b)
{
	uint32_t x = ((const cq_sindex_q_t *)a)->pos;
	uint32_t y = ((const cq_sindex_q_t *)b)->pos;
	return (x > y) - (x < y);
}

/* The first entry in queue order: after the largest gap between sorted
 * positions (positions are free-running and may wrap). */
static uint32_t
queue_start(const cq_sindex_q_t *q, uint32_t n)
{
	uint32_t start = 0, gap = q[0].pos - q[n - 1].pos;
	for (uint32_t i = 1; i < n; i++)
		if (q[i].pos - q[i - 1].pos > gap) {
			gap = q[i].pos - q[i - 1].pos;
			start = i;
		}
	return start;
}

/* The queue key of position pos of e into lc->key. */
static void
queue_key(load_ctx_t *lc, const cq_sindex_ent_t *e, uint32_t pos)
{
	uint8_t sub[4];
	cq_scodec_be32(sub, pos);
	cq_scodec_child_key(&lc->key, e->id, e->id_len, CQ_SK_QUEUE, sub, 4);
}

/* Entry q of e goes at position 'at' (its stored one, or renumbered when
 * the stored queue has holes: events were lost).  0 or -1. */
static int
push_queued(load_ctx_t *lc, cq_sindex_ent_t *e, cq_sindex_q_t *q, uint32_t at)
{
	int pushed = cq_session_queue_push(e->sess, 1, q->msg) == 0;
	int rc = 0;
	if (!pushed || q->pos != at) {
		queue_key(lc, e, q->pos);
		rc = drop_later(lc, CQ_ST_CHILDREN, cq_buf_head(&lc->key),
			cq_buf_used(&lc->key));
	}
	if (pushed && q->pos != at && rc == 0) {
		queue_key(lc, e, at);
		if (cq_scodec_plain_encode(&lc->val, q->msg) < 0)
			return fail(lc, "out of memory");
		rc = change_later(lc, CH_PUT, CQ_ST_CHILDREN,
			cq_buf_head(&lc->key), cq_buf_used(&lc->key),
			cq_buf_head(&lc->val), cq_buf_used(&lc->val));
	}
	if (pushed)
		lc->stats->queued++;
	else
		cq_msg_unref(q->msg);
	return rc;
}

/* Push e's collected messages in order at their stored positions. */
static int
load_queue(load_ctx_t *lc, cq_sindex_ent_t *e)
{
	uint32_t n = e->nqueue;
	qsort(e->queue, n, sizeof(*e->queue), by_pos);
	uint32_t start = queue_start(e->queue, n);
	uint32_t skip = n > e->rec.queue_max ? n - e->rec.queue_max : 0;
	uint32_t base = e->queue[(start + skip) % n].pos;
	if (cq_session_queue_base(e->sess, 1, base) < 0)
		return fail(lc, "session \"%s\": its queue: %s", e->id,
			strerror(errno));
	int rc = 0;
	for (uint32_t k = 0; k < n && rc == 0; k++) {
		cq_sindex_q_t *q = &e->queue[(start + k) % n];
		if (k >= skip) {
			rc = push_queued(lc, e, q, base + (k - skip));
			continue;
		}
		/* More than the queue holds: the oldest go. */
		cq_msg_unref(q->msg);
		lc->stats->expired++;
		queue_key(lc, e, q->pos);
		rc = drop_later(lc, CQ_ST_CHILDREN, cq_buf_head(&lc->key),
			cq_buf_used(&lc->key));
	}
	free(e->queue);
	e->queue = NULL;
	e->nqueue = e->cap_queue = 0;
	return rc;
}

/* ---- retained ------------------------------------------------------ */

static int
retained_one(
	void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
	load_ctx_t *lc = arg;
	cq_msg_info_t info;
	const char *why;
	if (cq_topic_name_check(key, klen, 0) != CQ_TOPIC_OK ||
		cq_scodec_plain_decode(val, vlen, &info, &why) < 0)
		return fail(lc, "retained message \"%.*s\" is corrupt",
			(int)CQ_MIN(klen, 256), (const char *)key);
	if (info.expiry != 0 && lc->now >= info.expiry) {
		lc->stats->expired++;
		return drop_later(lc, CQ_ST_RETAINED, key, klen);
	}
	info.flags |= CQ_MSG_F_RETAIN;
	cq_off_t m = make_msg(lc, &info);
	if (m == CQ_OFF_NULL)
		return -1;
	int rc = cq_retained_set(key, klen, m);
	cq_msg_unref(m);
	if (rc < 0)
		return fail(lc, "the retained store is full (raise shm_size)");
	lc->stats->retained++;
	return 0;
}

/* ---- the end ------------------------------------------------------- */

/* One pass of the final batch over changes of kind 'op'. */
static int
apply_changes(load_ctx_t *lc, unsigned op)
{
	const uint8_t *p = cq_buf_head(&lc->drop),
		      *end = cq_buf_tail(&lc->drop);
	int rc = 0;
	while (rc == 0 && p < end) {
		uint32_t kl, vl;
		memcpy(&kl, p + 2, 4);
		memcpy(&vl, p + 6 + kl, 4);
		const uint8_t *k = p + 6, *v = p + 10 + kl;
		if (p[0] == op && op == CH_DEL)
			rc = lc->ops->del(lc->st, p[1], k, kl);
		else if (p[0] == op)
			rc = lc->ops->put(lc->st, p[1], k, kl, v, vl);
		p += 10 + kl + vl;
	}
	return rc;
}

static int
drop_all(load_ctx_t *lc)
{
	if (cq_buf_used(&lc->drop) == 0)
		return 0;
	if (lc->ops->begin(lc->st) < 0)
		return fail(lc, "deleting what expired: %s", strerror(errno));
	if (apply_changes(lc, CH_DEL) == 0 && apply_changes(lc, CH_PUT) == 0 &&
		lc->ops->commit(lc->st) == 0)
		return 0;
	lc->ops->abort(lc->st);
	return fail(lc, "deleting what expired: %s", strerror(errno));
}

/* The restored $SYS base (gauges are not carried over). */
static void
load_sys(load_ctx_t *lc)
{
	uint64_t v[CQ_PERSIST_SYS_MAX] = {0};
	int rc = lc->ops->get(lc->st, CQ_ST_META, "sys", 3, &lc->val);
	size_t n = cq_buf_used(&lc->val) / 8;
	for (size_t i = 0; rc == 1 && i < n && i < CQ_CTR_COUNT; i++)
		if (!cq_counter_is_gauge((cq_counter_t)i))
			v[i] = cq_scodec_get_le64(
				cq_buf_head(&lc->val) + 8 * i);
	cq_persist_sys_base_set(v, CQ_PERSIST_SYS_MAX);
}

static int
load_all(load_ctx_t *lc)
{
	uint64_t max_inc = 0;
	if (cq_load_index(lc->ops, lc->st, lc->ix) < 0)
		return fail(lc, "the sessions table cannot be read");
	if (load_sessions(lc, &max_inc) < 0 ||
		lc->ops->scan(lc->st, CQ_ST_CHILDREN, child_one, lc) < 0)
		return fail(lc, "the children table cannot be read");
	cq_sindex_t *ix = lc->ix;
	for (size_t i = 0; i < ix->cap; i++)
		if (ix->e[i].id != NULL && ix->e[i].nqueue > 0 &&
			load_queue(lc, &ix->e[i]) < 0)
			return -1;
	if (lc->ops->scan(lc->st, CQ_ST_RETAINED, retained_one, lc) < 0)
		return fail(lc, "the retained table cannot be read");
	if (drop_all(lc) < 0)
		return -1;
	/* Expired sessions leave the index only now: it had to find their
	 * children above. */
	for (size_t i = 0; i < ix->cap; i++)
		if (ix->e[i].id != NULL && ix->e[i].sess == CQ_OFF_NULL)
			cq_sindex_del(ix, ix->e[i].id, ix->e[i].id_len), i--;
	load_sys(lc);
	cq_persist_inc_floor(max_inc + 1);
	return 0;
}

int
cq_load_state(const cq_store_ops_t *ops, cq_store_t *st, cq_sindex_t *ix,
	unsigned nworkers, uint64_t now, cq_load_stats_t *stats, char **error_r)
{
	load_ctx_t lc = {.ops = ops,
		.st = st,
		.ix = ix,
		.nworkers = nworkers ? nworkers : 1,
		.now = now,
		.stats = stats,
		.error_r = error_r};
	memset(stats, 0, sizeof(*stats));
	*error_r = NULL;
	int rc = load_all(&lc);
	if (rc < 0 && *error_r == NULL)
		*error_r = strdup("out of memory");
	cq_buf_free(&lc.drop);
	cq_buf_free(&lc.key);
	cq_buf_free(&lc.val);
	return rc;
}
