/*
 * config_schema.c — walks over a table of keys (config_schema.h): defaults,
 * free, set, print, diff, walk and the check of a table itself.
 *
 * Every walk is the same recursion: a CQ_CFG_MAP key descends into the
 * nested struct with its own table, a CQ_CFG_LIST key into each item of the
 * array, and every other key is handled by the per-type code in
 * config_types.c.  The YAML loader is config_yaml.c.
 */
#include "config.h"
#include "core/config_schema.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* How deep "a.b.c" may go in cq_cfg_set(). */
#define SET_DEPTH_MAX 8

size_t *
cq_cfg_list_count(const cq_cfg_key_t *k, void *obj)
{
	return (size_t *)((char *)obj + k->count_offset);
}

void *
cq_cfg_list_item(const cq_cfg_key_t *k, void *obj, size_t i)
{
	return (char *)CQ_CFG_FIELD(obj, k) + i * k->sub->size;
}

/* Paths are for messages: a path too long for its buffer is cut short. */
void
cq_cfg_path_join(char *buf, size_t len, const char *parent, const char *name)
{
	snprintf(
		buf, len, "%s%s%s", parent, parent[0] != '\0' ? "." : "", name);
}

static void
path_index(char *buf, size_t len, const char *parent, size_t i)
{
	if (snprintf(buf, len, "%s[%zu]", parent, i) >= (int)len)
		buf[len - 1] = '\0';
}

const cq_cfg_key_t *
cq_cfg_find_key(const cq_cfg_table_t *t, const char *name, size_t len)
{
	for (size_t i = 0; i < t->n_keys; i++)
		if (strlen(t->keys[i].name) == len &&
			memcmp(t->keys[i].name, name, len) == 0)
			return &t->keys[i];
	return NULL;
}

int
cq_cfg_fail(cq_cfg_check_t *ck, const char *key, const char *fmt, ...)
{
	char path[CQ_CFG_PATH_MAX];
	cq_cfg_pos_t pos = ck->pos;
	const cq_cfg_key_t *k = NULL;
	va_list ap;

	if (key != NULL)
		k = cq_cfg_find_key(ck->table, key, strlen(key));
	if (k != NULL && ck->key_pos != NULL &&
		ck->key_pos[k - ck->table->keys].line > 0)
		pos = ck->key_pos[k - ck->table->keys];
	cq_cfg_path_join(path, sizeof(path), ck->path, key ? key : "");
	va_start(ap, fmt);
	cq_cfg_error_at(ck->error_r, ck->file, pos, path, fmt, ap);
	va_end(ap);
	return -1;
}

void
cq_cfg_free_key(const cq_cfg_key_t *k, void *obj)
{
	if (k->type == CQ_CFG_MAP) {
		cq_cfg_free(k->sub, CQ_CFG_FIELD(obj, k));
	} else if (k->type == CQ_CFG_LIST) {
		size_t *n = cq_cfg_list_count(k, obj);
		for (size_t i = 0; i < *n; i++)
			cq_cfg_free(k->sub, cq_cfg_list_item(k, obj, i));
		*n = 0;
	} else {
		cq_cfg_free_value(k, obj);
	}
}

void
cq_cfg_free(const cq_cfg_table_t *t, void *obj)
{
	for (size_t i = 0; i < t->n_keys; i++)
		cq_cfg_free_key(&t->keys[i], obj);
	memset(obj, 0, t->size);
}

/*
 * Defaults: scalars parse their text; lists and string lists load theirs as
 * flow YAML.  A failure is a bug in the table (cq_cfg_schema_check() finds
 * it in the unit tests) or out of memory.
 */
int
cq_cfg_defaults(const cq_cfg_table_t *t, void *obj, char **error_r)
{
	char *why = NULL;

	memset(obj, 0, t->size);
	for (size_t i = 0; i < t->n_keys; i++) {
		const cq_cfg_key_t *k = &t->keys[i];
		int rc = 0;

		if (k->type == CQ_CFG_MAP)
			rc = cq_cfg_defaults(
				k->sub, CQ_CFG_FIELD(obj, k), &why);
		else if (k->def == NULL)
			continue;
		else if (cq_cfg_is_scalar(k->type))
			rc = cq_cfg_parse_scalar(
				k, obj, k->def, strlen(k->def), false, &why);
		else
			rc = cq_cfg_load_value(k, obj, k->name, k->def, &why);
		if (rc < 0) {
			cq_cfg_error(error_r, "default of %s (table %s): %s",
				k->name, t->name, why ? why : "out of memory");
			free(why);
			cq_cfg_free(t, obj);
			return -1;
		}
	}
	return 0;
}

