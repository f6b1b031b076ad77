/*
 * http.c — comqtt-admin's HTTP(S) server: libevent's evhttp on the socket
 * the master bound, optional TLS (bufferevent_openssl), the route table,
 * the bearer token, and the response helpers of admin-int.h.
 *
 * Every answer of the API is JSON, errors included ({"error": "..."} with
 * the status); only the dashboard's files and /metrics have other types.
 * Path segments are percent-decoded one by one, so a client id or a topic
 * holding '/' is written %2F; a trailing {*} placeholder takes the rest of
 * the path, slashes and all (topics).
 */
#include "config.h"
#include "admin/admin-int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>

#include "core/defs.h"
#include "core/log.h"
#include "core/tls.h"

#define HEADERS_MAX 16384
#define SEGS_MAX    64

#define M_GET       EVHTTP_REQ_GET
#define M_POST      EVHTTP_REQ_POST
#define M_DELETE    EVHTTP_REQ_DELETE

static const struct route {
	int methods;
	const char *pattern;
	cq_handler_fn fn;
} routes[] = {
	{M_GET, "/api/v1/mqtt/config", cq_res_config},
	{M_GET, "/api/v1/mqtt/stat/overall", cq_res_overall},
	{M_GET, "/api/v1/mqtt/stat/online", cq_res_online},
	{M_GET, "/api/v1/mqtt/stat/workers", cq_res_workers},
	{M_GET, "/api/v1/mqtt/clients", cq_res_clients},
	{M_GET, "/api/v1/mqtt/clients/{}", cq_res_client},
	{M_DELETE, "/api/v1/mqtt/clients/{}", cq_res_client_kick},
	{M_POST, "/api/v1/mqtt/clients/{}/kick", cq_res_client_kick},
	{M_GET, "/api/v1/mqtt/clients/{}/subscriptions", cq_res_client_subs},
	{M_DELETE, "/api/v1/mqtt/clients/{}/subscriptions/{*}",
		cq_res_client_unsubscribe},
	{M_GET, "/api/v1/mqtt/subscriptions", cq_res_subscriptions},
	{M_GET, "/api/v1/mqtt/blacklist", cq_res_blacklist},
	{M_POST, "/api/v1/mqtt/blacklist/{}", cq_res_blacklist_add},
	{M_DELETE, "/api/v1/mqtt/blacklist/{}", cq_res_blacklist_remove},
	{M_GET, "/api/v1/mqtt/retained", cq_res_retained},
	{M_GET, "/api/v1/mqtt/retained/{*}", cq_res_retained_get},
	{M_DELETE, "/api/v1/mqtt/retained/{*}", cq_res_retained_delete},
	{M_GET, "/api/v1/mqtt/topics", cq_res_topics},
	{M_POST, "/api/v1/mqtt/message", cq_res_message},
	{M_POST, "/api/v1/mqtt/reload", cq_res_reload},
	{M_POST, "/api/v1/mqtt/stop", cq_res_stop},
	{M_POST, "/api/v1/mqtt/auth/invalidate", cq_res_auth_invalidate},
	{M_GET, "/metrics", cq_res_metrics},
};

/* ---- answers -------------------------------------------------------- */

static const char *
reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return status < 500 ? "Error" : "Server Error";
	}
}

static void
hreq_free(cq_hreq_t *r)
{
	for (unsigned i = 0; i < r->nargs; i++)
		free(r->arg[i]);
	if (r->query != NULL) {
		evhttp_clear_headers(r->query);
		free(r->query);
	}
	free((char *)r->body);
	free(r);
}

void
cq_http_send(cq_hreq_t *r, int status, const char *ctype, const void *body,
	size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if (status == 401)
		evhttp_add_header(h, "WWW-Authenticate", "Bearer");
	struct evbuffer *b = evbuffer_new();
	if (b != NULL && len > 0)
		evbuffer_add(b, body, len);
	evhttp_send_reply(r->req, status, reason(status), b);
	if (b != NULL)
		evbuffer_free(b);
	hreq_free(r);
}

void
cq_http_json(cq_hreq_t *r, int status, cq_json_t *j)
{
	size_t len;
	const char *text = cq_json_text(j, &len);
	if (j->failed) {
		cq_json_free(j);
		cq_http_error(r, 503, "out of memory");
		return;
	}
	cq_http_send(r, status, "application/json", text, len);
	cq_json_free(j);
}

void
cq_http_error(cq_hreq_t *r, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cq_json_t j;
	cq_json_init(&j);
	cq_json_obj_begin(&j);
	cq_json_kcstr(&j, "error", msg);
	cq_json_obj_end(&j);
	size_t len;
	const char *text = cq_json_text(&j, &len);
	cq_http_send(r, status, "application/json",
		j.failed ? "{\"error\":\"out of memory\"}" : text,
		j.failed ? strlen("{\"error\":\"out of memory\"}") : len);
	cq_json_free(&j);
}

