/*
 * hook_test_auth.c — a built-in enhanced authentication method, for
 * testing MQTT 5 clients and the broker's AUTH exchange (hooks.h,
 * enhanced_auth.h).  It is active when mqtt.enhanced_auth_test_secret is
 * set; it is a test facility, not a replacement for comqtt-authd.
 *
 * Method "COMQTT-TEST-HMAC-SHA256", a shared-secret challenge/response:
 *
 *   client  CONNECT   Authentication Method, any Authentication Data
 *   broker  AUTH 0x18 Authentication Data = a 16-byte random challenge
 *   client  AUTH 0x18 Authentication Data = HMAC-SHA256(secret, challenge)
 *   broker  CONNACK   Authentication Data = HMAC-SHA256(secret, answer)
 *                     (the broker proves it knows the secret too), or
 *                     CONNACK 0x87 when the answer is wrong
 *
 * Re-authentication (AUTH 0x19) runs the same exchange and ends with AUTH
 * 0x00 carrying the broker's proof, or DISCONNECT 0x87.
 */
#include "config.h"
#include "workers/hooks.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "core/log.h"

#define METHOD    "COMQTT-TEST-HMAC-SHA256"
#define CHALLENGE 16u
#define MAC       32u

/* The worker: its configuration is read at every step (reloads). */
static cq_worker_t *self;

static int
test_started(void *ctx, cq_worker_t *w)
{
	(void)ctx;
	self = w;
	return 0;
}

static const char *
secret(void)
{
	return self != NULL ? self->cfg->mqtt.enhanced_auth_test_secret : "";
}

/* HMAC-SHA256(secret, msg) into out[MAC]: 0 or -1. */
static int
mac(const void *msg, size_t n, uint8_t *out)
{
	unsigned len = 0;
	const char *key = secret();
	if (HMAC(EVP_sha256(), key, (int)strlen(key), msg, n, out, &len) ==
			NULL ||
		len != MAC)
		return -1;
	return 0;
}

/* First step: a fresh challenge, kept as the exchange's state. */
static cq_hook_verdict_t
challenge(cq_hook_auth_t *a)
{
	uint8_t *c = malloc(CHALLENGE);
	if (c == NULL || RAND_bytes(c, CHALLENGE) != 1) {
		free(c);
		a->reason = "no challenge could be made";
		return CQ_HOOK_DENY;
	}
	a->state = c;
	memcpy(a->out, c, CHALLENGE);
	a->out_len = CHALLENGE;
	return CQ_HOOK_CONTINUE;
}

/* Second step: the client's answer to the challenge. */
static cq_hook_verdict_t
check(cq_hook_auth_t *a)
{
	uint8_t want[MAC];
	if (mac(a->state, CHALLENGE, want) < 0 || a->data.len != MAC ||
		CRYPTO_memcmp(want, a->data.ptr, MAC) != 0) {
		a->reason = "wrong answer to the challenge";
		return CQ_HOOK_DENY;
	}
	if (mac(a->data.ptr, MAC, a->out) < 0) {
		a->reason = "no proof could be made";
		return CQ_HOOK_DENY;
	}
	a->out_len = MAC;
	return CQ_HOOK_ALLOW;
}

static cq_hook_verdict_t
test_auth(void *ctx, const cq_hook_client_t *cl, cq_hook_auth_t *a)
{
	(void)ctx;
	(void)cl;
	if (secret()[0] == '\0' || a->method.len != sizeof(METHOD) - 1 ||
		memcmp(a->method.ptr, METHOD, a->method.len) != 0)
		return CQ_HOOK_NEXT;
	return a->state == NULL ? challenge(a) : check(a);
}

static void
test_auth_end(void *ctx, cq_hook_auth_t *a)
{
	(void)ctx;
	free(a->state);
	a->state = NULL;
}

const cq_hook_t cq_hook_test_auth = {
	.name = "test-auth",
	.abi_version = CQ_HOOK_ABI_VERSION,
	.on_started = test_started,
	.on_auth = test_auth,
	.on_auth_end = test_auth_end,
};
