/*
 * counters.c — per-worker metric blocks (counters.h).
 *
 * Invariant: block[s] is written only by the process in slot s (and by the
 * master's reaper once that process is dead); every word is read and
 * written with relaxed atomics so a concurrent reader sees whole values.
 */
#include "config.h"
#include "shm/counters.h"

#include <string.h>

#include "core/defs.h"

#define COUNTERS_MAGIC UINT64_C(0x5254435151514d43) /* "CMQQQCTR" */

typedef struct counter_block {
	uint64_t v[CQ_CTR_COUNT];
} __attribute__((aligned(CQ_CACHELINE))) counter_block_t;

typedef struct counters_hdr {
	uint64_t magic;
	uint32_t nslots;
	uint32_t pad;
	counter_block_t block[] __attribute__((aligned(CQ_CACHELINE)));
} counters_hdr_t;

static counter_block_t private_block;
uint64_t *cq_counters_mine = private_block.v;

static const struct {
	const char *name;
	int gauge;
} info[CQ_CTR_COUNT] = {
	[CQ_CTR_CONN_ACCEPTED] = {"connections_accepted", 0},
	[CQ_CTR_CONN_CLOSED] = {"connections_closed", 0},
	[CQ_CTR_CONNECTIONS] = {"connections", 1},
	[CQ_CTR_MSGS_IN_Q0] = {"msgs_in_qos0", 0},
	[CQ_CTR_MSGS_IN_Q1] = {"msgs_in_qos1", 0},
	[CQ_CTR_MSGS_IN_Q2] = {"msgs_in_qos2", 0},
	[CQ_CTR_BYTES_IN] = {"bytes_in", 0},
	[CQ_CTR_MSGS_OUT_Q0] = {"msgs_out_qos0", 0},
	[CQ_CTR_MSGS_OUT_Q1] = {"msgs_out_qos1", 0},
	[CQ_CTR_MSGS_OUT_Q2] = {"msgs_out_qos2", 0},
	[CQ_CTR_BYTES_OUT] = {"bytes_out", 0},
	[CQ_CTR_DROP_RING_FULL] = {"drops_ring_full", 0},
	[CQ_CTR_DROP_QUEUE_FULL] = {"drops_queue_full", 0},
	[CQ_CTR_DROP_EXPIRED] = {"drops_expired", 0},
	[CQ_CTR_DROP_ACL] = {"drops_acl", 0},
	[CQ_CTR_DROP_TOO_LARGE] = {"drops_too_large", 0},
	[CQ_CTR_DROP_NO_MEMORY] = {"drops_no_memory", 0},
	[CQ_CTR_RING_RECORDS_OUT] = {"ring_records_out", 0},
	[CQ_CTR_RING_RECORDS_IN] = {"ring_records_in", 0},
	[CQ_CTR_RING_WAKEUPS] = {"ring_wakeups", 0},
	[CQ_CTR_RING_DEPTH] = {"ring_depth_bytes", 1},
	[CQ_CTR_LOOP_ITERATIONS] = {"loop_iterations", 0},
	[CQ_CTR_LOOP_LAG_US] = {"loop_lag_us", 1},
	[CQ_CTR_SUBSCRIPTIONS] = {"subscriptions", 1},
	[CQ_CTR_AUTH_ALLOW] = {"auth_allowed", 0},
	[CQ_CTR_AUTH_DENY] = {"auth_denied", 0},
	[CQ_CTR_AUTH_UNAVAILABLE] = {"auth_unavailable", 0},
	[CQ_CTR_CONN_BANNED] = {"connections_banned", 0},
	[CQ_CTR_CTL_COMMANDS] = {"admin_commands", 0},
	[CQ_CTR_PAYLOAD_IN_Q0] = {"payload_bytes_in_qos0", 0},
	[CQ_CTR_PAYLOAD_IN_Q1] = {"payload_bytes_in_qos1", 0},
	[CQ_CTR_PAYLOAD_IN_Q2] = {"payload_bytes_in_qos2", 0},
	[CQ_CTR_PAYLOAD_OUT_Q0] = {"payload_bytes_out_qos0", 0},
	[CQ_CTR_PAYLOAD_OUT_Q1] = {"payload_bytes_out_qos1", 0},
	[CQ_CTR_PAYLOAD_OUT_Q2] = {"payload_bytes_out_qos2", 0},
};

