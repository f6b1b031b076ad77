/*
 * res_clients.c — clients and their subscriptions:
 *
 *   GET    /api/v1/mqtt/clients                      sessions, paged
 *          ?q= (client id substring) &online=true|false &page= &page_size=
 *   GET    /api/v1/mqtt/clients/{id}                 one client (Go's fields)
 *   POST   /api/v1/mqtt/clients/{id}/kick            disconnect it
 *   DELETE /api/v1/mqtt/clients/{id}                 the same
 *   GET    /api/v1/mqtt/clients/{id}/subscriptions   its subscriptions
 *   DELETE /api/v1/mqtt/clients/{id}/subscriptions/{filter}
 *   GET    /api/v1/mqtt/subscriptions                all, paged
 *          ?clientid= &topic= (substrings)
 *
 * Sessions and subscriptions come from shm; the connection facts of the
 * online clients on a page come from their workers (describe.h), so a
 * page costs one round trip per worker at most.
 */
#include "config.h"
#include "admin/admin-int.h"
#include "admin/describe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shm/ctl.h"
#include "shm/session.h"

/* ---- the list -------------------------------------------------------- */

typedef struct list_ctx {
	cq_srow_t *rows;
	size_t n, from, to;
	cq_page_t page;
	size_t *idx; /* rows of the page, grouped by worker */
	cq_cdesc_t *desc; /* per row of the page */
} list_ctx_t;

static void
list_free(void *arg)
{
	list_ctx_t *x = arg;
	cq_snap_rows_free(x->rows, x->n);
	free(x->idx);
	free(x->desc);
	free(x);
}

static bool
online(const cq_srow_t *row)
{
	return cq_session_word_state(row->state) == CQ_SESSION_CONNECTED;
}

/* The owning worker of an online client, null for an offline one. */
static void
worker_json(cq_json_t *j, const cq_srow_t *row)
{
	cq_json_key(j, "worker");
	if (online(row))
		cq_json_uint(j, cq_session_word_owner(row->state));
	else
		cq_json_null(j);
}

static void
row_json(cq_json_t *j, const cq_srow_t *row, const cq_cdesc_t *d,
	const cq_config_t *cfg)
{
	bool on = online(row);
	cq_json_obj_begin(j);
	cq_json_kstr(j, "client_id", row->id, row->id_len);
	cq_json_kbool(j, "online", on);
	cq_describe_json(j, d, cfg);
	cq_json_kuint(j, "subs", row->nsubs);
	cq_json_kuint(j, "pending", row->inflight);
	cq_json_kuint(j, "queued", row->queued);
	cq_json_kuint(j, "protocol_version", row->protocol);
	worker_json(j, row);
	cq_json_obj_end(j);
}

static void
list_done(cq_acall_t *c)
{
	list_ctx_t *x = c->ctx;
	size_t want = 0;
	for (size_t i = x->from; i < x->to; i++)
		want += online(&x->rows[i]);
	size_t got = cq_describe_collect(c, x->desc, x->n);
	cq_json_t j;
	cq_json_init(&j);
	cq_json_obj_begin(&j);
	cq_page_head(&j, &x->page, x->n);
	cq_json_arr_begin(&j);
	for (size_t i = x->from; i < x->to; i++)
		row_json(&j, &x->rows[i], &x->desc[i], c->a->cfg);
	cq_json_arr_end(&j);
	/* Some workers did not answer (dying, busy): details are missing. */
	cq_json_kbool(&j, "partial", got < want);
	cq_json_obj_end(&j);
	cq_http_json(c->r, 200, &j);
}

/* Ask the owners of the page's online rows about them. */
static void
describe_page(cq_acall_t *c, list_ctx_t *x, unsigned nworkers)
{
	size_t k = 0;
	for (unsigned w = 0; w < nworkers; w++) {
		size_t first = k;
		for (size_t i = x->from; i < x->to; i++)
			if (online(&x->rows[i]) &&
				cq_session_word_owner(x->rows[i].state) == w)
				x->idx[k++] = i;
		if (k > first)
			cq_describe_send(
				c, w, 0, x->rows, x->idx + first, k - first);
	}
}

static int
list_filter(cq_hreq_t *r, cq_sfilter_t *f)
{
	const char *on = cq_http_query(r, "online");
	int v;
	f->q = cq_http_query(r, "q");
	if (f->q != NULL && f->q[0] == '\0')
		f->q = NULL;
	f->online = -1;
	if (on != NULL && on[0] != '\0') {
		if (cq_http_query_bool(r, "online", 0, &v) < 0)
			return -1;
		f->online = v;
	}
	return 0;
}

