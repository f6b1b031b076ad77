/*
 * config_yaml.c — load YAML into a struct described by a key table
 * (config_schema.h), with libyaml's event parser.
 *
 * The loader is a recursive descent over parser events that follows the
 * table, not the document: a map is only entered where the table has a
 * CQ_CFG_MAP or CQ_CFG_LIST key, so the recursion is as deep as the table
 * (three levels for comqttd), whatever the document holds.  The first
 * problem stops the load; nothing after it is read, which is what keeps
 * hostile input (deep nesting, huge scalars, endless keys) cheap: deep
 * nesting is refused at its first unexpected level, an unknown key at its
 * name, a long value by its length check.
 *
 * YAML features a configuration has no use for are refused rather than
 * half supported: aliases (and so "billion laughs" expansion), explicit
 * tags, complex keys, several documents in one file.
 *
 * Positions in messages are libyaml's marks plus one (libyaml counts lines
 * and columns from 0; editors count from 1).
 */
#include "config.h"
#include "core/config_schema.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Characters of a key name shown unquoted in messages. */
#define KEY_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_"
/* Names longer than this get no "did you mean". */
#define SUGGEST_LEN_MAX 40

typedef struct loader {
	yaml_parser_t parser;
	yaml_event_t ev;
	bool have_ev;
	const char *name; /* the file, for messages */
	const char *text; /* the whole input, to explain a syntax error */
	size_t len;
	char path[CQ_CFG_PATH_MAX]; /* key path of the current value */
	char **error_r;
	bool failed;
} loader_t;

static cq_cfg_pos_t
pos_of(yaml_mark_t m)
{
	return (cq_cfg_pos_t){.line = m.line + 1, .col = m.column + 1};
}

static int __attribute__((format(printf, 3, 4)))
fail(loader_t *ld, yaml_mark_t mark, const char *fmt, ...)
{
	va_list ap;

	if (ld->failed)
		return -1;
	ld->failed = true;
	va_start(ap, fmt);
	cq_cfg_error_at(ld->error_r, ld->name, pos_of(mark), ld->path, fmt, ap);
	va_end(ap);
	return -1;
}

static int
fail_syntax(loader_t *ld)
{
	yaml_parser_t *p = &ld->parser;
	const char *hint = "";
	char where[128] = "";

	if (p->error == YAML_MEMORY_ERROR)
		return fail(ld, p->problem_mark, "out of memory");
	if (p->problem_mark.index < ld->len &&
		ld->text[p->problem_mark.index] == '\t')
		hint = " (tabs cannot indent YAML: use spaces)";
	if (p->context != NULL)
		snprintf(where, sizeof(where), " (%s at %zu:%zu)", p->context,
			(size_t)p->context_mark.line + 1,
			(size_t)p->context_mark.column + 1);
	/* A syntax error belongs to no key: drop the path. */
	ld->path[0] = '\0';
	return fail(ld, p->problem_mark, "YAML syntax error: %s%s%s",
		p->problem ? p->problem : "unknown", where, hint);
}

/* Advance to the next event; refuse the YAML features we do not support. */
static int
next(loader_t *ld)
{
	const yaml_char_t *tag = NULL;

	if (ld->have_ev)
		yaml_event_delete(&ld->ev);
	ld->have_ev = false;
	if (!yaml_parser_parse(&ld->parser, &ld->ev))
		return fail_syntax(ld);
	ld->have_ev = true;
	switch (ld->ev.type) {
	case YAML_ALIAS_EVENT:
		return fail(ld, ld->ev.start_mark,
			"YAML aliases (*name) are not supported");
	case YAML_SCALAR_EVENT:
		tag = ld->ev.data.scalar.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		tag = ld->ev.data.sequence_start.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		tag = ld->ev.data.mapping_start.tag;
		break;
	default:
		break;
	}
	if (tag != NULL)
		return fail(ld, ld->ev.start_mark,
			"YAML tags (!tag) are not supported");
	return 0;
}

