/*
 * qsbr.c — quiescent-state-based reclamation across processes (qsbr.h).
 *
 * Shared state: a global epoch (64-bit, starts at 1), one slot per worker
 * {ctr, count, pid} on its own cache line, one limbo per worker slot and one
 * "orphan" limbo (for processes without a slot and for limbos of dead
 * slots) guarded by a robust mutex.
 *
 * Invariants:
 *  1. A slot's ctr is 0 (offline / unregistered) or the value of the global
 *     epoch its process read at its last quiescent point; ctr <= epoch.
 *  2. cq_qsbr_retire(obj) is called after obj was unpublished; it takes
 *     E = ++epoch (seq_cst) and files (obj, E).  A slot with ctr >= E
 *     passed a quiescent point after the unpublish, so it cannot hold obj.
 *     obj is freed once every slot has ctr == 0 or ctr >= E.
 *  3. Readers keep no reference into shared objects across a quiescent
 *     point or while offline.
 *  4. quiescent() is an acquire load of the epoch and a release store of
 *     ctr: the release orders every earlier read of shared data before the
 *     announcement; the acquire makes later reads see every unpublish that
 *     preceded the epoch value read.  Going online stores ctr and then
 *     issues a full fence (against the reclaimer's "store unpublish; read
 *     ctr", a store-load pattern).
 *  5. A limbo is a FIFO written by one process at a time (its slot's
 *     process, the master after that process died, or the orphan lock's
 *     holder).  Epochs in a slot's FIFO increase, so reclamation stops at
 *     the first entry still in its grace period.  The orphan FIFO may hold
 *     adopted entries out of order: that only delays their freeing.
 *  6. Entries leave a limbo before they are freed (head advanced, then
 *     cq_arena_free): a death in between leaks, it never frees twice.
 *
 * Reader slots (slots[CQ_MAX_WORKERS ..]) belong to processes without a
 * worker slot that read the tries (comqtt-admin): they take part in
 * safe_epoch() like worker slots, have no limbo, and are cleared by the
 * master when their process dies (cq_qsbr_reader_reap).
 *
 * A dead slot's ctr would stop every grace period: the master clears it
 * (cq_qsbr_reap) after waitpid(), and moves its limbo to the orphan limbo,
 * which any process drains (cq_qsbr_reclaim).  When a limbo's inline ring
 * is full and nothing can be freed (a reader is stuck — the watchdog's
 * business), entries go to an overflow chain of arena blocks; if even that
 * allocation fails the object is leaked and counted, never freed early.
 */
#include "config.h"
#include "shm/qsbr.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/defs.h"
#include "core/log.h"
#include "shm/arena.h"
#include "shm/crashpoint.h"
#include "shm/lock.h"

#define QSBR_MAGIC    UINT64_C(0x5253425351514d43) /* "CMQQSBSR" */
#define LIMBO_INLINE  256u
#define LIMBO_BLOCK_N 255u
#define RECLAIM_BATCH 64u
#define crash_order() __atomic_signal_fence(__ATOMIC_SEQ_CST)

typedef struct qsbr_entry {
	uint64_t epoch;
	cq_off_t off;
	uint32_t pad;
} qsbr_entry_t;

/* An overflow block: one 4 KiB arena object. */
typedef struct limbo_block {
	cq_off_t next;
	uint32_t head; /* entries [head, count) are pending */
	uint32_t count;
	uint32_t pad;
	qsbr_entry_t e[LIMBO_BLOCK_N];
} limbo_block_t;

typedef struct qsbr_limbo {
	uint64_t head; /* inline ring: entries [head, tail) */
	uint64_t tail;
	cq_off_t ovf_head; /* overflow chain of limbo_block_t, oldest first */
	cq_off_t ovf_tail;
	uint64_t retired; /* statistics */
	uint64_t freed;
	uint64_t leaked;
	qsbr_entry_t ring[LIMBO_INLINE];
} __attribute__((aligned(CQ_CACHELINE))) qsbr_limbo_t;

