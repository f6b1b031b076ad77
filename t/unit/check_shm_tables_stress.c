/*
 * check_shm_tables_stress.c — the shm tables under fire: four worker
 * processes add and remove routes (plain, wildcard, shared) and match
 * topics, set and delete retained messages and walk them with resumable
 * cursors, create, take over, disconnect and expire sessions and write
 * their contents, and pass message references through the rings, for a
 * bounded time.  The parent plays the master: each worker incarnation is
 * armed to die by SIGKILL at one crash point (inside a shard or stripe
 * lock, between allocation and publication, inside a write section,
 * between ring reserve and commit); the parent reaps the slot, checks the
 * live region and forks a replacement into the same slot, which first
 * reconciles its routes with its log (cq_route_purge_slot), as a
 * respawned worker does with its private trie.
 *
 * Every worker logs what it committed, in memory shared with the parent
 * (outside the region), after the call returned and before it undoes it.
 * At the end: no committed route, retained message or session is lost,
 * the quiescent checker finds no error and, after repair, no leak and no
 * refcount mismatch, and reclamation has drained every limbo.
 */
#include "config.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "shm/arena.h"
#include "shm/crashpoint.h"
#include "shm/msg.h"
#include "shm/qsbr.h"
#include "shm/retained.h"
#include "shm/ring.h"
#include "shm/route.h"
#include "shm/session.h"
#include "t/unit/match_cases.h"
#include "t/unit/shm_test.h"
#include "t/unit/unit.h"

#define W         4u
#define NF        96u /* filters (shared by all slots) */
#define NT        128u /* retained topics per slot */
#define NS        64u /* session ids per slot */
#define RUN_MS    3000u
#define MAX_KILLS 40u
#define REC_TYPE  7u

typedef struct slot_log {
	uint8_t route_on[NF];
	uint8_t ret_on[NT];
	uint8_t sess_on[NS];
	uint64_t ops, sent, received, errors, found;
} slot_log_t;

typedef struct tstress {
	uint32_t stop;
	slot_log_t slot[W];
} tstress_t;

static const struct {
	const char *name;
	uint32_t max_countdown;
} points[] = {
	{"route.locked", 400},
	{"route.chain_built", 200},
	{"route.entry_built", 200},
	{"route.bloom_built", 20},
	{"route.unlinked", 200},
	{"route.cleared", 300},
	{"trie.table_built", 200},
	{"retained.ref_taken", 200},
	{"retained.chain_built", 200},
	{"retained.cleared", 200},
	{"session.locked", 400},
	{"session.built", 200},
	{"session.unlinking", 200},
	{"session.writing", 200},
	{"session.sub_built", 200},
	{"ring.reserved", 2000},
};
#define NPOINTS (sizeof(points) / sizeof(points[0]))

static uint64_t rng;

static uint32_t
rnd(uint32_t n)
{
	return (uint32_t)(test_rand(&rng) % n);
}

