/*
 * shm_bench.c — micro-benchmarks of the shared-memory core (not a test).
 *
 * For 10k, 100k and 1M subscriptions (70% exact filters, 20% with one '+',
 * 10% ending in '#', depth 3..7): route-trie and private-trie matches per
 * CPU-second on one core (topic split included), subscribe and unsubscribe per
 * second, shm bytes per subscription beyond the filter text; shm bytes per
 * session; ring records per second between two processes (64-byte
 * records); and the time to walk "#" over 1M retained messages with a
 * bounded budget per step.  Targets and figures: bench/README.md.
 *
 * Usage: shm_bench [-n max_subscriptions] [-r retained] [-s seconds]
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "shm/arena.h"
#include "shm/msg.h"
#include "shm/qsbr.h"
#include "shm/region.h"
#include "shm/retained.h"
#include "shm/ring.h"
#include "shm/route.h"
#include "shm/session.h"
#include "workers/subtrie.h"

#define MAX_DEPTH 7
#define NTOPICS   (1u << 16)

static uint64_t rng = 0x5eed;

static uint64_t
rnd64(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this process: single-core rates stay meaningful on a
 * machine shared with other work (the wall clock would count the time
 * other processes hold the core). */
static double
cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "shm_bench: %s\n", what);
	exit(1);
}

/* ---- workload ------------------------------------------------------ */

typedef struct workload {
	unsigned n;
	char **filters;
	size_t filter_bytes;
	char **topics; /* NTOPICS topics, each some exact filter's levels */
	size_t *tlen; /* their lengths (a worker knows them from the packet) */
} workload_t;

/* Level j of a topic: a token from a range wide enough for 1M filters. */
static int
level(char *p, unsigned j)
{
	static const unsigned range[MAX_DEPTH] = {
		32, 256, 256, 256, 256, 256, 256};
	return sprintf(p, "%s%u", j == 0 ? "dev" : "l",
		(unsigned)(rnd64() % range[j]));
}

/* One filter: kind 0 exact, 1 one '+', 2 trailing '#'. */
static char *
make_filter(unsigned kind, char *topic_r)
{
	char buf[128], *p = buf, *t = topic_r;
	unsigned depth = 3 + (unsigned)(rnd64() % 5);
	unsigned plus = (unsigned)(rnd64() % depth);
	for (unsigned j = 0; j < depth; j++) {
		if (j > 0)
			*p++ = '/';
		char tok[16];
		int len = level(tok, j);
		if (kind == 2 && j == depth - 1)
			*p++ = '#';
		else if (kind == 1 && j == plus)
			*p++ = '+';
		else {
			memcpy(p, tok, (size_t)len);
			p += len;
		}
		if (t != NULL) {
			if (j > 0)
				*t++ = '/';
			memcpy(t, tok, (size_t)len);
			t += len;
		}
	}
	*p = '\0';
	if (t != NULL)
		*t = '\0';
	return strdup(buf);
}

static void
workload_make(workload_t *w, unsigned n)
{
	w->n = n;
	w->filters = calloc(n, sizeof(*w->filters));
	w->topics = calloc(NTOPICS, sizeof(*w->topics));
	w->filter_bytes = 0;
	unsigned nt = 0;
	char topic[128];
	for (unsigned i = 0; i < n; i++) {
		unsigned r = (unsigned)(rnd64() % 10);
		unsigned kind = r < 7 ? 0 : r < 9 ? 1 : 2;
		w->filters[i] = make_filter(kind, topic);
		w->filter_bytes += strlen(w->filters[i]);
		if (kind == 0 && nt < NTOPICS)
			w->topics[nt++] = strdup(topic);
	}
	for (unsigned i = nt; i < NTOPICS; i++) /* reuse when n is small */
		w->topics[i] = strdup(w->topics[i % nt]);
	/* Shuffle so that consecutive matches touch unrelated nodes. */
	for (unsigned i = NTOPICS - 1; i > 0; i--) {
		unsigned j = (unsigned)(rnd64() % (i + 1));
		char *x = w->topics[i];
		w->topics[i] = w->topics[j];
		w->topics[j] = x;
	}
	w->tlen = calloc(NTOPICS, sizeof(*w->tlen));
	for (unsigned i = 0; i < NTOPICS; i++)
		w->tlen[i] = strlen(w->topics[i]);
}

