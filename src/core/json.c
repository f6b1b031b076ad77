/*
 * json.c — see json.h.
 *
 * The reader is a recursive descent over the text with an explicit depth
 * bound, building values in malloc'd arrays that grow by doubling.  Every
 * failure path frees what was built; the first error wins and carries the
 * position where it was found.
 */
#include "config.h"
#include "core/json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 ---------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
	if (len == 0 || len > n || c > 0xf4)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* Overlong forms, surrogates, past U+10FFFF. */
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0) ||
		(c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
		return 0;
	return len;
}

/* ---- writer --------------------------------------------------------- */

void
cq_json_init(cq_json_t *j)
{
	memset(j, 0, sizeof(*j));
}

void
cq_json_free(cq_json_t *j)
{
	cq_buf_free(&j->buf);
	memset(j, 0, sizeof(*j));
}

const char *
cq_json_text(const cq_json_t *j, size_t *len_r)
{
	*len_r = cq_buf_used(&j->buf);
	return j->buf.data != NULL ? (const char *)cq_buf_head(&j->buf) : "";
}

static void
put(cq_json_t *j, const void *p, size_t n)
{
	if (!j->failed && cq_buf_append(&j->buf, p, n) < 0)
		j->failed = true;
}

#define PUTS(j, lit) put((j), (lit), sizeof(lit) - 1)

/* Before a value or a key: the comma its container needs. */
static void
item(cq_json_t *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth == 0)
		return;
	uint64_t bit = UINT64_C(1) << (j->depth - 1);
	if (j->has_item & bit)
		PUTS(j, ",");
	j->has_item |= bit;
}

static void
open_c(cq_json_t *j, char c)
{
	item(j);
	put(j, &c, 1);
	if (j->depth >= CQ_JSON_DEPTH_MAX) {
		j->failed = true;
		return;
	}
	j->depth++;
	j->has_item &= ~(UINT64_C(1) << (j->depth - 1));
}

static void
close_c(cq_json_t *j, char c)
{
	if (j->depth > 0)
		j->depth--;
	put(j, &c, 1);
}

void
cq_json_obj_begin(cq_json_t *j)
{
	open_c(j, '{');
}

void
cq_json_obj_end(cq_json_t *j)
{
	close_c(j, '}');
}

void
cq_json_arr_begin(cq_json_t *j)
{
	open_c(j, '[');
}

void
cq_json_arr_end(cq_json_t *j)
{
	close_c(j, ']');
}

static void
escaped(cq_json_t *j, const unsigned char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	PUTS(j, "\"");
	size_t run = 0; /* bytes copied as they are, pending */
	for (size_t i = 0; i < len;) {
		unsigned c = s[i];
		size_t n = utf8_seq(s + i, len - i);
		if (n > 0 && c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) {
			i += n;
			run += n;
			continue;
		}
		put(j, s + i - run, run);
		run = 0;
		if (n == 0) {
			PUTS(j, "\xef\xbf\xbd"); /* U+FFFD */
		} else if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			put(j, e, 2);
		} else if (c == '\n') {
			PUTS(j, "\\n");
		} else if (c == '\t') {
			PUTS(j, "\\t");
		} else if (c == '\r') {
			PUTS(j, "\\r");
		} else {
			char e[6] = {
				'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			put(j, e, 6);
		}
		i++;
	}
	put(j, s + len - run, run);
	PUTS(j, "\"");
}

void
cq_json_key(cq_json_t *j, const char *key)
{
	item(j);
	escaped(j, (const unsigned char *)key, strlen(key));
	PUTS(j, ":");
	j->after_key = true;
}

void
cq_json_str(cq_json_t *j, const void *s, size_t len)
{
	item(j);
	escaped(j, s, len);
}

void
cq_json_cstr(cq_json_t *j, const char *s)
{
	cq_json_str(j, s, strlen(s));
}

void
cq_json_int(cq_json_t *j, int64_t v)
{
	char b[24];
	item(j);
	put(j, b, (size_t)snprintf(b, sizeof(b), "%" PRId64, v));
}

void
cq_json_uint(cq_json_t *j, uint64_t v)
{
	char b[24];
	item(j);
	put(j, b, (size_t)snprintf(b, sizeof(b), "%" PRIu64, v));
}

void
cq_json_double(cq_json_t *j, double v)
{
	char b[32];
	item(j);
	if (!isfinite(v)) {
		PUTS(j, "null");
		return;
	}
	put(j, b, (size_t)snprintf(b, sizeof(b), "%.17g", v));
}

