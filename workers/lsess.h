/*
 * lsess.h — the worker's side of a session it owns.
 *
 * The session itself lives in shared memory (shm/session.h): its state
 * word, subscriptions, inflight window, offline queue and will.  The
 * owning worker keeps a cq_lsess_t beside it: the shm offset and the
 * generation it writes under, a private copy of the subscriptions (they
 * are in the worker's private trie, and removing them must not depend on
 * reading shm), the connection when the client is online, a mirror of the
 * inflight count, and, during a takeover, the transfer state
 * (takeover.h).  A worker has one cq_lsess_t per session it owns, online
 * or offline, found by client id.
 *
 * Subscription rule (shm/session.h): a subscription enters the private
 * trie and the route trie before the session records it, and leaves the
 * session before it leaves the tries, so whatever the session records is
 * always routed here.
 *
 * Invariants:
 *   - ls->gen is the generation of ls->sess this worker writes under; a
 *     shm write answering ESTALE means the session moved on
 *     (cq_lsess_stale());
 *   - every entry of ls->subs is in w->trie for ls, and the route trie
 *     has this worker's bit for it (added on the trie's FIRST, removed on
 *     its LAST);
 *   - ls->conn != NULL iff a connection of this worker serves the
 *     session, and then ls->conn->ls == ls.
 */
#ifndef CQ_WORKERS_LSESS_H
#define CQ_WORKERS_LSESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shm/relptr.h"
#include "shm/session-t.h"
#include "workers/conn.h"
#include "workers/worker-t.h"

typedef struct cq_lsub {
	char *filter;
	uint16_t len;
	cq_subopts_t o;
} cq_lsub_t;

struct cq_xfer;

struct cq_lsess {
	cq_off_t sess;
	uint16_t id_len;
	uint8_t protocol;
	bool resumed : 1; /* the connection may receive deliveries */
	bool tomb : 1; /* moved away: out of the table, still in the trie */
	uint64_t gen;

	cq_conn_t *conn; /* NULL while the client is offline */

	cq_lsub_t *subs;
	uint32_t nsubs, cap_subs;

	/* Outbound window: entries this worker believes are in the shm
	 * window, and the most it lets in (client Receive Maximum,
	 * limits.max_inflight, and the shm window's own capacity once it
	 * answered "full"). */
	uint32_t inflight_n;
	uint32_t inflight_cap;

	struct cq_xfer *x; /* takeover in progress, or NULL */
	cq_lsess_t *moving_next; /* w->moving while x != NULL */
	char id[]; /* the client id, NUL-terminated (one allocation) */
};

/* ---- the table ----------------------------------------------------- */

int cq_lsess_table_init(cq_lsess_table_t *t);
void cq_lsess_table_free(cq_worker_t *w);
cq_lsess_t *cq_lsess_find(cq_worker_t *w, const char *id, size_t len);
/* Call fn for every session (fn may free the one it is given). */
void cq_lsess_foreach(cq_worker_t *w,
	void (*fn)(cq_worker_t *, cq_lsess_t *, void *), void *arg);

/*
 * A new local session for (sess, gen), inserted in the table (the caller
 * made sure no other has this id).  NULL when out of memory (logged).
 */
cq_lsess_t *cq_lsess_new(cq_worker_t *w, const char *id, size_t len,
	cq_off_t sess, uint64_t gen, uint8_t protocol);

/*
 * The session moved to another worker: ls leaves the table (a new local
 * session for the same client id may come) but stays in the trie,
 * forwarding, until its takeover is complete (takeover.h).
 */
void cq_lsess_entomb(cq_worker_t *w, cq_lsess_t *ls);

/*
 * Forget a session: its subscriptions leave the private trie (and the
 * route trie on their last local user), held messages are released, the
 * connection (if any) is detached without being closed.  Touches no shm
 * session contents: the caller decides what happens to the shm session.
 */
void cq_lsess_free(cq_worker_t *w, cq_lsess_t *ls);

/* ---- subscriptions ------------------------------------------------- */

/*
 * Subscribe: private trie, route trie (on the first local user), then the
 * shm session (unless !persist: rebuilding from shm).  Replaces the
 * options of an identical filter.  *existed_r says whether it was there.
 * 0; -1 with errno ENOMEM (arena or heap full: nothing changed) or ESTALE
 * (the session moved: nothing changed).  Takes route-trie shard locks.
 */
int cq_lsess_subscribe(cq_worker_t *w, cq_lsess_t *ls, const char *filter,
	size_t len, const cq_subopts_t *o, bool persist, bool *existed_r);

/*
 * Unsubscribe: shm session first, then the tries.  1 when the session
 * had the filter, 0 when not, -1 with errno ESTALE.
 */
int cq_lsess_unsubscribe(
	cq_worker_t *w, cq_lsess_t *ls, const char *filter, size_t len);

/*
 * Load the shm session's subscriptions into the tries (takeover, respawn).
 * 0, or -1 ENOMEM (some may be missing; logged).
 */
int cq_lsess_load_subs(cq_worker_t *w, cq_lsess_t *ls);

/*
 * The options a message on 'topic' gets for this session: the highest
 * QoS of its matching subscriptions, retain-as-published if any asks,
 * and their subscription ids (at most max_ids into ids).  Returns the
 * number of matching subscriptions (0: none matches any more).
 */
unsigned cq_lsess_match(const cq_lsess_t *ls, const char *topic, size_t len,
	uint8_t *qos_r, bool *rap_r, uint32_t *ids, unsigned max_ids,
	unsigned *nids_r);

/* ---- connections --------------------------------------------------- */

/* Is this session (a cq_lsess_t) connected?  The private trie's
 * cq_subtrie_online_fn: shared groups prefer connected members. */
bool cq_lsess_online(const void *session);

/* Attach connection c (its ls is set) and reset the window mirror. */
void cq_lsess_attach(cq_worker_t *w, cq_lsess_t *ls, cq_conn_t *c);

/*
 * The session's connection closed (conn.c calls this; c is NULL when the
 * connection closed before its CONNECT was finished): wills and the shm
 * session's disconnect or end, per 'why'.  May free ls.
 */
void cq_lsess_conn_closed(
	cq_worker_t *w, cq_lsess_t *ls, cq_conn_t *c, cq_close_why_t why);

/* The connection's output drained: send what the session queued. */
void cq_lsess_output_drained(cq_worker_t *w, cq_lsess_t *ls);

/*
 * A shm write for ls answered ESTALE: the session was taken over, expired
 * or reaped.  Decides between forwarding (takeover.h: true, ls stays, with
 * ls->x set) and forgetting it (false: ls was freed).
 */
bool cq_lsess_stale(cq_worker_t *w, cq_lsess_t *ls);

/*
 * Periodic: will delays, expiry of offline sessions this worker owns,
 * sessions whose generation moved without a kick.
 */
void cq_lsess_sweep(cq_worker_t *w);

/*
 * After a respawn: take every session the slot owns (the reaper left them
 * DISCONNECTED with a new generation), rebuild the private trie, publish
 * the wills that became due.  0 or -1 (logged).
 */
int cq_lsess_rebuild(cq_worker_t *w);

/* End of the worker: mark the connected sessions disconnected. */
void cq_lsess_shutdown(cq_worker_t *w);

#endif /* CQ_WORKERS_LSESS_H */
