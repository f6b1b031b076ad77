/*
 * retained-walk.c — resumable cursors over the retained store (see
 * retained.h for the contract).
 *
 * Order: depth-first, a node before its children, children in key order —
 * the children table order (hash, text), and at the root the shards in
 * index order.  That order does not depend on table capacities, so it
 * survives rebuilds between steps.
 *
 * A step rebuilds its position from the path of the topic it visited last
 * (levels with their hashes, private memory): it descends along the path,
 * positioning each level's iterator just after the path's key there
 * (cq_trie_seek), and continues.  A path level that no longer exists just
 * means "continue after that key".  Within a step, table pointers are
 * used freely (QSBR keeps them valid until the caller's next quiescent
 * point); between steps only the path is kept.  Because a reader may see
 * a key twice while a writer shifts a run (trie.h T3), an iterator takes
 * only keys above the last one it took.
 *
 * Budget: a step ends after 'budget' node visits; every visit extends or
 * moves the path, so each step makes progress.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "shm/grow.h"
#include "shm/msg.h"
#include "shm/retained-int.h"
#include "shm/retained.h"
#include "shm/topic_match.h"

/* One level of the last visited topic: its key and text in c->text. */
struct rpath {
	uint32_t hash, off, len;
};

/* Iterator over the children of one node (NULL: the root). */
struct rframe {
	const ret_node_t *node;
	cq_trie_iter_t it; /* over the node's (or the shard's) children */
	uint32_t shard; /* root: the shard being iterated */
	uint32_t depth; /* the node's depth = level of its children */
	bool in_hash; /* below a '#': everything matches */
	bool done; /* literal level: the one child was taken */
};

struct expired {
	uint32_t off, len; /* in c->etext */
	cq_off_t msg;
};

struct cq_retained_cursor {
	char *filter;
	cq_topic_levels_t flv;
	bool all; /* sweep: '$' topics too */
	bool finished;
	struct rpath *path;
	uint32_t depth, pcap;
	char *text;
	uint32_t tcap;
	struct rframe *fr;
	uint32_t sp, frcap;
	struct expired *exp;
	uint32_t nexp, expcap;
	char *etext;
	uint32_t etlen, etcap;
};

enum { K_NONE, K_LITERAL, K_ALL };

static cq_retained_cursor_t *
cursor_new(const char *filter, size_t len, bool all)
{
	cq_retained_cursor_t *c = calloc(1, sizeof(*c));
	if (c == NULL || cq_retained_area == NULL)
		goto fail;
	c->all = all;
	if ((c->filter = malloc(len + 1)) == NULL)
		goto fail;
	memcpy(c->filter, filter, len);
	c->filter[len] = '\0';
	if (cq_topic_levels_split(
		    &c->flv, c->filter, len, cq_retained_area->seed) < 0)
		goto fail;
	return c;
fail:
	if (c != NULL)
		free(c->filter);
	free(c);
	errno = ENOMEM;
	return NULL;
}

cq_retained_cursor_t *
cq_retained_search_new(const char *filter, size_t len)
{
	cq_match_share_t sh;
	cq_match_share_split(filter, len, &sh);
	return cursor_new(sh.filter, sh.filter_len, false);
}

cq_retained_cursor_t *
cq_retained_sweep_new(void)
{
	return cursor_new("#", 1, true);
}

void
cq_retained_cursor_free(cq_retained_cursor_t *c)
{
	if (c == NULL)
		return;
	cq_topic_levels_free(&c->flv);
	free(c->filter);
	free(c->path);
	free(c->text);
	free(c->fr);
	free(c->exp);
	free(c->etext);
	free(c);
}

/* ---- filter rules per frame --------------------------------------- */

static const cq_topic_level_t *
flevel(const cq_retained_cursor_t *c, uint32_t d)
{
	return d < c->flv.n ? &c->flv.lv[d] : NULL;
}

static int
frame_kind(const cq_retained_cursor_t *c, const struct rframe *f)
{
	const cq_topic_level_t *fl = flevel(c, f->depth);
	if (f->in_hash)
		return K_ALL;
	if (fl == NULL)
		return K_NONE;
	if (cq_topic_level_is_plus(fl) || cq_topic_level_is_hash(fl))
		return K_ALL;
	return K_LITERAL;
}

