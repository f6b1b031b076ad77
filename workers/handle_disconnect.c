/*
 * handle_disconnect.c — DISCONNECT from a client.
 *
 * DISCONNECT ends the connection.  The will is discarded on 3.x and on a
 * 5.0 DISCONNECT with reason 0x00 [MQTT-3.1.2-10] [MQTT-3.14.4-3]; any
 * other 5.0 reason (0x04 "with will message" in particular) publishes it.
 * A 5.0 DISCONNECT may change the session expiry interval, except from 0
 * to something else [MQTT-3.14.2-2].
 *
 * AUTH is handled in enhanced_auth.c.
 */
#include "config.h"
#include "workers/handle.h"

#include "core/log.h"
#include "mqtt/reason.h"
#include "shm/session.h"
#include "workers/conn.h"
#include "workers/lsess.h"

int
cq_handle_disconnect(cq_conn_t *c, const cq_mqtt_disconnect_t *pk)
{
	cq_lsess_t *ls = c->ls;
	if (c->version != CQ_MQTT_V5 || ls == NULL) {
		cq_conn_close(c, CQ_CLOSE_NORMAL);
		return 0;
	}
	uint32_t exp;
	if (cq_mqtt_props_session_expiry(&pk->props, &exp) == 0) {
		if (c->expiry_zero && exp != 0) {
			cq_conn_violation(c, CQ_MQTT_OK,
				CQ_MQTT_RC_PROTOCOL_ERROR,
				"DISCONNECT sets a session expiry after "
				"CONNECT had none");
			return 0;
		}
		uint32_t cap = c->w->cfg->mqtt.maximum_session_expiry_interval;
		cq_session_set_expiry(ls->sess, ls->gen, exp > cap ? cap : exp);
	}
	cq_conn_close(c,
		pk->reason == CQ_MQTT_RC_SUCCESS ? CQ_CLOSE_NORMAL
						 : CQ_CLOSE_WILL);
	return 0;
}