void
cq_http_on_sent(
	cq_hreq_t *r, void (*fn)(struct evhttp_request *, void *), void *arg)
{
	evhttp_request_set_on_complete_cb(r->req, fn, arg);
}

/* ---- parameters ----------------------------------------------------- */

const char *
cq_http_query(const cq_hreq_t *r, const char *key)
{
	return r->query != NULL ? evhttp_find_header(r->query, key) : NULL;
}

int
cq_http_query_uint(cq_hreq_t *r, const char *key, uint64_t def, uint64_t min,
	uint64_t max, uint64_t *v_r)
{
	const char *s = cq_http_query(r, key);
	if (s == NULL || *s == '\0') {
		*v_r = def;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*s == '-' || *end != '\0' || errno != 0 || v < min || v > max) {
		cq_http_error(r, 400,
			"%s: expected an integer from %llu to %llu", key,
			(unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*v_r = v;
	return 0;
}

int
cq_http_query_bool(cq_hreq_t *r, const char *key, int def, int *v_r)
{
	const char *s = cq_http_query(r, key);
	if (s == NULL || *s == '\0')
		*v_r = def;
	else if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
		*v_r = 1;
	else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
		*v_r = 0;
	else {
		cq_http_error(r, 400, "%s: expected true or false", key);
		return -1;
	}
	return 0;
}

int
cq_http_page(cq_hreq_t *r, cq_page_t *p_r)
{
	if (cq_http_query_uint(r, "page", 1, 1, UINT32_MAX, &p_r->page) < 0)
		return -1;
	return cq_http_query_uint(r, "page_size", CQ_ADMIN_PAGE_DEF, 1,
		CQ_ADMIN_PAGE_MAX, &p_r->size);
}

void
cq_page_window(const cq_page_t *p, size_t total, size_t *from_r, size_t *to_r)
{
	uint64_t from = (p->page - 1) * p->size;
	*from_r = from < total ? (size_t)from : total;
	*to_r = *from_r + p->size < total ? *from_r + (size_t)p->size : total;
}

void
cq_page_head(cq_json_t *j, const cq_page_t *p, size_t total)
{
	cq_json_kuint(j, "total", total);
	cq_json_kuint(j, "page", p->page);
	cq_json_kuint(j, "page_size", p->size);
	cq_json_key(j, "items");
}

int
cq_http_body_json(cq_hreq_t *r, cq_jv_t **root_r)
{
	char err[160];
	if (r->body_len == 0) {
		cq_http_error(r, 400, "a JSON body is required");
		return -1;
	}
	if (cq_json_parse(r->body, r->body_len, root_r, err, sizeof(err)) < 0) {
		cq_http_error(r, 400, "malformed JSON: %s", err);
		return -1;
	}
	return 0;
}

/* ---- access --------------------------------------------------------- */

static bool
loopback(const char *peer)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, peer, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, peer, &a6) != 1)
		return false;
	if (IN6_IS_ADDR_LOOPBACK(&a6))
		return true;
	return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
}

