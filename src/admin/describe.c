/*
 * describe.c — what the workers know about their connected clients
 * (DESCRIBE, shm/ctl.h), for the client list and the client detail.
 *
 * The admin lists sessions from shm; for those online it asks each owning
 * worker, in one DESCRIBE per worker (split when the ids do not fit one
 * record), for the facts only the connection has: address, listener, keep
 * alive, connect time, username, clean flag, will.  Each chunk's part
 * remembers which rows it asked about (an index run in the caller's pool).
 */
#include "config.h"
#include "admin/describe.h"

#include <stdlib.h>
#include <string.h>

#include "shm/ctl.h"
#include "shm/session.h"

#define ID_ROOM(n) ((n) + 2u)

/* One DESCRIBE of rows idx[0..n) to 'slot'. */
static int
send_chunk(cq_acall_t *c, unsigned slot, unsigned flags, const cq_srow_t *rows,
	size_t *idx, size_t n)
{
	unsigned char *mem = malloc(CQ_CTL_PAYLOAD_MAX);
	if (mem == NULL)
		return -1;
	cq_ctlbuf_t b;
	cq_ctlbuf_init(&b, mem, CQ_CTL_PAYLOAD_MAX);
	cq_ctlbuf_u16(&b, (uint16_t)flags);
	cq_ctlbuf_u16(&b, (uint16_t)n);
	for (size_t i = 0; i < n; i++)
		cq_ctlbuf_str(
			&b, rows[idx[i]].id, rows[idx[i]].id_len, UINT16_MAX);
	int rc = b.bad
		? -1
		: cq_acall_send(c, slot, CQ_CTL_DESCRIBE, 0, mem, b.len, idx);
	free(mem);
	return rc;
}

int
cq_describe_send(cq_acall_t *c, unsigned slot, unsigned flags,
	const cq_srow_t *rows, size_t *idx, size_t n)
{
	const size_t max = CQ_CTL_PAYLOAD_MAX - 4;
	size_t start = 0, room = max;
	int sent = 0;
	for (size_t i = 0; i <= n; i++) {
		size_t need = i < n ? ID_ROOM(rows[idx[i]].id_len) : 0;
		bool flush = i == n || need > room ||
			i - start == CQ_CTL_DESCRIBE_MAX;
		if (flush && i > start &&
			send_chunk(c, slot, flags, rows, idx + start,
				i - start) == 0)
			sent++;
		if (flush) {
			start = i;
			room = max;
		}
		if (need > max)
			start = i + 1; /* an id too long to ask about */
		else
			room -= need;
	}
	return sent;
}

/* One entry of a reply into d (pointers into the reply's data). */
static void
decode_one(cq_ctlrd_t *in, cq_cdesc_t *d)
{
	memset(d, 0, sizeof(*d));
	d->found = cq_ctlrd_u8(in);
	if (!d->found)
		return;
	d->on = cq_ctlrd_u8(in);
	d->version = cq_ctlrd_u8(in);
	d->clean = cq_ctlrd_u8(in);
	d->keepalive = cq_ctlrd_u16(in);
	d->listener = cq_ctlrd_u16(in);
	d->connected_at = cq_ctlrd_u64(in);
	d->inflight = cq_ctlrd_u32(in);
	d->nsubs = cq_ctlrd_u32(in);
	d->addr = cq_ctlrd_str(in, &d->addr_len);
	d->has_user = cq_ctlrd_u8(in);
	d->user = cq_ctlrd_str(in, &d->user_len);
	d->will = cq_ctlrd_u8(in);
	if (!d->will)
		return;
	d->will_qos = cq_ctlrd_u8(in);
	d->will_retain = cq_ctlrd_u8(in);
	d->will_payload_full = cq_ctlrd_u32(in);
	d->will_topic = cq_ctlrd_str(in, &d->will_topic_len);
	d->will_payload = cq_ctlrd_str(in, &d->will_payload_len);
}

size_t
cq_describe_collect(const cq_acall_t *c, cq_cdesc_t *out, size_t nrows)
{
	size_t got = 0;
	for (size_t p = 0; p < c->nparts; p++) {
		const cq_apart_t *part = &c->parts[p];
		const size_t *idx = part->user;
		if (!part->answered || part->status != CQ_CTL_OK)
			continue;
		cq_ctlrd_t in;
		cq_ctlrd_init(&in, part->data, part->len);
		unsigned n = cq_ctlrd_u16(&in);
		for (unsigned i = 0; i < n && !in.bad; i++) {
			cq_cdesc_t d;
			decode_one(&in, &d);
			if (!in.bad && idx[i] < nrows) {
				out[idx[i]] = d;
				out[idx[i]].valid = true;
				got++;
			}
		}
	}
	return got;
}

static void
kv(cq_json_t *j, const char *key, const char *s, size_t len)
{
	cq_json_kstr(j, key, s, len);
}

void
cq_describe_json(cq_json_t *j, const cq_cdesc_t *d, const cq_config_t *cfg)
{
	bool on = d->valid && d->on;
	kv(j, "username", on && d->has_user ? d->user : "",
		on && d->has_user ? d->user_len : 0);
	kv(j, "remote", on ? d->addr : "", on ? d->addr_len : 0);
	cq_json_kuint(j, "connected_at", on ? d->connected_at : 0);
	cq_json_kuint(j, "keepalive", on ? d->keepalive : 0);
	const char *ln = on && d->listener < cfg->n_listeners
		? cfg->listeners[d->listener].name
		: "";
	cq_json_kcstr(j, "listener", ln);
	cq_json_kbool(j, "clean", on && d->clean);
}

void
cq_describe_will_json(cq_json_t *j, const cq_cdesc_t *d)
{
	bool will = d->valid && d->on && d->will;
	kv(j, "will_topic_name", will ? d->will_topic : "",
		will ? d->will_topic_len : 0);
	kv(j, "will_payload", will ? d->will_payload : "",
		will ? d->will_payload_len : 0);
	cq_json_kbool(j, "will_retain", will && d->will_retain);
	cq_json_kuint(j, "will_qos", will ? d->will_qos : 0);
	cq_json_kbool(j, "will_payload_truncated",
		will && d->will_payload_full > d->will_payload_len);
}
