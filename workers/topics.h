/*
 * topics.h — the codec's topic rules (src/mqtt/topic.h) for the runtime.
 *
 * src/mqtt/topic.h and shm/topic_match.h both define
 * cq_topic_share_split(), with different signatures, so no translation
 * unit can include both; every runtime file sees topic_match.h (through
 * the tries), so the codec's checks reach the runtime through these
 * wrappers, compiled in topics.c, which includes only the codec's header.
 */
#ifndef CQ_WORKERS_TOPICS_H
#define CQ_WORKERS_TOPICS_H

#include <stdbool.h>
#include <stddef.h>

/* A topic name a client may publish to (max_levels 0: no limit). */
bool cq_wtopic_name_ok(const void *t, size_t len, unsigned max_levels);
/* A topic filter; shared: "$share/<group>/<filter>" is allowed. */
bool cq_wtopic_filter_ok(
	const void *f, size_t len, unsigned max_levels, bool shared);
bool cq_wtopic_is_dollar(const void *t, size_t len);
bool cq_wtopic_is_shared(const void *f, size_t len);
/* Does the filter (a $share one: its filter part) match the topic? */
bool cq_wtopic_match(const void *f, size_t flen, const void *t, size_t tlen);

#endif /* CQ_WORKERS_TOPICS_H */