typedef struct qsbr_slot {
	uint64_t ctr;
	uint64_t count; /* quiescent points passed: the watchdog's pulse */
	uint32_t pid;
} __attribute__((aligned(CQ_CACHELINE))) qsbr_slot_t;

typedef struct qsbr_hdr {
	uint64_t magic;
	uint32_t nslots;
	uint32_t pad;
	uint64_t epoch __attribute__((aligned(CQ_CACHELINE)));
	cq_mutex_t orphan_lock __attribute__((aligned(CQ_CACHELINE)));
	qsbr_limbo_t orphan;
	qsbr_slot_t slots[CQ_MAX_WORKERS + CQ_QSBR_READERS];
	qsbr_limbo_t limbo[]; /* nslots */
} qsbr_hdr_t;

CQ_STATIC_ASSERT(sizeof(limbo_block_t) == CQ_ARENA_MAX_SMALL,
	"a limbo block is one small arena object");

static qsbr_hdr_t *cur;
/* This process's reader slot, when it has no worker slot. */
static unsigned my_reader = CQ_QSBR_READERS;

static qsbr_slot_t *
my_slot(void)
{
	if (cur == NULL)
		return NULL;
	if (cq_shm_slot < cur->nslots)
		return &cur->slots[cq_shm_slot];
	if (cq_shm_slot == CQ_SLOT_NONE && my_reader < CQ_QSBR_READERS)
		return &cur->slots[CQ_MAX_WORKERS + my_reader];
	return NULL;
}

void
cq_qsbr_reader_take(unsigned reader)
{
	my_reader = reader < CQ_QSBR_READERS ? reader : CQ_QSBR_READERS;
}

void
cq_qsbr_register(void)
{
	qsbr_slot_t *s = my_slot();
	if (s == NULL)
		return;
	__atomic_store_n(&s->pid, (uint32_t)getpid(), __ATOMIC_RELAXED);
	cq_qsbr_online();
}

void
cq_qsbr_unregister(void)
{
	qsbr_slot_t *s = my_slot();
	if (s == NULL)
		return;
	cq_qsbr_offline();
	__atomic_store_n(&s->pid, 0, __ATOMIC_RELAXED);
}

void
cq_qsbr_quiescent(void)
{
	qsbr_slot_t *s = my_slot();
	if (s == NULL)
		return;
	uint64_t e = __atomic_load_n(&cur->epoch, __ATOMIC_ACQUIRE);
	__atomic_store_n(&s->ctr, e, __ATOMIC_RELEASE);
	__atomic_store_n(&s->count, s->count + 1, __ATOMIC_RELAXED);
}

void
cq_qsbr_offline(void)
{
	qsbr_slot_t *s = my_slot();
	if (s != NULL)
		__atomic_store_n(&s->ctr, 0, __ATOMIC_RELEASE);
}

void
cq_qsbr_online(void)
{
	qsbr_slot_t *s = my_slot();
	if (s == NULL)
		return;
	__atomic_store_n(&s->ctr,
		__atomic_load_n(&cur->epoch, __ATOMIC_ACQUIRE),
		__ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&s->count, s->count + 1, __ATOMIC_RELAXED);
}

/* The newest epoch every online slot has reached. */
static uint64_t
safe_epoch(const qsbr_hdr_t *h)
{
	uint64_t m = __atomic_load_n(&h->epoch, __ATOMIC_SEQ_CST);
	for (uint32_t i = 0; i < CQ_MAX_WORKERS + CQ_QSBR_READERS; i++) {
		if (i == h->nslots)
			i = CQ_MAX_WORKERS; /* the reader slots */
		uint64_t c = __atomic_load_n(
			&h->slots[i].ctr, __ATOMIC_ACQUIRE);
		if (c != 0 && c < m)
			m = c;
	}
	return m;
}

static unsigned
free_batch(const cq_off_t *objs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		cq_arena_free(objs[i]);
	return n;
}

