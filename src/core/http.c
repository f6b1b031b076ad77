/*
 * http.c — see http.h.
 *
 * The head is re-scanned from its start on every call: heads are a few
 * hundred bytes, bounded by 'max' (at most 64 KB), and arrive in one or
 * two reads, so keeping a cursor would buy nothing.
 */
#include "config.h"
#include "core/http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/defs.h"

/* RFC 9110 tchar: the characters of a method or a field name. */
static bool
is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		(c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A byte allowed inside a field value: visible, space, tab, obs-text. */
static bool
is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int
refuse(int status, const char *why, int *status_r, const char **why_r)
{
	*status_r = status;
	*why_r = why;
	return -1;
}

/*
 * Judge an incomplete head: CQ_AGAIN while it can still become a request,
 * -1 as soon as it cannot (a peer speaking another protocol is told at
 * once, not after the timeout).
 */
static int
check_partial(const char *buf, size_t len, size_t max, int *status_r,
	const char **why_r)
{
	size_t i = 0;
	while (i < len && is_tchar((unsigned char)buf[i]))
		i++;
	if (i < len && (i == 0 || buf[i] != ' '))
		return refuse(400, "not an HTTP request", status_r, why_r);
	for (size_t j = 0; j < len; j++) {
		unsigned char c = (unsigned char)buf[j];
		if (c == '\n' && (j == 0 || buf[j - 1] != '\r'))
			return refuse(400, "bare LF in the request head",
				status_r, why_r);
		if (c != '\r' && c != '\n' && !is_value_char(c))
			return refuse(400, "control character in the head",
				status_r, why_r);
	}
	if (len >= max)
		return refuse(431, "request head too large", status_r, why_r);
	return CQ_AGAIN;
}

/* "GET /path?q HTTP/1.1" (without its CRLF). */
static int
parse_request_line(const char *p, size_t n, cq_http_req_t *req, int *status_r,
	const char **why_r)
{
	const char *end = p + n, *sp1, *sp2;
	sp1 = memchr(p, ' ', n);
	if (sp1 == NULL || sp1 == p)
		return refuse(400, "malformed request line", status_r, why_r);
	sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
	if (sp2 == NULL || sp2 == sp1 + 1)
		return refuse(400, "malformed request line", status_r, why_r);
	req->method = (cq_http_view_t){p, (size_t)(sp1 - p)};
	req->target = (cq_http_view_t){sp1 + 1, (size_t)(sp2 - sp1 - 1)};
	for (size_t i = 0; i < req->target.n; i++) {
		unsigned char c = (unsigned char)req->target.p[i];
		if (c <= 0x20 || c >= 0x7f)
			return refuse(400, "malformed request target", status_r,
				why_r);
	}
	if (req->target.p[0] != '/')
		return refuse(
			400, "request target is not a path", status_r, why_r);
	const char *q = memchr(req->target.p, '?', req->target.n);
	req->path = (cq_http_view_t){
		req->target.p, q ? (size_t)(q - req->target.p) : req->target.n};
	const char *v = sp2 + 1;
	size_t vn = (size_t)(end - v);
	if (vn != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' ||
		v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
		return refuse(400, "malformed HTTP version", status_r, why_r);
	if (v[5] != '1')
		return refuse(
			505, "HTTP version not supported", status_r, why_r);
	req->minor = (unsigned)(v[7] - '0');
	return 0;
}

/* "Name: value" (without its CRLF). */
static int
parse_field(const char *p, size_t n, cq_http_req_t *req, int *status_r,
	const char **why_r)
{
	if (p[0] == ' ' || p[0] == '\t')
		return refuse(400, "folded header line", status_r, why_r);
	const char *colon = memchr(p, ':', n);
	if (colon == NULL || colon == p)
		return refuse(400, "malformed header line", status_r, why_r);
	for (const char *c = p; c < colon; c++)
		if (!is_tchar((unsigned char)*c))
			return refuse(
				400, "malformed header name", status_r, why_r);
	const char *v = colon + 1, *end = p + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	for (const char *c = v; c < end; c++)
		if (!is_value_char((unsigned char)*c))
			return refuse(400, "control character in a header",
				status_r, why_r);
	if (req->nfields == CQ_HTTP_FIELDS_MAX)
		return refuse(431, "too many header lines", status_r, why_r);
	req->fields[req->nfields++] = (cq_http_field_t){
		{p, (size_t)(colon - p)}, {v, (size_t)(end - v)}};
	return 0;
}

int
cq_http_parse(const char *buf, size_t len, size_t max, cq_http_req_t *req_r,
	int *status_r, const char **why_r)
{
	const char *end = NULL;
	for (size_t i = 0; i + 3 < len && end == NULL; i++)
		if (memcmp(buf + i, "\r\n\r\n", 4) == 0)
			end = buf + i;
	if (end == NULL)
		return check_partial(buf, len, max, status_r, why_r);
	size_t head = (size_t)(end - buf) + 4;
	if (head > max)
		return refuse(431, "request head too large", status_r, why_r);
	if (check_partial(buf, head - 2, max + 1, status_r, why_r) == -1)
		return -1;
	memset(req_r, 0, sizeof(*req_r));
	req_r->head_len = head;
	const char *line = buf;
	bool first = true;
	while (line < end + 2) {
		const char *eol = memchr(line, '\r', (size_t)(end + 2 - line));
		if (eol[1] != '\n')
			return refuse(400, "bare CR in the request head",
				status_r, why_r);
		size_t n = (size_t)(eol - line);
		int rc = first
			? parse_request_line(line, n, req_r, status_r, why_r)
			: parse_field(line, n, req_r, status_r, why_r);
		if (rc < 0)
			return -1;
		first = false;
		line = eol + 2;
	}
	return 0;
}

bool
cq_http_eq(cq_http_view_t v, const char *s)
{
	return strlen(s) == v.n && memcmp(v.p, s, v.n) == 0;
}

bool
cq_http_ieq(cq_http_view_t v, const char *s)
{
	return strlen(s) == v.n && strncasecmp(v.p, s, v.n) == 0;
}

const cq_http_field_t *
cq_http_field(const cq_http_req_t *req, const char *name)
{
	for (unsigned i = 0; i < req->nfields; i++)
		if (cq_http_ieq(req->fields[i].name, name))
			return &req->fields[i];
	return NULL;
}

unsigned
cq_http_field_count(const cq_http_req_t *req, const char *name)
{
	unsigned n = 0;
	for (unsigned i = 0; i < req->nfields; i++)
		n += cq_http_ieq(req->fields[i].name, name);
	return n;
}

bool
cq_http_has_token(cq_http_view_t v, const char *token)
{
	const char *p = v.p, *end = v.p + v.n;
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *e = comma ? comma : end;
		const char *s = p;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		const char *t = e;
		while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
			t--;
		if (cq_http_ieq((cq_http_view_t){s, (size_t)(t - s)}, token))
			return true;
		p = comma ? comma + 1 : end;
	}
	return false;
}

const char *
cq_http_reason(int status)
{
	switch (status) {
	case 101:
		return "Switching Protocols";
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 426:
		return "Upgrade Required";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}

size_t
cq_http_response(char *buf, size_t size, int status, const char *headers,
	const char *body)
{
	int n;
	if (body != NULL)
		n = snprintf(buf, size,
			"HTTP/1.1 %d %s\r\n%sContent-Length: %zu\r\n"
			"Connection: close\r\n\r\n%s",
			status, cq_http_reason(status), headers, strlen(body),
			body);
	else
		n = snprintf(buf, size, "HTTP/1.1 %d %s\r\n%s\r\n", status,
			cq_http_reason(status), headers);
	return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}
