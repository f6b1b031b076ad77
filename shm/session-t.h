/*
 * session-t.h — types shared by the session table (shm/session.h) and the
 * worker's private subscription trie (workers/subtrie.h): the options of one
 * subscription.  Types only, so the private trie does not pull in the shm
 * session API.
 */
#ifndef CQ_SHM_SESSION_T_H
#define CQ_SHM_SESSION_T_H

#include <stdint.h>

/* Subscription options (MQTT 5.0 §3.8.3.1) plus the subscription id. */
typedef struct cq_subopts {
	uint8_t qos; /* granted maximum QoS, 0..2 */
	uint8_t no_local; /* 1: not to the publishing session */
	uint8_t retain_as_published; /* 1: keep RETAIN when forwarding */
	uint8_t retain_handling; /* 0, 1 or 2 */
	uint32_t sub_id; /* subscription identifier, 0 = none */
} cq_subopts_t;

#endif /* CQ_SHM_SESSION_T_H */
