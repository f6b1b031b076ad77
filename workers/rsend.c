/*
 * rsend.c — see rsend.h.
 *
 * Invariant: a connection is on w->rsending iff c->rsend != NULL and it
 * is not closed; its cursors run in the order the subscriptions came.
 */
#include "config.h"
#include "workers/rsend.h"

#include <errno.h>
#include <stdlib.h>

#include "core/log.h"
#include "shm/msg.h"
#include "shm/retained.h"
#include "workers/deliver.h"
#include "workers/lsess.h"
#include "workers/publish.h"

#define STEP_BUDGET 256u

struct rstep {
	cq_conn_t *c;
	const cq_rsend_t *r;
};

static void
found(void *arg, const char *topic, size_t len, cq_off_t m)
{
	struct rstep *st = arg;
	cq_conn_t *c = st->c;
	(void)topic;
	(void)len;
	if (c->state != CQ_CONN_ACTIVE || c->ls == NULL)
		return;
	/* A message being deleted (count at zero) is skipped. */
	if (cq_msg_tryref(m) < 0)
		return;
	uint8_t q = cq_msg_get(m)->qos;
	uint32_t id = st->r->sub_id;
	cq_deliver_retained(c->w, c->ls, m, q < st->r->qos ? q : st->r->qos,
		id ? &id : NULL, id ? 1 : 0);
	cq_msg_unref(m);
}

/* One step of c's first cursor; true when c has nothing left. */
static bool
step(cq_conn_t *c)
{
	cq_rsend_t *r = c->rsend;
	struct rstep st = {c, r};
	int rc = cq_retained_step(r->cur, c->w->now_s, STEP_BUDGET, found, &st);
	if (rc == 1)
		return false;
	if (rc < 0)
		cq_log(CQ_LOG_ERR, errno,
			"client %s: sending retained messages stopped",
			cq_conn_id_log(c));
	c->rsend = r->next;
	cq_rsend_free(r);
	return c->rsend == NULL;
}

static void
unlink_conn(cq_worker_t *w, cq_conn_t *c)
{
	for (cq_conn_t **p = &w->rsending; *p != NULL; p = &(*p)->rsend_next)
		if (*p == c) {
			*p = c->rsend_next;
			c->rsend_next = NULL;
			return;
		}
}

int
cq_rsend_start(cq_conn_t *c, const char *filter, size_t len, uint8_t qos,
	uint32_t sub_id)
{
	cq_rsend_t *r = calloc(1, sizeof(*r));
	if (r != NULL)
		r->cur = cq_retained_search_new(filter, len);
	if (r == NULL || r->cur == NULL) {
		free(r);
		cq_log(CQ_LOG_ERR, ENOMEM,
			"client %s: cannot send retained messages",
			cq_conn_id_log(c));
		return -1;
	}
	r->qos = qos;
	r->sub_id = sub_id;
	bool was_idle = c->rsend == NULL;
	cq_rsend_t **tail = &c->rsend;
	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = r;
	if (!was_idle)
		return 0;
	if (step(c))
		return 0;
	c->rsend_next = c->w->rsending;
	c->w->rsending = c;
	return 0;
}

void
cq_rsend_poll(cq_worker_t *w)
{
	cq_conn_t **p = &w->rsending;
	while (*p != NULL) {
		cq_conn_t *c = *p;
		/* A client that does not read waits: no point in queueing
		 * more for it. */
		if (!cq_conn_writable(c) || !step(c)) {
			p = &c->rsend_next;
			continue;
		}
		*p = c->rsend_next;
		c->rsend_next = NULL;
	}
}

void
cq_rsend_stop(cq_conn_t *c)
{
	if (c->rsend == NULL)
		return;
	unlink_conn(c->w, c);
	while (c->rsend != NULL) {
		cq_rsend_t *r = c->rsend;
		c->rsend = r->next;
		cq_rsend_free(r);
	}
}

void
cq_rsend_free(cq_rsend_t *r)
{
	cq_retained_cursor_free(r->cur);
	free(r);
}
