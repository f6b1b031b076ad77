/*
 * protocol.c — the comqtt-authd line protocol (auth-protocol.h): split,
 * unescape, parse and write lines; base64 for passwords.
 *
 * Every parser here faces bytes from another process that may be buggy
 * or hostile (a compromised worker, a fuzzer, a plugin server written by
 * someone else), so each one checks lengths before it reads, never
 * allocates and reports what it refused in a static text that the caller
 * can send back or log.
 */
#include "config.h"
#include "authc/auth-protocol.h"

#include <stdio.h>
#include <string.h>

/* ---- splitting and unescaping ------------------------------------- */

/* Unescape field [p, end) in place; returns its new length, or -1. */
static long
unescape(char *p, const char *end, const char **error_r)
{
	char *w = p;

	for (const char *r = p; r < end; r++) {
		if (*r == '\0') {
			*error_r = "a NUL byte";
			return -1;
		}
		if (*r == '\r') {
			*error_r = "a raw CR (a value writes it as \\r)";
			return -1;
		}
		if (*r != '\\') {
			*w++ = *r;
			continue;
		}
		if (++r == end) {
			*error_r = "a backslash at the end of a field";
			return -1;
		}
		switch (*r) {
		case 't':
			*w++ = '\t';
			break;
		case 'n':
			*w++ = '\n';
			break;
		case 'r':
			*w++ = '\r';
			break;
		case '\\':
			*w++ = '\\';
			break;
		default:
			*error_r = "an unknown escape (only \\t \\n \\r \\\\)";
			return -1;
		}
	}
	return w - p;
}

int
cq_authp_split(
	char *line, size_t len, cq_authp_line_t *out, const char **error_r)
{
	char *end = line + len;
	char *start = line;

	out->argc = 0;
	if (len == 0) {
		*error_r = "an empty line";
		return -1;
	}
	for (;;) {
		char *tab = memchr(start, '\t', (size_t)(end - start));
		char *stop = tab != NULL ? tab : end;
		if (out->argc == CQ_AUTHP_FIELDS_MAX) {
			*error_r = "too many fields";
			return -1;
		}
		long n = unescape(start, stop, error_r);
		if (n < 0)
			return -1;
		/* The field shrank or kept its length, so its NUL lands at
		 * or before the TAB (or the end, where the caller's LF or
		 * spare byte is). */
		start[n] = '\0';
		out->argv[out->argc] = start;
		out->argl[out->argc] = (size_t)n;
		out->argc++;
		if (tab == NULL)
			return 0;
		start = tab + 1;
	}
}

static const char *const command_names[] = {
	[CQ_AUTHP_CMD_UNKNOWN] = "?",
	[CQ_AUTHP_CMD_VERSION] = "VERSION",
	[CQ_AUTHP_CMD_AUTH] = "AUTH",
	[CQ_AUTHP_CMD_ACL] = "ACL",
	[CQ_AUTHP_CMD_OK] = "OK",
	[CQ_AUTHP_CMD_FAIL] = "FAIL",
	[CQ_AUTHP_CMD_INVALIDATE] = "INVALIDATE",
	[CQ_AUTHP_CMD_ERROR] = "ERROR",
};

const char *
cq_authp_command_name(cq_authp_cmd_t cmd)
{
	if ((unsigned)cmd >= sizeof(command_names) / sizeof(command_names[0]))
		return "?";
	return command_names[cmd];
}

cq_authp_cmd_t
cq_authp_command(const cq_authp_line_t *l)
{
	if (l->argc == 0)
		return CQ_AUTHP_CMD_UNKNOWN;
	for (unsigned c = CQ_AUTHP_CMD_VERSION; c <= CQ_AUTHP_CMD_ERROR; c++) {
		if (strcmp(l->argv[0], command_names[c]) == 0)
			return (cq_authp_cmd_t)c;
	}
	return CQ_AUTHP_CMD_UNKNOWN;
}

/* ---- key=value pairs ---------------------------------------------- */

static size_t
key_len(const char *field)
{
	const char *eq = strchr(field, '=');
	return eq != NULL ? (size_t)(eq - field) : 0;
}