/* Does a child reached from f match the filter (it has a level there)? */
static bool
child_matches(const cq_retained_cursor_t *c, const struct rframe *f)
{
	const cq_topic_level_t *fl = flevel(c, f->depth);
	const cq_topic_level_t *next = flevel(c, f->depth + 1);
	return f->in_hash || cq_topic_level_is_hash(fl) ||
		f->depth + 1 == c->flv.n ||
		(next != NULL && cq_topic_level_is_hash(next)); /* parent */
}

static bool
child_in_hash(const cq_retained_cursor_t *c, const struct rframe *f)
{
	const cq_topic_level_t *fl = flevel(c, f->depth);
	return f->in_hash || (fl != NULL && cq_topic_level_is_hash(fl));
}

static bool
child_descends(const cq_retained_cursor_t *c, const struct rframe *f)
{
	return child_in_hash(c, f) || f->depth + 1 < c->flv.n;
}

/* ---- frames ---------------------------------------------------------- */

static uint64_t
shard_kids(uint32_t shard)
{
	return cq_trie_kids_load(&cq_retained_area->shard[shard].kids);
}

static int
push(cq_retained_cursor_t *c, const ret_node_t *node, uint32_t depth,
	bool in_hash)
{
	if (cq_grow((void **)&c->fr, &c->frcap, (uint64_t)c->sp + 1,
		    sizeof(*c->fr)) < 0)
		return -1;
	struct rframe *f = &c->fr[c->sp++];
	*f = (struct rframe){.node = node, .depth = depth, .in_hash = in_hash};
	cq_trie_iter_init(&f->it,
		node != NULL ? cq_trie_kids_load(&node->h.kids)
			     : shard_kids(0));
	return 0;
}

static int
key_cmp_path(const cq_retained_cursor_t *c, const ret_node_t *n,
	const struct rpath *p)
{
	return cq_trie_key_cmp(n->h.hash, cq_trie_text(&n->h, RET_TEXT),
		n->h.len, p->hash, c->text + p->off, p->len);
}

/* The child of f's node with key (hash, s, len), or NULL. */
static const ret_node_t *
find_child(const struct rframe *f, uint32_t hash, const char *s, uint32_t len)
{
	uint64_t kids = f->node != NULL
		? cq_trie_kids_load(&f->node->h.kids)
		: shard_kids(hash & (cq_retained_area->nshards - 1));
	return (const ret_node_t *)cq_trie_child(kids, hash, s, len, RET_TEXT);
}

/* Position f just after path level p (its last taken child). */
static void
frame_seek(cq_retained_cursor_t *c, struct rframe *f, const struct rpath *p)
{
	if (frame_kind(c, f) == K_LITERAL) {
		f->done = true;
		return;
	}
	if (f->node == NULL) {
		f->shard = p->hash & (cq_retained_area->nshards - 1);
		cq_trie_iter_init(&f->it, shard_kids(f->shard));
	}
	cq_trie_iter_seek(
		&f->it, p->hash, c->text + p->off, p->len, false, RET_TEXT);
}

/* The next child of f to visit, in key order, or NULL. */
static const ret_node_t *
next_child(cq_retained_cursor_t *c, struct rframe *f)
{
	int kind = frame_kind(c, f);
	if (kind == K_NONE || (kind == K_LITERAL && f->done))
		return NULL;
	if (kind == K_LITERAL) {
		const cq_topic_level_t *fl = &c->flv.lv[f->depth];
		f->done = true;
		return find_child(f, fl->hash, fl->s, fl->len);
	}
	const struct rpath *last = c->depth > f->depth ? &c->path[f->depth]
						       : NULL;
	uint32_t mask = cq_retained_area->nshards - 1;
	for (;;) {
		cq_off_t off = cq_trie_iter_next(&f->it);
		if (off == CQ_OFF_NULL) {
			if (f->node != NULL || f->shard >= mask)
				return NULL;
			cq_trie_iter_init(&f->it, shard_kids(++f->shard));
			continue;
		}
		const ret_node_t *n = CQ_PTR(const ret_node_t, off);
		if (last != NULL &&
			(f->node != NULL || (last->hash & mask) == f->shard) &&
			key_cmp_path(c, n, last) <= 0)
			continue; /* seen already (a shifting run) */
		if (f->depth == 0 && !c->all && n->h.len > 0 &&
			cq_trie_text(&n->h, RET_TEXT)[0] == '$')
			continue; /* [MQTT-4.7.2-1] */
		return n;
	}
}

