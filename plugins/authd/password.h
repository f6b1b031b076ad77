/*
 * password.h — the password schemes of comqtt's configuration
 * (password_hash: 0..8, Go comqtt's numbering).
 *
 * A backend fetches the stored form of a password (a column, a hash
 * field, a ledger entry) and asks cq_password_verify() whether the
 * password a client sent matches it.  Digests are stored as lowercase hex,
 * as Go comqtt writes them (uppercase hex is accepted too); bcrypt as the
 * usual "$2a$" / "$2b$" / "$2y$" string (libxcrypt's crypt_r).  Every
 * comparison is constant-time in the password and the stored value
 * (CRYPTO_memcmp over equal-length digests).
 *
 * bcrypt is slow on purpose (cost 10: tens of milliseconds): callers on an
 * event loop run it on a thread (cq_password_is_slow() says when).  The
 * functions keep no state and are thread-safe.
 */
#ifndef CQ_AUTHD_PASSWORD_H
#define CQ_AUTHD_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

typedef enum cq_password_scheme {
	CQ_PASSWORD_PLAIN = 0,
	CQ_PASSWORD_BCRYPT = 1,
	CQ_PASSWORD_MD5 = 2,
	CQ_PASSWORD_SHA1 = 3,
	CQ_PASSWORD_SHA256 = 4,
	CQ_PASSWORD_SHA512 = 5,
	CQ_PASSWORD_HMAC_SHA1 = 6,
	CQ_PASSWORD_HMAC_SHA256 = 7,
	CQ_PASSWORD_HMAC_SHA512 = 8,
	CQ_PASSWORD_SCHEME_COUNT
} cq_password_scheme_t;

/* The cost new bcrypt hashes get (Go's bcrypt.DefaultCost). */
#define CQ_PASSWORD_BCRYPT_COST 10
/* Room for any stored form cq_password_hash() writes, NUL included. */
#define CQ_PASSWORD_HASH_MAX 192

/*
 * Does 'pass' (pass_len bytes, any bytes) match 'stored' under 'scheme'?
 * 'key' is the HMAC key of schemes 6 to 8 (ignored otherwise).  False for
 * an unknown scheme, a stored value of the wrong form, and a password
 * holding a NUL under bcrypt (which would cut it).
 */
bool cq_password_verify(int scheme, const char *stored, size_t stored_len,
	const void *pass, size_t pass_len, const char *key, size_t key_len);

/*
 * The stored form of 'pass' under 'scheme' into out (size bytes, at least
 * CQ_PASSWORD_HASH_MAX): the hex digest, the password itself for plain, a
 * new salted bcrypt string.  0, or -1 (unknown scheme, NUL in a bcrypt
 * password, no randomness, buffer too small).
 */
int cq_password_hash(int scheme, const void *pass, size_t pass_len,
	const char *key, size_t key_len, char *out, size_t size);

/* Should a loop thread hand this scheme to a worker thread? */
bool cq_password_is_slow(int scheme);

/* "plain", "bcrypt", "md5", ... "hmac-sha512", or "?". */
const char *cq_password_scheme_name(int scheme);

#endif /* CQ_AUTHD_PASSWORD_H */
