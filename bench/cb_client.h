/*
 * cb_client.h — what a comqtt-bench connection says in MQTT: CONNECT,
 * SUBSCRIBE, the publisher's paced stream of numbered PUBLISH packets and
 * the QoS 1/2 handshakes, and the handling of every packet the broker
 * sends back.
 *
 * Pacing of a publisher, per loop iteration:
 *   - never more than --inflight unacknowledged QoS 1/2 messages (capped by
 *     the broker's Receive Maximum on MQTT 5);
 *   - closed loop: never more than --window messages that some subscriber
 *     of the stream has not yet received (its tracker's 'high');
 *   - open loop (--rate): message k is due at t0 + k * interval and is
 *     stamped with that time, so a publisher held back by a full inflight
 *     window does not hide the delay (no coordinated omission);
 *   - at most about 64 KB of unsent output per connection.
 */
#ifndef CB_CLIENT_H
#define CB_CLIENT_H

#include "bench/cb_types.h"

/* Queue CONNECT on a connection whose byte stream is up. */
void cb_client_connect(cb_conn_t *c);

/* Queue SUBSCRIBE for the connection's filter. */
void cb_client_subscribe(cb_conn_t *c);

/*
 * Handle one packet from the broker.  0, or -1 when the connection was
 * closed (by a protocol error, a refusal, or a connrate cycle).
 */
int cb_client_packet(cb_conn_t *c, const cb_pkt_t *p);

/*
 * Generate what the publisher on c may send now.  Returns 1 when it
 * stopped only because of its per-iteration batch limit (call again soon),
 * else 0.
 */
int cb_client_publish(cb_conn_t *c);

/*
 * Work of this publisher queued in the broker or in flight: unacknowledged
 * QoS 1/2 messages, or deliveries not yet seen by the slowest subscriber
 * (by the last computed minimum, so possibly an overestimate).  -1 when
 * the publisher is not active (done, not connected, or retained).
 */
int64_t cb_client_outstanding(const cb_conn_t *c);

/* Open loop: when the next message of c's publisher is due (ns), or
 * UINT64_MAX. */
uint64_t cb_client_next_due(const cb_conn_t *c);

/* Send PINGREQ; the publisher's barrier passes at the matching PINGRESP
 * (the broker has handled everything sent before it). */
void cb_client_barrier(cb_conn_t *c);

/* Retained scenario: clear this publisher's retained messages (QoS 0
 * empty payloads), then a barrier.  Returns 1 while work remains. */
int cb_client_clean(cb_conn_t *c);

/* Keep-alive: send PINGREQ when nothing was sent for half the interval. */
void cb_client_keepalive(cb_conn_t *c);

#endif /* CB_CLIENT_H */