const char *
cq_counter_name(cq_counter_t c)
{
	return (unsigned)c < CQ_CTR_COUNT ? info[c].name : "?";
}

int
cq_counter_is_gauge(cq_counter_t c)
{
	return (unsigned)c < CQ_CTR_COUNT && info[c].gauge;
}

static counters_hdr_t *
hdr_of(const cq_shm_t *shm)
{
	return cq_shm_area(shm, cq_counters_module.name, NULL);
}

int
cq_counters_read(const cq_shm_t *shm, unsigned slot, uint64_t *out)
{
	const counters_hdr_t *h = hdr_of(shm);
	if (h == NULL || slot >= h->nslots)
		return -1;
	for (unsigned c = 0; c < CQ_CTR_COUNT; c++)
		out[c] = __atomic_load_n(
			&h->block[slot].v[c], __ATOMIC_RELAXED);
	return 0;
}

uint64_t
cq_counter_read(const cq_shm_t *shm, unsigned slot, cq_counter_t c)
{
	const counters_hdr_t *h = hdr_of(shm);
	if (h == NULL || slot >= h->nslots || (unsigned)c >= CQ_CTR_COUNT)
		return UINT64_MAX;
	return __atomic_load_n(&h->block[slot].v[c], __ATOMIC_RELAXED);
}

void
cq_counters_sum(const cq_shm_t *shm, uint64_t *out)
{
	const counters_hdr_t *h = hdr_of(shm);
	memset(out, 0, CQ_CTR_COUNT * sizeof(*out));
	for (unsigned s = 0; h != NULL && s < h->nslots; s++) {
		for (unsigned c = 0; c < CQ_CTR_COUNT; c++)
			out[c] += __atomic_load_n(
				&h->block[s].v[c], __ATOMIC_RELAXED);
	}
}

static size_t
counters_size(const cq_shm_conf_t *conf)
{
	return sizeof(counters_hdr_t) + conf->workers * sizeof(counter_block_t);
}

static int
counters_init(cq_shm_t *shm, void *area, size_t size, const char **error_r)
{
	counters_hdr_t *h = area;
	h->magic = COUNTERS_MAGIC;
	h->nslots = shm->hdr->conf.workers;
	return 0;
}

static void
counters_use(cq_shm_t *shm, void *area, size_t size)
{
	counters_hdr_t *h = area;
	cq_counters_mine = h != NULL && cq_shm_slot < h->nslots
		? h->block[cq_shm_slot].v
		: private_block.v;
}

/* The dead worker's connections and queues are gone: zero its gauges. */
static void
counters_reap(cq_shm_t *shm, void *area, unsigned slot)
{
	counters_hdr_t *h = area;
	if (slot >= h->nslots)
		return;
	for (unsigned c = 0; c < CQ_CTR_COUNT; c++) {
		if (info[c].gauge)
			__atomic_store_n(
				&h->block[slot].v[c], 0, __ATOMIC_RELAXED);
	}
}

static void
counters_check(cq_shm_t *shm, void *area, cq_shm_report_t *rep)
{
	const counters_hdr_t *h = area;
	if (h->magic != COUNTERS_MAGIC || h->nslots != shm->hdr->conf.workers)
		cq_shm_check_error(rep, "counters", "bad header");
}

const cq_shm_module_t cq_counters_module = {
	.name = "counters",
	.size = counters_size,
	.init = counters_init,
	.check = counters_check,
	.reap = counters_reap,
	.use = counters_use,
	.flags = CQ_SHM_MOD_MARKS,
};
