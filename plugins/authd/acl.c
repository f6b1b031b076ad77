/*
 * acl.c — rule filters against requests (acl.h).
 */
#include "config.h"
#include "plugins/authd/acl.h"

#include <string.h>

#include "mqtt/topic.h"

/* The level of 's' starting at *i (up to '/' or the end); advances *i
 * past the level and its '/'.  Returns the level's length. */
static size_t
level(const char *s, size_t len, size_t *i, const char **start_r)
{
	size_t b = *i, e = b;
	while (e < len && s[e] != '/')
		e++;
	*start_r = s + b;
	*i = e < len ? e + 1 : len + 1;
	return e - b;
}

static bool
is_level(const char *p, size_t n, char c)
{
	return n == 1 && p[0] == c;
}

bool
cq_acl_filter_covers(
	const char *filter, size_t flen, const char *sub, size_t slen)
{
	size_t fi = 0, si = 0;

	if (flen == 0 || slen == 0)
		return false;
	/* [MQTT-4.7.2-1]: a filter starting with a wildcard does not reach
	 * $ topics, so it cannot cover a subscription to them. */
	if (sub[0] == '$' && (filter[0] == '+' || filter[0] == '#'))
		return false;
	for (;;) {
		const char *fp, *sp;
		if (fi > flen)
			return si > slen;
		size_t fn = level(filter, flen, &fi, &fp);
		if (is_level(fp, fn, '#'))
			return true; /* covers the rest, the parent too */
		if (si > slen)
			return false;
		size_t sn = level(sub, slen, &si, &sp);
		if (is_level(sp, sn, '#'))
			return false; /* only '#' covers '#' */
		if (is_level(fp, fn, '+'))
			continue; /* any single level, '+' included */
		if (is_level(sp, sn, '+') || fn != sn || memcmp(fp, sp, fn))
			return false;
	}
}

bool
cq_acl_applies(const char *filter, size_t flen, const cq_auth_request_t *req)
{
	if (req->access == CQ_AUTHP_ACCESS_SUBSCRIBE)
		return cq_acl_filter_covers(
			filter, flen, req->topic, req->topic_len);
	return cq_topic_match(filter, flen, req->topic, req->topic_len);
}

bool
cq_acl_grants(int lvl, char access)
{
	if (access == CQ_AUTHP_ACCESS_WRITE)
		return lvl == CQ_ACL_WRITE || lvl == CQ_ACL_READWRITE;
	return lvl == CQ_ACL_READ || lvl == CQ_ACL_READWRITE;
}

int
cq_acl_level_parse(const char *s, size_t len, int *level_r)
{
	static const char *const names[] = {
		"deny", "read", "write", "readwrite"};

	if (len == 1 && s[0] >= '0' && s[0] <= '3') {
		*level_r = s[0] - '0';
		return 0;
	}
	for (int i = 0; i < 4; i++) {
		if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0) {
			*level_r = i;
			return 0;
		}
	}
	return -1;
}

static void
keep_filter(cq_acl_fold_t *f, const char *filter, size_t flen)
{
	size_t n = flen < sizeof(f->filter) - 1 ? flen : sizeof(f->filter) - 1;
	memcpy(f->filter, filter, n);
	f->filter[n] = '\0';
}

void
cq_acl_fold_row(cq_acl_fold_t *f, const char *filter, size_t flen, int lvl,
	const cq_auth_request_t *req)
{
	if (f->denied || !cq_acl_applies(filter, flen, req))
		return;
	if (lvl == CQ_ACL_DENY) {
		f->denied = true;
		keep_filter(f, filter, flen);
	} else if (cq_acl_grants(lvl, req->access)) {
		if (!f->granted)
			keep_filter(f, filter, flen);
		f->granted = true;
	} else if (!f->applied && !f->granted) {
		keep_filter(f, filter, flen);
	}
	f->applied = true;
}

cq_auth_verdict_t
cq_acl_fold_verdict(
	const cq_acl_fold_t *f, cq_auth_request_t *req, const char *who)
{
	if (f->denied)
		return cq_auth_request_fail(req, CQ_AUTHP_CODE_NOT_AUTHORIZED,
			"%s: denied by rule %s", who, f->filter);
	if (f->granted)
		return cq_auth_request_ok(req, CQ_AUTH_TTL_DEFAULT);
	if (f->applied)
		return cq_auth_request_fail(req, CQ_AUTHP_CODE_NOT_AUTHORIZED,
			"%s: rule %s does not grant access %c", who, f->filter,
			req->access);
	return CQ_AUTH_NEXT;
}
