/*
 * msg.h — the message store: immutable, refcounted messages in the arena.
 *
 * A message is created once by the publishing worker (topic, payload, the
 * MQTT 5 properties exactly as received so they can be re-emitted, QoS,
 * retain, absolute expiry, publisher) and never changes afterwards except
 * for its reference count.  Whoever stores its offset somewhere (a ring
 * record with CQ_RING_F_MSG, a session's inflight window or offline queue,
 * the retained store) owns one reference; the last cq_msg_unref frees it.
 *
 * Messages that lock-free readers can reach without holding a reference
 * (the retained trie) are released with cq_msg_unref_deferred, which hands
 * the last reference to QSBR instead of freeing at once; such readers take
 * their own reference with cq_msg_tryref, which refuses a message whose
 * count already reached zero.
 *
 * Refcounts are not trusted after a crash: during a quiescent cq_shm_check
 * every module declares the references it holds (cq_msg_census_add) and the
 * message store compares them with the counts (check_final): fewer counted
 * than declared is an error (a use after free in the making), more is a
 * leaked reference (lowered with CQ_SHM_CHECK_REPAIR).
 */
#ifndef CQ_SHM_MSG_H
#define CQ_SHM_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "shm/region.h"

#define CQ_MSG_MAGIC       0x4753514du /* "MQSG" */
#define CQ_MSG_TOPIC_MAX   65535u
#define CQ_MSG_PAYLOAD_MAX 268435455u /* the MQTT packet size limit */
#define CQ_MSG_F_RETAIN    0x1u
/* A retained message's copy for one subscriber, sent at subscribe time:
 * delivered with RETAIN=1 whatever its subscription's Retain As
 * Published says [MQTT-3.3.1-8], also from the queue and on re-sends. */
#define CQ_MSG_F_RSEND 0x2u

typedef struct cq_msg {
	uint32_t magic;
	uint32_t refcnt; /* atomic */
	uint64_t created_ms; /* CLOCK_REALTIME, milliseconds */
	uint64_t expiry; /* absolute Unix seconds; 0: never */
	uint64_t origin_session; /* publisher's session (no-local) */
	uint32_t topic_len;
	uint32_t props_len;
	uint32_t payload_len;
	uint16_t origin_slot; /* publisher's worker */
	uint8_t qos;
	uint8_t flags; /* CQ_MSG_F_* */
	char data[]; /* topic, properties, payload */
} cq_msg_t;

typedef struct cq_msg_info {
	const char *topic;
	size_t topic_len;
	const void *props; /* raw MQTT 5 property bytes, or NULL */
	size_t props_len;
	const void *payload;
	size_t payload_len;
	uint8_t qos;
	uint8_t flags;
	uint64_t expiry;
	uint16_t origin_slot;
	uint64_t origin_session;
} cq_msg_info_t;

/*
 * Create a message holding one reference (the creator's).  CQ_OFF_NULL when
 * the arena is full or a length is out of range (errno ENOMEM / EINVAL).
 */
cq_off_t cq_msg_create(const cq_msg_info_t *info);

static inline cq_msg_t *
cq_msg_get(cq_off_t m)
{
	return CQ_PTR(cq_msg_t, m);
}
static inline const char *
cq_msg_topic(const cq_msg_t *m)
{
	return m->data;
}
static inline const void *
cq_msg_props(const cq_msg_t *m)
{
	return m->data + m->topic_len;
}
static inline const void *
cq_msg_payload(const cq_msg_t *m)
{
	return m->data + m->topic_len + m->props_len;
}
/* 1 when the message has an expiry and 'now' (Unix seconds) is past it. */
static inline int
cq_msg_expired(const cq_msg_t *m, uint64_t now)
{
	return m->expiry != 0 && now >= m->expiry;
}

/* Add n references (the caller holds one already). */
void cq_msg_ref(cq_off_t m, uint32_t n);
/* Take a reference unless the count is zero: 0, or -1 (dying). */
int cq_msg_tryref(cq_off_t m);
/* Drop one reference; the last one frees the message now... */
void cq_msg_unref(cq_off_t m);
/* ...or after a QSBR grace period. */
void cq_msg_unref_deferred(cq_off_t m);
uint32_t cq_msg_refcount(cq_off_t m);

/* During a quiescent check: a module holds n references to message m. */
void cq_msg_census_add(
	cq_shm_t *shm, cq_shm_report_t *rep, cq_off_t m, uint32_t n);

extern const cq_shm_module_t cq_msg_module;

#endif /* CQ_SHM_MSG_H */