bool
cq_http_authorized(cq_admin_t *a, struct evhttp_request *req, const char *peer)
{
	if (a->cfg->admin.allow_loopback && loopback(peer))
		return true;
	const char *h = evhttp_find_header(
		evhttp_request_get_input_headers(req), "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || a->token == NULL)
		return false;
	h += 7;
	while (*h == ' ')
		h++;
	size_t n = strlen(h), m = strlen(a->token);
	return n == m && m > 0 && CRYPTO_memcmp(h, a->token, m) == 0;
}

/* ---- routing -------------------------------------------------------- */

/* Split 'path' at '/' into segs (pointers into a copy); -1 if too many. */
static int
split(char *path, char **segs, unsigned *n_r)
{
	unsigned n = 0;
	char *p = path;
	if (*p != '/')
		return -1;
	while (*p == '/') {
		if (n == SEGS_MAX)
			return -1;
		*p++ = '\0';
		segs[n++] = p;
		while (*p != '\0' && *p != '/')
			p++;
	}
	*n_r = n;
	return 0;
}

/* Decode segments [from, n) joined by '/' into a new argument. */
static int
take_arg(cq_hreq_t *r, char **segs, unsigned from, unsigned n)
{
	size_t cap = 1;
	for (unsigned i = from; i < n; i++)
		cap += strlen(segs[i]) + 1;
	char *out = malloc(cap), *o = out;
	if (out == NULL || r->nargs == CQ_ADMIN_PATH_ARGS) {
		free(out);
		return -1;
	}
	for (unsigned i = from; i < n; i++) {
		size_t len;
		char *d = evhttp_uridecode(segs[i], 0, &len);
		if (d == NULL) {
			free(out);
			return -1;
		}
		if (i > from)
			*o++ = '/';
		memcpy(o, d, len);
		o += len;
		free(d);
	}
	*o = '\0';
	r->arg_len[r->nargs] = (size_t)(o - out);
	r->arg[r->nargs++] = out;
	return 0;
}

/* Whether the route's pattern matches segs; fills r->arg when fill. */
static bool
match(const char *pattern, char **segs, unsigned n, cq_hreq_t *r, bool fill)
{
	char pat[128];
	char *ps[SEGS_MAX];
	unsigned pn;
	snprintf(pat, sizeof(pat), "%s", pattern);
	if (split(pat, ps, &pn) < 0)
		return false;
	for (unsigned i = 0; i < pn; i++) {
		if (strcmp(ps[i], "{*}") == 0) {
			if (i >= n || (n == i + 1 && segs[i][0] == '\0'))
				return false;
			return !fill || take_arg(r, segs, i, n) == 0;
		}
		if (i >= n)
			return false;
		if (strcmp(ps[i], "{}") == 0) {
			if (segs[i][0] == '\0')
				return false;
			if (fill && take_arg(r, segs, i, i + 1) < 0)
				return false;
		} else if (strcmp(ps[i], segs[i]) != 0) {
			return false;
		}
	}
	return pn == n;
}

static void
route(cq_hreq_t *r, const char *path)
{
	char *copy = strdup(path);
	char *segs[SEGS_MAX];
	unsigned n;
	int method = r->method == EVHTTP_REQ_HEAD ? M_GET : r->method;
	if (copy == NULL || split(copy, segs, &n) < 0) {
		free(copy);
		cq_http_error(r, 404, "no such resource");
		return;
	}
	int allowed = 0;
	for (size_t i = 0; i < CQ_ARRAY_SIZE(routes); i++) {
		if (!match(routes[i].pattern, segs, n, r, false))
			continue;
		allowed |= routes[i].methods;
		if (!(routes[i].methods & method))
			continue;
		bool ok = match(routes[i].pattern, segs, n, r, true);
		free(copy);
		if (ok)
			routes[i].fn(r);
		else
			cq_http_error(r, 400, "bad path");
		return;
	}
	free(copy);
	if (allowed != 0)
		cq_http_error(r, 405, "method not allowed here");
	else
		cq_http_error(r, 404, "no such resource");
}

/* The request body as a NUL-terminated copy; -1 when over the limit. */
static int
read_body(cq_hreq_t *r, size_t max)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	size_t len = evbuffer_get_length(in);
	if (len > max)
		return -1;
	char *b = malloc(len + 1);
	if (b == NULL)
		return -2;
	evbuffer_copyout(in, b, len);
	b[len] = '\0';
	r->body = b;
	r->body_len = len;
	return 0;
}

static cq_hreq_t *
hreq_new(cq_admin_t *a, struct evhttp_request *req)
{
	cq_hreq_t *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->a = a;
	r->req = req;
	r->method = evhttp_request_get_command(req);
	char *addr = NULL;
	ev_uint16_t port = 0;
	evhttp_connection_get_peer(
		evhttp_request_get_connection(req), &addr, &port);
	snprintf(r->peer, sizeof(r->peer), "%s", addr != NULL ? addr : "");
	return r;
}

/* Parse the query string; false after answering 400. */
static bool
parse_query(cq_hreq_t *r, const struct evhttp_uri *uri)
{
	const char *q = evhttp_uri_get_query(uri);
	if (q == NULL)
		return true;
	r->query = calloc(1, sizeof(*r->query));
	if (r->query == NULL) {
		cq_http_error(r, 503, "out of memory");
		return false;
	}
	TAILQ_INIT(r->query);
	if (evhttp_parse_query_str(q, r->query) < 0) {
		cq_http_error(r, 400, "malformed query string");
		return false;
	}
	return true;
}

/* Every body is JSON, also where an endpoint reads none: a client that
 * sends something else has a bug worth a 400, not a silent 200. */
