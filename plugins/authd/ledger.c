/*
 * ledger.c — auth ledger rules: load from YAML/JSON, decide requests
 * (ledger.h).
 *
 * Loading is strict, like the configuration: an unknown key, a bad access
 * level or an invalid topic filter is an error with its line and column,
 * so a typo never silently turns into "no rule".
 */
#include "config.h"
#include "plugins/authd/ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mqtt/topic.h"
#include "plugins/authd/acl.h"
#include "plugins/authd/doc.h"
#include "plugins/authd/password.h"

#define LEDGER_DEPTH 8

typedef struct lfilter {
	const char *filter;
	size_t len;
	int level;
} lfilter_t;

typedef struct luser {
	const char *name;
	const char *password;
	size_t password_len;
	bool disallow;
	lfilter_t *acl;
	size_t nacl;
} luser_t;

typedef struct lauth {
	const char *client, *username, *remote, *password;
	bool allow;
	unsigned line;
} lauth_t;

typedef struct lacl {
	const char *client, *username, *remote;
	lfilter_t *filters;
	size_t nfilters;
	unsigned line;
} lacl_t;

struct cq_ledger {
	cq_doc_t *doc; /* the strings point into it */
	luser_t *users; /* sorted by name */
	size_t nusers;
	lauth_t *auth;
	size_t nauth;
	lacl_t *acl;
	size_t nacl;
};

typedef struct lparse {
	cq_ledger_t *l;
	const char *name;
	char **error_r;
} lparse_t;

#define fail(p, n, ...)                                                        \
	cq_doc_error((p)->error_r, (p)->name, (n) != NULL ? (n)->line : 0,     \
		(n) != NULL ? (n)->col : 0, __VA_ARGS__)

/* A scalar as a string (null is ""). */
static int
string_of(
	lparse_t *p, const cq_doc_node_t *n, const char *what, const char **s_r)
{
	if (n == NULL) {
		*s_r = "";
		return 0;
	}
	if (n->type != CQ_DOC_SCALAR)
		return fail(p, n, "%s must be a string", what);
	*s_r = cq_doc_is_null(n) ? "" : n->text;
	return 0;
}

/* Every key of map 'n' is one of 'keys'. */
static int
only_keys(lparse_t *p, const cq_doc_node_t *n, const char *const *keys,
	const char *what)
{
	if (n->type != CQ_DOC_MAP)
		return fail(p, n, "%s must be a map", what);
	for (size_t i = 0; i < n->n; i++) {
		const cq_doc_node_t *k = n->items[2 * i];
		size_t j = 0;
		while (keys[j] != NULL && strcmp(keys[j], k->text) != 0)
			j++;
		if (keys[j] == NULL)
			return fail(p, k, "unknown key \"%.60s\" in %s",
				k->text, what);
	}
	return 0;
}

static int
parse_filters(lparse_t *p, const cq_doc_node_t *n, lfilter_t **f_r, size_t *n_r)
{
	*f_r = NULL;
	*n_r = 0;
	if (n == NULL || cq_doc_is_null(n))
		return 0;
	if (n->type != CQ_DOC_MAP)
		return fail(p, n, "filters must be a map of filter: access");
	if ((*f_r = calloc(n->n, sizeof(**f_r))) == NULL && n->n > 0)
		return fail(p, n, "out of memory");
	for (size_t i = 0; i < n->n; i++) {
		const cq_doc_node_t *k = n->items[2 * i],
				    *v = n->items[2 * i + 1];
		lfilter_t *f = &(*f_r)[i];
		if (cq_topic_filter_check(k->text, k->len, 0, 0) != CQ_TOPIC_OK)
			return fail(p, k, "\"%.60s\" is not a topic filter",
				k->text);
		if (v->type != CQ_DOC_SCALAR ||
			cq_acl_level_parse(v->text, v->len, &f->level) < 0)
			return fail(p, v,
				"access must be 0 (deny), 1 (read), 2 (write) "
				"or 3 (readwrite)");
		f->filter = k->text;
		f->len = k->len;
	}
	*n_r = n->n;
	return 0;
}

