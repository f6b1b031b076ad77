/*
 * check_storage.c — unit tests for persistence: the storage rings
 * (shm/persist), events (shm/pevent), the stored format
 * (plugins/storage/codec), the storage process's session index, and a
 * whole round in one process: workers' changes (two slots, a takeover
 * between them) emitted into the rings, applied to an LMDB store in a
 * temporary directory, loaded back into a fresh region.
 *
 * One process plays the worker slots and the storage process by switching
 * cq_shm_slot.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/conf.h"
#include "plugins/storage/apply.h"
#include "plugins/storage/codec.h"
#include "plugins/storage/index.h"
#include "plugins/storage/load.h"
#include "shm/msg.h"
#include "shm/persist.h"
#include "shm/pevent.h"
#include "shm/retained.h"
#include "shm/session.h"
#include "t/unit/shm_test.h"
#include "t/unit/unit.h"

/* A region of two worker slots with 64 KiB storage rings, persistence on,
 * used from slot 'slot'. */
static void
region(cq_shm_t *shm, unsigned slot)
{
	cq_shm_conf_t conf;
	cq_shm_conf_init(&conf);
	conf.workers = 2;
	conf.size = 16u << 20;
	conf.persist_ring_bytes = 64u << 10;
	shm_test_create_conf(shm, &conf);
	cq_persist_configure(false);
	cq_shm_slot = slot;
}

static cq_off_t
msg(const char *topic, const char *payload, uint64_t expiry)
{
	cq_msg_info_t in = {.topic = topic,
		.topic_len = strlen(topic),
		.payload = payload,
		.payload_len = strlen(payload),
		.qos = 1,
		.expiry = expiry};
	cq_off_t m = cq_msg_create(&in);
	ck_assert_uint_ne(m, CQ_OFF_NULL);
	return m;
}

/* ---- index --------------------------------------------------------- */

START_TEST(index_put_get_del)
{
	cq_sindex_t ix;
	cq_sindex_init(&ix);
	char id[32];
	for (int i = 0; i < 2000; i++) {
		snprintf(id, sizeof(id), "client-%d", i);
		cq_sindex_ent_t *e = cq_sindex_put(&ix, id, strlen(id));
		ck_assert_ptr_nonnull(e);
		e->rec.inc = (uint64_t)i + 1;
	}
	ck_assert_uint_eq(ix.n, 2000);
	/* Deleting half exercises the backward shift of probe chains. */
	for (int i = 0; i < 2000; i += 2) {
		snprintf(id, sizeof(id), "client-%d", i);
		cq_sindex_del(&ix, id, strlen(id));
	}
	for (int i = 0; i < 2000; i++) {
		snprintf(id, sizeof(id), "client-%d", i);
		cq_sindex_ent_t *e = cq_sindex_get(&ix, id, strlen(id));
		if (i % 2 == 0)
			ck_assert_ptr_null(e);
		else {
			ck_assert_ptr_nonnull(e);
			ck_assert_uint_eq(e->rec.inc, (uint64_t)i + 1);
		}
	}
	ck_assert_uint_eq(ix.n, 1000);
	cq_sindex_free(&ix);
}
END_TEST

/* ---- codec --------------------------------------------------------- */

