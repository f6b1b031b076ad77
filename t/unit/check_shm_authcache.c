/*
 * check_shm_authcache.c — the shared auth/ACL cache: hits, TTL and
 * staleness, the policy epoch (once per policy serial), CLOCK eviction, long keys, torn entries,
 * and a writer process racing a reader process.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "shm/authcache.h"
#include "shm/crashpoint.h"
#include "t/unit/shm_test.h"
#include "t/unit/unit.h"

static void
setup(cq_shm_t *shm, uint32_t entries)
{
	cq_shm_conf_t conf;
	cq_shm_conf_init(&conf);
	conf.size = 8u << 20;
	conf.workers = 2;
	conf.auth_cache_entries = entries;
	shm_test_create_conf(shm, &conf);
}

static cq_authcache_key_t
key(const char *id, const char *topic, char access)
{
	return (cq_authcache_key_t){.kind = CQ_AUTHCACHE_CLIENT,
		.access = (uint8_t)access,
		.id = id,
		.id_len = strlen(id),
		.topic = topic,
		.topic_len = strlen(topic)};
}

/* The reference vector of the SipHash paper (64-bit output). */
START_TEST(siphash_reference_vector)
{
	uint64_t k[2] = {
		UINT64_C(0x0706050403020100), UINT64_C(0x0f0e0d0c0b0a0908)};
	unsigned char msg[15];
	for (int i = 0; i < 15; i++)
		msg[i] = (unsigned char)i;
	ck_assert(cq_siphash64(k, msg, 15) == UINT64_C(0xa129ca6149be45e5));
	uint64_t a[2], b[2];
	cq_siphash128(k, msg, 15, a);
	cq_siphash128(k, msg, 14, b);
	ck_assert(a[0] != b[0] && a[1] != b[1]);
}
END_TEST

START_TEST(hit_ttl_and_stale)
{
	cq_shm_t shm;
	setup(&shm, 1024);
	cq_authcache_key_t k = key("client-1", "a/b", 'w');
	uint8_t d = 0;
	ck_assert_int_eq(cq_authcache_get(&k, 1000, 0, &d), CQ_AUTHCACHE_MISS);
	ck_assert_int_eq(cq_authcache_put(&k, 1, 500, 1000), 0);
	ck_assert_int_eq(cq_authcache_get(&k, 1499, 0, &d), CQ_AUTHCACHE_HIT);
	ck_assert_uint_eq(d, 1);
	/* Other access kinds, ids and topics are other keys. */
	cq_authcache_key_t r = key("client-1", "a/b", 'r');
	cq_authcache_key_t o = key("client-2", "a/b", 'w');
	cq_authcache_key_t t = key("client-1", "a/c", 'w');
	cq_authcache_key_t sp = key("client-1a", "/b", 'w');
	ck_assert_int_eq(cq_authcache_get(&r, 1200, 0, &d), CQ_AUTHCACHE_MISS);
	ck_assert_int_eq(cq_authcache_get(&o, 1200, 0, &d), CQ_AUTHCACHE_MISS);
	ck_assert_int_eq(cq_authcache_get(&t, 1200, 0, &d), CQ_AUTHCACHE_MISS);
	ck_assert_int_eq(cq_authcache_get(&sp, 1200, 0, &d), CQ_AUTHCACHE_MISS);
	k.kind = CQ_AUTHCACHE_USER;
	ck_assert_int_eq(cq_authcache_get(&k, 1200, 0, &d), CQ_AUTHCACHE_MISS);
	k.kind = CQ_AUTHCACHE_CLIENT;
	/* Expired: a miss, or stale within the allowance. */
	ck_assert_int_eq(cq_authcache_get(&k, 1500, 0, &d), CQ_AUTHCACHE_MISS);
	ck_assert_int_eq(
		cq_authcache_get(&k, 1700, 300, &d), CQ_AUTHCACHE_STALE);
	ck_assert_int_eq(
		cq_authcache_get(&k, 1900, 300, &d), CQ_AUTHCACHE_MISS);
	/* A new decision replaces the old one in place. */
	ck_assert_int_eq(cq_authcache_put(&k, 0, 500, 2000), 0);
	ck_assert_int_eq(cq_authcache_get(&k, 2001, 0, &d), CQ_AUTHCACHE_HIT);
	ck_assert_uint_eq(d, 0);
	cq_shm_detach(&shm);
}
END_TEST