static void
workload_free(workload_t *w)
{
	for (unsigned i = 0; i < w->n; i++)
		free(w->filters[i]);
	for (unsigned i = 0; i < NTOPICS; i++)
		free(w->topics[i]);
	free(w->filters);
	free(w->topics);
	free(w->tlen);
}

static uint64_t
arena_used(void)
{
	cq_arena_stats_t st;
	cq_arena_stats(&st);
	return st.used_bytes;
}

static void
region(cq_shm_t *shm, uint64_t size, uint32_t workers, uint32_t sessions)
{
	cq_shm_conf_t conf;
	const char *err = NULL;
	cq_shm_conf_init(&conf);
	conf.size = (size + 4095) & ~(uint64_t)4095;
	conf.workers = workers;
	conf.max_sessions = sessions;
	if (cq_shm_create(&conf, shm, &err) < 0)
		die(err);
}

/* ---- route and private trie ---------------------------------------- */

/* One match of split topic 'lv'; returns the number of hits. */
typedef uint64_t (*match_fn)(void *ctx, const cq_topic_levels_t *lv);

/* Matches per CPU-second over the workload's topics (split included). */
static double
match_rate(const workload_t *w, double secs, uint64_t seed, match_fn one,
	void *ctx, const char *what)
{
	uint64_t n = 0, hits = 0;
	double t0 = cpu_s(), t;
	do {
		for (unsigned k = 0; k < 4096; k++, n++) {
			unsigned i = (unsigned)(n % NTOPICS);
			cq_topic_levels_t lv;
			cq_topic_levels_split(
				&lv, w->topics[i], w->tlen[i], seed);
			hits += one(ctx, &lv);
		}
		cq_qsbr_quiescent(); /* as a worker loop does */
	} while ((t = cpu_s() - t0) < secs);
	if (hits < n) {
		fprintf(stderr, "shm_bench: a %s match missed its filter\n",
			what);
		exit(1);
	}
	return (double)n / t;
}

static uint64_t
route_one(void *ctx, const cq_topic_levels_t *lv)
{
	cq_route_result_t *r = ctx;
	cq_route_match(lv, r);
	return r->workers != 0;
}

static uint64_t
subtrie_one(void *ctx, const cq_topic_levels_t *lv)
{
	static cq_subtrie_result_t r; /* reused, as a worker would */
	cq_subtrie_match(ctx, lv, NULL, NULL, CQ_SUBTRIE_ALL_GROUPS, &r);
	return r.n;
}

#define BATCH 64u

/* The longer of 'worst' and the batch that began at *b0; restarts it.
 * CPU time: a batch the scheduler preempted is not a pause of ours. */
static double
worst_batch(double *b0, double worst)
{
	double now = cpu_s(), d = now - *b0;
	*b0 = now;
	return d > worst ? d : worst;
}

static void
bench_tries(unsigned n, double secs)
{
	workload_t w;
	workload_make(&w, n);
	cq_shm_t shm;
	region(&shm, (uint64_t)n * 600 + (64u << 20), 4, 1024);
	cq_shm_set_slot(0);
	cq_qsbr_register();

	uint64_t used0 = arena_used();
	double t0 = cpu_s();
	for (unsigned i = 0; i < n; i++)
		if (cq_route_add(w.filters[i], strlen(w.filters[i]), i % 4) < 0)
			die("route add failed (region too small?)");
	double t_add = cpu_s() - t0;
	cq_route_stats_t rs;
	cq_route_stats(&rs);
	double bytes = (double)(arena_used() - used0);
	cq_route_result_t rr;
	cq_route_result_init(&rr);
	double match = match_rate(
		&w, secs, cq_route_seed(), route_one, &rr, "route");
	cq_route_result_free(&rr);

	cq_subtrie_t *st = cq_subtrie_new(42);
	t0 = cpu_s();
	unsigned flags;
	cq_subopts_t o = {.qos = 1};
	/* The longest batch of BATCH operations shows a pause (an index
	 * resize) without timing every call. */
	double b0 = cpu_s(), worst_sub = 0, worst_unsub = 0;
	for (unsigned i = 0; i < n; i++) {
		cq_subtrie_subscribe(st, w.filters[i], strlen(w.filters[i]),
			(void *)(uintptr_t)(i / 4 + 1), &o, &flags);
		if (i % BATCH == BATCH - 1)
			worst_sub = worst_batch(&b0, worst_sub);
	}
	/* A worker's loop finishes a resize or Bloom build left running. */
	for (unsigned k = 0; k < n && cq_subtrie_tidy(st, 1024); k++)
		;
	double t_psub = cpu_s() - t0;
	double pmatch = match_rate(&w, secs, 42, subtrie_one, st, "private");
	t0 = cpu_s();
	b0 = cpu_s();
	for (unsigned i = 0; i < n; i++) {
		cq_subtrie_unsubscribe(st, w.filters[i], strlen(w.filters[i]),
			(void *)(uintptr_t)(i / 4 + 1), &flags);
		if (i % BATCH == BATCH - 1)
			worst_unsub = worst_batch(&b0, worst_unsub);
	}
	double t_punsub = cpu_s() - t0;
	cq_subtrie_free(st);

	t0 = cpu_s();
	for (unsigned i = 0; i < n; i++)
		cq_route_remove(w.filters[i], strlen(w.filters[i]), i % 4);
	double t_del = cpu_s() - t0;

	double avg_text = (double)w.filter_bytes / n;
	printf("%8u subs (%llu distinct): route %9.0f match/s, %8.0f sub/s, "
	       "%8.0f unsub/s, %5.1f B/sub beyond its %4.1f B of filter "
	       "text\n",
		n, (unsigned long long)rs.filters, match, n / t_add, n / t_del,
		bytes / rs.filters - avg_text, avg_text);
	printf("%8s private trie: %9.0f match/s, %8.0f sub/s, %8.0f unsub/s; "
	       "longest %u subs %.0f us, %u unsubs %.0f us\n",
		"", pmatch, n / t_psub, n / t_punsub, BATCH, worst_sub * 1e6,
		BATCH, worst_unsub * 1e6);
	fflush(stdout);
	cq_qsbr_unregister();
	cq_shm_detach(&shm);
	workload_free(&w);
}