void
cq_res_clients(cq_hreq_t *r)
{
	cq_sfilter_t f;
	list_ctx_t *x = calloc(1, sizeof(*x));
	if (x == NULL) {
		cq_http_error(r, 503, "out of memory");
		return;
	}
	if (cq_http_page(r, &x->page) < 0 || list_filter(r, &f) < 0) {
		free(x);
		return;
	}
	if (cq_snap_sessions(&f, &x->rows, &x->n) < 0) {
		free(x);
		cq_http_error(r, 503, "out of memory");
		return;
	}
	cq_page_window(&x->page, x->n, &x->from, &x->to);
	x->idx = calloc(x->to - x->from + 1, sizeof(*x->idx));
	x->desc = calloc(x->n + 1, sizeof(*x->desc));
	cq_acall_t *c = cq_acall_new(r, list_done, x, list_free);
	if (x->idx == NULL || x->desc == NULL || c == NULL) {
		list_free(x);
		free(c);
		cq_http_error(r, 503, "out of memory");
		return;
	}
	describe_page(c, x, r->a->args->nworkers);
	cq_acall_start(c);
}

/* ---- one client ------------------------------------------------------ */

typedef struct one_ctx {
	cq_srow_t row;
	size_t idx;
	cq_subset_t subs;
} one_ctx_t;

static void
one_free(void *arg)
{
	one_ctx_t *x = arg;
	free(x->row.id);
	cq_subset_free(&x->subs);
	free(x);
}

static void
one_json(cq_json_t *j, const one_ctx_t *x, const cq_cdesc_t *d,
	const cq_config_t *cfg)
{
	bool on = online(&x->row);
	cq_json_obj_begin(j);
	cq_json_kstr(j, "id", x->row.id, x->row.id_len);
	cq_json_kstr(j, "ip", d->valid && d->on ? d->addr : "",
		d->valid && d->on ? d->addr_len : 0);
	cq_json_kbool(j, "online", on);
	cq_describe_json(j, d, cfg);
	cq_json_key(j, "topic_filters");
	cq_json_arr_begin(j);
	for (size_t i = 0; i < x->subs.n; i++)
		cq_json_str(j, x->subs.v[i].filter, x->subs.v[i].filter_len);
	cq_json_arr_end(j);
	cq_json_kuint(j, "protocol_version", x->row.protocol);
	cq_json_kbool(j, "session_clean", d->valid && d->on && d->clean);
	cq_describe_will_json(j, d);
	cq_json_kuint(j, "inflight_count", x->row.inflight);
	cq_json_kuint(j, "queued", x->row.queued);
	worker_json(j, &x->row);
	cq_json_obj_end(j);
}

static void
one_done(cq_acall_t *c)
{
	one_ctx_t *x = c->ctx;
	cq_cdesc_t d = {0};
	cq_describe_collect(c, &d, 1);
	cq_json_t j;
	cq_json_init(&j);
	one_json(&j, x, &d, c->a->cfg);
	cq_http_json(c->r, 200, &j);
}

void
cq_res_client(cq_hreq_t *r)
{
	one_ctx_t *x = calloc(1, sizeof(*x));
	if (x == NULL) {
		cq_http_error(r, 503, "out of memory");
		return;
	}
	if (!cq_snap_session(r->arg[0], r->arg_len[0], &x->row)) {
		free(x);
		cq_http_error(r, 404, "client not found");
		return;
	}
	cq_snap_subs_of(r->arg[0], r->arg_len[0], &x->subs);
	cq_acall_t *c = cq_acall_new(r, one_done, x, one_free);
	if (c == NULL || x->subs.failed) {
		one_free(x);
		free(c);
		cq_http_error(r, 503, "out of memory");
		return;
	}
	unsigned owner = cq_session_word_owner(x->row.state);
	if (online(&x->row) && owner < r->a->args->nworkers)
		cq_describe_send(
			c, owner, CQ_CTL_DESCRIBE_WILL, &x->row, &x->idx, 1);
	cq_acall_start(c);
}

/* ---- kick ------------------------------------------------------------ */

typedef struct kick_ctx {
	cq_kick_fn then;
	void *arg;
} kick_ctx_t;

static void
kick_done(cq_acall_t *c)
{
	kick_ctx_t *k = c->ctx;
	uint16_t st = cq_acall_status(c);
	k->then(c->r, st, k->arg);
}

void
cq_admin_kick(
	cq_hreq_t *r, const char *id, size_t len, cq_kick_fn then, void *arg)
{
	cq_srow_t row;
	if (!cq_snap_session(id, len, &row)) {
		then(r, 0, arg);
		return;
	}
	free(row.id);
	unsigned owner = cq_session_word_owner(row.state);
	if (!online(&row) || owner >= r->a->args->nworkers) {
		then(r, 0, arg);
		return;
	}
	kick_ctx_t *k = malloc(sizeof(*k));
	cq_acall_t *c = k ? cq_acall_new(r, kick_done, k, free) : NULL;
	if (c == NULL) {
		free(k);
		then(r, CQ_CTL_BUSY, arg);
		return;
	}
	*k = (kick_ctx_t){then, arg};
	unsigned char mem[4 + UINT16_MAX];
	cq_ctlbuf_t b;
	cq_ctlbuf_init(&b, mem, sizeof(mem));
	cq_ctlbuf_str(&b, id, len, UINT16_MAX);
	if (cq_acall_send(c, owner, CQ_CTL_KICK, 0, mem, b.len, NULL) < 0) {
		cq_acall_free(c);
		then(r, CQ_CTL_BUSY, arg);
		return;
	}
	cq_acall_start(c);
}

