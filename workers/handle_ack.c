/*
 * handle_ack.c — PUBACK, PUBREC, PUBREL and PUBCOMP from a client.
 *
 * Outbound flows (we sent the PUBLISH): PUBACK ends a QoS 1 delivery;
 * PUBREC moves a QoS 2 delivery to "PUBREL sent" (the message itself is
 * released: only the packet id is kept [MQTT-4.3.3-1]) and is answered with
 * PUBREL; PUBCOMP ends it.  Each end frees a place in the window, which
 * lets the session's queue move (cq_deliver_pump).  An acknowledgement for
 * a packet id the window does not hold is ignored (PUBREC gets PUBREL
 * 0x92 on MQTT 5).
 *
 * Inbound QoS 2: PUBREL releases the packet id recorded at PUBLISH and is
 * answered with PUBCOMP (0x92 "packet identifier not found" on MQTT 5
 * when it was not recorded).
 */
#include "config.h"
#include "workers/handle.h"

#include <errno.h>

#include "core/log.h"
#include "mqtt/reason.h"
#include "shm/msg.h"
#include "shm/pevent.h"
#include "shm/persist.h"
#include "shm/session.h"
#include "workers/conn.h"
#include "workers/deliver.h"
#include "workers/hooks.h"
#include "workers/lsess.h"
#include "workers/reply.h"

/* Window entry pid leaves state 'expect' for 'next' (0: gone).  1 done,
 * 0 no such entry, -1 the session moved (the connection is closed). */
static int
window_ack(cq_conn_t *c, cq_lsess_t *ls, uint16_t pid, unsigned expect,
	unsigned next)
{
	cq_off_t m;
	if (cq_session_inflight_ack(ls->sess, ls->gen, pid, expect, next, &m) <
		0) {
		if (errno == ENOENT)
			return 0;
		cq_lsess_stale(c->w, ls);
		if (c->state != CQ_CONN_CLOSED)
			cq_conn_close(c, CQ_CLOSE_TAKEN_OVER);
		return -1;
	}
	if (m != CQ_OFF_NULL)
		cq_msg_unref(m);
	if (next == 0) {
		if (ls->inflight_n > 0)
			ls->inflight_n--;
		cq_hooks_qos_complete(c->w, ls, pid);
		cq_deliver_pump(c->w, ls);
	}
	return 1;
}

static void
on_pubrec(cq_conn_t *c, cq_lsess_t *ls, const cq_mqtt_ack_t *pk)
{
	if (pk->reason >= 0x80) {
		/* v5: the client refused it; the flow ends here. */
		window_ack(c, ls, pk->packet_id, CQ_INFLIGHT_PUBREC, 0);
		return;
	}
	int rc = window_ack(
		c, ls, pk->packet_id, CQ_INFLIGHT_PUBREC, CQ_INFLIGHT_PUBCOMP);
	if (rc < 0)
		return;
	if (rc == 0) {
		/* Not waiting for PUBREC: a re-sent PUBREC (the entry is
		 * past it, answer as before), or an unknown id (0x92). */
		cq_off_t m;
		if (cq_session_inflight_ack(ls->sess, ls->gen, pk->packet_id,
			    CQ_INFLIGHT_PUBCOMP, CQ_INFLIGHT_PUBCOMP, &m) == 0)
			rc = 1;
	}
	cq_reply_ack(c, CQ_MQTT_PUBREL, pk->packet_id,
		rc == 0 ? CQ_MQTT_RC_PACKET_ID_NOT_FOUND : 0, NULL);
}

static void
on_pubrel(cq_conn_t *c, cq_lsess_t *ls, const cq_mqtt_ack_t *pk)
{
	int rc = cq_session_qos2_remove(ls->sess, ls->gen, pk->packet_id);
	if (rc < 0) {
		cq_lsess_stale(c->w, ls);
		if (c->state != CQ_CONN_CLOSED)
			cq_conn_close(c, CQ_CLOSE_TAKEN_OVER);
		return;
	}
	cq_reply_ack(c, CQ_MQTT_PUBCOMP, pk->packet_id,
		rc == 0 ? CQ_MQTT_RC_PACKET_ID_NOT_FOUND : 0, NULL);
}

int
cq_handle_ack(cq_conn_t *c, const cq_mqtt_ack_t *pk)
{
	cq_lsess_t *ls = c->ls;
	if (ls == NULL)
		return 0;
	/* The end of a flow is reported to comqtt-storage: with its ring
	 * full the packet waits (CQ_AGAIN), it is never lost. */
	if (!cq_persist_room(2 * cq_pev_size(1, ls->id_len, 0), false))
		return CQ_AGAIN;
	switch (pk->type) {
	case CQ_MQTT_PUBACK:
		window_ack(c, ls, pk->packet_id, CQ_INFLIGHT_PUBACK, 0);
		break;
	case CQ_MQTT_PUBREC:
		on_pubrec(c, ls, pk);
		break;
	case CQ_MQTT_PUBREL:
		on_pubrel(c, ls, pk);
		break;
	case CQ_MQTT_PUBCOMP:
		window_ack(c, ls, pk->packet_id, CQ_INFLIGHT_PUBCOMP, 0);
		break;
	}
	return 0;
}
