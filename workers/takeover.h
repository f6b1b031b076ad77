/*
 * takeover.h — moving a session between workers without losing or
 * duplicating a message (workers/README, "Session takeover across
 * workers").
 *
 * A session's subscriptions are matched only by its owner's private trie.
 * When a CONNECT for a session owned by worker B arrives on worker C:
 *
 *   C  CASes the state word to {C, g+1} (cq_session_open), waits until
 *      B's last write section under g is over (fence), loads the
 *      subscriptions into its private trie and sets its route-trie bits,
 *      then sends KICK(S) on ring[C][B], answers CONNACK, re-sends the
 *      inflight window and pumps the queue from shm.  Until B's HANDOVER
 *      it HOLDS every message its own trie matches for S, and it does not
 *      read from the new connection (its subscriptions stay what B
 *      had).
 *   B  keeps S in its trie as a tombstone.  A message it matches for S
 *      is held while it has not seen the KICK (its write failed with
 *      ESTALE) and FORWARDED to C once it has.  At the KICK it closes
 *      its connection for S (DISCONNECT 0x8E on MQTT 5) and waits for a
 *      grace period: every live worker passes two quiescent points, so
 *      no publisher still holds a route-trie result computed before C's
 *      bits were visible; then until each of its rings has been seen
 *      empty once more, so every record such a publisher pushed has been
 *      handled.  Then it removes S from its trie and sends HANDOVER(S,
 *      last_seq[]) on ring[B][C]: last_seq[P] is the number of the last
 *      message of worker P it handled (every message routed to B with a
 *      lower number reached C through B).
 *   C  on HANDOVER delivers what it held except the messages whose
 *      number is covered by last_seq (B forwarded those), and reads the
 *      connection again.
 *
 * Per publisher, messages routed before C's bits were visible reach C
 * only through B (forwarded, in order, before the HANDOVER); messages
 * routed after reach C directly, held until the HANDOVER, minus those B
 * also saw.  Every message is numbered by its publishing worker (seq), so
 * the cut is exact: nothing is lost, nothing delivered twice, and per
 * publisher the order holds.  Chains (C kicked by D while it still waits
 * for B) compose: C forwards B's forwards to D at once, releases its held
 * messages to D after B's HANDOVER, and covers B's last_seq in its own.
 *
 * Dead owners: the master marks a dead worker's sessions DISCONNECTED
 * with a new generation; a takeover during the downtime sends KICK to the
 * dead slot, which its replacement handles before any message (it reads
 * every waiting record at start, KICKs first), creating a tombstone from
 * the session's subscriptions in shm.  If no HANDOVER arrives in time,
 * C gives up waiting (logged) and delivers what it held.
 */
#ifndef CQ_WORKERS_TAKEOVER_H
#define CQ_WORKERS_TAKEOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "shm/region.h"
#include "shm/ring.h"
#include "workers/records.h"
#include "workers/worker-t.h"

/* A message held for a session during a takeover (a reference). */
typedef struct cq_held {
	cq_off_t msg;
	uint16_t origin;
	bool keep; /* forwarded or from the session's state: never dropped
		      as a duplicate (only direct matches are) */
	uint64_t seq;
} cq_held_t;

typedef struct cq_xfer {
	/* Incoming: we own the session; 'hold_from' forwards to us. */
	uint16_t hold_from; /* CQ_SLOT_NONE when not waiting */
	uint64_t hold_since_ms;
	/* The generation hold_from's records name, when a reconnect to
	 * this worker moved the incarnation to a new one meanwhile. */
	uint64_t old_gen;
	/* Outgoing: the session is another worker's now. */
	bool moving;
	bool kicked;
	uint16_t moved_to;
	uint64_t new_gen;
	uint64_t moving_since_ms;
	uint64_t grace_mark[CQ_MAX_WORKERS];
	uint32_t grace_pid[CQ_MAX_WORKERS];
	uint64_t grace_iter; /* the grace period ended at it; 0: not yet */
	uint64_t chain_seq[CQ_MAX_WORKERS]; /* covered by the previous owner */
	bool chained;
	cq_held_t *held;
	uint32_t nheld, cap;
} cq_xfer_t;

/* C: session ls (just opened here) was owned by worker 'from'. */
int cq_takeover_begin_in(cq_worker_t *w, cq_lsess_t *ls, unsigned from);

/*
 * C: tell worker 'dst' that session (sess, gen) of client id 'id' is ours
 * (ended: it replaced the one dst owned, which ends).  Never lost: a full
 * ring keeps it in an outbox flushed every iteration.
 */
void cq_takeover_kick(cq_worker_t *w, unsigned dst, cq_off_t sess, uint64_t gen,
	uint64_t prev_gen, const char *id, size_t id_len, bool ended);

/*
 * A delivery for ls while ls->x is set: true when the takeover took it
 * (held or forwarded), false when it is delivered as usual.  'keep': d is
 * not a direct match of this worker (it was forwarded to us, or comes
 * from the session's queue), so no previous owner can have passed it on:
 * it is never dropped as a duplicate.  d->origin_slot and d->seq must be
 * the publisher's.
 */
bool cq_takeover_intercept(
	cq_worker_t *w, cq_lsess_t *ls, const cq_dmsg_t *d, bool keep);

/* B: a write for ls answered ESTALE and the owner is another worker. */
void cq_takeover_stale(cq_worker_t *w, cq_lsess_t *ls);

/* Ring records (the drain calls these). */
void cq_takeover_on_kick(cq_worker_t *w, unsigned src, const cq_ring_rec_t *r);
void cq_takeover_on_forward(
	cq_worker_t *w, unsigned src, const cq_ring_rec_t *r);
void cq_takeover_on_handover(
	cq_worker_t *w, unsigned src, const cq_ring_rec_t *r);

/* Every iteration: outbox, grace periods, drains, timeouts. */
void cq_takeover_poll(cq_worker_t *w);

/* Free ls->x (ls is being freed); held references are dropped. */
void cq_takeover_release(cq_worker_t *w, cq_lsess_t *ls);

/* Records still waiting in the outbox (stop waits for them). */
unsigned cq_takeover_outbox_len(void);

#endif /* CQ_WORKERS_TAKEOVER_H */