/* ---- sessions ------------------------------------------------------ */

static void
bench_sessions(unsigned n)
{
	cq_shm_t shm;
	region(&shm, (uint64_t)n * 1024 + (64u << 20), 2, n);
	cq_shm_set_slot(0);
	size_t table;
	cq_shm_area(&shm, "session", &table);
	uint64_t used0 = arena_used();
	char id[64], f[64];
	double t0 = cpu_s();
	for (unsigned i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "client-%08u-abcdef", i);
		cq_session_open_t o = {.client_id = id,
			.id_len = strlen(id),
			.protocol = 5,
			.expiry_interval = 3600,
			.inflight_max = 20,
			.qos2_max = 20,
			.queue_max = 100};
		cq_session_ref_t r;
		if (cq_session_open(&o, &r) < 0)
			die("session open failed");
		snprintf(f, sizeof(f), "devices/%u/cmd", i);
		cq_subopts_t so = {.qos = 1};
		cq_session_sub_add(r.sess, r.gen, f, strlen(f), &so);
	}
	double t = cpu_s() - t0;
	double per = (double)(arena_used() - used0) / n;
	printf("%8u sessions: %8.0f open+subscribe/s, %5.0f B/session in "
	       "the arena (23-byte id, one subscription, no QoS 1/2 state "
	       "yet) + %4.0f B/session of table\n",
		n, n / t, per, (double)table / n);
	fflush(stdout);
	cq_shm_detach(&shm);
}

/* ---- rings --------------------------------------------------------- */

static void
bench_ring(double secs)
{
	cq_shm_t shm;
	cq_shm_conf_t conf;
	const char *err = NULL;
	cq_shm_conf_init(&conf);
	conf.workers = 2;
	conf.ring_bytes = 1u << 20;
	conf.size = 64u << 20;
	if (cq_shm_create(&conf, &shm, &err) < 0)
		die(err);
	uint64_t *done = CQ_PTR(uint64_t, cq_arena_zalloc(64));
	pid_t pid = fork();
	if (pid == 0) { /* consumer, slot 1 */
		cq_shm_set_slot(1);
		uint64_t got = 0, sum = 0;
		while (!__atomic_load_n(&done[0], __ATOMIC_ACQUIRE) ||
			cq_ring_depth(0, 1) > 0) {
			cq_ring_rec_t rec;
			unsigned k = 0;
			while (k < 256 && cq_ring_peek(0, &rec) == 0) {
				sum += ((const uint64_t *)rec.data)[0];
				k++;
			}
			if (k > 0)
				cq_ring_consume(0);
			else
				sched_yield(); /* empty: let the producer run */
			got += k;
		}
		__atomic_store_n(&done[1], got, __ATOMIC_RELEASE);
		__atomic_store_n(&done[2], sum, __ATOMIC_RELEASE);
		_exit(0);
	}
	cq_shm_set_slot(0);
	uint64_t sent = 0;
	double t0 = now_s(), t;
	do {
		for (unsigned b = 0; b < 1024; b++) {
			unsigned k = 0;
			void *p;
			while (k < 32 &&
				cq_ring_reserve(1, 1, 0, 64, &p) == 0) {
				((uint64_t *)p)[0] = sent + k;
				k++;
			}
			if (k > 0)
				cq_ring_commit(1);
			else
				sched_yield(); /* full: let the consumer run */
			sent += k;
		}
	} while ((t = now_s() - t0) < secs);
	__atomic_store_n(&done[0], 1, __ATOMIC_RELEASE);
	int status;
	waitpid(pid, &status, 0);
	double t_all = now_s() - t0;
	uint64_t got = __atomic_load_n(&done[1], __ATOMIC_ACQUIRE);
	if (got != sent)
		die("ring records lost");
	printf("ring 0 -> 1, 64-byte records: %.0f records/s (%llu records, "
	       "batches of 32, two processes)\n",
		(double)got / t_all, (unsigned long long)got);
	cq_shm_detach(&shm);
	(void)t;
}