START_TEST(codec_values)
{
	cq_shm_t shm;
	shm_test_create(&shm, 1, 8u << 20);
	cq_pev_sess_t s = {.inc = 77,
			      .deadline = 1234,
			      .expiry_interval = 600,
			      .queue_max = 1000,
			      .inflight_max = 20,
			      .qos2_max = 30,
			      .protocol = 5},
		      s2;
	uint8_t v[CQ_SCODEC_SESS_LEN];
	cq_scodec_sess_encode(&s, v);
	ck_assert_int_eq(cq_scodec_sess_decode(v, sizeof(v), &s2), 0);
	ck_assert(s2.inc == 77 && s2.deadline == 1234 &&
		s2.expiry_interval == 600 && s2.queue_max == 1000 &&
		s2.inflight_max == 20 && s2.qos2_max == 30 && s2.protocol == 5);
	v[1] = 9; /* protocol 9 */
	ck_assert_int_eq(cq_scodec_sess_decode(v, sizeof(v), &s2), -1);
	ck_assert_int_eq(cq_scodec_sess_decode(v, 5, &s2), -1);

	cq_buf_t b = CQ_BUF_INIT;
	cq_off_t m = msg("a/b", "payload", 99);
	ck_assert_int_eq(cq_scodec_inflight_encode(&b, 2, 17, m), 0);
	unsigned state;
	uint32_t seq;
	bool has;
	cq_msg_info_t info;
	const char *why;
	ck_assert_int_eq(
		cq_scodec_inflight_decode(cq_buf_head(&b), cq_buf_used(&b),
			&state, &seq, &has, &info, &why),
		0);
	ck_assert(has && state == 2 && seq == 17 && info.expiry == 99);
	ck_assert_mem_eq(info.topic, "a/b", 3);
	ck_assert_mem_eq(info.payload, "payload", 7);
	/* Every shorter value is refused, never misread. */
	for (size_t n = 0; n < cq_buf_used(&b); n++)
		ck_assert_int_eq(cq_scodec_inflight_decode(cq_buf_head(&b), n,
					 &state, &seq, &has, &info, &why),
			-1);
	/* Not a message offset. */
	ck_assert_int_eq(cq_scodec_plain_encode(&b, m + 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	cq_msg_unref(m);
	cq_buf_free(&b);
	cq_shm_detach(&shm);
}
END_TEST

START_TEST(codec_child_keys)
{
	cq_buf_t k = CQ_BUF_INIT;
	uint8_t pos[4];
	cq_scodec_be32(pos, 0x01020304);
	ck_assert_int_eq(
		cq_scodec_child_key(&k, "dev", 3, CQ_SK_QUEUE, pos, 4), 0);
	const char *id;
	size_t il, sl;
	char kind;
	const uint8_t *sub;
	ck_assert_int_eq(cq_scodec_child_split(cq_buf_head(&k), cq_buf_used(&k),
				 &id, &il, &kind, &sub, &sl),
		0);
	ck_assert(il == 3 && kind == CQ_SK_QUEUE && sl == 4);
	ck_assert_uint_eq(cq_scodec_get_be(sub, 4), 0x01020304);
	/* A queue key with a 3-byte position, an unknown kind, no id. */
	ck_assert_int_eq(
		cq_scodec_child_split(cq_buf_head(&k), cq_buf_used(&k) - 1, &id,
			&il, &kind, &sub, &sl),
		-1);
	ck_assert_int_eq(
		cq_scodec_child_split("dev\0Z", 5, &id, &il, &kind, &sub, &sl),
		-1);
	ck_assert_int_eq(
		cq_scodec_child_split("\0S", 2, &id, &il, &kind, &sub, &sl),
		-1);
	cq_buf_free(&k);
}
END_TEST

/* ---- rings and events ---------------------------------------------- */

START_TEST(events_roundtrip_and_refusal)
{
	cq_shm_t shm;
	region(&shm, 0);
	cq_off_t m = msg("t", "x", 0);
	cq_pev_t h = {.msg = m, .key_len = 3, .text_len = 2, .inc = 5, .a = 9};
	ck_assert_int_eq(
		cq_pev_emit(CQ_PEV_QUEUE_PUSH, &h, NULL, "abc", "zz", true), 0);
	cq_persist_rec_t rec;
	ck_assert_int_eq(cq_persist_peek(0, &rec), 0);
	cq_pev_view_t v;
	const char *why = NULL;
	/* QUEUE_PUSH carries no filter: refused whole. */
	ck_assert_int_eq(cq_pev_decode(&rec, &v, &why), -1);
	ck_assert_str_eq(why, "filter missing or unexpected");
	h.text_len = 0;
	ck_assert_int_eq(
		cq_pev_emit(CQ_PEV_QUEUE_PUSH, &h, NULL, "abc", NULL, true), 0);
	ck_assert_int_eq(cq_persist_peek(0, &rec), 0);
	ck_assert_int_eq(cq_pev_decode(&rec, &v, &why), 0);
	ck_assert(v.type == CQ_PEV_QUEUE_PUSH && v.h.inc == 5 && v.h.a == 9);
	ck_assert_mem_eq(v.key, "abc", 3);
	ck_assert_uint_eq(cq_msg_refcount(m), 3); /* two records own one */
	/* Additions stop at three quarters of the ring; updates go on to
	 * the end; publishers are refused from half on. */
	int n = 0;
	while (cq_pev_emit(CQ_PEV_QUEUE_POP,
		       &(cq_pev_t){.key_len = 3, .inc = 5}, NULL, "abc", NULL,
		       true) == 0)
		n++;
	ck_assert_int_eq(errno, ENOBUFS);
	ck_assert_uint_le(cq_persist_fill(0), (64u << 10) / 4 * 3);
	ck_assert_uint_gt(cq_persist_fill(0), (64u << 10) / 2);
	ck_assert(!cq_persist_room(16, true));
	ck_assert(cq_persist_room(16, false));
	ck_assert(cq_persist_congested());
	ck_assert_int_eq(cq_pev_emit(CQ_PEV_QUEUE_POP,
				 &(cq_pev_t){.key_len = 3, .inc = 5}, NULL,
				 "abc", NULL, false),
		0);
	ck_assert_int_gt(n, 100);
	cq_shm_detach(&shm);
}
END_TEST

/* ---- a whole round: emit, apply, load ------------------------------ */

static char datadir[64];

static void
config(cq_config_t *cfg)
{
	ck_assert_int_eq(cq_config_load_defaults(cfg), 0);
	snprintf(datadir, sizeof(datadir), "/tmp/cqunit-storage-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(datadir));
	free(cfg->data_dir);
	cfg->data_dir = strdup(datadir);
	cfg->storage.lmdb.map_size = 4u << 20;
}

static void
remove_store(void)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/comqtt.mdb", datadir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/comqtt.mdb-lock", datadir);
	unlink(p);
	rmdir(datadir);
}

static cq_session_ref_t
open_as(unsigned slot, const char *id, uint32_t expiry)
{
	cq_shm_slot = slot;
	cq_session_open_t o = {.client_id = id,
		.id_len = strlen(id),
		.protocol = 4,
		.expiry_interval = expiry,
		.inflight_max = 8,
		.qos2_max = 8,
		.queue_max = 10};
	cq_session_ref_t r;
	ck_assert_int_eq(cq_session_open(&o, &r), 0);
	return r;
}

/* Slot 0 builds a session; slot 1 takes it over and changes it. */
static void
worker_changes(void)
{
	cq_session_ref_t a = open_as(0, "dev", CQ_SESSION_NEVER);
	cq_subopts_t o = {.qos = 2, .no_local = 1, .sub_id = 4};
	ck_assert_int_eq(cq_session_sub_add(a.sess, a.gen, "s/+", 3, &o), 0);
	ck_assert_int_eq(cq_session_sub_add(a.sess, a.gen, "gone", 4, &o), 0);
	for (int i = 0; i < 4; i++) {
		char p[16];
		snprintf(p, sizeof(p), "%d", i);
		ck_assert_int_eq(
			cq_session_queue_push(a.sess, a.gen, msg("s/q", p, 0)),
			0);
	}
	cq_off_t in = msg("s/i", "fly", 0);
	ck_assert_int_eq(cq_session_inflight_add(
				 a.sess, a.gen, 41, in, CQ_INFLIGHT_PUBREC),
		0);
	ck_assert_int_eq(cq_session_qos2_add(a.sess, a.gen, 7), 1);
	cq_off_t r = msg("r/x", "kept", 0);
	ck_assert_int_eq(cq_retained_set("r/x", 3, r), 0);
	cq_msg_unref(r);
	/* The takeover: slot 1's events must apply after slot 0's. */
	cq_session_ref_t b = open_as(1, "dev", CQ_SESSION_NEVER);
	ck_assert_int_eq(cq_session_fence(b.sess, b.gen), 0);
	cq_off_t first;
	ck_assert_int_eq(cq_session_queue_pop(b.sess, b.gen, &first), 1);
	cq_msg_unref(first);
	ck_assert_int_eq(cq_session_sub_remove(b.sess, b.gen, "gone", 4), 0);
	ck_assert_int_eq(cq_session_disconnect(b.sess, b.gen, 1000), 0);
	/* A session that ends is removed from the store again. */
	cq_session_ref_t c = open_as(0, "brief", 60);
	ck_assert_int_eq(cq_session_disconnect(c.sess, c.gen, 1000), 0);
	cq_off_t will;
	ck_assert_int_eq(cq_session_expire(c.sess, c.gen, 2000, 1, &will), 1);
}

static void
check_loaded(void)
{
	uint64_t st;
	cq_off_t s = cq_session_lookup("dev", 3, &st);
	ck_assert_uint_ne(s, CQ_OFF_NULL);
	ck_assert_uint_eq(cq_session_word_state(st), CQ_SESSION_DISCONNECTED);
	ck_assert_uint_eq(cq_session_lookup("brief", 5, NULL), CQ_OFF_NULL);
	ck_assert_uint_eq(cq_session_queue_len(s), 3);
	cq_inflight_t v[4];
	ck_assert_uint_eq(cq_session_inflight_list(s, v, 4), 1);
	ck_assert(v[0].pid == 41 && v[0].state == CQ_INFLIGHT_PUBREC);
	ck_assert_int_eq(cq_session_qos2_add(s, 1, 7), 0); /* known */
	cq_off_t q;
	ck_assert_int_eq(cq_session_queue_pop(s, 1, &q), 1);
	ck_assert_mem_eq(cq_msg_payload(cq_msg_get(q)), "1", 1);
	cq_msg_unref(q);
	ck_assert_uint_ne(cq_retained_get("r/x", 3, 0), CQ_OFF_NULL);
}

static void
count_sub(void *arg, const char *f, size_t len, const cq_subopts_t *o)
{
	int *n = arg;
	ck_assert(len == 3 && memcmp(f, "s/+", 3) == 0);
	ck_assert(o->qos == 2 && o->no_local && o->sub_id == 4);
	(*n)++;
}

START_TEST(emit_apply_load)
{
	cq_config_t cfg;
	config(&cfg);
	cq_shm_t shm, shm2;
	region(&shm, 0);
	worker_changes();
	/* The storage process: apply what the rings hold. */
	cq_shm_slot = CQ_SLOT_NONE;
	cq_sindex_t ix;
	cq_sindex_init(&ix);
	cq_store_t *st;
	char *error = NULL;
	ck_assert_msg(cq_store_lmdb.open(&cfg, &st, &error) == 0, "%s", error);
	cq_apply_t ap;
	ck_assert_int_eq(cq_apply_init(&ap, &cq_store_lmdb, st, &ix), 0);
	ck_assert_int_gt(cq_apply_batch(&ap), 10);
	ck_assert_int_eq(cq_apply_batch(&ap), 0);
	ck_assert_uint_eq(cq_persist_committed(1), cq_persist_tail(1));
	ck_assert_uint_eq(cq_persist_fill(0), 0);
	cq_apply_free(&ap);
	cq_shm_detach(&shm);
	/* A new region, as after a restart. */
	region(&shm2, CQ_SLOT_NONE);
	cq_shm_slot = CQ_SLOT_NONE;
	cq_load_stats_t ls;
	ck_assert_msg(cq_load_state(&cq_store_lmdb, st, &ix, 2, 1500, &ls,
			      &error) == 0,
		"%s", error);
	ck_assert_uint_eq(ls.sessions, 1);
	ck_assert_uint_eq(ls.queued, 3);
	ck_assert_uint_eq(ls.retained, 1);
	check_loaded();
	int n = 0;
	cq_session_subs_foreach(
		cq_session_lookup("dev", 3, NULL), count_sub, &n);
	ck_assert_int_eq(n, 1);
	cq_store_lmdb.close(st);
	cq_sindex_free(&ix);
	cq_shm_detach(&shm2);
	cq_config_free(&cfg);
	remove_store();
}
END_TEST

Suite *
cq_unit_suite(void)
{
	Suite *s = suite_create("storage");
	TCase *tc = tcase_create("storage");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, index_put_get_del);
	tcase_add_test(tc, codec_values);
	tcase_add_test(tc, codec_child_keys);
	tcase_add_test(tc, events_roundtrip_and_refusal);
	tcase_add_test(tc, emit_apply_load);
	suite_add_tcase(s, tc);
	return s;
}
