/*
 * check.c — "ask the cache, else authd" (client.h): the shared-memory
 * decision cache (shm/authcache.h) in front of the connection.
 *
 * Cache keys:
 *  - AUTH: kind CRED, access 'c', id = HMAC-SHA256 under a per-broker
 *    secret of (client id, user name, password, listener, client IP,
 *    certificate name): the password never lands in shared memory, and a
 *    changed password is simply another key.  The port is left out, the
 *    IP kept (ledger rules can match on the address).
 *  - ACL: kind CLIENT, the access letter, id = client id, user name and
 *    client IP, and the topic (or filter) itself.
 * A decision byte holds allow, deny, or deny for bad credentials.
 *
 * Only answers authd gave with a ttl are stored, only ALLOW and DENY (a
 * fault is never cached), and only if the policy epoch did not move while
 * the question was out (an INVALIDATE in between means the answer may be
 * from the old policy).
 *
 * Stale answers (auth.max_stale): an entry expired by less than max_stale
 * serves when authd is down, or when asking it fails or times out;
 * otherwise authd is asked as for a miss.
 */
#include "config.h"
#include "authc/client-int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>
#include <openssl/params.h>

#include "core/log.h"
#include "shm/authcache.h"

enum {
	DECIDED_ALLOW = 1,
	DECIDED_DENY = 2,
	DECIDED_BAD_CREDENTIALS = 3,
};

#define HASH_LEN 32

static uint8_t secret[32];
static bool secret_ready;

/* What a question to authd carries for the cache. */
typedef struct cctx {
	cq_authc_fn *cb;
	void *arg;
	uint64_t epoch;
	uint8_t stale; /* a stale decision to fall back on, or 0 */
	cq_authcache_key_t key; /* id and topic point into data */
	char data[];
} cctx_t;

int
cq_authc_global_init(void)
{
	if (getrandom(secret, sizeof(secret), 0) != (ssize_t)sizeof(secret)) {
		cq_log(CQ_LOG_ERR, errno,
			"getrandom() for the auth cache secret failed");
		return -1;
	}
	secret_ready = true;
	return 0;
}

uint64_t
cq_authc_invalidate(void)
{
	return cq_authcache_invalidate();
}

static bool
cache_usable(const cq_authc_t *c)
{
	if (!cq_authc_get_options(c)->use_cache || cq_authcache_capacity() == 0)
		return false;
	return secret_ready || cq_authc_global_init() == 0;
}

/* "1.2.3.4:5" -> "1.2.3.4", "[::1]:5" -> "[::1]": the length kept. */
static size_t
ip_len(const char *addr)
{
	const char *colon;

	if (addr == NULL)
		return 0;
	colon = strrchr(addr, ':');
	return colon != NULL ? (size_t)(colon - addr) : strlen(addr);
}

static void
decode(uint8_t d, cq_authc_result_t *res)
{
	memset(res, 0, sizeof(*res));
	res->status = d == DECIDED_ALLOW ? CQ_AUTHC_ALLOW : CQ_AUTHC_DENY;
	res->bad_credentials = d == DECIDED_BAD_CREDENTIALS;
	res->cached = true;
	res->reason = d == DECIDED_ALLOW ? "cached" : "cached refusal";
}

static uint8_t
encode(const cq_authc_result_t *res)
{
	if (res->status == CQ_AUTHC_ALLOW)
		return DECIDED_ALLOW;
	return res->bad_credentials ? DECIDED_BAD_CREDENTIALS : DECIDED_DENY;
}

static void
on_answer(const cq_authc_result_t *res, void *arg)
{
	cctx_t *x = arg;
	cq_authc_result_t stale;

	if (!res->cancelled &&
		(res->status == CQ_AUTHC_ALLOW ||
			res->status == CQ_AUTHC_DENY)) {
		if (res->ttl > 0 && x->epoch == cq_authcache_epoch())
			cq_authcache_put(&x->key, encode(res), res->ttl * 1000u,
				cq_authcache_now());
	} else if (!res->cancelled && x->stale != 0 &&
		(res->status == CQ_AUTHC_UNAVAILABLE ||
			res->status == CQ_AUTHC_TIMEOUT)) {
		decode(x->stale, &stale);
		stale.reason = "authd failed: a stale cached answer served";
		res = &stale;
	}
	if (!res->cancelled)
		x->cb(res, x->arg);
	free(x);
}

/* Look the key up: 0 with *res_r when the cache answers, 1 to ask authd
 * (*stale_r: a stale decision to fall back on, or 0). */
static int
lookup(cq_authc_t *c, const cq_authcache_key_t *key, uint8_t *stale_r,
	cq_authc_result_t *res_r)
{
	uint32_t max_stale = cq_authc_get_options(c)->max_stale_ms;
	uint8_t d = 0;

	*stale_r = 0;
	switch (cq_authcache_get(key, cq_authcache_now(), max_stale, &d)) {
	case CQ_AUTHCACHE_HIT:
		decode(d, res_r);
		return 0;
	case CQ_AUTHCACHE_STALE:
		if (cq_authc_is_down(c)) {
			decode(d, res_r);
			res_r->reason = "authd is down: a stale cached answer "
					"served";
			return 0;
		}
		*stale_r = d;
		return 1;
	default:
		return 1;
	}
}