/* Free the inline entries whose grace period has passed. */
static unsigned
reclaim_ring(qsbr_limbo_t *l, uint64_t safe)
{
	unsigned total = 0;
	for (;;) {
		cq_off_t objs[RECLAIM_BATCH];
		unsigned n = 0;
		uint64_t h = l->head;
		while (h < l->tail && n < RECLAIM_BATCH &&
			l->ring[h % LIMBO_INLINE].epoch <= safe)
			objs[n++] = l->ring[h++ % LIMBO_INLINE].off;
		if (n == 0)
			return total;
		__atomic_store_n(&l->head, h, __ATOMIC_RELEASE);
		crash_order();
		CQ_CRASHPOINT("qsbr.reclaim");
		total += free_batch(objs, n);
	}
}

/* Free the due entries of one overflow block; *blocked_r says whether
 * one is still in its grace period. */
static unsigned
reclaim_block(limbo_block_t *b, uint64_t safe, int *blocked_r)
{
	unsigned total = 0;
	for (;;) {
		cq_off_t objs[RECLAIM_BATCH];
		unsigned n = 0;
		uint32_t h = b->head;
		while (h < b->count && n < RECLAIM_BATCH &&
			b->e[h].epoch <= safe)
			objs[n++] = b->e[h++].off;
		if (n == 0) {
			*blocked_r = h < b->count;
			return total;
		}
		__atomic_store_n(&b->head, h, __ATOMIC_RELEASE);
		crash_order();
		total += free_batch(objs, n);
	}
}

/* The same for the overflow chain, freeing emptied blocks. */
static unsigned
reclaim_overflow(qsbr_limbo_t *l, uint64_t safe)
{
	unsigned total = 0;
	while (l->ovf_head != CQ_OFF_NULL) {
		limbo_block_t *b = CQ_PTR(limbo_block_t, l->ovf_head);
		int blocked;
		total += reclaim_block(b, safe, &blocked);
		if (blocked)
			return total;
		/* Consumed: the owner of the limbo is the only writer, so
		 * even a partly filled tail block can go. */
		cq_off_t done = l->ovf_head;
		l->ovf_head = b->next;
		if (l->ovf_head == CQ_OFF_NULL)
			l->ovf_tail = CQ_OFF_NULL;
		crash_order();
		cq_arena_free(done);
	}
	return total;
}

static unsigned
limbo_reclaim(qsbr_limbo_t *l, uint64_t safe)
{
	unsigned n = reclaim_ring(l, safe) + reclaim_overflow(l, safe);
	l->freed += n;
	return n;
}

/* Append to the overflow chain; -1 when no block can be had. */
static int
overflow_push(qsbr_limbo_t *l, qsbr_entry_t e)
{
	limbo_block_t *b = l->ovf_tail != CQ_OFF_NULL
		? CQ_PTR(limbo_block_t, l->ovf_tail)
		: NULL;
	if (b == NULL || b->count == LIMBO_BLOCK_N) {
		cq_off_t nb = cq_arena_alloc(sizeof(limbo_block_t));
		if (nb == CQ_OFF_NULL)
			return -1;
		limbo_block_t *n = CQ_PTR(limbo_block_t, nb);
		n->next = CQ_OFF_NULL;
		n->head = n->count = 0;
		crash_order();
		if (b != NULL)
			cq_off_publish(&b->next, nb);
		else
			l->ovf_head = nb;
		l->ovf_tail = nb;
		b = n;
	}
	b->e[b->count] = e;
	__atomic_store_n(&b->count, b->count + 1, __ATOMIC_RELEASE);
	return 0;
}

/* File (off, epoch) in limbo l; the caller owns l. */
static void
limbo_push(qsbr_limbo_t *l, cq_off_t off, uint64_t epoch)
{
	qsbr_entry_t e = {.epoch = epoch, .off = off};
	if (l->tail - l->head == LIMBO_INLINE)
		limbo_reclaim(l, safe_epoch(cur));
	l->retired++;
	if (l->tail - l->head < LIMBO_INLINE && l->ovf_head == CQ_OFF_NULL) {
		l->ring[l->tail % LIMBO_INLINE] = e;
		__atomic_store_n(&l->tail, l->tail + 1, __ATOMIC_RELEASE);
		return;
	}
	if (overflow_push(l, e) == 0)
		return;
	l->leaked++;
	cq_log(CQ_LOG_ERR, 0,
		"qsbr: limbo full and the arena too: object %#x leaked", off);
}

