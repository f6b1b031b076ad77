/*
 * reply.h — what the broker answers an MQTT 5 client: acknowledgements
 * with reason codes and reason strings, and the rules every packet it
 * sends must follow on the way out.
 *
 * Reason strings (MQTT 5 §3.x.2.x "Reason String") say in words why the
 * broker refused something: a CONNACK refusal, a DISCONNECT it sends, a
 * PUBACK/PUBREC/SUBACK failure.  Two client choices limit what may be
 * sent (cq_reply_fit, called by cq_conn_send_packet for every packet but
 * a PUBLISH, which layout.h builds):
 *   - Request Problem Information 0: no Reason String and no User
 *     Property on anything but PUBLISH, CONNACK and DISCONNECT
 *     [MQTT-3.1.2-29];
 *   - Maximum Packet Size: a packet that would be larger loses its Reason
 *     String and User Properties first ([MQTT-3.2.2-19] [MQTT-3.2.2-20],
 *     [MQTT-3.4.2-2] [MQTT-3.4.2-3], [MQTT-3.9.2-1] [MQTT-3.9.2-2],
 *     [MQTT-3.14.2-3] [MQTT-3.14.2-4] and the like for the other acks);
 *     if it is still too large it is not sent at all [MQTT-3.1.2-24] and
 *     counted as a drop, and the connection is closed (a DISCONNECT is
 *     just not sent): a client left without its CONNACK or an
 *     acknowledgement would wait forever.
 * MQTT 3.x packets have no properties: nothing to fit.
 */
#ifndef CQ_WORKERS_REPLY_H
#define CQ_WORKERS_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "core/conf.h"
#include "mqtt/packet.h"
#include "workers/worker-t.h"

/*
 * A sentence for reason code 'code' (>= 0x80 or one of the DISCONNECT
 * codes the broker sends), for a Reason String when the caller has
 * nothing more precise.  Never NULL.
 */
const char *cq_reply_text(uint8_t code);

/*
 * Send PUBACK, PUBREC, PUBREL or PUBCOMP ('type') for 'pid'.  On MQTT 5
 * the reason code goes with it, and with a failure (>= 0x80) the Reason
 * String 'text' (NULL: cq_reply_text()).  On 3.x neither.  0, or -1 when
 * the connection failed.
 */
int cq_reply_ack(cq_conn_t *c, uint8_t type, uint16_t pid, uint8_t reason,
	const char *text);

/*
 * Properties holding just Reason String 'text' (nothing when text is NULL
 * or empty), built in mem[0..cap).  The string is cut at a character
 * boundary to fit.
 */
cq_mqtt_props_t cq_reply_reason_props(const char *text, void *mem, size_t cap);
/* Add Reason String 'text' to pb, cut to leave 'reserve' bytes free. */
void cq_reply_put_reason(cq_mqtt_pbuf_t *pb, const char *text, size_t reserve);

/*
 * Fit *pkt (not a PUBLISH) to what c accepts, see above.  The properties
 * may be rewritten into mem[0..cap), or into a heap block left in
 * *heap_r (start with NULL; the caller frees it after sending).  *size_r
 * gets the encoded size.  0: send *pkt; 1: too large even so, do not
 * send it.
 */
int cq_reply_fit(const cq_conn_t *c, cq_mqtt_packet_t *pkt, void *mem,
	size_t cap, void **heap_r, size_t *size_r);

/*
 * mqtt.server_reference: the reason an MQTT 5 client is sent away with
 * (0x9C Use another server, 0x9D Server moved), or 0 when it is not set.
 */
uint8_t cq_reply_redirect_code(const cq_config_t *cfg);

/* Add the Server Reference to pb; it takes cq_reply_redirect_size(). */
size_t cq_reply_redirect_size(const cq_config_t *cfg);
void cq_reply_put_redirect(cq_mqtt_pbuf_t *pb, const cq_config_t *cfg);

/*
 * A reload set mqtt.server_reference: every connected MQTT 5 client gets
 * DISCONNECT 0x9C/0x9D naming the server (MQTT 3.x clients stay).
 */
void cq_reply_redirect_all(cq_worker_t *w);

#endif /* CQ_WORKERS_REPLY_H */