int
cq_authp_check_pairs(
	const cq_authp_line_t *l, size_t from, const char **error_r)
{
	static const char key_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789_";

	for (size_t i = from; i < l->argc; i++) {
		size_t k = key_len(l->argv[i]);
		if (k == 0 || strspn(l->argv[i], key_chars) != k) {
			*error_r =
				"a field that is not key=value with a key of "
				"a-z, 0-9 and _";
			return -1;
		}
		for (size_t j = from; j < i; j++) {
			if (key_len(l->argv[j]) == k &&
				memcmp(l->argv[j], l->argv[i], k) == 0) {
				*error_r = "a key given twice";
				return -1;
			}
		}
	}
	return 0;
}

const char *
cq_authp_get(
	const cq_authp_line_t *l, size_t from, const char *key, size_t *len_r)
{
	size_t k = strlen(key);

	for (size_t i = from; i < l->argc; i++) {
		if (l->argl[i] > k && l->argv[i][k] == '=' &&
			memcmp(l->argv[i], key, k) == 0) {
			if (len_r != NULL)
				*len_r = l->argl[i] - k - 1;
			return l->argv[i] + k + 1;
		}
	}
	return NULL;
}

/* ---- numbers ------------------------------------------------------ */

/* Decimal digits only, no leading zero unless "0"; saturates at 'max'.
 * 0 (value in *v_r, *over_r when it was above max), or -1. */
static int
parse_decimal(
	const char *s, size_t len, uint64_t max, uint64_t *v_r, bool *over_r)
{
	uint64_t v = 0;

	*over_r = false;
	if (len == 0 || (len > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - 9) / 10) {
			*over_r = true;
			v = max;
			continue;
		}
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max) {
		*over_r = true;
		v = max;
	}
	*v_r = v;
	return 0;
}

int
cq_authp_parse_id(const char *s, size_t len, uint32_t *id_r)
{
	uint64_t v;
	bool over;

	if (parse_decimal(s, len, UINT32_MAX, &v, &over) < 0 || over)
		return -1;
	*id_r = (uint32_t)v;
	return 0;
}

int
cq_authp_parse_version(const cq_authp_line_t *l, unsigned *major_r,
	unsigned *minor_r, const char **error_r)
{
	uint64_t major, minor;
	bool over1, over2;

	if (cq_authp_command(l) != CQ_AUTHP_CMD_VERSION || l->argc < 3 ||
		parse_decimal(l->argv[1], l->argl[1], 65535, &major, &over1) <
			0 ||
		parse_decimal(l->argv[2], l->argl[2], 65535, &minor, &over2) <
			0 ||
		over1 || over2) {
		*error_r = "expected VERSION<TAB>major<TAB>minor";
		return -1;
	}
	*major_r = (unsigned)major;
	*minor_r = (unsigned)minor;
	return 0;
}

/* ---- requests ----------------------------------------------------- */

/* An address as the worker writes it: "1.2.3.4:5", "[::1]:5", or a Unix
 * socket listener's "unix" -- short and free of anything a log or a
 * pattern could trip on. */
static bool
valid_addr(const char *s, size_t len)
{
	static const char chars[] =
		"0123456789abcdefABCDEF.:[]%"
		"ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ_-";
	return len > 0 && len <= 96 && strspn(s, chars) == len;
}

/* Field 'key' into *v_r (and its length); absent is an error when
 * 'required'.  0 or -1. */
static int
take(const cq_authp_line_t *l, const char *key, bool required, const char **v_r,
	size_t *len_r, const char **error_r)
{
	size_t len = 0;

	*v_r = cq_authp_get(l, 2, key, &len);
	if (len_r != NULL)
		*len_r = len;
	if (*v_r == NULL && required) {
		*error_r = "a required field is missing";
		return -1;
	}
	return 0;
}

static bool
valid_b64_text(const char *s, size_t len)
{
	static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz0123456789+/=";
	return len % 4 == 0 && strspn(s, chars) == len;
}

static int
parse_auth(
	const cq_authp_line_t *l, cq_authp_request_t *r, const char **error_r)
{
	size_t addr_len = 0;

	if (take(l, "client", true, &r->client, &r->client_len, error_r) < 0 ||
		take(l, "user", false, &r->user, &r->user_len, error_r) < 0 ||
		take(l, "pass", false, &r->pass, &r->pass_len, error_r) < 0 ||
		take(l, "addr", true, &r->addr, &addr_len, error_r) < 0 ||
		take(l, "listener", true, &r->listener, NULL, error_r) < 0 ||
		take(l, "cert", false, &r->cert, NULL, error_r) < 0)
		return -1;
	if (r->pass != NULL && !valid_b64_text(r->pass, r->pass_len)) {
		*error_r = "pass= is not base64";
		return -1;
	}
	if (!valid_addr(r->addr, addr_len)) {
		*error_r = "addr= is not an address";
		return -1;
	}
	return 0;
}