/* A plain ~, null, Null, NULL or nothing at all. */
static bool
is_null(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;

	if (ev->type != YAML_SCALAR_EVENT ||
		ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
		strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* Refuse the current node: "expected <expect>, got <what it is>". */
static int
fail_got(loader_t *ld, const char *expect)
{
	const yaml_event_t *ev = &ld->ev;
	char got[200];

	if (ev->type == YAML_MAPPING_START_EVENT)
		snprintf(got, sizeof(got), "a map");
	else if (ev->type == YAML_SEQUENCE_START_EVENT)
		snprintf(got, sizeof(got), "a list");
	else if (is_null(ev))
		snprintf(got, sizeof(got), "null");
	else
		cq_cfg_quote((const char *)ev->data.scalar.value,
			ev->data.scalar.length, got, sizeof(got));
	return fail(ld, ev->start_mark, "expected %s, got %s", expect, got);
}

/* Refuse the current node, which is not what key 'k' takes. */
static int
fail_node(loader_t *ld, const cq_cfg_key_t *k)
{
	char expect[200];

	cq_cfg_describe(k, false, expect, sizeof(expect));
	return fail_got(ld, expect);
}

/* Append ".name" to the path; returns the old length for path_pop(). */
static size_t
path_push_key(loader_t *ld, const char *name, size_t len)
{
	size_t old = strlen(ld->path);
	const char *sep = old > 0 ? "." : "";
	char shown[200];

	/* A key the user wrote may be anything: quote it unless plain. */
	if (len <= 40 && strspn(name, KEY_CHARS) == len) {
		snprintf(ld->path + old, sizeof(ld->path) - old, "%s%.*s", sep,
			(int)len, name);
	} else {
		cq_cfg_quote(name, len, shown, sizeof(shown));
		snprintf(ld->path + old, sizeof(ld->path) - old, "%s%s", sep,
			shown);
	}
	return old;
}

static size_t
path_push_index(loader_t *ld, size_t i)
{
	size_t old = strlen(ld->path);

	snprintf(ld->path + old, sizeof(ld->path) - old, "[%zu]", i);
	return old;
}

static void
path_pop(loader_t *ld, size_t old)
{
	ld->path[old] = '\0';
}

/* Edit distance, for "did you mean"; only short names get here. */
static size_t
distance(const char *a, size_t la, const char *b)
{
	size_t lb = strlen(b), row[SUGGEST_LEN_MAX + 1];

	if (lb > SUGGEST_LEN_MAX)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The key of t closest to a misspelt name, or NULL if none is close. */
static const char *
suggest(const cq_cfg_table_t *t, const char *name, size_t len)
{
	const char *best = NULL;
	size_t best_d = 3; /* at most two edits */

	if (len > SUGGEST_LEN_MAX)
		return NULL;
	for (size_t i = 0; i < t->n_keys; i++) {
		size_t d = distance(name, len, t->keys[i].name);
		/* Two edits turn "ab" into almost anything: keep it relative. */
		if (d < best_d && d * 2 <= strlen(t->keys[i].name)) {
			best_d = d;
			best = t->keys[i].name;
		}
	}
	return best;
}

static int load_value(loader_t *ld, const cq_cfg_key_t *k, void *obj);

/* One "key: value" of a map of table t; the current event is the key. */
static int
load_pair(loader_t *ld, const cq_cfg_table_t *t, void *obj, cq_cfg_pos_t *seen)
{
	const yaml_event_t *ev = &ld->ev;
	const char *name, *hint;
	size_t len, old, i;
	const cq_cfg_key_t *k;

	if (ev->type != YAML_SCALAR_EVENT)
		return fail_got(ld, "a key name");
	name = (const char *)ev->data.scalar.value;
	len = ev->data.scalar.length;
	old = path_push_key(ld, name, len);
	if ((k = cq_cfg_find_key(t, name, len)) == NULL) {
		hint = suggest(t, name, len);
		return fail(ld, ev->start_mark, "unknown key%s%s%s",
			hint ? " (did you mean " : "", hint ? hint : "",
			hint ? "?)" : "");
	}
	i = (size_t)(k - t->keys);
	if (seen[i].line > 0)
		return fail(ld, ev->start_mark,
			"duplicate key (first set at %zu:%zu)", seen[i].line,
			seen[i].col);
	if (next(ld) < 0)
		return -1;
	seen[i] = pos_of(ld->ev.start_mark);
	if (load_value(ld, k, obj) < 0)
		return -1;
	path_pop(ld, old);
	return 0;
}

/* Once a map is read: required keys, then the table's own check. */
static int
finish_map(loader_t *ld, const cq_cfg_table_t *t, void *obj, void *list,
	size_t index, yaml_mark_t start, const cq_cfg_pos_t *seen)
{
	for (size_t i = 0; i < t->n_keys; i++)
		if ((t->keys[i].flags & CQ_CFG_REQUIRED) && seen[i].line == 0)
			return fail(ld, start, "the key %s is required",
				t->keys[i].name);
	if (t->check == NULL)
		return 0;
	cq_cfg_check_t ck = {
		.obj = obj,
		.list = list,
		.index = index,
		.table = t,
		.file = ld->name,
		.path = ld->path,
		.pos = pos_of(start),
		.key_pos = seen,
		.error_r = ld->error_r,
	};
	if (t->check(&ck) == 0)
		return 0;
	ld->failed = true;
	return -1;
}

/*
 * A map of table t into obj.  The current event starts the map, or is a
 * null (an empty block: every key keeps its value).  For an item of a list,
 * 'list' and 'index' say where it is, for the table's check.
 */
static int
load_map(loader_t *ld, const cq_cfg_table_t *t, void *obj, void *list,
	size_t index)
{
	yaml_mark_t start = ld->ev.start_mark;
	cq_cfg_pos_t *seen = calloc(t->n_keys + 1, sizeof(*seen));
	int rc = -1;

	if (seen == NULL)
		return fail(ld, start, "out of memory");
	if (ld->ev.type == YAML_MAPPING_START_EVENT) {
		while (next(ld) == 0 && ld->ev.type != YAML_MAPPING_END_EVENT)
			if (load_pair(ld, t, obj, seen) < 0)
				break;
		if (ld->failed)
			goto out;
	}
	rc = finish_map(ld, t, obj, list, index, start, seen);
out:
	free(seen);
	return rc;
}

static int
check_count(loader_t *ld, const cq_cfg_key_t *k, size_t n, yaml_mark_t start)
{
	if ((int64_t)n >= k->min)
		return 0;
	return fail(ld, start, "at least %lld item%s required",
		(long long)k->min, k->min == 1 ? " is" : "s are");
}

/* A list of maps: replaces the items the field held (its defaults). */
static int
load_list(loader_t *ld, const cq_cfg_key_t *k, void *obj)
{
	yaml_mark_t start = ld->ev.start_mark;
	size_t *n = cq_cfg_list_count(k, obj), old;
	bool empty = is_null(&ld->ev);
	char *why = NULL;

	if (!empty && ld->ev.type != YAML_SEQUENCE_START_EVENT)
		return fail_node(ld, k);
	cq_cfg_free_key(k, obj);
	while (!empty && next(ld) == 0 &&
		ld->ev.type != YAML_SEQUENCE_END_EVENT) {
		void *item;
		old = path_push_index(ld, *n);
		if ((int64_t)*n == k->max)
			return fail(ld, ld->ev.start_mark,
				"at most %lld items are allowed",
				(long long)k->max);
		if (ld->ev.type != YAML_MAPPING_START_EVENT)
			return fail_got(ld, "a map of keys");
		/* Counted once it holds defaults, so that an error in it
		 * leaves it to cq_cfg_free(). */
		item = cq_cfg_list_item(k, obj, *n);
		if (cq_cfg_defaults(k->sub, item, &why) < 0) {
			fail(ld, start, "%s", why ? why : "out of memory");
			free(why);
			return -1;
		}
		(*n)++;
		if (load_map(ld, k->sub, item, CQ_CFG_FIELD(obj, k), *n - 1) <
			0)
			return -1;
		path_pop(ld, old);
	}
	if (ld->failed)
		return -1;
	return check_count(ld, k, *n, start);
}

/* A list of strings: replaces what the field held. */
static int
load_strlist(loader_t *ld, const cq_cfg_key_t *k, void *obj)
{
	yaml_mark_t start = ld->ev.start_mark;
	const yaml_event_t *ev = &ld->ev;
	bool empty = is_null(ev);
	char *why = NULL;
	size_t i = 0, old;

	if (!empty && ev->type != YAML_SEQUENCE_START_EVENT)
		return fail_node(ld, k);
	cq_cfg_free_key(k, obj);
	while (!empty && next(ld) == 0 && ev->type != YAML_SEQUENCE_END_EVENT) {
		old = path_push_index(ld, i++);
		if (ev->type != YAML_SCALAR_EVENT)
			return fail_got(ld, "a string");
		/* A null item is the empty string, as for string keys. */
		if (cq_cfg_strlist_add(k, obj,
			    (const char *)ev->data.scalar.value,
			    is_null(ev) ? 0 : ev->data.scalar.length,
			    &why) < 0) {
			fail(ld, ev->start_mark, "%s",
				why ? why : "out of memory");
			free(why);
			return -1;
		}
		path_pop(ld, old);
	}
	if (ld->failed)
		return -1;
	return check_count(
		ld, k, ((cq_cfg_strlist_t *)CQ_CFG_FIELD(obj, k))->n, start);
}

/* The value of key k; the current event is its first. */
static int
load_value(loader_t *ld, const cq_cfg_key_t *k, void *obj)
{
	const yaml_event_t *ev = &ld->ev;
	char *why = NULL;

	switch (k->type) {
	case CQ_CFG_MAP:
		if (!is_null(ev) && ev->type != YAML_MAPPING_START_EVENT)
			return fail_node(ld, k);
		return load_map(ld, k->sub, CQ_CFG_FIELD(obj, k), NULL, 0);
	case CQ_CFG_LIST:
		return load_list(ld, k, obj);
	case CQ_CFG_STRLIST:
		return load_strlist(ld, k, obj);
	default:
		break;
	}
	if (ev->type != YAML_SCALAR_EVENT)
		return fail_node(ld, k);
	if (cq_cfg_parse_scalar(k, obj, (const char *)ev->data.scalar.value,
		    ev->data.scalar.length, is_null(ev), &why) < 0) {
		fail(ld, ev->start_mark, "%s", why ? why : "out of memory");
		free(why);
		return -1;
	}
	return 0;
}

/*
 * One document: a map of table t, or (t NULL) the value of key k.  An
 * empty stream is an empty map.
 */
static int
load_document(
	loader_t *ld, const cq_cfg_table_t *t, const cq_cfg_key_t *k, void *obj)
{
	if (next(ld) < 0 || next(ld) < 0) /* stream start, document start */
		return -1;
	if (ld->ev.type == YAML_STREAM_END_EVENT)
		return t != NULL ? load_map(ld, t, obj, NULL, 0)
				 : fail(ld, ld->ev.start_mark, "no value");
	if (next(ld) < 0)
		return -1;
	if (t == NULL) {
		if (load_value(ld, k, obj) < 0)
			return -1;
	} else if (!is_null(&ld->ev) &&
		ld->ev.type != YAML_MAPPING_START_EVENT) {
		return fail_got(ld, "a map of keys at the top level");
	} else if (load_map(ld, t, obj, NULL, 0) < 0) {
		return -1;
	}
	if (next(ld) < 0 || next(ld) < 0) /* document end, then... */
		return -1;
	if (ld->ev.type != YAML_STREAM_END_EVENT)
		return fail(ld, ld->ev.start_mark,
			"only one YAML document is allowed");
	return 0;
}

static int
load(const cq_cfg_table_t *t, const cq_cfg_key_t *k, void *obj,
	const char *name, const char *path, const char *text, size_t len,
	char **error_r)
{
	loader_t ld = {
		.name = name,
		.text = text,
		.len = len,
		.error_r = error_r,
	};
	int rc;

	snprintf(ld.path, sizeof(ld.path), "%s", path);
	if (!yaml_parser_initialize(&ld.parser))
		return cq_cfg_error(error_r, "out of memory");
	yaml_parser_set_input_string(
		&ld.parser, (const unsigned char *)text, len);
	rc = load_document(&ld, t, k, obj);
	if (ld.have_ev)
		yaml_event_delete(&ld.ev);
	yaml_parser_delete(&ld.parser);
	return rc;
}

int
cq_cfg_load_yaml(const cq_cfg_table_t *t, void *obj, const char *name,
	const char *text, size_t len, char **error_r)
{
	return load(t, NULL, obj, name, "", text, len, error_r);
}

int
cq_cfg_load_value(const cq_cfg_key_t *k, void *obj, const char *path,
	const char *text, char **error_r)
{
	return load(NULL, k, obj, "value", path, text, strlen(text), error_r);
}
