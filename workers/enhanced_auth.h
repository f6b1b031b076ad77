/*
 * enhanced_auth.h — MQTT 5 enhanced authentication (§4.12): the AUTH
 * exchange at CONNECT and re-authentication of a connected client.
 *
 * A CONNECT naming an Authentication Method is given to the hooks
 * (hooks.h, on_auth) before anything else.  The first hook that knows the
 * method runs the exchange: it allows, refuses, or asks for another round
 * trip, in which case the broker sends AUTH 0x18 (Continue
 * authentication) with the hook's data and waits for the client's AUTH
 * 0x18 [MQTT-4.12.0-2] [MQTT-4.12.0-3].  The CONNECT is kept meanwhile (as
 * encoded bytes: the input buffer moves on) and handled again once the
 * hook allows it; the CONNACK then names the method, with the hook's last
 * data [MQTT-3.2.2-... Authentication Method].  No hook for the method:
 * CONNACK 0x8C (Bad authentication method).  Refused: CONNACK 0x87 (0x80
 * with mqtt.obscure_not_authorized).
 *
 * A connected client that authenticated this way may start again with
 * AUTH 0x19 (Re-authenticate) naming the same method [MQTT-4.12.1-1];
 * the same hook answers, the broker sends AUTH 0x18 steps and finally
 * AUTH 0x00, or DISCONNECT 0x87 when it fails [MQTT-4.12.1-2].  Other
 * packets keep flowing meanwhile.
 *
 * Protocol errors (DISCONNECT or CONNACK 0x82): an AUTH from a client
 * that did not start enhanced authentication [MQTT-3.1.2-32] or that
 * names another method, an AUTH with a reason the exchange does not
 * expect, a CONNECT while one is being authenticated.
 *
 * Enhanced authentication comes on top of the CONNECT's other checks
 * (user name and password hooks, access control).
 *
 * Answers that come later (hooks.h CQ_HOOK_PENDING, workers/authwait.h):
 * an on_auth hook may answer PENDING, leaving a->state as it was; the
 * packet being handled (the CONNECT, or the client's AUTH) then stays in
 * the input buffer, its handler returns CQ_CONN_PENDING, and the same step
 * is asked again when the answer is in.  The CONNECT an AUTH exchange
 * authenticated may itself wait for comqtt-authd (user name and
 * password): it stays parked here and the AUTH that completed the
 * exchange is handled again, which finishes the parked CONNECT.
 */
#ifndef CQ_WORKERS_ENHANCED_AUTH_H
#define CQ_WORKERS_ENHANCED_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqtt/packet.h"
#include "workers/worker-t.h"

/* Results of cq_eauth_connect(). */
#define CQ_EAUTH_DONE    0 /* authenticated (or nothing to do): go on */
#define CQ_EAUTH_WAITING 1 /* AUTH sent; the CONNECT is kept */
#define CQ_EAUTH_REFUSE  (-1) /* refuse with *code_r, *why_r */
#define CQ_EAUTH_PENDING 2 /* a hook's answer comes later: CQ_CONN_PENDING */

/*
 * A v5 CONNECT: start (or, when it was authenticated and is handled
 * again, pass; when a hook's answer was awaited, ask again) enhanced
 * authentication.  CQ_EAUTH_* above.
 */
int cq_eauth_connect(cq_conn_t *c, const cq_mqtt_connect_t *pk, uint8_t *code_r,
	const char **why_r);

/* True while the broker waits for the client's AUTH before CONNACK, or
 * while the CONNECT it authenticated waits for other answers. */
bool cq_eauth_waiting(const cq_conn_t *c);

/* Bytes cq_eauth_connack_props() adds (0 without enhanced auth). */
size_t cq_eauth_connack_size(const cq_conn_t *c);
/* Authentication Method and Data for the CONNACK. */
void cq_eauth_connack_props(cq_conn_t *c, cq_mqtt_pbuf_t *pb);

/* The connection goes: end an exchange in progress, free. */
void cq_eauth_free(cq_conn_t *c);

#endif /* CQ_WORKERS_ENHANCED_AUTH_H */