static bool
body_well_formed(cq_hreq_t *r)
{
	cq_jv_t *v;
	if (r->body_len == 0)
		return true;
	if (cq_http_body_json(r, &v) < 0)
		return false;
	cq_json_value_free(v);
	return true;
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	cq_admin_t *a = arg;
	cq_hreq_t *r = hreq_new(a, req);
	if (r == NULL) {
		evhttp_send_error(req, 503, "out of memory");
		return;
	}
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	if (path == NULL || path[0] != '/') {
		cq_http_error(r, 400, "malformed request target");
		return;
	}
	bool api = strncmp(path, "/api/", 5) == 0 ||
		strcmp(path, "/api") == 0 || strcmp(path, "/metrics") == 0;
	if (!api && (r->method == M_GET || r->method == EVHTTP_REQ_HEAD) &&
		cq_static_serve(a, req, path)) {
		hreq_free(r);
		return;
	}
	if (!api) {
		cq_http_error(r, 404, "no such resource");
		return;
	}
	if (!cq_http_authorized(a, req, r->peer)) {
		cq_http_error(r, 401, "missing or wrong bearer token");
		return;
	}
	int rc = read_body(r, a->cfg->admin.max_body);
	if (rc < 0) {
		cq_http_error(r, rc == -1 ? 413 : 503,
			rc == -1 ? "request body larger than admin.max_body "
				   "(%llu bytes)"
				 : "out of memory (%llu)",
			(unsigned long long)a->cfg->admin.max_body);
		return;
	}
	if (body_well_formed(r) && parse_query(r, uri))
		route(r, path);
}

/* ---- the server ----------------------------------------------------- */

static struct bufferevent *
tls_bev(struct event_base *base, void *arg)
{
	cq_admin_t *a = arg;
	SSL *ssl = SSL_new(a->ssl);
	if (ssl == NULL)
		return NULL;
	struct bufferevent *bev = bufferevent_openssl_socket_new(base, -1, ssl,
		BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev != NULL)
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* comqtt-admin's context: the one the master built at start (so a bad
 * certificate stopped comqttd, and a respawned admin needs no file). */
static int
tls_setup(cq_admin_t *a)
{
	SSL_CTX *ctx = a->args->tls_ctx;
	if (ctx == NULL)
		return 0;
	if (SSL_CTX_up_ref(ctx) != 1)
		return -1;
	a->ssl = ctx;
	return 0;
}

void
cq_http_tls_reload(cq_admin_t *a)
{
	char dir[4200], *error = NULL;
	if (a->ssl == NULL)
		return;
	SSL_CTX *fresh = cq_tls_server_ctx_new("admin", &a->cfg->admin.tls,
		cq_tls_base_dir(a->args->cmdline->file, dir, sizeof(dir)),
		&error);
	if (fresh == NULL) {
		cq_log(CQ_LOG_ERR, 0,
			"reload: %s; keeping the previous TLS certificate",
			error != NULL ? error : "out of memory");
		free(error);
		return;
	}
	/* Connections made so far keep the context they hold a reference
	 * to; new ones get the fresh certificate. */
	SSL_CTX_free(a->ssl);
	a->ssl = fresh;
}

void
cq_http_apply(cq_admin_t *a)
{
	const cq_config_admin_t *c = &a->cfg->admin;
	/* libevent refuses (with its own page) only far larger bodies; up to
	 * twice the limit the answer is our JSON 413. */
	evhttp_set_max_body_size(a->http, (ev_ssize_t)c->max_body * 2 + 1024);
	evhttp_set_max_headers_size(a->http, HEADERS_MAX);
	evhttp_set_timeout(a->http, (int)c->timeout);
	free(a->dashboard_dir);
	a->dashboard_dir = strdup(c->dashboard_dir[0] != '\0' ? c->dashboard_dir
							      : CQ_DATADIR
			"/comqtt/dashboard");
}

int
cq_http_start(cq_admin_t *a)
{
	if (tls_setup(a) < 0)
		return -1;
	a->http = evhttp_new(a->base);
	if (a->http == NULL)
		return -1;
	evhttp_set_allowed_methods(a->http,
		EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
			EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
			EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_default_content_type(a->http, "application/json");
	if (a->ssl != NULL)
		evhttp_set_bevcb(a->http, tls_bev, a);
	evhttp_set_gencb(a->http, on_request, a);
	cq_http_apply(a);
	a->bound = evhttp_accept_socket_with_handle(
		a->http, a->args->listen_fd);
	if (a->bound == NULL) {
		cq_log(CQ_LOG_CRIT, errno, "admin: cannot serve the socket");
		return -1;
	}
	cq_log(CQ_LOG_INFO, 0, "serving %s", a->ssl ? "HTTPS" : "HTTP");
	return 0;
}

void
cq_http_close_listener(cq_admin_t *a)
{
	if (a->http != NULL && a->bound != NULL)
		evhttp_del_accept_socket(a->http, a->bound);
	a->bound = NULL;
}

void
cq_http_stop(cq_admin_t *a)
{
	if (a->http != NULL)
		evhttp_free(a->http);
	a->http = NULL;
	if (a->ssl != NULL)
		SSL_CTX_free(a->ssl);
	a->ssl = NULL;
}
