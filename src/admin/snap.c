/*
 * snap.c — copies of sessions and subscriptions out of shared memory
 * (admin-int.h).
 *
 * Every walk runs inside a QSBR read section of the admin's reader slot
 * and copies what it needs into private memory before the section ends;
 * long walks pass a quiescent point every PAUSE_EVERY sessions, so the
 * admin holds back the workers' reclamation for a bounded time only.  The
 * session table's slot array is fixed in its area (never freed), so a
 * walk may resume after a quiescent point; the session objects it finds
 * are read only between two of them.
 */
#include "config.h"
#include "admin/admin-int.h"

#include <stdlib.h>
#include <string.h>

#include "shm/qsbr.h"
#include "shm/session.h"

#define PAUSE_EVERY 1024u

/* Room for a whole inflight window (65535 packet ids): the session API
 * counts it only by listing it. */
static cq_inflight_t window[65536];

void
cq_snap_begin(void)
{
	cq_qsbr_online();
}

void
cq_snap_pause(void)
{
	cq_qsbr_quiescent();
}

void
cq_snap_end(void)
{
	cq_qsbr_offline();
}

bool
cq_contains(const char *hay, size_t hlen, const char *needle)
{
	size_t n = strlen(needle);
	if (n == 0)
		return true;
	for (size_t i = 0; i + n <= hlen; i++)
		if (memcmp(hay + i, needle, n) == 0)
			return true;
	return false;
}

uint32_t
cq_snap_inflight(cq_off_t sess)
{
	return cq_session_inflight_list(sess, window, 65536);
}

static void
count_sub(void *arg, const char *filter, size_t len, const cq_subopts_t *o)
{
	(void)filter;
	(void)len;
	(void)o;
	(*(uint32_t *)arg)++;
}

/* Copy session 'sess' into row (inside a read section). */
static bool
copy_row(cq_off_t sess, uint64_t state, cq_srow_t *row)
{
	size_t len;
	const char *id = cq_session_client_id(sess, &len);
	row->id = malloc(len + 1);
	if (row->id == NULL)
		return false;
	memcpy(row->id, id, len);
	row->id[len] = '\0';
	row->id_len = len;
	row->state = state;
	row->protocol = cq_session_protocol(sess);
	row->inflight = cq_snap_inflight(sess);
	row->queued = cq_session_queue_len(sess);
	row->nsubs = 0;
	cq_session_subs_foreach(sess, count_sub, &row->nsubs);
	return true;
}

typedef struct scan {
	const cq_sfilter_t *f;
	cq_srow_t *rows;
	size_t n, cap;
	unsigned seen;
	bool failed;
} scan_t;

static void
scan_session(scan_t *s, cq_off_t sess, uint64_t state)
{
	bool on = cq_session_word_state(state) == CQ_SESSION_CONNECTED;
	if (s->f->online >= 0 && on != (s->f->online == 1))
		return;
	size_t len;
	const char *id = cq_session_client_id(sess, &len);
	if (s->f->q != NULL && !cq_contains(id, len, s->f->q))
		return;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 64;
		cq_srow_t *v = realloc(s->rows, nc * sizeof(*v));
		if (v == NULL) {
			s->failed = true;
			return;
		}
		s->rows = v;
		s->cap = nc;
	}
	if (copy_row(sess, state, &s->rows[s->n]))
		s->n++;
	else
		s->failed = true;
}

/* A quiescent point only after the session is done with: the walk reads
 * the next slot afresh. */
static void
scan_one(void *arg, cq_off_t sess, uint64_t state)
{
	scan_t *s = arg;
	if (!s->failed)
		scan_session(s, sess, state);
	if (++s->seen % PAUSE_EVERY == 0)
		cq_snap_pause();
}

static int
row_cmp(const void *x, const void *y)
{
	const cq_srow_t *a = x, *b = y;
	size_t n = a->id_len < b->id_len ? a->id_len : b->id_len;
	int c = memcmp(a->id, b->id, n);
	return c != 0 ? c : (a->id_len > b->id_len) - (a->id_len < b->id_len);
}

int
cq_snap_sessions(const cq_sfilter_t *f, cq_srow_t **rows_r, size_t *n_r)
{
	scan_t s = {.f = f};
	cq_snap_begin();
	cq_session_foreach(CQ_SLOT_NONE, scan_one, &s);
	cq_snap_end();
	if (s.failed) {
		cq_snap_rows_free(s.rows, s.n);
		return -1;
	}
	if (s.n > 1)
		qsort(s.rows, s.n, sizeof(*s.rows), row_cmp);
	*rows_r = s.rows;
	*n_r = s.n;
	return 0;
}