static uint64_t
ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Filter i: exact, single-'+' or literal with '#' (the route's filter
 * index, '+' first in the '+' shard's), other wildcards (the trie), or
 * shared; all slots use the same set.  Kinds 0, 1 and 4 are the ones
 * op_match checks. */
static void
filter_of(unsigned i, char *buf, size_t cap)
{
	switch (i % 6) {
	case 0:
		snprintf(buf, cap, "f/%u/%u", i % 7, i);
		break;
	case 1:
		snprintf(buf, cap, "f/%u/%u/#", i % 7, i);
		break;
	case 2:
		snprintf(buf, cap, "f/+/%u/#", i);
		break;
	case 3:
		snprintf(buf, cap, "$share/g%u/f/%u/%u", i % 3, i % 7, i);
		break;
	case 4:
		if (i % 12 == 4)
			snprintf(buf, cap, "+/f/%u", i);
		else
			snprintf(buf, cap, "f/%u/+/%u", i % 7, i);
		break;
	default:
		snprintf(buf, cap, "$share/g%u/f/+/%u", i % 3, i);
	}
}

static void
topic_of(unsigned slot, unsigned i, char *buf, size_t cap)
{
	snprintf(buf, cap, "r/%u/%u/%u", slot, i % 5, i);
}

static void
id_of(unsigned slot, unsigned i, char *buf, size_t cap)
{
	snprintf(buf, cap, "s%u-%u", slot, i);
}

static cq_off_t
new_msg(const char *topic)
{
	cq_msg_info_t in = {.topic = topic,
		.topic_len = strlen(topic),
		.payload = "payload",
		.payload_len = 7,
		.qos = 1,
		.origin_slot = (uint16_t)cq_shm_slot};
	return cq_msg_create(&in);
}

/* ---- the worker ------------------------------------------------------ */

static void
op_route(slot_log_t *lg, unsigned me)
{
	unsigned i = rnd(NF);
	char f[64];
	filter_of(i, f, sizeof(f));
	if (lg->route_on[i]) {
		lg->route_on[i] = 0; /* before: a death leaves it uncommitted */
		cq_route_remove(f, strlen(f), me);
	} else if (cq_route_add(f, strlen(f), me) == 0)
		lg->route_on[i] = 1;
}

/* My own committed plain filters of kinds 0, 1 and 4 always match their
 * topic (the filter, its wildcard made a level). */
static void
op_match(slot_log_t *lg, unsigned me, cq_route_result_t *r)
{
	static const unsigned kinds[] = {0, 1, 4};
	unsigned i = rnd(NF / 6) * 6 + kinds[rnd(3)];
	char t[64];
	filter_of(i, t, sizeof(t));
	char *wild = strpbrk(t, "+#");
	if (wild != NULL)
		*wild = 'z';
	cq_topic_levels_t lv;
	if (cq_topic_levels_split(&lv, t, strlen(t), cq_route_seed()) < 0)
		return;
	if (cq_route_match(&lv, r) == 0 && lg->route_on[i] &&
		!((r->workers >> me) & 1))
		lg->errors++;
	cq_topic_levels_free(&lv);
}

static void
op_retained(slot_log_t *lg, unsigned me)
{
	unsigned i = rnd(NT);
	char t[64];
	topic_of(me, i, t, sizeof(t));
	if (lg->ret_on[i]) {
		lg->ret_on[i] = 0;
		cq_retained_delete(t, strlen(t));
		return;
	}
	cq_off_t m = new_msg(t);
	if (m == CQ_OFF_NULL)
		return;
	if (cq_retained_set(t, strlen(t), m) == 0)
		lg->ret_on[i] = 1;
	cq_msg_unref(m);
}

static void
on_found(void *arg, const char *topic, size_t len, cq_off_t msg)
{
	slot_log_t *lg = arg;
	char t[64];
	(void)msg;
	if (len >= sizeof(t)) {
		lg->errors++;
		return;
	}
	memcpy(t, topic, len);
	t[len] = '\0';
	if (!ref_match("r/+/1/#", t))
		lg->errors++;
	lg->found++;
}

/* One bounded step of a long-lived cursor per loop iteration. */
static void
op_search(slot_log_t *lg, cq_retained_cursor_t **cur)
{
	if (*cur == NULL &&
		(*cur = cq_retained_search_new("r/+/1/#", 7)) == NULL)
		return;
	if (cq_retained_step(*cur, (uint64_t)time(NULL), 8, on_found, lg) !=
		1) {
		cq_retained_cursor_free(*cur);
		*cur = NULL;
	}
}

/* Contents of a session we just opened, once the fence allows. */
static void
session_work(cq_session_ref_t *r)
{
	if (cq_session_fence(r->sess, r->gen) != 0)
		return;
	cq_subopts_t o = {.qos = 1, .sub_id = 1};
	cq_session_sub_add(r->sess, r->gen, "a/+", 3, &o);
	cq_off_t m = new_msg("q");
	if (m != CQ_OFF_NULL && cq_session_queue_push(r->sess, r->gen, m) < 0)
		cq_msg_unref(m);
	cq_off_t got;
	if (rnd(2) && cq_session_queue_pop(r->sess, r->gen, &got) == 1)
		cq_msg_unref(got);
	if (rnd(3) == 0)
		cq_session_sub_remove(r->sess, r->gen, "a/+", 3);
	cq_session_disconnect(r->sess, r->gen, (uint64_t)time(NULL));
}

static void
op_session(slot_log_t *lg, unsigned me)
{
	unsigned owner = rnd(4) == 0 ? rnd(W) : me;
	unsigned i = rnd(NS);
	char id[32];
	id_of(owner, i, id, sizeof(id));
	bool mine = owner == me;
	cq_session_open_t o = {.client_id = id,
		.id_len = strlen(id),
		.protocol = 5,
		.clean_start = mine && rnd(4) == 0,
		.expiry_interval = 3600,
		.inflight_max = 4,
		.qos2_max = 4,
		.queue_max = 8};
	uint64_t st;
	cq_off_t s = cq_session_lookup(id, o.id_len, &st);
	if (mine && s != CQ_OFF_NULL &&
		cq_session_word_state(st) == CQ_SESSION_DISCONNECTED &&
		rnd(3) == 0) {
		lg->sess_on[i] = 0;
		cq_off_t will;
		if (cq_session_expire(
			    s, cq_session_word_gen(st), 0, 1, &will) == 0)
			lg->sess_on[i] = cq_session_lookup(
						 id, o.id_len, NULL) != 0;
		return;
	}
	if (o.clean_start)
		lg->sess_on[i] = 0; /* a failed replace ends the session */
	cq_session_ref_t r;
	if (cq_session_open(&o, &r) < 0)
		return;
	if (r.prev_will != CQ_OFF_NULL)
		cq_msg_unref(r.prev_will);
	if (mine)
		lg->sess_on[i] = 1;
	session_work(&r);
}

static void
op_push(slot_log_t *lg)
{
	unsigned dst = rnd(W);
	cq_off_t m = new_msg("ring");
	if (m == CQ_OFF_NULL)
		return;
	void *p;
	if (cq_ring_reserve(dst, REC_TYPE, CQ_RING_F_MSG, sizeof(m), &p) != 0) {
		cq_msg_unref(m);
		return;
	}
	memcpy(p, &m, sizeof(m)); /* the record owns our reference */
	cq_ring_commit(dst);
	cq_ring_notify_pending();
	lg->sent++;
}

static size_t
drain(slot_log_t *lg, unsigned me)
{
	size_t depth = 0;
	for (unsigned src = 0; src < W; src++) {
		cq_ring_rec_t rec;
		for (int n = 0; n < 32 && cq_ring_peek(src, &rec) == 0; n++) {
			cq_off_t m;
			memcpy(&m, rec.data, sizeof(m));
			bool ok = rec.type == REC_TYPE &&
				(rec.flags & CQ_RING_F_MSG);
			cq_ring_consume(src);
			if (!ok)
				lg->errors++;
			else
				cq_msg_unref(m);
			lg->received++;
		}
		depth += cq_ring_depth(src, me);
	}
	return depth;
}

/* cq_route_keep_fn over a slot's log: shared filters arrive without
 * their $share prefix, with their group key. */
static int
keep_logged(void *arg, const char *filter, size_t len, uint64_t key)
{
	const slot_log_t *lg = arg;
	char f[64];
	for (unsigned i = 0; i < NF; i++) {
		if (!lg->route_on[i])
			continue;
		filter_of(i, f, sizeof(f));
		cq_match_share_t sh;
		bool shared = cq_match_share_split(f, strlen(f), &sh);
		uint64_t k = shared ? cq_topic_share_key(sh.group, sh.group_len,
					      sh.filter, sh.filter_len)
				    : 0;
		if (k == key && sh.filter_len == len &&
			memcmp(sh.filter, filter, len) == 0)
			return 1;
	}
	return 0;
}

static _Noreturn void
worker(tstress_t *st, unsigned me, int arm, unsigned point, uint32_t cd)
{
	cq_shm_set_slot(me);
	cq_log_set_ident("tables stress worker");
	rng = (uint64_t)getpid() * UINT64_C(0x9e3779b97f4a7c15) + me + 1;
	slot_log_t *lg = &st->slot[me];
	/* A replacement reconciles what its predecessor recorded. */
	if (cq_route_purge_slot(me, keep_logged, lg) < 0)
		lg->errors++;
	if (arm)
		cq_crashpoint_arm(points[point].name, cd, 0, 0);
	cq_qsbr_register();
	cq_route_result_t r;
	cq_route_result_init(&r);
	cq_retained_cursor_t *cur = NULL;
	while (!__atomic_load_n(&st->stop, __ATOMIC_ACQUIRE)) {
		cq_qsbr_quiescent();
		cq_qsbr_reclaim();
		drain(lg, me);
		switch (rnd(10)) {
		case 0:
		case 1:
			op_route(lg, me);
			break;
		case 2:
			op_match(lg, me, &r);
			break;
		case 3:
		case 4:
			op_retained(lg, me);
			break;
		case 5:
			op_search(lg, &cur);
			break;
		case 6:
		case 7:
			op_session(lg, me);
			break;
		default:
			op_push(lg);
		}
		lg->ops++;
	}
	cq_crashpoint_disarm_all();
	for (unsigned quiet = 0; quiet < 2000;) {
		cq_qsbr_quiescent();
		quiet = drain(lg, me) == 0 ? quiet + 1 : 0;
		sched_yield();
	}
	cq_retained_cursor_free(cur);
	cq_route_result_free(&r);
	cq_qsbr_unregister();
	cq_arena_flush_magazines();
	_exit(0);
}

/* ---- the master ------------------------------------------------------ */

typedef struct master {
	cq_shm_t shm;
	tstress_t *st;
	pid_t pid[W];
	unsigned kills, kills_at[NPOINTS], armed[W];
} master_t;

static void
spawn(master_t *ms, unsigned slot, int arm)
{
	unsigned p = rnd(NPOINTS);
	uint32_t cd = 1 + rnd(points[p].max_countdown);
	ms->armed[slot] = p;
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		worker(ms->st, slot, arm, p, cd);
	ms->pid[slot] = pid;
}

static unsigned
slot_of(const master_t *ms, pid_t pid)
{
	for (unsigned s = 0; s < W; s++)
		if (ms->pid[s] == pid)
			return s;
	ck_abort_msg("unknown child %d", (int)pid);
	return 0;
}

static void
on_death(master_t *ms, pid_t pid, int status)
{
	unsigned s = slot_of(ms, pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		"worker %u ended with status %#x", s, status);
	ms->kills++;
	ms->kills_at[ms->armed[s]]++;
	cq_shm_reap(&ms->shm, s);
	cq_shm_report_t rep = shm_test_check(&ms->shm, 0);
	ck_assert_msg(rep.errors == 0, "check after a kill at %s: %u errors",
		points[ms->armed[s]].name, rep.errors);
	ms->pid[s] = 0;
}

static void
run(master_t *ms)
{
	uint64_t end = ms_now() + RUN_MS;
	while (ms_now() < end) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid > 0) {
			unsigned s = slot_of(ms, pid);
			on_death(ms, pid, status);
			spawn(ms, s, ms->kills < MAX_KILLS);
		} else
			usleep(2000);
	}
	__atomic_store_n(&ms->st->stop, 1, __ATOMIC_RELEASE);
	for (unsigned alive = W; alive > 0;) {
		int status;
		pid_t pid = waitpid(-1, &status, 0);
		ck_assert_int_gt(pid, 0);
		unsigned s = slot_of(ms, pid);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			cq_shm_reap(&ms->shm, s);
			ms->pid[s] = 0;
			alive--;
		} else {
			on_death(ms, pid, status);
			spawn(ms, s, 0); /* its replacement drains */
		}
	}
}