void
cq_json_bool(cq_json_t *j, bool v)
{
	item(j);
	if (v)
		PUTS(j, "true");
	else
		PUTS(j, "false");
}

void
cq_json_null(cq_json_t *j)
{
	item(j);
	PUTS(j, "null");
}

void
cq_json_base64(cq_json_t *j, const void *p, size_t len)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = p;
	item(j);
	PUTS(j, "\"");
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < len)
			v |= s[i + 2];
		char o[4] = {tab[v >> 18], tab[(v >> 12) & 63],
			i + 1 < len ? tab[(v >> 6) & 63] : '=',
			i + 2 < len ? tab[v & 63] : '='};
		put(j, o, 4);
	}
	PUTS(j, "\"");
}

void
cq_json_kstr(cq_json_t *j, const char *key, const void *s, size_t len)
{
	cq_json_key(j, key);
	cq_json_str(j, s, len);
}

void
cq_json_kcstr(cq_json_t *j, const char *key, const char *s)
{
	cq_json_key(j, key);
	cq_json_cstr(j, s);
}

void
cq_json_kint(cq_json_t *j, const char *key, int64_t v)
{
	cq_json_key(j, key);
	cq_json_int(j, v);
}

void
cq_json_kuint(cq_json_t *j, const char *key, uint64_t v)
{
	cq_json_key(j, key);
	cq_json_uint(j, v);
}

void
cq_json_kbool(cq_json_t *j, const char *key, bool v)
{
	cq_json_key(j, key);
	cq_json_bool(j, v);
}

/* ---- reader --------------------------------------------------------- */

typedef struct parser {
	const unsigned char *p, *end, *start;
	char *err;
	size_t err_len;
	bool failed;
} parser_t;