void
cq_snap_rows_free(cq_srow_t *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rows[i].id);
	free(rows);
}

bool
cq_snap_session(const char *id, size_t len, cq_srow_t *row_r)
{
	uint64_t state;
	cq_snap_begin();
	cq_off_t sess = cq_session_lookup(id, len, &state);
	bool ok = sess != CQ_OFF_NULL && copy_row(sess, state, row_r);
	cq_snap_end();
	return ok;
}

/* ---- subscriptions -------------------------------------------------- */

static char *
dup_n(const char *s, size_t len)
{
	char *d = malloc(len + 1);
	if (d != NULL) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

static cq_subrow_t *
subset_add(cq_subset_t *out)
{
	if (out->n == out->cap) {
		size_t nc = out->cap ? out->cap * 2 : 16;
		cq_subrow_t *v = realloc(out->v, nc * sizeof(*v));
		if (v == NULL) {
			out->failed = true;
			return NULL;
		}
		out->v = v;
		out->cap = nc;
	}
	cq_subrow_t *row = &out->v[out->n];
	memset(row, 0, sizeof(*row));
	return row;
}

typedef struct subwalk {
	cq_subset_t *out;
	const char *client;
	size_t client_len;
	const char *topic_q;
} subwalk_t;

static void
take_sub(void *arg, const char *filter, size_t len, const cq_subopts_t *o)
{
	subwalk_t *w = arg;
	if (w->topic_q != NULL && !cq_contains(filter, len, w->topic_q))
		return;
	cq_subrow_t *row = subset_add(w->out);
	if (row == NULL)
		return;
	row->filter = dup_n(filter, len);
	row->filter_len = len;
	if (w->client != NULL) {
		row->client = dup_n(w->client, w->client_len);
		row->client_len = w->client_len;
	}
	row->qos = o->qos;
	row->no_local = o->no_local;
	row->rap = o->retain_as_published;
	row->rh = o->retain_handling;
	row->sub_id = o->sub_id;
	if (row->filter == NULL || (w->client != NULL && row->client == NULL)) {
		free(row->filter);
		free(row->client);
		w->out->failed = true;
		return;
	}
	w->out->n++;
}

bool
cq_snap_subs_of(const char *id, size_t len, cq_subset_t *out)
{
	subwalk_t w = {.out = out};
	cq_snap_begin();
	cq_off_t sess = cq_session_lookup(id, len, NULL);
	if (sess != CQ_OFF_NULL)
		cq_session_subs_foreach(sess, take_sub, &w);
	cq_snap_end();
	return sess != CQ_OFF_NULL;
}

typedef struct suball {
	subwalk_t w;
	const char *client_q;
	unsigned seen;
} suball_t;

static void
subs_of_session(void *arg, cq_off_t sess, uint64_t state)
{
	suball_t *s = arg;
	(void)state;
	size_t len;
	const char *id = cq_session_client_id(sess, &len);
	if (!s->w.out->failed &&
		(s->client_q == NULL || cq_contains(id, len, s->client_q))) {
		s->w.client = id;
		s->w.client_len = len;
		cq_session_subs_foreach(sess, take_sub, &s->w);
	}
	if (++s->seen % PAUSE_EVERY == 0)
		cq_snap_pause();
}

static int
sub_cmp(const void *x, const void *y)
{
	const cq_subrow_t *a = x, *b = y;
	size_t n = a->client_len < b->client_len ? a->client_len
						 : b->client_len;
	int c = memcmp(a->client, b->client, n);
	if (c == 0)
		c = (a->client_len > b->client_len) -
			(a->client_len < b->client_len);
	if (c != 0)
		return c;
	n = a->filter_len < b->filter_len ? a->filter_len : b->filter_len;
	c = memcmp(a->filter, b->filter, n);
	return c != 0 ? c
		      : (a->filter_len > b->filter_len) -
			(a->filter_len < b->filter_len);
}

int
cq_snap_subs_all(const char *client_q, const char *topic_q, cq_subset_t *out)
{
	suball_t s = {
		.w = {.out = out, .topic_q = topic_q}, .client_q = client_q};
	cq_snap_begin();
	cq_session_foreach(CQ_SLOT_NONE, subs_of_session, &s);
	cq_snap_end();
	if (out->failed)
		return -1;
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), sub_cmp);
	return 0;
}

void
cq_subset_free(cq_subset_t *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].filter);
		free(s->v[i].client);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}
