/*
 * ledger.h — comqtt's auth ledger: rules in a YAML or JSON file, in the
 * format of Go comqtt's mqtt/hooks/auth ledger (same field names):
 *
 *   users:                      # checked first, by user name
 *     alice:
 *       password: secret        # stored per ledger.password_hash
 *       disallow: false
 *       acl: {"alice/#": 3}     # filter -> access (0..3)
 *   auth:                       # then these, first match wins
 *     - {client: "*", username: "dev*", remote: "127.0.0.1:*",
 *        password: "*", allow: true}
 *   acl:
 *     - {username: alice, filters: {"public/#": 1, "alice/#": 3}}
 *
 * Patterns (client, username, remote, and a plain password) match as Go
 * comqtt's RString does: "" and "*" match anything, "abc*" anything
 * starting with "abc" (what follows the first '*' is not looked at),
 * anything else only itself.  remote is "ip:port".
 *
 * AUTH: a users entry whose password matches decides (allowed unless
 * disallow); otherwise the first auth rule whose four patterns match
 * decides by its allow; otherwise NEXT.
 * ACL: the user's own acl filters in file order, then the acl rules in
 * file order: a rule whose patterns match and has no filters allows;
 * otherwise its first filter that applies (acl.h) decides; otherwise the
 * next rule.  Nothing applying gives NEXT (Go comqtt allows there; set
 * auth.acl_no_match: allow for that).
 *
 * A ledger is immutable once loaded, so threads may read it at once.
 */
#ifndef CQ_AUTHD_LEDGER_H
#define CQ_AUTHD_LEDGER_H

#include <stddef.h>

#include "plugins/authd/backend.h"

/* Largest rules file read. */
#define CQ_LEDGER_FILE_MAX (64 * 1024 * 1024)

typedef struct cq_ledger cq_ledger_t;

/* Parse rules text; 'name' names it in messages.  NULL with *error_r
 * (malloc'd, "NAME:LINE:COL: ...") on any error. */
cq_ledger_t *cq_ledger_parse(
	const char *name, const char *text, size_t len, char **error_r);
/* Read and parse a file. */
cq_ledger_t *cq_ledger_load(const char *path, char **error_r);
void cq_ledger_free(cq_ledger_t *l);

/* Counts, for the log line at load. */
size_t cq_ledger_users(const cq_ledger_t *l);
size_t cq_ledger_auth_rules(const cq_ledger_t *l);
size_t cq_ledger_acl_rules(const cq_ledger_t *l);

/*
 * Decide an AUTH (OK, FAIL or NEXT).  Passwords are checked with
 * 'scheme' (password.h) and 'key': with bcrypt this blocks, so call it on
 * a thread then.
 */
cq_auth_verdict_t cq_ledger_auth(const cq_ledger_t *l, cq_auth_request_t *req,
	int scheme, const char *key);

/* Decide an ACL (OK, FAIL or NEXT); never blocks. */
cq_auth_verdict_t cq_ledger_acl(const cq_ledger_t *l, cq_auth_request_t *req);

/* Go comqtt's RString.Matches(). */
bool cq_ledger_pattern_match(const char *pattern, const char *s, size_t len);

#endif /* CQ_AUTHD_LEDGER_H */
