/*
 * check_shm_stress.c — the base layer under fire: four worker processes
 * allocate and free arena objects, create, share and release messages, push
 * checksummed, numbered records through every ring[i][j], and replace
 * QSBR-protected objects while reading everybody else's, for a bounded
 * time.  The parent plays the master: worker incarnations are armed to die
 * by SIGKILL at one crash point (inside the arena's locks, between
 * allocation and publication, between ring reserve and commit, inside an
 * auth cache write, inside QSBR reclamation...); the parent reaps the
 * slot, checks the region while the others keep running, and forks a
 * replacement into the same slot.
 *
 * At the end: every committed ring record was received exactly once and in
 * order, the quiescent checker finds no error, the leaks it counts are
 * bounded by the kills and, once repaired, the arena holds exactly what the
 * workers' tables say, message refcounts equal their holders, and
 * reclamation has drained every limbo.
 *
 * Everything shared lives in the region (the test's own tables are one
 * arena object), so ASan never sees memory freed by another process.
 */
#include "config.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "shm/arena.h"
#include "shm/authcache.h"
#include "shm/crashpoint.h"
#include "shm/msg.h"
#include "shm/qsbr.h"
#include "shm/ring.h"
#include "t/unit/shm_test.h"
#include "t/unit/unit.h"

#define W          4u
#define HELD       64u
#define MSGS       16u
#define MIN_OPS    400000u /* run until this much work and MAX_KILLS... */
#define MAX_RUN_MS 20000u /* ...or this long, whichever comes first */
#define MAX_KILLS  48u
#define REC_TYPE   5u
#define ROOT_WORDS 8u
#define ROOT_MAGIC UINT64_C(0x726f6f7421)

typedef struct slot_state {
	cq_off_t held[HELD]; /* arena objects this slot owns */
	cq_off_t msgs[MSGS]; /* messages this slot holds one reference to */
	cq_off_t root; /* QSBR-published object, replaced by this slot */
	uint64_t next_recv[W]; /* next sequence expected from each source */
	uint64_t received;
	uint64_t errors; /* loss, duplication, corruption seen */
	uint64_t ops;
	uint64_t root_reads;
	uint32_t done; /* saw stop: this slot pushes no more */
} slot_state_t;

typedef struct stress {
	uint32_t stop;
	uint32_t pad;
	slot_state_t slot[W];
} stress_t;

/* Where an incarnation may be killed, and how often it was. */
static const struct {
	const char *name;
	uint32_t max_countdown; /* rarer points die sooner */
	uint32_t max_leak; /* objects or references a death there leaks */
} points[] = {
	/* a magazine refill or drain batch in transit */
	{"arena.class_locked", 100, 64},
	{"arena.pages_locked", 300, 2},
	{"ring.reserved", 3000, 2}, /* the record's message reference */
	{"msg.created", 200, 2},
	{"msg.release", 200, 2},
	/* a reclaim batch, out of the limbo and not yet freed */
	{"qsbr.reclaim", 1000, 64},
	{"authcache.write", 200, 2},
	{"stress.alloc_publish", 1000, 2},
	{"stress.root_publish", 500, 2},
};
#define NPOINTS (sizeof(points) / sizeof(points[0]))

static uint64_t rng;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static uint64_t
ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint32_t
pattern(unsigned slot, unsigned i)
{
	return 0x5a000000u | (slot << 16) | i;
}

/* ---- the worker ------------------------------------------------------ */

/* Record payload: seq, src, msg?, then bytes derived from seq. */
typedef struct rec_head {
	cq_off_t msg; /* first: CQ_RING_F_MSG */
	uint32_t src;
	uint64_t seq;
	uint32_t len;
	uint32_t sum;
} rec_head_t;

static uint32_t
body_sum(const unsigned char *p, size_t n)
{
	uint32_t s = 2166136261u;
	for (size_t i = 0; i < n; i++)
		s = (s ^ p[i]) * 16777619u;
	return s;
}

