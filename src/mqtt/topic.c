/*
 * topic.c — see topic.h.  Every function walks its input once, byte by
 * byte, and never reads outside [p, p + len).
 */
#include "config.h"
#include "mqtt/topic.h"

#include <string.h>

#include "core/defs.h"

cq_topic_err_t
cq_topic_name_check(const void *t, size_t len, unsigned max_levels)
{
	const unsigned char *s = t;
	unsigned levels = 1;

	if (len == 0)
		return CQ_TOPIC_EMPTY;
	if (len > CQ_MQTT_MAX_STRING)
		return CQ_TOPIC_TOO_LONG;
	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case '+':
		case '#':
			return CQ_TOPIC_WILDCARD;
		case '\0':
			return CQ_TOPIC_NUL;
		case '/':
			if (max_levels && ++levels > max_levels)
				return CQ_TOPIC_LEVELS;
			break;
		default:
			break;
		}
	}
	return CQ_TOPIC_OK;
}

/* One level of a filter, s[0..n): a wildcard must fill the whole level. */
static cq_topic_err_t
filter_level(const unsigned char *s, size_t n, bool last)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '#' && (n != 1 || !last))
			return CQ_TOPIC_BAD_HASH;
		if (s[i] == '+' && n != 1)
			return CQ_TOPIC_BAD_PLUS;
		if (s[i] == '\0')
			return CQ_TOPIC_NUL;
	}
	return CQ_TOPIC_OK;
}

static cq_topic_err_t
filter_plain(const unsigned char *s, size_t len, unsigned max_levels)
{
	unsigned levels = 0;
	size_t start = 0;

	if (len == 0)
		return CQ_TOPIC_EMPTY;
	if (len > CQ_MQTT_MAX_STRING)
		return CQ_TOPIC_TOO_LONG;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '/')
			continue;
		if (max_levels && ++levels > max_levels)
			return CQ_TOPIC_LEVELS;
		cq_topic_err_t e = filter_level(s + start, i - start, i == len);
		if (e != CQ_TOPIC_OK)
			return e;
		start = i + 1;
	}
	return CQ_TOPIC_OK;
}

cq_topic_err_t
cq_topic_filter_check(
	const void *f, size_t len, unsigned max_levels, unsigned flags)
{
	if ((flags & CQ_TOPIC_SHARED) && cq_topic_is_shared(f, len)) {
		cq_mqtt_view_t group, filter;
		cq_topic_err_t e = cq_topic_share_split(
			f, len, &group, &filter);
		if (e != CQ_TOPIC_OK)
			return e;
		return filter_plain(filter.ptr, filter.len, max_levels);
	}
	return filter_plain(f, len, max_levels);
}

bool
cq_topic_is_dollar(const void *t, size_t len)
{
	return len > 0 && *(const unsigned char *)t == '$';
}

bool
cq_topic_is_shared(const void *f, size_t len)
{
	return len >= CQ_TOPIC_SHARE_PREFIX_LEN &&
		memcmp(f, CQ_TOPIC_SHARE_PREFIX, CQ_TOPIC_SHARE_PREFIX_LEN) ==
		0;
}

cq_topic_err_t
cq_topic_share_split(const void *f, size_t len, cq_mqtt_view_t *group_r,
	cq_mqtt_view_t *filter_r)
{
	const unsigned char *s = f;
	size_t i = CQ_TOPIC_SHARE_PREFIX_LEN;

	for (; i < len && s[i] != '/'; i++)
		if (s[i] == '+' || s[i] == '#' || s[i] == '\0')
			return CQ_TOPIC_SHARE_GROUP;
	if (i == CQ_TOPIC_SHARE_PREFIX_LEN)
		return CQ_TOPIC_SHARE_GROUP;
	/* [MQTT-4.8.2-2]: the share name is followed by "/" and a filter. */
	if (i + 1 >= len)
		return CQ_TOPIC_SHARE_FILTER;
	*group_r = cq_mqtt_view(
		s + CQ_TOPIC_SHARE_PREFIX_LEN, i - CQ_TOPIC_SHARE_PREFIX_LEN);
	*filter_r = cq_mqtt_view(s + i + 1, len - i - 1);
	return CQ_TOPIC_OK;
}

/*
 * Both indexes start each round at the beginning of a level (possibly an
 * empty one at the end of the string) and end it at the end of that
 * level: a '/' or the end of the string.
 */
bool
cq_topic_match(const void *filter, size_t flen, const void *topic, size_t tlen)
{
	const unsigned char *f = filter, *t = topic;
	size_t fi = 0, ti = 0;

	if (flen == 0 || tlen == 0)
		return false;
	if (t[0] == '$' && (f[0] == '+' || f[0] == '#'))
		return false; /* [MQTT-4.7.2-1] */
	for (;;) {
		if (fi < flen && f[fi] == '#')
			return true;
		if (fi < flen && f[fi] == '+') {
			fi++;
			while (ti < tlen && t[ti] != '/')
				ti++;
		} else {
			while (fi < flen && f[fi] != '/' && ti < tlen &&
				t[ti] != '/' && f[fi] == t[ti]) {
				fi++;
				ti++;
			}
		}
		if ((fi < flen && f[fi] != '/') || (ti < tlen && t[ti] != '/'))
			return false; /* the levels differ */
		if (fi == flen || ti == tlen)
			break;
		fi++;
		ti++;
	}
	if (fi == flen && ti == tlen)
		return true;
	/* "sport/#" also matches "sport" (§4.7.1.2). */
	return ti == tlen && flen - fi == 2 && f[fi + 1] == '#';
}

const char *
cq_topic_err_name(cq_topic_err_t err)
{
	static const char *const names[] = {
		[CQ_TOPIC_OK] = "ok",
		[CQ_TOPIC_EMPTY] = "empty topic",
		[CQ_TOPIC_TOO_LONG] = "topic longer than 65535 bytes",
		[CQ_TOPIC_NUL] = "topic contains U+0000",
		[CQ_TOPIC_WILDCARD] = "wildcard in topic name",
		[CQ_TOPIC_BAD_HASH] = "'#' not alone in the last level",
		[CQ_TOPIC_BAD_PLUS] = "'+' not alone in its level",
		[CQ_TOPIC_LEVELS] = "too many topic levels",
		[CQ_TOPIC_SHARE_GROUP] = "invalid shared subscription name",
		[CQ_TOPIC_SHARE_FILTER] = "shared subscription without filter",
	};
	if ((size_t)err >= CQ_ARRAY_SIZE(names))
		return "unknown topic error";
	return names[err];
}
