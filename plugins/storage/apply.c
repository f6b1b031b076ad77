/*
 * apply.c — one batch of events into one transaction (apply.h).
 *
 * Rules that make late, early and repeated events harmless (pevent.h):
 *   - PUT starts an incarnation: it replaces what the client id has unless
 *     a newer incarnation is stored (its children go with it);
 *   - every other session event applies only to the stored session of its
 *     own incarnation, else it is dropped;
 *   - entries are named by what names them in shm (position, packet id,
 *     filter), so applying one never touches another.
 * A record whose end is at or below meta "applied" for its ring was
 * committed by an earlier storage process of this region (it died before
 * releasing it): it is released without being applied again.
 */
#include "config.h"
#include "plugins/storage/apply.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "plugins/storage/codec.h"
#include "plugins/storage/load.h"
#include "shm/msg.h"
#include "shm/persist.h"
#include "shm/pevent.h"

#define APPLIED_KEY "applied"
#define SYS_KEY     "sys"

static uint64_t
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- set-up -------------------------------------------------------- */

int
cq_apply_init(cq_apply_t *ap, const cq_store_ops_t *ops, cq_store_t *st,
	cq_sindex_t *ix)
{
	memset(ap, 0, sizeof(*ap));
	ap->ops = ops;
	ap->st = st;
	ap->ix = ix;
	ap->nslots = cq_persist_nslots();
	ap->epoch = cq_persist_epoch();
	cq_buf_t b = CQ_BUF_INIT;
	int rc = ops->get(st, CQ_ST_META, APPLIED_KEY, strlen(APPLIED_KEY), &b);
	if (rc < 0) {
		cq_log(CQ_LOG_ERR, errno, "reading meta \"%s\"", APPLIED_KEY);
		cq_buf_free(&b);
		return -1;
	}
	const uint8_t *p = cq_buf_head(&b);
	size_t len = cq_buf_used(&b);
	/* Positions of another region mean nothing here. */
	if (rc == 1 && len >= 16 && cq_scodec_get_le64(p) == ap->epoch) {
		unsigned n = (unsigned)cq_scodec_get_le64(p + 8);
		for (unsigned i = 0; i < n && i < ap->nslots &&
			16 + 8 * (size_t)(i + 1) <= len;
			i++)
			ap->applied[i] = cq_scodec_get_le64(p + 16 + 8 * i);
	}
	cq_buf_free(&b);
	for (unsigned i = 0; i < ap->nslots; i++)
		cq_persist_set_committed(i, ap->applied[i]);
	return 0;
}

void
cq_apply_free(cq_apply_t *ap)
{
	free(ap->unref);
	cq_buf_free(&ap->key);
	cq_buf_free(&ap->val);
	memset(ap, 0, sizeof(*ap));
}

static void
hold_ref(cq_apply_t *ap, cq_off_t m)
{
	if (ap->nunref == ap->cap_unref) {
		size_t cap = ap->cap_unref ? ap->cap_unref * 2 : 256;
		cq_off_t *u = realloc(ap->unref, cap * sizeof(*u));
		if (u == NULL) {
			/* Leaked, never freed twice: the checker repairs it. */
			cq_log(CQ_LOG_ERR, ENOMEM,
				"a message reference is leaked");
			return;
		}
		ap->unref = u;
		ap->cap_unref = cap;
	}
	ap->unref[ap->nunref++] = m;
}

/* ---- writes -------------------------------------------------------- */

static int
put(cq_apply_t *ap, unsigned table, const void *k, size_t kl, const void *v,
	size_t vl)
{
	ap->wrote = true;
	return ap->ops->put(ap->st, table, k, kl, v, vl);
}

static int
del(cq_apply_t *ap, unsigned table, const void *k, size_t kl)
{
	ap->wrote = true;
	return ap->ops->del(ap->st, table, k, kl);
}

static int
put_session(cq_apply_t *ap, const cq_sindex_ent_t *e)
{
	uint8_t v[CQ_SCODEC_SESS_LEN];
	cq_scodec_sess_encode(&e->rec, v);
	return put(ap, CQ_ST_SESSIONS, e->id, e->id_len, v, sizeof(v));
}

/* Every child of client id 'id'. */
static int
drop_children(cq_apply_t *ap, const char *id, size_t len)
{
	if (cq_scodec_child_key(&ap->key, id, len, 0, NULL, 0) < 0)
		return -1;
	ap->wrote = true;
	/* The prefix is id + NUL: without the kind byte. */
	return ap->ops->del_prefix(
		ap->st, CQ_ST_CHILDREN, cq_buf_head(&ap->key), len + 1);
}

static int
child_key(cq_apply_t *ap, const cq_pev_view_t *v, char kind, const void *sub,
	size_t sub_len)
{
	return cq_scodec_child_key(
		&ap->key, v->key, v->h.key_len, kind, sub, sub_len);
}

