/*
 * handle.h — one handler per MQTT packet type a client sends (Mosquitto's
 * handle_*.c layout): handle_connect.c, handle_publish.c, handle_ack.c
 * (PUBACK, PUBREC, PUBREL, PUBCOMP), handle_subscribe.c (SUBSCRIBE,
 * UNSUBSCRIBE), handle_ping.c, handle_disconnect.c (DISCONNECT) and
 * enhanced_auth.c (AUTH).
 *
 * conn.c decodes a packet and calls its handler with views into the
 * connection's input buffer.  A handler answers 0 when the packet is done
 * with (even if it closed the connection) or CQ_AGAIN when it must be
 * handled again in a later iteration (a PUBLISH whose destination ring is
 * full): the packet then stays in the input buffer and input pauses.
 */
#ifndef CQ_WORKERS_HANDLE_H
#define CQ_WORKERS_HANDLE_H

#include <stdbool.h>

#include "mqtt/packet.h"
#include "workers/worker-t.h"

int cq_handle_connect(cq_conn_t *c, const cq_mqtt_connect_t *pk);
int cq_handle_publish(cq_conn_t *c, const cq_mqtt_publish_t *pk);
int cq_handle_ack(cq_conn_t *c, const cq_mqtt_ack_t *pk);
int cq_handle_subscribe(cq_conn_t *c, const cq_mqtt_subscribe_t *pk);
int cq_handle_unsubscribe(cq_conn_t *c, const cq_mqtt_subscribe_t *pk);
int cq_handle_pingreq(cq_conn_t *c);
int cq_handle_disconnect(cq_conn_t *c, const cq_mqtt_disconnect_t *pk);
int cq_handle_auth(cq_conn_t *c, const cq_mqtt_auth_t *pk);

/*
 * CONNECTs whose session is still being released by its previous owner
 * (handle_connect.c): finish those that can be finished.  Called every
 * iteration while any is waiting.
 */
void cq_handle_connect_poll(cq_worker_t *w);
/* True while some CONNECT waits (the loop then does not sleep long). */
bool cq_handle_connect_waiting(void);
/* The connection of an OPENING CONNECT closed (conn.c). */
void cq_handle_connect_detach(cq_conn_t *c);

/* Refuse the CONNECT being handled with v5 reason 'code' (Reason String
 * 'why'; a v3 client gets the return code it maps to) and close. */
void cq_handle_connect_refuse(cq_conn_t *c, uint8_t code, const char *why);

/* The reason code a refusal carries on this connection's level: v5 as
 * given, v3 mapped (0x87 -> 0x05 ...), -1: none (just close). */
int cq_handle_v3_code(uint8_t v5_code);

#endif /* CQ_WORKERS_HANDLE_H */
