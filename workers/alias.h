/*
 * alias.h — MQTT 5 topic aliases of one connection (§3.3.2.3.4), both
 * directions.  Aliases belong to a network connection: both maps start
 * empty with each connection and die with it [MQTT-3.3.2-7].
 *
 * Inbound (client -> broker): alias -> topic, set by the client's PUBLISH
 * packets; at most the Topic Alias Maximum the CONNACK announced
 * (mqtt.topic_alias_maximum).  The table grows with the largest alias
 * used, so a client that uses few costs little.
 *
 * Outbound (broker -> client): topic -> alias, assigned by the broker for
 * the topics it delivers, at most the client's Topic Alias Maximum
 * [MQTT-3.1.2-26] (none when it sent none or 0 [MQTT-3.1.2-27]), and at
 * most mqtt.topic_alias_maximum so that one client cannot make the broker
 * keep 65535 topics for it.  The first delivery of a topic carries the
 * topic and the alias it gets; later ones an empty topic and the alias.
 * When every alias is taken, the one not used for the longest while (a
 * CLOCK approximation of least recently used) is given to the new topic.
 *
 * An outbound choice is made in two steps because the delivery may still
 * be dropped between them (too large for the client): cq_alias_out_pick()
 * says what the PUBLISH should carry, cq_alias_out_commit() records a
 * new assignment once the PUBLISH is really written.  Nothing may touch
 * the map in between.
 */
#ifndef CQ_WORKERS_ALIAS_H
#define CQ_WORKERS_ALIAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Inbound: alias -> topic. */
typedef struct cq_alias_map {
	uint16_t max; /* Topic Alias Maximum we announced */
	uint32_t cap; /* entries allocated: grows with the aliases used */
	char **topic; /* [cap], malloc'd strings */
	uint16_t *len;
} cq_alias_map_t;

/* Set alias -> t[0..n): 0, or -1 (alias 0 or above max, no memory). */
int cq_alias_set(cq_alias_map_t *m, uint16_t alias, const void *t, size_t n);
/* The topic of an alias, or NULL when it has none. */
const char *cq_alias_get(const cq_alias_map_t *m, uint16_t alias, size_t *n_r);
void cq_alias_free(cq_alias_map_t *m);

/* Outbound: topic -> alias. */
struct cq_alias_ent;
typedef struct cq_alias_out {
	uint16_t max; /* aliases we may use: 0 none */
	uint16_t n; /* aliases assigned: 1..n */
	uint16_t hand; /* CLOCK hand (replacement) */
	uint32_t nbuckets; /* power of two, or 0 before the first */
	uint16_t *bucket; /* first alias of each hash chain, 0: none */
	struct cq_alias_ent *e; /* [ecap], index = alias */
	uint32_t ecap;
} cq_alias_out_t;

/*
 * The alias for a delivery of topic t[0..n): 0 when none is to be used
 * (the client takes none, or memory is short); otherwise *known_r says
 * whether the client knows it already (send an empty topic) or it is a
 * new assignment (send the topic, then cq_alias_out_commit()).
 */
uint16_t cq_alias_out_pick(
	cq_alias_out_t *m, const char *t, size_t n, bool *known_r);

/* Record the new assignment 'alias' -> t (from cq_alias_out_pick, now
 * sent).  Out of memory the alias is simply not recorded (the client
 * knows it; we do not use it again until it is reassigned). */
void cq_alias_out_commit(
	cq_alias_out_t *m, uint16_t alias, const char *t, size_t n);

void cq_alias_out_free(cq_alias_out_t *m);

#endif /* CQ_WORKERS_ALIAS_H */
