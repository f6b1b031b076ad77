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
};

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
	if (c->authwait == NULL) {
		c->authwait = calloc(1, sizeof(*c->authwait));
		if (c->authwait == NULL)
			return NULL;
	}
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
	free(c->authwait);
	c->authwait = NULL;
}

void
cq_authwait_free(cq_conn_t *c, void (*cancel)(uint32_t handle))
{
	if (c->authwait == NULL)
		return;
	for (cq_authwait_entry_t *e = c->authwait->head; e; e = e->next)
		if (e->waiting && cancel != NULL)
			cancel(e->handle);
	cq_authwait_packet_done(c);
}
