/*
 * acl.h — how a stored ACL rule (a topic filter and an access level)
 * answers a request; shared by every backend so they all agree.
 *
 * Access levels are comqtt's: 0 deny, 1 read (subscribe, receive),
 * 2 write (publish), 3 read and write.
 *
 * A rule's filter applies to a request:
 *  - access 'w' and 'r' (a topic name): the filter matches the topic
 *    (MQTT wildcard matching, cq_topic_match());
 *  - access 's' (a topic filter): the rule's filter covers the requested
 *    one, i.e. every topic the subscription could receive matches the
 *    rule ("a/#" covers "a/+/b"; "a/+" does not cover "a/#").
 *
 * A set of rows (a database's rows for one user) is decided as a whole,
 * in any order: a deny row that applies refuses; else a row that applies
 * and grants the access allows; else a row that applies (granting other
 * access) refuses; no row applying passes to the next backend.
 */
#ifndef CQ_AUTHD_ACL_H
#define CQ_AUTHD_ACL_H

#include <stdbool.h>
#include <stddef.h>

#include "plugins/authd/backend.h"

typedef enum cq_acl_level {
	CQ_ACL_DENY = 0,
	CQ_ACL_READ = 1,
	CQ_ACL_WRITE = 2,
	CQ_ACL_READWRITE = 3,
} cq_acl_level_t;

/* Does 'filter' cover every topic 'sub' matches? */
bool cq_acl_filter_covers(
	const char *filter, size_t flen, const char *sub, size_t slen);

/* Does the rule filter apply to the request's topic (see above)? */
bool cq_acl_applies(
	const char *filter, size_t flen, const cq_auth_request_t *req);

/* Does 'level' grant 'access' ('r', 'w', 's')? */
bool cq_acl_grants(int level, char access);

/* Parse an access level written as 0-3 or deny/read/write/readwrite.
 * 0, or -1. */
int cq_acl_level_parse(const char *s, size_t len, int *level_r);

/* A set of rows, folded one row at a time. */
typedef struct cq_acl_fold {
	bool applied, granted, denied;
	char filter[96]; /* the deciding rule's filter, for the reason */
} cq_acl_fold_t;

void cq_acl_fold_row(cq_acl_fold_t *f, const char *filter, size_t flen,
	int level, const cq_auth_request_t *req);

/* The verdict of the folded rows (FAIL not_authorized, OK or NEXT);
 * 'who' names the backend in the reason. */
cq_auth_verdict_t cq_acl_fold_verdict(
	const cq_acl_fold_t *f, cq_auth_request_t *req, const char *who);

#endif /* CQ_AUTHD_ACL_H */
