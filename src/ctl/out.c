/*
 * out.c — what comqttctl prints: aligned tables, values of JSON members,
 * flattened objects, human sizes and times (ctl.h).
 */
#include "config.h"
#include "ctl/ctl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct cq_table {
	unsigned ncols;
	char **cells; /* rows * ncols, row 0 the headers */
	size_t rows, cap;
	size_t *width;
};

static char *
dup_cell(const char *s)
{
	/* A cell is one line: control characters are shown as '?'. */
	char *d = strdup(s != NULL ? s : "");
	for (char *p = d; p != NULL && *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return d;
}

cq_table_t *
cq_table_new(unsigned ncols, const char *const *heads)
{
	cq_table_t *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->ncols = ncols;
	t->width = calloc(ncols, sizeof(*t->width));
	if (t->width == NULL) {
		free(t);
		return NULL;
	}
	cq_table_row(t, heads);
	return t;
}

/* Display width of UTF-8 text: code points (good enough for ids). */
static size_t
text_width(const char *s)
{
	size_t n = 0;
	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

void
cq_table_row(cq_table_t *t, const char *const *cells)
{
	if (t == NULL)
		return;
	if (t->rows == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 16;
		char **c = realloc(t->cells, nc * t->ncols * sizeof(*c));
		if (c == NULL)
			return;
		t->cells = c;
		t->cap = nc;
	}
	for (unsigned i = 0; i < t->ncols; i++) {
		char *d = dup_cell(cells[i]);
		t->cells[t->rows * t->ncols + i] = d;
		size_t w = d != NULL ? text_width(d) : 0;
		if (w > t->width[i])
			t->width[i] = w;
	}
	t->rows++;
}

void
cq_table_print(cq_table_t *t)
{
	if (t == NULL)
		return;
	for (size_t r = 0; r < t->rows; r++) {
		for (unsigned i = 0; i < t->ncols; i++) {
			const char *s = t->cells[r * t->ncols + i];
			s = s != NULL ? s : "";
			bool last = i + 1 == t->ncols;
			printf("%s", s);
			for (size_t w = text_width(s);
				!last && w < t->width[i] + 2; w++)
				putchar(' ');
		}
		putchar('\n');
	}
}

void
cq_table_free(cq_table_t *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->rows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->width);
	free(t);
}

#define CELL_MAX 32

void
cq_table_rows(cq_table_t *t, const cq_jv_t *items, const char *const *keys)
{
	if (t == NULL || items == NULL || items->type != CQ_JSON_ARRAY)
		return;
	char(*b)[CELL_MAX] = calloc(t->ncols, sizeof(*b));
	const char **cells = calloc(t->ncols, sizeof(*cells));
	for (size_t i = 0; b != NULL && cells != NULL && i < items->len; i++) {
		for (unsigned k = 0; k < t->ncols; k++)
			cells[k] = cq_ctl_field(
				&items->items[i], keys[k], b[k], CELL_MAX);
		cq_table_row(t, cells);
	}
	free(b);
	free(cells);
}

void
cq_table_done(cq_table_t *t, const cq_jv_t *page)
{
	cq_table_print(t);
	cq_table_free(t);
	if (page == NULL)
		return;
	const cq_jv_t *items = cq_json_get(page, "items");
	printf("(%" PRId64 " of %" PRId64 ", page %" PRId64 ")\n",
		(int64_t)(items != NULL ? items->len : 0),
		cq_ctl_int(page, "total", 0), cq_ctl_int(page, "page", 1));
}

static const char *
value_text(const cq_jv_t *v, char *buf, size_t size)
{
	switch (v->type) {
	case CQ_JSON_STRING:
		return v->s;
	case CQ_JSON_BOOL:
		return v->b ? "true" : "false";
	case CQ_JSON_NUMBER:
		if (v->is_int)
			snprintf(buf, size, "%" PRId64, v->i);
		else
			snprintf(buf, size, "%g", v->num);
		return buf;
	case CQ_JSON_NULL:
		return "-";
	default:
		return v->type == CQ_JSON_ARRAY ? "[...]" : "{...}";
	}
}

const char *
cq_ctl_field(const cq_jv_t *obj, const char *key, char *buf, size_t size)
{
	const cq_jv_t *v = cq_json_get(obj, key);
	return v != NULL ? value_text(v, buf, size) : "";
}

int64_t
cq_ctl_int(const cq_jv_t *obj, const char *key, int64_t def)
{
	const cq_jv_t *v = cq_json_get(obj, key);
	return v != NULL && v->type == CQ_JSON_NUMBER && v->is_int ? v->i : def;
}

void
cq_ctl_print_flat(const char *path, const cq_jv_t *v)
{
	char buf[64], sub[512];
	if (v->type == CQ_JSON_OBJECT) {
		for (size_t i = 0; i < v->len; i++) {
			snprintf(sub, sizeof(sub), "%s%s%s", path,
				path[0] ? "." : "", v->members[i].key);
			cq_ctl_print_flat(sub, &v->members[i].v);
		}
		return;
	}
	if (v->type == CQ_JSON_ARRAY) {
		bool scalars = true;
		for (size_t i = 0; i < v->len; i++)
			scalars = scalars &&
				v->items[i].type != CQ_JSON_OBJECT &&
				v->items[i].type != CQ_JSON_ARRAY;
		if (!scalars) {
			for (size_t i = 0; i < v->len; i++) {
				snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
				cq_ctl_print_flat(sub, &v->items[i]);
			}
			return;
		}
		printf("%s = [", path);
		for (size_t i = 0; i < v->len; i++)
			printf("%s%s", i ? ", " : "",
				value_text(&v->items[i], buf, sizeof(buf)));
		printf("]\n");
		return;
	}
	printf("%s = %s\n", path, value_text(v, buf, sizeof(buf)));
}

void
cq_ctl_print_raw(const cq_ctl_resp_t *resp)
{
	if (resp->len > 0)
		fwrite(resp->body, 1, resp->len, stdout);
	if (resp->len == 0 || resp->body[resp->len - 1] != '\n')
		putchar('\n');
}

void
cq_ctl_human_bytes(uint64_t v, char *buf, size_t size)
{
	static const char units[] = "KMGTP";
	if (v < 1024) {
		snprintf(buf, size, "%" PRIu64, v);
		return;
	}
	double d = (double)v;
	int u = -1;
	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	snprintf(buf, size, "%.1f%c", d, units[u]);
}

void
cq_ctl_human_duration(uint64_t s, char *buf, size_t size)
{
	if (s >= 86400)
		snprintf(buf, size, "%" PRIu64 "d%02" PRIu64 "h", s / 86400,
			s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, size, "%" PRIu64 "h%02" PRIu64 "m", s / 3600,
			s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, size, "%" PRIu64 "m%02" PRIu64 "s", s / 60,
			s % 60);
	else
		snprintf(buf, size, "%" PRIu64 "s", s);
}

void
cq_ctl_human_time(uint64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t == 0 || localtime_r(&tt, &tm) == NULL ||
		strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, size, "-");
}
