/*
 * http.h — the small HTTP/1.1 request parser behind the WebSocket upgrade
 * (workers/ws_upgrade.c) and the health check (src/master/health.c).
 *
 * Neither needs more than a request head: a request line and header
 * fields, bounded in size and count, on a connection that closes or
 * switches protocol right after.  So this is a parser of one head held in
 * one buffer: no bodies, no chunking, no keep-alive.  It is strict where
 * leniency would let a request mean two things (no obsolete line folding,
 * no bare LF, no spaces before the colon) and judges bytes as they arrive,
 * so that a peer speaking something else (MQTT, TLS) on an HTTP port is
 * refused at its first byte rather than after a timeout.
 *
 * The views in cq_http_req_t point into the caller's buffer.
 */
#ifndef CQ_CORE_HTTP_H
#define CQ_CORE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define CQ_HTTP_FIELDS_MAX 64

typedef struct cq_http_view {
	const char *p;
	size_t n;
} cq_http_view_t;

typedef struct cq_http_field {
	cq_http_view_t name;
	cq_http_view_t value; /* without surrounding spaces */
} cq_http_field_t;

typedef struct cq_http_req {
	cq_http_view_t method;
	cq_http_view_t target; /* as sent: path and query */
	cq_http_view_t path; /* target without the query */
	unsigned minor; /* HTTP/1.<minor> */
	cq_http_field_t fields[CQ_HTTP_FIELDS_MAX];
	unsigned nfields;
	size_t head_len; /* bytes of the head, blank line included */
} cq_http_req_t;

/*
 * Parse the request head at the start of buf[0..len).  Returns 0 with
 * *req_r filled when the head is complete (bytes after head_len belong to
 * whatever follows), CQ_AGAIN when more bytes are needed and those seen
 * so far are acceptable, or -1 with *status_r (400, 431 or 505) and
 * *why_r (a static text for the log) when the request is refused.  'max'
 * bounds the head; a head that does not fit is refused with 431.
 */
int cq_http_parse(const char *buf, size_t len, size_t max, cq_http_req_t *req_r,
	int *status_r, const char **why_r);

/* The first field named 'name' (case-insensitive), or NULL. */
const cq_http_field_t *cq_http_field(
	const cq_http_req_t *req, const char *name);

/* How many fields are named 'name'. */
unsigned cq_http_field_count(const cq_http_req_t *req, const char *name);

/* Does the comma-separated list 'v' hold 'token' (case-insensitive)? */
bool cq_http_has_token(cq_http_view_t v, const char *token);

/* Does view 'v' equal 's' (case-sensitively / case-insensitively)? */
bool cq_http_eq(cq_http_view_t v, const char *s);
bool cq_http_ieq(cq_http_view_t v, const char *s);

/* "Bad Request" for 400, and so on; "Error" for codes it does not know. */
const char *cq_http_reason(int status);

/*
 * Write a complete response into buf: status line, 'headers' (each line
 * ending in CRLF, may be ""), Content-Length and Connection: close when
 * 'body' is not NULL, the blank line and the body.  Returns its length,
 * or 0 if it does not fit in 'size'.
 */
size_t cq_http_response(char *buf, size_t size, int status, const char *headers,
	const char *body);

#endif /* CQ_CORE_HTTP_H */