void
cq_qsbr_retire(cq_off_t off)
{
	if (off == CQ_OFF_NULL || cur == NULL)
		return;
	uint64_t epoch = __atomic_add_fetch(&cur->epoch, 1, __ATOMIC_SEQ_CST);
	if (cq_shm_slot < cur->nslots) {
		limbo_push(&cur->limbo[cq_shm_slot], off, epoch);
		return;
	}
	cq_mutex_lock(&cur->orphan_lock);
	limbo_push(&cur->orphan, off, epoch);
	cq_mutex_unlock(&cur->orphan_lock);
}

static int
limbo_empty(const qsbr_limbo_t *l)
{
	return __atomic_load_n(&l->head, __ATOMIC_RELAXED) ==
		__atomic_load_n(&l->tail, __ATOMIC_RELAXED) &&
		__atomic_load_n(&l->ovf_head, __ATOMIC_RELAXED) == CQ_OFF_NULL;
}

unsigned
cq_qsbr_reclaim(void)
{
	if (cur == NULL)
		return 0;
	unsigned n = 0;
	uint64_t safe = 0;
	if (cq_shm_slot < cur->nslots &&
		!limbo_empty(&cur->limbo[cq_shm_slot])) {
		safe = safe_epoch(cur);
		n += limbo_reclaim(&cur->limbo[cq_shm_slot], safe);
	}
	if (!limbo_empty(&cur->orphan) &&
		cq_mutex_trylock(&cur->orphan_lock) != CQ_AGAIN) {
		n += limbo_reclaim(&cur->orphan, safe ? safe : safe_epoch(cur));
		cq_mutex_unlock(&cur->orphan_lock);
	}
	return n;
}

/* Move a dead slot's pending entries to the orphan limbo (orphan lock
 * held).  Each entry is copied before the source forgets it: a master
 * dying here is a whole-broker restart anyway. */
static void
limbo_adopt(qsbr_hdr_t *h, qsbr_limbo_t *dead)
{
	while (dead->head < dead->tail) {
		qsbr_entry_t e = dead->ring[dead->head % LIMBO_INLINE];
		limbo_push(&h->orphan, e.off, e.epoch);
		dead->head++;
	}
	while (dead->ovf_head != CQ_OFF_NULL) {
		limbo_block_t *b = CQ_PTR(limbo_block_t, dead->ovf_head);
		for (uint32_t i = b->head; i < b->count && i < LIMBO_BLOCK_N;
			i++)
			limbo_push(&h->orphan, b->e[i].off, b->e[i].epoch);
		cq_off_t done = dead->ovf_head;
		dead->ovf_head = b->next;
		cq_arena_free(done);
	}
	dead->ovf_tail = CQ_OFF_NULL;
	dead->head = dead->tail = 0;
	dead->retired = dead->freed + dead->leaked;
}

void
cq_qsbr_reap(unsigned slot)
{
	if (cur == NULL || slot >= cur->nslots)
		return;
	qsbr_slot_t *s = &cur->slots[slot];
	__atomic_store_n(&s->ctr, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&s->pid, 0, __ATOMIC_RELAXED);
	cq_mutex_lock(&cur->orphan_lock);
	limbo_adopt(cur, &cur->limbo[slot]);
	cq_mutex_unlock(&cur->orphan_lock);
	cq_qsbr_reclaim();
}

void
cq_qsbr_reader_reap(unsigned reader)
{
	if (cur == NULL || reader >= CQ_QSBR_READERS)
		return;
	qsbr_slot_t *s = &cur->slots[CQ_MAX_WORKERS + reader];
	__atomic_store_n(&s->ctr, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&s->pid, 0, __ATOMIC_RELAXED);
	cq_qsbr_reclaim();
}

uint64_t
cq_qsbr_progress(unsigned slot, uint32_t *pid_r)
{
	if (cur == NULL || slot >= cur->nslots)
		return 0;
	if (pid_r != NULL)
		*pid_r = __atomic_load_n(
			&cur->slots[slot].pid, __ATOMIC_RELAXED);
	return __atomic_load_n(&cur->slots[slot].count, __ATOMIC_RELAXED);
}