static int
parse_acl(const cq_authp_line_t *l, cq_authp_request_t *r, const char **error_r)
{
	const char *access;
	size_t access_len = 0, addr_len = 0;

	if (take(l, "client", true, &r->client, &r->client_len, error_r) < 0 ||
		take(l, "user", false, &r->user, &r->user_len, error_r) < 0 ||
		take(l, "topic", true, &r->topic, &r->topic_len, error_r) < 0 ||
		take(l, "access", true, &access, &access_len, error_r) < 0 ||
		take(l, "addr", false, &r->addr, &addr_len, error_r) < 0 ||
		take(l, "listener", false, &r->listener, NULL, error_r) < 0)
		return -1;
	if (r->topic_len == 0) {
		*error_r = "topic= is empty";
		return -1;
	}
	if (access_len != 1 || strchr("rws", access[0]) == NULL) {
		*error_r = "access= is not r, w or s";
		return -1;
	}
	r->access = access[0];
	if (r->addr != NULL && !valid_addr(r->addr, addr_len)) {
		*error_r = "addr= is not an address";
		return -1;
	}
	return 0;
}

cq_authp_parse_t
cq_authp_parse_request(
	const cq_authp_line_t *l, cq_authp_request_t *r, const char **error_r)
{
	memset(r, 0, sizeof(*r));
	r->cmd = cq_authp_command(l);
	if (r->cmd != CQ_AUTHP_CMD_AUTH && r->cmd != CQ_AUTHP_CMD_ACL) {
		*error_r = "an unknown command (expected AUTH or ACL)";
		return CQ_AUTHP_PARSE_MALFORMED;
	}
	if (l->argc < 2 || cq_authp_parse_id(l->argv[1], l->argl[1], &r->id)) {
		*error_r = "a bad request id (expected a decimal number)";
		return CQ_AUTHP_PARSE_MALFORMED;
	}
	if (cq_authp_check_pairs(l, 2, error_r) < 0)
		return CQ_AUTHP_PARSE_INVALID;
	int rc = r->cmd == CQ_AUTHP_CMD_AUTH ? parse_auth(l, r, error_r)
					     : parse_acl(l, r, error_r);
	return rc < 0 ? CQ_AUTHP_PARSE_INVALID : CQ_AUTHP_PARSE_OK;
}

/* ---- replies ------------------------------------------------------ */

static int
parse_answer(
	const cq_authp_line_t *l, cq_authp_reply_t *r, const char **error_r)
{
	size_t len;
	const char *ttl;

	if (l->argc < 2 || cq_authp_parse_id(l->argv[1], l->argl[1], &r->id)) {
		*error_r = "a reply without a valid id";
		return -1;
	}
	if (cq_authp_check_pairs(l, 2, error_r) < 0)
		return -1;
	if ((ttl = cq_authp_get(l, 2, "ttl", &len)) != NULL) {
		uint64_t v;
		bool over;
		if (parse_decimal(ttl, len, CQ_AUTHP_TTL_MAX, &v, &over) < 0) {
			*error_r = "ttl= is not a number of seconds";
			return -1;
		}
		r->has_ttl = true;
		r->ttl = (uint32_t)v;
	}
	if (r->cmd == CQ_AUTHP_CMD_FAIL) {
		r->code = cq_authp_get(l, 2, "code", &len);
		if (r->code == NULL || len == 0) {
			*error_r = "FAIL without code=";
			return -1;
		}
		r->reason = cq_authp_get(l, 2, "reason", NULL);
	}
	return 0;
}