static int
parse_bool(lparse_t *p, const cq_doc_node_t *n, const char *what, bool *v_r)
{
	*v_r = false;
	if (n == NULL || cq_doc_is_null(n))
		return 0;
	if (cq_doc_bool(n, v_r) < 0)
		return fail(p, n, "%s must be true or false", what);
	return 0;
}

static int
parse_user(
	lparse_t *p, const cq_doc_node_t *k, const cq_doc_node_t *v, luser_t *u)
{
	static const char *const keys[] = {
		"username", "password", "acl", "disallow", NULL};

	u->name = k->text;
	if (only_keys(p, v, keys, "a user") < 0 ||
		string_of(p, cq_doc_get(v, "password"), "password",
			&u->password) < 0 ||
		parse_bool(p, cq_doc_get(v, "disallow"), "disallow",
			&u->disallow) < 0)
		return -1;
	u->password_len = strlen(u->password);
	return parse_filters(p, cq_doc_get(v, "acl"), &u->acl, &u->nacl);
}

static int
user_cmp(const void *a, const void *b)
{
	return strcmp(((const luser_t *)a)->name, ((const luser_t *)b)->name);
}

static int
parse_users(lparse_t *p, const cq_doc_node_t *n)
{
	cq_ledger_t *l = p->l;

	if (n == NULL || cq_doc_is_null(n))
		return 0;
	if (n->type != CQ_DOC_MAP)
		return fail(p, n, "users must be a map of user name: user");
	if ((l->users = calloc(n->n, sizeof(*l->users))) == NULL && n->n)
		return fail(p, n, "out of memory");
	for (size_t i = 0; i < n->n; i++, l->nusers++)
		if (parse_user(p, n->items[2 * i], n->items[2 * i + 1],
			    &l->users[i]) < 0) {
			l->nusers++; /* free its filters too */
			return -1;
		}
	qsort(l->users, l->nusers, sizeof(*l->users), user_cmp);
	return 0;
}

static int
parse_auth_rule(lparse_t *p, const cq_doc_node_t *n, lauth_t *r)
{
	static const char *const keys[] = {
		"client", "username", "remote", "password", "allow", NULL};

	r->line = n->line;
	if (only_keys(p, n, keys, "an auth rule") < 0 ||
		string_of(p, cq_doc_get(n, "client"), "client", &r->client) <
			0 ||
		string_of(p, cq_doc_get(n, "username"), "username",
			&r->username) < 0 ||
		string_of(p, cq_doc_get(n, "remote"), "remote", &r->remote) <
			0 ||
		string_of(p, cq_doc_get(n, "password"), "password",
			&r->password) < 0)
		return -1;
	return parse_bool(p, cq_doc_get(n, "allow"), "allow", &r->allow);
}

static int
parse_acl_rule(lparse_t *p, const cq_doc_node_t *n, lacl_t *r)
{
	static const char *const keys[] = {
		"client", "username", "remote", "filters", NULL};

	r->line = n->line;
	if (only_keys(p, n, keys, "an acl rule") < 0 ||
		string_of(p, cq_doc_get(n, "client"), "client", &r->client) <
			0 ||
		string_of(p, cq_doc_get(n, "username"), "username",
			&r->username) < 0 ||
		string_of(p, cq_doc_get(n, "remote"), "remote", &r->remote) < 0)
		return -1;
	return parse_filters(
		p, cq_doc_get(n, "filters"), &r->filters, &r->nfilters);
}

/* A sequence of rules into an array of 'size'-byte items. */
static int
parse_rules(lparse_t *p, const cq_doc_node_t *n, const char *what,
	void **items_r, size_t *n_r, size_t size,
	int (*one)(lparse_t *, const cq_doc_node_t *, void *))
{
	if (n == NULL || cq_doc_is_null(n))
		return 0;
	if (n->type != CQ_DOC_SEQ)
		return fail(p, n, "%s must be a list of rules", what);
	if ((*items_r = calloc(n->n, size)) == NULL && n->n > 0)
		return fail(p, n, "out of memory");
	for (size_t i = 0; i < n->n; i++) {
		(*n_r)++;
		if (one(p, n->items[i], (char *)*items_r + i * size) < 0)
			return -1;
	}
	return 0;
}

static int
one_auth(lparse_t *p, const cq_doc_node_t *n, void *item)
{
	return parse_auth_rule(p, n, item);
}