static void
op_arena(stress_t *st, unsigned me)
{
	slot_state_t *ss = &st->slot[me];
	unsigned i = rnd(HELD);
	cq_off_t off = ss->held[i];
	if (off != CQ_OFF_NULL) {
		if (*CQ_PTR(uint32_t, off) != pattern(me, i))
			ss->errors++;
		ss->held[i] = CQ_OFF_NULL;
		cq_arena_free(off);
		return;
	}
	size_t size = rnd(8) == 0 ? 4097 + rnd(20000) : 16 + rnd(2000);
	off = cq_arena_alloc(size);
	if (off == CQ_OFF_NULL)
		return;
	*CQ_PTR(uint32_t, off) = pattern(me, i);
	CQ_CRASHPOINT("stress.alloc_publish");
	ss->held[i] = off;
}

static void
op_msg(slot_state_t *ss, unsigned me)
{
	unsigned i = rnd(MSGS);
	cq_off_t m = ss->msgs[i];
	if (m != CQ_OFF_NULL) {
		ss->msgs[i] = CQ_OFF_NULL;
		cq_msg_unref(m);
		return;
	}
	char payload[256];
	memset(payload, 'a' + (int)me, sizeof(payload));
	cq_msg_info_t in = {.topic = "stress/topic",
		.topic_len = 12,
		.payload = payload,
		.payload_len = rnd(sizeof(payload)),
		.qos = 1,
		.origin_slot = (uint16_t)me};
	m = cq_msg_create(&in);
	if (m != CQ_OFF_NULL)
		ss->msgs[i] = m;
}

/* Push one record to a random destination, maybe carrying a reference
 * to one of our messages.  The sequence number is the ring's own count of
 * committed records: it moves with the tail, crash or not. */
static void
op_push(slot_state_t *ss, unsigned me)
{
	unsigned dst = rnd(W);
	cq_ring_stats_t rs;
	cq_ring_stats(me, dst, &rs);
	cq_off_t m = ss->msgs[rnd(MSGS)];
	size_t body = rnd(200);
	void *p;
	int rc = cq_ring_reserve(dst, REC_TYPE, m ? CQ_RING_F_MSG : 0,
		sizeof(rec_head_t) + body, &p);
	if (rc != 0)
		return;
	rec_head_t h = {
		.msg = m, .src = me, .seq = rs.records, .len = (uint32_t)body};
	unsigned char *b = (unsigned char *)p + sizeof(h);
	for (size_t i = 0; i < body; i++)
		b[i] = (unsigned char)(h.seq * 31 + i);
	h.sum = body_sum(b, body);
	memcpy(p, &h, sizeof(h));
	if (m != CQ_OFF_NULL)
		cq_msg_ref(m, 1); /* the record's reference */
	cq_ring_commit(dst);
	cq_ring_notify_pending();
}

static void
consume_from(slot_state_t *ss, unsigned src)
{
	cq_ring_rec_t r;
	for (int n = 0; n < 32 && cq_ring_peek(src, &r) == 0; n++) {
		rec_head_t h;
		memcpy(&h, r.data, sizeof(h));
		const unsigned char *b = (const unsigned char *)r.data +
			sizeof(h);
		if (r.type != REC_TYPE || h.src != src ||
			h.seq != ss->next_recv[src] ||
			r.len != sizeof(h) + h.len ||
			body_sum(b, h.len) != h.sum)
			ss->errors++;
		ss->next_recv[src] = h.seq + 1;
		ss->received++;
		/* Done with the record before acting on it: a death after
		 * this leaks a reference instead of dropping it twice. */
		cq_ring_consume(src);
		if (r.flags & CQ_RING_F_MSG)
			cq_msg_unref(h.msg);
	}
}

static void
op_root(stress_t *st, unsigned me)
{
	slot_state_t *ss = &st->slot[me];
	cq_off_t n = cq_arena_alloc(ROOT_WORDS * 8);
	if (n == CQ_OFF_NULL)
		return;
	uint64_t *w = CQ_PTR(uint64_t, n);
	w[0] = ROOT_MAGIC;
	w[1] = ss->ops;
	for (unsigned i = 2; i < ROOT_WORDS; i++)
		w[i] = w[1] * i;
	CQ_CRASHPOINT("stress.root_publish");
	cq_off_t old = ss->root;
	cq_off_publish(&ss->root, n);
	cq_qsbr_retire(old);
}

/* Read another slot's root: QSBR must keep it intact until our next
 * quiescent point, whatever its writer does meanwhile. */