static int fail(parser_t *ps, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
fail(parser_t *ps, const char *fmt, ...)
{
	if (ps->failed)
		return -1;
	ps->failed = true;
	size_t line = 1, col = 1;
	for (const unsigned char *q = ps->start; q < ps->p && q < ps->end;
		q++) {
		if (*q == '\n') {
			line++;
			col = 1;
		} else if ((*q & 0xc0) != 0x80) {
			col++;
		}
	}
	int n = snprintf(
		ps->err, ps->err_len, "line %zu, column %zu: ", line, col);
	if (n >= 0 && (size_t)n < ps->err_len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(ps->err + n, ps->err_len - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static void
skip_ws(parser_t *ps)
{
	while (ps->p < ps->end &&
		(*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' ||
			*ps->p == '\r'))
		ps->p++;
}

static bool
literal(parser_t *ps, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return false;
	ps->p += n;
	return true;
}

static int parse_value(parser_t *ps, cq_jv_t *v, unsigned depth);

static int
hex4(parser_t *ps, unsigned *u_r)
{
	if (ps->end - ps->p < 4)
		return fail(ps, "incomplete \\u escape");
	unsigned u = 0;
	for (int i = 0; i < 4; i++) {
		unsigned c = *ps->p++, d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			d = (c | 0x20) - 'a' + 10;
		else
			return fail(ps, "bad hex digit in a \\u escape");
		u = u << 4 | d;
	}
	*u_r = u;
	return 0;
}

/* A \u escape (after "\u") as UTF-8 into out; returns its length. */
static int
unicode_escape(parser_t *ps, unsigned char *out)
{
	unsigned u, lo;
	if (hex4(ps, &u) < 0)
		return -1;
	if (u >= 0xdc00 && u <= 0xdfff)
		return fail(ps, "a lone low surrogate in a \\u escape");
	if (u >= 0xd800 && u <= 0xdbff) {
		if (!literal(ps, "\\u") || hex4(ps, &lo) < 0 || lo < 0xdc00 ||
			lo > 0xdfff)
			return fail(
				ps, "a high surrogate without its low half");
		u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (u < 0x80) {
		out[0] = (unsigned char)u;
		return 1;
	}
	if (u < 0x800) {
		out[0] = (unsigned char)(0xc0 | u >> 6);
		out[1] = (unsigned char)(0x80 | (u & 63));
		return 2;
	}
	if (u < 0x10000) {
		out[0] = (unsigned char)(0xe0 | u >> 12);
		out[1] = (unsigned char)(0x80 | ((u >> 6) & 63));
		out[2] = (unsigned char)(0x80 | (u & 63));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | u >> 18);
	out[1] = (unsigned char)(0x80 | ((u >> 12) & 63));
	out[2] = (unsigned char)(0x80 | ((u >> 6) & 63));
	out[3] = (unsigned char)(0x80 | (u & 63));
	return 4;
}

static int
simple_escape(parser_t *ps, unsigned char c, unsigned char *out)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *k = c != '\0' ? strchr(from, c) : NULL;
	if (k == NULL)
		return fail(ps, "unknown escape \\%c",
			c >= 0x20 && c < 0x7f ? c : '?');
	*out = (unsigned char)to[k - from];
	return 1;
}

/* A string (ps->p after the opening quote). */
static int
parse_string(parser_t *ps, char **s_r, size_t *len_r)
{
	/* The decoded text is never longer than the source. */
	const unsigned char *q = ps->p;
	while (q < ps->end && *q != '"')
		q += *q == '\\' && q + 1 < ps->end ? 2 : 1;
	unsigned char *out = malloc((size_t)(q - ps->p) + 1);
	if (out == NULL)
		return fail(ps, "out of memory");
	size_t n = 0;
	for (;;) {
		if (ps->p >= ps->end) {
			free(out);
			return fail(ps, "unterminated string");
		}
		unsigned char c = *ps->p;
		int k;
		if (c == '"') {
			ps->p++;
			break;
		}
		if (c < 0x20) {
			free(out);
			return fail(ps, "a control character in a string");
		}
		if (c == '\\') {
			ps->p++;
			c = ps->p < ps->end ? *ps->p++ : '\0';
			k = c == 'u' ? unicode_escape(ps, out + n)
				     : simple_escape(ps, c, out + n);
		} else {
			k = (int)utf8_seq(ps->p, (size_t)(ps->end - ps->p));
			if (k == 0) {
				free(out);
				return fail(ps, "invalid UTF-8 in a string");
			}
			memcpy(out + n, ps->p, (size_t)k);
			ps->p += k;
		}
		if (k < 0) {
			free(out);
			return -1;
		}
		n += (size_t)k;
	}
	out[n] = '\0';
	*s_r = (char *)out;
	*len_r = n;
	return 0;
}

static int
parse_number(parser_t *ps, cq_jv_t *v)
{
	const unsigned char *s = ps->p;
	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
		return fail(ps, "expected a digit");
	if (*ps->p == '0' && ps->p + 1 < ps->end && ps->p[1] >= '0' &&
		ps->p[1] <= '9')
		return fail(ps, "a number with a leading zero");
	bool frac = false;
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
		ps->p++;
	if (ps->p < ps->end && *ps->p == '.') {
		frac = true;
		ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return fail(ps, "expected a digit after '.'");
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		frac = true;
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return fail(ps, "expected a digit in the exponent");
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	char buf[64];
	size_t n = (size_t)(ps->p - s);
	if (n >= sizeof(buf))
		return fail(ps, "a number longer than 63 characters");
	memcpy(buf, s, n);
	buf[n] = '\0';
	v->type = CQ_JSON_NUMBER;
	v->num = strtod(buf, NULL);
	if (!frac) {
		errno = 0;
		long long i = strtoll(buf, NULL, 10);
		v->is_int = errno == 0;
		v->i = i;
	}
	return 0;
}

static int
grow(void **arr, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 4;
	void *a = realloc(*arr, nc * size);
	if (a == NULL)
		return -1;
	*arr = a;
	*cap = nc;
	return 0;
}

static int
parse_array(parser_t *ps, cq_jv_t *v, unsigned depth)
{
	size_t cap = 0;
	v->type = CQ_JSON_ARRAY;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == ']') {
		ps->p++;
		return 0;
	}
	for (;;) {
		if (grow((void **)&v->items, &cap, v->len, sizeof(cq_jv_t)) < 0)
			return fail(ps, "out of memory");
		cq_jv_t *it = &v->items[v->len];
		memset(it, 0, sizeof(*it));
		v->len++;
		if (parse_value(ps, it, depth + 1) < 0)
			return -1;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == ']') {
			ps->p++;
			return 0;
		}
		return fail(ps, "expected ',' or ']'");
	}
}

static bool
has_key(const cq_jv_t *obj, const char *key, size_t len)
{
	for (size_t i = 0; i < obj->len; i++)
		if (obj->members[i].key_len == len &&
			memcmp(obj->members[i].key, key, len) == 0)
			return true;
	return false;
}

static int
parse_member(parser_t *ps, cq_jv_t *obj, size_t *cap, unsigned depth)
{
	skip_ws(ps);
	if (ps->p >= ps->end || *ps->p != '"')
		return fail(ps, "expected a string key");
	ps->p++;
	char *key;
	size_t klen;
	if (parse_string(ps, &key, &klen) < 0)
		return -1;
	if (has_key(obj, key, klen)) {
		free(key);
		return fail(ps, "duplicate key");
	}
	if (grow((void **)&obj->members, cap, obj->len, sizeof(cq_jmember_t)) <
		0) {
		free(key);
		return fail(ps, "out of memory");
	}
	cq_jmember_t *m = &obj->members[obj->len++];
	memset(m, 0, sizeof(*m));
	m->key = key;
	m->key_len = klen;
	skip_ws(ps);
	if (ps->p >= ps->end || *ps->p != ':')
		return fail(ps, "expected ':'");
	ps->p++;
	return parse_value(ps, &m->v, depth + 1);
}

static int
parse_object(parser_t *ps, cq_jv_t *v, unsigned depth)
{
	size_t cap = 0;
	v->type = CQ_JSON_OBJECT;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '}') {
		ps->p++;
		return 0;
	}
	for (;;) {
		if (parse_member(ps, v, &cap, depth) < 0)
			return -1;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == '}') {
			ps->p++;
			return 0;
		}
		return fail(ps, "expected ',' or '}'");
	}
}

static int
parse_value(parser_t *ps, cq_jv_t *v, unsigned depth)
{
	if (depth > CQ_JSON_DEPTH_MAX)
		return fail(ps, "nested deeper than %d", CQ_JSON_DEPTH_MAX);
	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, "expected a value");
	switch (*ps->p) {
	case '{':
		ps->p++;
		return parse_object(ps, v, depth);
	case '[':
		ps->p++;
		return parse_array(ps, v, depth);
	case '"':
		ps->p++;
		v->type = CQ_JSON_STRING;
		return parse_string(ps, &v->s, &v->len);
	default:
		break;
	}
	if (literal(ps, "true") || literal(ps, "false")) {
		v->type = CQ_JSON_BOOL;
		v->b = ps->p[-1] == 'e' && ps->p[-2] == 'u';
		return 0;
	}
	if (literal(ps, "null")) {
		v->type = CQ_JSON_NULL;
		return 0;
	}
	if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
		return parse_number(ps, v);
	return fail(ps, "expected a value");
}

