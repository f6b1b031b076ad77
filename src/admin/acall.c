/*
 * acall.c — HTTP requests waiting for workers (admin-int.h).
 *
 * A call sends one command per worker it needs (shm/ctl.h), each with an
 * id unique in this process, and waits until every one is answered or
 * CQ_ADMIN_CALL_MS passed (a worker that died or is respawning); then its
 * 'done' answers the HTTP request with what came back.  A reply that comes
 * after its call ended finds no part with its id and is dropped.
 *
 * Invariant: a call is on a->calls from cq_acall_start until it finishes;
 * at most one cq_acall_on_replies runs at a time (one loop), and finishing
 * a call never touches another one.
 */
#include "config.h"
#include "admin/admin-int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/defs.h"
#include "core/log.h"
#include "shm/ctl.h"
#include "shm/qsbr.h"

#define REPLY_BUDGET 1024

cq_acall_t *
cq_acall_new(
	cq_hreq_t *r, cq_acall_fn done, void *ctx, void (*ctx_free)(void *ctx))
{
	cq_acall_t *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->a = r->a;
	c->r = r;
	c->done = done;
	c->ctx = ctx;
	c->ctx_free = ctx_free;
	return c;
}

void
cq_acall_free(cq_acall_t *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nparts; i++)
		free(c->parts[i].data);
	free(c->parts);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->ctx_free != NULL)
		c->ctx_free(c->ctx);
	free(c);
}

int
cq_acall_send(cq_acall_t *c, unsigned slot, uint16_t type, uint16_t flags,
	const void *payload, size_t len, void *user)
{
	if (c->nparts == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 4;
		cq_apart_t *p = realloc(c->parts, nc * sizeof(*p));
		if (p == NULL) {
			errno = ENOMEM;
			return -1;
		}
		c->parts = p;
		c->cap = nc;
	}
	uint64_t id = ++c->a->next_call_id;
	struct iovec iov = {(void *)payload, len};
	int rc = cq_ctl_send(slot, type, flags, id, &iov, len > 0 ? 1 : 0);
	if (rc == CQ_AGAIN) {
		errno = EAGAIN;
		return -1;
	}
	if (rc < 0)
		return -1;
	c->parts[c->nparts++] = (cq_apart_t){
		.slot = slot, .id = id, .user = user};
	c->waiting++;
	return 0;
}

static void
unlink_call(cq_acall_t *c)
{
	for (cq_acall_t **l = &c->a->calls; *l != NULL; l = &(*l)->next) {
		if (*l == c) {
			*l = c->next;
			return;
		}
	}
}

static void
finish(cq_acall_t *c)
{
	unlink_call(c);
	c->done(c);
	cq_acall_free(c);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	cq_acall_t *c = arg;
	(void)fd;
	(void)what;
	c->timed_out = true;
	cq_log(CQ_LOG_WARN, 0,
		"admin: %u worker reply(ies) missing after %u ms", c->waiting,
		CQ_ADMIN_CALL_MS);
	finish(c);
}

void
cq_acall_start(cq_acall_t *c)
{
	if (c->waiting == 0) {
		c->done(c);
		cq_acall_free(c);
		return;
	}
	c->timer = evtimer_new(c->a->base, on_timeout, c);
	struct timeval tv = {
		CQ_ADMIN_CALL_MS / 1000, (CQ_ADMIN_CALL_MS % 1000) * 1000};
	if (c->timer != NULL)
		evtimer_add(c->timer, &tv);
	c->next = c->a->calls;
	c->a->calls = c;
}

/* The part waiting for reply 'id' from 'slot', or NULL. */
static cq_apart_t *
part_of(cq_admin_t *a, unsigned slot, uint64_t id, cq_acall_t **call_r)
{
	for (cq_acall_t *c = a->calls; c != NULL; c = c->next) {
		for (size_t i = 0; i < c->nparts; i++) {
			cq_apart_t *p = &c->parts[i];
			if (p->id == id && p->slot == slot && !p->answered) {
				*call_r = c;
				return p;
			}
		}
	}
	return NULL;
}

static void
take_reply(cq_admin_t *a, unsigned slot, const cq_ctl_rec_t *rec)
{
	cq_acall_t *c;
	cq_apart_t *p = part_of(a, slot, rec->id, &c);
	if (p == NULL || rec->type != CQ_CTL_REPLY || rec->len < 2)
		return; /* late, or not ours */
	memcpy(&p->status, rec->data, sizeof(p->status));
	p->len = rec->len - 2;
	p->data = malloc(p->len + 1);
	if (p->data != NULL)
		memcpy(p->data, (const char *)rec->data + 2, p->len);
	else
		p->status = CQ_CTL_BUSY;
	p->answered = true;
	if (--c->waiting == 0)
		finish(c);
}

void
cq_acall_on_replies(cq_admin_t *a)
{
	unsigned n = cq_ctl_slots();
	for (unsigned s = 0; s < n; s++) {
		cq_ctl_rec_t rec;
		for (int i = 0;
			i < REPLY_BUDGET && cq_ctl_reply_peek(s, &rec) == 0;
			i++) {
			take_reply(a, s, &rec);
			cq_ctl_reply_consume(s);
		}
	}
}

void
cq_acall_abort_all(cq_admin_t *a)
{
	while (a->calls != NULL) {
		cq_acall_t *c = a->calls;
		a->calls = c->next;
		cq_http_error(c->r, 503, "comqtt-admin is stopping");
		c->r = NULL;
		cq_acall_free(c);
	}
}

uint16_t
cq_acall_status(const cq_acall_t *c)
{
	return c->nparts > 0 && c->parts[0].answered ? c->parts[0].status : 504;
}

bool
cq_acall_failed(cq_hreq_t *r, uint16_t st, const char *not_found)
{
	if (st == CQ_CTL_OK)
		return false;
	if (st == 0 || st == CQ_CTL_NOT_FOUND)
		cq_http_error(r, 404, "%s", not_found);
	else if (st == CQ_CTL_BAD)
		cq_http_error(r, 400, "the worker refused the command");
	else
		cq_http_error(r, st == 504 ? 504 : 503, "%s",
			st == 504 ? "the worker did not answer in time"
				  : "the worker is busy");
	return true;
}

bool
cq_acall_worker_alive(unsigned slot)
{
	uint32_t pid = 0;
	cq_qsbr_progress(slot, &pid);
	return pid != 0;
}

int
cq_acall_any_worker(cq_admin_t *a)
{
	unsigned n = cq_ctl_slots();
	for (unsigned i = 0; i < n; i++) {
		unsigned s = (a->next_publisher + i) % n;
		if (cq_acall_worker_alive(s)) {
			a->next_publisher = s + 1;
			return (int)s;
		}
	}
	return -1;
}
