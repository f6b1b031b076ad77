/*
 * doc.c — YAML/JSON document tree (doc.h).
 *
 * One pass over libyaml's events.  Each open sequence or map is a frame on
 * an explicit stack holding the children read so far; when it closes, the
 * children move into an array in the document's pool.  Memory: one pool
 * (a list of blocks) per document, so freeing is one walk.
 */
#include "config.h"
#include "plugins/authd/doc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define POOL_BLOCK 16384

typedef struct pool_block {
	struct pool_block *next;
	size_t used, cap;
	max_align_t data[];
} pool_block_t;

struct cq_doc {
	pool_block_t *blocks;
	cq_doc_node_t *root;
};

typedef struct frame {
	cq_doc_node_t *node;
	cq_doc_node_t **kids;
	size_t n, cap;
} frame_t;

typedef struct builder {
	cq_doc_t *doc;
	yaml_parser_t parser;
	const char *name;
	char **error_r;
	frame_t *stack;
	size_t depth, max_depth;
} builder_t;

static void *
pool_alloc(cq_doc_t *doc, size_t size)
{
	pool_block_t *b = doc->blocks;

	size = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (b == NULL || b->cap - b->used < size) {
		size_t cap = size > POOL_BLOCK ? size : POOL_BLOCK;
		b = malloc(sizeof(*b) + cap);
		if (b == NULL)
			return NULL;
		b->cap = cap;
		b->used = 0;
		b->next = doc->blocks;
		doc->blocks = b;
	}
	void *p = (char *)b->data + b->used;
	b->used += size;
	return p;
}

void
cq_doc_free(cq_doc_t *doc)
{
	if (doc == NULL)
		return;
	while (doc->blocks != NULL) {
		pool_block_t *next = doc->blocks->next;
		free(doc->blocks);
		doc->blocks = next;
	}
	free(doc);
}

const cq_doc_node_t *
cq_doc_root(const cq_doc_t *doc)
{
	return doc->root;
}

int
cq_doc_error(char **error_r, const char *name, unsigned line, unsigned col,
	const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t len = strlen(name) + strlen(msg) + 48;
	if ((*error_r = malloc(len)) != NULL)
		snprintf(*error_r, len, "%s:%u:%u: %s", name, line, col, msg);
	return -1;
}

#define fail(b, m, ...)                                                        \
	cq_doc_error((b)->error_r, (b)->name, (unsigned)(m).line + 1,          \
		(unsigned)(m).column + 1, __VA_ARGS__)

static cq_doc_node_t *
new_node(builder_t *b, cq_doc_type_t type, yaml_mark_t m)
{
	cq_doc_node_t *n = pool_alloc(b->doc, sizeof(*n));
	if (n == NULL)
		return NULL;
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->line = (unsigned)m.line + 1;
	n->col = (unsigned)m.column + 1;
	return n;
}

/* A map key must be a scalar not already in the map. */
static int
check_key(builder_t *b, frame_t *f, cq_doc_node_t *key, yaml_mark_t m)
{
	if (key->type != CQ_DOC_SCALAR)
		return fail(b, m, "a map key must be a plain value");
	for (size_t i = 0; i < f->n; i += 2) {
		if (f->kids[i]->len == key->len &&
			memcmp(f->kids[i]->text, key->text, key->len) == 0)
			return fail(b, m, "the key \"%.60s\" is given twice",
				key->text);
	}
	return 0;
}

/* Attach a finished node to the open container, or make it the root. */
static int
attach(builder_t *b, cq_doc_node_t *n, yaml_mark_t m)
{
	if (b->depth == 0) {
		b->doc->root = n;
		return 0;
	}
	frame_t *f = &b->stack[b->depth - 1];
	if (f->node->type == CQ_DOC_MAP && f->n % 2 == 0 &&
		check_key(b, f, n, m) < 0)
		return -1;
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 8;
		cq_doc_node_t **k = realloc(f->kids, cap * sizeof(*k));
		if (k == NULL)
			return fail(b, m, "out of memory");
		f->kids = k;
		f->cap = cap;
	}
	f->kids[f->n++] = n;
	return 0;
}

static int
open_node(builder_t *b, cq_doc_type_t type, yaml_mark_t m)
{
	if (b->depth == b->max_depth)
		return fail(
			b, m, "nested deeper than %zu levels", b->max_depth);
	cq_doc_node_t *n = new_node(b, type, m);
	if (n == NULL)
		return fail(b, m, "out of memory");
	b->stack[b->depth++] = (frame_t){.node = n};
	return 0;
}

static int
close_node(builder_t *b, yaml_mark_t m)
{
	frame_t *f = &b->stack[--b->depth];
	cq_doc_node_t *n = f->node;

	n->n = n->type == CQ_DOC_MAP ? f->n / 2 : f->n;
	if (f->n > 0) {
		n->items = pool_alloc(b->doc, f->n * sizeof(*n->items));
		if (n->items == NULL) {
			free(f->kids);
			return fail(b, m, "out of memory");
		}
		memcpy(n->items, f->kids, f->n * sizeof(*n->items));
	}
	free(f->kids);
	f->kids = NULL;
	return attach(b, n, m);
}