static int
one_acl(lparse_t *p, const cq_doc_node_t *n, void *item)
{
	return parse_acl_rule(p, n, item);
}

void
cq_ledger_free(cq_ledger_t *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->nusers; i++)
		free(l->users[i].acl);
	for (size_t i = 0; i < l->nacl; i++)
		free(l->acl[i].filters);
	free(l->users);
	free(l->auth);
	free(l->acl);
	cq_doc_free(l->doc);
	free(l);
}

cq_ledger_t *
cq_ledger_parse(const char *name, const char *text, size_t len, char **error_r)
{
	static const char *const keys[] = {"users", "auth", "acl", NULL};
	lparse_t p = {.name = name, .error_r = error_r};
	cq_ledger_t *l = calloc(1, sizeof(*l));
	const cq_doc_node_t *root;

	*error_r = NULL;
	if (l == NULL) {
		*error_r = strdup("out of memory");
		return NULL;
	}
	p.l = l;
	if ((l->doc = cq_doc_parse(name, text, len, LEDGER_DEPTH, error_r)) ==
		NULL)
		goto fail;
	root = cq_doc_root(l->doc);
	if (root == NULL || cq_doc_is_null(root))
		return l; /* an empty ledger: every question passes */
	if (only_keys(&p, root, keys, "the ledger") < 0 ||
		parse_users(&p, cq_doc_get(root, "users")) < 0 ||
		parse_rules(&p, cq_doc_get(root, "auth"), "auth",
			(void **)&l->auth, &l->nauth, sizeof(lauth_t),
			one_auth) < 0 ||
		parse_rules(&p, cq_doc_get(root, "acl"), "acl",
			(void **)&l->acl, &l->nacl, sizeof(lacl_t),
			one_acl) < 0)
		goto fail;
	return l;
fail:
	cq_ledger_free(l);
	if (*error_r == NULL)
		*error_r = strdup("out of memory");
	return NULL;
}

static char *
read_all(const char *path, size_t *len_r, char **error_r)
{
	char msg[512];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *text = NULL;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
		st.st_size > CQ_LEDGER_FILE_MAX) {
		snprintf(msg, sizeof(msg), "%s: %s", path,
			fd < 0 ? strerror(errno)
			       : "not a regular file of at most 64M");
		goto out;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(msg, sizeof(msg), "%s: out of memory", path);
		goto out;
	}
	size_t len = 0;
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, text + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(msg, sizeof(msg), "%s: read: %s", path,
				n < 0 ? strerror(errno) : "file shrank");
			free(text);
			text = NULL;
			goto out;
		}
		len += (size_t)n;
	}
	text[len] = '\0';
	*len_r = len;
out:
	if (fd >= 0)
		close(fd);
	if (text == NULL)
		*error_r = strdup(msg);
	return text;
}

cq_ledger_t *
cq_ledger_load(const char *path, char **error_r)
{
	size_t len = 0;
	char *text = read_all(path, &len, error_r);

	if (text == NULL)
		return NULL;
	cq_ledger_t *l = cq_ledger_parse(path, text, len, error_r);
	free(text);
	return l;
}

size_t
cq_ledger_users(const cq_ledger_t *l)
{
	return l->nusers;
}

size_t
cq_ledger_auth_rules(const cq_ledger_t *l)
{
	return l->nauth;
}

size_t
cq_ledger_acl_rules(const cq_ledger_t *l)
{
	return l->nacl;
}

/* ---- deciding -------------------------------------------------------- */

bool
cq_ledger_pattern_match(const char *pattern, const char *s, size_t len)
{
	size_t plen = strlen(pattern);
	const char *star;

	if (plen == 0 || (plen == 1 && pattern[0] == '*'))
		return true;
	if (plen == len && memcmp(pattern, s, len) == 0)
		return true;
	star = strchr(pattern, '*');
	if (star == NULL || star == pattern)
		return false;
	size_t i = (size_t)(star - pattern);
	return len > i && memcmp(pattern, s, i) == 0;
}

