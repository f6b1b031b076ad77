/*
 * control_info.c — notes about the CONNECTs of this worker's clients, for
 * the admin's DESCRIBE (control-int.h).
 *
 * A chained hash table keyed by client id, doubled when it holds twice as
 * many notes as buckets.  Only what the runtime does not keep anyway is
 * noted: username, clean flag, will (its payload cut to a size worth
 * showing); the connection itself has the rest.
 */
#include "config.h"
#include "workers/control-int.h"

#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "shm/ctl.h"
#include "workers/conn.h"
#include "workers/lsess.h"

#define PENDING_MAX_MS 30000u
#define MIN_BUCKETS    64u

static cq_cnote_t **bucket;
static size_t nbuckets, nnotes;

static uint64_t
hash_of(const char *id, size_t len)
{
	return cq_hash_bytes(id, len);
}

static cq_cnote_t **
link_of(const char *id, size_t len)
{
	if (nbuckets == 0)
		return NULL;
	cq_cnote_t **l = &bucket[hash_of(id, len) & (nbuckets - 1)];
	while (*l != NULL &&
		((*l)->id_len != len || memcmp((*l)->id, id, len) != 0))
		l = &(*l)->next;
	return l;
}

static void
note_free(cq_cnote_t *n)
{
	free(n->id);
	free(n->user);
	free(n->will_topic);
	free(n->will_payload);
	free(n);
}

static void
grow(void)
{
	size_t nb = nbuckets ? nbuckets * 2 : MIN_BUCKETS;
	cq_cnote_t **b = calloc(nb, sizeof(*b));
	if (b == NULL)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < nbuckets; i++) {
		while (bucket[i] != NULL) {
			cq_cnote_t *n = bucket[i];
			bucket[i] = n->next;
			cq_cnote_t **l =
				&b[hash_of(n->id, n->id_len) & (nb - 1)];
			n->next = *l;
			*l = n;
		}
	}
	free(bucket);
	bucket = b;
	nbuckets = nb;
}

static void *
dup_bytes(const void *p, size_t len)
{
	void *q = malloc(len + 1);
	if (q != NULL) {
		if (len > 0)
			memcpy(q, p, len);
		((char *)q)[len] = '\0';
	}
	return q;
}

/* The note's copies of the CONNECT's fields; false if out of memory. */
static bool
fill(cq_cnote_t *n, const cq_mqtt_connect_t *pk)
{
	n->id_len = pk->client_id.len;
	n->id = dup_bytes(pk->client_id.ptr, n->id_len);
	if (pk->has_username) {
		n->user_len = pk->username.len;
		n->user = dup_bytes(pk->username.ptr, n->user_len);
	}
	if (pk->will) {
		size_t pl = pk->will_payload.len;
		n->will_topic_len = pk->will_topic.len;
		n->will_topic = dup_bytes(
			pk->will_topic.ptr, n->will_topic_len);
		n->will_payload_full = (uint32_t)pl;
		n->will_payload_len = pl < CQ_CTL_WILL_PAYLOAD_MAX
			? pl
			: CQ_CTL_WILL_PAYLOAD_MAX;
		n->will_payload = dup_bytes(
			pk->will_payload.ptr, n->will_payload_len);
		n->will_qos = pk->will_qos;
		n->will_retain = pk->will_retain;
	}
	n->clean = pk->clean;
	return n->id != NULL && (!pk->has_username || n->user != NULL) &&
		(!pk->will ||
			(n->will_topic != NULL && n->will_payload != NULL));
}

void
cq_cnote_connect(uint64_t now_ms, const cq_mqtt_connect_t *pk)
{
	const char *id = (const char *)pk->client_id.ptr;
	size_t len = pk->client_id.len;
	if (len == 0)
		return; /* an assigned id: known only later */
	cq_cnote_forget(id, len);
	if (nnotes >= 2 * nbuckets)
		grow();
	cq_cnote_t *n = calloc(1, sizeof(*n));
	if (n == NULL)
		return;
	if (!fill(n, pk) || nbuckets == 0) {
		note_free(n);
		return;
	}
	n->noted_ms = now_ms;
	cq_cnote_t **l = &bucket[hash_of(id, len) & (nbuckets - 1)];
	n->next = *l;
	*l = n;
	nnotes++;
}

void
cq_cnote_established(const char *id, size_t len)
{
	cq_cnote_t **l = link_of(id, len);
	if (l != NULL && *l != NULL)
		(*l)->established = true;
}

void
cq_cnote_forget(const char *id, size_t len)
{
	cq_cnote_t **l = link_of(id, len);
	if (l == NULL || *l == NULL)
		return;
	cq_cnote_t *n = *l;
	*l = n->next;
	note_free(n);
	nnotes--;
}

const cq_cnote_t *
cq_cnote_find(const char *id, size_t len)
{
	cq_cnote_t **l = link_of(id, len);
	return l != NULL ? *l : NULL;
}

/* Whether note n still describes a client connected here. */
static bool
live(cq_worker_t *w, const cq_cnote_t *n)
{
	if (!n->established)
		return w->now_ms - n->noted_ms < PENDING_MAX_MS;
	const cq_lsess_t *ls = cq_lsess_find(w, n->id, n->id_len);
	return ls != NULL && ls->conn != NULL;
}

void
cq_cnote_sweep(cq_worker_t *w)
{
	for (size_t i = 0; i < nbuckets; i++) {
		cq_cnote_t **l = &bucket[i];
		while (*l != NULL) {
			if (live(w, *l)) {
				l = &(*l)->next;
				continue;
			}
			cq_cnote_t *n = *l;
			*l = n->next;
			note_free(n);
			nnotes--;
		}
	}
}

void
cq_cnote_free_all(void)
{
	for (size_t i = 0; i < nbuckets; i++) {
		while (bucket[i] != NULL) {
			cq_cnote_t *n = bucket[i];
			bucket[i] = n->next;
			note_free(n);
		}
	}
	free(bucket);
	bucket = NULL;
	nbuckets = nnotes = 0;
}
