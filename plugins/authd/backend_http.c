/*
 * backend_http.c — the "http" backend: ask a web service, with libcurl's
 * multi interface driven by authd's loop (socket and timer callbacks), so
 * many calls run at once over kept-alive connections (at most
 * http.connections).
 *
 * What is sent (POST as JSON or a form, or GET in the query string):
 *   AUTH: client, user, password, addr, listener, cert
 *   ACL:  client, user, topic, access (r, w or s), addr
 * What decides:
 *   - 200 or 204 with an empty body: allowed;
 *   - a JSON object with "result": "allow" / "deny" / "ignore" (or true /
 *     false), optionally "ttl" (seconds) and "reason";
 *   - for ACL, a JSON object without "result" maps topic filters to access
 *     levels 0..3 (Go comqtt's answer), folded as acl.h says;
 *   - a body of "1" or "0" (Go comqtt's AUTH answer);
 *   - 401 or 403: refused;
 *   - anything else (an error status, a transport error, a timeout after
 *     backend_timeout_ms, a body over 64 KiB): "unavailable".
 * "ignore" passes to the next backend.  Redirects are not followed and
 * only http and https are allowed.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "core/buf.h"
#include "core/log.h"
#include "plugins/authd/acl.h"
#include "plugins/authd/backend.h"
#include "plugins/authd/doc.h"

#define BODY_MAX  (64 * 1024)
#define DOC_DEPTH 4

typedef struct http_state {
	const cq_config_auth_http_t *conf;
	uint32_t timeout_ms;
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	unsigned running;
} http_state_t;

typedef struct hop {
	http_state_t *st;
	cq_auth_request_t *req;
	CURL *easy;
	struct curl_slist *headers;
	cq_buf_t body; /* what we send */
	cq_buf_t answer; /* what comes back */
	unsigned nfields; /* written into 'body' so far */
} hop_t;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void
curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- building the request -------------------------------------------- */

static int
put_json_string(cq_buf_t *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	if (cq_buf_append(b, "\"", 1) < 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
		int rc;
		if (c == '"' || c == '\\')
			rc = cq_buf_append(b, (char[]){'\\', (char)c}, 2);
		else if (c < 0x20 || c == 0x7f)
			rc = cq_buf_append(b, esc, sizeof(esc));
		else
			rc = cq_buf_append(b, &s[i], 1);
		if (rc < 0)
			return -1;
	}
	return cq_buf_append(b, "\"", 1);
}

/* One field: JSON "name":"value" or form name=value, with its separator. */
static int
put_field(hop_t *op, const char *name, const char *v, size_t len)
{
	cq_buf_t *b = &op->body;
	bool json = op->st->conf->method == CQ_AUTH_HTTP_POST &&
		op->st->conf->content_type == CQ_AUTH_HTTP_JSON;
	bool first = op->nfields++ == 0;

	if (json)
		return cq_buf_append(b, first ? "" : ",", first ? 0 : 1) ||
			put_json_string(b, name, strlen(name)) ||
			cq_buf_append(b, ":", 1) || put_json_string(b, v, len);
	char *e = curl_easy_escape(op->easy, v, (int)len);
	int rc = e == NULL ||
		cq_buf_append(b, first ? "" : "&", first ? 0 : 1) ||
		cq_authp_put_raw(b, name) || cq_buf_append(b, "=", 1) ||
		cq_authp_put_raw(b, e);
	curl_free(e);
	return rc ? -1 : 0;
}

static int
put_fields(hop_t *op)
{
	const cq_auth_request_t *r = op->req;
	int rc = put_field(op, "client", r->client, r->client_len) ||
		put_field(op, "user", r->user, r->user_len);

	if (r->cmd == CQ_AUTHP_CMD_AUTH)
		return rc ||
			put_field(op, "password", (const char *)r->pass,
				r->pass_len) ||
			put_field(op, "addr", r->addr, strlen(r->addr)) ||
			put_field(op, "listener", r->listener,
				strlen(r->listener)) ||
			put_field(op, "cert", r->cert, strlen(r->cert));
	return rc || put_field(op, "topic", r->topic, r->topic_len) ||
		put_field(op, "access", &r->access, 1) ||
		put_field(op, "addr", r->addr, strlen(r->addr));
}

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	hop_t *op = arg;
	size_t len = size * n;

	if (cq_buf_used(&op->answer) + len > BODY_MAX ||
		cq_buf_append(&op->answer, p, len) < 0)
		return 0; /* aborts the transfer */
	return len;
}

