/*
 * records.h — what workers send each other over the rings (shm/ring.h),
 * and cq_dmsg_t, the view of one message on its way to subscribers.
 *
 * Record types (cq_ring_rec_t.type):
 *
 *   PUBLISH   a message for the destination to match in its private trie
 *             (DESIGN.md §3 step 3).  With CQ_RING_F_MSG the message is in
 *             the message store and the record owns one reference (the
 *             first word); without it topic, properties and payload follow
 *             the header inline (small QoS 0 messages: no allocation).  The
 *             shared-subscription groups the route trie chose this worker
 *             for follow the header.
 *   FORWARD   a message for one session that moved from the sender to the
 *             receiver (takeover.h); always CQ_RING_F_MSG.
 *   KICK      "session S is ours now": the receiver closes its connection
 *             for S and starts forwarding what it still matches for S.
 *
 * A session may pass through a worker several times while earlier moves
 * are still completing, so a worker can hold several incarnations of one
 * client id (one owning it, the others forwarding).  Records name the
 * incarnation they are for by its generation (shm/session.h): KICK the
 * one it ends (prev_gen), FORWARD and HANDOVER the one that kicked.
 *   HANDOVER  "I have forwarded everything for S": the receiver delivers
 *             what it held back for S.
 *
 * Every record is a cross-process contract between two workers of the
 * same binary (the region is never shared across versions: its layout
 * version is checked at attach); the structs are fixed-width and 8-byte
 * aligned.
 */
#ifndef CQ_WORKERS_RECORDS_H
#define CQ_WORKERS_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shm/relptr.h"

enum cq_rec_type {
	CQ_REC_PUBLISH = 1,
	CQ_REC_FORWARD = 2,
	CQ_REC_KICK = 3,
	CQ_REC_HANDOVER = 4,
};

/* Inline QoS 0 messages up to this size (topic + properties + payload);
 * larger ones go through the message store. */
#define CQ_REC_INLINE_MAX 2048u

#define CQ_REC_F_RETAIN   0x01u
/* Only for the shared groups listed, not for plain subscribers: a message
 * a group member left with, given to another member (share.h). */
#define CQ_REC_F_GROUPS 0x02u

typedef struct cq_rec_publish {
	cq_off_t msg; /* with CQ_RING_F_MSG: the reference; else 0 */
	uint16_t topic_len;
	uint8_t qos;
	uint8_t flags; /* CQ_REC_F_* */
	uint32_t props_len;
	uint32_t payload_len;
	uint16_t origin_slot;
	uint16_t ngroups; /* uint64_t group keys after the header */
	uint32_t pad;
	uint64_t seq; /* the publishing worker's message number */
	uint64_t origin_session; /* publisher's session offset (no local) */
	uint64_t expiry; /* absolute Unix seconds, 0: none */
	/* uint64_t groups[ngroups]; then, inline: topic, props, payload */
} cq_rec_publish_t;

typedef struct cq_rec_forward {
	cq_off_t msg; /* the reference the record owns */
	uint16_t id_len;
	uint16_t origin_slot;
	uint64_t seq;
	uint64_t gen; /* the receiving incarnation's generation */
	/* client id */
} cq_rec_forward_t;

typedef struct cq_rec_kick {
	cq_off_t sess; /* the session (its offset) */
	uint16_t id_len;
	uint8_t ended; /* the session was replaced (clean start) */
	uint8_t pad;
	uint64_t gen; /* the new generation */
	uint64_t prev_gen; /* the generation of the incarnation kicked */
	/* client id */
} cq_rec_kick_t;

typedef struct cq_rec_handover {
	uint16_t id_len;
	uint16_t nslots;
	uint32_t pad;
	uint64_t gen; /* the receiving incarnation's generation */
	/* uint64_t last_seq[nslots]; client id */
} cq_rec_handover_t;

/*
 * One message being delivered: a view of a ring record, of a message in
 * the store, or of a PUBLISH being handled.  'msg' is the store object
 * when there is one (QoS 1 and 2 always have one); the views are valid
 * while the record, the message reference or the input buffer is.
 */
typedef struct cq_dmsg {
	const char *topic;
	size_t topic_len;
	const uint8_t *props; /* raw MQTT 5 properties as published */
	size_t props_len;
	const uint8_t *payload;
	size_t payload_len;
	cq_off_t msg;
	uint8_t qos; /* as published */
	bool retain; /* as published */
	bool rsend; /* a retained message sent at subscribe time */
	uint16_t origin_slot;
	uint64_t origin_session;
	uint64_t seq;
	uint64_t expiry;
} cq_dmsg_t;

/* A view of message 'm' (a reference the caller holds). */
void cq_dmsg_from_msg(cq_dmsg_t *d, cq_off_t m);

#endif /* CQ_WORKERS_RECORDS_H */