static void
read_roots(stress_t *st, unsigned me)
{
	unsigned k = rnd(W);
	cq_off_t r = cq_off_load(&st->slot[k].root);
	if (r == CQ_OFF_NULL)
		return;
	const volatile uint64_t *w = CQ_PTR(uint64_t, r);
	uint64_t v = w[1];
	if (rnd(16) == 0)
		sched_yield(); /* let the writer replace and retire it */
	for (unsigned i = 2; i < ROOT_WORDS; i++) {
		if (w[0] != ROOT_MAGIC || w[i] != v * i)
			st->slot[me].errors++;
	}
	st->slot[me].root_reads++;
}

/* 0 when a hit carried another key's decision. */
static int
op_auth(void)
{
	char id[16];
	unsigned k = rnd(64);
	snprintf(id, sizeof(id), "c%u", k);
	cq_authcache_key_t key = {.kind = CQ_AUTHCACHE_CLIENT,
		.access = 'w',
		.id = id,
		.id_len = strlen(id),
		.topic = "t",
		.topic_len = 1};
	uint8_t d;
	uint64_t now = cq_authcache_now();
	int r = cq_authcache_get(&key, now, 0, &d);
	if (r == CQ_AUTHCACHE_MISS)
		cq_authcache_put(&key, (uint8_t)k, 20, now);
	else if (d != (uint8_t)k)
		return 0;
	return 1;
}

static void
worker_step(stress_t *st, unsigned me)
{
	slot_state_t *ss = &st->slot[me];
	cq_qsbr_quiescent();
	cq_qsbr_reclaim();
	for (unsigned src = 0; src < W; src++)
		consume_from(ss, src);
	read_roots(st, me);
	switch (rnd(8)) {
	case 0:
	case 1:
		op_arena(st, me);
		break;
	case 2:
		op_msg(ss, me);
		break;
	case 3:
	case 4:
	case 5:
		op_push(ss, me);
		break;
	case 6:
		op_root(st, me);
		break;
	default:
		if (!op_auth())
			ss->errors++;
	}
	ss->ops++;
}

static int
all_done(const stress_t *st)
{
	for (unsigned s = 0; s < W; s++) {
		if (!__atomic_load_n(&st->slot[s].done, __ATOMIC_ACQUIRE))
			return 0;
	}
	return 1;
}

/* Once stop is set: no more pushes; drain until every slot has said so
 * (a slot's replacement says it for a dead incarnation) and the rings into
 * this slot stay empty. */
static void
worker_drain(stress_t *st, unsigned me)
{
	unsigned quiet = 0;
	__atomic_store_n(&st->slot[me].done, 1, __ATOMIC_RELEASE);
	while (quiet < 100) {
		size_t depth = 0;
		int done = all_done(st);
		cq_qsbr_quiescent();
		cq_qsbr_reclaim();
		for (unsigned src = 0; src < W; src++) {
			consume_from(&st->slot[me], src);
			depth += cq_ring_depth(src, me);
		}
		quiet = depth == 0 && done ? quiet + 1 : 0;
		sched_yield();
	}
}

static _Noreturn void
worker(stress_t *st, unsigned me, int arm, unsigned point, uint32_t countdown)
{
	cq_shm_set_slot(me);
	cq_log_set_ident("stress worker");
	rng = (uint64_t)getpid() * UINT64_C(0x9e3779b97f4a7c15) + me + 1;
	if (arm)
		cq_crashpoint_arm(points[point].name, countdown, 0, 0);
	cq_qsbr_register();
	while (!__atomic_load_n(&st->stop, __ATOMIC_ACQUIRE))
		worker_step(st, me);
	cq_crashpoint_disarm_all();
	worker_drain(st, me);
	cq_qsbr_unregister();
	cq_arena_flush_magazines();
	_exit(0);
}

/* ---- the master ------------------------------------------------------ */

typedef struct master {
	cq_shm_t shm;
	stress_t *st;
	pid_t pid[W];
	unsigned kills;
	unsigned kills_at[NPOINTS];
	unsigned armed_point[W];
	unsigned respawns;
} master_t;

static void
spawn(master_t *ms, unsigned slot, int arm)
{
	unsigned point = rnd(NPOINTS);
	uint32_t countdown = 1 + rnd(points[point].max_countdown);
	ms->armed_point[slot] = point;
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		worker(ms->st, slot, arm, point, countdown);
	ms->pid[slot] = pid;
}