int
cq_authp_parse_reply(
	const cq_authp_line_t *l, cq_authp_reply_t *r, const char **error_r)
{
	memset(r, 0, sizeof(*r));
	r->cmd = cq_authp_command(l);
	switch (r->cmd) {
	case CQ_AUTHP_CMD_VERSION:
		return cq_authp_parse_version(l, &r->major, &r->minor, error_r);
	case CQ_AUTHP_CMD_OK:
	case CQ_AUTHP_CMD_FAIL:
		return parse_answer(l, r, error_r);
	case CQ_AUTHP_CMD_INVALIDATE:
		if (l->argc < 2 || l->argl[1] == 0) {
			*error_r = "INVALIDATE without a serial";
			return -1;
		}
		r->serial = l->argv[1];
		return 0;
	case CQ_AUTHP_CMD_ERROR:
		r->reason = l->argc >= 2 ? l->argv[1] : "";
		return 0;
	default:
		*error_r = "an unknown reply";
		return -1;
	}
}

/* ---- writing ------------------------------------------------------ */

int
cq_authp_put_escaped(cq_buf_t *b, const char *s, size_t n)
{
	if (n > (SIZE_MAX - 1) / 2 || cq_buf_reserve(b, 2 * n) < 0)
		return -1;
	char *w = (char *)cq_buf_tail(b);
	char *start = w;
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '\t':
			*w++ = '\\';
			*w++ = 't';
			break;
		case '\n':
			*w++ = '\\';
			*w++ = 'n';
			break;
		case '\r':
			*w++ = '\\';
			*w++ = 'r';
			break;
		case '\\':
			*w++ = '\\';
			*w++ = '\\';
			break;
		default:
			*w++ = s[i];
		}
	}
	cq_buf_commit(b, (size_t)(w - start));
	return 0;
}

int
cq_authp_put_raw(cq_buf_t *b, const char *s)
{
	return cq_buf_append(b, s, strlen(s));
}

int
cq_authp_put_pair(cq_buf_t *b, const char *key, const char *s, size_t n)
{
	if (cq_buf_append(b, "\t", 1) < 0 || cq_authp_put_raw(b, key) < 0 ||
		cq_buf_append(b, "=", 1) < 0)
		return -1;
	return cq_authp_put_escaped(b, s, n);
}

int
cq_authp_put_uint(cq_buf_t *b, const char *key, uint64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	return cq_authp_put_pair(b, key, num, (size_t)n);
}

int
cq_authp_put_version(cq_buf_t *b)
{
	char line[48];
	snprintf(line, sizeof(line), "VERSION\t%u\t%u\n",
		CQ_AUTHP_VERSION_MAJOR, CQ_AUTHP_VERSION_MINOR);
	return cq_authp_put_raw(b, line);
}

/* ---- base64 ------------------------------------------------------- */

static const char b64_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
cq_authp_b64_encode(char *dst, const void *src, size_t n)
{
	const unsigned char *s = src;
	char *w = dst;
	size_t i = 0;

	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 |
			s[i + 2];
		*w++ = b64_chars[v >> 18];
		*w++ = b64_chars[(v >> 12) & 63];
		*w++ = b64_chars[(v >> 6) & 63];
		*w++ = b64_chars[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)s[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		*w++ = b64_chars[v >> 18];
		*w++ = b64_chars[(v >> 12) & 63];
		*w++ = i + 1 < n ? b64_chars[(v >> 6) & 63] : '=';
		*w++ = '=';
	}
	*w = '\0';
	return (size_t)(w - dst);
}

static int
b64_value(char c)
{
	const char *p = c != '\0' ? strchr(b64_chars, c) : NULL;
	return p != NULL ? (int)(p - b64_chars) : -1;
}

int
cq_authp_b64_decode(
	unsigned char *dst, size_t *n_r, const char *src, size_t len)
{
	size_t out = 0;

	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		int pad = (src[i + 3] == '=') +
			(src[i + 2] == '=' && src[i + 3] == '=');
		int v[4];
		for (int k = 0; k < 4; k++)
			v[k] = k >= 4 - pad ? 0 : b64_value(src[i + k]);
		if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0 ||
			(pad > 0 && !last))
			return -1;
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
			(uint32_t)v[2] << 6 | (uint32_t)v[3];
		/* Canonical form: the bits under the padding are zero. */
		if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
			return -1;
		dst[out++] = (unsigned char)(w >> 16);
		if (pad < 2)
			dst[out++] = (unsigned char)(w >> 8);
		if (pad < 1)
			dst[out++] = (unsigned char)w;
	}
	*n_r = out;
	return 0;
}