static int
scalar(builder_t *b, const yaml_event_t *ev)
{
	cq_doc_node_t *n = new_node(b, CQ_DOC_SCALAR, ev->start_mark);
	size_t len = ev->data.scalar.length;

	if (ev->data.scalar.tag != NULL && !ev->data.scalar.plain_implicit &&
		!ev->data.scalar.quoted_implicit)
		return fail(b, ev->start_mark, "tags are not supported");
	if (n == NULL || (n->text = pool_alloc(b->doc, len + 1)) == NULL)
		return fail(b, ev->start_mark, "out of memory");
	memcpy(n->text, ev->data.scalar.value, len);
	n->text[len] = '\0';
	n->len = len;
	n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	return attach(b, n, ev->start_mark);
}

/* One event; 1 at the end of the stream, 0 to go on, -1 on error. */
static int
step(builder_t *b, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		if (b->doc->root != NULL)
			return fail(b, ev->start_mark,
				"only one document is allowed");
		return 0;
	case YAML_ALIAS_EVENT:
		return fail(b, ev->start_mark, "aliases are not supported");
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.anchor != NULL)
			return fail(
				b, ev->start_mark, "anchors are not supported");
		return scalar(b, ev);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (ev->data.sequence_start.anchor != NULL ||
			(ev->data.sequence_start.tag != NULL &&
				!ev->data.sequence_start.implicit))
			return fail(b, ev->start_mark,
				"anchors and tags are not supported");
		return open_node(b,
			ev->type == YAML_MAPPING_START_EVENT ? CQ_DOC_MAP
							     : CQ_DOC_SEQ,
			ev->start_mark);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return close_node(b, ev->start_mark);
	default:
		return 0;
	}
}

static int
build(builder_t *b, const char *text, size_t len)
{
	yaml_event_t ev;
	int rc = 0;

	yaml_parser_set_input_string(
		&b->parser, (const unsigned char *)text, len);
	while (rc == 0) {
		if (!yaml_parser_parse(&b->parser, &ev)) {
			yaml_mark_t m = b->parser.problem_mark;
			return fail(b, m, "%s",
				b->parser.problem != NULL ? b->parser.problem
							  : "syntax error");
		}
		rc = step(b, &ev);
		yaml_event_delete(&ev);
	}
	return rc < 0 ? -1 : 0;
}

cq_doc_t *
cq_doc_parse(const char *name, const char *text, size_t len, unsigned max_depth,
	char **error_r)
{
	builder_t b = {
		.name = name, .error_r = error_r, .max_depth = max_depth};
	int rc = -1;

	*error_r = NULL;
	b.doc = calloc(1, sizeof(*b.doc));
	b.stack = calloc(max_depth + 1, sizeof(*b.stack));
	if (b.doc != NULL && b.stack != NULL &&
		yaml_parser_initialize(&b.parser)) {
		rc = build(&b, text, len);
		yaml_parser_delete(&b.parser);
	} else {
		*error_r = strdup("out of memory");
	}
	while (b.stack != NULL && b.depth > 0)
		free(b.stack[--b.depth].kids);
	free(b.stack);
	if (rc < 0) {
		cq_doc_free(b.doc);
		return NULL;
	}
	return b.doc;
}

const cq_doc_node_t *
cq_doc_get(const cq_doc_node_t *map, const char *key)
{
	size_t len = strlen(key);

	if (map == NULL || map->type != CQ_DOC_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++) {
		const cq_doc_node_t *k = map->items[2 * i];
		if (k->len == len && memcmp(k->text, key, len) == 0)
			return map->items[2 * i + 1];
	}
	return NULL;
}

bool
cq_doc_is_null(const cq_doc_node_t *n)
{
	return n != NULL && n->type == CQ_DOC_SCALAR && !n->quoted &&
		(n->len == 0 || strcmp(n->text, "~") == 0 ||
			strcmp(n->text, "null") == 0 ||
			strcmp(n->text, "Null") == 0 ||
			strcmp(n->text, "NULL") == 0);
}

int
cq_doc_bool(const cq_doc_node_t *n, bool *v_r)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
		"YES", "on", "On", "ON", NULL};
	static const char *const no[] = {"false", "False", "FALSE", "no", "No",
		"NO", "off", "Off", "OFF", NULL};

	if (n == NULL || n->type != CQ_DOC_SCALAR || n->quoted)
		return -1;
	for (int i = 0; yes[i] != NULL; i++) {
		if (strcmp(n->text, yes[i]) == 0) {
			*v_r = true;
			return 0;
		}
		if (strcmp(n->text, no[i]) == 0) {
			*v_r = false;
			return 0;
		}
	}
	return -1;
}

int
cq_doc_int(const cq_doc_node_t *n, int64_t *v_r)
{
	char *end;

	if (n == NULL || n->type != CQ_DOC_SCALAR || n->quoted || n->len == 0 ||
		n->len > 19 || strspn(n->text, "-0123456789") != n->len)
		return -1;
	long long v = strtoll(n->text, &end, 10);
	if (*end != '\0')
		return -1;
	*v_r = v;
	return 0;
}