/* ---- retained ------------------------------------------------------ */

static void
count_found(void *arg, const char *topic, size_t len, cq_off_t msg)
{
	(void)topic;
	(void)len;
	(void)msg;
	(*(uint64_t *)arg)++;
}

static void
bench_retained(unsigned n, unsigned budget)
{
	cq_shm_t shm;
	region(&shm, (uint64_t)n * 400 + (64u << 20), 2, 1024);
	cq_shm_set_slot(0);
	cq_qsbr_register();
	char topic[128];
	uint64_t used0 = arena_used();
	double t0 = cpu_s();
	for (unsigned i = 0; i < n; i++) {
		snprintf(topic, sizeof(topic), "site/%u/dev/%u/state", i % 1000,
			i);
		cq_msg_info_t in = {.topic = topic,
			.topic_len = strlen(topic),
			.payload = "on",
			.payload_len = 2,
			.flags = CQ_MSG_F_RETAIN};
		cq_off_t m = cq_msg_create(&in);
		if (m == CQ_OFF_NULL ||
			cq_retained_set(topic, strlen(topic), m) < 0)
			die("retained set failed");
		cq_msg_unref(m);
	}
	double t_set = cpu_s() - t0;
	double per = (double)(arena_used() - used0) / n;
	cq_retained_cursor_t *c = cq_retained_search_new("#", 1);
	uint64_t found = 0, steps = 0;
	double worst = 0;
	t0 = cpu_s();
	for (;;) {
		double s0 = cpu_s();
		int rc = cq_retained_step(c, 0, budget, count_found, &found);
		double d = cpu_s() - s0;
		worst = d > worst ? d : worst;
		steps++;
		cq_qsbr_quiescent(); /* as between two loop iterations */
		if (rc != 1)
			break;
	}
	double t_walk = cpu_s() - t0;
	cq_retained_cursor_free(c);
	if (found != n)
		die("the retained walk missed messages");
	printf("%8u retained: %8.0f set/s, %5.0f B/message (with the "
	       "message); '#' walk %.3f s in %llu steps of %u visits, "
	       "longest step %.1f us\n",
		n, n / t_set, per, t_walk, (unsigned long long)steps, budget,
		worst * 1e6);
	cq_qsbr_unregister();
	cq_shm_detach(&shm);
}

int
main(int argc, char **argv)
{
	unsigned max = 1000000, retained = 1000000;
	double secs = 1.0;
	int opt;
	while ((opt = getopt(argc, argv, "n:r:s:")) != -1) {
		if (opt == 'n')
			max = (unsigned)strtoul(optarg, NULL, 10);
		else if (opt == 'r')
			retained = (unsigned)strtoul(optarg, NULL, 10);
		else if (opt == 's')
			secs = strtod(optarg, NULL);
		else {
			fprintf(stderr,
				"usage: shm_bench [-n subs] [-r "
				"retained] [-s seconds]\n");
			return 2;
		}
	}
	cq_log_set_level(CQ_LOG_WARN);
	for (unsigned n = 10000; n <= max; n *= 10)
		bench_tries(n, secs);
	bench_sessions(max >= 100000 ? 100000 : max);
	bench_ring(secs);
	if (retained > 0)
		bench_retained(retained, 1024);
	return 0;
}
