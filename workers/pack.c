/*
 * pack.c — acknowledgements that wait for comqtt-storage (pack.h).
 *
 * Invariants:
 *   - a connection is on w->packing iff c->pack != NULL;
 *   - c->pack is the newest entry of a circular list (its next is the
 *     oldest): appending and taking the oldest need no second pointer in
 *     every connection;
 *   - an entry's destinations move one way: waiting for dst to consume
 *     the record (pos = its end in ring[here][dst]), then waiting for
 *     dst's storage ring to be committed (pos = that ring's tail when the
 *     consume was seen); the entry is durable when none waits and this
 *     worker's own ring is committed up to 'own';
 *   - while any entry waits, this worker asked the storage process to
 *     wake it after commits (cq_persist_want), and it urged a commit
 *     whenever it began to wait for a position not yet committed.
 */
#include "config.h"
#include "workers/pack.h"

#include <stdlib.h>
#include <string.h>

#include "mqtt/packet.h"
#include "shm/persist.h"
#include "shm/ring.h"
#include "workers/conn.h"
#include "workers/reply.h"

enum { CONSUME = 0, COMMIT = 1 };

typedef struct pack_dst {
	uint8_t dst;
	uint8_t stage; /* CONSUME, COMMIT */
	uint64_t pos;
} pack_dst_t;

struct cq_pack {
	struct cq_pack *next;
	char *why; /* a refusal's Reason String, or NULL */
	uint16_t pid;
	uint8_t qos;
	uint8_t reason;
	uint64_t own; /* this worker's storage ring position; 0: none */
	unsigned n;
	pack_dst_t d[];
};

static void
send_ack(cq_conn_t *c, uint8_t qos, uint16_t pid, uint8_t reason,
	const char *why)
{
	cq_reply_ack(c, qos == 1 ? CQ_MQTT_PUBACK : CQ_MQTT_PUBREC, pid, reason,
		why);
}

static void
entry_free(cq_pack_t *e)
{
	free(e->why);
	free(e);
}

/* Ask for a commit when 'pos' of ring 'slot' is not committed yet. */
static bool
committed(unsigned slot, uint64_t pos)
{
	if (cq_persist_committed(slot) >= pos)
		return true;
	cq_persist_urge();
	return false;
}

/* Advance e's destinations; true when all of it is durable. */
static bool
durable(cq_worker_t *w, cq_pack_t *e)
{
	bool done = true;
	for (unsigned i = 0; i < e->n; i++) {
		pack_dst_t *d = &e->d[i];
		if (d->stage == CONSUME) {
			if (cq_ring_consumed(d->dst) < d->pos) {
				done = false;
				continue;
			}
			d->stage = COMMIT;
			d->pos = cq_persist_tail(d->dst);
		}
		if (!committed(d->dst, d->pos))
			done = false;
	}
	return done && (e->own == 0 || committed(w->slot, e->own));
}

static void
unlink_conn(cq_worker_t *w, cq_conn_t *c)
{
	for (cq_conn_t **p = &w->packing; *p != NULL; p = &(*p)->pack_next)
		if (*p == c) {
			*p = c->pack_next;
			c->pack_next = NULL;
			return;
		}
}

/* The oldest entry of c, out of the list. */
static cq_pack_t *
take_oldest(cq_conn_t *c)
{
	cq_pack_t *e = c->pack->next;
	if (e == c->pack)
		c->pack = NULL;
	else
		c->pack->next = e->next;
	return e;
}

/* Send c's acks that are durable, in order. */
static void
flush_conn(cq_conn_t *c)
{
	while (c->pack != NULL && durable(c->w, c->pack->next)) {
		cq_pack_t *e = take_oldest(c);
		if (c->state == CQ_CONN_ACTIVE)
			send_ack(c, e->qos, e->pid, e->reason, e->why);
		entry_free(e);
	}
	if (c->pack == NULL)
		unlink_conn(c->w, c);
}

/* A new entry for what the last cq_publish() changed (routed), or for
 * nothing (a refusal behind others). */
static cq_pack_t *
entry_new(cq_worker_t *w, bool routed)
{
	unsigned n = routed ? (unsigned)__builtin_popcountll(w->pub_dsts) : 0;
	cq_pack_t *e = calloc(1, sizeof(*e) + n * sizeof(pack_dst_t));
	if (e == NULL)
		return NULL;
	if (!routed)
		return e;
	e->own = cq_persist_tail(w->slot);
	for (uint64_t m = w->pub_dsts; m != 0; m &= m - 1) {
		unsigned dst = (unsigned)__builtin_ctzll(m);
		e->d[e->n++] = (pack_dst_t){
			(uint8_t)dst, CONSUME, w->pub_end[dst]};
	}
	return e;
}

void
cq_pack_ack(cq_conn_t *c, uint8_t qos, uint16_t pid, uint8_t reason,
	const char *why, bool routed)
{
	cq_worker_t *w = c->w;
	if (qos == 0)
		return;
	cq_pack_t *e = NULL;
	if (!cq_persist_sync() || (!routed && c->pack == NULL) ||
		(e = entry_new(w, routed)) == NULL) {
		send_ack(c, qos, pid, reason, why);
		return;
	}
	/* Out of memory for the text: the default one will do. */
	e->why = why != NULL ? strdup(why) : NULL;
	e->pid = pid;
	e->qos = qos;
	e->reason = reason;
	if (c->pack == NULL) {
		e->next = e;
		c->pack_next = w->packing;
		w->packing = c;
		cq_persist_want(true);
	} else {
		e->next = c->pack->next;
		c->pack->next = e;
	}
	c->pack = e;
	flush_conn(c);
}

void
cq_pack_poll(cq_worker_t *w)
{
	cq_conn_t *next;
	for (cq_conn_t *c = w->packing; c != NULL; c = next) {
		next = c->pack_next;
		flush_conn(c);
	}
	if (w->packing == NULL)
		cq_persist_want(false);
}

bool
cq_pack_pending(const cq_worker_t *w)
{
	return w->packing != NULL;
}

void
cq_pack_stop(cq_conn_t *c)
{
	if (c->pack == NULL)
		return;
	while (c->pack != NULL)
		entry_free(take_oldest(c));
	unlink_conn(c->w, c);
}