/* ---- the walk ------------------------------------------------------ */

/* Make n the path's level d (the last visited topic). */
static int
set_path(cq_retained_cursor_t *c, uint32_t d, const ret_node_t *n)
{
	uint32_t off = d == 0 ? 0 : c->path[d - 1].off + c->path[d - 1].len + 1;
	if (cq_grow((void **)&c->path, &c->pcap, (uint64_t)d + 1,
		    sizeof(*c->path)) < 0 ||
		cq_grow((void **)&c->text, &c->tcap,
			(uint64_t)off + n->h.len + 1, 1) < 0)
		return -1;
	if (d > 0)
		c->text[off - 1] = '/';
	memcpy(c->text + off, cq_trie_text(&n->h, RET_TEXT), n->h.len);
	c->text[off + n->h.len] = '\0';
	c->path[d] = (struct rpath){n->h.hash, off, n->h.len};
	c->depth = d + 1;
	return 0;
}

static int
note_expired(cq_retained_cursor_t *c, uint32_t len, cq_off_t msg)
{
	if (cq_grow((void **)&c->exp, &c->expcap, (uint64_t)c->nexp + 1,
		    sizeof(*c->exp)) < 0 ||
		cq_grow((void **)&c->etext, &c->etcap, (uint64_t)c->etlen + len,
			1) < 0)
		return -1;
	memcpy(c->etext + c->etlen, c->text, len);
	c->exp[c->nexp++] = (struct expired){c->etlen, len, msg};
	c->etlen += len;
	return 0;
}

static int
visit(cq_retained_cursor_t *c, uint32_t fi, const ret_node_t *n, uint64_t now,
	cq_retained_fn fn, void *arg)
{
	struct rframe f = c->fr[fi];
	if (set_path(c, f.depth, n) < 0)
		return -1;
	cq_off_t m = cq_off_load(&n->msg);
	if (m != CQ_OFF_NULL && child_matches(c, &f)) {
		uint32_t len = c->path[f.depth].off + n->h.len;
		if (cq_msg_expired(cq_msg_get(m), now)) {
			if (note_expired(c, len, m) < 0)
				return -1;
		} else if (fn != NULL)
			fn(arg, c->text, len, m);
	}
	if (child_descends(c, &f))
		return push(c, n, f.depth + 1, child_in_hash(c, &f));
	return 0;
}

/* Rebuild the frames along the last visited path. */
static int
rebuild(cq_retained_cursor_t *c)
{
	c->sp = 0;
	if (push(c, NULL, 0, false) < 0)
		return -1;
	for (uint32_t d = 0; d < c->depth; d++) {
		struct rframe *f = &c->fr[c->sp - 1];
		const struct rpath *p = &c->path[d];
		frame_seek(c, f, p);
		const ret_node_t *n = find_child(
			f, p->hash, c->text + p->off, p->len);
		if (n == NULL || !child_descends(c, f))
			break; /* gone: continue after its key */
		if (push(c, n, d + 1, child_in_hash(c, f)) < 0)
			return -1;
	}
	return 0;
}

int
cq_retained_step(cq_retained_cursor_t *c, uint64_t now, unsigned budget,
	cq_retained_fn fn, void *arg)
{
	if (c->finished)
		return 0;
	int rc = rebuild(c);
	unsigned visits = 0;
	while (rc == 0 && c->sp > 0) {
		const ret_node_t *n = next_child(c, &c->fr[c->sp - 1]);
		if (n == NULL) {
			c->sp--;
			continue;
		}
		rc = visit(c, c->sp - 1, n, now, fn, arg);
		if (++visits >= budget)
			break;
	}
	if (rc == 0 && c->sp == 0)
		c->finished = true;
	/* Expired messages met on the way: delete them now that the walk
	 * holds nothing (each under its shard lock). */
	for (uint32_t i = 0; i < c->nexp; i++)
		cq_retained_delete_if(
			c->etext + c->exp[i].off, c->exp[i].len, c->exp[i].msg);
	c->nexp = c->etlen = 0;
	return rc < 0 ? -1 : !c->finished;
}
