/*
 * client.h — the workers' side of comqtt-authd: one persistent,
 * pipelined connection per worker, driven by the worker's libevent loop
 * (Dovecot's lib-auth-client is the model), and the cache in front of it.
 *
 * What a worker does:
 *
 *   at start      c = cq_authc_new(base, &opts)  (opts from
 *                 cq_authc_options_from_config(); connects at once and
 *                 reconnects by itself, with back-off, whenever authd goes)
 *   CONNECT       cq_authc_check_auth(c, &req, on_auth, conn, &h, &res)
 *   PUBLISH       cq_authc_check_acl(c, &req{access 'w'}, ...)
 *   SUBSCRIBE     cq_authc_check_acl(c, &req{access 's'}, ...) per filter
 *   client gone   cq_authc_cancel(c, h) for a question still open
 *   SIGHUP        cq_authc_configure(c, &opts) with the new file's values
 *   at exit       cq_authc_free(c)
 *
 * Each check returns 0 when the answer is known at once -- from the
 * shared-memory cache (shm/authcache.h), or a refusal because authd is
 * unreachable or too busy -- with *res_r filled and no callback; or
 * CQ_AGAIN when the question went to authd: the callback then runs
 * exactly once, later, from the loop (never from inside the call), unless
 * cancelled.  Nothing here ever blocks the loop: the socket is
 * non-blocking and every question has a deadline (auth.timeout_ms,
 * auth.acl_timeout_ms).
 *
 * Failing closed: a lost connection, a timeout, authd's "unavailable" or
 * anything unexpected is a refusal (CQ_AUTHC_UNAVAILABLE / _TIMEOUT /
 * _BUSY / _INVALID), never an allow.  While authd is unreachable, cached
 * answers keep serving until they expire (plus auth.max_stale if set),
 * then questions are refused.  Which code the client gets is the worker's
 * choice; cq_authc_connack_code() gives the usual one (0x86 / 0x87 for a
 * refusal, 0x88 -- v3: 3 -- for the rest).
 *
 * Logging: authd logs its own refusals; this library logs one line per
 * refusal it makes itself (timeout, authd down, busy), with the client id
 * and the reason.
 *
 * Invalidation: authd sends INVALIDATE <serial> when its policy changes
 * (reload, restart); the library then bumps the cache's policy epoch so
 * every cached answer is forgotten at once, once per serial: the first
 * worker to hear it bumps, the others find the serial recorded.  cq_authc_invalidate() does
 * the same for callers (the admin API, a reload in the master).  An
 * answer that arrives after the epoch moved is not cached.
 */
#ifndef CQ_AUTHC_CLIENT_H
#define CQ_AUTHC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authc/auth-protocol.h"
#include "core/defs.h" /* CQ_AGAIN */

struct event_base;
struct cq_config;

typedef struct cq_authc cq_authc_t;

typedef enum cq_authc_status {
	CQ_AUTHC_ALLOW = 0,
	CQ_AUTHC_DENY, /* authd (or the cache) refused */
	CQ_AUTHC_UNAVAILABLE, /* authd unreachable, connection lost, or a
				 backend failed */
	CQ_AUTHC_TIMEOUT, /* no answer before the deadline */
	CQ_AUTHC_BUSY, /* too many questions in flight */
	CQ_AUTHC_INVALID, /* the question cannot be asked (too long, a bad
			     field) */
} cq_authc_status_t;

typedef struct cq_authc_result {
	cq_authc_status_t status;
	bool bad_credentials; /* DENY: unknown user / wrong password (0x86)
				 rather than not authorized (0x87) */
	bool cached; /* answered from the cache */
	bool cancelled; /* internal: the question was cancelled */
	uint32_t ttl; /* seconds authd lets the answer be cached */
	const char *reason; /* for logs; valid during the call */
} cq_authc_result_t;

typedef void cq_authc_fn(const cq_authc_result_t *res, void *arg);

typedef struct cq_authc_options {
	char socket_path[108];
	uint32_t auth_timeout_ms;
	uint32_t acl_timeout_ms;
	uint32_t max_inflight; /* a power of two, 1..65536 */
	uint32_t max_stale_ms; /* serve an expired cached answer this long
				  while authd is unreachable; 0: never */
	bool use_cache; /* the shared-memory cache (region attached) */
} cq_authc_options_t;

/* A CONNECT's question.  Strings need not be NUL-terminated except addr,
 * listener and cert. */