/* Nothing committed is lost; stale routes go with a final purge. */
static void
verify_logs(master_t *ms)
{
	char b[64];
	for (unsigned s = 0; s < W; s++) {
		slot_log_t *lg = &ms->st->slot[s];
		ck_assert_msg(lg->errors == 0, "worker %u: %llu errors", s,
			(unsigned long long)lg->errors);
		ck_assert_uint_gt(lg->ops, 0);
		ck_assert_int_ge(cq_route_purge_slot(s, keep_logged, lg), 0);
		for (unsigned i = 0; i < NF; i++) {
			filter_of(i, b, sizeof(b));
			ck_assert_msg(cq_route_has(b, strlen(b), s) ==
					lg->route_on[i],
				"route %s of slot %u", b, s);
		}
		for (unsigned i = 0; i < NT; i++) {
			topic_of(s, i, b, sizeof(b));
			if (lg->ret_on[i])
				ck_assert_msg(cq_retained_get(b, strlen(b), 0),
					"retained %s lost", b);
		}
		for (unsigned i = 0; i < NS; i++) {
			id_of(s, i, b, sizeof(b));
			if (lg->sess_on[i])
				ck_assert_msg(cq_session_lookup(b, strlen(b),
						      NULL) != CQ_OFF_NULL,
					"session %s lost", b);
		}
	}
}