/* Rerun the checks of the maps on a cq_cfg_set() path, innermost first. */
static int
recheck(const cq_cfg_table_t **tabs, void **objs, size_t depth,
	const char *path, char **error_r)
{
	char prefix[CQ_CFG_PATH_MAX];

	while (depth-- > 0) {
		if (tabs[depth]->check == NULL)
			continue;
		/* The map of level d is named by the first d components. */
		snprintf(prefix, sizeof(prefix), "%s", path);
		for (size_t d = 0, i = 0; prefix[i] != '\0'; i++)
			if (prefix[i] == '.' && ++d == depth)
				prefix[i] = '\0';
		cq_cfg_check_t ck = {
			.obj = objs[depth],
			.table = tabs[depth],
			.path = depth > 0 ? prefix : "",
			.error_r = error_r,
		};
		if (tabs[depth]->check(&ck) < 0)
			return -1;
	}
	return 0;
}

int
cq_cfg_set(const cq_cfg_table_t *t, void *obj, const char *path,
	const char *value, const char *label, char **error_r)
{
	const cq_cfg_table_t *tabs[SET_DEPTH_MAX];
	void *objs[SET_DEPTH_MAX];
	const char *p = path, *dot;
	const cq_cfg_key_t *k;
	size_t depth = 0;
	char *why = NULL;

	if (label == NULL)
		label = path;
	for (;;) {
		dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		if ((k = cq_cfg_find_key(t, p, len)) == NULL ||
			depth == SET_DEPTH_MAX)
			return cq_cfg_error(error_r, "%s: unknown key", label);
		tabs[depth] = t;
		objs[depth++] = obj;
		if (dot == NULL)
			break;
		if (k->type != CQ_CFG_MAP)
			return cq_cfg_error(error_r, "%s: unknown key", label);
		t = k->sub;
		obj = CQ_CFG_FIELD(obj, k);
		p = dot + 1;
	}
	if (k->type == CQ_CFG_MAP)
		return cq_cfg_error(error_r,
			"%s: is a map: set its keys one at a time", label);
	if (cq_cfg_is_scalar(k->type)
			? cq_cfg_parse_scalar(
				  k, obj, value, strlen(value), false, &why)
			: cq_cfg_load_value(k, obj, path, value, &why)) {
		cq_cfg_error(
			error_r, "%s: %s", label, why ? why : "out of memory");
		free(why);
		return -1;
	}
	return recheck(tabs, objs, depth, path, error_r);
}

static void
print_map(const cq_cfg_table_t *t, const void *obj, FILE *out, int indent,
	bool item)
{
	for (size_t i = 0; i < t->n_keys; i++) {
		const cq_cfg_key_t *k = &t->keys[i];
		const void *field = (const char *)obj + k->offset;

		if (item && i == 0)
			fprintf(out, "%*s- %s:", indent - 2, "", k->name);
		else
			fprintf(out, "%*s%s:", indent, "", k->name);
		if (k->type == CQ_CFG_MAP) {
			fputc('\n', out);
			print_map(k->sub, field, out, indent + 2, false);
		} else if (k->type == CQ_CFG_LIST) {
			size_t n = *cq_cfg_list_count(k, (void *)obj);
			fputs(n == 0 ? " []\n" : "\n", out);
			for (size_t j = 0; j < n; j++)
				print_map(k->sub,
					cq_cfg_list_item(k, (void *)obj, j),
					out, indent + 4, true);
		} else {
			fputc(' ', out);
			cq_cfg_print_value(k, obj, out);
			fputc('\n', out);
		}
	}
}

int
cq_cfg_print(const cq_cfg_table_t *t, const void *obj, FILE *out)
{
	print_map(t, obj, out, 0, false);
	return ferror(out) || fflush(out) != 0 ? -1 : 0;
}

typedef struct diff {
	cq_cfg_change_fn *fn;
	void *ctx;
	int n;
} diff_t;

