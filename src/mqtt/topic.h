/*
 * topic.h — topic names, topic filters, shared subscriptions and the
 * reference matcher (MQTT 5 §4.7, §4.8.2).
 *
 * These check structure only: the codec has already checked that a
 * string from the wire is valid UTF-8.  A NUL byte is still refused here
 * (it can only be U+0000 [MQTT-4.7.3-2]) so that names coming from
 * elsewhere (config, admin API) get the same answer.
 *
 * cq_topic_match() is the simple reference implementation of §4.7 that
 * the tries in shm/ and workers/ are tested against; it is not the
 * broker's hot path.
 */
#ifndef CQ_MQTT_TOPIC_H
#define CQ_MQTT_TOPIC_H

#include <stdbool.h>
#include <stddef.h>

#include "mqtt/proto.h"

typedef enum cq_topic_err {
	CQ_TOPIC_OK = 0,
	CQ_TOPIC_EMPTY, /* zero length [MQTT-4.7.3-1] */
	CQ_TOPIC_TOO_LONG, /* over 65,535 bytes [MQTT-4.7.3-3] */
	CQ_TOPIC_NUL, /* contains U+0000 [MQTT-4.7.3-2] */
	CQ_TOPIC_WILDCARD, /* '+' or '#' in a topic name [MQTT-3.3.2-2] */
	CQ_TOPIC_BAD_HASH, /* '#' not alone in the last level [MQTT-4.7.1-2] */
	CQ_TOPIC_BAD_PLUS, /* '+' not alone in its level [MQTT-4.7.1-3] */
	CQ_TOPIC_LEVELS, /* more levels than the configured maximum */
	CQ_TOPIC_SHARE_GROUP, /* empty share name or one with + # [MQTT-4.8.2-1/2] */
	CQ_TOPIC_SHARE_FILTER, /* no "/" and filter after the share name [MQTT-4.8.2-2] */
} cq_topic_err_t;

/* cq_topic_filter_check(): "$share/<group>/<filter>" is a shared
 * subscription (MQTT 5; a broker may accept it from 3.1.1 clients too). */
#define CQ_TOPIC_SHARED           0x01

#define CQ_TOPIC_SHARE_PREFIX     "$share/"
#define CQ_TOPIC_SHARE_PREFIX_LEN 7

/*
 * A topic name as PUBLISH carries it: non-empty, at most 65,535 bytes, no
 * wildcard, no NUL, at most max_levels levels (0: no limit).
 */
cq_topic_err_t cq_topic_name_check(
	const void *t, size_t len, unsigned max_levels);

/*
 * A topic filter: wildcard placement per §4.7.1, and with CQ_TOPIC_SHARED
 * the $share syntax of §4.8.2 (max_levels then counts the filter part).
 */
cq_topic_err_t cq_topic_filter_check(
	const void *f, size_t len, unsigned max_levels, unsigned flags);

/* Does the name or filter start with '$' (§4.7.2: $SYS and friends)? */
bool cq_topic_is_dollar(const void *t, size_t len);
/* Does the filter start with "$share/"? */
bool cq_topic_is_shared(const void *f, size_t len);

/*
 * Split "$share/<group>/<filter>" into its share name and filter.  Returns
 * CQ_TOPIC_OK, CQ_TOPIC_SHARE_GROUP or CQ_TOPIC_SHARE_FILTER; the filter
 * part is not checked here (cq_topic_filter_check() does).  The input must
 * start with "$share/".
 */
cq_topic_err_t cq_topic_share_split(const void *f, size_t len,
	cq_mqtt_view_t *group_r, cq_mqtt_view_t *filter_r);

/*
 * Does the filter match the topic name (§4.7)?  '+' matches exactly one
 * level (possibly empty), '#' the parent level and any number of levels
 * below; a filter starting with a wildcard does not match a topic starting
 * with '$' [MQTT-4.7.2-1].  The filter should have passed
 * cq_topic_filter_check() (without its $share prefix); any bytes are safe.
 */
bool cq_topic_match(
	const void *filter, size_t flen, const void *topic, size_t tlen);

const char *cq_topic_err_name(cq_topic_err_t err);

#endif /* CQ_MQTT_TOPIC_H */