START_TEST(epoch_invalidates_everything)
{
	cq_shm_t shm;
	setup(&shm, 1024);
	char id[32];
	uint8_t d;
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		cq_authcache_key_t k = key(id, "t", 's');
		ck_assert_int_eq(cq_authcache_put(&k, 1, 60000, 0), 0);
	}
	uint64_t e = cq_authcache_epoch();
	ck_assert_uint_eq(cq_authcache_invalidate(), e + 1);
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		cq_authcache_key_t k = key(id, "t", 's');
		ck_assert_int_eq(
			cq_authcache_get(&k, 1, 60000, &d), CQ_AUTHCACHE_MISS);
	}
	cq_shm_detach(&shm);
}
END_TEST

/* Every worker hears authd's INVALIDATE for the same serial: only the
 * first bumps the epoch, so answers cached since under the new policy
 * survive the later workers' calls. */
START_TEST(serial_invalidates_once)
{
	cq_shm_t shm;
	setup(&shm, 1024);
	uint64_t e = cq_authcache_epoch();
	bool bumped;
	ck_assert_uint_eq(cq_authcache_invalidate_serial("s2", &bumped), e + 1);
	ck_assert(bumped);
	cq_authcache_key_t k = key("alice", "t", 'w');
	uint8_t d;
	ck_assert_int_eq(cq_authcache_put(&k, 1, 60000, 0), 0);
	ck_assert_uint_eq(cq_authcache_invalidate_serial("s2", &bumped), e + 1);
	ck_assert(!bumped);
	ck_assert_int_eq(cq_authcache_get(&k, 1, 0, &d), CQ_AUTHCACHE_HIT);
	ck_assert_uint_eq(cq_authcache_invalidate_serial("s3", &bumped), e + 2);
	ck_assert(bumped);
	ck_assert_int_eq(cq_authcache_get(&k, 1, 0, &d), CQ_AUTHCACHE_MISS);
	/* Back to an older serial is a change too. */
	ck_assert_uint_eq(cq_authcache_invalidate_serial("s2", &bumped), e + 3);
	/* Too long to record: always bumps. */
	char big[CQ_AUTHCACHE_SERIAL_MAX + 1];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_uint_eq(cq_authcache_invalidate_serial(big, &bumped), e + 4);
	ck_assert_uint_eq(cq_authcache_invalidate_serial(big, &bumped), e + 5);
	ck_assert(bumped);
	cq_shm_detach(&shm);
}
END_TEST

/* A worker killed between the bump and recording the serial: the next
 * worker bringing the same serial bumps again (an extra invalidation,
 * never a missed one), and the serial lock is usable. */
START_TEST(serial_killed_after_bump)
{
	cq_shm_t shm;
	cq_log_set_level(CQ_LOG_CRIT);
	setup(&shm, 64);
	uint64_t e = cq_authcache_epoch();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		bool b;
		cq_crashpoint_arm("authcache.serial_bumped", 1, 0, 0);
		cq_authcache_invalidate_serial("s2", &b);
		_exit(0);
	}
	ck_assert_int_eq(shm_test_wait(pid), SIGKILL);
	ck_assert_uint_eq(cq_authcache_epoch(), e + 1);
	cq_shm_reap(&shm, 1);
	bool bumped;
	ck_assert_uint_eq(cq_authcache_invalidate_serial("s2", &bumped), e + 2);
	ck_assert(bumped);
	ck_assert_uint_eq(cq_authcache_invalidate_serial("s2", &bumped), e + 2);
	ck_assert(!bumped);
	cq_shm_report_t rep = shm_test_check(&shm, 0);
	ck_assert_uint_eq(rep.errors, 0);
	cq_shm_detach(&shm);
}
END_TEST

/* One bucket of 8: a ninth key evicts an entry nobody read since the hand
 * last passed; recently read entries survive. */
START_TEST(clock_eviction)
{
	cq_shm_t shm;
	setup(&shm, 8);
	ck_assert_uint_eq(cq_authcache_capacity(), 8);
	char id[16];
	uint8_t d;
	for (int i = 0; i < 8; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		cq_authcache_key_t k = key(id, "t", 'r');
		ck_assert_int_eq(cq_authcache_put(&k, (uint8_t)i, 60000, 0), 0);
	}
	/* Read all but c3. */
	for (int i = 0; i < 8; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		cq_authcache_key_t k = key(id, "t", 'r');
		if (i != 3)
			ck_assert_int_eq(cq_authcache_get(&k, 1, 0, &d),
				CQ_AUTHCACHE_HIT);
	}
	cq_authcache_key_t k9 = key("c9", "t", 'r');
	ck_assert_int_eq(cq_authcache_put(&k9, 9, 60000, 1), 0);
	ck_assert_int_eq(cq_authcache_get(&k9, 2, 0, &d), CQ_AUTHCACHE_HIT);
	ck_assert_uint_eq(d, 9);
	int present = 0;
	for (int i = 0; i < 8; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		cq_authcache_key_t k = key(id, "t", 'r');
		int hit = cq_authcache_get(&k, 2, 0, &d) == CQ_AUTHCACHE_HIT;
		if (i == 3)
			ck_assert(!hit);
		present += hit;
	}
	ck_assert_int_eq(present, 7);
	/* Expired entries are reused before anyone is evicted. */
	cq_authcache_key_t k10 = key("c10", "t", 'r');
	ck_assert_int_eq(cq_authcache_put(&k10, 10, 60000, 70000), 0);
	cq_shm_detach(&shm);
}
END_TEST

