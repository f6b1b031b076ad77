/*
 * lsess_sweep.c — the periodic visit of the sessions a worker owns (will
 * delays, expiry, generations that moved without telling us), the rebuild
 * of a respawned worker, and the final disconnect at shutdown.
 *
 * Who expires a session: its owner, in this sweep (it also holds the
 * session's subscriptions in its private trie, which must go with it).
 * A session whose owner slot is down is expired by whichever worker's
 * global sweep (cq_session_expire_due) gets there first; the replacement
 * owner then finds it EXPIRED and forgets it.
 */
#include "config.h"
#include "workers/lsess.h"

#include <errno.h>

#include "core/log.h"
#include "mqtt/proto.h"
#include "mqtt/reason.h"
#include "shm/msg.h"
#include "shm/route.h"
#include "shm/session.h"
#include "workers/deliver.h"
#include "workers/hooks.h"
#include "workers/publish.h"
#include "workers/takeover.h"

/* Sessions looked at per global expiry sweep step. */
#define EXPIRE_BUDGET 4096u
/* Expiries a sweep logs one by one at info; the rest go to debug and a
 * count (a respawned worker resumes every session of its slot, and those
 * of clients that asked for none end in its first sweep, thousands at a
 * time). */
#define EXPIRE_LOGGED 8u

static void
sweep_one(cq_worker_t *w, cq_lsess_t *ls, void *arg)
{
	unsigned *expired = arg;
	if (ls->x != NULL)
		return; /* the takeover decides */
	uint64_t st = cq_session_state(ls->sess);
	if (cq_session_word_gen(st) != ls->gen ||
		cq_session_word_state(st) == CQ_SESSION_EXPIRED) {
		cq_lsess_stale(w, ls);
		return;
	}
	if (ls->conn != NULL) {
		/* A queue that stopped for want of room in the storage ring
		 * (cq_deliver_pump) moves again once there is some. */
		if (cq_session_queue_len(ls->sess) > 0)
			cq_deliver_pump(w, ls);
		return;
	}
	uint32_t delay;
	uint64_t due = cq_session_will_due(ls->sess, &delay);
	if (due != 0 && w->wall_ms >= due) {
		/* [MQTT-3.1.3-9]: the will delay passed without a new
		 * connection for the session. */
		cq_off_t will;
		if (cq_session_will_take(ls->sess, ls->gen, &will, &delay) > 0)
			cq_publish_will(w, ls->sess, will);
	}
	cq_off_t will = CQ_OFF_NULL;
	if (cq_session_expire(ls->sess, ls->gen, w->now_s, 0, &will) > 0) {
		cq_log(++*expired <= EXPIRE_LOGGED ? CQ_LOG_INFO : CQ_LOG_DEBUG,
			0, "session %s expired", ls->id);
		cq_hooks_client_expired(w, ls->id, ls->id_len);
		if (will != CQ_OFF_NULL)
			cq_publish_will(w, ls->sess, will);
		cq_lsess_free(w, ls);
	}
}

static void
orphan_will(void *arg, cq_off_t sess, cq_off_t will)
{
	cq_worker_t *w = arg;
	size_t len;
	const char *id = cq_session_client_id(sess, &len);
	cq_hooks_client_expired(w, id, len);
	if (will != CQ_OFF_NULL)
		cq_publish_will(w, sess, will);
}

void
cq_lsess_sweep(cq_worker_t *w)
{
	unsigned expired = 0;
	cq_lsess_foreach(w, sweep_one, &expired);
	if (expired > EXPIRE_LOGGED)
		cq_log(CQ_LOG_INFO, 0, "%u more session(s) expired",
			expired - EXPIRE_LOGGED);
	cq_session_expire_due(
		w->now_s, &w->expire_cursor, EXPIRE_BUDGET, orphan_will, w);
	cq_session_reclaim();
}

/* ---- respawn ------------------------------------------------------- */

struct rebuild_ctx {
	cq_worker_t *w;
	unsigned sessions;
	unsigned wills;
	int failed;
};

static void
rebuild_one(void *arg, cq_off_t sess, uint64_t st)
{
	struct rebuild_ctx *rc = arg;
	cq_worker_t *w = rc->w;
	if (cq_session_word_state(st) == CQ_SESSION_EXPIRED)
		return;
	size_t len;
	const char *id = cq_session_client_id(sess, &len);
	cq_lsess_t *ls = cq_lsess_new(w, id, len, sess, cq_session_word_gen(st),
		cq_session_protocol(sess));
	if (ls == NULL) {
		rc->failed = -1;
		return;
	}
	rc->sessions++;
	if (cq_lsess_load_subs(w, ls) < 0)
		rc->failed = -1;
	/* The connection died with the worker: an abnormal end, so the
	 * will is due [MQTT-3.1.2-8], after its delay on MQTT 5.  The master
	 * scheduled it when it reaped the slot, from the time of death, and
	 * the sweep publishes it when due; one left unscheduled goes now. */
	uint32_t delay;
	cq_off_t will;
	if (cq_session_will_due(sess, &delay) != 0) {
		rc->wills++;
	} else if (cq_session_will_take(sess, ls->gen, &will, &delay) > 0) {
		rc->wills++;
		cq_publish_will(w, sess, will);
	}
}

int
cq_lsess_rebuild(cq_worker_t *w)
{
	struct rebuild_ctx rc = {w, 0, 0, 0};
	cq_session_foreach(w->slot, rebuild_one, &rc);
	if (rc.sessions > 0)
		cq_log(CQ_LOG_NOTICE, 0,
			"resumed %u session(s) of slot %u (%u will(s) due), "
			"%u subscription(s)",
			rc.sessions, w->slot, rc.wills, w->nsubs);
	return rc.failed;
}

/* ---- shutdown ------------------------------------------------------ */

static void
shutdown_one(cq_worker_t *w, cq_lsess_t *ls, void *arg)
{
	(void)arg;
	if (ls->conn != NULL)
		cq_conn_disconnect(ls->conn, CQ_MQTT_RC_SERVER_SHUTTING_DOWN,
			CQ_CLOSE_SHUTDOWN);
}

void
cq_lsess_shutdown(cq_worker_t *w)
{
	cq_lsess_foreach(w, shutdown_one, NULL);
}