static int
set_tls(hop_t *op)
{
	const cq_config_auth_http_t *c = op->st->conf;
	CURL *e = op->easy;

	if (c->tls_ca[0] && curl_easy_setopt(e, CURLOPT_CAINFO, c->tls_ca))
		return -1;
	if (c->tls_cert[0] &&
		(curl_easy_setopt(e, CURLOPT_SSLCERT, c->tls_cert) ||
			curl_easy_setopt(e, CURLOPT_SSLKEY,
				c->tls_key[0] ? c->tls_key : c->tls_cert)))
		return -1;
	return curl_easy_setopt(
		       e, CURLOPT_SSL_VERIFYPEER, c->tls_verify ? 1L : 0L) ||
			curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST,
				c->tls_verify ? 2L : 0L)
		? -1
		: 0;
}

/* The easy handle for op; 0 or -1. */
static int
build(hop_t *op, const char *url)
{
	const cq_config_auth_http_t *c = op->st->conf;
	CURL *e = op->easy = curl_easy_init();
	bool get = c->method == CQ_AUTH_HTTP_GET;

	if (e == NULL)
		return -1;
	/* GET: the URL and its query are built in 'body'. */
	if (get &&
		(cq_authp_put_raw(&op->body, url) < 0 ||
			cq_buf_append(&op->body, strchr(url, '?') ? "&" : "?",
				1) < 0))
		return -1;
	if (!get && c->content_type == CQ_AUTH_HTTP_JSON &&
		cq_buf_append(&op->body, "{", 1) < 0)
		return -1;
	if (put_fields(op) < 0 ||
		(!get && c->content_type == CQ_AUTH_HTTP_JSON &&
			cq_buf_append(&op->body, "}", 1) < 0) ||
		cq_buf_append(&op->body, "", 1) < 0) /* NUL for GET's URL */
		return -1;
	op->headers = curl_slist_append(NULL,
		c->content_type == CQ_AUTH_HTTP_JSON
			? "Content-Type: application/json"
			: "Content-Type: application/x-www-form-urlencoded");
	return op->headers == NULL ||
			curl_easy_setopt(e, CURLOPT_URL,
				get ? (char *)cq_buf_head(&op->body) : url) ||
			(!get &&
				(curl_easy_setopt(e, CURLOPT_POSTFIELDS,
					 cq_buf_head(&op->body)) ||
					curl_easy_setopt(e,
						CURLOPT_POSTFIELDSIZE,
						(long)cq_buf_used(&op->body) -
							1) ||
					curl_easy_setopt(e, CURLOPT_HTTPHEADER,
						op->headers))) ||
			curl_easy_setopt(
				e, CURLOPT_PROTOCOLS_STR, "http,https") ||
			curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) ||
			curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
				(long)op->st->timeout_ms) ||
			curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data) ||
			curl_easy_setopt(e, CURLOPT_WRITEDATA, op) ||
			curl_easy_setopt(e, CURLOPT_PRIVATE, op) ||
			curl_easy_setopt(
				e, CURLOPT_USERAGENT, "comqtt-authd") ||
			set_tls(op) < 0
		? -1
		: 0;
}

/* ---- reading the answer ----------------------------------------------- */

static cq_auth_verdict_t
refused(cq_auth_request_t *req, const char *why)
{
	return cq_auth_request_fail(req,
		req->cmd == CQ_AUTHP_CMD_AUTH ? CQ_AUTHP_CODE_BAD_CREDENTIALS
					      : CQ_AUTHP_CODE_NOT_AUTHORIZED,
		"http: %s", why);
}

/* {"result": ..., "ttl": n, "reason": "..."} */
static cq_auth_verdict_t
result_object(cq_auth_request_t *req, const cq_doc_node_t *root,
	const cq_doc_node_t *result)
{
	const cq_doc_node_t *ttl = cq_doc_get(root, "ttl");
	const cq_doc_node_t *reason = cq_doc_get(root, "reason");
	int64_t t = CQ_AUTH_TTL_DEFAULT;
	bool b;

	if (ttl != NULL && (cq_doc_int(ttl, &t) < 0 || t < 0 || t > 86400))
		t = CQ_AUTH_TTL_DEFAULT;
	if (result->type == CQ_DOC_SCALAR &&
		(strcmp(result->text, "allow") == 0 ||
			(cq_doc_bool(result, &b) == 0 && b)))
		return cq_auth_request_ok(req, (int32_t)t);
	if (result->type == CQ_DOC_SCALAR &&
		strcmp(result->text, "ignore") == 0)
		return CQ_AUTH_NEXT;
	if (result->type == CQ_DOC_SCALAR &&
		(strcmp(result->text, "deny") == 0 ||
			cq_doc_bool(result, &b) == 0)) {
		cq_auth_verdict_t v = refused(req,
			reason != NULL && reason->type == CQ_DOC_SCALAR
				? reason->text
				: "denied");
		req->ttl = (int32_t)t;
		return v;
	}
	return cq_auth_request_fail(
		req, CQ_AUTHP_CODE_UNAVAILABLE, "http: unknown \"result\"");
}

