/*
 * json.h — a small JSON writer and a strict JSON reader (RFC 8259).
 *
 * The admin API answers in JSON and reads JSON request bodies; comqttctl
 * reads the answers.  Both sides use this module, so the two agree on
 * every detail (escapes, numbers, UTF-8).
 *
 * Writer: appends to a growable buffer, tracking commas itself; strings
 * are escaped and always come out as valid UTF-8 (a byte that is not part
 * of a valid sequence becomes U+FFFD), so binary payloads cannot break a
 * document.  Out of memory latches 'failed'; the caller checks once.
 *
 * Reader: the whole document into a tree.  Strict: one value and nothing
 * but whitespace after it; no comments, trailing commas, single quotes,
 * leading zeros, NaN or Infinity; strings must be valid UTF-8 without raw
 * control characters, escapes must be complete (a lone surrogate is an
 * error); duplicate keys in an object are an error; nesting is limited to
 * CQ_JSON_DEPTH_MAX.  An error names its line and column.
 */
#ifndef CQ_CORE_JSON_H
#define CQ_CORE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define CQ_JSON_DEPTH_MAX 64

/* ---- writer --------------------------------------------------------- */

typedef struct cq_json {
	cq_buf_t buf;
	uint64_t has_item; /* bit d: the container at depth d has an item */
	unsigned depth;
	bool after_key; /* a key was written; its value comes next */
	bool failed; /* out of memory, or nesting too deep */
} cq_json_t;

void cq_json_init(cq_json_t *j);
void cq_json_free(cq_json_t *j);
/* The document so far (not NUL-terminated) and its length. */
const char *cq_json_text(const cq_json_t *j, size_t *len_r);

void cq_json_obj_begin(cq_json_t *j);
void cq_json_obj_end(cq_json_t *j);
void cq_json_arr_begin(cq_json_t *j);
void cq_json_arr_end(cq_json_t *j);
/* A member's key (inside an object); its value is the next call. */
void cq_json_key(cq_json_t *j, const char *key);

void cq_json_str(cq_json_t *j, const void *s, size_t len);
void cq_json_cstr(cq_json_t *j, const char *s);
void cq_json_int(cq_json_t *j, int64_t v);
void cq_json_uint(cq_json_t *j, uint64_t v);
void cq_json_double(cq_json_t *j, double v);
void cq_json_bool(cq_json_t *j, bool v);
void cq_json_null(cq_json_t *j);
/* Base64 (RFC 4648, padded) of len bytes, as a string. */
void cq_json_base64(cq_json_t *j, const void *p, size_t len);

/* key + value shortcuts */
void cq_json_kstr(cq_json_t *j, const char *key, const void *s, size_t len);
void cq_json_kcstr(cq_json_t *j, const char *key, const char *s);
void cq_json_kint(cq_json_t *j, const char *key, int64_t v);
void cq_json_kuint(cq_json_t *j, const char *key, uint64_t v);
void cq_json_kbool(cq_json_t *j, const char *key, bool v);

/* ---- reader --------------------------------------------------------- */

typedef enum cq_json_type {
	CQ_JSON_NULL = 0,
	CQ_JSON_BOOL,
	CQ_JSON_NUMBER,
	CQ_JSON_STRING,
	CQ_JSON_ARRAY,
	CQ_JSON_OBJECT,
} cq_json_type_t;

typedef struct cq_jv cq_jv_t;
typedef struct cq_jmember cq_jmember_t;

struct cq_jv {
	cq_json_type_t type;
	bool b; /* BOOL */
	double num; /* NUMBER */
	bool is_int; /* NUMBER: an integer that fits int64 exactly */
	int64_t i;
	char *s; /* STRING: NUL-terminated (may hold NULs: use len) */
	size_t len; /* STRING: bytes; ARRAY / OBJECT: items */
	cq_jv_t *items; /* ARRAY */
	cq_jmember_t *members; /* OBJECT, in document order */
};

struct cq_jmember {
	char *key;
	size_t key_len;
	cq_jv_t v;
};

/*
 * Parse the len bytes at 'text'.  0 with *root_r (free it with
 * cq_json_value_free), or -1 with a message in err ("line 1, column 9:
 * expected ',' or '}'"); ENOMEM is reported as "out of memory".
 */
int cq_json_parse(const char *text, size_t len, cq_jv_t **root_r, char *err,
	size_t err_len);
void cq_json_value_free(cq_jv_t *v);

/* The member 'key' of an object, or NULL (also for a non-object). */
const cq_jv_t *cq_json_get(const cq_jv_t *obj, const char *key);
/* "null", "boolean", "number", "string", "array", "object". */
const char *cq_json_type_name(cq_json_type_t t);

#endif /* CQ_CORE_JSON_H */