/* The value of a scalar or string list key as text (malloc'd) or NULL. */
static char *
value_text(const cq_cfg_key_t *k, const void *obj)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return NULL;
	cq_cfg_print_value(k, obj, f);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static int diff_map(const cq_cfg_table_t *t, const void *a, const void *b,
	const char *path, bool live, diff_t *d);

static void
diff_report(diff_t *d, const cq_cfg_key_t *k, const char *path, const char *a,
	const char *b, bool live)
{
	cq_cfg_change_t c = {
		.path = path,
		.old_value = a,
		.new_value = b,
		.live = live,
		.key = k,
	};
	d->n++;
	d->fn(&c, d->ctx);
}

static int
diff_list(const cq_cfg_key_t *k, const void *a, const void *b, const char *path,
	bool live, diff_t *d)
{
	size_t na = *cq_cfg_list_count(k, (void *)a);
	size_t nb = *cq_cfg_list_count(k, (void *)b);
	char path_i[CQ_CFG_PATH_MAX], ta[32], tb[32];

	if (na != nb) {
		snprintf(ta, sizeof(ta), "%zu item%s", na, na == 1 ? "" : "s");
		snprintf(tb, sizeof(tb), "%zu item%s", nb, nb == 1 ? "" : "s");
		diff_report(d, k, path, ta, tb, live);
		return 0;
	}
	for (size_t i = 0; i < na; i++) {
		path_index(path_i, sizeof(path_i), path, i);
		if (diff_map(k->sub, cq_cfg_list_item(k, (void *)a, i),
			    cq_cfg_list_item(k, (void *)b, i), path_i, live,
			    d) < 0)
			return -1;
	}
	return 0;
}