/* Go comqtt's ACL answer: {"filter": access, ...}. */
static cq_auth_verdict_t
filter_map(cq_auth_request_t *req, const cq_doc_node_t *root)
{
	cq_acl_fold_t fold = {0};

	for (size_t i = 0; i < root->n; i++) {
		const cq_doc_node_t *k = root->items[2 * i];
		const cq_doc_node_t *v = root->items[2 * i + 1];
		int level;
		if (v->type == CQ_DOC_SCALAR &&
			cq_acl_level_parse(v->text, v->len, &level) == 0)
			cq_acl_fold_row(&fold, k->text, k->len, level, req);
	}
	return cq_acl_fold_verdict(&fold, req, "http");
}

static cq_auth_verdict_t
decide_body(cq_auth_request_t *req, const char *body, size_t len)
{
	char *err = NULL;
	cq_auth_verdict_t v;

	if (len == 1 && (body[0] == '1' || body[0] == '0'))
		return body[0] == '1'
			? cq_auth_request_ok(req, CQ_AUTH_TTL_DEFAULT)
			: refused(req, "answered 0");
	cq_doc_t *doc = cq_doc_parse("answer", body, len, DOC_DEPTH, &err);
	const cq_doc_node_t *root = doc ? cq_doc_root(doc) : NULL;
	const cq_doc_node_t *result = cq_doc_get(root, "result");
	if (root == NULL || root->type != CQ_DOC_MAP)
		v = cq_auth_request_fail(req, CQ_AUTHP_CODE_UNAVAILABLE,
			"http: the answer is not a JSON object");
	else if (result != NULL)
		v = result_object(req, root, result);
	else if (req->cmd == CQ_AUTHP_CMD_ACL)
		v = filter_map(req, root);
	else
		v = cq_auth_request_fail(req, CQ_AUTHP_CODE_UNAVAILABLE,
			"http: the answer has no \"result\"");
	free(err);
	cq_doc_free(doc);
	return v;
}

static cq_auth_verdict_t
decide(hop_t *op, CURLcode rc)
{
	cq_auth_request_t *req = op->req;
	long status = 0;
	char why[32];

	if (rc != CURLE_OK)
		return cq_auth_request_fail(req, CQ_AUTHP_CODE_UNAVAILABLE,
			"http: %s", curl_easy_strerror(rc));
	curl_easy_getinfo(op->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status == 401 || status == 403) {
		snprintf(why, sizeof(why), "status %ld", status);
		return refused(req, why);
	}
	if (status != 200 && status != 204)
		return cq_auth_request_fail(req, CQ_AUTHP_CODE_UNAVAILABLE,
			"http: status %ld", status);
	if (cq_buf_used(&op->answer) == 0)
		return cq_auth_request_ok(req, CQ_AUTH_TTL_DEFAULT);
	return decide_body(req, (const char *)cq_buf_head(&op->answer),
		cq_buf_used(&op->answer));
}

static void
hop_free(hop_t *op)
{
	if (op->easy != NULL) {
		curl_multi_remove_handle(op->st->multi, op->easy);
		curl_easy_cleanup(op->easy);
	}
	curl_slist_free_all(op->headers);
	cq_buf_free(&op->body);
	cq_buf_free(&op->answer);
	free(op);
}

/* Finished transfers: answer their requests. */
static void
check_done(http_state_t *st)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(st->multi, &left)) != NULL) {
		hop_t *op = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(
			m->easy_handle, CURLINFO_PRIVATE, (char **)&op);
		cq_auth_verdict_t v = decide(op, m->data.result);
		cq_auth_request_t *req = op->req;
		st->running--;
		hop_free(op);
		cq_auth_request_resume(req, v);
	}
}

/* ---- libcurl on libevent -------------------------------------------- */