static void
kick_answer(cq_hreq_t *r, uint16_t status, void *arg)
{
	(void)arg;
	if (cq_acall_failed(r, status, "client not connected"))
		return;
	cq_json_t j;
	cq_json_init(&j);
	cq_json_obj_begin(&j);
	cq_json_kstr(&j, "client_id", r->arg[0], r->arg_len[0]);
	cq_json_kbool(&j, "kicked", true);
	cq_json_obj_end(&j);
	cq_http_json(r, 200, &j);
}

void
cq_res_client_kick(cq_hreq_t *r)
{
	cq_admin_kick(r, r->arg[0], r->arg_len[0], kick_answer, NULL);
}

/* ---- subscriptions ---------------------------------------------------- */

static void
sub_json(cq_json_t *j, const cq_subrow_t *s)
{
	cq_json_obj_begin(j);
	if (s->client != NULL)
		cq_json_kstr(j, "client_id", s->client, s->client_len);
	cq_json_kstr(j, "topic", s->filter, s->filter_len);
	cq_json_kuint(j, "qos", s->qos);
	cq_json_kbool(j, "no_local", s->no_local);
	cq_json_kbool(j, "retain_as_published", s->rap);
	cq_json_kuint(j, "retain_handling", s->rh);
	cq_json_kuint(j, "identifier", s->sub_id);
	cq_json_obj_end(j);
}

void
cq_res_client_subs(cq_hreq_t *r)
{
	cq_subset_t subs = {0};
	if (!cq_snap_subs_of(r->arg[0], r->arg_len[0], &subs)) {
		cq_http_error(r, 404, "client not found");
		return;
	}
	cq_json_t j;
	cq_json_init(&j);
	cq_json_arr_begin(&j);
	for (size_t i = 0; i < subs.n; i++)
		sub_json(&j, &subs.v[i]);
	cq_json_arr_end(&j);
	j.failed |= subs.failed;
	cq_subset_free(&subs);
	cq_http_json(r, 200, &j);
}

void
cq_res_subscriptions(cq_hreq_t *r)
{
	cq_page_t p;
	cq_subset_t subs = {0};
	if (cq_http_page(r, &p) < 0)
		return;
	const char *cq = cq_http_query(r, "clientid");
	const char *tq = cq_http_query(r, "topic");
	if (cq_snap_subs_all(cq && cq[0] ? cq : NULL, tq && tq[0] ? tq : NULL,
		    &subs) < 0) {
		cq_subset_free(&subs);
		cq_http_error(r, 503, "out of memory");
		return;
	}
	size_t from, to;
	cq_page_window(&p, subs.n, &from, &to);
	cq_json_t j;
	cq_json_init(&j);
	cq_json_obj_begin(&j);
	cq_page_head(&j, &p, subs.n);
	cq_json_arr_begin(&j);
	for (size_t i = from; i < to; i++)
		sub_json(&j, &subs.v[i]);
	cq_json_arr_end(&j);
	cq_json_obj_end(&j);
	cq_subset_free(&subs);
	cq_http_json(r, 200, &j);
}

static void
unsub_done(cq_acall_t *c)
{
	cq_hreq_t *r = c->r;
	if (cq_acall_failed(r, cq_acall_status(c), "no such subscription"))
		return;
	cq_json_t j;
	cq_json_init(&j);
	cq_json_obj_begin(&j);
	cq_json_kstr(&j, "client_id", r->arg[0], r->arg_len[0]);
	cq_json_kstr(&j, "topic", r->arg[1], r->arg_len[1]);
	cq_json_kbool(&j, "unsubscribed", true);
	cq_json_obj_end(&j);
	cq_http_json(r, 200, &j);
}

void
cq_res_client_unsubscribe(cq_hreq_t *r)
{
	cq_srow_t row;
	if (!cq_snap_session(r->arg[0], r->arg_len[0], &row)) {
		cq_http_error(r, 404, "client not found");
		return;
	}
	free(row.id);
	unsigned owner = cq_session_word_owner(row.state);
	unsigned char *mem = malloc(CQ_CTL_PAYLOAD_MAX);
	cq_acall_t *c = mem ? cq_acall_new(r, unsub_done, NULL, NULL) : NULL;
	if (c == NULL) {
		free(mem);
		cq_http_error(r, 503, "out of memory");
		return;
	}
	cq_ctlbuf_t b;
	cq_ctlbuf_init(&b, mem, CQ_CTL_PAYLOAD_MAX);
	cq_ctlbuf_str(&b, r->arg[0], r->arg_len[0], UINT16_MAX);
	cq_ctlbuf_str(&b, r->arg[1], r->arg_len[1], UINT16_MAX);
	int rc = b.bad || owner >= r->a->args->nworkers
		? -1
		: cq_acall_send(
			  c, owner, CQ_CTL_UNSUBSCRIBE, 0, mem, b.len, NULL);
	free(mem);
	if (rc < 0) {
		cq_acall_free(c);
		cq_http_error(r, 503, "cannot reach the worker of the client");
		return;
	}
	cq_acall_start(c);
}