static unsigned
slot_of(const master_t *ms, pid_t pid)
{
	for (unsigned s = 0; s < W; s++) {
		if (ms->pid[s] == pid)
			return s;
	}
	ck_abort_msg("unknown child %d", (int)pid);
	return 0;
}

/* A worker died: reap its slot, check the live region, respawn. */
static void
on_death(master_t *ms, pid_t pid, int status, int respawn)
{
	unsigned s = slot_of(ms, pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		"worker %u ended with status %#x", s, status);
	ms->kills++;
	ms->kills_at[ms->armed_point[s]]++;
	cq_shm_reap(&ms->shm, s);
	cq_shm_report_t rep = shm_test_check(&ms->shm, 0);
	ck_assert_msg(rep.errors == 0,
		"check after killing worker %u at %s: "
		"%u errors",
		s, points[ms->armed_point[s]].name, rep.errors);
	ms->pid[s] = 0;
	if (respawn) {
		spawn(ms, s, ms->kills < MAX_KILLS);
		ms->respawns++;
	}
}

static uint64_t
total_ops(const stress_t *st)
{
	uint64_t n = 0;
	for (unsigned s = 0; s < W; s++)
		n += __atomic_load_n(&st->slot[s].ops, __ATOMIC_RELAXED);
	return n;
}

/* Bounded by work (ops and kills), with a time cap for a loaded machine:
 * no rate is asserted. */
static void
run_phase(master_t *ms)
{
	uint64_t end = ms_now() + MAX_RUN_MS;
	while (ms_now() < end &&
		(ms->kills < MAX_KILLS || total_ops(ms->st) < MIN_OPS)) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid > 0)
			on_death(ms, pid, status, 1);
		else
			usleep(2000);
	}
	__atomic_store_n(&ms->st->stop, 1, __ATOMIC_RELEASE);
	for (unsigned alive = W; alive > 0;) {
		int status;
		pid_t pid = waitpid(-1, &status, 0);
		ck_assert_int_gt(pid, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			/* The master reaps clean exits too: the slot's
			 * pending retirements go to the orphan limbo. */
			unsigned s = slot_of(ms, pid);
			cq_shm_reap(&ms->shm, s);
			ms->pid[s] = 0;
			alive--;
		} else {
			/* Killed before it saw stop: its replacement drains. */
			unsigned s = slot_of(ms, pid);
			on_death(ms, pid, status, 0);
			spawn(ms, s, 0);
		}
	}
}

/* What the workers' tables hold, declared to the quiescent checker. */
static void
declare(cq_shm_t *shm, cq_shm_report_t *rep, void *arg)
{
	master_t *ms = arg;
	cq_arena_mark(shm, rep, CQ_OFF(ms->st));
	for (unsigned s = 0; s < W; s++) {
		slot_state_t *ss = &ms->st->slot[s];
		for (unsigned i = 0; i < HELD; i++) {
			if (ss->held[i] != CQ_OFF_NULL)
				cq_arena_mark(shm, rep, ss->held[i]);
		}
		for (unsigned i = 0; i < MSGS; i++) {
			if (ss->msgs[i] != CQ_OFF_NULL)
				cq_msg_census_add(shm, rep, ss->msgs[i], 1);
		}
		if (ss->root != CQ_OFF_NULL)
			cq_arena_mark(shm, rep, ss->root);
	}
}

static uint64_t
expected_objects(const stress_t *st)
{
	uint64_t n = 1; /* the stress table itself */
	for (unsigned s = 0; s < W; s++) {
		for (unsigned i = 0; i < HELD; i++)
			n += st->slot[s].held[i] != CQ_OFF_NULL;
		for (unsigned i = 0; i < MSGS; i++)
			n += st->slot[s].msgs[i] != CQ_OFF_NULL;
		n += st->slot[s].root != CQ_OFF_NULL;
	}
	return n;
}

static void
verify_rings(const master_t *ms)
{
	for (unsigned src = 0; src < W; src++) {
		for (unsigned dst = 0; dst < W; dst++) {
			cq_ring_stats_t rs;
			cq_ring_stats(src, dst, &rs);
			ck_assert_msg(
				ms->st->slot[dst].next_recv[src] == rs.records,
				"ring %u->%u: %llu committed, %llu received",
				src, dst, (unsigned long long)rs.records,
				(unsigned long long)ms->st->slot[dst]
					.next_recv[src]);
			ck_assert_uint_eq(cq_ring_depth(src, dst), 0);
		}
	}
}