static uint64_t
limbo_pending(const qsbr_limbo_t *l)
{
	/* Counted from the entries themselves: a process killed inside
	 * reclamation (entries out, not yet freed: leaked, see 6.) leaves
	 * 'freed' behind, and the orphan limbo is never reset. */
	uint64_t n = __atomic_load_n(&l->tail, __ATOMIC_ACQUIRE) -
		__atomic_load_n(&l->head, __ATOMIC_ACQUIRE);
	cq_off_t o = cq_off_load(&l->ovf_head);
	for (unsigned k = 0; o != CQ_OFF_NULL && k < (1u << 20); k++) {
		const limbo_block_t *b = CQ_PTR(const limbo_block_t, o);
		n += __atomic_load_n(&b->count, __ATOMIC_ACQUIRE) -
			__atomic_load_n(&b->head, __ATOMIC_ACQUIRE);
		o = cq_off_load(&b->next);
	}
	return n;
}

void
cq_qsbr_stats(cq_qsbr_stats_t *st)
{
	memset(st, 0, sizeof(*st));
	if (cur == NULL)
		return;
	st->epoch = __atomic_load_n(&cur->epoch, __ATOMIC_RELAXED);
	st->safe_epoch = safe_epoch(cur);
	st->pending = limbo_pending(&cur->orphan);
	for (uint32_t i = 0; i < cur->nslots; i++)
		st->pending += limbo_pending(&cur->limbo[i]);
}

/* ---- the module ---------------------------------------------------- */

static size_t
qsbr_size(const cq_shm_conf_t *conf)
{
	return sizeof(qsbr_hdr_t) + conf->workers * sizeof(qsbr_limbo_t);
}

static int
qsbr_init(cq_shm_t *shm, void *area, size_t size, const char **error_r)
{
	qsbr_hdr_t *h = area;
	h->magic = QSBR_MAGIC;
	h->nslots = shm->hdr->conf.workers;
	h->epoch = 1;
	if (cq_mutex_init(&h->orphan_lock) < 0) {
		*error_r = "qsbr orphan lock init failed";
		return -1;
	}
	return 0;
}

static void
qsbr_use(cq_shm_t *shm, void *area, size_t size)
{
	cur = area;
}

#define qsbr_error(rep, ...) cq_shm_check_error(rep, "qsbr", __VA_ARGS__)

typedef struct limbo_walk {
	cq_shm_t *shm;
	cq_shm_report_t *rep;
	uint64_t epoch;
	uint64_t last; /* previous entry's epoch */
	int ordered; /* a slot's limbo: epochs must not decrease */
	const char *who;
} limbo_walk_t;

static void
check_entry(limbo_walk_t *w, const qsbr_entry_t *e)
{
	if (e->epoch == 0 || e->epoch > w->epoch ||
		(w->ordered && e->epoch < w->last))
		qsbr_error(w->rep, "%s: entry epoch %llu out of order", w->who,
			(unsigned long long)e->epoch);
	w->last = e->epoch;
	if (!cq_off_valid(w->shm->size, e->off, CQ_SHM_GRANULE))
		qsbr_error(w->rep, "%s: entry offset %#x out of bounds", w->who,
			e->off);
	else
		cq_arena_mark(w->shm, w->rep, e->off);
}

static void
check_overflow(limbo_walk_t *w, const qsbr_limbo_t *l)
{
	size_t max_blocks = w->shm->size / sizeof(limbo_block_t), n = 0;
	cq_off_t last = CQ_OFF_NULL;
	for (cq_off_t o = l->ovf_head; o != CQ_OFF_NULL; n++) {
		if (n > max_blocks ||
			!cq_off_valid(w->shm->size, o, sizeof(limbo_block_t))) {
			qsbr_error(w->rep, "%s: overflow chain broken at %#x",
				w->who, o);
			return;
		}
		const limbo_block_t *b = cq_off_ptr(w->shm->base, o);
		cq_arena_mark(w->shm, w->rep, o);
		if (b->head > b->count || b->count > LIMBO_BLOCK_N) {
			qsbr_error(w->rep, "%s: overflow block %#x bad indexes",
				w->who, o);
			return;
		}
		for (uint32_t i = b->head; i < b->count; i++)
			check_entry(w, &b->e[i]);
		last = o;
		o = b->next;
	}
	if (l->ovf_tail != last)
		qsbr_error(w->rep,
			"%s: overflow tail %#x is not the last block", w->who,
			l->ovf_tail);
}

