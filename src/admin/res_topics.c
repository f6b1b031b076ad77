/*
 * res_topics.c — GET /api/v1/mqtt/topics: the topic filters subscribed
 * to, with the number of subscribers of each.
 *
 * By default the answer is Go comqtt's tree: {"topic", "subscribers",
 * "children"}, one node per level, the root's topic "".  With
 * ?format=list it is a paged list of {"topic", "subscribers"} sorted by
 * filter (?topic= keeps the filters holding that substring).  Counted from
 * the sessions' subscriptions in shm (online and offline sessions).
 */
#include "config.h"
#include "admin/admin-int.h"

#include <stdlib.h>
#include <string.h>

typedef struct tcount {
	const char *filter;
	size_t len;
	size_t subscribers;
} tcount_t;

/* Level order: '/' sorts below every other byte, so a filter's
 * descendants ("a/...") come right after it, before "a-x". */
static int
by_filter(const void *x, const void *y)
{
	const cq_subrow_t *a = x, *b = y;
	size_t n = a->filter_len < b->filter_len ? a->filter_len
						 : b->filter_len;
	for (size_t i = 0; i < n; i++) {
		unsigned ca = (unsigned char)a->filter[i];
		unsigned cb = (unsigned char)b->filter[i];
		ca = ca == '/' ? 0 : ca + 1;
		cb = cb == '/' ? 0 : cb + 1;
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	return (a->filter_len > b->filter_len) -
		(a->filter_len < b->filter_len);
}

/* Distinct filters of subs (sorted by filter) with their counts. */
static tcount_t *
count(cq_subset_t *subs, size_t *n_r)
{
	if (subs->n > 1)
		qsort(subs->v, subs->n, sizeof(*subs->v), by_filter);
	tcount_t *v = calloc(subs->n + 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; v != NULL && i < subs->n; i++) {
		const cq_subrow_t *s = &subs->v[i];
		if (n > 0 && v[n - 1].len == s->filter_len &&
			memcmp(v[n - 1].filter, s->filter, s->filter_len) ==
				0) {
			v[n - 1].subscribers++;
			continue;
		}
		v[n++] = (tcount_t){s->filter, s->filter_len, 1};
	}
	*n_r = n;
	return v;
}

/* ---- the tree ------------------------------------------------------- */

/*
 * The tree is written recursively over the list in level order
 * (by_filter): the filters below a node are those starting with
 * "<node>/", a contiguous run right after the node's own filter.
 */
static size_t
level_len(const char *s, size_t len)
{
	const char *slash = memchr(s, '/', len);
	return slash != NULL ? (size_t)(slash - s) : len;
}

static void node_children(
	cq_json_t *j, const tcount_t *v, size_t from, size_t to, size_t depth);

/* The node for the level at 'off' of v[from]'s filter, covering v[from,
 * to) that share it; returns where the next sibling starts. */
static size_t
node(cq_json_t *j, const tcount_t *v, size_t from, size_t to, size_t off)
{
	const char *lv = v[from].filter + off;
	size_t ll = level_len(lv, v[from].len - off);
	size_t end = from, here = 0;
	while (end < to && v[end].len >= off + ll &&
		memcmp(v[end].filter + off, lv, ll) == 0 &&
		(v[end].len == off + ll || v[end].filter[off + ll] == '/')) {
		if (v[end].len == off + ll)
			here = v[end].subscribers;
		end++;
	}
	cq_json_obj_begin(j);
	cq_json_kstr(j, "topic", lv, ll);
	cq_json_kuint(j, "subscribers", here);
	node_children(j, v, from, end, off + ll + 1);
	cq_json_obj_end(j);
	return end;
}

static void
node_children(
	cq_json_t *j, const tcount_t *v, size_t from, size_t to, size_t off)
{
	bool any = false;
	for (size_t i = from; i < to; i++)
		any = any || v[i].len >= off;
	if (!any)
		return;
	cq_json_key(j, "children");
	cq_json_arr_begin(j);
	for (size_t i = from; i < to;) {
		if (v[i].len < off) {
			i++; /* the node's own filter */
			continue;
		}
		i = node(j, v, i, to, off);
	}
	cq_json_arr_end(j);
}

/* ---- the handler ---------------------------------------------------- */

static void
list_json(cq_json_t *j, const cq_page_t *p, const tcount_t *v, size_t n)
{
	size_t from, to;
	cq_page_window(p, n, &from, &to);
	cq_json_obj_begin(j);
	cq_page_head(j, p, n);
	cq_json_arr_begin(j);
	for (size_t i = from; i < to; i++) {
		cq_json_obj_begin(j);
		cq_json_kstr(j, "topic", v[i].filter, v[i].len);
		cq_json_kuint(j, "subscribers", v[i].subscribers);
		cq_json_obj_end(j);
	}
	cq_json_arr_end(j);
	cq_json_obj_end(j);
}

void
cq_res_topics(cq_hreq_t *r)
{
	cq_page_t p;
	const char *fmt = cq_http_query(r, "format");
	bool list = fmt != NULL && strcmp(fmt, "list") == 0;
	if (fmt != NULL && !list && strcmp(fmt, "tree") != 0) {
		cq_http_error(r, 400, "format: expected tree or list");
		return;
	}
	if (cq_http_page(r, &p) < 0)
		return;
	const char *q = cq_http_query(r, "topic");
	cq_subset_t subs = {0};
	size_t n = 0;
	tcount_t *v = cq_snap_subs_all(NULL, q && q[0] ? q : NULL, &subs) == 0
		? count(&subs, &n)
		: NULL;
	if (v == NULL) {
		cq_subset_free(&subs);
		cq_http_error(r, 503, "out of memory");
		return;
	}
	cq_json_t j;
	cq_json_init(&j);
	if (list) {
		list_json(&j, &p, v, n);
	} else {
		cq_json_obj_begin(&j);
		cq_json_kcstr(&j, "topic", "");
		cq_json_kuint(&j, "subscribers", 0);
		node_children(&j, v, 0, n, 0);
		cq_json_obj_end(&j);
	}
	free(v);
	cq_subset_free(&subs);
	cq_http_json(r, 200, &j);
}