static void
verify_end(master_t *ms)
{
	for (unsigned s = 0; s < W; s++) {
		ck_assert_msg(ms->st->slot[s].errors == 0,
			"worker %u saw %llu bad records or objects", s,
			(unsigned long long)ms->st->slot[s].errors);
		ck_assert_uint_gt(ms->st->slot[s].ops, 0);
		ck_assert_uint_gt(ms->st->slot[s].received, 0);
	}
	verify_rings(ms);
	/* Every slot is offline: everything retired is past its grace. */
	cq_qsbr_reclaim();
	cq_qsbr_stats_t qs;
	cq_qsbr_stats(&qs);
	ck_assert_uint_eq(qs.pending, 0);
	cq_shm_report_t rep = {0};
	rep.flags = CQ_SHM_CHECK_QUIESCENT;
	rep.declare = declare;
	rep.declare_arg = ms;
	cq_shm_check(&ms->shm, &rep);
	ck_assert_uint_eq(rep.errors, 0);
	/* A kill leaks what was in transit at its crash point, at most. */
	unsigned bound = 0;
	for (unsigned p = 0; p < NPOINTS; p++)
		bound += ms->kills_at[p] * points[p].max_leak;
	ck_assert_uint_le(rep.leaked_objects, bound);
	rep = (cq_shm_report_t){0};
	rep.flags = CQ_SHM_CHECK_QUIESCENT | CQ_SHM_CHECK_REPAIR;
	rep.declare = declare;
	rep.declare_arg = ms;
	cq_shm_check(&ms->shm, &rep);
	ck_assert_uint_eq(rep.errors, 0);
	ck_assert_uint_eq(shm_test_in_use(), expected_objects(ms->st));
	for (unsigned s = 0; s < W; s++) {
		for (unsigned i = 0; i < MSGS; i++) {
			cq_off_t m = ms->st->slot[s].msgs[i];
			if (m != CQ_OFF_NULL)
				ck_assert_uint_eq(cq_msg_refcount(m), 1);
		}
	}
	/* And the repaired region checks clean. */
	rep = (cq_shm_report_t){0};
	rep.flags = CQ_SHM_CHECK_QUIESCENT;
	rep.declare = declare;
	rep.declare_arg = ms;
	cq_shm_check(&ms->shm, &rep);
	ck_assert_uint_eq(rep.errors + rep.leaked_objects + rep.repaired, 0);
}

START_TEST(workers_killed_at_crash_points)
{
	master_t ms;
	memset(&ms, 0, sizeof(ms));
	cq_log_set_level(CQ_LOG_CRIT);
	uint64_t seed = (uint64_t)time(NULL) | 1;
	rng = seed;
	cq_shm_conf_t conf;
	cq_shm_conf_init(&conf);
	conf.workers = W;
	conf.size = 64u << 20;
	conf.ring_bytes = 16u << 10;
	conf.auth_cache_entries = 256;
	shm_test_create_conf(&ms.shm, &conf);
	ck_assert_int_eq(cq_ring_eventfds_create(W), 0);
	ms.st = CQ_PTR(stress_t, cq_arena_zalloc(sizeof(stress_t)));
	ck_assert_ptr_nonnull(ms.st);
	for (unsigned s = 0; s < W; s++)
		spawn(&ms, s, 1);
	run_phase(&ms);
	verify_end(&ms);
	uint64_t ops = total_ops(ms.st), recs = 0;
	for (unsigned s = 0; s < W; s++)
		recs += ms.st->slot[s].received;
	fprintf(stderr,
		"# stress (seed %llu): %llu ops, %llu records, %u "
		"kills;",
		(unsigned long long)seed, (unsigned long long)ops,
		(unsigned long long)recs, ms.kills);
	for (unsigned p = 0; p < NPOINTS; p++)
		fprintf(stderr, " %s %u", points[p].name, ms.kills_at[p]);
	fprintf(stderr, "\n");
	ck_assert_uint_gt(ms.kills, 0);
	cq_ring_eventfds_close();
	cq_shm_detach(&ms.shm);
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("shm_stress");
	TCase *tc = tcase_create("stress");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, workers_killed_at_crash_points);
	suite_add_tcase(s, tc);
	return s;
}