static void
check_limbo(limbo_walk_t *w, const qsbr_limbo_t *l)
{
	w->last = 0;
	if (l->head > l->tail || l->tail - l->head > LIMBO_INLINE) {
		qsbr_error(w->rep, "%s: ring indexes %llu..%llu", w->who,
			(unsigned long long)l->head,
			(unsigned long long)l->tail);
		return;
	}
	for (uint64_t i = l->head; i < l->tail; i++)
		check_entry(w, &l->ring[i % LIMBO_INLINE]);
	check_overflow(w, l);
}

static void
check_slots(const qsbr_hdr_t *h, cq_shm_report_t *rep)
{
	for (uint32_t i = 0; i < CQ_MAX_WORKERS + CQ_QSBR_READERS; i++) {
		uint64_t c = __atomic_load_n(
			&h->slots[i].ctr, __ATOMIC_ACQUIRE);
		uint32_t pid = __atomic_load_n(
			&h->slots[i].pid, __ATOMIC_RELAXED);
		uint64_t e = __atomic_load_n(&h->epoch, __ATOMIC_ACQUIRE);
		if (c > e)
			qsbr_error(rep,
				"slot %u: counter %llu ahead of the "
				"epoch %llu",
				i, (unsigned long long)c,
				(unsigned long long)e);
		if (i >= h->nslots && i < CQ_MAX_WORKERS &&
			(c != 0 || pid != 0))
			qsbr_error(
				rep, "slot %u beyond %u in use", i, h->nslots);
		if (cq_shm_check_quiescent(rep) && c != 0 && pid == 0)
			qsbr_error(rep, "slot %u online without a pid", i);
	}
}

static void
qsbr_check(cq_shm_t *shm, void *area, cq_shm_report_t *rep)
{
	qsbr_hdr_t *h = area;
	if (h->magic != QSBR_MAGIC || h->nslots != shm->hdr->conf.workers ||
		h->epoch == 0) {
		qsbr_error(rep, "bad header");
		return;
	}
	check_slots(h, rep);
	limbo_walk_t w = {.shm = shm, .rep = rep, .who = "orphan limbo"};
	cq_mutex_lock(&h->orphan_lock);
	w.epoch = __atomic_load_n(&h->epoch, __ATOMIC_ACQUIRE);
	check_limbo(&w, &h->orphan);
	cq_mutex_unlock(&h->orphan_lock);
	/* Live slots' limbos change under our feet: only when quiescent. */
	if (!cq_shm_check_quiescent(rep))
		return;
	char who[32];
	for (uint32_t i = 0; i < h->nslots; i++) {
		snprintf(who, sizeof(who), "slot %u limbo", i);
		w.who = who;
		w.ordered = 1;
		check_limbo(&w, &h->limbo[i]);
	}
}

static void
qsbr_reap_module(cq_shm_t *shm, void *area, unsigned slot)
{
	qsbr_hdr_t *h = area;
	if (shm->base != cq_shm_cur) {
		cq_log(CQ_LOG_ERR, 0,
			"qsbr: reap of slot %u needs the current "
			"mapping",
			slot);
		return;
	}
	if (cq_mutex_owner_dead(&h->orphan_lock)) {
		cq_mutex_lock(&h->orphan_lock);
		cq_mutex_unlock(&h->orphan_lock);
	}
	cq_qsbr_reap(slot);
}

const cq_shm_module_t cq_qsbr_module = {
	.name = "qsbr",
	.size = qsbr_size,
	.init = qsbr_init,
	.check = qsbr_check,
	.reap = qsbr_reap_module,
	.use = qsbr_use,
	.flags = CQ_SHM_MOD_MARKS,
};