typedef struct cq_authc_auth_req {
	const char *client;
	size_t client_len;
	const char *user; /* NULL: the CONNECT had no user name */
	size_t user_len;
	const void *pass; /* NULL: no password */
	size_t pass_len;
	const char *addr; /* "ip:port" of the client */
	const char *listener; /* the listener's name */
	const char *cert; /* certificate common name, or NULL */
} cq_authc_auth_req_t;

/* A PUBLISH ('w'), SUBSCRIBE ('s', a filter) or delivery ('r') question. */
typedef struct cq_authc_acl_req {
	const char *client;
	size_t client_len;
	const char *user; /* NULL: none */
	size_t user_len;
	const char *topic;
	size_t topic_len;
	char access; /* CQ_AUTHP_ACCESS_READ, _WRITE or _SUBSCRIBE */
	const char *addr; /* "ip:port", or NULL */
	const char *listener; /* or NULL */
} cq_authc_acl_req_t;

/* Options from a configuration's auth: section ("" socket:
 * <data_dir>/authd.sock).  0, or -1 if the path does not fit. */
int cq_authc_options_from_config(
	cq_authc_options_t *o, const struct cq_config *cfg);

/* The socket path auth.socket names, into buf.  0, or -1 when it does
 * not fit a sockaddr_un.  (authd binds the same path.) */
int cq_authc_socket_path(const struct cq_config *cfg, char *buf, size_t size);

/*
 * Once per broker, in the master before forking the workers: draw the
 * secret that keys cached credentials, so that every worker computes the
 * same cache keys (a reconnect landing on another worker then hits the
 * cache).  Without it each process draws its own and credentials are
 * cached per worker only.  0, or -1 (no randomness; logged).
 */
int cq_authc_global_init(void);

/* A client on 'base'; it starts connecting at once.  NULL if out of
 * memory (logged). */
cq_authc_t *cq_authc_new(struct event_base *base, const cq_authc_options_t *o);

/* New deadlines and cache rules (SIGHUP); a new socket path reconnects.
 * max_inflight keeps its value (it sizes the table). */
void cq_authc_configure(cq_authc_t *c, const cq_authc_options_t *o);

/* Close; open questions are dropped without their callbacks.  Not from
 * inside a callback. */
void cq_authc_free(cq_authc_t *c);

/* Connected and past the handshake. */
bool cq_authc_connected(const cq_authc_t *c);
/* Questions in flight. */
unsigned cq_authc_inflight(const cq_authc_t *c);

/*
 * Ask, through the cache.  0: *res_r holds the answer, cb is not called.
 * CQ_AGAIN: cb(res, arg) runs later, exactly once unless cancelled, and
 * *handle_r names the question for cq_authc_cancel().
 */
int cq_authc_check_auth(cq_authc_t *c, const cq_authc_auth_req_t *r,
	cq_authc_fn *cb, void *arg, uint32_t *handle_r,
	cq_authc_result_t *res_r);
int cq_authc_check_acl(cq_authc_t *c, const cq_authc_acl_req_t *r,
	cq_authc_fn *cb, void *arg, uint32_t *handle_r,
	cq_authc_result_t *res_r);

/* The same without the cache: always authd (or an immediate refusal). */
int cq_authc_auth(cq_authc_t *c, const cq_authc_auth_req_t *r, cq_authc_fn *cb,
	void *arg, uint32_t *handle_r, cq_authc_result_t *res_r);
int cq_authc_acl(cq_authc_t *c, const cq_authc_acl_req_t *r, cq_authc_fn *cb,
	void *arg, uint32_t *handle_r, cq_authc_result_t *res_r);

/* The question's callback will not run.  Unknown or finished handles are
 * ignored. */
void cq_authc_cancel(cq_authc_t *c, uint32_t handle);

/* Forget every cached answer (bumps the cache's policy epoch); returns
 * the new epoch (0 when no region is attached). */
uint64_t cq_authc_invalidate(void);

/*
 * The CONNACK code for an AUTH answer: 0 for ALLOW; v5 (protocol 5):
 * 0x86 bad credentials, 0x87 not authorized, 0x89 busy, 0x88 otherwise;
 * v3 (3, 4): 4, 5, 3.
 */
int cq_authc_connack_code(const cq_authc_result_t *res, int protocol_version);

/* "allow", "deny", "unavailable", "timeout", "busy", "invalid". */
const char *cq_authc_status_name(cq_authc_status_t status);

#endif /* CQ_AUTHC_CLIENT_H */
