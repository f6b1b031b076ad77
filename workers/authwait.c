/*
 * authwait.c — see authwait.h.
 */
#include "config.h"
#include "workers/authwait.h"

#include <stdlib.h>
#include <string.h>

#include "workers/conn.h"

struct cq_authwait {
	cq_authwait_entry_t *head;
	unsigned waiting;
	/* The last PUBLISH topic the cache allowed (cq_authwait_recall). */
	char *memo;
	size_t memo_len;
	uint64_t memo_epoch;
	uint64_t memo_until_ms;
};

static struct cq_authwait *
get(cq_conn_t *c)
{
	if (c->authwait == NULL)
		c->authwait = calloc(1, sizeof(*c->authwait));
	return c->authwait;
}

cq_authwait_entry_t *
cq_authwait_find(cq_conn_t *c, char kind, const char *key, size_t len)
{
	if (c->authwait == NULL)
		return NULL;
	for (cq_authwait_entry_t *e = c->authwait->head; e; e = e->next)
		if (e->kind == kind && e->len == len &&
			memcmp(e->key, key, len) == 0)
			return e;
	return NULL;
}

cq_authwait_entry_t *
cq_authwait_add(cq_conn_t *c, char kind, const char *key, size_t len)
{
	if (get(c) == NULL)
		return NULL;
	cq_authwait_entry_t *e = calloc(1, sizeof(*e) + len + 1);
	if (e == NULL)
		return NULL;
	e->conn = c;
	e->kind = kind;
	e->len = len;
	memcpy(e->key, key, len);
	e->next = c->authwait->head;
	c->authwait->head = e;
	return e;
}

void
cq_authwait_wait(cq_authwait_entry_t *e, uint32_t handle)
{
	e->handle = handle;
	e->waiting = true;
	e->conn->authwait->waiting++;
}

void
cq_authwait_answer(cq_authwait_entry_t *e, bool allow, uint8_t code)
{
	cq_conn_t *c = e->conn;
	if (e->answered)
		return;
	e->answered = true;
	e->allow = allow;
	e->code = code;
	e->handle = 0;
	if (e->waiting) {
		e->waiting = false;
		if (--c->authwait->waiting == 0)
			cq_conn_resume_input(c);
	}
}

unsigned
cq_authwait_pending(const cq_conn_t *c)
{
	return c->authwait != NULL ? c->authwait->waiting : 0;
}

void
cq_authwait_packet_done(cq_conn_t *c)
{
	if (c->authwait == NULL)
		return;
	cq_authwait_entry_t *e = c->authwait->head;
	while (e != NULL) {
		cq_authwait_entry_t *next = e->next;
		free(e);
		e = next;
	}
	c->authwait->head = NULL;
	if (c->authwait->memo == NULL) {
		free(c->authwait);
		c->authwait = NULL;
	}
}

bool
cq_authwait_recall(const cq_conn_t *c, const char *topic, size_t len,
	uint64_t epoch, uint64_t now_ms)
{
	const struct cq_authwait *a = c->authwait;
	return a != NULL && a->memo != NULL && a->memo_len == len &&
		a->memo_epoch == epoch && now_ms < a->memo_until_ms &&
		memcmp(a->memo, topic, len) == 0;
}

void
cq_authwait_remember(cq_conn_t *c, const char *topic, size_t len,
	uint64_t epoch, uint64_t until_ms)
{
	struct cq_authwait *a = get(c);
	if (a == NULL)
		return; /* a memo is only a shortcut */
	if (a->memo == NULL || a->memo_len < len) {
		char *m = realloc(a->memo, len + 1);
		if (m == NULL)
			return;
		a->memo = m;
	}
	memcpy(a->memo, topic, len);
	a->memo_len = len;
	a->memo_epoch = epoch;
	a->memo_until_ms = until_ms;
}

void
cq_authwait_free(cq_conn_t *c, void (*cancel)(uint32_t handle))
{
	if (c->authwait == NULL)
		return;
	for (cq_authwait_entry_t *e = c->authwait->head; e; e = e->next)
		if (e->waiting && cancel != NULL)
			cancel(e->handle);
	free(c->authwait->memo);
	c->authwait->memo = NULL;
	cq_authwait_packet_done(c);
}