static int
diff_map(const cq_cfg_table_t *t, const void *a, const void *b,
	const char *path, bool live, diff_t *d)
{
	char sub[CQ_CFG_PATH_MAX];

	for (size_t i = 0; i < t->n_keys; i++) {
		const cq_cfg_key_t *k = &t->keys[i];
		bool k_live = live && (k->flags & CQ_CFG_LIVE);
		int rc = 0;

		cq_cfg_path_join(sub, sizeof(sub), path, k->name);
		if (k->type == CQ_CFG_MAP) {
			rc = diff_map(k->sub, (const char *)a + k->offset,
				(const char *)b + k->offset, sub, live, d);
		} else if (k->type == CQ_CFG_LIST) {
			rc = diff_list(k, a, b, sub, k_live, d);
		} else {
			char *ta = value_text(k, a), *tb = value_text(k, b);
			if (ta == NULL || tb == NULL)
				rc = -1;
			else if (strcmp(ta, tb) != 0)
				diff_report(d, k, sub, ta, tb, k_live);
			free(ta);
			free(tb);
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

int
cq_cfg_diff(const cq_cfg_table_t *t, const void *old_obj, const void *new_obj,
	cq_cfg_change_fn *fn, void *ctx)
{
	diff_t d = {.fn = fn, .ctx = ctx, .n = 0};

	if (diff_map(t, old_obj, new_obj, "", true, &d) < 0)
		return -1;
	return d.n;
}

/* Exchange n bytes between a and b. */
static void
swap_bytes(void *a, void *b, size_t n)
{
	unsigned char tmp[256], *pa = a, *pb = b;

	while (n > 0) {
		size_t chunk = n < sizeof(tmp) ? n : sizeof(tmp);
		memcpy(tmp, pa, chunk);
		memcpy(pa, pb, chunk);
		memcpy(pb, tmp, chunk);
		pa += chunk;
		pb += chunk;
		n -= chunk;
	}
}

static void
keep_map(const cq_cfg_table_t *t, void *a, void *b, bool live)
{
	for (size_t i = 0; i < t->n_keys; i++) {
		const cq_cfg_key_t *k = &t->keys[i];
		bool k_live = live && (k->flags & CQ_CFG_LIVE);
		size_t *na, *nb;

		if (k->type == CQ_CFG_MAP) {
			keep_map(k->sub, CQ_CFG_FIELD(a, k), CQ_CFG_FIELD(b, k),
				live);
		} else if (k->type == CQ_CFG_LIST && k_live) {
			na = cq_cfg_list_count(k, a);
			nb = cq_cfg_list_count(k, b);
			for (size_t j = 0; *na == *nb && j < *na; j++)
				keep_map(k->sub, cq_cfg_list_item(k, a, j),
					cq_cfg_list_item(k, b, j), true);
		} else if (!k_live) {
			/* Swapping equal values changes nothing, so no need
			 * to compare first. */
			swap_bytes(CQ_CFG_FIELD(a, k), CQ_CFG_FIELD(b, k),
				k->width);
			if (k->type == CQ_CFG_LIST)
				swap_bytes(cq_cfg_list_count(k, a),
					cq_cfg_list_count(k, b),
					sizeof(size_t));
		}
	}
}

void
cq_cfg_keep_restart_keys(const cq_cfg_table_t *t, void *old_obj, void *new_obj)
{
	keep_map(t, old_obj, new_obj, true);
}

static void
walk_map(const cq_cfg_table_t *t, const char *path, bool live,
	cq_cfg_walk_fn *fn, void *ctx)
{
	char sub[CQ_CFG_PATH_MAX];

	for (size_t i = 0; i < t->n_keys; i++) {
		const cq_cfg_key_t *k = &t->keys[i];
		bool k_live = live && (k->flags & CQ_CFG_LIVE);

		cq_cfg_path_join(sub, sizeof(sub), path, k->name);
		fn(sub, k, k->type == CQ_CFG_MAP ? live : k_live, ctx);
		if (k->type == CQ_CFG_MAP) {
			walk_map(k->sub, sub, live, fn, ctx);
		} else if (k->type == CQ_CFG_LIST) {
			strncat(sub, "[]", sizeof(sub) - strlen(sub) - 1);
			walk_map(k->sub, sub, k_live, fn, ctx);
		}
	}
}

void
cq_cfg_walk(const cq_cfg_table_t *t, cq_cfg_walk_fn *fn, void *ctx)
{
	walk_map(t, "", true, fn, ctx);
}

/* What is wrong with row k of table t (composite rows included), or NULL. */
static const char *
row_problem(const cq_cfg_table_t *t, const cq_cfg_key_t *k)
{
	if (k->name == NULL || k->name[0] == '\0' || k->doc == NULL ||
		k->doc[0] == '\0')
		return "every key needs a name and a doc";
	if (k->offset + k->width > t->size)
		return "the field lies outside the struct";
	if ((k->flags & CQ_CFG_REQUIRED) && k->def != NULL)
		return "a required key has no default";
	if (k->type == CQ_CFG_MAP)
		return k->sub != NULL && k->width == k->sub->size && !k->def
			? NULL
			: "a map needs its table, a struct field, no default";
	if (!(k->flags & CQ_CFG_REQUIRED) && k->def == NULL)
		return "a key that is not required needs a default";
	if (k->type != CQ_CFG_LIST)
		return cq_cfg_row_problem(k);
	if (k->sub == NULL || k->max <= 0 || k->min < 0 || k->min > k->max)
		return "a list needs an item table and a count range";
	if (k->width != (size_t)k->max * k->sub->size)
		return "a list field must be an array of max items";
	if (k->count_offset + sizeof(size_t) > t->size)
		return "the list count lies outside the struct";
	return NULL;
}

static int
check_rows(const cq_cfg_table_t *t, char **error_r)
{
	for (size_t i = 0; i < t->n_keys; i++) {
		const cq_cfg_key_t *k = &t->keys[i];
		const char *problem = row_problem(t, k);

		if (problem == NULL &&
			cq_cfg_find_key(t, k->name, strlen(k->name)) != k)
			problem = "the name is used twice";
		if (problem != NULL)
			return cq_cfg_error(error_r, "table %s, key %s: %s",
				t->name, k->name ? k->name : "(null)", problem);
		if ((k->type == CQ_CFG_MAP || k->type == CQ_CFG_LIST) &&
			check_rows(k->sub, error_r) < 0)
			return -1;
	}
	return 0;
}

int
cq_cfg_schema_check(const cq_cfg_table_t *t, char **error_r)
{
	void *obj;
	int rc;

	if (check_rows(t, error_r) < 0)
		return -1;
	if ((obj = malloc(t->size)) == NULL)
		return cq_cfg_error(error_r, "out of memory");
	rc = cq_cfg_defaults(t, obj, error_r);
	if (rc == 0 && t->check != NULL) {
		cq_cfg_check_t ck = {
			.obj = obj, .table = t, .path = "", .error_r = error_r};
		rc = t->check(&ck);
	}
	cq_cfg_free(t, obj);
	free(obj);
	return rc;
}
