/*
 * topics.c — see topics.h.
 */
#include "config.h"
#include "workers/topics.h"

#include "mqtt/topic.h"

bool
cq_wtopic_name_ok(const void *t, size_t len, unsigned max_levels)
{
	return cq_topic_name_check(t, len, max_levels) == CQ_TOPIC_OK;
}

bool
cq_wtopic_filter_ok(const void *f, size_t len, unsigned max_levels, bool shared)
{
	return cq_topic_filter_check(f, len, max_levels,
		       shared ? CQ_TOPIC_SHARED : 0) == CQ_TOPIC_OK;
}

bool
cq_wtopic_is_dollar(const void *t, size_t len)
{
	return cq_topic_is_dollar(t, len);
}

bool
cq_wtopic_is_shared(const void *f, size_t len)
{
	return cq_topic_is_shared(f, len);
}

bool
cq_wtopic_match(const void *f, size_t flen, const void *t, size_t tlen)
{
	if (cq_topic_is_shared(f, flen)) {
		cq_mqtt_view_t group, filter;
		if (cq_topic_share_split(f, flen, &group, &filter) !=
			CQ_TOPIC_OK)
			return false;
		return cq_topic_match(filter.ptr, filter.len, t, tlen);
	}
	return cq_topic_match(f, flen, t, tlen);
}