static int
put_child(cq_apply_t *ap)
{
	return put(ap, CQ_ST_CHILDREN, cq_buf_head(&ap->key),
		cq_buf_used(&ap->key), cq_buf_head(&ap->val),
		cq_buf_used(&ap->val));
}

static int
del_child(cq_apply_t *ap)
{
	return del(ap, CQ_ST_CHILDREN, cq_buf_head(&ap->key),
		cq_buf_used(&ap->key));
}

/* ---- events -------------------------------------------------------- */

static int
on_put(cq_apply_t *ap, const cq_pev_view_t *v)
{
	cq_pev_sess_t rec;
	cq_pev_sess_unpack(&v->h, &rec);
	cq_sindex_ent_t *e = cq_sindex_get(ap->ix, v->key, v->h.key_len);
	if (e != NULL && e->rec.inc > rec.inc)
		return 0; /* a newer incarnation is stored */
	if (e != NULL && drop_children(ap, v->key, v->h.key_len) < 0)
		return -1;
	if ((e = cq_sindex_put(ap->ix, v->key, v->h.key_len)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	e->rec = rec;
	return put_session(ap, e);
}

static int
on_session(cq_apply_t *ap, const cq_pev_view_t *v, cq_sindex_ent_t *e)
{
	switch (v->type) {
	case CQ_PEV_SESS_ADOPT:
		e->rec.deadline = 0;
		return put_session(ap, e);
	case CQ_PEV_SESS_META:
		e->rec.expiry_interval = (uint32_t)v->h.a;
		e->rec.deadline = v->h.c;
		return put_session(ap, e);
	default: /* CQ_PEV_SESS_DEL */
		if (del(ap, CQ_ST_SESSIONS, v->key, v->h.key_len) < 0 ||
			drop_children(ap, v->key, v->h.key_len) < 0)
			return -1;
		cq_sindex_del(ap->ix, v->key, v->h.key_len);
		return 0;
	}
}

static int
on_sub(cq_apply_t *ap, const cq_pev_view_t *v)
{
	if (child_key(ap, v, CQ_SK_SUB, v->text, v->h.text_len) < 0)
		return -1;
	if (v->type == CQ_PEV_SUB_DEL)
		return del_child(ap);
	uint8_t o[8];
	cq_scodec_le64(o, v->h.a);
	cq_buf_reset(&ap->val);
	if (cq_buf_append(&ap->val, o, sizeof(o)) < 0)
		return -1;
	return put_child(ap);
}

/* The message of v into ap->val by 'enc'; 0, 1 skipped (logged), -1. */
static int
encoded(int rc, const cq_pev_view_t *v)
{
	if (rc == 0)
		return 0;
	if (errno != EINVAL)
		return -1;
	cq_log(CQ_LOG_CRIT, 0,
		"%s event of \"%.*s\" names no message (offset %u); "
		"skipped",
		cq_pev_type_name(v->type), (int)v->h.key_len, v->key, v->h.msg);
	return 1;
}

static int
on_entry(cq_apply_t *ap, const cq_pev_view_t *v)
{
	uint8_t sub[4];
	uint16_t pid = (uint16_t)v->h.a;
	unsigned state = (unsigned)(v->h.a >> 16) & 0xffffu;
	uint32_t seq = (uint32_t)(v->h.a >> 32);
	int rc;
	switch (v->type) {
	case CQ_PEV_QUEUE_PUSH:
	case CQ_PEV_QUEUE_POP:
		cq_scodec_be32(sub, (uint32_t)v->h.a);
		if (child_key(ap, v, CQ_SK_QUEUE, sub, 4) < 0)
			return -1;
		if (v->type == CQ_PEV_QUEUE_POP)
			return del_child(ap);
		rc = encoded(cq_scodec_plain_encode(&ap->val, v->h.msg), v);
		return rc != 0 ? rc : put_child(ap);
	case CQ_PEV_QOS2_ADD:
	case CQ_PEV_QOS2_DEL:
		cq_scodec_be16(sub, pid);
		if (child_key(ap, v, CQ_SK_QOS2, sub, 2) < 0)
			return -1;
		if (v->type == CQ_PEV_QOS2_DEL)
			return del_child(ap);
		cq_buf_reset(&ap->val);
		return put_child(ap);
	default: /* INFLIGHT_ADD, INFLIGHT_SET */
		cq_scodec_be16(sub, pid);
		if (child_key(ap, v, CQ_SK_INFLIGHT, sub, 2) < 0)
			return -1;
		if (state == 0)
			return del_child(ap);
		rc = encoded(
			cq_scodec_inflight_encode(&ap->val, state, seq,
				v->type == CQ_PEV_INFLIGHT_ADD ? v->h.msg
							       : CQ_OFF_NULL),
			v);
		return rc != 0 ? rc : put_child(ap);
	}
}

static int
on_will(cq_apply_t *ap, const cq_pev_view_t *v)
{
	if (child_key(ap, v, CQ_SK_WILL, NULL, 0) < 0)
		return -1;
	if (v->h.msg == CQ_OFF_NULL)
		return del_child(ap);
	int rc = encoded(
		cq_scodec_will_encode(&ap->val, (uint32_t)v->h.a, v->h.msg), v);
	return rc != 0 ? rc : put_child(ap);
}

static int
on_retain(cq_apply_t *ap, const cq_pev_view_t *v)
{
	if (v->type == CQ_PEV_RETAIN_DEL)
		return del(ap, CQ_ST_RETAINED, v->key, v->h.key_len);
	int rc = encoded(cq_scodec_plain_encode(&ap->val, v->h.msg), v);
	return rc != 0 ? rc
		       : put(ap, CQ_ST_RETAINED, v->key, v->h.key_len,
				 cq_buf_head(&ap->val), cq_buf_used(&ap->val));
}

/* One decoded event: 0 (applied or dropped), -1 backend error. */
static int
apply_event(cq_apply_t *ap, const cq_pev_view_t *v)
{
	ap->events++;
	if (v->type == CQ_PEV_RETAIN_SET || v->type == CQ_PEV_RETAIN_DEL)
		return on_retain(ap, v);
	if (v->type == CQ_PEV_SESS_PUT)
		return on_put(ap, v);
	cq_sindex_ent_t *e = cq_sindex_get(ap->ix, v->key, v->h.key_len);
	if (e == NULL || e->rec.inc != v->h.inc)
		return 0; /* an incarnation that is not stored (any more) */
	int rc;
	switch (v->type) {
	case CQ_PEV_SESS_ADOPT:
	case CQ_PEV_SESS_META:
	case CQ_PEV_SESS_DEL:
		return on_session(ap, v, e);
	case CQ_PEV_SUB_ADD:
	case CQ_PEV_SUB_DEL:
		return on_sub(ap, v);
	case CQ_PEV_WILL:
		return on_will(ap, v);
	default:
		rc = on_entry(ap, v);
		return rc > 0 ? 0 : rc;
	}
}

/* ---- the batch ----------------------------------------------------- */

/* Are the barriers of v met?  A barrier past what its ring ever held is
 * a bug: logged and ignored rather than waited for forever. */
static bool
barriers_met(const cq_apply_t *ap, const cq_pev_view_t *v)
{
	for (unsigned i = 0; i < v->h.nbar; i++) {
		uint64_t b;
		memcpy(&b, &v->bar[i], sizeof(b));
		unsigned s = cq_pev_bar_slot(b);
		uint64_t pos = cq_pev_bar_pos(b);
		if (s >= ap->nslots || cq_persist_cursor(s) >= pos)
			continue;
		if (pos > cq_persist_tail(s)) {
			cq_log(CQ_LOG_CRIT, 0,
				"%s event waits for ring %u at %llu, "
				"past its end; ignored",
				cq_pev_type_name(v->type), s,
				(unsigned long long)pos);
			continue;
		}
		return false;
	}
	return true;
}

/* One record of ring 'slot': 1 handled, 0 stop this ring (nothing more
 * in this batch, or a barrier), -1 backend error. */
static int
one_record(cq_apply_t *ap, unsigned slot)
{
	uint64_t start = cq_persist_cursor(slot);
	cq_persist_rec_t rec;
	if (cq_persist_peek(slot, &rec) != 0)
		return 0;
	if (rec.end > ap->snap[slot]) {
		cq_persist_unpeek(slot, start);
		return 0;
	}
	cq_pev_view_t v;
	const char *why;
	if (cq_pev_decode(&rec, &v, &why) < 0) {
		cq_log(CQ_LOG_CRIT, 0,
			"ring %u: bad event at %llu (%s); skipped", slot,
			(unsigned long long)start, why);
		ap->done[slot] = rec.end;
		return 1;
	}
	if (rec.end > ap->applied[slot]) {
		if (!barriers_met(ap, &v)) {
			cq_persist_unpeek(slot, start);
			return 0;
		}
		if (apply_event(ap, &v) < 0)
			return -1;
	}
	if (v.h.msg != CQ_OFF_NULL)
		hold_ref(ap, v.h.msg);
	ap->done[slot] = rec.end;
	return 1;
}

/* Drain what the batch took: 0 and *n_r records, or -1. */
static int
drain(cq_apply_t *ap, long *n_r)
{
	long n = 0;
	bool progress = true;
	while (progress) {
		progress = false;
		for (unsigned s = 0; s < ap->nslots; s++) {
			int rc;
			while ((rc = one_record(ap, s)) > 0) {
				n++;
				progress = true;
			}
			if (rc < 0)
				return -1;
		}
	}
	*n_r = n;
	return 0;
}

static int
write_applied(cq_apply_t *ap)
{
	uint8_t v[16 + 8 * CQ_MAX_WORKERS];
	cq_scodec_le64(v, ap->epoch);
	cq_scodec_le64(v + 8, ap->nslots);
	for (unsigned i = 0; i < ap->nslots; i++)
		cq_scodec_le64(v + 16 + 8 * i, ap->done[i]);
	return put(ap, CQ_ST_META, APPLIED_KEY, strlen(APPLIED_KEY), v,
		16 + 8 * (size_t)ap->nslots);
}

/* After the commit: release, publish the watermarks, drop references. */
static void
finish(cq_apply_t *ap)
{
	for (unsigned i = 0; i < ap->nslots; i++) {
		if (ap->done[i] > ap->applied[i])
			ap->applied[i] = ap->done[i];
		cq_persist_release(i, ap->done[i]);
		cq_persist_set_committed(i, ap->done[i]);
	}
	/* Released first: a storage process killed in between leaks the
	 * references (the checker repairs that), it never drops one twice. */
	for (size_t i = 0; i < ap->nunref; i++)
		cq_msg_unref(ap->unref[i]);
	ap->nunref = 0;
}

/* The batch failed: nothing of it counts.  CQ_AGAIN when the backend says
 * a new try may work at once (a map that grew), else -1 and the failed
 * state (new persistent state refused). */
static long
abandon(cq_apply_t *ap, const char *what)
{
	int err = errno;
	int again = ap->ops->abort(ap->st);
	cq_persist_rewind();
	ap->nunref = 0;
	if (cq_load_index(ap->ops, ap->st, ap->ix) < 0)
		cq_log(CQ_LOG_ERR, 0, "cannot rebuild the index");
	if (again > 0)
		return CQ_AGAIN;
	if (!ap->failed)
		cq_log(CQ_LOG_ERR, err,
			"%s failed; changes wait in the rings and "
			"new persistent state is refused until it works again",
			what);
	ap->failed = true;
	cq_persist_set_failed(true);
	return -1;
}

static long
batch_once(cq_apply_t *ap)
{
	bool any = false;
	for (unsigned i = 0; i < ap->nslots; i++) {
		ap->snap[i] = cq_persist_tail(i);
		ap->done[i] = cq_persist_cursor(i);
		any = any || ap->snap[i] != ap->done[i];
	}
	if (!any)
		return 0;
	if (ap->ops->begin(ap->st) < 0)
		return abandon(ap, "starting a transaction");
	ap->wrote = false;
	long n = 0;
	if (drain(ap, &n) < 0)
		return abandon(ap, "writing a batch");
	if (!ap->wrote) {
		ap->ops->abort(ap->st); /* nothing to say: no commit */
		finish(ap);
		return n;
	}
	uint64_t t0 = now_us();
	if (write_applied(ap) < 0 || ap->ops->commit(ap->st) < 0)
		return abandon(ap, "committing a batch");
	cq_log(CQ_LOG_DEBUG, 0, "batch: %ld record(s), commit %llu us", n,
		(unsigned long long)(now_us() - t0));
	finish(ap);
	ap->batches++;
	if (ap->failed)
		cq_log(CQ_LOG_NOTICE, 0, "commits work again");
	ap->failed = false;
	cq_persist_set_failed(false);
	if (ap->ops->after_commit != NULL)
		ap->ops->after_commit(ap->st);
	return n;
}

long
cq_apply_batch(cq_apply_t *ap)
{
	long n = CQ_AGAIN;
	for (int i = 0; i < 4 && n == CQ_AGAIN; i++)
		n = batch_once(ap);
	return n == CQ_AGAIN ? -1 : n;
}

int
cq_apply_sys(cq_apply_t *ap, const uint64_t *v, unsigned n)
{
	uint8_t buf[8 * CQ_PERSIST_SYS_MAX];
	n = n < CQ_PERSIST_SYS_MAX ? n : CQ_PERSIST_SYS_MAX;
	for (unsigned i = 0; i < n; i++)
		cq_scodec_le64(buf + 8 * i, v[i]);
	if (ap->ops->begin(ap->st) < 0)
		return -1;
	if (ap->ops->put(ap->st, CQ_ST_META, SYS_KEY, strlen(SYS_KEY), buf,
		    8 * (size_t)n) < 0 ||
		ap->ops->commit(ap->st) < 0) {
		ap->ops->abort(ap->st);
		return -1;
	}
	return 0;
}