static void
verify_region(master_t *ms)
{
	cq_session_reclaim();
	cq_qsbr_reclaim();
	cq_qsbr_stats_t qs;
	cq_qsbr_stats(&qs);
	ck_assert_uint_eq(qs.pending, 0); /* reclamation progressed */
	cq_shm_report_t rep = shm_test_check(
		&ms->shm, CQ_SHM_CHECK_QUIESCENT | CQ_SHM_CHECK_REPAIR);
	ck_assert_uint_eq(rep.errors, 0);
	fprintf(stderr, "# tables stress: repaired %u, leaked %u;",
		rep.repaired, rep.leaked_objects);
	rep = shm_test_check(&ms->shm, CQ_SHM_CHECK_QUIESCENT);
	ck_assert_uint_eq(rep.errors, 0);
	ck_assert_uint_eq(rep.leaked_objects, 0);
}

START_TEST(tables_killed_at_crash_points)
{
	master_t ms;
	memset(&ms, 0, sizeof(ms));
	cq_log_set_level(CQ_LOG_CRIT);
	uint64_t seed = (uint64_t)time(NULL) | 1;
	rng = seed;
	cq_shm_conf_t conf;
	const char *err = NULL;
	cq_shm_conf_init(&conf);
	conf.workers = W;
	conf.size = 64u << 20;
	conf.ring_bytes = 16u << 10;
	conf.max_sessions = 2048;
	ck_assert_msg(cq_shm_create(&conf, &ms.shm, &err) == 0, "%s", err);
	ck_assert_int_eq(cq_ring_eventfds_create(W), 0);
	ms.st = mmap(NULL, sizeof(tstress_t), PROT_READ | PROT_WRITE,
		MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(ms.st, MAP_FAILED);
	for (unsigned s = 0; s < W; s++)
		spawn(&ms, s, 1);
	run(&ms);
	verify_logs(&ms);
	verify_region(&ms);
	uint64_t ops = 0, sent = 0, recv = 0, found = 0, live = 0;
	cq_route_stats_t rts;
	cq_route_stats(&rts);
	cq_retained_stats_t ret;
	cq_retained_stats(&ret);
	cq_session_stats_t ses;
	cq_session_stats(&ses);
	for (unsigned s = 0; s < W; s++) {
		ops += ms.st->slot[s].ops;
		sent += ms.st->slot[s].sent;
		recv += ms.st->slot[s].received;
		found += ms.st->slot[s].found;
		for (unsigned i = 0; i < NS; i++)
			live += ms.st->slot[s].sess_on[i];
	}
	fprintf(stderr,
		" left: %llu route filters, %llu retained, %llu sessions "
		"(%llu logged);",
		(unsigned long long)rts.filters,
		(unsigned long long)ret.messages,
		(unsigned long long)ses.sessions, (unsigned long long)live);
	fprintf(stderr,
		" seed %llu: %llu ops, %llu/%llu records, %llu retained "
		"found, %u kills:",
		(unsigned long long)seed, (unsigned long long)ops,
		(unsigned long long)recv, (unsigned long long)sent,
		(unsigned long long)found, ms.kills);
	for (unsigned p = 0; p < NPOINTS; p++)
		fprintf(stderr, " %s %u", points[p].name, ms.kills_at[p]);
	fprintf(stderr, "\n");
	ck_assert_uint_gt(ms.kills, 0);
	munmap(ms.st, sizeof(tstress_t));
	cq_ring_eventfds_close();
	cq_shm_detach(&ms.shm);
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("shm tables stress");
	TCase *tc = tcase_create("stress");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, tables_killed_at_crash_points);
	suite_add_tcase(s, tc);
	return s;
}