static bool
patterns_match(const char *client, const char *username, const char *remote,
	const cq_auth_request_t *req)
{
	return cq_ledger_pattern_match(client, req->client, req->client_len) &&
		cq_ledger_pattern_match(username, req->user, req->user_len) &&
		cq_ledger_pattern_match(remote, req->addr, strlen(req->addr));
}

static const luser_t *
find_user(const cq_ledger_t *l, const char *name)
{
	luser_t key = {.name = name};
	return l->nusers > 0 ? bsearch(&key, l->users, l->nusers,
				       sizeof(*l->users), user_cmp)
			     : NULL;
}

/* A rule's password: a pattern when stored plain, else a stored hash. */
static bool
rule_password_ok(const char *stored, const cq_auth_request_t *req, int scheme,
	const char *key)
{
	size_t klen = key != NULL ? strlen(key) : 0;

	if (stored[0] == '\0' || strcmp(stored, "*") == 0)
		return true;
	if (!req->has_pass)
		return false;
	if (scheme == CQ_PASSWORD_PLAIN && strchr(stored, '*') != NULL)
		return cq_ledger_pattern_match(
			stored, (const char *)req->pass, req->pass_len);
	return cq_password_verify(scheme, stored, strlen(stored), req->pass,
		req->pass_len, key, klen);
}

cq_auth_verdict_t
cq_ledger_auth(const cq_ledger_t *l, cq_auth_request_t *req, int scheme,
	const char *key)
{
	const luser_t *u = find_user(l, req->user);
	size_t klen = key != NULL ? strlen(key) : 0;

	if (u != NULL && u->password_len > 0 && req->has_pass &&
		cq_password_verify(scheme, u->password, u->password_len,
			req->pass, req->pass_len, key, klen)) {
		if (u->disallow)
			return cq_auth_request_fail(req,
				CQ_AUTHP_CODE_NOT_AUTHORIZED,
				"ledger: user \"%.60s\" is disallowed",
				u->name);
		return cq_auth_request_ok(req, CQ_AUTH_TTL_DEFAULT);
	}
	for (size_t i = 0; i < l->nauth; i++) {
		const lauth_t *r = &l->auth[i];
		if (!patterns_match(r->client, r->username, r->remote, req) ||
			!rule_password_ok(r->password, req, scheme, key))
			continue;
		if (r->allow)
			return cq_auth_request_ok(req, CQ_AUTH_TTL_DEFAULT);
		return cq_auth_request_fail(req, CQ_AUTHP_CODE_NOT_AUTHORIZED,
			"ledger: auth rule at line %u refuses", r->line);
	}
	return CQ_AUTH_NEXT;
}

/* The first filter of a list that applies decides; -1 if none does. */
static int
first_filter(const lfilter_t *f, size_t n, const cq_auth_request_t *req,
	size_t *which_r)
{
	for (size_t i = 0; i < n; i++) {
		if (cq_acl_applies(f[i].filter, f[i].len, req)) {
			*which_r = i;
			return f[i].level;
		}
	}
	return -1;
}

static cq_auth_verdict_t
filter_verdict(cq_auth_request_t *req, const lfilter_t *f, int level)
{
	if (cq_acl_grants(level, req->access))
		return cq_auth_request_ok(req, CQ_AUTH_TTL_DEFAULT);
	return cq_auth_request_fail(req, CQ_AUTHP_CODE_NOT_AUTHORIZED,
		"ledger: filter %.80s gives access %d", f->filter, level);
}

cq_auth_verdict_t
cq_ledger_acl(const cq_ledger_t *l, cq_auth_request_t *req)
{
	const luser_t *u = find_user(l, req->user);
	size_t which;
	int level;

	if (u != NULL && req->has_user &&
		(level = first_filter(u->acl, u->nacl, req, &which)) >= 0)
		return filter_verdict(req, &u->acl[which], level);
	for (size_t i = 0; i < l->nacl; i++) {
		const lacl_t *r = &l->acl[i];
		if (!patterns_match(r->client, r->username, r->remote, req))
			continue;
		if (r->nfilters == 0)
			return cq_auth_request_ok(req, CQ_AUTH_TTL_DEFAULT);
		level = first_filter(r->filters, r->nfilters, req, &which);
		if (level >= 0)
			return filter_verdict(req, &r->filters[which], level);
	}
	return CQ_AUTH_NEXT;
}