/* Keys longer than an entry holds are matched by their keyed hash. */
START_TEST(long_keys)
{
	cq_shm_t shm;
	setup(&shm, 1024);
	char topic[1000], other[1000];
	memset(topic, 'a', sizeof(topic) - 1);
	topic[sizeof(topic) - 1] = '\0';
	memcpy(other, topic, sizeof(topic));
	other[500] = 'b';
	cq_authcache_key_t k = key("client", topic, 'w');
	cq_authcache_key_t o = key("client", other, 'w');
	uint8_t d;
	ck_assert_int_eq(cq_authcache_put(&k, 1, 1000, 0), 0);
	ck_assert_int_eq(cq_authcache_get(&k, 1, 0, &d), CQ_AUTHCACHE_HIT);
	ck_assert_int_eq(cq_authcache_get(&o, 1, 0, &d), CQ_AUTHCACHE_MISS);
	cq_shm_detach(&shm);
}
END_TEST

/* A writer killed inside an entry's sequence section: readers miss the
 * entry (torn), the recovered stripe lock resets it, the cache works. */
START_TEST(writer_dies_mid_entry)
{
	cq_shm_t shm;
	cq_log_set_level(CQ_LOG_CRIT);
	setup(&shm, 8);
	cq_authcache_key_t k = key("victim", "t", 'w');
	uint8_t d;
	ck_assert_int_eq(cq_authcache_put(&k, 1, 60000, 0), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		cq_crashpoint_arm("authcache.write", 1, 0, 0);
		cq_authcache_put(&k, 2, 60000, 0);
		_exit(0);
	}
	ck_assert_int_eq(shm_test_wait(pid), SIGKILL);
	ck_assert_int_eq(cq_authcache_get(&k, 1, 0, &d), CQ_AUTHCACHE_MISS);
	cq_shm_reap(&shm, 1);
	cq_shm_report_t rep = shm_test_check(&shm, 0);
	ck_assert_uint_eq(rep.errors, 0);
	ck_assert_int_eq(cq_authcache_put(&k, 3, 60000, 0), 0);
	ck_assert_int_eq(cq_authcache_get(&k, 1, 0, &d), CQ_AUTHCACHE_HIT);
	ck_assert_uint_eq(d, 3);
	cq_shm_detach(&shm);
}
END_TEST

/* A writer process rewrites entries while this process reads: every hit
 * carries the decision that belongs to its key (no torn reads). */
START_TEST(concurrent_reader_never_torn)
{
	cq_shm_t shm;
	setup(&shm, 64);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char id[16];
		for (int round = 0; round < 20000; round++) {
			int i = round % 40;
			snprintf(id, sizeof(id), "k%d", i);
			cq_authcache_key_t k = key(id, id, 'r');
			cq_authcache_put(&k, (uint8_t)(i * 3), 60000, 0);
		}
		_exit(0);
	}
	char id[16];
	unsigned hits = 0;
	for (int round = 0; round < 100000; round++) {
		int i = round % 40;
		uint8_t d;
		snprintf(id, sizeof(id), "k%d", i);
		cq_authcache_key_t k = key(id, id, 'r');
		if (cq_authcache_get(&k, 1, 0, &d) == CQ_AUTHCACHE_HIT) {
			ck_assert_uint_eq(d, (uint8_t)(i * 3));
			hits++;
		}
	}
	ck_assert_int_eq(shm_test_wait(pid), 0);
	ck_assert_uint_gt(hits, 0);
	cq_shm_detach(&shm);
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("shm_authcache");
	TCase *tc = tcase_create("authcache");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, siphash_reference_vector);
	tcase_add_test(tc, hit_ttl_and_stale);
	tcase_add_test(tc, epoch_invalidates_everything);
	tcase_add_test(tc, serial_invalidates_once);
	tcase_add_test(tc, serial_killed_after_bump);
	tcase_add_test(tc, clock_eviction);
	tcase_add_test(tc, long_keys);
	tcase_add_test(tc, writer_dies_mid_entry);
	tcase_add_test(tc, concurrent_reader_never_torn);
	suite_add_tcase(s, tc);
	return s;
}
