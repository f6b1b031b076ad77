/*
 * lsess.c — see lsess.h: the table, subscriptions, connection events.
 * The offline sweep and the respawn rebuild are in lsess_sweep.c.
 */
#include "config.h"
#include "workers/lsess.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "core/log.h"
#include "mqtt/reason.h"
#include "mqtt/topic.h"
#include "shm/topic_match.h"
#include "shm/counters.h"
#include "shm/msg.h"
#include "shm/route.h"
#include "shm/session.h"
#include "workers/deliver.h"
#include "workers/hooks.h"
#include "workers/publish.h"
#include "workers/share.h"
#include "workers/takeover.h"

#define TABLE_MIN 64u
#define TOMB      ((cq_lsess_t *)1)

/* ---- the table ----------------------------------------------------- */

static uint64_t
id_hash(const char *id, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)id[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

int
cq_lsess_table_init(cq_lsess_table_t *t)
{
	t->slot = calloc(TABLE_MIN, sizeof(*t->slot));
	t->cap = TABLE_MIN;
	t->n = t->tombs = 0;
	return t->slot != NULL ? 0 : -1;
}

static bool
live(const cq_lsess_t *p)
{
	return p != NULL && p != TOMB;
}

/* The slot holding id, or (find == false) the first free one. */
static size_t
probe(const cq_lsess_table_t *t, const char *id, size_t len, bool *found_r)
{
	size_t mask = t->cap - 1, i = id_hash(id, len) & mask;
	size_t free_at = SIZE_MAX;
	*found_r = false;
	for (;; i = (i + 1) & mask) {
		cq_lsess_t *p = t->slot[i];
		if (p == NULL)
			return free_at != SIZE_MAX ? free_at : i;
		if (p == TOMB) {
			if (free_at == SIZE_MAX)
				free_at = i;
			continue;
		}
		if (p->id_len == len && memcmp(p->id, id, len) == 0) {
			*found_r = true;
			return i;
		}
	}
}

static int
table_grow(cq_lsess_table_t *t)
{
	size_t cap = t->n * 4 > t->cap ? t->cap * 2 : t->cap;
	cq_lsess_t **old = t->slot;
	size_t ocap = t->cap;
	cq_lsess_t **s = calloc(cap, sizeof(*s));
	if (s == NULL)
		return -1;
	t->slot = s;
	t->cap = cap;
	t->tombs = 0;
	for (size_t i = 0; i < ocap; i++) {
		if (!live(old[i]))
			continue;
		bool found;
		size_t j = probe(t, old[i]->id, old[i]->id_len, &found);
		s[j] = old[i];
	}
	free(old);
	return 0;
}

cq_lsess_t *
cq_lsess_find(cq_worker_t *w, const char *id, size_t len)
{
	bool found;
	size_t i = probe(&w->sessions, id, len, &found);
	return found ? w->sessions.slot[i] : NULL;
}

void
cq_lsess_foreach(cq_worker_t *w,
	void (*fn)(cq_worker_t *, cq_lsess_t *, void *), void *arg)
{
	/* fn may free the session (a tombstone then takes its slot), but
	 * inserts happen only outside of sweeps, so the array is stable. */
	for (size_t i = 0; i < w->sessions.cap; i++)
		if (live(w->sessions.slot[i]))
			fn(w, w->sessions.slot[i], arg);
}

cq_lsess_t *
cq_lsess_new(cq_worker_t *w, const char *id, size_t len, cq_off_t sess,
	uint64_t gen, uint8_t protocol)
{
	cq_lsess_table_t *t = &w->sessions;
	if ((t->n + t->tombs + 1) * 4 > t->cap * 3 && table_grow(t) < 0)
		goto nomem;
	cq_lsess_t *ls = calloc(1, sizeof(*ls) + len + 1);
	if (ls == NULL)
		goto nomem;
	memcpy(ls->id, id, len);
	ls->id[len] = '\0';
	ls->id_len = (uint16_t)len;
	ls->sess = sess;
	ls->gen = gen;
	ls->protocol = protocol;
	ls->inflight_cap = w->cfg->limits.max_inflight;
	bool found;
	size_t i = probe(t, id, len, &found);
	cq_assert(!found);
	if (t->slot[i] == TOMB)
		t->tombs--;
	t->slot[i] = ls;
	t->n++;
	return ls;
nomem:
	cq_log(CQ_LOG_ERR, ENOMEM, "session table of worker %u", w->slot);
	return NULL;
}

static void
table_remove(cq_lsess_table_t *t, cq_lsess_t *ls)
{
	bool found;
	size_t i = probe(t, ls->id, ls->id_len, &found);
	if (!found || t->slot[i] != ls)
		return;
	size_t next = (i + 1) & (t->cap - 1);
	if (t->slot[next] == NULL) {
		t->slot[i] = NULL;
	} else {
		t->slot[i] = TOMB;
		t->tombs++;
	}
	t->n--;
}

static void
subs_gauge(cq_worker_t *w)
{
	cq_counter_set(CQ_CTR_SUBSCRIPTIONS, w->nsubs);
}

/* Remove one filter of ls from the tries (the shm session is done). */
static void
trie_remove(cq_worker_t *w, cq_lsess_t *ls, const char *f, size_t len)
{
	unsigned fl = 0;
	cq_subtrie_unsubscribe(w->trie, f, len, ls, &fl);
	if (fl & CQ_SUBTRIE_EXISTED)
		w->nsubs--;
	if ((fl & CQ_SUBTRIE_LAST) && cq_route_remove(f, len, w->slot) < 0)
		cq_log(CQ_LOG_ERR, errno, "route trie: removing \"%.*s\"",
			(int)len, f);
}

void
cq_lsess_free(cq_worker_t *w, cq_lsess_t *ls)
{
	if (ls->x != NULL)
		cq_takeover_release(w, ls);
	for (uint32_t i = 0; i < ls->nsubs; i++) {
		trie_remove(w, ls, ls->subs[i].filter, ls->subs[i].len);
		free(ls->subs[i].filter);
	}
	subs_gauge(w);
	free(ls->subs);
	if (ls->conn != NULL) {
		ls->conn->ls = NULL;
		ls->conn = NULL;
	}
	if (!ls->tomb)
		table_remove(&w->sessions, ls);
	free(ls);
}

void
cq_lsess_entomb(cq_worker_t *w, cq_lsess_t *ls)
{
	if (ls->tomb)
		return;
	table_remove(&w->sessions, ls);
	ls->tomb = true;
}

void
cq_lsess_table_free(cq_worker_t *w)
{
	while (w->moving != NULL)
		cq_lsess_free(w, w->moving); /* unlinks itself */
	cq_lsess_table_t *t = &w->sessions;
	for (size_t i = 0; t->slot != NULL && i < t->cap; i++)
		if (live(t->slot[i]))
			cq_lsess_free(w, t->slot[i]);
	free(t->slot);
	t->slot = NULL;
	t->cap = t->n = 0;
}

/* ---- subscriptions ------------------------------------------------- */

static cq_lsub_t *
sub_find(cq_lsess_t *ls, const char *f, size_t len)
{
	for (uint32_t i = 0; i < ls->nsubs; i++)
		if (ls->subs[i].len == len &&
			memcmp(ls->subs[i].filter, f, len) == 0)
			return &ls->subs[i];
	return NULL;
}

static int
sub_append(cq_lsess_t *ls, const char *f, size_t len, const cq_subopts_t *o)
{
	if (ls->nsubs == ls->cap_subs) {
		uint32_t cap = ls->cap_subs ? ls->cap_subs * 2 : 4;
		cq_lsub_t *s = realloc(ls->subs, cap * sizeof(*s));
		if (s == NULL)
			return -1;
		ls->subs = s;
		ls->cap_subs = cap;
	}
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return -1;
	memcpy(copy, f, len);
	copy[len] = '\0';
	ls->subs[ls->nsubs++] = (cq_lsub_t){copy, (uint16_t)len, *o};
	return 0;
}

int
cq_lsess_subscribe(cq_worker_t *w, cq_lsess_t *ls, const char *filter,
	size_t len, const cq_subopts_t *o, bool persist, bool *existed_r)
{
	cq_lsub_t *old = sub_find(ls, filter, len);
	cq_subopts_t prev = old != NULL ? old->o : (cq_subopts_t){0};
	*existed_r = old != NULL;
	if (old == NULL && sub_append(ls, filter, len, o) < 0) {
		errno = ENOMEM;
		return -1;
	}
	unsigned fl = 0;
	int err = 0;
	if (cq_subtrie_subscribe(w->trie, filter, len, ls, o, &fl) < 0) {
		err = ENOMEM;
	} else if ((fl & CQ_SUBTRIE_FIRST) &&
		cq_route_add(filter, len, w->slot) < 0) {
		err = errno;
	} else if (persist &&
		cq_session_sub_add(ls->sess, ls->gen, filter, len, o) < 0) {
		err = errno;
	}
	if (err == 0) {
		if (fl & CQ_SUBTRIE_NEW)
			w->nsubs++;
		if (old != NULL)
			old->o = *o;
		subs_gauge(w);
		return 0;
	}
	/* Undo, leaving the tries as they were. */
	if (old != NULL) {
		unsigned f2;
		cq_subtrie_subscribe(w->trie, filter, len, ls, &prev, &f2);
	} else {
		if (fl & CQ_SUBTRIE_NEW)
			w->nsubs++; /* trie_remove counts it down again */
		trie_remove(w, ls, filter, len);
		free(ls->subs[--ls->nsubs].filter);
	}
	subs_gauge(w);
	errno = err;
	return -1;
}

int
cq_lsess_unsubscribe(
	cq_worker_t *w, cq_lsess_t *ls, const char *filter, size_t len)
{
	cq_lsub_t *s = sub_find(ls, filter, len);
	if (s == NULL)
		return 0;
	if (cq_session_sub_remove(ls->sess, ls->gen, filter, len) < 0)
		return -1;
	trie_remove(w, ls, filter, len);
	subs_gauge(w);
	free(s->filter);
	*s = ls->subs[--ls->nsubs];
	return 1;
}

struct load_ctx {
	cq_worker_t *w;
	cq_lsess_t *ls;
	int failed;
};

static void
load_one(void *arg, const char *filter, size_t len, const cq_subopts_t *o)
{
	struct load_ctx *lc = arg;
	bool existed;
	if (cq_lsess_subscribe(lc->w, lc->ls, filter, len, o, false, &existed) <
		0) {
		cq_log(CQ_LOG_ERR, errno,
			"session %s: cannot restore subscription \"%.*s\"",
			lc->ls->id, (int)len, filter);
		lc->failed = -1;
	}
}

int
cq_lsess_load_subs(cq_worker_t *w, cq_lsess_t *ls)
{
	struct load_ctx lc = {w, ls, 0};
	cq_session_subs_foreach(ls->sess, load_one, &lc);
	return lc.failed;
}

/* Does a stored filter (a $share one: its filter part) match the topic? */
static bool
filter_matches(const char *f, size_t flen, const char *topic, size_t tlen)
{
	cq_match_share_t sh;
	cq_match_share_split(f, flen, &sh);
	return cq_topic_match(sh.filter, sh.filter_len, topic, tlen);
}

unsigned
cq_lsess_match(const cq_lsess_t *ls, const char *topic, size_t len,
	uint8_t *qos_r, bool *rap_r, uint32_t *ids, unsigned max_ids,
	unsigned *nids_r)
{
	unsigned n = 0, nids = 0;
	*qos_r = 0;
	*rap_r = false;
	for (uint32_t i = 0; i < ls->nsubs; i++) {
		const cq_lsub_t *s = &ls->subs[i];
		if (!filter_matches(s->filter, s->len, topic, len))
			continue;
		n++;
		if (s->o.qos > *qos_r)
			*qos_r = s->o.qos;
		*rap_r = *rap_r || s->o.retain_as_published;
		if (s->o.sub_id != 0 && nids < max_ids)
			ids[nids++] = s->o.sub_id;
	}
	*nids_r = nids;
	return n;
}

/* ---- connections --------------------------------------------------- */

bool
cq_lsess_online(const void *session)
{
	return ((const cq_lsess_t *)session)->conn != NULL;
}

void
cq_lsess_attach(cq_worker_t *w, cq_lsess_t *ls, cq_conn_t *c)
{
	(void)w;
	ls->conn = c;
	c->ls = ls;
	ls->resumed = false;
	uint32_t cap = w->cfg->limits.max_inflight;
	if (c->recv_max != 0 && c->recv_max < cap)
		cap = c->recv_max;
	ls->inflight_cap = cap ? cap : 1;
}

/*
 * The will of a connection that ended abnormally: published now, or (MQTT
 * 5 will delay) left in the session with its deadline (shm, so that it
 * survives a respawn of this worker) for the sweep.
 */
static void
will_on_close(cq_worker_t *w, cq_lsess_t *ls)
{
	uint32_t delay;
	cq_session_will_due(ls->sess, &delay);
	if (ls->protocol == CQ_MQTT_V5 && delay > 0 &&
		cq_session_will_schedule(ls->sess, ls->gen,
			w->wall_ms + (uint64_t)delay * 1000) == 0)
		return;
	cq_off_t will;
	if (cq_session_will_take(ls->sess, ls->gen, &will, &delay) > 0)
		cq_publish_will(w, ls->sess, will);
}

static void
drop_will(cq_lsess_t *ls)
{
	cq_off_t will;
	uint32_t delay;
	if (cq_session_will_take(ls->sess, ls->gen, &will, &delay) > 0)
		cq_msg_unref(will);
}

void
cq_lsess_conn_closed(
	cq_worker_t *w, cq_lsess_t *ls, cq_conn_t *c, cq_close_why_t why)
{
	if (c != NULL && ls->conn == c) {
		ls->conn = NULL;
		ls->resumed = false;
	}
	if (c != NULL)
		cq_hooks_disconnect(w, c, ls, why);
	/* Taken over: the session lives on elsewhere (or on another of our
	 * connections); moved sessions are the takeover's business. */
	if (why == CQ_CLOSE_TAKEN_OVER || (ls->x != NULL && ls->x->moving))
		return;
	if (why == CQ_CLOSE_NORMAL || why == CQ_CLOSE_SHUTDOWN)
		drop_will(ls);
	else if (why == CQ_CLOSE_WILL || why == CQ_CLOSE_ABNORMAL)
		will_on_close(w, ls);
	/* Shared-subscription messages in flight go to other members (at
	 * shutdown every member is leaving). */
	if (why != CQ_CLOSE_SHUTDOWN)
		cq_share_give_up(w, ls);
	int rc = cq_session_disconnect(ls->sess, ls->gen, w->now_s);
	if (rc < 0) {
		cq_lsess_stale(w, ls);
		return;
	}
	if (rc == 1) {
		/* Expiry 0: the session ends with the connection. */
		cq_off_t will = CQ_OFF_NULL;
		cq_session_expire(ls->sess, ls->gen, w->now_s, 1, &will);
		if (will != CQ_OFF_NULL)
			cq_publish_will(w, ls->sess, will);
		cq_lsess_free(w, ls);
	}
}

void
cq_lsess_output_drained(cq_worker_t *w, cq_lsess_t *ls)
{
	if (ls->resumed && cq_session_queue_len(ls->sess) > 0)
		cq_deliver_pump(w, ls);
}

bool
cq_lsess_stale(cq_worker_t *w, cq_lsess_t *ls)
{
	uint64_t st = cq_session_state(ls->sess);
	unsigned owner = cq_session_word_owner(st);
	if (cq_session_word_state(st) != CQ_SESSION_EXPIRED &&
		owner != w->slot && owner < w->nworkers) {
		cq_takeover_stale(w, ls);
		if (ls->x != NULL)
			return true;
		cq_lsess_free(w, ls); /* out of memory: cannot follow it */
		return false;
	}
	if (ls->x != NULL && ls->x->moving)
		return true;
	/* Expired (or replaced): whatever we had of it goes. */
	if (ls->conn != NULL) {
		cq_conn_t *c = ls->conn;
		cq_log(CQ_LOG_INFO, 0,
			"client %s (%s): its session ended elsewhere "
			"(state %u, owner %u, generation %llu, ours %llu); "
			"closing",
			ls->id, cq_conn_addr(c), cq_session_word_state(st),
			owner, (unsigned long long)cq_session_word_gen(st),
			(unsigned long long)ls->gen);
		ls->conn = NULL;
		c->ls = NULL;
		cq_conn_disconnect(
			c, CQ_MQTT_RC_SESSION_TAKEN_OVER, CQ_CLOSE_TAKEN_OVER);
	}
	cq_lsess_free(w, ls);
	return false;
}
