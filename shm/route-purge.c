/*
 * route-purge.c — cq_route_purge_slot (see route.h): a respawned worker
 * drops the routes its predecessor recorded that no session of its holds
 * any more.
 *
 * Shard by shard, under the shard lock: first collect what to clear
 * (walking the shard's filter index and trie, rebuilding each filter's
 * text, asking keep()), then clear it with the writers' own remove, so
 * the walk never runs over tables that the removals rebuild.
 */
#include "config.h"

#include <string.h>

#include "shm/grow.h"
#include "shm/route-int.h"
#include "shm/route.h"
#include "shm/trie.h"

/* One entry to clear: its filter text (in pg->texts) and group key. */
struct purge_item {
	uint32_t off, len;
	uint64_t key;
};

struct purge_frame {
	cq_off_t node;
	uint32_t plen; /* length of the parent's path, or NO_PARENT */
};

#define NO_PARENT UINT32_MAX

struct purge {
	uint64_t bit;
	cq_route_keep_fn keep;
	void *arg;
	char *path;
	uint32_t pcap;
	char *texts;
	uint32_t tlen, tcap;
	struct purge_item *items;
	uint32_t nitems, icap;
	struct purge_frame *stack;
	uint32_t sp, scap;
	int err;
};

static void
purge_note(struct purge *pg, uint32_t len, uint64_t key)
{
	if (cq_grow((void **)&pg->items, &pg->icap, (uint64_t)pg->nitems + 1,
		    sizeof(*pg->items)) < 0 ||
		cq_grow((void **)&pg->texts, &pg->tcap,
			(uint64_t)pg->tlen + len, 1) < 0) {
		pg->err = -1;
		return;
	}
	memcpy(pg->texts + pg->tlen, pg->path, len);
	pg->items[pg->nitems++] = (struct purge_item){pg->tlen, len, key};
	pg->tlen += len;
}

/* Note the entries of one position {workers, group table gt} (whose
 * filter is path[0..len)) to clear. */
static void
purge_position(struct purge *pg, uint64_t workers, cq_off_t gt, uint32_t len)
{
	if ((workers & pg->bit) &&
		(pg->keep == NULL || !pg->keep(pg->arg, pg->path, len, 0)))
		purge_note(pg, len, 0);
	const route_groups_t *gs = CQ_PTR(const route_groups_t, gt);
	for (uint32_t i = 0; gs != NULL && i < gs->n; i++)
		if ((gs->g[i].workers & pg->bit) &&
			(pg->keep == NULL ||
				!pg->keep(
					pg->arg, pg->path, len, gs->g[i].key)))
			purge_note(pg, len, gs->g[i].key);
}

static void
purge_push(struct purge *pg, cq_off_t node, uint32_t plen)
{
	if (cq_grow((void **)&pg->stack, &pg->scap, (uint64_t)pg->sp + 1,
		    sizeof(*pg->stack)) < 0) {
		pg->err = -1;
		return;
	}
	pg->stack[pg->sp++] = (struct purge_frame){node, plen};
}

static void
purge_push_kids(struct purge *pg, uint64_t kids, uint32_t plen)
{
	cq_trie_iter_t it;
	cq_trie_iter_init(&it, kids);
	for (cq_off_t c; (c = cq_trie_iter_next(&it)) != CQ_OFF_NULL;)
		purge_push(pg, c, plen);
}

/* Visit one node: extend the path, note its positions, push its kids. */
static void
purge_node(struct purge *pg, struct purge_frame f)
{
	const route_node_t *n = route_node_at(f.node);
	uint32_t start = f.plen == NO_PARENT ? 0 : f.plen + 1;
	uint32_t len = start + n->h.len;
	if (cq_grow((void **)&pg->path, &pg->pcap, (uint64_t)len + 3, 1) < 0) {
		pg->err = -1;
		return;
	}
	if (f.plen != NO_PARENT)
		pg->path[f.plen] = '/';
	memcpy(pg->path + start, cq_trie_text(&n->h, ROUTE_TEXT), n->h.len);
	purge_position(
		pg, n->workers[ROUTE_EXACT], n->groups[ROUTE_EXACT], len);
	memcpy(pg->path + len, "/#", 2);
	purge_position(
		pg, n->workers[ROUTE_MULTI], n->groups[ROUTE_MULTI], len + 2);
	purge_push_kids(pg, n->h.kids, len);
	if (n->plus != CQ_OFF_NULL)
		purge_push(pg, n->plus, len);
}

/* Note the entries of a filter index (X1) to clear. */
static void
purge_index(struct purge *pg, uint64_t index)
{
	cq_trie_iter_t it;
	cq_trie_iter_init(&it, index);
	for (cq_off_t c;
		pg->err == 0 && (c = cq_trie_iter_next(&it)) != CQ_OFF_NULL;) {
		const route_entry_t *e = route_entry_at(c);
		if (cq_grow((void **)&pg->path, &pg->pcap, e->h.len, 1) < 0) {
			pg->err = -1;
			return;
		}
		memcpy(pg->path, cq_trie_text(&e->h, ROUTE_ENTRY_TEXT),
			e->h.len);
		purge_position(pg, e->h.value, e->groups, e->h.len);
	}
}

/* Collect shard si's entries to clear, then clear them; shard locked. */
static long
purge_shard_locked(struct purge *pg, route_shard_t *s, unsigned si)
{
	route_area_t *a = cq_route_area;
	pg->nitems = pg->sp = pg->tlen = 0;
	if (si == a->nshards + ROUTE_SHARD_HASH) {
		if (cq_grow((void **)&pg->path, &pg->pcap, 4, 1) < 0)
			return -1;
		pg->path[0] = '#';
		purge_position(pg, a->root.workers[ROUTE_MULTI],
			a->root.groups[ROUTE_MULTI], 1);
	} else {
		purge_index(pg, s->index);
		purge_index(pg, s->wild);
		if (si < a->nshards)
			purge_push_kids(pg, s->kids, NO_PARENT);
		else if (a->root.plus != CQ_OFF_NULL) /* the '+' shard */
			purge_push(pg, a->root.plus, NO_PARENT);
	}
	while (pg->sp > 0 && pg->err == 0)
		purge_node(pg, pg->stack[--pg->sp]);
	if (pg->err < 0)
		return -1;
	for (uint32_t i = 0; i < pg->nitems; i++) {
		cq_topic_levels_t lv;
		if (cq_topic_levels_split(&lv, pg->texts + pg->items[i].off,
			    pg->items[i].len, a->seed) < 0)
			return -1;
		cq_route_remove_locked(s, &lv, pg->items[i].key, pg->bit);
		cq_topic_levels_free(&lv);
	}
	return pg->nitems;
}

long
cq_route_purge_slot(unsigned slot, cq_route_keep_fn keep, void *arg)
{
	if (slot >= CQ_MAX_WORKERS || cq_route_area == NULL) {
		errno = EINVAL;
		return -1;
	}
	struct purge pg = {
		.bit = UINT64_C(1) << slot, .keep = keep, .arg = arg};
	long total = 0;
	route_area_t *a = cq_route_area;
	for (unsigned si = 0; si < a->nshards + ROUTE_EXTRA_SHARDS; si++) {
		route_shard_t *s = cq_route_shard_lock(si);
		long n = purge_shard_locked(&pg, s, si);
		cq_mutex_unlock(&s->lock);
		if (n < 0) {
			total = -1;
			errno = ENOMEM;
			break;
		}
		total += n;
	}
	free(pg.path);
	free(pg.texts);
	free(pg.items);
	free(pg.stack);
	return total;
}