static void
on_socket_event(evutil_socket_t fd, short what, void *arg)
{
	http_state_t *st = arg;
	int running,
		flags = (what & EV_READ ? CURL_CSELECT_IN : 0) |
		(what & EV_WRITE ? CURL_CSELECT_OUT : 0);

	curl_multi_socket_action(st->multi, fd, flags, &running);
	check_done(st);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	http_state_t *st = arg;
	int running;
	(void)fd;
	(void)what;
	curl_multi_socket_action(st->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(st);
}

static int
socket_cb(CURL *e, curl_socket_t s, int what, void *arg, void *sockp)
{
	http_state_t *st = arg;
	struct event *ev = sockp;
	(void)e;

	if (what == CURL_POLL_REMOVE) {
		if (ev != NULL)
			event_free(ev);
		curl_multi_assign(st->multi, s, NULL);
		return 0;
	}
	short kind = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
		(what & CURL_POLL_OUT ? EV_WRITE : 0);
	if (ev != NULL)
		event_free(ev);
	ev = event_new(st->base, s, kind, on_socket_event, st);
	if (ev == NULL || event_add(ev, NULL) < 0)
		return -1;
	curl_multi_assign(st->multi, s, ev);
	return 0;
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
	http_state_t *st = arg;
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	(void)multi;

	if (timeout_ms < 0)
		return evtimer_del(st->timer);
	return evtimer_add(st->timer, &tv);
}

/* ---- ops ---------------------------------------------------------- */

static cq_auth_verdict_t
ask(http_state_t *st, cq_auth_request_t *req, const char *url)
{
	hop_t *op;

	if (url[0] == '\0')
		return CQ_AUTH_NEXT;
	if ((op = calloc(1, sizeof(*op))) == NULL)
		return cq_auth_request_fail(
			req, CQ_AUTHP_CODE_UNAVAILABLE, "out of memory");
	op->st = st;
	op->req = req;
	if (build(op, url) < 0 ||
		curl_multi_add_handle(st->multi, op->easy) != CURLM_OK) {
		hop_free(op);
		return cq_auth_request_fail(req, CQ_AUTHP_CODE_UNAVAILABLE,
			"http: cannot build the request");
	}
	st->running++;
	return CQ_AUTH_DEFER;
}

static cq_auth_verdict_t
http_authenticate(void *state, cq_auth_request_t *req)
{
	http_state_t *st = state;
	return ask(st, req, st->conf->auth_url);
}

static cq_auth_verdict_t
http_acl(void *state, cq_auth_request_t *req)
{
	http_state_t *st = state;
	return ask(st, req, st->conf->acl_url);
}

static void
http_close(void *state)
{
	http_state_t *st = state;

	curl_multi_cleanup(st->multi);
	event_free(st->timer);
	free(st);
}

static int
http_init(const cq_auth_env_t *env, void **state_r, char **error_r)
{
	http_state_t *st = calloc(1, sizeof(*st));

	pthread_once(&curl_once, curl_init);
	if (st == NULL || curl_init_rc != CURLE_OK ||
		(st->multi = curl_multi_init()) == NULL ||
		(st->timer = evtimer_new(env->base, on_timer, st)) == NULL) {
		if (st != NULL && st->multi != NULL)
			curl_multi_cleanup(st->multi);
		free(st);
		*error_r = strdup("cannot set up libcurl");
		return -1;
	}
	st->conf = &env->conf->http;
	st->timeout_ms = env->conf->backend_timeout_ms;
	st->base = env->base;
	curl_multi_setopt(st->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(st->multi, CURLMOPT_SOCKETDATA, st);
	curl_multi_setopt(st->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(st->multi, CURLMOPT_TIMERDATA, st);
	curl_multi_setopt(st->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
		(long)st->conf->connections);
	curl_multi_setopt(
		st->multi, CURLMOPT_MAXCONNECTS, (long)st->conf->connections);
	if (st->conf->auth_url[0] == '\0' && st->conf->acl_url[0] == '\0')
		cq_log(CQ_LOG_WARN, 0,
			"http backend: neither auth_url nor acl_url is set; it "
			"passes every request on");
	*state_r = st;
	return 0;
}

const cq_auth_backend_t cq_auth_backend_http = {
	.name = "http",
	.abi_version = CQ_AUTH_BACKEND_ABI,
	.init = http_init,
	.authenticate = http_authenticate,
	.acl = http_acl,
	.close = http_close,
};