static cctx_t *
ctx_new(cq_authc_fn *cb, void *arg, const cq_authcache_key_t *key,
	uint8_t stale)
{
	cctx_t *x = malloc(sizeof(*x) + key->id_len + key->topic_len + 1);

	if (x == NULL)
		return NULL;
	x->cb = cb;
	x->arg = arg;
	x->epoch = cq_authcache_epoch();
	x->stale = stale;
	x->key = *key;
	x->key.id = x->data;
	memcpy(x->data, key->id, key->id_len);
	x->key.topic = x->data + key->id_len;
	if (key->topic_len > 0)
		memcpy(x->data + key->id_len, key->topic, key->topic_len);
	return x;
}

/* ---- AUTH ---------------------------------------------------------- */

static void
hash_part(EVP_MAC_CTX *m, const void *p, size_t len, bool present)
{
	uint8_t head[5] = {present, (uint8_t)(len >> 24), (uint8_t)(len >> 16),
		(uint8_t)(len >> 8), (uint8_t)len};
	EVP_MAC_update(m, head, sizeof(head));
	if (len > 0)
		EVP_MAC_update(m, p, len);
}

/* The credentials' keyed hash; -1 if OpenSSL fails. */
static int
cred_hash(const cq_authc_auth_req_t *r, uint8_t out[HASH_LEN])
{
	static EVP_MAC *mac; /* fetched once per process */
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string("digest", digest, 0),
		OSSL_PARAM_construct_end(),
	};

	if (mac == NULL)
		mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *m = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
	size_t n = 0;
	int rc = -1;

	if (m != NULL && EVP_MAC_init(m, secret, sizeof(secret), params)) {
		hash_part(m, r->client, r->client_len, true);
		hash_part(m, r->user, r->user_len, r->user != NULL);
		hash_part(m, r->pass, r->pass_len, r->pass != NULL);
		hash_part(m, r->listener, strlen(r->listener), true);
		hash_part(m, r->addr, ip_len(r->addr), true);
		hash_part(m, r->cert, r->cert ? strlen(r->cert) : 0,
			r->cert != NULL);
		if (EVP_MAC_final(m, out, &n, HASH_LEN) && n == HASH_LEN)
			rc = 0;
	}
	EVP_MAC_CTX_free(m);
	return rc;
}

int
cq_authc_check_auth(cq_authc_t *c, const cq_authc_auth_req_t *r,
	cq_authc_fn *cb, void *arg, uint32_t *handle_r,
	cq_authc_result_t *res_r)
{
	uint8_t id[HASH_LEN], stale;
	cq_authcache_key_t key = {.kind = CQ_AUTHCACHE_CRED,
		.access = 'c',
		.id = (const char *)id,
		.id_len = sizeof(id)};
	cctx_t *x;

	if (!cache_usable(c) || cred_hash(r, id) < 0)
		return cq_authc_send_auth(
			c, r, cb, arg, false, handle_r, res_r);
	if (lookup(c, &key, &stale, res_r) == 0)
		return 0;
	if ((x = ctx_new(cb, arg, &key, stale)) == NULL)
		return cq_authc_send_auth(
			c, r, cb, arg, false, handle_r, res_r);
	int rc = cq_authc_send_auth(c, r, on_answer, x, true, handle_r, res_r);
	if (rc == 0)
		free(x);
	return rc;
}

/* ---- ACL ------------------------------------------------------------- */

int
cq_authc_check_acl(cq_authc_t *c, const cq_authc_acl_req_t *r, cq_authc_fn *cb,
	void *arg, uint32_t *handle_r, cq_authc_result_t *res_r)
{
	size_t ipl = ip_len(r->addr);
	size_t idl = r->client_len + 2 + r->user_len + 1 + ipl;
	char *id;
	uint8_t stale;
	cctx_t *x = NULL;

	if (!cache_usable(c) || (id = malloc(idl)) == NULL)
		return cq_authc_send_acl(c, r, cb, arg, false, handle_r, res_r);
	/* client NUL has-user user NUL ip: NUL cannot occur in MQTT
	 * strings, so the parts cannot run into each other. */
	memcpy(id, r->client, r->client_len);
	id[r->client_len] = '\0';
	id[r->client_len + 1] = r->user != NULL;
	if (r->user_len > 0)
		memcpy(id + r->client_len + 2, r->user, r->user_len);
	id[r->client_len + 2 + r->user_len] = '\0';
	if (ipl > 0)
		memcpy(id + r->client_len + 3 + r->user_len, r->addr, ipl);
	cq_authcache_key_t key = {.kind = CQ_AUTHCACHE_CLIENT,
		.access = (uint8_t)r->access,
		.id = id,
		.id_len = idl,
		.topic = r->topic,
		.topic_len = r->topic_len};
	int rc = lookup(c, &key, &stale, res_r);
	if (rc != 0)
		x = ctx_new(cb, arg, &key, stale);
	free(id);
	if (rc == 0)
		return 0;
	if (x == NULL)
		return cq_authc_send_acl(c, r, cb, arg, false, handle_r, res_r);
	rc = cq_authc_send_acl(c, r, on_answer, x, true, handle_r, res_r);
	if (rc == 0)
		free(x);
	return rc;
}
