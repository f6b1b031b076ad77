/*
 * doc.h — a small read-only tree of a YAML or JSON document, for the
 * ledger's rule files and the http backend's JSON answers.
 *
 * JSON is written in YAML's flow style, so libyaml reads both.  The tree
 * is built from libyaml's events with an explicit stack, so nesting costs
 * no C stack and is capped (max_depth); aliases, anchors, tags and complex
 * keys are refused (they have no use in rules, and aliases would let a
 * small file expand into a huge walk).  Scalars keep their text and
 * whether they were quoted; the accessors interpret them (a quoted "3" is
 * still a string).
 *
 * Everything of one document sits in one allocation pool freed by
 * cq_doc_free().  Errors are "NAME:LINE:COL: what", malloc'd.
 */
#ifndef CQ_AUTHD_DOC_H
#define CQ_AUTHD_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum cq_doc_type {
	CQ_DOC_SCALAR = 0,
	CQ_DOC_SEQ,
	CQ_DOC_MAP,
} cq_doc_type_t;

typedef struct cq_doc_node cq_doc_node_t;
struct cq_doc_node {
	cq_doc_type_t type;
	unsigned line, col; /* 1-based */
	bool quoted; /* scalar written in quotes */
	char *text; /* scalar, NUL-terminated (may hold NULs: len) */
	size_t len;
	/* SEQ: n items; MAP: n pairs, key i at items[2i], value at
	 * items[2i+1] (keys are scalars, unique). */
	cq_doc_node_t **items;
	size_t n;
};

typedef struct cq_doc cq_doc_t;

/*
 * Parse 'text'.  An empty document gives a NULL root.  NULL with *error_r
 * on a syntax error, a refused feature, nesting deeper than max_depth, a
 * duplicate key or out of memory.
 */
cq_doc_t *cq_doc_parse(const char *name, const char *text, size_t len,
	unsigned max_depth, char **error_r);
const cq_doc_node_t *cq_doc_root(const cq_doc_t *doc);
void cq_doc_free(cq_doc_t *doc);

/* *error_r = "NAME:LINE:COL: message" (malloc'd; NULL if out of
 * memory).  Returns -1. */
int cq_doc_error(char **error_r, const char *name, unsigned line, unsigned col,
	const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The value of 'key' in a map, or NULL (also when 'map' is no map). */
const cq_doc_node_t *cq_doc_get(const cq_doc_node_t *map, const char *key);

/* A plain null scalar (~, null, nothing)? */
bool cq_doc_is_null(const cq_doc_node_t *n);
/* A scalar read as a boolean (true/false/yes/no/on/off, plain only). */
int cq_doc_bool(const cq_doc_node_t *n, bool *v_r);
/* A scalar read as a decimal integer (plain only). */
int cq_doc_int(const cq_doc_node_t *n, int64_t *v_r);

#endif /* CQ_AUTHD_DOC_H */
