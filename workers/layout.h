/*
 * layout.h — serialise a PUBLISH once per wire layout (DESIGN.md §3 step 4,
 * FlashMQ's PublishCopyFactory).
 *
 * Subscribers of one message differ only in a few things that change the
 * bytes: protocol family (3.1/3.1.1 share a layout, 5.0 has properties),
 * QoS, the RETAIN flag, and on MQTT 5 the subscription identifiers.  The
 * header (fixed header, topic, packet id, properties) is built once per
 * such layout into a per-message cache; each subscriber then gets a copy
 * of header and payload with its packet id (and DUP on re-sends) patched
 * in.  The common case, many subscribers of one layout, costs one header
 * build and a memcpy each.
 *
 * On MQTT 5 the properties are the publisher's, in order, without the
 * Topic Alias (it belongs to the publisher's connection) and with the
 * Message Expiry Interval rewritten to the time left [MQTT-3.3.2-6],
 * followed by the subscription identifiers and, for a client that takes
 * topic aliases, the alias this connection uses for the topic (alias.h;
 * the layout is then that connection's, or shared with those that happen
 * to use the same alias).
 */
#ifndef CQ_WORKERS_LAYOUT_H
#define CQ_WORKERS_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "workers/records.h"
#include "workers/worker-t.h"

#define CQ_LAYOUT_CACHE   8u
#define CQ_LAYOUT_MAX_IDS 16u

typedef struct cq_layout {
	uint8_t v5;
	uint8_t qos;
	bool retain;
	uint8_t nids;
	uint16_t strip; /* bytes of mount point taken off the topic */
	uint16_t alias; /* outbound Topic Alias (alias.h), 0: none */
	bool alias_only; /* the client knows it: empty topic */
	uint32_t ids[CQ_LAYOUT_MAX_IDS];
	size_t hdr_off; /* in the cache's buffer */
	size_t hdr_len;
	size_t pid_off;
} cq_layout_t;

typedef struct cq_layouts {
	const cq_dmsg_t *d;
	uint64_t now_s;
	cq_buf_t *buf; /* header bytes (the worker's scratch buffer) */
	cq_layout_t l[CQ_LAYOUT_CACHE];
	unsigned n;
} cq_layouts_t;

/* Start the cache for message d; 'buf' is emptied and reused. */
void cq_layouts_begin(
	cq_layouts_t *ls, cq_buf_t *buf, const cq_dmsg_t *d, uint64_t now_s);

/*
 * The layout for subscriber c: its protocol level and mount point, QoS
 * (0..2), RETAIN flag, subscription ids (v5 only; at most
 * CQ_LAYOUT_MAX_IDS are kept) and topic alias (picked here, recorded by
 * cq_layout_emit).  NULL when it cannot be encoded or memory is short
 * (the caller counts a drop).  Valid until the next call.
 */
const cq_layout_t *cq_layouts_get(cq_layouts_t *ls, cq_conn_t *c, uint8_t qos,
	bool retain, const uint32_t *ids, unsigned nids);

/* Bytes a delivery of layout l takes on the wire. */
size_t cq_layout_size(const cq_layouts_t *ls, const cq_layout_t *l);

/*
 * Append a delivery to c: 0, 1 when it exceeds the client's Maximum
 * Packet Size (nothing written [MQTT-3.1.2-25]), -1 when the connection
 * failed (closed).
 */
int cq_layout_emit(cq_conn_t *c, const cq_layouts_t *ls, const cq_layout_t *l,
	uint16_t pid, bool dup);

#endif /* CQ_WORKERS_LAYOUT_H */