static void
value_clear(cq_jv_t *v)
{
	if (v->type == CQ_JSON_STRING)
		free(v->s);
	if (v->type == CQ_JSON_ARRAY) {
		for (size_t i = 0; i < v->len; i++)
			value_clear(&v->items[i]);
		free(v->items);
	}
	if (v->type == CQ_JSON_OBJECT) {
		for (size_t i = 0; i < v->len; i++) {
			free(v->members[i].key);
			value_clear(&v->members[i].v);
		}
		free(v->members);
	}
}

void
cq_json_value_free(cq_jv_t *v)
{
	if (v == NULL)
		return;
	value_clear(v);
	free(v);
}

int
cq_json_parse(const char *text, size_t len, cq_jv_t **root_r, char *err,
	size_t err_len)
{
	parser_t ps = {.p = (const unsigned char *)text,
		.end = (const unsigned char *)text + len,
		.start = (const unsigned char *)text,
		.err = err,
		.err_len = err_len};
	cq_jv_t *v = calloc(1, sizeof(*v));
	if (v == NULL) {
		snprintf(err, err_len, "out of memory");
		return -1;
	}
	if (parse_value(&ps, v, 1) == 0) {
		skip_ws(&ps);
		if (ps.p == ps.end) {
			*root_r = v;
			return 0;
		}
		fail(&ps, "unexpected text after the value");
	}
	cq_json_value_free(v);
	return -1;
}

const cq_jv_t *
cq_json_get(const cq_jv_t *obj, const char *key)
{
	if (obj == NULL || obj->type != CQ_JSON_OBJECT)
		return NULL;
	size_t len = strlen(key);
	for (size_t i = 0; i < obj->len; i++)
		if (obj->members[i].key_len == len &&
			memcmp(obj->members[i].key, key, len) == 0)
			return &obj->members[i].v;
	return NULL;
}

const char *
cq_json_type_name(cq_json_type_t t)
{
	static const char *const names[] = {
		"null", "boolean", "number", "string", "array", "object"};
	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}
